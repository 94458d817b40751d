//! One job as one process tree: started under the recorder ([`launched`]), watched for its
//! end, its limits, a cancel and its progress, and left running when the server shuts down
//! (a restarted server re-attaches to it, [`LocalExecutor::resume`]).

use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use ch_api::ServiceError;
use ch_domain::{Job, JobStatus, Outcome};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

use super::cgroup::PidsCgroup;
use super::launched::{self, JobExit, ProcessId};
use super::outcome::{Ended, blame_process_limit, outcome_of};
use super::{ACTOR, LocalExecutor, sampler};
use crate::executor::progress;
use crate::jobs::Change;

/// `sh` wrapper that applies the memory limit (address space, where the OS allows) before
/// running the job's command; `$1` is the limit in KiB, `$2` the command.
const WRAPPER: &str = r#"ulimit -v "$1" 2>/dev/null; exec /bin/sh -c "$2""#;
/// `PATH` of a job process: the system directories only.
const JOB_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// How often a re-attached launcher (not this server's child) is checked for its end.
const ADOPTED_POLL: Duration = Duration::from_millis(200);

/// The job's launcher: a child of this server, or one a previous server started.
enum Launcher {
    Child(Child),
    Adopted(ProcessId),
}

impl Launcher {
    fn pid(&self) -> Option<i32> {
        match self {
            Launcher::Child(c) => c.id().and_then(|p| i32::try_from(p).ok()),
            Launcher::Adopted(p) => Some(p.pid),
        }
    }

    /// Waits for the launcher to end; its status when it is this server's child.
    async fn wait(&mut self) -> std::io::Result<Option<ExitStatus>> {
        match self {
            Launcher::Child(c) => c.wait().await.map(Some),
            Launcher::Adopted(p) => {
                while p.alive() {
                    tokio::time::sleep(ADOPTED_POLL).await;
                }
                Ok(None)
            }
        }
    }
}

impl LocalExecutor {
    /// Watches `job` to its end (or until this server shuts down): started here now, or — with
    /// `adopted` — started by a previous server and re-attached to.
    pub(super) async fn attend(
        &self,
        job: Job,
        adopted: Option<ProcessId>,
        cancel: oneshot::Receiver<()>,
        shutdown: CancellationToken,
    ) {
        let span = info_span!("job", job_id = %job.id, correlation_id = %job.correlation_id);
        async move {
            let started = match adopted {
                Some(launcher) => {
                    info!(
                        pid = launcher.pid,
                        "re-attached to a job left running by a previous server"
                    );
                    let pids = self
                        .pids_parent
                        .as_deref()
                        .and_then(|p| super::cgroup::leftover(p, job.id));
                    Ok((Launcher::Adopted(launcher), pids, progress::From::CatchUp))
                }
                None => self.launch(&job).await,
            };
            let outcome = match started {
                Ok((launcher, pids, from)) => self.watch(&job, launcher, pids, from, cancel, shutdown).await,
                Err(e) => {
                    launched::forget(&self.job_dir(job.id));
                    Some(Outcome::Failed {
                        exit_code: None,
                        error_code: "spawn_failed".into(),
                        message: format!("could not start the process: {e}"),
                        retryable: false,
                    })
                }
            };
            if let Some(outcome) = outcome {
                self.record(job.id, Change::Finish(outcome)).await;
            }
        }
        .instrument(span)
        .await;
    }

    /// Records how a job ended; a job to be retried goes back to the queue.
    pub(super) async fn record(&self, id: uuid::Uuid, change: Change) {
        info!(?change, "job process ended");
        match self.lifecycle.apply(id, change, ACTOR).await {
            Ok((done, _)) if done.status == JobStatus::Retrying => {
                if let Err(e) = self
                    .lifecycle
                    .apply(id, Change::Transition(JobStatus::Queued), ACTOR)
                    .await
                {
                    warn!(error = %e, "re-queueing failed");
                }
                self.running.wake();
            }
            Ok(_) => {}
            // Already cancelled by a user: the record stays cancelled.
            Err(ServiceError::Conflict(msg)) => debug!(%msg, "outcome not recorded"),
            Err(e) => warn!(error = %e, "recording outcome failed"),
        }
    }

