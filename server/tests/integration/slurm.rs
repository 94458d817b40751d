//! The Slurm executor against the real single-node cluster `cargo xtask slurm` starts (the
//! test stage starts it before nextest): submit → pending → running → completed, a time limit,
//! cancels, logs and progress, a restart, bad input. Without a cluster the tests print
//! SKIPPED; with `CI=true` they fail. They run one at a time (nextest group `slurm`): they
//! share the cluster's two GPUs, which the pending tests hold with a blocker job.

use std::process::Command;
use std::time::Duration;

use ch_domain::{EventType, JobStatus, SystemInfo, SystemLimits, SystemRates};
use serde_json::{Value, json};

use crate::common::{self, Db, TestApp, output_within};

/// Longest any wait on Slurm may take here.
const SLURM_WAIT: Duration = Duration::from_secs(60);
const COMMAND_LIMIT: Duration = Duration::from_secs(20);

/// Runs a Slurm command (bounded); its standard output, or the test fails.
fn slurm(program: &str, args: &[&str]) -> String {
    let out = output_within(Command::new(program).args(args), None, COMMAND_LIMIT);
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Whether the node is usable now; `None` when `sinfo` does not answer (no cluster).
fn node_usable() -> Option<bool> {
    let out = Command::new("sinfo").args(["-h", "-o", "%T"]).output().ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| matches!(l.trim(), "idle" | "mixed" | "allocated"))
    })
}

/// Whether the cluster answers with a usable node — waiting up to 30 s while the previous
/// test's jobs still hold the node (`completing`, KillWait) or, under CI, while the controller
/// a previous test restarted does not answer yet; `false` (SKIPPED) outside CI.
fn cluster_up() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut state = node_usable();
    while (state == Some(false) || (ci && state.is_none())) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(500));
        state = node_usable();
    }
    let up = state == Some(true);
    if !up {
        assert!(
            !ci,
            "no Slurm cluster answers `sinfo` with a usable node in 30 s (CI=true requires one: cargo xtask slurm)"
        );
        eprintln!("SKIPPED: no Slurm cluster answers `sinfo` (start one with `cargo xtask slurm`)");
    }
    up
}

/// A server whose system `cluster` runs on Slurm (partition `debug`, account `testacct`),
/// polling every 200 ms; `None` = skipped.
async fn spawn(db: Db) -> Option<TestApp> {
    if !cluster_up() {
        return None;
    }
    TestApp::spawn_with(db, slurm_settings).await
}

fn slurm_settings(s: &mut server::settings::Settings) {
    s.systems.0.insert(
        "cluster".into(),
        SystemInfo {
            description: "the test cluster".into(),
            executor: Some("slurm".into()),
            partition: Some("debug".into()),
            account: Some("testacct".into()),
            // The node's CPUs, memory and GPUs come from the cluster (`sinfo`).
            limits: SystemLimits {
                max_runtime_minutes: Some(60),
                ..SystemLimits::default()
            },
            ..SystemInfo::default()
        },
    );
    if let Some(c) = s.systems.0.get_mut("cluster") {
        c.rates = SystemRates {
            cpu_core_hour_usd: CPU_HOUR_USD,
            gpu_hour_usd: GPU_HOUR_USD,
            ..SystemRates::default()
        };
    }
    s.slurm.poll_interval_ms = 200;
    s.slurm.sample_interval_ms = 500;
    s.slurm.max_poll_interval_ms = 1_000;
}

/// Rates of the test system: an hour of one CPU, and of one GPU, in USD (high, so seconds
/// cost cents).
const CPU_HOUR_USD: f64 = 36.0;
const GPU_HOUR_USD: f64 = 72.0;

