//! Idempotency records of job submissions (`Idempotency-Key`): the first answer to a keyed
//! submission, stored in the transaction that creates its jobs (see migration 0008).

use ch_domain::{Job, JobEvent, NewEvent};
use chrono::{DateTime, Utc};
use sqlx::Row;
use tracing::instrument;

use super::{Result, Store, StoreError, from_millis, to_millis};

/// How long a key is remembered (as Stripe's idempotency keys: 24 hours).
pub const KEEP_HOURS: i64 = 24;

/// One keyed submission as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionRecord {
    /// The user who submitted (keys are per user).
    pub owner: String,
    pub key: String,
    /// SHA-256 (hex) of the route and the request body: a key reused for another request is
    /// refused.
    pub request_hash: String,
    /// The first answer's body (JSON).
    pub response: String,
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Creates `jobs` with their events and `record`, atomically; records older than
    /// [`KEEP_HOURS`] are dropped in the same transaction. A key the owner already used
    /// answers [`StoreError::Duplicate`] and creates nothing.
    #[instrument(skip_all, fields(owner = %record.owner, jobs = jobs.len()), err(level = "debug"))]
    pub async fn create_jobs_keyed(
        &self,
        jobs: &[(Job, Vec<NewEvent>)],
        record: &SubmissionRecord,
    ) -> Result<Vec<JobEvent>> {
        let mut tx = self.pool.begin().await?;
        let cutoff = record.created_at - chrono::Duration::hours(KEEP_HOURS);
        sqlx::query("delete from job_submission where created_at < $1")
            .bind(to_millis(cutoff))
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "insert into job_submission (owner, idempotency_key, request_hash, response, created_at) values ($1, $2, $3, $4, $5)",
        )
        .bind(&record.owner)
        .bind(&record.key)
        .bind(&record.request_hash)
        .bind(&record.response)
        .bind(to_millis(record.created_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                StoreError::Duplicate(format!("idempotency key '{}'", record.key))
            }
            other => StoreError::Sqlx(other),
        })?;
        let events = self.insert_jobs(&mut tx, jobs).await?;
        tx.commit().await?;
        Ok(events)
    }

    /// The record of `owner`'s key, if one younger than [`KEEP_HOURS`] exists.
    pub async fn submission(&self, owner: &str, key: &str, now: DateTime<Utc>) -> Result<Option<SubmissionRecord>> {
        let cutoff = now - chrono::Duration::hours(KEEP_HOURS);
        let row = sqlx::query(
            "select owner, idempotency_key, request_hash, response, created_at from job_submission \
             where owner = $1 and idempotency_key = $2 and created_at >= $3",
        )
        .bind(owner)
        .bind(key)
        .bind(to_millis(cutoff))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(SubmissionRecord {
                owner: r.try_get("owner")?,
                key: r.try_get("idempotency_key")?,
                request_hash: r.try_get("request_hash")?,
                response: r.try_get("response")?,
                created_at: from_millis(r.try_get("created_at")?)?,
            })
        })
        .transpose()
    }
}
