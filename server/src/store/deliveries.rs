//! Deliveries of notifications by e-mail and to webhooks (migrations 0013, 0014): queued with
//! their notification, sent by the delivery worker (`notify::deliver`), which claims a row
//! before it sends.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use tracing::instrument;
use uuid::Uuid;

use super::{Result, Store, StoreError, from_millis, parse, to_millis};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// To be sent at `next_attempt_at`.
    Pending,
    /// Held by the hourly per-user limit; goes out in one digest at `next_attempt_at`.
    Digest,
    Sent,
    /// Given up after the last attempt.
    Dead,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Digest => "digest",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Dead => "dead",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Digest,
            DeliveryStatus::Sent,
            DeliveryStatus::Dead,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
    }
}

/// The channel name of e-mail deliveries.
pub const EMAIL: &str = "email";
/// Channel names of webhook deliveries: this prefix and the webhook's id.
const WEBHOOK_PREFIX: &str = "webhook:";

/// The channel of deliveries to webhook `id` (`webhook:<id>`; [`Delivery::webhook`] reads it
/// back).
pub fn webhook_channel(id: Uuid) -> String {
    format!("{WEBHOOK_PREFIX}{id}")
}

/// Where a new notification goes besides the inbox: a channel (`email`, `webhook:<id>`) and
/// its target there (the address, the URL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub channel: String,
    pub target: String,
    /// Held until then, to go out in one digest with the others held with it (the user's
    /// digest setting or quiet hours); `None`: sent at once.
    pub hold_until: Option<DateTime<Utc>>,
}

/// One queued delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: Uuid,
    pub notification_id: Uuid,
    pub user_id: Uuid,
    /// `email` or `webhook:<id>`.
    pub channel: String,
    /// The address or URL.
    pub target: String,
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub last_error: Option<String>,
    /// The receiver's HTTP status on the last attempt (webhooks).
    pub response_status: Option<u16>,
    pub latency_ms: Option<i64>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl Delivery {
    /// The webhook a webhook delivery goes to.
    pub fn webhook(&self) -> Option<Uuid> {
        self.channel.strip_prefix(WEBHOOK_PREFIX)?.parse().ok()
    }
}

const COLUMNS: &str = "notification_delivery_id, notification_id, user_id, channel, target, status, attempts, \
                       next_attempt_at, created_at, last_error, response_status, latency_ms, sent_at";

fn from_row(row: &AnyRow) -> Result<Delivery> {
    let status: String = row.try_get("status")?;
    let attempts: i64 = row.try_get("attempts")?;
    Ok(Delivery {
        id: parse(
            "notification_delivery_id",
            &row.try_get::<String, _>("notification_delivery_id")?,
        )?,
        notification_id: parse("notification_id", &row.try_get::<String, _>("notification_id")?)?,
        user_id: parse("user_id", &row.try_get::<String, _>("user_id")?)?,
        channel: row.try_get("channel")?,
        target: row.try_get("target")?,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("delivery status {status}")))?,
        attempts: u32::try_from(attempts).map_err(|_| StoreError::Corrupt(format!("attempts {attempts}")))?,
        next_attempt_at: from_millis(row.try_get("next_attempt_at")?)?,
        created_at: from_millis(row.try_get("created_at")?)?,
        last_error: row.try_get("last_error")?,
        response_status: row
            .try_get::<Option<i64>, _>("response_status")?
            .and_then(|s| u16::try_from(s).ok()),
        latency_ms: row.try_get("latency_ms")?,
        sent_at: row.try_get::<Option<i64>, _>("sent_at")?.map(from_millis).transpose()?,
    })
}