    /// Starts the job's launcher under the recorder, its output going to its log files; also
    /// where this attempt's output starts in the stdout log (a retry appends to it).
    async fn launch(&self, job: &Job) -> std::io::Result<(Launcher, Option<PidsCgroup>, progress::From)> {
        let dir = self.job_dir(job.id);
        let work = dir.join("work");
        tokio::fs::create_dir_all(&work).await?;
        // A retry runs in the same directory: the previous attempt's status is not this one's.
        match tokio::fs::remove_file(dir.join(launched::EXIT_STATUS)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let log = |name: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(name))
        };
        let (stdout, stderr) = (log("stdout.log")?, log("stderr.log")?);
        let before = stdout.metadata()?.len();
        // Memory limit per node; a local job is one node.
        let mem_kib = (job.resources.memory_gb * 1024.0 * 1024.0).ceil().max(1024.0) as u64;
        // A pids cgroup of its own, where the host allows (else RLIMIT_NPROC applies); start-up
        // found a parent only for confined jobs with a process limit.
        let pids = match (&self.pids_parent, self.settings.max_processes) {
            (Some(parent), Some(max)) => match PidsCgroup::create(parent, job.id, max) {
                Ok(c) => Some(c),
                Err(e) => {
                    warn!(error = %e, "no pids cgroup for this job; the run-as user's process limit applies");
                    None
                }
            },
            _ => None,
        };
        // The launcher sets the limits itself and execs the job's shell: one exec fewer per
        // job than the wrapper (process starts are most of a short job's cost).
        let launcher: Vec<OsString> = match &self.launcher {
            Some(launcher) => {
                let mut args = vec![launcher.program.clone().into_os_string()];
                args.extend(super::confine::launcher_args(
                    &launcher.job(work.clone(), mem_kib, pids.as_ref().map(|p| p.path().to_path_buf())),
                    "job-exec",
                ));
                args.extend(["--".into(), "/bin/sh".into(), "-c".into(), job.command.clone().into()]);
                args
            }
            None => ["/bin/sh", "-c", WRAPPER, "ch-job"]
                .into_iter()
                .map(OsString::from)
                .chain([mem_kib.to_string().into(), job.command.clone().into()])
                .collect(),
        };
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg(launched::RECORDER)
            .arg("ch-job")
            .arg(dir.join(launched::EXIT_STATUS))
            .args(launcher)
            .current_dir(&work)
            // A job sees none of the server's environment (database URL, secrets): only a
            // minimal one of its own, as a batch system gives.
            .env_clear()
            .env("PATH", JOB_PATH)
            .env("HOME", &work)
            .env("TMPDIR", &work)
            .env("LANG", "C.UTF-8")
            .env("USER", &job.owner)
            .env("CH_PROJECT", &job.project)
            .env("CH_JOB_ID", job.id.to_string())
            .env("CH_CORRELATION_ID", &job.correlation_id)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            // Its own process group: a signal to the server's group (Ctrl-C) does not reach it.
            .process_group(0)
            // It outlives this server.
            .kill_on_drop(false)
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) => {
                if let Some(p) = pids {
                    p.remove().await;
                }
                return Err(e);
            }
        };
        let launcher = Launcher::Child(child);
        info!(pid = launcher.pid(), "job process started");
        // Gone already when it cannot be read: nothing to re-attach to.
        if let Some(id) = launcher.pid().and_then(ProcessId::of)
            && let Err(e) = id.save(&dir)
        {
            warn!(error = %e, "could not note the job's launcher; a restart will report the job lost");
        }
        Ok((launcher, pids, progress::From::Offset(before)))
    }

    /// Watches a started job until it ends, hits a limit, is cancelled, or this server shuts
    /// down; returns the outcome to record (`None`: cancelled, or left running).
    async fn watch(
        &self,
        job: &Job,
        mut launcher: Launcher,
        pids: Option<PidsCgroup>,
        from: progress::From,
        mut cancel: oneshot::Receiver<()>,
        shutdown: CancellationToken,
    ) -> Option<Outcome> {
        let dir = self.job_dir(job.id);
        let interval = Duration::from_millis(self.settings.sample_interval_ms.max(100));
        let watched = CancellationToken::new();
        let follower = tokio::spawn(progress::follow(
            dir.join("stdout.log"),
            from,
            self.lifecycle.clone(),
            job.id,
            ACTOR,
            watched.clone(),
        ));
        let sampler_task = launcher.pid().and_then(|p| u32::try_from(p).ok()).map(|pid| {
            tokio::spawn(sampler::sample(
                self.lifecycle.store().clone(),
                job.id,
                pid,
                interval,
                watched.clone(),
            ))
        });

        // The limit counts from the job's start, whichever server started it.
        let limit = self.limit(job);
        let elapsed = job
            .started_at
            .and_then(|t| (chrono::Utc::now() - t).to_std().ok())
            .unwrap_or_default();
        let disk = async {
            match self.settings.max_job_disk_bytes {
                Some(q) => super::disk::exceeded(dir.clone(), q, interval).await,
                None => std::future::pending().await,
            }
        };
        let ended = tokio::select! {
            status = launcher.wait() => match status {
                Ok(status) => match launched::exit_status(&dir).map(|(exit, _)| exit).or_else(|| status.and_then(exit_of)) {
                    Some(exit) => Ended::Exited(exit),
                    None => Ended::Lost("the job's launcher ended without recording its exit status".into()),
                },
                Err(e) => Ended::Lost(format!("lost track of the process: {e}")),
            },
            () = tokio::time::sleep(limit.saturating_sub(elapsed)) => Ended::TimedOut,
            used = disk => Ended::DiskQuota(used),
            _ = &mut cancel => Ended::Cancelled,
            () = shutdown.cancelled() => Ended::Detached,
        };
        if matches!(ended, Ended::TimedOut | Ended::DiskQuota(_) | Ended::Cancelled) {
            self.terminate(&mut launcher).await;
        }
        // Output written before the end is in the log: the follower reads it to the end.
        watched.cancel();
        if let Some(t) = sampler_task {
            let _ = t.await;
        }
        let _ = follower.await;
        if matches!(ended, Ended::Detached) {
            info!("left running: a restarted server re-attaches to it");
            return None;
        }
        let mut outcome = outcome_of(&self.settings, ended, limit.as_secs());
        if let Some(p) = pids {
            blame_process_limit(&self.settings, &mut outcome, &p);
            p.remove().await;
        }
        launched::forget(&dir);
        outcome
    }

    /// SIGTERM to the whole process group, SIGKILL after the grace period.
    async fn terminate(&self, launcher: &mut Launcher) {
        if let Some(pid) = launcher.pid() {
            let group = Pid::from_raw(pid);
            let _ = killpg(group, Signal::SIGTERM);
            let grace = Duration::from_millis(self.settings.kill_grace_ms);
            if tokio::time::timeout(grace, launcher.wait()).await.is_err() {
                let _ = killpg(group, Signal::SIGKILL);
            }
            // Children of the job that outlived the shell.
            let _ = killpg(group, Signal::SIGKILL);
        }
        if let Launcher::Child(c) = launcher {
            let _ = c.kill().await;
        }
    }
}

/// The recorder's own status, when it ended without writing the job's (killed itself).
fn exit_of(status: ExitStatus) -> Option<JobExit> {
    status
        .code()
        .map(JobExit::from_shell)
        .or_else(|| status.signal().map(JobExit::Signal))
}
