//! One relay per sink: reads the event log after its cursor and delivers in offset order.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, instrument, warn};

use super::{CommitSignal, EventSink};
use crate::store::Store;

/// Events read and delivered at a time.
const BATCH: u32 = 500;
/// Safety net in case a wake-up is missed (e.g. a commit by another process on PostgreSQL).
pub(super) const POLL_FALLBACK: Duration = Duration::from_secs(2);
/// Pause after a sink refused a batch or the store failed, before trying again.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// Where a relay starts, and whether its position is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// After this offset, kept in memory only: for sinks whose consumers keep their own
    /// position (gateway clients resume by offset) or that act only on what happens while
    /// they run (cancel).
    From(i64),
    /// Saved in the database under the sink's name after every acknowledged batch; the relay
    /// resumes after the saved offset, or — the first time it runs — after `first`.
    Saved { first: i64 },
}

/// Runs one relay until shutdown, then delivers what is left (flushes the log to the sink).
#[instrument(skip_all, fields(sink = sink.name()))]
pub async fn run_relay(
    store: Store,
    sink: Arc<dyn EventSink>,
    signal: CommitSignal,
    cursor: Cursor,
    shutdown: CancellationToken,
) {
    let saved = matches!(cursor, Cursor::Saved { .. });
    let Some(mut cursor) = start(&store, sink.name(), cursor, &shutdown).await else {
        return;
    };
    info!(cursor, saved, "relay started");
    loop {
        let notified = signal.notified();
        match store.events_after(cursor, BATCH).await {
            Ok(events) if !events.is_empty() => {
                match sink.publish(&events).await {
                    Ok(()) => {
                        cursor = events.last().map_or(cursor, |e| e.offset);
                        // Not saved: the batch is offered again after a restart (at least once).
                        if saved && let Err(e) = store.save_relay_cursor(sink.name(), cursor).await {
                            warn!(error = %e, cursor, "saving the relay cursor failed");
                        }
                    }
                    Err(e) => {
                        warn!(error = %e, cursor, "sink refused batch; retrying");
                        tokio::time::sleep(RETRY_AFTER).await;
                    }
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "reading the event log failed"),
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
    info!(cursor, "relay stopped");
}

/// The offset to start after; for a saved cursor, retried until the store answers (`None`:
/// shut down meanwhile). Starting anywhere else could skip or repeat a stretch of the log.
async fn start(store: &Store, name: &str, cursor: Cursor, shutdown: &CancellationToken) -> Option<i64> {
    let first = match cursor {
        Cursor::From(offset) => return Some(offset),
        Cursor::Saved { first } => first,
    };
    loop {
        match store.relay_cursor(name).await {
            Ok(saved) => return Some(saved.unwrap_or(first)),
            Err(e) => warn!(error = %e, "reading the relay cursor failed; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(RETRY_AFTER) => {}
            () = shutdown.cancelled() => return None,
        }
    }
}
