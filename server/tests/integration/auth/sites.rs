//! Site switches: templates only (`executor.allow_commands = false`) and public read.

use serde_json::{Value, json};

use crate::common::{Db, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_only_sites_refuse_command_lines_and_check_parameters() {
    let Some(app) = TestApp::spawn_with(Db::Sqlite, |s| s.executor.allow_commands = false).await else {
        return;
    };
    let scientist = app.user("sam", "scientist", &[("default", "member")]).await;
    let res = scientist
        .post(app.url("/api/jobs"))
        .json(&json!({ "name": "own", "command": "id" }))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.expect("json");
    assert!(
        body["error"]["message"].as_str().expect("msg").contains("templates"),
        "{body}"
    );
    // A template runs, with its parameters checked and quoted.
    let res = scientist
        .post(app.url("/api/jobs"))
        .json(&json!({ "name": "cal", "template": "AlphaCal", "parameters": { "steps": 2, "step_seconds": 0 } }))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    let job: ch_domain::Job = res.json().await.expect("job");
    assert_eq!(job.agent, "AlphaCal");
    let done = app.wait_status(job.id, ch_domain::JobStatus::Completed).await;
    assert_eq!(done.progress, 100);
    let (_, logs) = app.get_json(&format!("/api/jobs/{}/logs", job.id)).await;
    assert!(
        logs["stdout"].as_str().unwrap_or_default().contains("DEMO template"),
        "{logs}"
    );
    for (params, field) in [
        (json!({ "steps": 1000 }), "parameters.steps"),
        (json!({ "steps": "3; id" }), "parameters.steps"),
        (json!({ "nope": 1 }), "parameters.nope"),
    ] {
        let res = scientist
            .post(app.url("/api/jobs"))
            .json(&json!({ "name": "bad", "template": "AlphaCal", "parameters": params }))
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["error"]["field"], field);
    }
    let (status, catalog) = app.get_json("/api/templates").await;
    assert_eq!(status, 200);
    assert_eq!(catalog["allow_commands"], false);
    assert!(
        catalog["templates"]["AnomalyDetection"]["description"]
            .as_str()
            .expect("d")
            .starts_with("Demo")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_read_shows_public_projects_to_anonymous_visitors_read_only() {
    let Some(app) = TestApp::spawn_with(Db::Sqlite, |s| s.auth.public_read = true).await else {
        return;
    };
    let res = app
        .client
        .post(app.url("/api/projects"))
        .json(&json!({ "name": "open", "public": true }))
        .send()
        .await
        .expect("project");
    assert_eq!(res.status(), 201);
    for (name, project) in [("shown", "open"), ("hidden", "default")] {
        app.submit_ok(json!({ "name": name, "command": "true", "project": project }))
            .await;
    }
    let res = app.anon.get(app.url("/api/jobs")).send().await.expect("list");
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.expect("page");
    let names: Vec<&str> = page["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter_map(|j| j["name"].as_str())
        .collect();
    assert_eq!(names, ["shown"]);
    // Pages render for visitors; writes still need an account.
    let html = app
        .anon
        .get(app.url("/"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("shown") && !html.contains("hidden"));
    let res = app
        .anon
        .post(app.url("/api/jobs"))
        .json(&json!({ "name": "x", "command": "true", "project": "open" }))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 401);
    app.stop().await;
}