impl Store {
    /// Queues a delivery of notification `notification_id` along `route` inside `tx` (the
    /// transaction that saves the notification).
    pub(super) async fn queue_delivery(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        notification_id: Uuid,
        user_id: Uuid,
        route: &Route,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "insert into notification_delivery (notification_delivery_id, notification_id, user_id, channel, target, \
             status, attempts, next_attempt_at, created_at) values ($1, $2, $3, $4, $5, $6, 0, $7, $8)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(notification_id.to_string())
        .bind(user_id.to_string())
        .bind(route.channel.clone())
        .bind(route.target.clone())
        .bind(if route.hold_until.is_some() {
            "digest"
        } else {
            "pending"
        })
        .bind(to_millis(route.hold_until.unwrap_or(now)))
        .bind(to_millis(now))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The oldest `limit` deliveries still to send (pending or held for a digest), in the
    /// order they were queued, due or not: the worker keeps each target's order by sending
    /// only a target's oldest one.
    #[instrument(skip(self), err)]
    pub async fn open_deliveries(&self, limit: u32) -> Result<Vec<Delivery>> {
        let rows = sqlx::query(&format!(
            "select {COLUMNS} from notification_delivery where status in ('pending', 'digest') \
             order by created_at, notification_delivery_id limit $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// The oldest open delivery (pending or held for a digest) along `channel` to `target`.
    #[instrument(skip(self), err)]
    pub async fn next_delivery_on(&self, channel: &str, target: &str) -> Result<Option<Delivery>> {
        let row = sqlx::query(&format!(
            "select {COLUMNS} from notification_delivery where target = $1 and channel = $2 \
             and status in ('pending', 'digest') order by created_at, notification_delivery_id limit 1"
        ))
        .bind(target.to_owned())
        .bind(channel.to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Takes delivery `id` for `lease_ms` unless another worker holds it; `false` when it is
    /// taken or no longer open.
    pub async fn claim_delivery(&self, id: Uuid, now: DateTime<Utc>, lease_ms: i64) -> Result<bool> {
        let n = sqlx::query(
            "update notification_delivery set claimed_until = $1 where notification_delivery_id = $2 \
             and status in ('pending', 'digest') and (claimed_until is null or claimed_until < $3)",
        )
        .bind(to_millis(now) + lease_ms)
        .bind(id.to_string())
        .bind(to_millis(now))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Records that deliveries `ids` went out at `now`, `latency_ms` after their notification
    /// (the receiver answered `response_status`, for webhooks).
    pub async fn deliveries_sent(
        &self,
        ids: &[Uuid],
        now: DateTime<Utc>,
        latency_ms: i64,
        response_status: Option<u16>,
    ) -> Result<()> {
        for id in ids {
            sqlx::query(
                "update notification_delivery set status = 'sent', sent_at = $1, latency_ms = $2, \
                 attempts = attempts + 1, claimed_until = null, last_error = null, response_status = $3 \
                 where notification_delivery_id = $4",
            )
            .bind(to_millis(now))
            .bind(latency_ms)
            .bind(response_status.map(i64::from))
            .bind(id.to_string())
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    /// Records a failed attempt (the receiver's `response_status`, if it answered): tried
    /// again at `retry_at`, or given up (`dead`) when `None`.
    pub async fn delivery_failed(
        &self,
        id: Uuid,
        error: &str,
        response_status: Option<u16>,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<()> {
        let (status, next) = match retry_at {
            Some(t) => (DeliveryStatus::Pending, Some(to_millis(t))),
            None => (DeliveryStatus::Dead, None),
        };
        sqlx::query(
            "update notification_delivery set status = $1, attempts = attempts + 1, \
             next_attempt_at = coalesce($2, next_attempt_at), last_error = $3, claimed_until = null, \
             response_status = $4 where notification_delivery_id = $5",
        )
        .bind(status.as_str())
        .bind(next)
        .bind(error.chars().take(1000).collect::<String>())
        .bind(response_status.map(i64::from))
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Holds delivery `id` for the digest sent at `until` (the user reached their hourly limit).
    pub async fn delivery_held(&self, id: Uuid, until: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "update notification_delivery set status = 'digest', next_attempt_at = $1, claimed_until = null \
             where notification_delivery_id = $2",
        )
        .bind(to_millis(until))
        .bind(id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Moves the e-mail of `user_id` held for a digest to `until` (their rules changed: a
    /// digest or quiet hours they dropped no longer hold it). Returns how many moved.
    #[instrument(skip(self), err)]
    pub async fn retime_held_email(&self, user_id: Uuid, until: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query(
            "update notification_delivery set next_attempt_at = $1 \
             where user_id = $2 and channel = 'email' and status = 'digest'",
        )
        .bind(to_millis(until))
        .bind(user_id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// The times e-mails went to `user_id` at or after `since`, oldest first, one per message
    /// (a digest's rows share theirs): the hourly limit counts them and the oldest says when
    /// the hour ends.
    pub async fn emails_sent_since(&self, user_id: Uuid, since: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>> {
        let rows = sqlx::query(
            "select sent_at from notification_delivery where user_id = $1 and channel = $2 and status = 'sent' \
             and sent_at >= $3 order by sent_at",
        )
        .bind(user_id.to_string())
        .bind(EMAIL)
        .bind(to_millis(since))
        .fetch_all(&self.reader)
        .await?;
        let mut times = rows
            .iter()
            .map(|r| from_millis(r.try_get("sent_at")?))
            .collect::<Result<Vec<_>>>()?;
        times.dedup();
        Ok(times)
    }

    /// The newest `limit` deliveries along `channel`, newest first (a webhook's log).
    pub async fn deliveries_on(&self, channel: &str, limit: u32) -> Result<Vec<Delivery>> {
        let rows = sqlx::query(&format!(
            "select {COLUMNS} from notification_delivery where channel = $1 \
             order by created_at desc, notification_delivery_id desc limit $2"
        ))
        .bind(channel.to_owned())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// One delivery by id.
    pub async fn delivery(&self, id: Uuid) -> Result<Option<Delivery>> {
        let row = sqlx::query(&format!(
            "select {COLUMNS} from notification_delivery where notification_delivery_id = $1"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Queues dead delivery `id` again (attempts from zero, due at `now`); `false` when it is
    /// not dead.
    pub async fn revive_delivery(&self, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
        let n = sqlx::query(
            "update notification_delivery set status = 'pending', attempts = 0, next_attempt_at = $1, \
             claimed_until = null where notification_delivery_id = $2 and status = 'dead'",
        )
        .bind(to_millis(now))
        .bind(id.to_string())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Gives up every open delivery along `channel` (a webhook that was removed).
    pub async fn abandon_deliveries(&self, channel: &str, why: &str) -> Result<()> {
        sqlx::query(
            "update notification_delivery set status = 'dead', last_error = $1, claimed_until = null \
             where channel = $2 and status in ('pending', 'digest')",
        )
        .bind(why.to_owned())
        .bind(channel.to_owned())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The deliveries of one notification (for tests and the delivery log).
    pub async fn deliveries_of(&self, notification_id: Uuid) -> Result<Vec<Delivery>> {
        let rows = sqlx::query(&format!(
            "select {COLUMNS} from notification_delivery where notification_id = $1 order by created_at"
        ))
        .bind(notification_id.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(from_row).collect()
    }
}
