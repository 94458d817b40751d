//! Users' notifications and their rules (migration 0012). Every change of a notification is
//! written with its `notification.*` event in one transaction, like a job's changes.

use ch_api::MarkAction;
use ch_domain::{EventType, JobEvent, NewEvent, Notification, NotificationKind, NotificationRules, QuietHours, Watch};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use tracing::instrument;
use uuid::Uuid;

use super::{Result, Store, StoreError, from_millis, parse, to_millis};

/// Most notifications one mark-all call changes (the rest stay for the next call).
pub const MARK_ALL_LIMIT: u32 = 1000;

/// The event that records `action`.
fn event_type(action: MarkAction) -> EventType {
    match action {
        MarkAction::Read => EventType::NotificationRead,
        MarkAction::Unread => EventType::NotificationUnread,
        MarkAction::Dismiss => EventType::NotificationDismissed,
    }
}

/// Applies `action` to `n` at `now`; `false` when it changes nothing (already read, …).
fn apply(action: MarkAction, n: &mut Notification, now: DateTime<Utc>) -> bool {
    let slot = match action {
        MarkAction::Read if n.read_at.is_none() => &mut n.read_at,
        MarkAction::Dismiss if n.dismissed_at.is_none() => &mut n.dismissed_at,
        MarkAction::Unread if n.read_at.is_some() => {
            n.read_at = None;
            return true;
        }
        _ => return false,
    };
    *slot = Some(now);
    true
}

/// A page of one user's inbox, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxPage {
    pub items: Vec<Notification>,
    /// Whether older notifications follow the page.
    pub more: bool,
}

/// Kind names as stored (a JSON array), in rules, watches and `job.notify`.
pub(super) fn kinds_json(kinds: &[NotificationKind]) -> String {
    serde_json::Value::from(kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>()).to_string()
}

/// Kinds from [`kinds_json`]'s form; a kind a later version dropped is ignored rather than
/// failing every read.
pub(super) fn kinds_from(json: &str) -> Result<Vec<NotificationKind>> {
    let names: Vec<String> =
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("notification kinds: {e}")))?;
    Ok(names.iter().filter_map(|k| NotificationKind::parse(k)).collect())
}

const COLUMNS: &str = "notification_id, user_id, source_event_id, kind, job_id, title, body, created_at, \
                       read_at, dismissed_at";

fn from_row(row: &AnyRow) -> Result<Notification> {
    let kind: String = row.try_get("kind")?;
    let millis =
        |c: &str| -> Result<Option<DateTime<Utc>>> { row.try_get::<Option<i64>, _>(c)?.map(from_millis).transpose() };
    Ok(Notification {
        id: parse("notification_id", &row.try_get::<String, _>("notification_id")?)?,
        user_id: parse("user_id", &row.try_get::<String, _>("user_id")?)?,
        kind: NotificationKind::parse(&kind).ok_or_else(|| StoreError::Corrupt(format!("notification kind {kind}")))?,
        source_event_id: parse("source_event_id", &row.try_get::<String, _>("source_event_id")?)?,
        job_id: parse("job_id", &row.try_get::<String, _>("job_id")?)?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        read_at: millis("read_at")?,
        dismissed_at: millis("dismissed_at")?,
    })
}

