//! Issue 27, beyond Landlock: the job's own root file system and network, the unprivileged
//! user it runs as, and its resource limits (processes, CPU time, open files).

use std::time::Duration;

use ch_domain::JobStatus;
use serde_json::{Value, json};

use crate::common::{Db, TestApp};

/// The protections `/readyz` reports for jobs, or `None` (test skipped) where this host gives
/// jobs no namespaces and this is not CI (namespaces need root, as on CI).
async fn protections(app: &TestApp, wanted: &[&str]) -> Option<Value> {
    let (_, ready) = app.get_json("/readyz").await;
    let p = ready["job_confinement"]["protections"].clone();
    if wanted.iter().any(|w| p[*w] != true) && std::env::var("CI").as_deref() != Ok("true") {
        eprintln!("SKIPPED: jobs here lack one of {wanted:?}: {ready}");
        return None;
    }
    for w in wanted {
        assert_eq!(p[*w], true, "{w} not enforced: {ready}");
    }
    Some(p)
}

/// A job's output (stdout, stderr) once it has ended in `status`.
async fn run(app: &TestApp, command: &str, status: JobStatus) -> (String, String, ch_domain::Job) {
    let job = app
        .submit_ok(json!({ "name": "isolation", "command": command, "max_retries": 0 }))
        .await;
    let done = app.wait_status(job.id, status).await;
    let (_, logs) = app.get_json(&format!("/api/jobs/{}/logs", job.id)).await;
    (
        logs["stdout"].as_str().unwrap_or_default().to_owned(),
        logs["stderr"].as_str().unwrap_or_default().to_owned(),
        done,
    )
}

/// What the job's shell prints when it tries a UNIX socket by path (as `psql -h
/// /run/postgresql` would), sends a UDP datagram to `udp_port` on loopback, and looks for the
/// socket's directory, the host's `/dev/shm` and `/run`.
fn sockets_probe(socket: &std::path::Path, udp_port: u16) -> String {
    format!(
        r#"if perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Peer => "{sock}") or exit 1' 2>/dev/null; then echo "unix connected"; else echo "unix refused"; fi
perl -MIO::Socket::INET -e 'my $s = IO::Socket::INET->new(Proto => "udp", PeerAddr => "127.0.0.1:{udp_port}") or exit 1; $s->send("from-the-job") or exit 1' 2>/dev/null && echo "udp sent" || echo "udp refused"
for p in '{dir}' /dev/shm /run; do [ -e "$p" ] && echo "sees $p" || echo "no $p"; done
echo finished"#,
        sock = socket.display(),
        dir = socket.parent().map(|d| d.display().to_string()).unwrap_or_default(),
    )
}

/// Issue 27: Landlock does not govern `connect(2)` to a UNIX socket by path nor UDP, so a job
/// could still talk to PostgreSQL's socket in `/run/postgresql`, a container runtime's socket,
/// or a UDP service. In its own root and network namespace the socket is not there and no
/// datagram leaves. The control (no namespaces) reaches both, so the refusals are the
/// isolation's, not a broken probe's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_reach_no_path_socket_and_no_network() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    if protections(&app, &["private_root", "network", "processes"])
        .await
        .is_none()
    {
        return;
    }
    let platform = tempfile::tempdir().expect("tempdir");
    let sock = platform.path().join("platform.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).expect("bind unix");
    // Open to every user, as PostgreSQL's socket (0777 in /run/postgresql, 2775): the job runs
    // as another user, and only the isolation may keep it out.
    use std::os::unix::fs::PermissionsExt;
    for (path, mode) in [(platform.path(), 0o755), (sock.as_path(), 0o777)] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    udp.set_read_timeout(Some(Duration::from_millis(500))).expect("timeout");
    let udp_port = udp.local_addr().expect("addr").port();

    let (out, err, _) = run(&app, &sockets_probe(&sock, udp_port), JobStatus::Completed).await;
    assert!(out.contains("finished"), "{out} {err}");
    for line in [
        "unix refused".to_owned(),
        "udp refused".to_owned(),
        format!("no {}", platform.path().display()),
        "no /dev/shm".to_owned(),
        "no /run".to_owned(),
    ] {
        assert!(out.lines().any(|l| l == line), "expected `{line}`: {out} {err}");
    }
    let mut buf = [0u8; 64];
    assert!(udp.recv(&mut buf).is_err(), "a datagram left the job");
    app.stop().await;

    // The control: without namespaces (Landlock alone) both are reached.
    let Some(open) = TestApp::spawn_with(Db::Sqlite, |s| s.executor.isolate_processes = false).await else {
        return;
    };
    let (out, err, _) = run(&open, &sockets_probe(&sock, udp_port), JobStatus::Completed).await;
    assert!(out.lines().any(|l| l == "unix connected"), "{out} {err}");
    assert!(out.lines().any(|l| l == "udp sent"), "{out} {err}");
    let got = udp.recv(&mut buf).map(|n| buf[..n].to_vec()).unwrap_or_default();
    assert_eq!(got, b"from-the-job", "the control's datagram arrives");
    open.stop().await;
    drop(listener);
}

