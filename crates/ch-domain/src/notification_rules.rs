//! A user's notification rules: which kinds, for which jobs (their own, a watched project's,
//! one watched job), where (the inbox, e-mail), and when e-mail may come (a digest, quiet
//! hours in the user's time zone).
//!
//! Scopes follow GitHub's per-repository watching: the most specific rule decides — a watch of
//! the job, the job's own choice at submit (`SubmitJob::notify`, for its owner), a watch of its
//! project, then the kinds for the user's own jobs.

use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::FieldError;
use crate::job::Job;
use crate::notification_kind::NotificationKind;

/// Longest e-mail address accepted, in bytes (RFC 5321 §4.5.3.1.3's path limit less the
/// angle brackets).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Most watches (projects and jobs) one user may keep.
pub const MAX_WATCHES: usize = 100;
/// Longest project name a watch may give, in characters.
const MAX_PROJECT_CHARS: usize = 128;
/// Local hour at which a daily digest is sent (later if quiet hours cover it).
pub const DAILY_DIGEST_HOUR: u32 = 8;

/// How e-mail is bundled: one per notification, or a digest of what came in an hour or a day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum EmailDigest {
    /// Each notification is e-mailed as it comes (up to the site's hourly limit).
    #[default]
    Off,
    /// One e-mail at the end of each hour (local time) with what came in it.
    Hourly,
    /// One e-mail a day, at [`DAILY_DIGEST_HOUR`]:00 local time.
    Daily,
}

/// Hours without e-mail, in the user's local time (`"22:00"` to `"07:00"` spans midnight).
/// What comes meanwhile is e-mailed as one digest when they end; the inbox and webhooks are
/// not held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// `HH:MM`, 24-hour clock.
    pub start: String,
    /// `HH:MM`, 24-hour clock; not equal to `start`.
    pub end: String,
}

/// A scope beyond the user's own jobs: every job of a project (whoever submitted it; the
/// user must be able to read the project), or one job. Exactly one of `project` and `job_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Watch {
    #[serde(default)]
    pub project: Option<String>,
    #[serde(default)]
    pub job_id: Option<Uuid>,
    /// The kinds heard for jobs in this scope; empty mutes them (e.g. one's own jobs in a
    /// noisy project).
    pub kinds: Vec<NotificationKind>,
}

/// Which notifications a user gets and where. Every user has these rules; until they save
/// their own, [`NotificationRules::default`] applies: failures, time-outs and completions of
/// their own jobs, in the in-app inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NotificationRules {
    /// The kinds the user is told about for their own jobs.
    pub kinds: Vec<NotificationKind>,
    /// Whether notifications go to the in-app inbox (and its live badge).
    pub in_app: bool,
    /// Where e-mail goes (`null`: no e-mail).
    #[serde(default)]
    pub email: Option<String>,
    /// Projects and jobs watched, each with its kinds (at most [`MAX_WATCHES`]).
    #[serde(default)]
    pub watches: Vec<Watch>,
    #[serde(default)]
    pub email_digest: EmailDigest,
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    /// IANA time zone of the quiet hours and digests (`Europe/Berlin`, `America/Chicago`).
    #[serde(default = "utc")]
    pub time_zone: String,
}

fn utc() -> String {
    "UTC".to_owned()
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
            watches: Vec::new(),
            email_digest: EmailDigest::Off,
            quiet_hours: None,
            time_zone: utc(),
        }
    }
}

/// Parses `HH:MM` (24-hour clock).
fn clock(s: &str) -> Option<NaiveTime> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() > 2 || m.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(h.parse().ok()?, m.parse().ok()?, 0)
}

/// The instant of local wall time `t` in `tz`: the earlier of an ambiguous time (clocks
/// going back), and for a time that does not exist (clocks going forward) the same wall
/// time an hour later.
fn instant(tz: Tz, t: NaiveDateTime) -> DateTime<Utc> {
    tz.from_local_datetime(&t)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(t + Duration::hours(1))).earliest())
        .map_or_else(|| t.and_utc(), |l| l.with_timezone(&Utc))
}

/// The first instant after `now` whose local time in `tz` is `at`.
fn next_local(tz: Tz, now: DateTime<Utc>, at: NaiveTime) -> DateTime<Utc> {
    let today = now.with_timezone(&tz).date_naive();
    (0..3)
        .map(|d| instant(tz, (today + Duration::days(d)).and_time(at)))
        .find(|t| *t > now)
        .unwrap_or(now + Duration::days(1))
}

