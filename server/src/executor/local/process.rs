//! One job as one child process: limits, logs, progress, metrics, and the outcome.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;

use ch_api::ServiceError;
use ch_domain::{Job, JobStatus, Outcome};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, debug, info, info_span, warn};

use super::{ACTOR, LocalExecutor, sampler};
use crate::jobs::Change;

/// `sh` wrapper that applies the memory limit (address space, where the OS allows) before
/// running the job's command; `$1` is the limit in KiB, `$2` the command.
const WRAPPER: &str = r#"ulimit -v "$1" 2>/dev/null; exec /bin/sh -c "$2""#;
/// `PATH` of a job process: the system directories only.
const JOB_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// Parses a `PROGRESS <n>` line (`n` in 0–100, optionally fractional or with `%`).
pub(crate) fn parse_progress(line: &str) -> Option<u8> {
    let rest = line.trim().strip_prefix("PROGRESS")?;
    let n: f64 = rest.trim().trim_end_matches('%').trim().parse().ok()?;
    // Truncation is intended: 99.9 % is not done yet.
    (n.is_finite() && (0.0..=100.0).contains(&n)).then_some(n as u8)
}

enum Ended {
    Exited(std::process::ExitStatus),
    WaitFailed(std::io::Error),
    TimedOut,
    /// The job's directory grew beyond `executor.max_job_disk_bytes` (bytes used).
    DiskQuota(u64),
    Cancelled,
    Shutdown,
}

