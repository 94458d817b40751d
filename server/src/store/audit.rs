//! The audit trail of archive reads.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{Result, Store, from_millis, to_millis};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessRecord {
    pub occurred_at: DateTime<Utc>,
    pub principal: String,
    pub source: String,
    pub path: String,
    /// `file` or the metadata view served.
    pub view: String,
    pub status: u16,
    pub bytes: u64,
    /// `HIT`/`MISS` when the cache was involved.
    pub cache: Option<String>,
}

impl AccessRecord {
    /// The record with NUL characters (which PostgreSQL cannot store in text, and which only
    /// a hostile request carries) written as the visible escape `\0`, so the attempt is still
    /// audited.
    pub fn sanitized(mut self) -> AccessRecord {
        for field in [&mut self.principal, &mut self.source, &mut self.path, &mut self.view] {
            if field.contains('\0') {
                *field = field.replace('\0', "\\0");
            }
        }
        if let Some(c) = self.cache.as_mut().filter(|c| c.contains('\0')) {
            *c = c.replace('\0', "\\0");
        }
        self
    }
}

impl Store {
    /// Keeps a record that could not be written, as JSON text with the reason.
    pub async fn quarantine_access(&self, record: &AccessRecord, reason: &str, now: DateTime<Utc>) -> Result<()> {
        let json =
            serde_json::to_string(record).map_err(|e| super::StoreError::Corrupt(format!("audit record: {e}")))?;
        sqlx::query("insert into fits_access_quarantine (created_at, record, reason) values ($1, $2, $3)")
            .bind(to_millis(now))
            .bind(json)
            .bind(reason.replace('\0', "\\0"))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Quarantined records, newest first: (record JSON, reason).
    pub async fn quarantined_access(&self, limit: u32) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "select record, reason from fits_access_quarantine order by fits_access_quarantine_id desc limit $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("record")?, r.try_get("reason")?)))
            .collect()
    }

    /// Appends records in one transaction.
    pub async fn record_access(&self, records: &[AccessRecord]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for r in records {
            sqlx::query(
                "insert into fits_access (occurred_at, principal, source, path, view, status, bytes, cache) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(to_millis(r.occurred_at))
            .bind(r.principal.clone())
            .bind(r.source.clone())
            .bind(r.path.clone())
            .bind(r.view.clone())
            .bind(i64::from(r.status))
            .bind(i64::try_from(r.bytes).unwrap_or(i64::MAX))
            .bind(r.cache.clone())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The newest records first.
    pub async fn recent_access(&self, limit: u32) -> Result<Vec<AccessRecord>> {
        let rows = sqlx::query("select * from fits_access order by fits_access_id desc limit $1")
            .bind(i64::from(limit))
            .fetch_all(&self.reader)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AccessRecord {
                    occurred_at: from_millis(r.try_get("occurred_at")?)?,
                    principal: r.try_get("principal")?,
                    source: r.try_get("source")?,
                    path: r.try_get("path")?,
                    view: r.try_get("view")?,
                    status: u16::try_from(r.try_get::<i64, _>("status")?).unwrap_or(0),
                    bytes: u64::try_from(r.try_get::<i64, _>("bytes")?).unwrap_or(0),
                    cache: r.try_get("cache")?,
                })
            })
            .collect()
    }
}
