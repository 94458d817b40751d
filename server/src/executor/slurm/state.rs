//! What Slurm says about a job, and what it means for ours. `squeue` knows the jobs the
//! controller holds (PENDING with a reason such as `Priority` or `Resources`, RUNNING,
//! COMPLETING); `sacct` (accounting, which trails the controller by up to a second) knows how
//! they ended: the final state and `ExitCode` as `code:signal`.

use ch_domain::Outcome;

/// One line of `squeue -h -t all -o %i|%T|%r`, or an allocation's line of `sacct -n -P -o`
/// [`super::accounting::SACCT_FORMAT`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Slurm's job id.
    pub slurm_job_id: u64,
    /// The state's first word (`CANCELLED by 0` → `CANCELLED`).
    pub state: String,
    /// The reason (`Priority`, `Resources`, …), empty when none (Slurm's `None`).
    pub reason: String,
    /// `ExitCode` as `code:signal` (sacct only).
    pub exit: Option<(i32, i32)>,
}

/// What a state means for our job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Meaning {
    /// Waiting in Slurm's queue (ours stays `queued`).
    Pending,
    /// Allocated and running (or finishing, or suspended).
    Running,
    /// Ended (completed, failed, timed out, cancelled…): [`outcome`] says how.
    Ended,
    /// A state this executor does not know; the job is left as it is.
    Unknown,
}

/// Reads `squeue` lines (`%i|%T|%r`).
pub fn parse_squeue(out: &str) -> Vec<Seen> {
    out.lines()
        .filter_map(|line| {
            let mut f = line.trim().split('|');
            let id = f.next()?.trim().parse().ok()?;
            let state = first_word(f.next()?);
            let reason = reason_of(f.next().unwrap_or(""));
            Some(Seen {
                slurm_job_id: id,
                state,
                reason,
                exit: None,
            })
        })
        .collect()
}

/// Reads the allocations' lines of `sacct -P` (`JobIDRaw|State|ExitCode|Reason|…`); the
/// steps' lines (`<id>.batch`) are skipped.
pub fn parse_sacct(out: &str) -> Vec<Seen> {
    out.lines()
        .filter_map(|line| {
            let mut f = line.trim().split('|');
            let id = f.next()?.trim().parse().ok()?;
            let state = first_word(f.next()?);
            let exit = f.next().and_then(|e| {
                let (c, s) = e.trim().split_once(':')?;
                Some((c.parse().ok()?, s.parse().ok()?))
            });
            let reason = reason_of(f.next().unwrap_or(""));
            Some(Seen {
                slurm_job_id: id,
                state,
                reason,
                exit,
            })
        })
        .collect()
}

/// Slurm's reason, empty for its `None` (no reason).
fn reason_of(s: &str) -> String {
    match s.trim() {
        "None" => String::new(),
        r => r.to_owned(),
    }
}

fn first_word(s: &str) -> String {
    s.split_whitespace().next().unwrap_or("").to_owned()
}

/// What `state` (a Slurm job state) means for our job.
pub fn meaning(state: &str) -> Meaning {
    match state {
        "PENDING" | "CONFIGURING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED" | "RESV_DEL_HOLD"
        | "SUSPENDED_PENDING" => Meaning::Pending,
        "RUNNING" | "COMPLETING" | "SUSPENDED" | "STOPPED" | "RESIZING" | "SIGNALING" | "STAGE_OUT" => Meaning::Running,
        "COMPLETED" | "FAILED" | "TIMEOUT" | "CANCELLED" | "NODE_FAIL" | "OUT_OF_MEMORY" | "PREEMPTED"
        | "BOOT_FAIL" | "DEADLINE" | "REVOKED" | "SPECIAL_EXIT" => Meaning::Ended,
        _ => Meaning::Unknown,
    }
}

