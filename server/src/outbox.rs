//! Delivery of committed events: a relay per sink reads the outbox (the `job_event` log) after
//! its cursor and hands events over in offset order. The real-time gateway's hub is one sink
//! (`gateway::hub`); broker relays (Kafka, RabbitMQ) plug in as further sinks.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ch_domain::JobEvent;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{instrument, warn};

use crate::store::Store;

/// A destination for committed events. `publish` must be all-or-nothing for the batch: on
/// error the relay retries the same batch.
#[async_trait]
pub trait EventSink: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    async fn publish(&self, events: &[JobEvent]) -> anyhow::Result<()>;
}

/// Wakes relays after a commit; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct OutboxSignal(Arc<Notify>);

impl OutboxSignal {
    pub fn committed(&self) {
        self.0.notify_waiters();
    }
}

const BATCH: u32 = 500;
/// Safety net in case a wake-up is missed (e.g. a commit by another process on PostgreSQL).
const POLL_FALLBACK: Duration = Duration::from_secs(2);

/// Runs one relay until shutdown, then delivers what is left (flushes the outbox).
#[instrument(skip_all, fields(sink = sink.name()))]
pub async fn run_relay(
    store: Store,
    sink: Arc<dyn EventSink>,
    signal: OutboxSignal,
    mut cursor: i64,
    shutdown: CancellationToken,
) {
    loop {
        let notified = signal.0.notified();
        match store.events_after(cursor, BATCH).await {
            Ok(events) if !events.is_empty() => {
                match sink.publish(&events).await {
                    Ok(()) => cursor = events.last().map_or(cursor, |e| e.offset),
                    Err(e) => {
                        warn!(error = %e, cursor, "sink refused batch; retrying");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "reading outbox failed"),
        }
        if shutdown.is_cancelled() {
            break;
        }
        tokio::select! {
            () = notified => {}
            () = tokio::time::sleep(POLL_FALLBACK) => {}
            () = shutdown.cancelled() => {}
        }
    }
    tracing::info!(cursor, "relay stopped");
}

/// PostgreSQL: wakes this instance's relays when any instance on the same database commits
/// events (`NOTIFY`, sent inside the committing transaction). Reconnects after a lost
/// connection; the relays' poll covers the time it is away.
#[instrument(skip_all)]
pub async fn listen_for_commits(database_url: String, signal: OutboxSignal, shutdown: CancellationToken) {
    use sqlx::postgres::PgListener;
    while !shutdown.is_cancelled() {
        let mut listener = match PgListener::connect(&database_url).await {
            Ok(l) => l,
            Err(e) => {
                warn!(error = %e, "cannot listen for commits; retrying");
                tokio::select! {
                    () = tokio::time::sleep(POLL_FALLBACK) => continue,
                    () = shutdown.cancelled() => return,
                }
            }
        };
        if let Err(e) = listener.listen(crate::store::COMMIT_CHANNEL).await {
            warn!(error = %e, "LISTEN failed; retrying");
            tokio::time::sleep(POLL_FALLBACK).await;
            continue;
        }
        // A commit may have happened while (re)connecting.
        signal.committed();
        loop {
            tokio::select! {
                n = listener.recv() => match n {
                    Ok(_) => signal.committed(),
                    Err(e) => {
                        warn!(error = %e, "commit notifications lost; reconnecting");
                        break;
                    }
                },
                () = shutdown.cancelled() => return,
            }
        }
    }
}