impl QuietHours {
    fn times(&self) -> Option<(NaiveTime, NaiveTime)> {
        Some((clock(&self.start)?, clock(&self.end)?))
    }

    /// Whether local time `t` falls in the quiet hours (start included, end excluded).
    pub fn contains(&self, t: NaiveTime) -> bool {
        let Some((start, end)) = self.times() else { return false };
        if start <= end {
            start <= t && t < end
        } else {
            t >= start || t < end
        }
    }
}

impl NotificationRules {
    /// The kinds this user hears about for `job` (`is_owner`: it is theirs): the most specific
    /// rule decides — a watch of the job, the job's own choice at submit (its owner's), a watch
    /// of its project, then [`Self::kinds`] for their own jobs. `None`: no rule covers the job.
    pub fn kinds_for<'a>(&'a self, job: &'a Job, is_owner: bool) -> Option<&'a [NotificationKind]> {
        if let Some(w) = self.watches.iter().find(|w| w.job_id == Some(job.id)) {
            return Some(&w.kinds);
        }
        if is_owner && let Some(k) = &job.notify {
            return Some(k);
        }
        if let Some(w) = self
            .watches
            .iter()
            .find(|w| w.project.as_deref() == Some(job.project.as_str()))
        {
            return Some(&w.kinds);
        }
        is_owner.then_some(self.kinds.as_slice())
    }

    /// The user's time zone (UTC if it does not parse; [`Self::validate`] refuses that).
    pub fn tz(&self) -> Tz {
        self.time_zone.parse().unwrap_or(Tz::UTC)
    }

    /// Until when an e-mail of a notification made at `now` waits, to go out in a digest:
    /// the end of the hour or the next [`DAILY_DIGEST_HOUR`]:00 for a digest, moved to the end
    /// of the quiet hours when it falls in them. `None`: it goes now.
    pub fn email_hold(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let tz = self.tz();
        let digest = match self.email_digest {
            EmailDigest::Off => None,
            EmailDigest::Hourly => {
                let local = now.with_timezone(&tz).naive_local();
                let hour = local.date().and_hms_opt(local.hour(), 0, 0).unwrap_or(local);
                Some(instant(tz, hour + Duration::hours(1)).max(now + Duration::seconds(1)))
            }
            EmailDigest::Daily => Some(next_local(
                tz,
                now,
                NaiveTime::from_hms_opt(DAILY_DIGEST_HOUR, 0, 0).unwrap_or(NaiveTime::MIN),
            )),
        };
        let at = digest.unwrap_or(now);
        match &self.quiet_hours {
            Some(q) if q.contains(at.with_timezone(&tz).time()) => {
                let end = q.times().map(|(_, end)| end)?;
                Some(next_local(tz, at, end))
            }
            _ => digest,
        }
    }

