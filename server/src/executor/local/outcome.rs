//! What the way a local job ended means for its record: exit codes, the signals the kernel
//! sends at a resource limit, the executor's own limits, and the process limit of its cgroup.

use ch_domain::Outcome;
use nix::sys::signal::Signal;

use super::cgroup::PidsCgroup;
use super::launched::JobExit;
use crate::settings::ExecutorSettings;

/// How the watch over a job's process ended.
pub(super) enum Ended {
    /// The job's command ended this way.
    Exited(JobExit),
    /// The launcher is gone and left no exit status (`detail` says how it was lost).
    Lost(String),
    TimedOut,
    /// The job's directory grew beyond `executor.max_job_disk_bytes` (bytes used).
    DiskQuota(u64),
    /// A user cancelled it (already recorded).
    Cancelled,
    /// This server is shutting down; the job goes on without it.
    Detached,
}

/// The outcome to record for `ended` (`None`: nothing to record). `limit_secs` is the runtime
/// limit the job had.
pub(super) fn outcome_of(settings: &ExecutorSettings, ended: Ended, limit_secs: u64) -> Option<Outcome> {
    let failed = |error_code: &str, message: String, retryable: bool| Outcome::Failed {
        exit_code: None,
        error_code: error_code.into(),
        message,
        retryable,
    };
    Some(match ended {
        Ended::Exited(JobExit::Code(0)) => Outcome::Succeeded { exit_code: 0 },
        Ended::Exited(JobExit::Code(code)) => Outcome::Failed {
            exit_code: Some(code),
            error_code: "exit_nonzero".into(),
            message: format!("process exited with code {code}"),
            retryable: true,
        },
        Ended::Exited(JobExit::Signal(s)) if s == Signal::SIGXFSZ as i32 => failed(
            "file_size_limit",
            format!(
                "wrote a file larger than the limit of {} bytes (executor.max_file_bytes, at most executor.max_job_disk_bytes)",
                settings.file_limit().unwrap_or(0)
            ),
            false,
        ),
        Ended::Exited(JobExit::Signal(s)) if s == Signal::SIGXCPU as i32 => failed(
            "cpu_time_limit",
            format!(
                "used more than the limit of {} CPU seconds (executor.max_cpu_seconds)",
                settings.max_cpu_seconds.unwrap_or(0)
            ),
            false,
        ),
        Ended::Exited(JobExit::Signal(s)) => failed("killed_by_signal", format!("process killed by signal {s}"), true),
        // Its side effects are unknown: not retried automatically.
        Ended::Lost(detail) => failed("executor_lost", detail, false),
        Ended::DiskQuota(used) => failed(
            "disk_quota",
            format!(
                "used {used} bytes of disk, beyond the limit of {} bytes (executor.max_job_disk_bytes); process group killed",
                settings.max_job_disk_bytes.unwrap_or(0)
            ),
            false,
        ),
        Ended::TimedOut => failed(
            "timeout",
            format!("exceeded its runtime limit of {limit_secs} s; process group killed"),
            true,
        ),
        Ended::Cancelled | Ended::Detached => return None,
    })
}

/// A job that failed after a fork was refused for its cgroup's process limit failed for it.
pub(super) fn blame_process_limit(settings: &ExecutorSettings, outcome: &mut Option<Outcome>, pids: &PidsCgroup) {
    if pids.reached_limit()
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
            settings.max_processes.unwrap_or(0)
        );
        *retryable = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_and_limits_read_as_outcomes() {
        let s = ExecutorSettings::default();
        let code = |e| match outcome_of(&s, e, 60) {
            Some(Outcome::Failed { error_code, .. }) => error_code,
            Some(Outcome::Succeeded { .. }) => "ok".into(),
            None => "none".into(),
        };
        assert_eq!(code(Ended::Exited(JobExit::Code(0))), "ok");
        assert_eq!(code(Ended::Exited(JobExit::Code(3))), "exit_nonzero");
        assert_eq!(
            code(Ended::Exited(JobExit::Signal(Signal::SIGXFSZ as i32))),
            "file_size_limit"
        );
        assert_eq!(
            code(Ended::Exited(JobExit::Signal(Signal::SIGXCPU as i32))),
            "cpu_time_limit"
        );
        assert_eq!(code(Ended::Exited(JobExit::Signal(9))), "killed_by_signal");
        assert_eq!(code(Ended::Lost("gone".into())), "executor_lost");
        assert_eq!(code(Ended::TimedOut), "timeout");
        assert_eq!(code(Ended::DiskQuota(10)), "disk_quota");
        assert_eq!(code(Ended::Cancelled), "none");
        assert_eq!(code(Ended::Detached), "none");
    }
}
