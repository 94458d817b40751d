//! What lets a local job outlive the server that started it, as a Slurm job outlives
//! `slurmctld`: the job is started under a small `/bin/sh` recorder that stays its parent,
//! writes the job's exit code to `<job dir>/exit_status` when it ends, and exits. The job's
//! output goes straight to `stdout.log` and `stderr.log` (files, not pipes to the server), and
//! the server notes the recorder's identity in `launcher.pid`. A restarted server finds each
//! job it left running in one of three states: the recorder still runs (re-attach), the
//! recorder wrote the exit status (record the outcome and end time), or neither (the launcher
//! is gone: the job is lost).
//!
//! Linux (`/proc`): elsewhere a recorder is never found alive, so jobs left running are
//! settled from their exit status or reported lost.

use std::path::Path;
use std::time::SystemTime;

use chrono::{DateTime, Utc};

/// The recorder: `$1` is the exit-status file, the rest the launcher's command. It runs the
/// command (not `exec`: it outlives it), writes the command's exit code — a shell's, 128 + N
/// for signal N — atomically (temporary file, then `mv`), and exits with it. The signals a
/// cancel sends to the job's process group are caught, not ignored (an ignored signal would be
/// ignored by the job too), so the recorder waits for the job through its grace period.
pub(super) const RECORDER: &str = r#"s="$1"; shift; trap : TERM INT HUP QUIT USR1 USR2
"$@"; c=$?; printf '%s\n' "$c" > "$s.tmp" && mv -f "$s.tmp" "$s"; exit "$c""#;

/// The job's exit code, written by [`RECORDER`].
pub(super) const EXIT_STATUS: &str = "exit_status";
/// The recorder's `<pid> <start time>`, written by the server after starting it and removed
/// once the job's outcome is recorded.
pub(super) const LAUNCHER_PID: &str = "launcher.pid";

/// How a job's process ended, as a shell reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JobExit {
    Code(i32),
    Signal(i32),
}

impl JobExit {
    /// A shell's exit code: 129–159 is 128 + a signal's number (the convention `job-init` and
    /// every POSIX shell follow), anything else an exit code.
    pub(super) fn from_shell(code: i32) -> JobExit {
        if (129..160).contains(&code) {
            JobExit::Signal(code - 128)
        } else {
            JobExit::Code(code)
        }
    }
}

/// The exit status the recorder wrote in `dir`, with the time it was written (the job's end);
/// `None` while the job runs, or when the recorder died before writing it.
pub(super) fn exit_status(dir: &Path) -> Option<(JobExit, DateTime<Utc>)> {
    let path = dir.join(EXIT_STATUS);
    let code: i32 = std::fs::read_to_string(&path).ok()?.trim().parse().ok()?;
    let at = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| SystemTime::now());
    Some((JobExit::from_shell(code), at.into()))
}

/// A process, told apart from a later one that reuses its pid by its start time (clock ticks
/// after boot, field 22 of `/proc/<pid>/stat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ProcessId {
    pub pid: i32,
    start: u64,
}

impl ProcessId {
    /// The process `pid` as it is now; `None` when there is none (or it is a zombie).
    pub(super) fn of(pid: i32) -> Option<ProcessId> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (state, start) = parse_stat(&stat)?;
        (state != 'Z' && state != 'X').then_some(ProcessId { pid, start })
    }

    /// Whether this very process still runs.
    pub(super) fn alive(&self) -> bool {
        ProcessId::of(self.pid).is_some_and(|now| now == *self)
    }

    /// Notes this process as the launcher of the job in `dir`.
    pub(super) fn save(&self, dir: &Path) -> std::io::Result<()> {
        let tmp = dir.join(format!("{LAUNCHER_PID}.tmp"));
        std::fs::write(&tmp, format!("{} {}\n", self.pid, self.start))?;
        std::fs::rename(tmp, dir.join(LAUNCHER_PID))
    }

    /// The launcher noted in `dir`, if any.
    pub(super) fn saved(dir: &Path) -> Option<ProcessId> {
        let text = std::fs::read_to_string(dir.join(LAUNCHER_PID)).ok()?;
        let mut parts = text.split_whitespace();
        let pid = parts.next()?.parse().ok()?;
        let start = parts.next()?.parse().ok()?;
        Some(ProcessId { pid, start })
    }
}

/// Forgets the launcher of the job in `dir` (its outcome is recorded).
pub(super) fn forget(dir: &Path) {
    match std::fs::remove_file(dir.join(LAUNCHER_PID)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            tracing::warn!(error = %e, dir = %dir.display(), "could not remove the job's launcher.pid");
        }
        _ => {}
    }
}

/// The state (field 3) and start time (field 22) of a `/proc/<pid>/stat` line. The command
/// name (field 2) is in parentheses and may hold spaces and parentheses: fields are counted
/// from the last `)`.
fn parse_stat(stat: &str) -> Option<(char, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    // Fields 4 to 21 lie between the state and the start time.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let stat = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_stat(stat), Some(('S', 987654)));
        assert_eq!(parse_stat("1 (x) Z"), None);
    }

    #[test]
    fn shell_codes_above_128_name_signals() {
        assert_eq!(JobExit::from_shell(0), JobExit::Code(0));
        assert_eq!(JobExit::from_shell(128), JobExit::Code(128));
        assert_eq!(JobExit::from_shell(137), JobExit::Signal(9));
        assert_eq!(JobExit::from_shell(159), JobExit::Signal(31));
        assert_eq!(JobExit::from_shell(200), JobExit::Code(200));
    }

    #[test]
    fn this_process_is_alive_and_its_record_round_trips() {
        let me = ProcessId::of(std::process::id() as i32).expect("this process");
        assert!(me.alive());
        let dir = tempfile::tempdir().expect("tempdir");
        me.save(dir.path()).expect("save");
        assert_eq!(ProcessId::saved(dir.path()), Some(me));
        forget(dir.path());
        assert_eq!(ProcessId::saved(dir.path()), None);
        let other = ProcessId {
            start: me.start + 1,
            ..me
        };
        assert!(!other.alive(), "a reused pid is another process");
    }

    #[test]
    fn the_recorder_writes_the_exit_code_and_exits_with_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let status = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(RECORDER)
            .arg("ch-job")
            .arg(dir.path().join(EXIT_STATUS))
            .args(["/bin/sh", "-c", "kill -TERM $$"])
            .status()
            .expect("run");
        assert_eq!(status.code(), Some(143));
        let (exit, at) = exit_status(dir.path()).expect("written");
        assert_eq!(exit, JobExit::Signal(15));
        assert!(at <= Utc::now());
    }
}
