//! Job events: what the outbox stores and the buses carry.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::job::Job;
use crate::status::JobStatus;

/// Version of the event envelope and payload layout below.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum EventType {
    #[serde(rename = "job.submitted")]
    JobSubmitted,
    #[serde(rename = "job.status.changed")]
    JobStatusChanged,
    #[serde(rename = "job.progress")]
    JobProgress,
    #[serde(rename = "job.completed")]
    JobCompleted,
    #[serde(rename = "job.failed")]
    JobFailed,
    #[serde(rename = "job.cancelled")]
    JobCancelled,
    /// The batch scheduler's word on a job changed (Slurm: its state, or why it waits, e.g.
    /// `PENDING` for `Priority` → `Resources`); the job's own status may be unchanged.
    #[serde(rename = "job.scheduler.changed")]
    JobSchedulerChanged,
    /// A running job has used [`crate::notification::TIME_LIMIT_WARN_PERCENT`] % of its time
    /// limit (Slurm's `TIME_LIMIT_80`); payload `{"elapsed_seconds", "limit_seconds", "percent",
    /// "job"}`. At most one per run of the job.
    #[serde(rename = "job.time_limit.near")]
    JobTimeLimitNear,
    /// A notification about the job was put in a user's inbox (payload `{"notification"}`,
    /// see [`crate::Notification`]); only that user's channel carries it.
    #[serde(rename = "notification.sent")]
    NotificationSent,
    /// The user marked a notification read.
    #[serde(rename = "notification.read")]
    NotificationRead,
    /// The user marked a notification unread again.
    #[serde(rename = "notification.unread")]
    NotificationUnread,
    /// The user dismissed a notification (it leaves the inbox).
    #[serde(rename = "notification.dismissed")]
    NotificationDismissed,
}

