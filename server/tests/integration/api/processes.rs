//! Job processes as the operating system sees them: a clean environment, Landlock
//! confinement, and what a restart does with processes a killed server left behind.

use std::time::Duration;

use ch_domain::JobStatus;
use serde_json::{Value, json};

use crate::common::{self, Db, TestApp};

#[tokio::test]
async fn crash_leftovers_are_failed_at_start() {
    use ch_domain::{NewEvent, SubmitJob, SystemCatalog};
    // A job the previous process marked running and then died without settling.
    let dir = tempfile::tempdir().expect("tempdir");
    let url = common::database_url(Db::Sqlite, &dir).await.expect("sqlite");
    let store = server::store::Store::connect(&url).await.expect("connect");
    let mut job = SubmitJob {
        name: "orphan".into(),
        command: "sleep 100".into(),
        max_retries: Some(3),
        ..SubmitJob::default()
    }
    .validate(&SystemCatalog::default())
    .expect("valid")
    .into_job(uuid::Uuid::now_v7(), "anonymous".into(), "c".into(), chrono::Utc::now());
    store
        .create_job(&job, NewEvent::submitted(uuid::Uuid::now_v7(), &job, "t"))
        .await
        .expect("create");
    for (version, to) in [(1, JobStatus::Queued), (2, JobStatus::Running)] {
        let from = job.transition(to, chrono::Utc::now()).expect("legal");
        let ev = NewEvent::transition(uuid::Uuid::now_v7(), &job, from, "t", None);
        store.save_job(&job, version, vec![ev]).await.expect("save");
    }
    store.close().await;

    let settings = common::settings(&dir, &url);
    let app = TestApp::start(dir, url, settings).await;
    let after = app.job(job.id).await;
    assert_eq!(after.status, JobStatus::Failed, "{after:?}");
    assert_eq!(after.error_code.as_deref(), Some("executor_lost"));
    // Lost processes are not retried blindly, even with retries left.
    assert_eq!(after.retry_count, 0);
    assert!(after.error_message.unwrap_or_default().contains("server stopped"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_do_not_inherit_the_server_environment() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    // cargo sets CARGO_MANIFEST_DIR for this test process, and so for the server in it.
    assert!(std::env::var("CARGO_MANIFEST_DIR").is_ok());
    let job = app.submit_ok(json!({ "name": "env", "command": "env" })).await;
    app.wait_status(job.id, JobStatus::Completed).await;
    let (_, logs) = app.get_json(&format!("/api/jobs/{}/logs", job.id)).await;
    let out = logs["stdout"].as_str().unwrap_or_default();
    assert!(out.contains(&format!("CH_JOB_ID={}", job.id)), "{out}");
    assert!(
        out.contains("USER=admin") && out.contains("CH_PROJECT=default"),
        "{out}"
    );
    assert!(!out.contains("CARGO_MANIFEST_DIR"), "server environment leaked: {out}");
    app.stop().await;
}

/// Jobs run below the server's priority (nice 10 by default) and under their memory request
/// as an address-space limit (`ulimit -v`, in KiB), whether started by the launcher or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_niced_under_their_memory_limit() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    let job = app
        .submit_ok(json!({ "name": "limits", "command": "nice; ulimit -v", "resources": { "memory_gb": 2 } }))
        .await;
    app.wait_status(job.id, JobStatus::Completed).await;
    let (_, logs) = app.get_json(&format!("/api/jobs/{}/logs", job.id)).await;
    let out: Vec<&str> = logs["stdout"].as_str().unwrap_or_default().lines().collect();
    assert_eq!(out, ["10", "2097152"], "{logs}");
    app.stop().await;
}

/// Confined jobs (Landlock): a job reads and writes its own directory, but the kernel refuses
/// it the database, the data directory, other jobs' directories and the server's settings.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_cannot_read_the_servers_files() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    let (_, ready) = app.get_json("/readyz").await;
    let confinement = &ready["job_confinement"];
    let kernel_has_it = std::path::Path::new("/sys/kernel/security/landlock").exists()
        || !confinement["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("no Landlock");
    if confinement["status"] != "fully_enforced" && !kernel_has_it && std::env::var("CI").as_deref() != Ok("true") {
        eprintln!("SKIPPED: no Landlock on this kernel: {confinement}");
        return;
    }
    assert_eq!(confinement["mechanism"], "landlock", "{ready}");
    assert_eq!(confinement["status"], "fully_enforced", "{ready}");

    let own = app
        .submit_ok(json!({ "name": "own", "command": "echo secret-result > result.txt && cat result.txt" }))
        .await;
    app.wait_status(own.id, JobStatus::Completed).await;
    let data = app.dir.path().join("data");
    let db = app
        .database_url
        .trim_start_matches("sqlite://")
        .split('?')
        .next()
        .unwrap_or_default()
        .to_owned();
    let other = data.join("jobs").join(own.id.to_string()).join("work/result.txt");
    let snoop = format!(
        "for f in '{db}' '{other}' '{data}/jobs' '{manifest}/Cargo.toml'; do cat \"$f\" || ls \"$f\"; done; echo finished",
        other = other.display(),
        data = data.display(),
        manifest = env!("CARGO_MANIFEST_DIR"),
    );
    let job = app.submit_ok(json!({ "name": "snoop", "command": snoop })).await;
    app.wait_status(job.id, JobStatus::Completed).await;
    let (_, logs) = app.get_json(&format!("/api/jobs/{}/logs", job.id)).await;
    let (out, err) = (
        logs["stdout"].as_str().unwrap_or_default(),
        logs["stderr"].as_str().unwrap_or_default(),
    );
    assert!(out.contains("finished"), "the job ran: {out} {err}");
    assert!(
        !out.contains("secret-result") && !out.contains("SQLite format") && !out.contains("[package]"),
        "{out}"
    );
    assert!(
        err.matches("Permission denied").count() >= 4,
        "every read refused: {err}"
    );
    app.stop().await;
}

/// A server process killed with SIGKILL while a job runs: the job's process group survives it
/// (reparented to init). The restarted server kills it before reporting the job lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_then_restart_kills_the_surviving_job() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let bin = env!("CARGO_BIN_EXE_cosmic-horizons");
    let command = |args: &[&str]| {
        let mut c = Command::new(bin);
        c.args(args)
            .env("CH_DATA_DIR", dir.path())
            .env("CH_LISTEN", format!("127.0.0.1:{port}"))
            .env("CH_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        c
    };
    let client = common::anonymous_client();
    // Ready (not just listening): the first-start account exists once `/readyz` answers.
    let listening = || async {
        for _ in 0..300 {
            if let Ok(r) = client.get(format!("http://127.0.0.1:{port}/readyz")).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not start");
    };
    let mut server = common::ChildGuard(command(&["serve"]).spawn().expect("serve"));
    listening().await;
    let out = common::output_within(
        &mut command(&["token", "create", "admin", "--scopes", "read,submit"]),
        None,
        Duration::from_secs(60),
    );
    let token = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("cht_"))
        .unwrap_or_default()
        .to_owned();
    let base = format!("http://127.0.0.1:{port}");
    let job: Value = client
        .post(format!("{base}/api/jobs"))
        .bearer_auth(&token)
        .json(&json!({ "name": "survivor", "command": "sh -c 'while :; do sleep 0.1; done' & wait" }))
        .send()
        .await
        .expect("submit")
        .json()
        .await
        .expect("job");
    let id = job["id"]
        .as_str()
        .unwrap_or_else(|| panic!("submitted: {job}"))
        .to_owned();
    let status = || async {
        let v: Value = client
            .get(format!("{base}/api/jobs/{id}"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        v
    };
    for _ in 0..100 {
        if status().await["status"] == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status().await["status"], "running");
    let marker = format!("CH_JOB_ID={id}");
    let alive = || {
        std::fs::read_dir("/proc")
            .map(|entries| {
                entries
                    .flatten()
                    .filter(|e| {
                        std::fs::read(e.path().join("environ"))
                            .is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == marker.as_bytes()))
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    server.0.kill().expect("kill -9");
    server.0.wait().expect("reaped");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(alive() > 0, "the job's processes outlive a killed server");

    let restarted = common::ChildGuard(command(&["serve"]).spawn().expect("serve again"));
    listening().await;
    let after = status().await;
    assert_eq!(after["status"], "failed", "{after}");
    assert_eq!(after["error_code"], "executor_lost");
    assert!(
        after["error_message"].as_str().is_some_and(|m| m.contains("killed")),
        "{after}"
    );
    for _ in 0..50 {
        if alive() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(alive(), 0, "no process of the lost job is left");
    drop(restarted);
}
