//! Channel names of the real-time gateway and which channels an event is published on.
//!
//! Names follow Centrifugo's `namespace:…` habit: `job:{uuid}:status`, `job:{uuid}:metrics`,
//! `project:{name}:jobs`, `user:{uuid}:notifications`, `system:alerts`.

use std::fmt;

use ch_domain::JobEvent;
use uuid::Uuid;

/// Longest channel name accepted (a project name is at most 64 characters).
pub const MAX_NAME_LEN: usize = 128;

/// One stream a client can subscribe to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// Every lifecycle event of one job (submitted, status changes, progress, the end).
    JobStatus(Uuid),
    /// Resource samples of one job (CPU, memory) while it runs.
    JobMetrics(Uuid),
    /// Lifecycle events of every job in one project.
    ProjectJobs(String),
    /// Notifications addressed to one user.
    UserNotifications(Uuid),
    /// Site-wide alerts (anomalies, outages).
    SystemAlerts,
}

impl Channel {
    /// Parses a channel name; the error says what is wrong with it.
    pub fn parse(name: &str) -> Result<Self, String> {
        if name.len() > MAX_NAME_LEN {
            return Err(format!("channel names are at most {MAX_NAME_LEN} bytes"));
        }
        let uuid = |s: &str| Uuid::parse_str(s).map_err(|_| format!("'{}' is not a UUID", s.escape_debug()));
        let parts: Vec<&str> = name.split(':').collect();
        match parts.as_slice() {
            ["job", id, "status"] => Ok(Channel::JobStatus(uuid(id)?)),
            ["job", id, "metrics"] => Ok(Channel::JobMetrics(uuid(id)?)),
            ["project", p, "jobs"] => {
                crate::auth::validate_name("project", p).map_err(|e| e.to_string())?;
                Ok(Channel::ProjectJobs((*p).to_owned()))
            }
            ["user", id, "notifications"] => Ok(Channel::UserNotifications(uuid(id)?)),
            ["system", "alerts"] => Ok(Channel::SystemAlerts),
            _ => Err(format!(
                "unknown channel '{}' (expected job:<id>:status, job:<id>:metrics, project:<name>:jobs, \
                 user:<id>:notifications or system:alerts)",
                name.escape_debug()
            )),
        }
    }

    /// The channels a committed event is published on: a job event on its job's and its
    /// project's, a notification event on its recipient's alone.
    pub fn of_event(ev: &JobEvent) -> impl Iterator<Item = Channel> {
        let (job, project) = if ev.event_type.is_notification() {
            (None, ev.recipient().map(Channel::UserNotifications))
        } else {
            let project = ev
                .payload
                .get("job")
                .and_then(|j| j.get("project"))
                .and_then(|p| p.as_str())
                .map(|p| Channel::ProjectJobs(p.to_owned()));
            (Some(Channel::JobStatus(ev.job_id)), project)
        };
        job.into_iter().chain(project)
    }

    /// Whether `ev` belongs on this channel.
    pub fn carries(&self, ev: &JobEvent) -> bool {
        Self::of_event(ev).any(|c| c == *self)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Channel::JobStatus(id) => write!(f, "job:{id}:status"),
            Channel::JobMetrics(id) => write!(f, "job:{id}:metrics"),
            Channel::ProjectJobs(p) => write!(f, "project:{p}:jobs"),
            Channel::UserNotifications(id) => write!(f, "user:{id}:notifications"),
            Channel::SystemAlerts => f.write_str("system:alerts"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let id = Uuid::now_v7();
        for c in [
            Channel::JobStatus(id),
            Channel::JobMetrics(id),
            Channel::ProjectJobs("radio-lab".into()),
            Channel::UserNotifications(id),
            Channel::SystemAlerts,
        ] {
            assert_eq!(Channel::parse(&c.to_string()), Ok(c));
        }
    }

    #[test]
    fn notification_events_go_to_their_recipient_alone() {
        let user = Uuid::now_v7();
        let job = Uuid::now_v7();
        let ev = JobEvent {
            offset: 7,
            event_id: Uuid::now_v7(),
            event_type: ch_domain::EventType::NotificationSent,
            schema_version: 1,
            occurred_at: chrono::Utc::now(),
            correlation_id: "c".into(),
            causation_id: None,
            job_id: job,
            actor: "notification-service".into(),
            payload: serde_json::json!({"notification": {"user_id": user, "job_id": job}}),
        };
        assert_eq!(
            Channel::of_event(&ev).collect::<Vec<_>>(),
            vec![Channel::UserNotifications(user)]
        );
        assert!(!Channel::JobStatus(job).carries(&ev));
        let mut lifecycle = ev.clone();
        lifecycle.event_type = ch_domain::EventType::JobCompleted;
        lifecycle.payload = serde_json::json!({"job": {"project": "radio-lab"}});
        assert_eq!(
            Channel::of_event(&lifecycle).collect::<Vec<_>>(),
            vec![Channel::JobStatus(job), Channel::ProjectJobs("radio-lab".into())]
        );
    }

    #[test]
    fn bad_names_say_why() {
        assert!(
            Channel::parse("job:nope:status")
                .expect_err("refused")
                .contains("not a UUID")
        );
        assert!(Channel::parse("jobs").expect_err("refused").contains("unknown channel"));
        assert!(Channel::parse("project:a b:jobs").is_err());
        assert!(Channel::parse("project::jobs").is_err());
        assert!(
            Channel::parse(&"x".repeat(500))
                .expect_err("refused")
                .contains("at most")
        );
        assert!(Channel::parse("system:alerts:extra").is_err());
    }
}