/// Issue 27: a server running as root starts jobs as an unprivileged user (`nobody` unless
/// `executor.run_as` names one): `/etc/shadow` is unreadable to the job, and its directory is
/// still its own to write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_run_unprivileged() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    if protections(&app, &["unprivileged"]).await.is_none() {
        return;
    }
    let (out, err, _) = run(
        &app,
        "id -u; echo written > mine.txt && cat mine.txt; cat /etc/shadow > /dev/null 2>&1 && echo shadow-read || echo shadow-refused",
        JobStatus::Completed,
    )
    .await;
    let uid: u32 = out.lines().next().and_then(|l| l.trim().parse().ok()).unwrap_or(0);
    assert_ne!(uid, 0, "not root: {out} {err}");
    assert!(out.lines().any(|l| l == "written"), "{out} {err}");
    assert!(out.lines().any(|l| l == "shadow-refused"), "{out} {err}");
    app.stop().await;
}

/// Issue 27: a fork bomb of 10,000 processes stops at `executor.max_processes` — counted for
/// the job alone in its own pids cgroup, and named as the reason it failed — and ends with its
/// job: nothing of it is left on the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_bomb_stops_at_the_process_limit() {
    let Some(app) = TestApp::spawn_with(Db::Sqlite, |s| s.executor.max_processes = Some(64)).await else {
        return;
    };
    if protections(&app, &["unprivileged", "processes", "process_count_per_job"])
        .await
        .is_none()
    {
        return;
    }
    let bomb = "i=0; while [ $i -lt 10000 ]; do sleep 3141 & i=$((i+1)); done; echo all-started";
    let (out, err, done) = run(&app, bomb, JobStatus::Failed).await;
    assert!(!out.contains("all-started"), "10,000 processes started: {out}");
    assert!(err.to_lowercase().contains("fork"), "the shell could not fork: {err}");
    assert_eq!(done.error_code.as_deref(), Some("process_limit"), "{done:?}");
    assert!(
        done.error_message
            .as_deref()
            .is_some_and(|m| m.contains("64 processes") && m.contains("executor.max_processes")),
        "{done:?}"
    );
    // The next job is not short of processes: the count was the bomb's alone.
    let (out, _, _) = run(&app, "sh -c 'echo child'", JobStatus::Completed).await;
    assert_eq!(out.trim(), "child");
    assert_eq!(
        super::processes::gone("3141").await,
        0,
        "the bomb's processes outlived the job"
    );
    app.stop().await;
}

/// Issue 27: CPU time and open files are limited per job process; a job beyond its CPU time
/// fails naming the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_time_and_open_files_are_limited() {
    let Some(app) = TestApp::spawn_with(Db::Sqlite, |s| {
        s.executor.max_cpu_seconds = Some(1);
        s.executor.max_open_files = Some(64);
    })
    .await
    else {
        return;
    };
    if protections(&app, &["files"]).await.is_none() {
        return;
    }
    let (out, err, _) = run(&app, "ulimit -n; ulimit -t", JobStatus::Completed).await;
    assert_eq!(out.lines().collect::<Vec<_>>(), ["64", "1"], "{out} {err}");
    let (_, _, spin) = run(&app, "exec sh -c 'while :; do :; done'", JobStatus::Failed).await;
    assert_eq!(spin.error_code.as_deref(), Some("cpu_time_limit"), "{spin:?}");
    assert!(
        spin.error_message
            .as_deref()
            .is_some_and(|m| m.contains("1 CPU seconds") && m.contains("executor.max_cpu_seconds")),
        "{spin:?}"
    );
    app.stop().await;
}

