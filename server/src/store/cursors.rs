//! Saved positions of durable relays in the event log (table `relay_cursor`), and the lease
//! that lets one server instance at a time run a durable relay.

use sqlx::pool::PoolConnection;
use sqlx::{Any, Row};
use tracing::instrument;

use super::{Backend, Result, Store, to_millis};

/// The advisory-lock key of relay `name`: FNV-1a (64-bit) of `relay:<name>`, the same on
/// every instance and release. Keys of the `relay:` space cannot meet the event log's own
/// lock key except by a 2^-64 chance.
fn lease_key(name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in "relay:".bytes().chain(name.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// The exclusive right to run one durable relay. On PostgreSQL it is a session advisory lock
/// held by a connection of its own: it ends when the lease is dropped (the connection is
/// closed, not returned to the pool) or when the instance dies and its connection with it —
/// so a relay killed with SIGKILL hands over to a standby within PostgreSQL's detection of the
/// lost connection. On SQLite (one server instance per database file) it is always granted.
pub struct RelayLease {
    conn: Option<PoolConnection<Any>>,
}

impl RelayLease {
    /// Whether the lease still holds: its connection answers (PostgreSQL). A lease whose
    /// connection failed may already be another instance's.
    pub async fn holds(&mut self) -> bool {
        match self.conn.as_mut() {
            None => true,
            Some(conn) => sqlx::query("select 1").execute(&mut **conn).await.is_ok(),
        }
    }
}

impl Drop for RelayLease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.as_mut() {
            // Closing the session releases its advisory locks; returned to the pool, the
            // connection would keep the lock for whoever borrows it next.
            conn.close_on_drop();
        }
    }
}

impl Store {
    /// Takes the lease of relay `name` unless another instance holds it (`None`). See
    /// [`RelayLease`].
    #[instrument(skip(self), err(level = "debug"))]
    pub async fn try_relay_lease(&self, name: &str) -> Result<Option<RelayLease>> {
        if self.backend != Backend::Postgres {
            return Ok(Some(RelayLease { conn: None }));
        }
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query("select pg_try_advisory_lock($1) as taken")
            .bind(lease_key(name))
            .fetch_one(&mut *conn)
            .await?;
        let taken: bool = row.try_get("taken")?;
        Ok(taken.then_some(RelayLease { conn: Some(conn) }))
    }

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

#[cfg(test)]
mod tests {
    use super::lease_key;

    #[test]
    fn lease_keys_are_stable_and_distinct() {
        // FNV-1a of "relay:a" (the published offset basis and prime), as two's complement.
        assert_eq!(lease_key("a"), 1_582_281_596_593_987_435);
        assert_ne!(lease_key("kafka"), lease_key("rabbitmq"));
        assert_ne!(lease_key(""), 0);
    }
}