impl EventType {
    pub const ALL: [EventType; 12] = [
        EventType::JobSubmitted,
        EventType::JobStatusChanged,
        EventType::JobProgress,
        EventType::JobCompleted,
        EventType::JobFailed,
        EventType::JobCancelled,
        EventType::JobSchedulerChanged,
        EventType::JobTimeLimitNear,
        EventType::NotificationSent,
        EventType::NotificationRead,
        EventType::NotificationUnread,
        EventType::NotificationDismissed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::JobSubmitted => "job.submitted",
            EventType::JobStatusChanged => "job.status.changed",
            EventType::JobProgress => "job.progress",
            EventType::JobCompleted => "job.completed",
            EventType::JobFailed => "job.failed",
            EventType::JobCancelled => "job.cancelled",
            EventType::JobSchedulerChanged => "job.scheduler.changed",
            EventType::JobTimeLimitNear => "job.time_limit.near",
            EventType::NotificationSent => "notification.sent",
            EventType::NotificationRead => "notification.read",
            EventType::NotificationUnread => "notification.unread",
            EventType::NotificationDismissed => "notification.dismissed",
        }
    }

    /// Whether this is about one user's notification (addressed to that user alone) rather
    /// than the job's life, which every reader of the job may see.
    pub fn is_notification(self) -> bool {
        matches!(
            self,
            EventType::NotificationSent
                | EventType::NotificationRead
                | EventType::NotificationUnread
                | EventType::NotificationDismissed
        )
    }

    pub fn parse(s: &str) -> Option<Self> {
        EventType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The event that announces a move into `to`.
    pub fn for_status(to: JobStatus) -> Self {
        match to {
            JobStatus::Completed => EventType::JobCompleted,
            JobStatus::Failed => EventType::JobFailed,
            JobStatus::Cancelled => EventType::JobCancelled,
            JobStatus::Submitted => EventType::JobSubmitted,
            _ => EventType::JobStatusChanged,
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event before the outbox gave it an offset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: EventType,
    pub schema_version: u32,
    pub occurred_at: DateTime<Utc>,
    pub correlation_id: String,
    pub causation_id: Option<Uuid>,
    pub job_id: Uuid,
    pub actor: String,
    pub payload: serde_json::Value,
}

/// A committed event with its position in the global log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobEvent {
    pub offset: i64,
    pub event_id: Uuid,
    pub event_type: EventType,
    pub schema_version: u32,
    pub occurred_at: DateTime<Utc>,
    pub correlation_id: String,
    pub causation_id: Option<Uuid>,
    pub job_id: Uuid,
    pub actor: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: serde_json::Value,
}

impl JobEvent {
    /// The job snapshot every job-lifecycle event carries, so subscribers need no extra read
    /// (`None` for notification events).
    pub fn job(&self) -> Option<Job> {
        serde_json::from_value(self.payload.get("job")?.clone()).ok()
    }

    /// The one user a notification event is addressed to (`None` for job events, which
    /// every reader of the job may see).
    pub fn recipient(&self) -> Option<Uuid> {
        recipient(self.event_type, &self.payload)
    }
}

fn recipient(event_type: EventType, payload: &serde_json::Value) -> Option<Uuid> {
    if !event_type.is_notification() {
        return None;
    }
    payload.get("notification")?.get("user_id")?.as_str()?.parse().ok()
}

impl NewEvent {
    /// Event for a job that was just created.
    pub fn submitted(event_id: Uuid, job: &Job, actor: &str) -> Self {
        Self::with_payload(
            event_id,
            EventType::JobSubmitted,
            job,
            actor,
            None,
            serde_json::json!({ "job": job }),
        )
    }

    /// Event for a status change `from -> job.status`.
    pub fn transition(event_id: Uuid, job: &Job, from: JobStatus, actor: &str, causation_id: Option<Uuid>) -> Self {
        let payload = serde_json::json!({ "from": from, "to": job.status, "job": job });
        Self::with_payload(
            event_id,
            EventType::for_status(job.status),
            job,
            actor,
            causation_id,
            payload,
        )
    }

    /// Event for a progress report of a running job that moved its progress from `from` (in
    /// percent) to `job.progress`; payload `{"progress", "from", "job"}`.
    pub fn progress(event_id: Uuid, job: &Job, from: u8, actor: &str) -> Self {
        let payload = serde_json::json!({ "progress": job.progress, "from": from, "job": job });
        Self::with_payload(event_id, EventType::JobProgress, job, actor, None, payload)
    }

    /// Event for a running job that has used `elapsed` of its time `limit` (both in seconds;
    /// see [`EventType::JobTimeLimitNear`]).
    pub fn time_limit_near(event_id: Uuid, job: &Job, elapsed: u64, limit: u64, actor: &str) -> Self {
        let percent = (elapsed.saturating_mul(100)).checked_div(limit).unwrap_or(100);
        let payload = serde_json::json!({
            "elapsed_seconds": elapsed,
            "limit_seconds": limit,
            "percent": percent,
            "job": job,
        });
        Self::with_payload(event_id, EventType::JobTimeLimitNear, job, actor, None, payload)
    }

    /// Event for news from the job's batch scheduler: `scheduler` is what it now says
    /// (`{"scheduler", "scheduler_job_id", "state", "reason"}`).
    pub fn scheduler(event_id: Uuid, job: &Job, actor: &str, scheduler: serde_json::Value) -> Self {
        let payload = serde_json::json!({ "scheduler": scheduler, "job": job });
        Self::with_payload(event_id, EventType::JobSchedulerChanged, job, actor, None, payload)
    }

    /// See [`JobEvent::recipient`].
    pub fn recipient(&self) -> Option<Uuid> {
        recipient(self.event_type, &self.payload)
    }

    fn with_payload(
        event_id: Uuid,
        event_type: EventType,
        job: &Job,
        actor: &str,
        causation_id: Option<Uuid>,
        payload: serde_json::Value,
    ) -> Self {
        Self {
            event_id,
            event_type,
            schema_version: SCHEMA_VERSION,
            occurred_at: job.updated_at,
            correlation_id: job.correlation_id.clone(),
            causation_id,
            job_id: job.id,
            actor: actor.to_owned(),
            payload,
        }
    }

    pub fn committed(self, offset: i64) -> JobEvent {
        JobEvent {
            offset,
            event_id: self.event_id,
            event_type: self.event_type,
            schema_version: self.schema_version,
            occurred_at: self.occurred_at,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            job_id: self.job_id,
            actor: self.actor,
            payload: self.payload,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::tests::sample_job;

    #[test]
    fn event_type_names_round_trip_through_serde() {
        for t in EventType::ALL {
            let json = serde_json::to_string(&t).expect("ser");
            assert_eq!(json, format!("\"{}\"", t.as_str()));
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
    }

    #[test]
    fn transition_event_carries_snapshot() {
        let mut job = sample_job();
        let from = job.transition(JobStatus::Queued, job.submitted_at).expect("queue");
        let ev = NewEvent::transition(Uuid::nil(), &job, from, "executor", None).committed(7);
        assert_eq!(ev.event_type, EventType::JobStatusChanged);
        assert_eq!(ev.payload["from"], "submitted");
        assert_eq!(ev.payload["to"], "queued");
        assert_eq!(ev.job(), Some(job));
    }
}