impl LocalExecutor {
    pub(super) async fn execute(&self, job: Job, cancel: oneshot::Receiver<()>, shutdown: CancellationToken) {
        let span = info_span!("job", job_id = %job.id, correlation_id = %job.correlation_id);
        async move {
            let outcome = match self.spawn_and_wait(&job, cancel, shutdown).await {
                Ok(Some(outcome)) => outcome,
                Ok(None) => return,
                Err(e) => Outcome::Failed {
                    exit_code: None,
                    error_code: "spawn_failed".into(),
                    message: format!("could not start the process: {e}"),
                    retryable: false,
                },
            };
            info!(?outcome, "job process ended");
            match self.lifecycle.apply(job.id, Change::Finish(outcome), ACTOR).await {
                Ok((done, _)) if done.status == JobStatus::Retrying => {
                    if let Err(e) = self
                        .lifecycle
                        .apply(job.id, Change::Transition(JobStatus::Queued), ACTOR)
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
        .instrument(span)
        .await;
    }

    /// Runs the process; `Ok(None)` when the job was cancelled (already recorded as such).
    async fn spawn_and_wait(
        &self,
        job: &Job,
        mut cancel: oneshot::Receiver<()>,
        shutdown: CancellationToken,
    ) -> std::io::Result<Option<Outcome>> {
        let dir = self.logs_dir.join(job.id.to_string());
        let work = dir.join("work");
        tokio::fs::create_dir_all(&work).await?;
        // Memory limit per node; a local job is one node.
        let mem_kib = (job.resources.memory_gb * 1024.0 * 1024.0).ceil().max(1024.0) as u64;
        // A pids cgroup of its own, where the host allows (else RLIMIT_NPROC applies); start-up
        // found a parent only for confined jobs with a process limit.
        let pids = match (&self.pids_parent, self.settings.max_processes) {
            (Some(parent), Some(max)) => match super::cgroup::PidsCgroup::create(parent, job.id, max) {
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
        let mut command = match &self.launcher {
            Some(launcher) => {
                let mut c = Command::new(&launcher.program);
                c.args(super::confine::launcher_args(
                    &launcher.job(work.clone(), mem_kib, pids.as_ref().map(|p| p.path().to_path_buf())),
                    "job-exec",
                ))
                .args(["--", "/bin/sh", "-c"])
                .arg(&job.command);
                c
            }
            None => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c")
                    .arg(WRAPPER)
                    .arg("ch-job")
                    .arg(mem_kib.to_string())
                    .arg(&job.command);
                c
            }
        };
        let child = command
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
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                if let Some(p) = pids {
                    p.remove().await;
                }
                return Err(e);
            }
        };
        let pid = child.id();
        info!(pid, "job process started");

        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let out_task = tokio::spawn(pump(
            stdout,
            dir.join("stdout.log"),
            Some((self.lifecycle.clone(), job.id)),
        ));
        let err_task = tokio::spawn(pump(stderr, dir.join("stderr.log"), None));
        let sampling = CancellationToken::new();
        let sampler_task = pid.map(|pid| {
            tokio::spawn(sampler::sample(
                self.lifecycle.store().clone(),
                job.id,
                pid,
                Duration::from_millis(self.settings.sample_interval_ms.max(100)),
                sampling.clone(),
            ))
        });

        let own = u64::from(job.resources.max_runtime_minutes) * 60;
        let limit = Duration::from_secs(self.settings.max_runtime_cap_secs.map_or(own, |cap| cap.min(own)));
        let quota = self.settings.max_job_disk_bytes;
        let disk = async {
            match quota {
                Some(q) => {
                    super::disk::exceeded(
                        dir.clone(),
                        q,
                        Duration::from_millis(self.settings.sample_interval_ms.max(100)),
                    )
                    .await
                }
                None => std::future::pending().await,
            }
        };
        let ended = tokio::select! {
            status = child.wait() => match status {
                Ok(s) => Ended::Exited(s),
                Err(e) => Ended::WaitFailed(e),
            },
            () = tokio::time::sleep(limit) => Ended::TimedOut,
            used = disk => Ended::DiskQuota(used),
            _ = &mut cancel => Ended::Cancelled,
            () = shutdown.cancelled() => Ended::Shutdown,
        };
        if !matches!(ended, Ended::Exited(_)) {
            self.terminate(&mut child, pid).await;
        }
        sampling.cancel();
        if let Some(t) = sampler_task {
            let _ = t.await;
        }
        // Output written before the exit is complete once the pipes close.
        let _ = out_task.await;
        let _ = err_task.await;

        let mut outcome = self.outcome_of(ended, limit.as_secs(), quota);
        if let Some(p) = pids {
            // A job that failed after a fork was refused for its process limit failed for it.
            if p.reached_limit()
                && let Some(Outcome::Failed {
                    error_code,
                    message,
                    retryable,
                    ..
                }) = outcome.as_mut()
                && matches!(error_code.as_str(), "exit_nonzero" | "killed_by_signal")
            {
                *error_code = "process_limit".into();
                *message = format!(
                    "reached the limit of {} processes and threads (executor.max_processes); {message}",
                    self.settings.max_processes.unwrap_or(0)
                );
                *retryable = false;
            }
            p.remove().await;
        }
        Ok(outcome)
    }

    /// What the way a job ended means (`None`: cancelled, already recorded).
    fn outcome_of(&self, ended: Ended, limit_secs: u64, quota: Option<u64>) -> Option<Outcome> {
        match ended {
            Ended::Exited(s) => Some(match s.code() {
                Some(0) => Outcome::Succeeded { exit_code: 0 },
                Some(code) => Outcome::Failed {
                    exit_code: Some(code),
                    error_code: "exit_nonzero".into(),
                    message: format!("process exited with code {code}"),
                    retryable: true,
                },
                None if s.signal() == Some(Signal::SIGXFSZ as i32) => Outcome::Failed {
                    exit_code: None,
                    error_code: "file_size_limit".into(),
                    message: format!(
                        "wrote a file larger than the limit of {} bytes (executor.max_file_bytes, at most executor.max_job_disk_bytes)",
                        self.settings.file_limit().unwrap_or(0)
                    ),
                    retryable: false,
                },
                None if s.signal() == Some(Signal::SIGXCPU as i32) => Outcome::Failed {
                    exit_code: None,
                    error_code: "cpu_time_limit".into(),
                    message: format!(
                        "used more than the limit of {} CPU seconds (executor.max_cpu_seconds)",
                        self.settings.max_cpu_seconds.unwrap_or(0)
                    ),
                    retryable: false,
                },
                None => Outcome::Failed {
                    exit_code: None,
                    error_code: "killed_by_signal".into(),
                    message: format!("process killed by signal {}", s.signal().unwrap_or(0)),
                    retryable: true,
                },
            }),
            Ended::WaitFailed(e) => Some(Outcome::Failed {
                exit_code: None,
                error_code: "wait_failed".into(),
                message: format!("lost track of the process: {e}"),
                retryable: false,
            }),
            Ended::DiskQuota(used) => Some(Outcome::Failed {
                exit_code: None,
                error_code: "disk_quota".into(),
                message: format!(
                    "used {used} bytes of disk, beyond the limit of {} bytes (executor.max_job_disk_bytes); process group killed",
                    quota.unwrap_or(0)
                ),
                retryable: false,
            }),
            Ended::TimedOut => Some(Outcome::Failed {
                exit_code: None,
                error_code: "timeout".into(),
                message: format!("exceeded its runtime limit of {limit_secs} s; process group killed"),
                retryable: true,
            }),
            Ended::Shutdown => Some(Outcome::Failed {
                exit_code: None,
                error_code: "server_shutdown".into(),
                message: "the server shut down while this job was running; process group killed".into(),
                retryable: false,
            }),
            Ended::Cancelled => None,
        }
    }

    /// SIGTERM to the whole process group, SIGKILL after the grace period.
    async fn terminate(&self, child: &mut Child, pid: Option<u32>) {
        if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()) {
            let group = Pid::from_raw(pid);
            let _ = killpg(group, Signal::SIGTERM);
            let grace = Duration::from_millis(self.settings.kill_grace_ms);
            if tokio::time::timeout(grace, child.wait()).await.is_err() {
                let _ = killpg(group, Signal::SIGKILL);
            }
            // Children of the job that outlived the shell.
            let _ = killpg(group, Signal::SIGKILL);
        }
        let _ = child.kill().await;
    }
}

/// Longest piece of output held in memory at once: a longer line (a job may print gigabytes
/// without a newline) is copied in pieces of this size, so memory stays flat.
const MAX_LINE: u64 = 64 * 1024;

/// Reads the next line, or the next [`MAX_LINE`] bytes of a longer one, into `line` (cleared
/// first). Returns the number of bytes read; 0 at the end of the stream.
async fn read_chunk<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R, line: &mut Vec<u8>) -> std::io::Result<usize> {
    use tokio::io::AsyncReadExt;
    line.clear();
    reader.take(MAX_LINE).read_until(b'\n', line).await
}

