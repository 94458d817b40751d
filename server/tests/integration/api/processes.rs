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
    // Landlock refuses the read ("Permission denied"); in the job's own root the files are
    // not even there ("No such file or directory").
    assert!(
        err.matches("Permission denied").count() + err.matches("No such file or directory").count() >= 4,
        "every read refused: {err}"
    );
    app.stop().await;
}

/// A server process killed with SIGKILL while jobs run: the jobs go on without it (their
/// launchers are not its children's children in any way that dies with it). The restarted
/// server re-attaches to a job whose launcher still runs — the job completes, its events
/// whole — and fails a job whose launcher is gone, killing its leftover processes first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_survives_kill_9_of_the_server() {
    let mut server = common::process::ServerProcess::start().await;
    let token = server.admin_token("read,submit");
    let (client, base) = (server.client.clone(), server.base.clone());
    let submit = |name: &'static str, command: &'static str| {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        async move {
            let job: Value = client
                .post(format!("{base}/api/jobs"))
                .bearer_auth(&token)
                .json(&json!({ "name": name, "command": command }))
                .send()
                .await
                .expect("submit")
                .json()
                .await
                .expect("job");
            job["id"]
                .as_str()
                .unwrap_or_else(|| panic!("submitted: {job}"))
                .to_owned()
        }
    };
    let get = |path: String| {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        async move {
            let v: Value = client
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("get")
                .json()
                .await
                .expect("json");
            v
        }
    };
    let survivor = submit("survivor", "while [ ! -e go ]; do sleep 0.1; done; echo finished").await;
    let orphan = submit("orphan", "sh -c 'while :; do sleep 0.1; done' & wait").await;
    for id in [&survivor, &orphan] {
        for _ in 0..100 {
            if get(format!("/api/jobs/{id}")).await["status"] == "running" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(get(format!("/api/jobs/{id}")).await["status"], "running");
    }
    let marker = |id: &str| format!("CH_JOB_ID={id}");
    let alive = |id: &str| {
        let marker = marker(id);
        host_processes(|proc| {
            std::fs::read(proc.join("environ")).is_ok_and(|env| env.split(|b| *b == 0).any(|v| v == marker.as_bytes()))
        })
    };
    let jobs = server.dir.path().join("jobs");
    // Running once claimed; started once the launcher is noted.
    for id in [&survivor, &orphan] {
        for _ in 0..100 {
            if jobs.join(id).join("launcher.pid").exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    server.kill_9();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        alive(&survivor) > 0 && alive(&orphan) > 0,
        "jobs outlive a killed server"
    );
    // The orphan's launcher dies too (as if killed with the server's cgroup); its job's
    // processes go on.
    let noted = std::fs::read_to_string(jobs.join(&orphan).join("launcher.pid")).expect("launcher noted");
    let pid: i32 = noted
        .split_whitespace()
        .next()
        .and_then(|p| p.parse().ok())
        .expect("pid");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).expect("kill launcher");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(alive(&orphan) > 0, "the orphan's job outlives its launcher");

    server.serve().await;
    let lost = get(format!("/api/jobs/{orphan}")).await;
    assert_eq!(lost["status"], "failed", "{lost}");
    assert_eq!(lost["error_code"], "executor_lost");
    assert!(
        lost["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("launcher is gone") && m.contains("killed")),
        "{lost}"
    );
    for _ in 0..50 {
        if alive(&orphan) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(alive(&orphan), 0, "no process of the lost job is left");

    assert_eq!(get(format!("/api/jobs/{survivor}")).await["status"], "running");
    std::fs::write(jobs.join(&survivor).join("work").join("go"), "").expect("gate");
    let mut done = Value::Null;
    for _ in 0..100 {
        done = get(format!("/api/jobs/{survivor}")).await;
        if done["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(done["status"], "completed", "{done}");
    let logs = get(format!("/api/jobs/{survivor}/logs")).await;
    assert_eq!(logs["stdout"], "finished\n", "{logs}");
    let events = get(format!("/api/jobs/{survivor}/events")).await;
    let kinds: Vec<&str> = events
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["event_type"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        kinds,
        [
            "job.submitted",
            "job.status.changed",
            "job.status.changed",
            "job.completed"
        ],
        "submitted, queued, running, completed: each once"
    );
    drop(server);
}

both_backends! {
    jobs_cannot_reach_the_platforms_services_or_processes => jobs_cannot_reach_the_platform;
    no_process_outlives_its_job_and_jobs_see_only_their_own => processes_end_with_their_job;
}

/// How many processes of this host (its /proc entries) `matches` accepts.
fn host_processes(matches: impl Fn(&std::path::Path) -> bool) -> usize {
    std::fs::read_dir("/proc")
        .map(|entries| entries.flatten().filter(|e| matches(&e.path())).count())
        .unwrap_or(0)
}

/// Host processes whose command line is `sleep <seconds>` (the markers the jobs below start).
pub(super) fn sleepers(seconds: &str) -> usize {
    host_processes(|proc| {
        std::fs::read(proc.join("cmdline")).is_ok_and(|c| {
            let args: Vec<&[u8]> = c.split(|b| *b == 0).filter(|a| !a.is_empty()).collect();
            args.len() == 2 && args[0].ends_with(b"sleep") && args[1] == seconds.as_bytes()
        })
    })
}

/// Waits (≤ 5 s) until a `sleep <seconds>` runs (a job is `running` once claimed, a moment
/// before its processes start); the count at the end.
pub(super) async fn started(seconds: &str) -> usize {
    for _ in 0..50 {
        if sleepers(seconds) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sleepers(seconds)
}

/// Waits (≤ 5 s) until no `sleep <seconds>` is left; the count at the end.
pub(super) async fn gone(seconds: &str) -> usize {
    for _ in 0..50 {
        if sleepers(seconds) == 0 {
            return 0;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sleepers(seconds)
}

/// Issue 27: what a job starts in the background — `setsid`, with a cleared environment, a
/// double fork — ends when the job completes and when it is cancelled; the job's /proc shows
/// its own processes only, so the server's environment and pid are out of view.
async fn processes_end_with_their_job(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (_, ready) = app.get_json("/readyz").await;
    if ready["job_confinement"]["protections"]["processes"] != true && std::env::var("CI").as_deref() != Ok("true") {
        eprintln!("SKIPPED: jobs get no PID namespace here (needs CAP_SYS_ADMIN): {ready}");
        return;
    }
    assert_eq!(ready["job_confinement"]["protections"]["processes"], true, "{ready}");
    // Distinct markers per backend: both variants may run at once.
    let (a, b, c, d) = match db {
        Db::Sqlite => ("3121", "3122", "3123", "3124"),
        Db::Postgres => ("3131", "3132", "3133", "3134"),
    };
    let escape = format!(
        "setsid sleep {a} & setsid env -i sh -c 'sleep {b} &' & (sleep {c} &) ; sleep 0.3;          echo visible=$(ls /proc | grep -c '^[0-9]'); echo ppid=$PPID;          cat /proc/[0-9]*/environ 2>/dev/null | tr '\\0' '\\n' | grep -c CARGO_MANIFEST_DIR; echo done"
    );
    let job = app.submit_ok(json!({ "name": "escape", "command": escape })).await;
    let done = app.wait_status(job.id, JobStatus::Completed).await;
    let (_, logs) = app.get_json(&format!("/api/jobs/{}/logs", job.id)).await;
    let out = logs["stdout"].as_str().unwrap_or_default();
    assert!(out.contains("done"), "{logs}");
    let visible: usize = out
        .lines()
        .find_map(|l| l.strip_prefix("visible="))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(usize::MAX);
    assert!(
        visible <= 10,
        "the job sees only its own processes, saw {visible}: {out}"
    );
    // The job's shell is a child of the namespace's init (PID 1); the server has no pid here.
    assert!(
        out.lines().any(|l| l == "ppid=1"),
        "the server is outside the job's view: {out}"
    );
    assert!(out.lines().any(|l| l == "0"), "no other process's environment: {out}");
    assert_eq!(done.exit_code, Some(0));
    for marker in [a, b, c] {
        assert_eq!(gone(marker).await, 0, "sleep {marker} outlived its completed job");
    }

    let job = app
        .submit_ok(json!({ "name": "escape-cancel", "command": format!("setsid sleep {d} & sleep 100") }))
        .await;
    app.wait_status(job.id, JobStatus::Running).await;
    for _ in 0..50 {
        if sleepers(d) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(sleepers(d), 1, "the background process started");
    let res = app.post_empty(&format!("/api/jobs/{}/cancel", job.id)).await;
    assert!(res.status().is_success(), "{}", res.status());
    app.wait_status(job.id, JobStatus::Cancelled).await;
    assert_eq!(gone(d).await, 0, "sleep {d} outlived its cancelled job");
    app.stop().await;
}

/// What a job's shell prints when it tries the attacks of issue 27 beyond files: TCP to
/// PostgreSQL, RabbitMQ, Redis and the server itself, a TCP listener, and a signal to the
/// server (this test process runs it).
fn reach_probe(server_port: u16) -> String {
    let server_pid = std::process::id();
    format!(
        r#"for port in 5432 5672 6379 {server_port}; do
  if bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then echo "connected $port"; else echo "refused $port"; fi
done
if perl -MIO::Socket::INET -e 'IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1", LocalPort => 0) or exit 1'; then echo listening; else echo "no listener"; fi
if kill -0 {server_pid} 2>/dev/null; then echo "signalled server"; else echo "no signal to server"; fi"#
    )
}

/// Issue 27: a scientist's job cannot open a TCP connection to the database (nor RabbitMQ,
/// Redis or the server), cannot listen, and cannot signal the server; a port the site allows
/// (`executor.allow_connect_ports`) is reachable, which shows the refusals come from the
/// confinement and not from a closed port. The control also runs without the PID namespace, so
/// the server's pid is visible there and only Landlock's signal scope refuses the signal.
async fn jobs_cannot_reach_the_platform(db: Db) {
    let Some(app) = TestApp::spawn(db).await else {
        return;
    };
    let (_, ready) = app.get_json("/readyz").await;
    let protections = ready["job_confinement"]["protections"].clone();
    if protections["tcp_connect"] != true && std::env::var("CI").as_deref() != Ok("true") {
        eprintln!("SKIPPED: this kernel does not restrict TCP for jobs: {ready}");
        return;
    }
    for p in ["files", "tcp_connect", "tcp_bind", "signals", "abstract_unix_sockets"] {
        assert_eq!(protections[p], true, "{p} not enforced: {ready}");
    }
    let probe = reach_probe(app.addr.port());
    let job = app.submit_ok(json!({ "name": "reach", "command": probe })).await;
    app.wait_status(job.id, JobStatus::Completed).await;
    let (_, logs) = app.get_json(&format!("/api/jobs/{}/logs", job.id)).await;
    let out = logs["stdout"].as_str().unwrap_or_default();
    let port = app.addr.port();
    for line in [
        "refused 5432",
        "refused 5672",
        "refused 6379",
        &format!("refused {port}"),
        "no listener",
        "no signal to server",
    ] {
        assert!(out.lines().any(|l| l == line), "expected `{line}`: {out}");
    }
    // The server is still there, and so is PostgreSQL for everyone but jobs.
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.stop().await;

    // The control: a site that allows the PostgreSQL port lets jobs reach it (so the refusal
    // above is the confinement's, not a closed port's).
    if db == Db::Postgres {
        let Some(open) = TestApp::spawn_with(db, |s| {
            s.executor.allow_connect_ports = vec![5432];
            s.executor.isolate_processes = false;
        })
        .await
        else {
            return;
        };
        let job = open
            .submit_ok(json!({ "name": "reach", "command": reach_probe(open.addr.port()) }))
            .await;
        open.wait_status(job.id, JobStatus::Completed).await;
        let (_, logs) = open.get_json(&format!("/api/jobs/{}/logs", job.id)).await;
        let out = logs["stdout"].as_str().unwrap_or_default();
        assert!(out.lines().any(|l| l == "connected 5432"), "{out}");
        assert!(
            out.lines().any(|l| l == format!("refused {}", open.addr.port())),
            "{out}"
        );
        open.stop().await;
    }
}

/// Issue 27: a job that writes a file beyond `executor.max_file_bytes` is ended, and its
/// failure names the limit; a file below it is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_beyond_the_size_limit_ends_the_job_naming_the_limit() {
    let Some(app) = TestApp::spawn_with(Db::Sqlite, |s| s.executor.max_file_bytes = Some(1 << 20)).await else {
        return;
    };
    let small = app
        .submit_ok(json!({ "name": "small", "command": "head -c 524288 /dev/zero > small.bin" }))
        .await;
    app.wait_status(small.id, JobStatus::Completed).await;
    let big = app
        .submit_ok(json!({ "name": "big", "command": "exec head -c 2097152 /dev/zero > big.bin", "max_retries": 0 }))
        .await;
    let failed = app.wait_status(big.id, JobStatus::Failed).await;
    assert_eq!(failed.error_code.as_deref(), Some("file_size_limit"), "{failed:?}");
    assert!(
        failed
            .error_message
            .as_deref()
            .is_some_and(|m| m.contains("1048576 bytes") && m.contains("executor.max_file_bytes")),
        "{failed:?}"
    );
    let written = std::fs::metadata(app.dir.path().join(format!("data/jobs/{}/work/big.bin", big.id)))
        .map(|m| m.len())
        .unwrap_or(0);
    assert!(written <= 1 << 20, "no more than the limit reached the disk: {written}");
    app.stop().await;
}