/// Issue 27: a job that fills the disk file by file (each below the per-file limit) is ended
/// once its directory holds more than `executor.max_job_disk_bytes`, and its failure names the
/// limit; what reached the disk stays near the quota (one sampling interval of writing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_beyond_its_disk_quota_is_ended_naming_the_limit() {
    let Some(app) = TestApp::spawn_with(Db::Sqlite, |s| {
        s.executor.max_job_disk_bytes = Some(4 << 20);
        s.executor.max_file_bytes = Some(1 << 20);
    })
    .await
    else {
        return;
    };
    let (_, _, small) = run(
        &app,
        "head -c 1048575 /dev/urandom > a.bin; echo ok",
        JobStatus::Completed,
    )
    .await;
    assert_eq!(small.exit_code, Some(0));
    // 1 MiB less a byte per file, one file every 20 ms: 4 MiB after ~0.1 s, 2 GiB in ~40 s.
    let fill = "i=0; while [ $i -lt 2048 ]; do head -c 1048575 /dev/urandom > f$i.bin; i=$((i+1)); sleep 0.02; done";
    let (_, _, failed) = run(&app, fill, JobStatus::Failed).await;
    assert_eq!(failed.error_code.as_deref(), Some("disk_quota"), "{failed:?}");
    assert!(
        failed
            .error_message
            .as_deref()
            .is_some_and(|m| m.contains("4194304 bytes") && m.contains("executor.max_job_disk_bytes")),
        "{failed:?}"
    );
    let used = server::executor::local::disk::usage(&app.dir.path().join(format!("data/jobs/{}", failed.id)));
    assert!(
        used < 64 << 20,
        "the job stopped near its quota, not at 2 GiB: {used} bytes"
    );
    app.stop().await;
}

/// Issue 27: a server that is not root still gives each job its own PID, mount and network
/// namespace and root file system — inside a user namespace, where `job-init` is root only to
/// build them and the job holds no capability. The launcher runs here as `nobody` (as a server
/// started by an ordinary user would run it) when this test runs as root.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_not_root_isolates_jobs_in_a_user_namespace() {
    use server::executor::local::confine::{DEFAULT_READ_PATHS, JobExec, launcher_args};
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let base = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let work = base.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    let root = nix::unistd::geteuid().is_root();
    if root {
        std::os::unix::fs::chown(&work, Some(65534), Some(65534)).expect("chown");
    }
    let job = JobExec {
        work: work.clone(),
        read_paths: DEFAULT_READ_PATHS.iter().map(std::path::PathBuf::from).collect(),
        pid_namespace: true,
        ..JobExec::default()
    };
    // The build's binary lies beneath a directory `nobody` cannot enter (`/root/.cache`): give
    // it a path it can (a hard link, else a copy).
    let binary = base.path().join("cosmic-horizons");
    let built = env!("CARGO_BIN_EXE_cosmic-horizons");
    std::fs::hard_link(built, &binary)
        .or_else(|_| std::fs::copy(built, &binary).map(drop))
        .expect("launcher");
    let launcher = |tail: &[&str]| {
        let mut c = std::process::Command::new(&binary);
        c.args(launcher_args(&job, "job-exec"))
            .args(tail)
            .current_dir(&work)
            .env_clear();
        if root {
            c.uid(65534).gid(65534);
        }
        crate::common::output_within(&mut c, None, Duration::from_secs(60))
    };
    let probe = launcher(&["--probe"]);
    let report: Value = serde_json::from_slice(&probe.stdout).unwrap_or_default();
    let p = &report["protections"];
    let wanted = ["processes", "private_root", "network", "unprivileged"];
    if wanted.iter().any(|w| p[*w] != true) && std::env::var("CI").as_deref() != Ok("true") {
        eprintln!(
            "SKIPPED: no user namespaces for unprivileged users here: {report} {}",
            String::from_utf8_lossy(&probe.stderr)
        );
        return;
    }
    for w in wanted {
        assert_eq!(p[w], true, "{w}: {report} {}", String::from_utf8_lossy(&probe.stderr));
    }
    let out = launcher(&[
        "--",
        "/bin/sh",
        "-c",
        "echo visible=$(ls /proc | grep -c '^[0-9]'); [ -e /run ] && echo sees-run || echo no-run; \
         grep CapEff /proc/self/status; echo written > mine.txt && cat mine.txt",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text} {err}");
    let visible: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("visible="))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(usize::MAX);
    assert!(visible <= 5, "only the job's processes: {text}");
    for line in ["no-run", "CapEff:\t0000000000000000", "written"] {
        assert!(text.lines().any(|l| l == line), "expected `{line}`: {text} {err}");
    }
}
