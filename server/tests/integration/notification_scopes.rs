//! Notification scopes and kinds beyond a job's end, against the real server: a project's
//! watchers hear of its members' jobs (outsiders may not watch it), a muted project is quiet,
//! a job near its time limit warns its owner once, and progress milestones are announced.

use std::time::Duration;

use ch_domain::{EventType, JobStatus};
use serde_json::{Value, json};

use crate::common::{Db, TestApp};

both_backends! {
    a_projects_watchers_hear_of_its_jobs_and_outsiders_may_not_watch => watchers;
}

/// Waits (≤ 20 s) until `client`'s inbox lists `n` notifications; returns its items.
async fn inbox_of(app: &TestApp, client: &reqwest::Client, n: usize) -> Vec<Value> {
    let page = crate::notifications::inbox_of(app, client, n).await;
    page["items"].as_array().cloned().unwrap_or_default()
}

async fn put_rules(app: &TestApp, who: &reqwest::Client, rules: Value) -> (u16, Value) {
    app.call(who, "PUT", "/api/notifications/rules", Some(rules)).await
}

async fn watchers(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    let ada = app.user("ada", "scientist", &[("radio", "member")]).await;
    let pi = app.user("pi", "scientist", &[("radio", "viewer")]).await;
    let eve = app.user("eve", "scientist", &[("optical", "member")]).await;

    // The principal investigator watches the project's failures (a viewer may read it).
    let (s, saved) = put_rules(
        &app,
        &pi,
        json!({ "kinds": [], "in_app": true,
                "watches": [{ "project": " radio ", "kinds": ["failed", "failed"] }] }),
    )
    .await;
    assert_eq!(s, 200, "{saved}");
    assert_eq!(
        saved["watches"],
        json!([{ "project": "radio", "job_id": null, "kinds": ["failed"] }])
    );
    let (_, back) = app.call(&pi, "GET", "/api/notifications/rules", None).await;
    assert_eq!(back, saved, "the rules read back as saved");

    // An outsider may not watch a project or job they cannot read; an unknown one is refused alike.
    let failing = json!({ "name": "calibrate", "project": "radio", "command": "exit 3", "max_retries": 0 });
    let first = app.run_as(&ada, failing.clone(), JobStatus::Failed).await;
    for (watch, field) in [
        (json!({ "project": "radio", "kinds": ["failed"] }), "watches[0].project"),
        (
            json!({ "project": "nowhere", "kinds": ["failed"] }),
            "watches[0].project",
        ),
        (json!({ "job_id": first.id, "kinds": ["failed"] }), "watches[0].job_id"),
        (
            json!({ "job_id": uuid::Uuid::now_v7(), "kinds": [] }),
            "watches[0].job_id",
        ),
        (json!({ "kinds": ["failed"] }), "watches[0]"),
    ] {
        let (s, e) = put_rules(&app, &eve, json!({ "kinds": [], "in_app": true, "watches": [watch] })).await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some(field)), "{e}");
    }
    let (s, e) = put_rules(
        &app,
        &eve,
        json!({ "kinds": [], "in_app": true, "time_zone": "Mars/Olympus" }),
    )
    .await;
    assert_eq!((s, e["error"]["field"].as_str()), (422, Some("time_zone")), "{e}");
    let (s, e) = put_rules(
        &app,
        &eve,
        json!({ "kinds": [], "in_app": true, "quiet_hours": { "start": "22:00", "end": "25:00" } }),
    )
    .await;
    assert_eq!((s, e["error"]["field"].as_str()), (422, Some("quiet_hours.end")), "{e}");

    // Ada's failure reaches her and the watcher, each once; the outsider hears nothing.
    let ada_items = inbox_of(&app, &ada, 1).await;
    let pi_items = inbox_of(&app, &pi, 1).await;
    assert_eq!(ada_items[0]["job_id"], first.id.to_string());
    assert_eq!(
        (pi_items[0]["kind"].as_str(), pi_items[0]["job_id"].as_str()),
        (Some("failed"), Some(first.id.to_string().as_str())),
        "{pi_items:?}"
    );
    assert_ne!(pi_items[0]["id"], ada_items[0]["id"], "one notification per user");
    // Completions are not what the watcher asked for.
    app.run_as(
        &ada,
        json!({ "name": "image", "project": "radio", "command": "true" }),
        JobStatus::Completed,
    )
    .await;
    inbox_of(&app, &ada, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(inbox_of(&app, &pi, 1).await.len(), 1);
    assert_eq!(inbox_of(&app, &eve, 0).await.len(), 0);

    // Ada mutes her own jobs in the project; the watcher still hears of them. A watch of one
    // job beats the project's.
    let (s, r) = put_rules(
        &app,
        &ada,
        json!({ "kinds": ["failed", "completed"], "in_app": true, "watches": [{ "project": "radio", "kinds": [] }] }),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let second = app.run_as(&ada, failing.clone(), JobStatus::Failed).await;
    let pi_items = inbox_of(&app, &pi, 2).await;
    assert_eq!(pi_items[0]["job_id"], second.id.to_string());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(inbox_of(&app, &ada, 2).await.len(), 2, "muted");
    app.stop().await;
}

/// A job that runs into its time limit (capped at 5 s here) warns its owner at 80 %, once,
/// before it is stopped; the warning is in the job's log too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_near_its_time_limit_warns_its_owner_once() {
    let Some(app) = TestApp::spawn_with(Db::Sqlite, |s| s.executor.max_runtime_cap_secs = Some(5)).await else {
        return;
    };
    let ada = app.user("ada", "scientist", &[("radio", "member")]).await;
    let (s, r) = put_rules(
        &app,
        &ada,
        json!({ "kinds": ["time_limit", "timed_out"], "in_app": true }),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let job = app
        .run_as(
            &ada,
            json!({ "name": "long", "project": "radio", "command": "sleep 30", "max_retries": 0 }),
            JobStatus::Failed,
        )
        .await;
    let items = inbox_of(&app, &ada, 2).await;
    let kinds: Vec<&str> = items.iter().filter_map(|n| n["kind"].as_str()).collect();
    assert_eq!(kinds, ["timed_out", "time_limit"], "newest first: {items:?}");
    let body = items[1]["body"].as_str().unwrap_or_default();
    assert!(body.contains("of its 5 s limit"), "{body}");
    let near: Vec<_> = app
        .events(job.id)
        .await
        .into_iter()
        .filter(|e| e.event_type == EventType::JobTimeLimitNear)
        .collect();
    assert_eq!(near.len(), 1, "one warning per run");
    assert_eq!(
        (
            near[0].payload["limit_seconds"].as_u64(),
            near[0].payload["percent"].as_u64()
        ),
        (Some(5), Some(80))
    );
    app.stop().await;
}

/// Progress passing 25, 50 and 75 % is announced, each milestone once, when the job asks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_milestones_are_announced() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    let ada = app.user("ada", "scientist", &[("radio", "member")]).await;
    let command = "echo PROGRESS 10; sleep 0.6; echo PROGRESS 30; sleep 0.6; echo PROGRESS 40; sleep 0.6; \
                   echo PROGRESS 90; sleep 0.6";
    app.run_as(
        &ada,
        json!({ "name": "sweep", "project": "radio", "command": command, "notify": ["progress"] }),
        JobStatus::Completed,
    )
    .await;
    let items = inbox_of(&app, &ada, 2).await;
    let bodies: Vec<&str> = items.iter().filter_map(|n| n["body"].as_str()).collect();
    assert!(bodies[0].ends_with("is 75 % done (reported 90 %)"), "{bodies:?}");
    assert!(bodies[1].ends_with("is 25 % done (reported 30 %)"), "{bodies:?}");
    app.stop().await;
}
