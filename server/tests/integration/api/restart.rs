//! Jobs outlive the web server: a graceful stop leaves them running, and the next start
//! re-attaches to the ones still running and records the outcome of the ones that ended
//! meanwhile, with no event recorded twice. (kill -9: `processes.rs`.)

use std::path::Path;
use std::time::Duration;

use ch_domain::{EventType, JobStatus};
use serde_json::json;

use crate::common::{self, Db, TestApp};

/// A job that prints `PROGRESS 30`, waits until the file `go` appears in its working
/// directory, prints `PROGRESS 90` and `finished`, and exits with `code`.
fn gated(code: i32) -> String {
    format!("echo PROGRESS 30; while [ ! -e go ]; do sleep 0.1; done; echo PROGRESS 90; echo finished; exit {code}")
}

/// Lets the gated job `id` under `data` go on.
fn open_gate(data: &Path, id: uuid::Uuid) {
    std::fs::write(data.join("jobs").join(id.to_string()).join("work").join("go"), "").expect("gate");
}

/// Waits (≤ 20 s) until `path` exists.
async fn appears(path: &Path) {
    for _ in 0..200 {
        if path.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} did not appear", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_outlive_a_graceful_restart() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    let still = app
        .submit_ok(json!({ "name": "still-running", "command": gated(0) }))
        .await;
    let ended = app
        .submit_ok(json!({ "name": "ends-meanwhile", "command": gated(3), "max_retries": 0 }))
        .await;
    for id in [still.id, ended.id] {
        app.wait_for(id, |j| j.status == JobStatus::Running && j.progress == 30)
            .await;
    }
    let started = app.job(still.id).await.started_at;

    let (dir, url) = app.stop_leaving_jobs().await;
    let data = dir.path().join("data");
    // One job ends while no server runs.
    open_gate(&data, ended.id);
    appears(&data.join("jobs").join(ended.id.to_string()).join("exit_status")).await;
    let restarted_at = chrono::Utc::now();
    let settings = common::settings(&dir, &url);
    let app = TestApp::start(dir, url, settings).await;

    let after = app.job(ended.id).await;
    assert_eq!(after.status, JobStatus::Failed, "{after:?}");
    assert_eq!(after.error_code.as_deref(), Some("exit_nonzero"));
    assert_eq!(after.exit_code, Some(3));
    assert!(
        after.finished_at.is_some_and(|t| t <= restarted_at),
        "the end time is the job's, not the restart's: {after:?}"
    );
    let out = app.get_json(&format!("/api/jobs/{}/logs", ended.id)).await.1;
    assert!(out["stdout"].as_str().is_some_and(|o| o.contains("finished")), "{out}");

    // The other still runs, watched by the new server.
    assert_eq!(app.job(still.id).await.status, JobStatus::Running);
    open_gate(&app.dir.path().join("data"), still.id);
    let done = app.wait_status(still.id, JobStatus::Completed).await;
    assert_eq!(done.exit_code, Some(0));
    assert_eq!(done.started_at, started, "one start");
    let out = app.get_json(&format!("/api/jobs/{}/logs", still.id)).await.1;
    assert_eq!(out["stdout"], "PROGRESS 30\nPROGRESS 90\nfinished\n");

    // Its events are whole: each step once, in order.
    for (id, last) in [(still.id, EventType::JobCompleted), (ended.id, EventType::JobFailed)] {
        let events = app.events(id).await;
        let kinds: Vec<EventType> = events.iter().map(|e| e.event_type).collect();
        let progress: Vec<_> = events
            .iter()
            .filter(|e| e.event_type == EventType::JobProgress)
            .map(|e| e.payload["progress"].clone())
            .collect();
        let expected_progress = if id == still.id {
            vec![json!(30), json!(90)]
        } else {
            vec![json!(30)]
        };
        assert_eq!(progress, expected_progress, "{kinds:?}");
        let starts = events.iter().filter(|e| e.payload["to"] == "running").count();
        assert_eq!(starts, 1, "{kinds:?}");
        assert_eq!(kinds.last(), Some(&last), "{kinds:?}");
    }
    app.stop().await;
}

/// A retry runs in the same directory and appends to the same log: its progress starts afresh
/// from its own output, not from the last value the failed attempt printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_reports_only_its_own_progress() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    let command = "if [ -e tried ]; then sleep 0.6; echo second; else touch tried; echo PROGRESS 80; exit 1; fi";
    let job = app
        .submit_ok(json!({ "name": "retried", "command": command, "max_retries": 1 }))
        .await;
    let done = app.wait_status(job.id, JobStatus::Completed).await;
    assert_eq!(done.retry_count, 1, "{done:?}");
    let events = app.events(job.id).await;
    let progress: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == EventType::JobProgress)
        .map(|e| e.payload["progress"].clone())
        .collect();
    assert_eq!(
        progress,
        vec![json!(80)],
        "the first attempt's 80 once, nothing from the second"
    );
    let out = app.get_json(&format!("/api/jobs/{}/logs", job.id)).await.1;
    assert_eq!(
        out["stdout"], "PROGRESS 80\nsecond\n",
        "both attempts' output, in order"
    );
    app.stop().await;
}
