//! What a job's owner can be told about (a leaf: it imports nothing of the crate, so the job
//! model can carry a job's own choice, as Slurm's `--mail-type` does).

use std::fmt;

use serde::{Deserialize, Serialize};

/// What happened to a job that a user may want to hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// The job started running (Slurm's `BEGIN`).
    Started,
    /// The job's reported progress passed a milestone (25, 50 or 75 %).
    Progress,
    /// The running job has used 80 % of its time limit (Slurm's `TIME_LIMIT_80`): time to
    /// save a checkpoint or ask for more.
    TimeLimit,
    /// The job completed successfully (`END`).
    Completed,
    /// The job failed for good, retries spent (`FAIL`).
    Failed,
    /// The job was stopped at its time limit (`TIME_LIMIT`).
    TimedOut,
    /// Someone cancelled the job.
    Cancelled,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 7] = [
        NotificationKind::Started,
        NotificationKind::Progress,
        NotificationKind::TimeLimit,
        NotificationKind::Completed,
        NotificationKind::Failed,
        NotificationKind::TimedOut,
        NotificationKind::Cancelled,
    ];

    /// The name used in the API and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Started => "started",
            NotificationKind::Completed => "completed",
            NotificationKind::Failed => "failed",
            NotificationKind::TimedOut => "timed_out",
            NotificationKind::Cancelled => "cancelled",
            NotificationKind::TimeLimit => "time_limit",
            NotificationKind::Progress => "progress",
        }
    }

    /// Whether the job has ended when this is heard (its logs are complete).
    pub fn is_end(self) -> bool {
        matches!(
            self,
            NotificationKind::Completed
                | NotificationKind::Failed
                | NotificationKind::TimedOut
                | NotificationKind::Cancelled
        )
    }

    /// What the kind means, for forms ("a job reaches 80 % of its time limit").
    pub fn label(self) -> &'static str {
        match self {
            NotificationKind::Started => "a job starts",
            NotificationKind::Progress => "a job passes 25, 50 or 75 % progress",
            NotificationKind::TimeLimit => "a job reaches 80 % of its time limit",
            NotificationKind::Completed => "a job completes",
            NotificationKind::Failed => "a job fails",
            NotificationKind::TimedOut => "a job is stopped at its time limit",
            NotificationKind::Cancelled => "a job is cancelled",
        }
    }

    /// Parses [`Self::as_str`]'s names.
    pub fn parse(s: &str) -> Option<Self> {
        NotificationKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A short title: `Job 'calibrate' failed`.
    pub fn title(self, job_name: &str) -> String {
        let what = match self {
            NotificationKind::Started => "started",
            NotificationKind::Completed => "completed",
            NotificationKind::Failed => "failed",
            NotificationKind::TimedOut => "reached its time limit",
            NotificationKind::Cancelled => "was cancelled",
            NotificationKind::TimeLimit => "is near its time limit",
            NotificationKind::Progress => "passed a progress milestone",
        };
        format!("Job '{job_name}' {what}")
    }
}

impl fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