impl Store {
    /// Saves notifications, each with its `notification.sent` event and its deliveries (e-mail,
    /// webhooks: its `routes`), in one transaction. A notification whose (user, source event)
    /// pair is already saved is skipped with its event and deliveries: the notifier may offer
    /// the same job event again after a crash. Returns the events committed (those of the
    /// notifications that were new), in offset order.
    #[instrument(skip_all, fields(n = items.len()), err)]
    pub async fn record_notifications(
        &self,
        items: Vec<(Notification, NewEvent, Vec<super::Route>)>,
    ) -> Result<Vec<JobEvent>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await?;
        let mut events = Vec::with_capacity(items.len());
        for (n, event, routes) in items {
            let inserted = sqlx::query(&format!(
                "insert into notification ({COLUMNS}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
                 on conflict (user_id, source_event_id) do nothing"
            ))
            .bind(n.id.to_string())
            .bind(n.user_id.to_string())
            .bind(n.source_event_id.to_string())
            .bind(n.kind.as_str())
            .bind(n.job_id.to_string())
            .bind(n.title.clone())
            .bind(n.body.clone())
            .bind(to_millis(n.created_at))
            .bind(n.read_at.map(to_millis))
            .bind(n.dismissed_at.map(to_millis))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                for route in &routes {
                    self.queue_delivery(&mut tx, n.id, n.user_id, route, n.created_at)
                        .await?;
                }
                events.push(event);
            }
        }
        let committed = self.append_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(committed)
    }

    /// One page of `user_id`'s inbox, newest first, without dismissed notifications;
    /// `unread_only` leaves read ones out; `before` continues after the last page's oldest id.
    #[instrument(skip(self), err)]
    pub async fn inbox(&self, user_id: Uuid, unread_only: bool, before: Option<Uuid>, limit: u32) -> Result<InboxPage> {
        let unread = if unread_only { " and read_at is null" } else { "" };
        // UUIDv7 ids sort by creation time, so the id alone orders the pages.
        let (older, bind_before) = match before {
            Some(id) => (" and notification_id < $2", Some(id.to_string())),
            None => ("", None),
        };
        let limit_param = if bind_before.is_some() { "$3" } else { "$2" };
        let sql = format!(
            "select {COLUMNS} from notification where user_id = $1 and dismissed_at is null{unread}{older} \
             order by notification_id desc limit {limit_param}"
        );
        let mut q = sqlx::query(&sql).bind(user_id.to_string());
        if let Some(b) = bind_before {
            q = q.bind(b);
        }
        let rows = q.bind(i64::from(limit) + 1).fetch_all(&self.reader).await?;
        let mut items = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        Ok(InboxPage { items, more })
    }

    /// One notification by id, whoever it is addressed to.
    pub async fn notification(&self, id: Uuid) -> Result<Option<Notification>> {
        let row = sqlx::query(&format!(
            "select {COLUMNS} from notification where notification_id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// How many of `user_id`'s notifications are unread (dismissed ones do not count).
    pub async fn unread_notifications(&self, user_id: Uuid) -> Result<i64> {
        Ok(sqlx::query(
            "select count(*) as n from notification where user_id = $1 and read_at is null and dismissed_at is null",
        )
        .bind(user_id.to_string())
        .fetch_one(&self.reader)
        .await?
        .try_get("n")?)
    }

    /// Marks `user_id`'s notifications `ids` (all unread ones when `None`, at most
    /// [`MARK_ALL_LIMIT`]) and writes one event per notification that changed, made by
    /// `event(notification, event_type)`. Ids of other users' notifications are left alone,
    /// as unknown ones. Returns the notifications that changed, as they now are, and the
    /// committed events.
    #[instrument(skip(self, event), err)]
    pub async fn mark_notifications(
        &self,
        user_id: Uuid,
        ids: Option<&[Uuid]>,
        mark: MarkAction,
        now: DateTime<Utc>,
        event: impl Fn(&Notification, EventType) -> NewEvent,
    ) -> Result<(Vec<Notification>, Vec<JobEvent>)> {
        let mut tx = self.pool.begin().await?;
        let rows = match ids {
            Some(ids) => {
                let mut binds = vec![user_id.to_string()];
                let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
                let filter = super::in_list("notification_id", &ids, &mut binds);
                let sql = format!("select {COLUMNS} from notification where user_id = $1 and {filter}");
                let mut q = sqlx::query(&sql);
                for b in binds {
                    q = q.bind(b);
                }
                q.fetch_all(&mut *tx).await?
            }
            None => {
                sqlx::query(&format!(
                    "select {COLUMNS} from notification where user_id = $1 and read_at is null \
                     and dismissed_at is null order by notification_id limit $2"
                ))
                .bind(user_id.to_string())
                .bind(i64::from(MARK_ALL_LIMIT))
                .fetch_all(&mut *tx)
                .await?
            }
        };
        let mut changed = Vec::new();
        for row in &rows {
            let mut n = from_row(row)?;
            if !apply(mark, &mut n, now) {
                continue;
            }
            sqlx::query("update notification set read_at = $1, dismissed_at = $2 where notification_id = $3")
                .bind(n.read_at.map(to_millis))
                .bind(n.dismissed_at.map(to_millis))
                .bind(n.id.to_string())
                .execute(&mut *tx)
                .await?;
            changed.push(n);
        }
        let events = changed.iter().map(|n| event(n, event_type(mark))).collect();
        let committed = self.append_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok((changed, committed))
    }

    /// `user_id`'s saved rules (`None`: they never saved any; the defaults apply).
    #[instrument(skip(self), err)]
    pub async fn notification_rules(&self, user_id: Uuid) -> Result<Option<NotificationRules>> {
        let row = sqlx::query(
            "select kinds, in_app, email, email_digest, quiet_start, quiet_end, time_zone \
             from notification_rule where user_id = $1",
        )
        .bind(user_id.to_string())
        .fetch_optional(&self.reader)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let digest: String = row.try_get("email_digest")?;
        let quiet = match (
            row.try_get::<Option<String>, _>("quiet_start")?,
            row.try_get::<Option<String>, _>("quiet_end")?,
        ) {
            (Some(start), Some(end)) => Some(QuietHours { start, end }),
            _ => None,
        };
        let watches =
            sqlx::query("select project, job_id, kinds from notification_watch where user_id = $1 order by position")
                .bind(user_id.to_string())
                .fetch_all(&self.reader)
                .await?
                .iter()
                .map(|w| {
                    Ok(Watch {
                        project: w.try_get("project")?,
                        job_id: w
                            .try_get::<Option<String>, _>("job_id")?
                            .map(|j| parse("job_id", &j))
                            .transpose()?,
                        kinds: kinds_from(&w.try_get::<String, _>("kinds")?)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
        Ok(Some(NotificationRules {
            kinds: kinds_from(&row.try_get::<String, _>("kinds")?)?,
            in_app: row.try_get::<i64, _>("in_app")? != 0,
            email: row.try_get("email")?,
            watches,
            email_digest: serde_json::from_value(serde_json::Value::String(digest.clone()))
                .map_err(|_| StoreError::Corrupt(format!("e-mail digest {digest}")))?,
            quiet_hours: quiet,
            time_zone: row.try_get("time_zone")?,
        }))
    }

    /// Saves `user_id`'s rules (already validated), replacing any earlier ones and their
    /// watches, in one transaction.
    #[instrument(skip(self), err)]
    pub async fn save_notification_rules(
        &self,
        user_id: Uuid,
        rules: &NotificationRules,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let digest = serde_json::to_value(rules.email_digest)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "off".to_owned());
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "insert into notification_rule (user_id, kinds, in_app, email, updated_at, email_digest, quiet_start, \
             quiet_end, time_zone) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             on conflict (user_id) do update set kinds = excluded.kinds, in_app = excluded.in_app, \
             email = excluded.email, updated_at = excluded.updated_at, email_digest = excluded.email_digest, \
             quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end, time_zone = excluded.time_zone",
        )
        .bind(user_id.to_string())
        .bind(kinds_json(&rules.kinds))
        .bind(i64::from(rules.in_app))
        .bind(rules.email.clone())
        .bind(to_millis(now))
        .bind(digest)
        .bind(rules.quiet_hours.as_ref().map(|q| q.start.clone()))
        .bind(rules.quiet_hours.as_ref().map(|q| q.end.clone()))
        .bind(rules.time_zone.clone())
        .execute(&mut *tx)
        .await?;
        sqlx::query("delete from notification_watch where user_id = $1")
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        for (position, w) in rules.watches.iter().enumerate() {
            sqlx::query(
                "insert into notification_watch (user_id, project, job_id, kinds, position) values ($1, $2, $3, $4, $5)",
            )
            .bind(user_id.to_string())
            .bind(w.project.clone())
            .bind(w.job_id.map(|j| j.to_string()))
            .bind(kinds_json(&w.kinds))
            .bind(i64::try_from(position).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The users who watch project `project` or job `job_id` (each once).
    #[instrument(skip(self), err)]
    pub async fn watchers(&self, project: &str, job_id: Uuid) -> Result<Vec<Uuid>> {
        let rows = sqlx::query("select distinct user_id from notification_watch where project = $1 or job_id = $2")
            .bind(project.to_owned())
            .bind(job_id.to_string())
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| parse("user_id", &r.try_get::<String, _>("user_id")?))
            .collect()
    }
}
