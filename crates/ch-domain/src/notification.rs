//! Notifications: what a user hears about their jobs, and the rules that decide it.
//!
//! The kinds follow Slurm's `--mail-type` (`BEGIN`, `END`, `FAIL`, `TIME_LIMIT`), with a
//! cancelled job apart from a failed one. A notification is made from one committed job
//! event (its *source*), at most once per user and source event, so a redelivered event has no
//! second effect.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::event::{EventType, JobEvent, NewEvent, SCHEMA_VERSION};
use crate::job::Job;
pub use crate::notification_kind::NotificationKind;
pub use crate::notification_rules::{EmailDigest, NotificationRules, QuietHours, Watch};
use crate::status::JobStatus;

/// The job's `error_code` when it ran out of its time limit (local executor and Slurm's
/// `TIMEOUT` alike).
pub const TIMEOUT_ERROR_CODE: &str = "timeout";

/// How much of its time limit a running job has used when its owner is warned, in percent
/// (Slurm's `--mail-type=TIME_LIMIT_80`).
pub const TIME_LIMIT_WARN_PERCENT: u64 = 80;

/// Progress values (percent) whose passing is a milestone worth a notification.
pub const PROGRESS_MILESTONES: [u8; 3] = [25, 50, 75];

/// The highest milestone of [`PROGRESS_MILESTONES`] passed by moving from `from` to `to`
/// (`from < m <= to`); `None` when none was.
pub fn milestone(from: u8, to: u8) -> Option<u8> {
    PROGRESS_MILESTONES.into_iter().rev().find(|m| from < *m && *m <= to)
}

impl NewEvent {
    /// Event for a change of one user's notification (`event_type` is one of the
    /// `notification.*` types); payload `{"notification": <the notification as it now is>}`.
    /// It belongs to the notification's job in the log; only its recipient's channel carries it.
    pub fn notification(
        event_id: Uuid,
        event_type: EventType,
        notification: &Notification,
        actor: &str,
        correlation_id: &str,
        occurred_at: DateTime<Utc>,
    ) -> Self {
        Self {
            event_id,
            event_type,
            schema_version: SCHEMA_VERSION,
            occurred_at,
            correlation_id: correlation_id.to_owned(),
            causation_id: Some(notification.source_event_id),
            job_id: notification.job_id,
            actor: actor.to_owned(),
            payload: serde_json::json!({ "notification": notification }),
        }
    }
}

impl NotificationKind {
    /// The kind a committed job event announces, with the job it carries; `None` for events
    /// nobody is notified of (submissions, queueing, retries, scheduler news, progress that
    /// passed no milestone).
    pub fn of_event(event: &JobEvent) -> Option<(Self, Job)> {
        let job = event.job()?;
        let kind = match event.event_type {
            EventType::JobTimeLimitNear => NotificationKind::TimeLimit,
            EventType::JobProgress if progress_milestone(event).is_some() => NotificationKind::Progress,
            EventType::JobCompleted => NotificationKind::Completed,
            EventType::JobFailed if job.error_code.as_deref() == Some(TIMEOUT_ERROR_CODE) => NotificationKind::TimedOut,
            EventType::JobFailed => NotificationKind::Failed,
            EventType::JobCancelled => NotificationKind::Cancelled,
            EventType::JobStatusChanged if job.status == JobStatus::Running => NotificationKind::Started,
            _ => return None,
        };
        Some((kind, job))
    }
}

/// The milestone a `job.progress` event passed (its payload's `from` → `progress`).
fn progress_milestone(event: &JobEvent) -> Option<u8> {
    let get = |k: &str| event.payload.get(k)?.as_u64().and_then(|v| u8::try_from(v).ok());
    milestone(get("from")?, get("progress")?)
}

/// One line about the job for a notification's body, from the `event` it is made of: where it
/// ran, how long, how it ended (`… on local after 2 min 5 s; exit code 3: ...`), how much of its
/// time limit it used, or which milestone it passed.
pub fn summary(kind: NotificationKind, job: &Job, event: &JobEvent) -> String {
    let mut out = format!("{} in project {} on {}", job.name, job.project, job.target_system);
    match kind {
        NotificationKind::TimeLimit => {
            let secs = |k: &str| event.payload.get(k).and_then(serde_json::Value::as_i64);
            if let (Some(elapsed), Some(limit)) = (secs("elapsed_seconds"), secs("limit_seconds")) {
                out.push_str(&format!(
                    " has run {} of its {} limit; it is stopped in {}",
                    duration(elapsed),
                    duration(limit),
                    duration((limit - elapsed).max(0))
                ));
            }
            return out;
        }
        NotificationKind::Progress => {
            if let Some(m) = progress_milestone(event) {
                out.push_str(&format!(" is {m} % done (reported {} %)", job.progress));
            }
            return out;
        }
        _ => {}
    }
    if let Some(secs) = job.run_seconds() {
        out.push_str(&format!(" after {}", duration(secs)));
    }
    match kind {
        NotificationKind::Failed | NotificationKind::TimedOut => {
            if let Some(code) = job.exit_code {
                out.push_str(&format!("; exit code {code}"));
            }
            if let Some(m) = job.error_message.as_deref().filter(|m| !m.is_empty()) {
                out.push_str(&format!(": {m}"));
            }
        }
        NotificationKind::Completed => {
            if let Some(code) = job.exit_code {
                out.push_str(&format!("; exit code {code}"));
            }
        }
        NotificationKind::Started
        | NotificationKind::Cancelled
        | NotificationKind::TimeLimit
        | NotificationKind::Progress => {}
    }
    out
}

