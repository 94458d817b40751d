//! Saved positions of durable relays in the event log (table `relay_cursor`).

use sqlx::Row;
use tracing::instrument;

use super::{Result, Store, to_millis};

impl Store {
    /// The offset relay `name` last saved (the last event its sink acknowledged); `None` when
    /// it never ran.
    #[instrument(skip(self), err)]
    pub async fn relay_cursor(&self, name: &str) -> Result<Option<i64>> {
        let row = sqlx::query("select event_offset from relay_cursor where relay_name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("event_offset")).transpose()?)
    }

    /// Saves `offset` as relay `name`'s position. A cursor only moves forward: an older
    /// offset (a relay that lost a race with another on the same name) changes nothing.
    #[instrument(skip(self), err(level = "debug"))]
    pub async fn save_relay_cursor(&self, name: &str, offset: i64) -> Result<()> {
        sqlx::query(
            "insert into relay_cursor (relay_name, event_offset, updated_at) values ($1, $2, $3) \
             on conflict (relay_name) do update set event_offset = excluded.event_offset, \
             updated_at = excluded.updated_at where relay_cursor.event_offset < excluded.event_offset",
        )
        .bind(name)
        .bind(offset)
        .bind(to_millis(chrono::Utc::now()))
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
