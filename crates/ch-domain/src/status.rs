use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Lifecycle of a job. `Retrying` sits between a failed attempt and the next queueing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Submitted,
    Queued,
    Running,
    Retrying,
    Completed,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 7] = [
        JobStatus::Submitted,
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Retrying,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Submitted => "submitted",
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Retrying => "retrying",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled)
    }

    /// The single source of truth for legal transitions.
    pub fn can_transition_to(self, to: JobStatus) -> bool {
        use JobStatus::*;
        matches!(
            (self, to),
            (Submitted, Queued | Cancelled | Failed)
                | (Queued, Running | Cancelled | Failed)
                | (Running, Completed | Failed | Cancelled | Retrying)
                | (Retrying, Queued | Cancelled | Failed)
        )
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown job status '{0}' (expected one of submitted, queued, running, retrying, completed, failed, cancelled)"
)]
pub struct UnknownStatus(pub String);

impl FromStr for JobStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_states_have_no_exit() {
        for from in JobStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in JobStatus::ALL {
                assert!(!from.can_transition_to(to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn happy_path_is_legal() {
        use JobStatus::*;
        for (a, b) in [(Submitted, Queued), (Queued, Running), (Running, Completed)] {
            assert!(a.can_transition_to(b));
        }
        assert!(!Completed.can_transition_to(Running));
        assert!(!Queued.can_transition_to(Completed));
    }

    #[test]
    fn parses_round_trip() {
        for s in JobStatus::ALL {
            assert_eq!(s.as_str().parse::<JobStatus>(), Ok(s));
        }
        assert!("done".parse::<JobStatus>().is_err());
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use crate::job::tests::sample_job;
    use crate::status::JobStatus;

    fn any_status() -> impl Strategy<Value = JobStatus> {
        proptest::sample::select(JobStatus::ALL.to_vec())
    }

    proptest! {
        /// Random sequences of requested moves: legal ones apply, illegal ones are refused
        /// without changing the job, and terminal states are never left.
        #[test]
        fn random_sequences_respect_the_machine(steps in proptest::collection::vec(any_status(), 0..40)) {
            let mut job = sample_job();
            let mut reached_terminal = false;
            for to in steps {
                let before = job.clone();
                match job.transition(to, job.submitted_at) {
                    Ok(from) => {
                        prop_assert!(from.can_transition_to(to));
                        prop_assert!(!reached_terminal);
                        prop_assert_eq!(job.status, to);
                    }
                    Err(_) => {
                        prop_assert!(!before.status.can_transition_to(to));
                        prop_assert_eq!(&job, &before);
                    }
                }
                reached_terminal |= job.status.is_terminal();
                if job.status.is_terminal() {
                    prop_assert!(job.finished_at.is_some());
                }
            }
        }
    }
}