/// A length of time in words: `2 h 5 min`, `3 min 4 s`, `12 s` (`secs` in seconds).
pub fn duration(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} min {s} s"),
        _ => format!("{h} h {m} min"),
    }
}

/// A message to one user about one job event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: Uuid,
    /// The user it is addressed to.
    pub user_id: Uuid,
    pub kind: NotificationKind,
    /// The job event it was made from (at most one notification per user and event).
    pub source_event_id: Uuid,
    pub job_id: Uuid,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// When the user marked it read; `null` while unread.
    pub read_at: Option<DateTime<Utc>>,
    /// When the user dismissed it (dismissed notifications leave the inbox).
    pub dismissed_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::NewEvent;
    use crate::job::tests::sample_job;

    fn event(t: EventType, job: &Job) -> JobEvent {
        let mut e = NewEvent::submitted(Uuid::nil(), job, "t").committed(1);
        e.event_type = t;
        e
    }

    #[test]
    fn kinds_come_from_the_events_that_end_or_start_a_job() {
        let mut job = sample_job();
        assert_eq!(NotificationKind::of_event(&event(EventType::JobSubmitted, &job)), None);
        assert_eq!(NotificationKind::of_event(&event(EventType::JobProgress, &job)), None);
        job.status = JobStatus::Queued;
        assert_eq!(
            NotificationKind::of_event(&event(EventType::JobStatusChanged, &job)),
            None
        );
        job.status = JobStatus::Running;
        let k = NotificationKind::of_event(&event(EventType::JobStatusChanged, &job)).map(|(k, _)| k);
        assert_eq!(k, Some(NotificationKind::Started));
        let k = NotificationKind::of_event(&event(EventType::JobCompleted, &job)).map(|(k, _)| k);
        assert_eq!(k, Some(NotificationKind::Completed));
        let k = NotificationKind::of_event(&event(EventType::JobCancelled, &job)).map(|(k, _)| k);
        assert_eq!(k, Some(NotificationKind::Cancelled));
        job.error_code = Some("exit".into());
        let k = NotificationKind::of_event(&event(EventType::JobFailed, &job)).map(|(k, _)| k);
        assert_eq!(k, Some(NotificationKind::Failed));
        job.error_code = Some(TIMEOUT_ERROR_CODE.into());
        let k = NotificationKind::of_event(&event(EventType::JobFailed, &job)).map(|(k, _)| k);
        assert_eq!(k, Some(NotificationKind::TimedOut));
    }

    #[test]
    fn milestones_and_the_time_limit_are_notified() {
        let mut job = sample_job();
        job.status = JobStatus::Running;
        job.progress = 60;
        let progress = |from: u8| NewEvent::progress(Uuid::nil(), &job, from, "t").committed(2);
        let k = NotificationKind::of_event(&progress(40)).map(|(k, _)| k);
        assert_eq!(k, Some(NotificationKind::Progress));
        assert_eq!(
            NotificationKind::of_event(&progress(50)),
            None,
            "60 after 50 passes nothing"
        );
        let e = progress(10);
        assert!(summary(NotificationKind::Progress, &job, &e).ends_with("is 50 % done (reported 60 %)"));
        assert_eq!(milestone(0, 100), Some(75));
        assert_eq!(milestone(74, 75), Some(75));
        assert_eq!(milestone(75, 100), None);
        assert_eq!(milestone(30, 20), None);
        let near = NewEvent::time_limit_near(Uuid::nil(), &job, 2880, 3600, "t").committed(3);
        assert_eq!(near.payload["percent"], 80);
        let k = NotificationKind::of_event(&near).map(|(k, _)| k);
        assert_eq!(k, Some(NotificationKind::TimeLimit));
        let s = summary(NotificationKind::TimeLimit, &job, &near);
        assert!(
            s.ends_with("has run 48 min 0 s of its 1 h 0 min limit; it is stopped in 12 min 0 s"),
            "{s}"
        );
    }

    #[test]
    fn names_round_trip() {
        for k in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).ok(), Some(serde_json::json!(k.as_str())));
        }
        assert_eq!(NotificationKind::parse("end"), None);
    }

    #[test]
    fn the_body_says_where_how_long_and_why() {
        let mut job = sample_job();
        job.name = "calibrate".into();
        job.started_at = Some(DateTime::UNIX_EPOCH);
        job.finished_at = Some(DateTime::UNIX_EPOCH + chrono::Duration::seconds(125));
        job.exit_code = Some(3);
        job.error_message = Some("process exited with status 3".into());
        let s = summary(NotificationKind::Failed, &job, &event(EventType::JobFailed, &job));
        assert!(s.starts_with("calibrate in project "), "{s}");
        assert!(
            s.contains("after 2 min 5 s; exit code 3: process exited with status 3"),
            "{s}"
        );
        assert_eq!(NotificationKind::TimedOut.title("x"), "Job 'x' reached its time limit");
        assert_eq!(duration(7500), "2 h 5 min");
        assert_eq!(duration(9), "9 s");
    }
}
