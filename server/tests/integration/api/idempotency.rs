//! Issue 27: `Idempotency-Key` on `POST /api/jobs` and `/api/jobs/batch` — a retry returns the
//! first answer instead of new jobs, also after the server was killed mid-way.

use serde_json::{Value, json};

use crate::common::{self, Db, TestApp};

both_backends! {
    a_retry_with_the_same_key_returns_the_first_answer => retries;
}

/// POSTs `body` to `path` with `key` as the `Idempotency-Key`: status, `Idempotent-Replayed`,
/// body.
async fn keyed(c: &reqwest::Client, url: String, key: &str, body: &Value) -> (u16, String, Value) {
    let res = c
        .post(url)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .expect("post");
    let replayed = res
        .headers()
        .get("idempotent-replayed")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (res.status().as_u16(), replayed, res.json().await.unwrap_or(Value::Null))
}

async fn total(app: &TestApp) -> i64 {
    let (_, page) = app.get_json("/api/jobs?limit=1").await;
    page["total"].as_i64().unwrap_or(-1)
}

async fn retries(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    let url = || app.url("/api/jobs");
    let body = json!({ "name": "once", "command": "true" });
    let (s, replayed, first) = keyed(&app.client, url(), "key-1", &body).await;
    assert_eq!((s, replayed.as_str()), (201, "false"), "{first}");
    let (s, replayed, again) = keyed(&app.client, url(), "key-1", &body).await;
    assert_eq!((s, replayed.as_str()), (201, "true"), "{again}");
    assert_eq!(again["id"], first["id"], "the first answer, not a new job");
    assert_eq!(again["status"], first["status"], "as first answered");
    assert_eq!(total(&app).await, 1);

    // The same key with another body is refused, naming the header.
    let (s, _, err) = keyed(
        &app.client,
        url(),
        "key-1",
        &json!({ "name": "other", "command": "true" }),
    )
    .await;
    assert_eq!(
        (s, err["error"]["field"].as_str()),
        (422, Some("Idempotency-Key")),
        "{err}"
    );
    // Keys belong to their user: another user's identical key is a new submission.
    let mia = app.user("mia", "scientist", &[("default", "member")]).await;
    let (s, replayed, theirs) = keyed(&mia, url(), "key-1", &body).await;
    assert_eq!((s, replayed.as_str()), (201, "false"), "{theirs}");
    assert_ne!(theirs["id"], first["id"]);
    // Malformed keys.
    for bad in ["", "with space", &"k".repeat(256)] {
        let (s, _, err) = keyed(&app.client, url(), bad, &body).await;
        assert_eq!(
            (s, err["error"]["field"].as_str()),
            (422, Some("Idempotency-Key")),
            "{bad:?}: {err}"
        );
    }

    // A batch, replayed whole.
    let batch = json!({ "jobs": [{ "name": "a", "command": "true" }, { "name": "b", "command": "true" }] });
    let (s, _, created) = keyed(&app.client, app.url("/api/jobs/batch"), "batch-1", &batch).await;
    assert_eq!(s, 201, "{created}");
    let (s, replayed, again) = keyed(&app.client, app.url("/api/jobs/batch"), "batch-1", &batch).await;
    assert_eq!((s, replayed.as_str()), (201, "true"));
    assert_eq!(again["jobs"], created["jobs"]);
    // The same key on the other route is another request.
    let (s, _, err) = keyed(&app.client, url(), "batch-1", &body).await;
    assert_eq!(s, 422, "{err}");

    // Concurrent retries with one key create one job.
    let racing = json!({ "name": "race", "command": "true" });
    let answers = futures::future::join_all((0..8).map(|_| keyed(&app.client, url(), "race-1", &racing))).await;
    let ids: std::collections::BTreeSet<String> = answers
        .iter()
        .map(|(s, _, b)| {
            assert_eq!(*s, 201, "{b}");
            b["id"].as_str().unwrap_or_default().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 1, "{answers:?}");
    assert_eq!(total(&app).await, 1 + 1 + 2 + 1, "once, mia's, the batch, the race");
    app.stop().await;
}

/// The answer to a keyed submission is lost when the server is killed (kill -9): the client's
/// retry to the restarted server gets the job that was committed, not a second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_kill_9_gets_the_committed_job() {
    let mut server = common::process::ServerProcess::start().await;
    let token = common::client_with(&server.admin_token("read,submit"));
    let url = format!("{}/api/jobs", server.base);
    let body = json!({ "name": "crash", "command": "true" });
    let (s, _, first) = keyed(&token, url.clone(), "crash-1", &body).await;
    assert_eq!(s, 201, "{first}");
    server.kill_9();
    server.serve().await;
    let (s, replayed, again) = keyed(&token, url.clone(), "crash-1", &body).await;
    assert_eq!((s, replayed.as_str()), (201, "true"), "{again}");
    assert_eq!(again["id"], first["id"]);
    let page: Value = token
        .get(format!("{url}?limit=1"))
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    assert_eq!(page["total"], 1, "{page}");
}