/// Copies one output stream to its log file line by line; for stdout, reports `PROGRESS`.
async fn pump(
    stream: Option<impl AsyncRead + Unpin>,
    path: std::path::PathBuf,
    progress: Option<(crate::jobs::Lifecycle, uuid::Uuid)>,
) {
    let Some(stream) = stream else { return };
    let mut file = match tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .await
    {
        Ok(f) => f,
        Err(e) => {
            warn!(error = %e, path = %path.display(), "cannot open log file");
            return;
        }
    };
    let mut reader = BufReader::new(stream);
    let mut line = Vec::new();
    loop {
        match read_chunk(&mut reader, &mut line).await {
            Ok(0) => break,
            Ok(_) => {
                if let Err(e) = file.write_all(&line).await {
                    warn!(error = %e, "writing log failed");
                }
                let _ = file.flush().await;
                if let Some((lifecycle, id)) = &progress
                    && let Some(p) = parse_progress(&String::from_utf8_lossy(&line))
                    && let Err(e) = lifecycle.apply(*id, Change::Progress(p), ACTOR).await
                {
                    debug!(error = %e, "progress not recorded");
                }
            }
            Err(e) => {
                warn!(error = %e, "reading process output failed");
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_LINE, parse_progress, read_chunk};

    #[tokio::test]
    async fn a_line_without_end_is_read_in_bounded_pieces() {
        use tokio::io::AsyncReadExt;
        let total = 1_000_000u64;
        let mut reader = tokio::io::BufReader::new(tokio::io::repeat(b'x').take(total).chain(&b"\nPROGRESS 5\n"[..]));
        let mut line = Vec::new();
        let (mut seen, mut pieces) = (0u64, Vec::new());
        loop {
            let n = read_chunk(&mut reader, &mut line).await.expect("read");
            if n == 0 {
                break;
            }
            assert!(line.len() as u64 <= MAX_LINE && line.capacity() as u64 <= 2 * MAX_LINE);
            seen += n as u64;
            pieces.push(line.clone());
        }
        assert_eq!(seen, total + 12);
        assert_eq!(
            pieces.last().map(|p| parse_progress(&String::from_utf8_lossy(p))),
            Some(Some(5))
        );
    }

    #[test]
    fn progress_lines() {
        assert_eq!(parse_progress("PROGRESS 50"), Some(50));
        assert_eq!(parse_progress("PROGRESS 99.9%\n"), Some(99));
        assert_eq!(parse_progress("  PROGRESS 100"), Some(100));
        assert_eq!(parse_progress("PROGRESS 101"), None);
        assert_eq!(parse_progress("PROGRESS -1"), None);
        assert_eq!(parse_progress("PROGRESS NaN"), None);
        assert_eq!(parse_progress("progress 5"), None);
        assert_eq!(parse_progress("done"), None);
    }
}
