//! Issue 27: the UI's server functions refuse as the HTTP routes do — 401, 403, 404, 409, 422,
//! and 400 for arguments that do not decode — never with a 500.

use app::api::accounts::{GetUsers, PostPassword};
use app::api::{GetJobDetail, GetJobs, PostCancel, PostJob};
use leptos::server_fn::ServerFn;
use serde_json::{Value, json};

use crate::common::{Db, TestApp};

both_backends! {
    server_functions_answer_refusals_with_their_status => refusals;
}

/// Calls server function `path` with a JSON body: the status and the body.
async fn call(c: &reqwest::Client, app: &TestApp, path: &str, body: &Value) -> (u16, String) {
    let res = c.post(app.url(path)).json(body).send().await.expect("server fn");
    (res.status().as_u16(), res.text().await.unwrap_or_default())
}

async fn refusals(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    let mia = app.user("mia", "scientist", &[("alpha", "member")]).await;
    let otto = app.user("otto", "scientist", &[("beta", "member")]).await;
    let job = |name: &str, project: &str| json!({ "req": { "name": name, "command": "true", "project": project } });
    let (s, body) = call(&mia, &app, PostJob::PATH, &job("ok", "alpha")).await;
    assert_eq!(s, 200, "{body}");
    let created: Value = serde_json::from_str(&body).expect("job");
    let id = created["id"].as_str().expect("id").to_owned();
    app.wait_status(id.parse().expect("uuid"), ch_domain::JobStatus::Completed)
        .await;

    for (who, path, body, want) in [
        // Another project's job is hidden.
        (&otto, GetJobDetail::PATH, json!({ "id": id }), 404),
        (&otto, PostCancel::PATH, json!({ "id": id }), 404),
        // A finished job cannot be cancelled.
        (&mia, PostCancel::PATH, json!({ "id": id }), 409),
        // Only site admins list users.
        (&mia, GetUsers::PATH, json!({}), 403),
        // An invalid submission names its field.
        (&mia, PostJob::PATH, job("", "alpha"), 422),
        // A password the policy refuses names the rule (issue 29: was a 500).
        (
            &mia,
            PostPassword::PATH,
            json!({ "current": "a long test password", "new": "short" }),
            422,
        ),
        (
            &mia,
            PostPassword::PATH,
            json!({ "current": "wrong", "new": "a new long password" }),
            422,
        ),
        // Arguments that do not decode.
        (&mia, GetJobDetail::PATH, json!({ "id": "not-a-uuid" }), 400),
        (&mia, GetJobDetail::PATH, json!({}), 400),
        // Signed out.
        (&app.anon, GetJobs::PATH, json!({ "query": {} }), 401),
    ] {
        let (s, text) = call(who, &app, path, &body).await;
        assert_eq!(s, want, "{path} {body}: {text}");
    }
    // From a browser session (cookies), as the Account page calls it.
    let cookie = super::sign_in(&app, "mia", "a long test password").await;
    let res = app
        .anon
        .post(app.url(PostPassword::PATH))
        .header("cookie", cookie)
        .json(&json!({ "current": "a long test password", "new": "short" }))
        .send()
        .await
        .expect("server fn");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    assert_eq!(status, 422, "{text}");
    assert!(text.contains("at least"), "names the rule: {text}");
    app.stop().await;
}
