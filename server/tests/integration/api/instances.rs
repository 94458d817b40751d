//! Several server instances on one PostgreSQL database (issue 28): a cancel recorded by one
//! instance reaches the instance that runs the job through the event log, and an instance that
//! starts does not touch the jobs another one runs.

use ch_domain::JobStatus;
use serde_json::json;

use super::processes::gone;
use crate::common::{self, Db, TestApp};

/// Starts one more instance on `database_url` with a data directory of its own.
async fn instance(database_url: &str) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = common::settings(&dir, database_url);
    TestApp::start(dir, database_url.to_owned(), settings).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_recorded_on_one_instance_stops_the_job_on_the_other() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(url) = common::database_url(Db::Postgres, &dir).await else {
        return;
    };
    // The job is queued and claimed while only `runner` is up, so it runs there.
    let runner = instance(&url).await;
    let job = runner
        .submit_ok(json!({ "name": "long", "command": "sleep 731; echo never" }))
        .await;
    runner.wait_status(job.id, JobStatus::Running).await;
    assert_eq!(super::processes::started("731").await, 1, "the job runs");

    let other = instance(&url).await;
    // Starting up, the other instance leaves the job it does not run alone.
    assert_eq!(other.job(job.id).await.status, JobStatus::Running);
    let res = other.post_empty(&format!("/api/jobs/{}/cancel", job.id)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(gone("731").await, 0, "the runner stopped the job cancelled elsewhere");
    let job = runner.job(job.id).await;
    assert_eq!(job.status, JobStatus::Cancelled, "{job:?}");
    let logs = runner.get_json(&format!("/api/jobs/{}/logs", job.id)).await.1;
    assert!(!logs["stdout"].as_str().unwrap_or_default().contains("never"), "{logs}");
    other.stop().await;
    runner.stop().await;
}