/// `GET /api/jobs/{id}/scheduler` once `want` holds.
async fn scheduler_until(app: &TestApp, id: uuid::Uuid, want: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + SLURM_WAIT;
    loop {
        let (status, record) = app.get_json(&format!("/api/jobs/{id}/scheduler")).await;
        if status == 200 && want(&record) {
            return record;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "scheduler record of {id}: {status} {record}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn job(name: &str, command: &str, gpus: u32, minutes: u32) -> Value {
    json!({
        "name": name,
        "command": command,
        "target_system": "cluster",
        "resources": { "cpus": 1, "memory_gb": 0.1, "gpus": gpus, "max_runtime_minutes": minutes },
    })
}

/// `%T|%r` of our job `id` in the default `squeue` listing (pending, running, completing);
/// empty when the controller lists it no more.
fn squeue_of(id: uuid::Uuid) -> String {
    slurm("squeue", &["-h", "-n", &format!("ch-{id}"), "-o", "%T|%r"])
}

/// Slurm's id of our job `id`.
fn slurm_id(id: uuid::Uuid) -> String {
    slurm("squeue", &["-h", "-t", "all", "-n", &format!("ch-{id}"), "-o", "%i"])
}

/// Waits (bounded) until `check` holds, naming `what` on failure.
async fn until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + SLURM_WAIT;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {SLURM_WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Cancels, when dropped, the Slurm jobs of the server whose data dir is `.0` (a test that
/// failed midway leaves none to hold the cluster for the next).
struct Leftovers(std::path::PathBuf);

impl Leftovers {
    fn of(app: &TestApp) -> Self {
        Leftovers(app.dir.path().join("data/slurm-jobs"))
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        for entry in std::fs::read_dir(&self.0).into_iter().flatten().flatten() {
            let name = format!("ch-{}", entry.file_name().to_string_lossy());
            let _ = Command::new("timeout").args(["20", "scancel", "-n", &name]).status();
        }
    }
}

/// Holds both GPUs of the node with a job of our own, until dropped.
struct Blocker(String);

impl Blocker {
    async fn hold() -> Self {
        let id = slurm(
            "sbatch",
            &[
                "--parsable",
                "-J",
                "test-blocker",
                "--gres=gpu:2",
                "--mem=100M",
                "-o",
                "/dev/null",
                "--wrap",
                "sleep 120",
            ],
        );
        let b = Blocker(id);
        until("the blocker runs", || {
            slurm("squeue", &["-h", "-j", &b.0, "-o", "%T"]) == "RUNNING"
        })
        .await;
        b
    }
}

impl Drop for Blocker {
    fn drop(&mut self) {
        let _ = Command::new("scancel").arg(&self.0).status();
    }
}

async fn wait_long(app: &TestApp, id: uuid::Uuid, want: impl Fn(&ch_domain::Job) -> bool) -> ch_domain::Job {
    let deadline = tokio::time::Instant::now() + SLURM_WAIT;
    loop {
        let job = app.job(id).await;
        if want(&job) {
            return job;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out; job is {job:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn statuses(events: &[ch_domain::JobEvent]) -> Vec<String> {
    events
        .iter()
        .filter(|e| !matches!(e.event_type, EventType::JobProgress | EventType::JobSchedulerChanged))
        .map(|e| e.payload["to"].as_str().unwrap_or(e.event_type.as_str()).to_owned())
        .collect()
}

/// Pending while the blocker holds the GPUs (reason `Resources`, ours `queued`), running when
/// it goes, completed with exit code 0, its output and progress recorded; a job that exits 3
/// fails with exit code 3 and Slurm's words.
async fn pending_running_completed(db: Db) {
    let Some(app) = spawn(db).await else { return };
    let _leftovers = Leftovers::of(&app);
    let blocker = Blocker::hold().await;
    let cmd = "echo PROGRESS 40; sleep 1; echo PROGRESS 80; echo to-stdout; echo to-stderr >&2; sleep 1";
    let ok = app.submit_ok(job("slurm-ok", cmd, 1, 5)).await;
    let failing = app.submit_ok(job("slurm-exit-3", "echo failing; exit 3", 0, 5)).await;
    until("our job pending for Resources", || {
        squeue_of(ok.id) == "PENDING|Resources"
    })
    .await;
    assert_eq!(app.job(ok.id).await.status, JobStatus::Queued);
    // The API shows the Slurm job id and why it waits, once the executor has polled.
    let sid = slurm_id(ok.id);
    let pending = scheduler_until(&app, ok.id, |r| r["reason"] == "Resources").await;
    assert_eq!(
        (&pending["scheduler"], &pending["scheduler_job_id"], &pending["state"]),
        (&json!("slurm"), &json!(sid), &json!("PENDING")),
        "{pending}"
    );
    assert!(pending["accounting"].is_null(), "{pending}");
    drop(blocker);
    wait_long(&app, ok.id, |j| j.status == JobStatus::Running).await;
    let done = wait_long(&app, ok.id, |j| j.status.is_terminal()).await;
    assert_eq!(
        (done.status, done.exit_code),
        (JobStatus::Completed, Some(0)),
        "{done:?}"
    );
    let events = app.events(ok.id).await;
    assert_eq!(statuses(&events), ["job.submitted", "queued", "running", "completed"]);
    let progress: Vec<u64> = events
        .iter()
        .filter(|e| e.event_type == EventType::JobProgress)
        .filter_map(|e| e.payload["job"]["progress"].as_u64())
        .collect();
    assert!(progress.contains(&80), "progress events: {progress:?}");
    // What Slurm said while it held the job reached the events, for pages to show live.
    let said: Vec<String> = events
        .iter()
        .filter(|e| e.event_type == EventType::JobSchedulerChanged)
        .map(|e| {
            let s = &e.payload["scheduler"];
            assert_eq!(s["scheduler_job_id"], json!(sid), "{s}");
            format!(
                "{}|{}",
                s["state"].as_str().unwrap_or("?"),
                s["reason"].as_str().unwrap_or("?")
            )
        })
        .collect();
    let waited = said.iter().position(|s| s == "PENDING|Resources");
    let ran = said.iter().position(|s| s.starts_with("RUNNING"));
    assert!(waited.is_some() && waited < ran, "scheduler events: {said:?}");
    let logs = app.get_json(&format!("/api/jobs/{}/logs", ok.id)).await.1;
    assert!(
        logs["stdout"]
            .as_str()
            .is_some_and(|o| o.contains("PROGRESS 80\nto-stdout")),
        "{logs}"
    );
    assert_eq!(logs["stderr"], "to-stderr\n", "{logs}");

    // Accounting from sacct: it ran ≥ 2 s on the 1 CPU, 103 MiB (0.1 GB) and 1 GPU it asked
    // for, and its actual cost is the system's rates over that.
    let record = scheduler_until(&app, ok.id, |r| !r["accounting"].is_null()).await;
    let acct = &record["accounting"];
    assert_eq!(record["state"], "COMPLETED", "{record}");
    assert_eq!(
        acct["allocated"],
        json!({ "nodes": 1, "cpus": 1, "memory_bytes": 103 << 20, "gpus": 1 }),
        "{record}"
    );
    let elapsed = acct["elapsed_secs"].as_u64().expect("elapsed");
    assert!((2..30).contains(&elapsed), "{record}");
    let expected = (elapsed as f64 / 3600.0 * (CPU_HOUR_USD + GPU_HOUR_USD) * 100.0).round() / 100.0;
    assert_eq!(record["actual_cost_usd"], json!(expected), "{record}");
    let cpu = record["cpu_efficiency"].as_f64().expect("cpu efficiency");
    assert!((0.0..=1.0).contains(&cpu), "{record}");

    let failed = wait_long(&app, failing.id, |j| j.status.is_terminal()).await;
    assert_eq!(failed.status, JobStatus::Failed, "{failed:?}");
    assert_eq!(failed.exit_code, Some(3));
    assert_eq!(failed.error_code.as_deref(), Some("exit_nonzero"));
    assert!(
        failed
            .error_message
            .as_deref()
            .is_some_and(|m| m.contains("FAILED, ExitCode 3:0")),
        "{failed:?}"
    );
    app.stop().await;
}

both_backends! {
    a_job_goes_pending_running_completed => pending_running_completed;
}

/// A job past its Slurm time limit fails with `timeout` and Slurm's `TIMEOUT`. (Slurm checks
/// limits every ~30 s and rounds them up to a minute: the test sets the running job's limit to
/// 0 with `scontrol`, which ends it within ~20 s instead of ~80.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_past_its_time_limit_fails_with_timeout() {
    let Some(app) = spawn(Db::Sqlite).await else { return };
    let _leftovers = Leftovers::of(&app);
    let long = app.submit_ok(job("slurm-timeout", "sleep 300", 0, 1)).await;
    wait_long(&app, long.id, |j| j.status == JobStatus::Running).await;
    let sid = slurm_id(long.id);
    slurm("scontrol", &["update", &format!("jobid={sid}"), "timelimit=0"]);
    let failed = wait_long(&app, long.id, |j| j.status.is_terminal()).await;
    assert_eq!(failed.status, JobStatus::Failed, "{failed:?}");
    assert_eq!(failed.error_code.as_deref(), Some("timeout"), "{failed:?}");
    assert!(
        failed.error_message.as_deref().is_some_and(|m| m.contains("TIMEOUT")),
        "{failed:?}"
    );
    app.stop().await;
}

/// A cancel reaches Slurm (`scancel`) for a job pending there and for one running: both end
/// cancelled and the controller lists neither any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_while_pending_and_while_running() {
    let Some(app) = spawn(Db::Sqlite).await else { return };
    let _leftovers = Leftovers::of(&app);
    let blocker = Blocker::hold().await;
    let pending = app.submit_ok(job("slurm-pending", "sleep 120", 1, 5)).await;
    let running = app.submit_ok(job("slurm-running", "sleep 120", 0, 5)).await;
    until("pending in Slurm", || squeue_of(pending.id).starts_with("PENDING")).await;
    wait_long(&app, running.id, |j| j.status == JobStatus::Running).await;
    for id in [pending.id, running.id] {
        let res = app.post_empty(&format!("/api/jobs/{id}/cancel")).await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
    }
    for id in [pending.id, running.id] {
        until("gone from squeue", || squeue_of(id).is_empty()).await;
        assert_eq!(app.job(id).await.status, JobStatus::Cancelled);
    }
    // Accounting trails the controller by a moment.
    let name = format!("ch-{}", running.id);
    until("sacct says CANCELLED", || {
        slurm("sacct", &["-n", "-P", "-X", "-o", "State", "--name", &name]).starts_with("CANCELLED")
    })
    .await;
    // A job cancelled here is still accounted for: it ran, and what it ran is charged.
    let record = scheduler_until(&app, running.id, |r| !r["accounting"].is_null()).await;
    assert!(record["accounting"]["elapsed_secs"].as_u64().is_some(), "{record}");
    assert!(record["actual_cost_usd"].as_f64().is_some(), "{record}");
    drop(blocker);
    app.stop().await;
}

/// A server restart while a Slurm job runs: the new server re-attaches (by the stored Slurm
/// job id), follows its progress and records its end; no event is recorded twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_re_attaches_to_a_running_slurm_job() {
    let Some(app) = spawn(Db::Sqlite).await else { return };
    let _leftovers = Leftovers::of(&app);
    let gated = "echo PROGRESS 30; while [ ! -e go ]; do sleep 0.2; done; echo PROGRESS 90; echo finished";
    let j = app.submit_ok(job("slurm-restart", gated, 0, 5)).await;
    wait_long(&app, j.id, |j| j.status == JobStatus::Running && j.progress == 30).await;
    let (dir, url) = app.stop_leaving_jobs().await;
    let work = dir.path().join("data/slurm-jobs").join(j.id.to_string()).join("work");
    assert_eq!(squeue_of(j.id), "RUNNING|None", "the job runs on without the server");
    let mut settings = common::settings(&dir, &url);
    slurm_settings(&mut settings);
    let app = TestApp::start(dir, url, settings).await;
    std::fs::write(work.join("go"), "").expect("gate");
    let done = wait_long(&app, j.id, |j| j.status.is_terminal()).await;
    assert_eq!(
        (done.status, done.exit_code),
        (JobStatus::Completed, Some(0)),
        "{done:?}"
    );
    let events = app.events(j.id).await;
    assert_eq!(statuses(&events), ["job.submitted", "queued", "running", "completed"]);
    let progress: Vec<u64> = events
        .iter()
        .filter(|e| e.event_type == EventType::JobProgress)
        .filter_map(|e| e.payload["job"]["progress"].as_u64())
        .collect();
    assert_eq!(progress, [30, 90], "each value once");
    app.stop().await;
}

/// Requests beyond what the node has (from `sinfo`: 2 GPUs, 2 CPUs) or beyond the site's
/// limit (60 min) are refused naming the field, and nothing reaches Slurm; a system naming a
/// partition Slurm does not have stops start-up, naming the setting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_before_slurm_sees_it() {
    let Some(app) = spawn(Db::Sqlite).await else { return };
    let _leftovers = Leftovers::of(&app);
    let mut too_many_cpus = job("too-many-cpus", "true", 0, 5);
    too_many_cpus["resources"]["cpus"] = json!(3);
    for (body, field, says) in [
        (
            job("too-many-gpus", "true", 3, 5),
            "resources.gpus",
            "at most 2 per node on system 'cluster'",
        ),
        (too_many_cpus, "resources.cpus", "at most 2 per node"),
        (
            job("too-long", "true", 0, 61),
            "resources.max_runtime_minutes",
            "at most 60 min",
        ),
    ] {
        let res = app.submit(body).await;
        assert_eq!(res.status().as_u16(), 422);
        let v: Value = res.json().await.expect("json");
        assert_eq!(v["error"]["field"], field, "{v}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| m.contains(says)), "{v}");
    }
    let names = slurm("squeue", &["-h", "-t", "all", "-o", "%j"]);
    assert!(!names.contains("too-"), "{names}");
    let (dir, url) = app.stop().await;

    let mut settings = common::settings(&dir, &url);
    slurm_settings(&mut settings);
    if let Some(s) = settings.systems.0.get_mut("cluster") {
        s.partition = Some("nosuch".into());
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let run = server::startup::run(listener, settings, std::future::pending());
    let err = common::within(SLURM_WAIT, "start-up", run).await.expect_err("refused");
    let msg = format!("{err:#}");
    assert!(
        msg.contains("systems.cluster.partition") && msg.contains("nosuch"),
        "{msg}"
    );
}

/// A running Slurm job's CPU and memory, as its node measures them (`sstat`), reach the job's
/// samples (`GET /api/jobs/{id}/metrics`) while it runs: a busy loop holding 60 MB shows as
/// tens of percent of a core and tens of MB resident.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_jobs_cpu_and_memory_are_sampled() {
    let Some(app) = spawn(Db::Sqlite).await else { return };
    let _leftovers = Leftovers::of(&app);
    let busy = "python3 -c 'import time\nx = bytearray(60_000_000)\nt = time.time()\nwhile time.time() - t < 4: pass'";
    let j = app.submit_ok(job("slurm-busy", busy, 0, 5)).await;
    let done = wait_long(&app, j.id, |j| j.status.is_terminal()).await;
    assert_eq!(done.status, JobStatus::Completed, "{done:?}");
    let (status, samples) = app.get_json(&format!("/api/jobs/{}/metrics", j.id)).await;
    assert_eq!(status, 200, "{samples}");
    let samples = samples.as_array().expect("an array");
    assert!(!samples.is_empty(), "no samples of a 4 s job");
    let peak_memory = samples
        .iter()
        .filter_map(|s| s["memory_bytes"].as_i64())
        .max()
        .unwrap_or(0);
    assert!(peak_memory > 50_000_000, "{samples:?}");
    let peak_cpu = samples
        .iter()
        .filter_map(|s| s["cpu_percent"].as_f64())
        .fold(0.0, f64::max);
    assert!(peak_cpu > 20.0, "{samples:?}");
    app.stop().await;
}

/// The submit form's queue insight: the partition's pending and running jobs as squeue counts
/// them, and when Slurm expects a job with the resources asked about to start
/// (`sbatch --test-only`: at once, on an idle node); resources beyond the node's are refused
/// naming the field, and a system without a scheduler has no queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_of_a_system_before_submitting() {
    let Some(app) = spawn(Db::Sqlite).await else { return };
    let (status, q) = app
        .get_json("/api/systems/cluster/queue?gpus=1&memory_gb=0.1&max_runtime_minutes=5")
        .await;
    assert_eq!(status, 200, "{q}");
    assert_eq!(
        (&q["system"], &q["scheduler"], &q["partition"]),
        (&json!("cluster"), &json!("slurm"), &json!("debug")),
        "{q}"
    );
    let running = slurm("squeue", &["-h", "-p", "debug", "-t", "RUNNING", "-o", "%i"])
        .lines()
        .count();
    assert_eq!(q["running"].as_u64(), Some(running as u64), "{q}");
    assert!(q["refusal"].is_null(), "{q}");
    let start: chrono::DateTime<chrono::Utc> = q["estimated_start"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("an estimated start");
    let read: chrono::DateTime<chrono::Utc> = q["read_at"].as_str().and_then(|t| t.parse().ok()).expect("read_at");
    assert!(
        (start - read).num_seconds().abs() < 120,
        "an idle node starts it at once: {q}"
    );

    let (status, too_many) = app.get_json("/api/systems/cluster/queue?gpus=3").await;
    assert_eq!(status, 422, "{too_many}");
    assert_eq!(too_many["error"]["field"], "resources.gpus", "{too_many}");
    let (status, none) = app.get_json("/api/systems/nosuch/queue").await;
    assert_eq!(status, 404, "{none}");
    let (status, bad) = app.get_json("/api/systems/cluster/queue?cpus=lots").await;
    assert_eq!(status, 400, "{bad}");
    app.stop().await;
}

/// Starts the cluster's daemons that are not running (the project's idempotent start script).
fn start_cluster() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../xtask/slurm/start.sh");
    let out = output_within(Command::new("bash").arg(script), None, Duration::from_secs(120));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Stops slurmctld until dropped; then the start script brings it back.
struct ControllerDown;

impl ControllerDown {
    async fn stop() -> Self {
        let pid = std::fs::read_to_string("/run/slurm/slurmctld.pid").expect("slurmctld pid file");
        slurm("kill", &[pid.trim()]);
        let down = ControllerDown;
        until("the controller stops answering", || {
            !Command::new("squeue")
                .arg("-h")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .await;
        down
    }
}

impl Drop for ControllerDown {
    fn drop(&mut self) {
        start_cluster();
    }
}

/// The controller down while a job runs and ends: the job keeps its last known state (nothing
/// is failed or lost while `squeue` does not answer), and the server catches up once the
/// controller is back. (Down for ~22 s here: each poll's `squeue` fails after ~9 s.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_keep_their_state_while_the_controller_is_down() {
    let Some(app) = spawn(Db::Sqlite).await else { return };
    let _leftovers = Leftovers::of(&app);
    let gated = "echo PROGRESS 30; while [ ! -e go ]; do sleep 0.2; done; echo finished";
    let j = app.submit_ok(job("slurm-controller-down", gated, 0, 5)).await;
    wait_long(&app, j.id, |j| j.status == JobStatus::Running && j.progress == 30).await;
    let down = ControllerDown::stop().await;
    let work = app
        .dir
        .path()
        .join("data/slurm-jobs")
        .join(j.id.to_string())
        .join("work");
    std::fs::write(work.join("go"), "").expect("gate");
    // A Slurm client takes ~9 s to give up on a controller that is gone: polls fail meanwhile.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let meanwhile = app.job(j.id).await;
    assert_eq!(
        (meanwhile.status, meanwhile.progress),
        (JobStatus::Running, 30),
        "{meanwhile:?}"
    );
    drop(down);
    let done = wait_long(&app, j.id, |j| j.status.is_terminal()).await;
    assert_eq!(
        (done.status, done.exit_code),
        (JobStatus::Completed, Some(0)),
        "{done:?}"
    );
    assert_eq!(
        statuses(&app.events(j.id).await),
        ["job.submitted", "queued", "running", "completed"]
    );
    app.stop().await;
}