    /// The rules with kinds sorted and deduplicated and the e-mail address trimmed.
    ///
    /// # Errors
    /// A [`FieldError`] naming the field: `email` for an address that is not of the form
    /// `local@domain` (no spaces or control characters, at most [`MAX_EMAIL_BYTES`] bytes, a
    /// dot in the domain; deliverability is the mail server's to judge); `watches` for more
    /// than [`MAX_WATCHES`], `watches[i]` for one that names neither or both of a project and
    /// a job, or a scope already watched; `time_zone` for a name not in the IANA database;
    /// `quiet_hours.start` / `.end` for a time not `HH:MM` or equal ends.
    pub fn validate(mut self) -> Result<Self, FieldError> {
        self.kinds.sort();
        self.kinds.dedup();
        self.email = match self.email.map(|e| e.trim().to_owned()) {
            Some(e) if e.is_empty() => None,
            Some(e) => Some(check_email(e)?),
            None => None,
        };
        if self.watches.len() > MAX_WATCHES {
            return Err(FieldError::new(
                "watches",
                format!("at most {MAX_WATCHES} watched projects and jobs"),
            ));
        }
        for i in 0..self.watches.len() {
            let field = format!("watches[{i}]");
            let w = &mut self.watches[i];
            w.kinds.sort();
            w.kinds.dedup();
            w.project = w.project.take().map(|p| p.trim().to_owned());
            match (&w.project, w.job_id) {
                (Some(p), None)
                    if p.is_empty() || p.chars().count() > MAX_PROJECT_CHARS || p.chars().any(char::is_control) =>
                {
                    return Err(FieldError::new(
                        format!("{field}.project"),
                        format!("a project name of 1 to {MAX_PROJECT_CHARS} characters"),
                    ));
                }
                (Some(_), None) | (None, Some(_)) => {}
                _ => {
                    return Err(FieldError::new(
                        field,
                        "name either a project or a job_id to watch, not both or neither",
                    ));
                }
            }
            let (project, job_id) = (self.watches[i].project.clone(), self.watches[i].job_id);
            if self.watches[..i]
                .iter()
                .any(|o| o.project == project && o.job_id == job_id)
            {
                return Err(FieldError::new(field, "this project or job is watched already"));
            }
        }
        self.time_zone = self.time_zone.trim().to_owned();
        if self.time_zone.parse::<Tz>().is_err() {
            return Err(FieldError::new(
                "time_zone",
                format!(
                    "'{}' is not a time zone of the IANA database (like Europe/Berlin or UTC)",
                    self.time_zone.escape_debug()
                ),
            ));
        }
        if let Some(q) = &mut self.quiet_hours {
            q.start = q.start.trim().to_owned();
            q.end = q.end.trim().to_owned();
            for (name, value) in [("start", &q.start), ("end", &q.end)] {
                if clock(value).is_none() {
                    return Err(FieldError::new(
                        format!("quiet_hours.{name}"),
                        format!("'{}' is not a time of day as HH:MM", value.escape_debug()),
                    ));
                }
            }
            if clock(&q.start) == clock(&q.end) {
                return Err(FieldError::new(
                    "quiet_hours.end",
                    "quiet hours must end at another time than they start",
                ));
            }
        }
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
    use crate::job::tests::sample_job;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("a UTC time")
    }

