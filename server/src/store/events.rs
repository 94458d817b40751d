//! The event log (a transactional outbox): append-only, with a monotonically increasing offset.

use ch_domain::{EventType, JobEvent, NewEvent};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use tracing::instrument;
use uuid::Uuid;

use super::{Backend, Result, Store, StoreError, from_millis, parse, to_millis};

/// Serialises event writers on PostgreSQL so offsets become visible in commit order; without
/// it a reader could see offset 11 committed before 10 and skip 10 for good.
const OUTBOX_LOCK_KEY: i64 = 0x4348_4f55_5442_4f58;

/// PostgreSQL `NOTIFY` channel announcing committed events (see `bus::listen_for_commits`).
pub const COMMIT_CHANNEL: &str = "ch_event_committed";

/// Bound parameters per event row.
const EVENT_COLUMNS: usize = 10;

/// Events per multi-row `insert` (10 parameters each, well under both databases' limits).
const EVENTS_PER_STATEMENT: usize = 512;

fn event_from_row(row: &AnyRow) -> Result<JobEvent> {
    let event_type: String = row.try_get("event_type")?;
    let payload: String = row.try_get("payload")?;
    let schema_version: i64 = row.try_get("schema_version")?;
    Ok(JobEvent {
        offset: row.try_get("job_event_offset")?,
        event_id: parse("event_id", &row.try_get::<String, _>("event_id")?)?,
        event_type: EventType::parse(&event_type)
            .ok_or_else(|| StoreError::Corrupt(format!("event_type {event_type}")))?,
        schema_version: u32::try_from(schema_version)
            .map_err(|_| StoreError::Corrupt(format!("schema_version {schema_version}")))?,
        occurred_at: from_millis(row.try_get("occurred_at")?)?,
        correlation_id: row.try_get("correlation_id")?,
        causation_id: row
            .try_get::<Option<String>, _>("causation_id")?
            .map(|s| parse::<Uuid>("causation_id", &s))
            .transpose()?,
        job_id: parse("job_id", &row.try_get::<String, _>("job_id")?)?,
        actor: row.try_get("actor")?,
        payload: serde_json::from_str(&payload).map_err(|e| StoreError::Corrupt(format!("payload: {e}")))?,
    })
}

impl Store {
    pub(super) async fn append_events(
        &self,
        tx: &mut Transaction<'static, Any>,
        events: Vec<NewEvent>,
    ) -> Result<Vec<JobEvent>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        if self.backend == Backend::Postgres {
            sqlx::query("select pg_advisory_xact_lock($1)")
                .bind(OUTBOX_LOCK_KEY)
                .execute(&mut **tx)
                .await?;
            // Delivered at commit (and only then) to every instance listening on this
            // database: their relays read the new events at once instead of at the next poll.
            sqlx::query("select pg_notify($1, '')")
                .bind(COMMIT_CHANNEL)
                .execute(&mut **tx)
                .await?;
        }
        let mut out = Vec::with_capacity(events.len());
        for chunk in events.chunks(EVENTS_PER_STATEMENT) {
            let tuples: Vec<String> = (0..chunk.len()).map(|k| self.placeholders(k, EVENT_COLUMNS)).collect();
            let sql = format!(
                "insert into job_event (event_id, event_type, schema_version, occurred_at, correlation_id, \
                 causation_id, job_id, actor, payload, recipient_id) values {} returning event_id, job_event_offset",
                tuples.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for ev in chunk {
                q = q
                    .bind(ev.event_id.to_string())
                    .bind(ev.event_type.as_str())
                    .bind(i64::from(ev.schema_version))
                    .bind(to_millis(ev.occurred_at))
                    .bind(ev.correlation_id.clone())
                    .bind(ev.causation_id.map(|c| c.to_string()))
                    .bind(ev.job_id.to_string())
                    .bind(ev.actor.clone())
                    .bind(ev.payload.to_string())
                    .bind(ev.recipient().map(|r| r.to_string()));
            }
            // RETURNING's row order is not promised by either database: match by event id.
            let mut offsets = std::collections::HashMap::with_capacity(chunk.len());
            for row in q.fetch_all(&mut **tx).await? {
                let id: String = row.try_get("event_id")?;
                offsets.insert(id, row.try_get::<i64, _>("job_event_offset")?);
            }
            for ev in chunk {
                let offset = offsets
                    .get(&ev.event_id.to_string())
                    .copied()
                    .ok_or_else(|| StoreError::Corrupt(format!("no offset returned for event {}", ev.event_id)))?;
                out.push(ev.clone().committed(offset));
            }
        }
        out.sort_by_key(|e| e.offset);
        Ok(out)
    }

