//! Notifications: what a user hears about their jobs, and the rules that decide it.
//!
//! The kinds follow Slurm's `--mail-type` (`BEGIN`, `END`, `FAIL`, `TIME_LIMIT`), with a
//! cancelled job apart from a failed one. A notification is made from one committed job
//! event (its *source*), at most once per user and source event, so a redelivered event has no
//! second effect.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::FieldError;
use crate::event::{EventType, JobEvent, NewEvent, SCHEMA_VERSION};
use crate::job::Job;
pub use crate::notification_kind::NotificationKind;
use crate::status::JobStatus;

/// The job's `error_code` when it ran out of its time limit (local executor and Slurm's
/// `TIMEOUT` alike).
pub const TIMEOUT_ERROR_CODE: &str = "timeout";

/// Longest e-mail address accepted, in bytes (RFC 5321 §4.5.3.1.3's path limit less the
/// angle brackets).
pub const MAX_EMAIL_BYTES: usize = 254;

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
    /// nobody is notified of (submissions, progress, queueing, retries, scheduler news).
    pub fn of_event(event: &JobEvent) -> Option<(Self, Job)> {
        let job = event.job()?;
        let kind = match event.event_type {
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

/// One line about the job's end for a notification's body: where it ran, how long, how it
/// ended (`on local after 2 min 5 s; exit code 3: ...`).
pub fn summary(kind: NotificationKind, job: &Job) -> String {
    let mut out = format!("{} in project {} on {}", job.name, job.project, job.target_system);
    let ran = match (job.started_at, job.finished_at) {
        (Some(s), Some(f)) => Some((f - s).num_seconds().max(0)),
        _ => None,
    };
    if let Some(secs) = ran {
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
        NotificationKind::Started | NotificationKind::Cancelled => {}
    }
    out
}

/// `2 h 5 min`, `3 min 4 s`, `12 s`.
fn duration(secs: i64) -> String {
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

/// Which notifications a user gets and where. Every user has these rules; until they save
/// their own, [`NotificationRules::default`] applies: failures, time-outs and completions of
/// their own jobs, in the in-app inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NotificationRules {
    /// The kinds the user is told about.
    pub kinds: Vec<NotificationKind>,
    /// Whether notifications go to the in-app inbox (and its live badge).
    pub in_app: bool,
    /// Where e-mail goes (`null`: no e-mail).
    #[serde(default)]
    pub email: Option<String>,
}

impl Default for NotificationRules {
    fn default() -> Self {
        Self {
            kinds: vec![
                NotificationKind::Completed,
                NotificationKind::Failed,
                NotificationKind::TimedOut,
            ],
            in_app: true,
            email: None,
        }
    }
}

impl NotificationRules {
    /// Whether the user wants to hear about `kind` at all.
    pub fn wants(&self, kind: NotificationKind) -> bool {
        self.kinds.contains(&kind)
    }

    /// The rules with kinds sorted and deduplicated and the e-mail address trimmed.
    ///
    /// # Errors
    /// A [`FieldError`] on `email` for an address that is not of the form `local@domain`
    /// (no spaces or control characters, at most [`MAX_EMAIL_BYTES`] bytes, a dot in the
    /// domain). Deliverability is the mail server's to judge.
    pub fn validate(mut self) -> Result<Self, FieldError> {
        self.kinds.sort();
        self.kinds.dedup();
        self.email = match self.email.map(|e| e.trim().to_owned()) {
            Some(e) if e.is_empty() => None,
            Some(e) => Some(check_email(e)?),
            None => None,
        };
        Ok(self)
    }
}

fn check_email(e: String) -> Result<String, FieldError> {
    let bad = |why: &str| {
        Err(FieldError::new(
            "email",
            format!("'{}' is not an e-mail address: {why}", e.escape_debug()),
        ))
    };
    if e.len() > MAX_EMAIL_BYTES {
        return bad(&format!("longer than {MAX_EMAIL_BYTES} bytes"));
    }
    if e.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it contains spaces or control characters");
    }
    let Some((local, domain)) = e.rsplit_once('@') else {
        return bad("expected name@domain");
    };
    if local.is_empty() || local.contains('@') {
        return bad("expected one @ with a name before it");
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2
        || labels
            .iter()
            .any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
    {
        return bad("the domain must be like example.org");
    }
    Ok(e)
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
        let s = summary(NotificationKind::Failed, &job);
        assert!(s.starts_with("calibrate in project "), "{s}");
        assert!(
            s.contains("after 2 min 5 s; exit code 3: process exited with status 3"),
            "{s}"
        );
        assert_eq!(NotificationKind::TimedOut.title("x"), "Job 'x' reached its time limit");
        assert_eq!(duration(7500), "2 h 5 min");
        assert_eq!(duration(9), "9 s");
    }

    #[test]
    fn rules_default_to_ends_in_app_and_check_the_address() {
        let r = NotificationRules::default();
        assert!(r.wants(NotificationKind::Failed) && r.wants(NotificationKind::Completed));
        assert!(!r.wants(NotificationKind::Started));
        let ok = NotificationRules {
            kinds: vec![
                NotificationKind::Failed,
                NotificationKind::Started,
                NotificationKind::Failed,
            ],
            in_app: false,
            email: Some("  ada@example.org ".into()),
        }
        .validate();
        assert_eq!(
            ok.map(|r| (r.kinds, r.email)),
            Ok((
                vec![NotificationKind::Started, NotificationKind::Failed],
                Some("ada@example.org".into())
            ))
        );
        for bad in [
            "ada",
            "ada@",
            "@example.org",
            "a b@example.org",
            "ada@localhost",
            "ada@-x.org",
            "a@@b.org",
        ] {
            let r = NotificationRules {
                email: Some(bad.into()),
                ..NotificationRules::default()
            }
            .validate();
            assert_eq!(r.map_err(|e| e.field), Err("email".to_owned()), "{bad}");
        }
        let blank = NotificationRules {
            email: Some(" ".into()),
            ..NotificationRules::default()
        };
        assert_eq!(blank.validate().map(|r| r.email), Ok(None));
    }
}
