//! Persistence: one SQL contract over SQLite (embedded default) and PostgreSQL, through
//! sqlx's `Any` driver so both run the same queries (checked by the contract tests).

mod accounts;
mod audit;
mod credentials;
mod cursors;
mod deliveries;
mod events;
mod jobs;
mod metrics;
mod notifications;
mod regions;
mod service_error;
mod slurm;
mod submissions;
mod webhooks;

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use tracing::instrument;

pub use accounts::{MemberRow, ProjectRow, UserRow};
pub use audit::AccessRecord;
pub use credentials::{AuthEvent, SessionRow, TokenRow};
pub use cursors::RelayLease;
pub use deliveries::{Delivery, DeliveryStatus, EMAIL, Route, webhook_channel};
pub use events::COMMIT_CHANNEL;
pub use jobs::JobUpdate;
pub use notifications::{InboxPage, MARK_ALL_LIMIT};
pub use regions::ImageRegions;
pub use slurm::SlurmJobRow;
pub use submissions::SubmissionRecord;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("job {0} not found")]
    JobNotFound(uuid::Uuid),
    #[error("job {0} was changed concurrently")]
    Conflict(uuid::Uuid),
    #[error("regions of image '{image}' are at version {current}")]
    StaleRegions { image: String, current: i64 },
    #[error("{0} already exists")]
    Duplicate(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("unsupported database url (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    /// Writes (and reads inside write transactions).
    pool: AnyPool,
    /// Reads outside transactions. SQLite: separate read-only connections, which WAL lets run
    /// beside the one writer (a single shared connection made every read wait for the write
    /// path and the write path for every read); PostgreSQL: the same pool.
    reader: AnyPool,
    backend: Backend,
}

/// SQLite's read-only connections (WAL allows any number beside the writer).
const SQLITE_READERS: u32 = 4;

impl Store {
    /// Connects and applies the backend's migrations.
    #[instrument(skip_all, err)]
    pub async fn connect(url: &str) -> Result<Self> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let options = match backend {
            // One writer at a time is SQLite's model; a single connection also avoids
            // SQLITE_BUSY on read-then-write transactions.
            Backend::Sqlite => AnyPoolOptions::new().max_connections(1).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("pragma journal_mode = wal; pragma foreign_keys = on; pragma busy_timeout = 5000; pragma synchronous = normal")
                        .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => AnyPoolOptions::new().max_connections(16),
        };
        let pool = options.connect(url).await?;
        match backend {
            Backend::Sqlite => sqlx::migrate!("../migrations/sqlite").run(&pool).await?,
            Backend::Postgres => sqlx::migrate!("../migrations/postgres").run(&pool).await?,
        }
        let reader = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(SQLITE_READERS)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("pragma query_only = on; pragma busy_timeout = 5000")
                                .await?;
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await?
            }
            Backend::Postgres => pool.clone(),
        };
        tracing::info!(?backend, "database ready");
        Ok(Self { pool, reader, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Readiness probe.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("select 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.reader.close().await;
        self.pool.close().await;
    }

    /// `n` bind placeholders for the `k`-th group of a multi-row statement (`k` from 0):
    /// `$…` numbered on PostgreSQL, anonymous `?` on SQLite, where each named parameter costs
    /// a linear search in `sqlite3_bind_parameter_name` (quadratic over a large statement).
    pub(crate) fn placeholders(&self, k: usize, n: usize) -> String {
        let params: Vec<String> = match self.backend {
            Backend::Sqlite => vec!["?".to_owned(); n],
            Backend::Postgres => (1..=n).map(|i| format!("${}", k * n + i)).collect(),
        };
        format!("({})", params.join(", "))
    }
}

/// `col in ($k, …)` over `values`, appending them to `binds` (`1 = 0` for no values).
pub(crate) fn in_list(col: &str, values: &[String], binds: &mut Vec<String>) -> String {
    if values.is_empty() {
        return "1 = 0".into();
    }
    let params: Vec<String> = values
        .iter()
        .map(|v| {
            binds.push(v.clone());
            format!("${}", binds.len())
        })
        .collect();
    format!("{col} in ({})", params.join(", "))
}

pub(crate) fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms}")))
}

pub(crate) fn parse<T: FromStr>(what: &str, s: &str) -> Result<T> {
    s.parse().map_err(|_| StoreError::Corrupt(format!("{what} '{s}'")))
}