/// The outcome of a job Slurm reports ended as `seen` (from `sacct`), with Slurm's words kept
/// in the message; `limit_minutes` is the time limit it was given.
pub fn outcome(seen: &Seen, limit_minutes: u32) -> Outcome {
    let (code, signal) = seen.exit.unwrap_or((0, 0));
    let failed = |error_code: &str, message: String, retryable: bool| Outcome::Failed {
        exit_code: (code != 0 || signal == 0)
            .then_some(code)
            .filter(|_| seen.exit.is_some()),
        error_code: error_code.into(),
        message: format!("{message} (Slurm job {}: {})", seen.slurm_job_id, slurm_words(seen)),
        retryable,
    };
    match seen.state.as_str() {
        "COMPLETED" if code == 0 => Outcome::Succeeded { exit_code: 0 },
        "TIMEOUT" => failed(
            "timeout",
            format!("exceeded its time limit of {limit_minutes} min; Slurm ended it"),
            true,
        ),
        "OUT_OF_MEMORY" => failed("out_of_memory", "used more memory than it requested".into(), false),
        "NODE_FAIL" | "BOOT_FAIL" => failed("node_fail", "a node it ran on failed".into(), true),
        "PREEMPTED" => failed("preempted", "preempted by a job of higher priority".into(), true),
        "CANCELLED" => failed(
            "cancelled_in_slurm",
            "cancelled in Slurm, not through this server".into(),
            false,
        ),
        "DEADLINE" => failed("deadline", "missed its deadline".into(), false),
        _ if signal != 0 => failed("killed_by_signal", format!("killed by signal {signal}"), true),
        _ => failed("exit_nonzero", format!("exited with code {code}"), true),
    }
}

/// Slurm's own words: state, exit code and reason, as in `sacct`.
fn slurm_words(seen: &Seen) -> String {
    let mut s = seen.state.clone();
    if let Some((c, sig)) = seen.exit {
        s.push_str(&format!(", ExitCode {c}:{sig}"));
    }
    if !seen.reason.is_empty() && seen.reason != "None" {
        s.push_str(&format!(", reason {}", seen.reason));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(line: &str) -> (String, Option<i32>, String) {
        let seen = parse_sacct(line).pop().expect("a line");
        match outcome(&seen, 5) {
            Outcome::Succeeded { exit_code } => ("ok".into(), Some(exit_code), String::new()),
            Outcome::Failed {
                exit_code,
                error_code,
                message,
                ..
            } => (error_code, exit_code, message),
        }
    }

    #[test]
    fn sacct_lines_read_as_outcomes_with_slurms_words() {
        assert_eq!(code("3|COMPLETED|0:0|None").0, "ok");
        let (c, exit, msg) = code("4|FAILED|3:0|NonZeroExitCode");
        assert_eq!((c.as_str(), exit), ("exit_nonzero", Some(3)));
        assert!(
            msg.contains("Slurm job 4: FAILED, ExitCode 3:0, reason NonZeroExitCode"),
            "{msg}"
        );
        let (c, _, msg) = code("5|TIMEOUT|0:0|TimeLimit");
        assert_eq!(c, "timeout");
        assert!(msg.contains("time limit of 5 min") && msg.contains("TIMEOUT"), "{msg}");
        assert_eq!(code("6|OUT_OF_MEMORY|0:125|OutOfMemory").0, "out_of_memory");
        assert_eq!(code("7|CANCELLED by 0|0:15|None").0, "cancelled_in_slurm");
        assert_eq!(code("8|NODE_FAIL|0:0|None").0, "node_fail");
        assert_eq!(code("9|PREEMPTED|0:0|None").0, "preempted");
        let (c, exit, _) = code("10|FAILED|0:9|None");
        assert_eq!((c.as_str(), exit), ("killed_by_signal", None));
    }

    #[test]
    fn squeue_states_and_reasons() {
        let seen = parse_squeue("12|PENDING|Resources\n13|RUNNING|None\nnot a line\n14|COMPLETING|None\n");
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[1].reason, "", "Slurm's None is no reason");
        assert_eq!((seen[0].slurm_job_id, seen[0].reason.as_str()), (12, "Resources"));
        assert_eq!(meaning(&seen[0].state), Meaning::Pending);
        assert_eq!(meaning(&seen[1].state), Meaning::Running);
        assert_eq!(meaning(&seen[2].state), Meaning::Running);
        assert_eq!(meaning("TIMEOUT"), Meaning::Ended);
        assert_eq!(meaning("CANCELLED"), Meaning::Ended);
        assert_eq!(meaning("SOMETHING_NEW"), Meaning::Unknown);
    }
}