    /// Committed events with offset > `after`, in offset order.
    #[instrument(skip(self), err)]
    pub async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<JobEvent>> {
        let rows =
            sqlx::query("select * from job_event where job_event_offset > $1 order by job_event_offset limit $2")
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Like [`Store::events_after`], limited to the job events (no user's notifications) of
    /// jobs in the `visible` projects (`None` = all). Offsets of the events left out leave
    /// gaps; order is kept.
    #[instrument(skip(self), err)]
    pub async fn events_after_visible(
        &self,
        after: i64,
        limit: u32,
        visible: Option<&[String]>,
    ) -> Result<Vec<JobEvent>> {
        let Some(projects) = visible else {
            let rows = sqlx::query(
                "select * from job_event where job_event_offset > $1 and recipient_id is null \
                 order by job_event_offset limit $2",
            )
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await?;
            return rows.iter().map(event_from_row).collect();
        };
        self.events_after_in_scope(after, limit, projects, None).await
    }

    /// Events after `after` that a stream covering `projects` and `recipient`'s
    /// notifications carries: job events of jobs in those projects, and notification events
    /// addressed to `recipient`. In offset order, one page of `limit`.
    #[instrument(skip(self), err)]
    pub async fn events_after_in_scope(
        &self,
        after: i64,
        limit: u32,
        projects: &[String],
        recipient: Option<Uuid>,
    ) -> Result<Vec<JobEvent>> {
        // $1 is `after`, $2 the recipient (no event has the empty one); the project names
        // follow, then the limit.
        let mut binds = vec![String::new(), recipient.map(|r| r.to_string()).unwrap_or_default()];
        let filter = super::in_list("j.project", projects, &mut binds);
        let sql = format!(
            "select e.* from job_event e join job j on j.job_id = e.job_id where e.job_event_offset > $1 \
             and ((e.recipient_id is null and {filter}) or e.recipient_id = $2) \
             order by e.job_event_offset limit ${}",
            binds.len() + 1
        );
        let mut q = sqlx::query(&sql).bind(after);
        for b in binds.into_iter().skip(1) {
            q = q.bind(b);
        }
        let rows = q.bind(i64::from(limit)).fetch_all(&self.reader).await?;
        rows.iter().map(event_from_row).collect()
    }

    /// The life of one job, in order: its job events, without users' notification events.
    #[instrument(skip(self), err)]
    pub async fn events_for_job(&self, job_id: Uuid) -> Result<Vec<JobEvent>> {
        let rows =
            sqlx::query("select * from job_event where job_id = $1 and recipient_id is null order by job_event_offset")
                .bind(job_id.to_string())
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Whether job `job_id` has an event of `event_type` that occurred at or after `since`
    /// (read from the primary, so a check-then-write under the job's version sees the latest).
    #[instrument(skip(self), err)]
    pub async fn has_event_since(&self, job_id: Uuid, event_type: EventType, since: DateTime<Utc>) -> Result<bool> {
        let row = sqlx::query(
            "select 1 as found from job_event where job_id = $1 and event_type = $2 and occurred_at >= $3 limit 1",
        )
        .bind(job_id.to_string())
        .bind(event_type.as_str())
        .bind(to_millis(since))
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.is_some())
    }

    /// The notification events addressed to `user_id` with offset > `after`, in offset order.
    #[instrument(skip(self), err)]
    pub async fn events_for_recipient(&self, user_id: Uuid, after: i64, limit: u32) -> Result<Vec<JobEvent>> {
        let rows = sqlx::query(
            "select * from job_event where recipient_id = $1 and job_event_offset > $2 \
             order by job_event_offset limit $3",
        )
        .bind(user_id.to_string())
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Offset of the newest committed event (0 when the log is empty).
    pub async fn latest_offset(&self) -> Result<i64> {
        let row = sqlx::query("select coalesce(max(job_event_offset), 0) as o from job_event")
            .fetch_one(&self.reader)
            .await?;
        Ok(row.try_get("o")?)
    }
}

impl Store {
    /// The event log's epoch: a random id made the first time it is asked for and kept in the
    /// database (table `event_stream`), so every server instance on one database agrees on it.
    #[instrument(skip(self), err)]
    pub async fn stream_epoch(&self) -> Result<String> {
        let fresh = Uuid::new_v4().simple().to_string();
        sqlx::query(
            "insert into event_stream (event_stream_id, epoch, created_at) values (1, $1, $2) \
             on conflict (event_stream_id) do nothing",
        )
        .bind(fresh)
        .bind(to_millis(chrono::Utc::now()))
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("select epoch from event_stream where event_stream_id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("epoch")?)
    }
}