    #[test]
    fn rules_default_to_ends_in_app_and_check_the_address() {
        let r = NotificationRules::default();
        let job = sample_job();
        let own = r.kinds_for(&job, true).unwrap_or_default();
        assert!(own.contains(&NotificationKind::Failed) && own.contains(&NotificationKind::Completed));
        assert!(!own.contains(&NotificationKind::Started));
        let ok = NotificationRules {
            kinds: vec![
                NotificationKind::Failed,
                NotificationKind::Started,
                NotificationKind::Failed,
            ],
            in_app: false,
            email: Some("  ada@example.org ".into()),
            ..NotificationRules::default()
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
        // Rules saved before watches, digests and quiet hours existed still read.
        let old: NotificationRules =
            serde_json::from_str(r#"{"kinds":["failed"],"in_app":true,"email":null}"#).expect("old rules");
        assert_eq!(old.time_zone, "UTC");
        assert_eq!(old.email_digest, EmailDigest::Off);
    }

    #[test]
    fn the_most_specific_scope_decides() {
        let mut job = sample_job();
        job.project = "vlass".into();
        let mut r = NotificationRules::default();
        assert_eq!(r.kinds_for(&job, false), None, "another's job, not watched");
        assert_eq!(r.kinds_for(&job, true), Some(r.kinds.as_slice()));
        r.watches.push(Watch {
            project: Some("vlass".into()),
            job_id: None,
            kinds: vec![NotificationKind::Failed],
        });
        assert_eq!(r.kinds_for(&job, false), Some(&[NotificationKind::Failed][..]));
        assert_eq!(r.kinds_for(&job, true), Some(&[NotificationKind::Failed][..]));
        job.notify = Some(vec![NotificationKind::Started]);
        assert_eq!(r.kinds_for(&job, true), Some(&[NotificationKind::Started][..]));
        assert_eq!(
            r.kinds_for(&job, false),
            Some(&[NotificationKind::Failed][..]),
            "the owner's choice is theirs"
        );
        r.watches.push(Watch {
            project: None,
            job_id: Some(job.id),
            kinds: vec![],
        });
        assert_eq!(r.kinds_for(&job, true), Some(&[][..]), "a muted job");
    }

    #[test]
    fn watches_zones_and_quiet_hours_are_checked() {
        let field = |r: NotificationRules| r.validate().map_err(|e| e.field);
        let watch = |project: Option<&str>, job_id: Option<Uuid>| Watch {
            project: project.map(str::to_owned),
            job_id,
            kinds: vec![NotificationKind::Failed],
        };
        let with = |watches: Vec<Watch>| NotificationRules {
            watches,
            ..NotificationRules::default()
        };
        assert!(field(with(vec![watch(Some("a"), None), watch(None, Some(Uuid::nil()))])).is_ok());
        assert_eq!(field(with(vec![watch(None, None)])), Err("watches[0]".into()));
        assert_eq!(
            field(with(vec![watch(Some("a"), Some(Uuid::nil()))])),
            Err("watches[0]".into())
        );
        assert_eq!(
            field(with(vec![watch(Some(" "), None)])),
            Err("watches[0].project".into())
        );
        assert_eq!(
            field(with(vec![watch(Some("a"), None), watch(Some(" a"), None)])),
            Err("watches[1]".into())
        );
        assert_eq!(
            field(with(
                (0..=MAX_WATCHES)
                    .map(|i| watch(None, Some(Uuid::from_u128(i as u128))))
                    .collect()
            )),
            Err("watches".into())
        );
        let zone = |z: &str| NotificationRules {
            time_zone: z.into(),
            ..NotificationRules::default()
        };
        assert!(field(zone("America/Chicago")).is_ok());
        assert_eq!(field(zone("Mars/Olympus")), Err("time_zone".into()));
        let quiet = |start: &str, end: &str| NotificationRules {
            quiet_hours: Some(QuietHours {
                start: start.into(),
                end: end.into(),
            }),
            ..NotificationRules::default()
        };
        assert!(field(quiet("22:00", "7:00")).is_ok());
        assert_eq!(field(quiet("25:00", "07:00")), Err("quiet_hours.start".into()));
        assert_eq!(field(quiet("22:00", "7")), Err("quiet_hours.end".into()));
        assert_eq!(field(quiet("22:00", "22:00")), Err("quiet_hours.end".into()));
    }

    #[test]
    fn digests_and_quiet_hours_hold_e_mail_in_local_time() {
        let mut r = NotificationRules::default();
        let now = at("2026-12-08T13:20:00Z");
        assert_eq!(r.email_hold(now), None, "no digest, no quiet hours: now");
        r.email_digest = EmailDigest::Hourly;
        assert_eq!(r.email_hold(now), Some(at("2026-12-08T14:00:00Z")));
        r.time_zone = "Asia/Kolkata".into(); // UTC+5:30: the local hour ends at :30 UTC
        assert_eq!(r.email_hold(now), Some(at("2026-12-08T13:30:00Z")));
        r.time_zone = "America/Chicago".into(); // UTC-6 in December
        r.email_digest = EmailDigest::Daily;
        assert_eq!(r.email_hold(now), Some(at("2026-12-08T14:00:00Z")), "08:00 in Chicago");
        r.email_digest = EmailDigest::Off;
        r.quiet_hours = Some(QuietHours {
            start: "22:00".into(),
            end: "07:00".into(),
        });
        assert_eq!(r.email_hold(now), None, "07:20 in Chicago is not quiet");
        let night = at("2026-12-09T05:00:00Z"); // 23:00 in Chicago
        assert_eq!(
            r.email_hold(night),
            Some(at("2026-12-09T13:00:00Z")),
            "held until 07:00"
        );
        r.quiet_hours = Some(QuietHours {
            start: "06:00".into(),
            end: "09:00".into(),
        });
        r.email_digest = EmailDigest::Daily;
        assert_eq!(
            r.email_hold(now),
            Some(at("2026-12-08T15:00:00Z")),
            "the 08:00 digest waits for 09:00"
        );
    }

    #[test]
    fn local_times_survive_clock_changes() {
        let tz: Tz = "Europe/Berlin".parse().expect("zone");
        // 2026-03-29 02:30 does not exist in Berlin (clocks jump 02:00 → 03:00).
        let gap = NaiveDateTime::parse_from_str("2026-03-29 02:30", "%Y-%m-%d %H:%M").expect("time");
        assert_eq!(instant(tz, gap), at("2026-03-29T01:30:00Z"));
        // 2026-10-25 02:30 happens twice: the first one.
        let twice = NaiveDateTime::parse_from_str("2026-10-25 02:30", "%Y-%m-%d %H:%M").expect("time");
        assert_eq!(instant(tz, twice), at("2026-10-25T00:30:00Z"));
        let q = QuietHours {
            start: "22:00".into(),
            end: "07:00".into(),
        };
        assert!(q.contains(NaiveTime::from_hms_opt(23, 0, 0).expect("t")));
        assert!(q.contains(NaiveTime::from_hms_opt(6, 59, 0).expect("t")));
        assert!(!q.contains(NaiveTime::from_hms_opt(7, 0, 0).expect("t")));
    }
}
