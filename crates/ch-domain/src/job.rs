use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::DomainError;
use crate::notification_kind::NotificationKind;
use crate::status::JobStatus;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent];

    /// Higher runs first.
    pub fn rank(self) -> i64 {
        match self {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::High => 2,
            Priority::Urgent => 3,
        }
    }

    pub fn from_rank(rank: i64) -> Option<Self> {
        Priority::ALL.into_iter().find(|p| p.rank() == rank)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown priority '{s}' (expected low, normal, high or urgent)"))
    }
}

/// Validated resource request, per job: `cpus`, `gpus` and `memory_gb` are per node.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Resources {
    pub nodes: u32,
    pub cpus: u32,
    pub memory_gb: f64,
    pub gpus: u32,
    pub max_runtime_minutes: u32,
}

impl Default for Resources {
    fn default() -> Self {
        Self {
            nodes: 1,
            cpus: 1,
            memory_gb: 1.0,
            gpus: 0,
            max_runtime_minutes: 60,
        }
    }
}

/// A compute job and everything known about its life so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Job {
    pub id: Uuid,
    pub name: String,
    pub owner: String,
    pub project: String,
    pub agent: String,
    pub executor: String,
    pub target_system: String,
    pub command: String,
    pub resources: Resources,
    pub priority: Priority,
    pub estimated_cost_usd: f64,
    pub status: JobStatus,
    pub progress: u8,
    pub correlation_id: String,
    pub submitted_at: DateTime<Utc>,
    pub queued_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    pub exit_code: Option<i32>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub retry_count: u32,
    pub max_retries: u32,
    pub result_location: Option<String>,
    /// What the owner is told about for this job, chosen at submit (as Slurm's
    /// `--mail-type`) in place of the kinds in their rules; `null`: their rules decide.
    #[serde(default)]
    pub notify: Option<Vec<NotificationKind>>,
}

/// How a job ended, as reported by an executor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded {
        exit_code: i32,
    },
    Failed {
        exit_code: Option<i32>,
        error_code: String,
        message: String,
        /// False for failures a retry cannot fix or must not repeat blindly.
        retryable: bool,
    },
}

impl Job {
    /// Moves the job to `to`, stamping the matching timestamp. Illegal moves are errors and
    /// leave the job untouched.
    pub fn transition(&mut self, to: JobStatus, now: DateTime<Utc>) -> Result<JobStatus, DomainError> {
        let from = self.status;
        if !from.can_transition_to(to) {
            return Err(DomainError::IllegalTransition { from, to });
        }
        self.status = to;
        self.updated_at = now;
        match to {
            JobStatus::Queued => self.queued_at = Some(now),
            JobStatus::Running => {
                self.started_at = Some(now);
                self.progress = 0;
            }
            JobStatus::Retrying => self.retry_count += 1,
            JobStatus::Completed => {
                self.finished_at = Some(now);
                self.progress = 100;
            }
            JobStatus::Failed | JobStatus::Cancelled => self.finished_at = Some(now),
            JobStatus::Submitted => {}
        }
        Ok(from)
    }

    /// Applies an executor's outcome: success completes; failure retries while retries are
    /// left, otherwise fails.
    pub fn finish(&mut self, outcome: Outcome, now: DateTime<Utc>) -> Result<JobStatus, DomainError> {
        match outcome {
            Outcome::Succeeded { exit_code } => {
                let from = self.transition(JobStatus::Completed, now)?;
                self.exit_code = Some(exit_code);
                self.error_code = None;
                self.error_message = None;
                Ok(from)
            }
            Outcome::Failed {
                exit_code,
                error_code,
                message,
                retryable,
            } => {
                let to = if retryable && self.retry_count < self.max_retries && self.status == JobStatus::Running {
                    JobStatus::Retrying
                } else {
                    JobStatus::Failed
                };
                let from = self.transition(to, now)?;
                self.exit_code = exit_code;
                self.error_code = Some(error_code);
                self.error_message = Some(message);
                Ok(from)
            }
        }
    }

    /// How long the job ran, in whole seconds (`finished_at − started_at`, never negative);
    /// `None` until it has started and ended.
    pub fn run_seconds(&self) -> Option<i64> {
        Some((self.finished_at? - self.started_at?).num_seconds().max(0))
    }

    /// Records progress reported by a running job (clamped to 0–100).
    pub fn set_progress(&mut self, progress: u8, now: DateTime<Utc>) -> Result<(), DomainError> {
        if self.status != JobStatus::Running {
            return Err(DomainError::ProgressWhileNotRunning(self.status));
        }
        self.progress = progress.min(100);
        self.updated_at = now;
        Ok(())
    }
}

/// Captured output of a job's process, possibly only the tail of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobLogs {
    pub stdout: String,
    pub stderr: String,
    /// True when older output was cut to keep the response small.
    pub truncated: bool,
}

/// One reading of the CPU and memory a running job's processes use (the executor samples every
/// `executor.sample_interval_ms`; `GET /api/jobs/{id}/metrics`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricSample {
    /// When it was read (UTC, millisecond precision).
    pub sampled_at: DateTime<Utc>,
    /// CPU used by the job's process tree over the last interval, in percent of one core
    /// (200 = two cores busy), as `top` counts it.
    pub cpu_percent: f64,
    /// Resident memory of the job's process tree, in bytes.
    pub memory_bytes: i64,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cost::SystemCatalog;
    use crate::submit::SubmitJob;

    pub fn sample_job() -> Job {
        let spec = SubmitJob {
            name: "t".into(),
            command: "true".into(),
            ..SubmitJob::default()
        }
        .validate(&SystemCatalog::default())
        .expect("valid");
        spec.into_job(Uuid::nil(), "anonymous".into(), "corr".into(), DateTime::UNIX_EPOCH)
    }

    #[test]
    fn illegal_transition_is_typed_and_leaves_job_unchanged() {
        let mut job = sample_job();
        let before = job.clone();
        let err = job.transition(JobStatus::Completed, DateTime::UNIX_EPOCH);
        assert_eq!(
            err,
            Err(DomainError::IllegalTransition {
                from: JobStatus::Submitted,
                to: JobStatus::Completed
            })
        );
        assert_eq!(job, before);
    }

    #[test]
    fn failure_retries_until_budget_is_spent() {
        let mut job = sample_job();
        job.max_retries = 1;
        let t = DateTime::UNIX_EPOCH;
        job.transition(JobStatus::Queued, t).expect("queue");
        job.transition(JobStatus::Running, t).expect("run");
        let fail = || Outcome::Failed {
            exit_code: Some(1),
            error_code: "exit_nonzero".into(),
            message: "exit 1".into(),
            retryable: true,
        };
        job.finish(fail(), t).expect("retry");
        assert_eq!(job.status, JobStatus::Retrying);
        job.transition(JobStatus::Queued, t).expect("requeue");
        job.transition(JobStatus::Running, t).expect("run again");
        job.finish(fail(), t).expect("fail");
        assert_eq!(job.status, JobStatus::Failed);
        assert_eq!(job.retry_count, 1);
    }

    #[test]
    fn progress_only_while_running() {
        let mut job = sample_job();
        assert!(job.set_progress(10, DateTime::UNIX_EPOCH).is_err());
        job.transition(JobStatus::Queued, DateTime::UNIX_EPOCH).expect("queue");
        job.transition(JobStatus::Running, DateTime::UNIX_EPOCH).expect("run");
        job.set_progress(250, DateTime::UNIX_EPOCH).expect("progress");
        assert_eq!(job.progress, 100);
    }
}
