//! One relay per sink: reads the event log after its cursor and delivers in offset order.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{info, instrument, warn};

use super::{CommitSignal, EventSink};
use crate::store::{RelayLease, Store};

/// Events read and delivered at a time.
const BATCH: u32 = 500;
/// Safety net in case a wake-up is missed (e.g. a commit by another process on PostgreSQL).
pub(super) const POLL_FALLBACK: Duration = Duration::from_secs(2);
/// Pause after a sink refused a batch or the store failed, before trying again.
const RETRY_AFTER: Duration = Duration::from_millis(500);
/// Longest pause between two offers of a batch the sink keeps refusing.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);
/// How often a standby instance asks for a durable relay's lease.
const LEASE_RETRY: Duration = Duration::from_secs(1);

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
///
/// A relay with a [`Cursor::Saved`] runs on one server instance at a time: it first takes the
/// sink's lease ([`crate::store::RelayLease`]) and stands by while another instance holds it;
/// an instance that loses its lease (its database connection failed) stops delivering, stands
/// by again and, holding the lease anew, resumes after the cursor saved meanwhile.
#[instrument(skip_all, fields(sink = sink.name()))]
pub async fn run_relay(
    store: Store,
    sink: Arc<dyn EventSink>,
    signal: CommitSignal,
    cursor: Cursor,
    shutdown: CancellationToken,
) {
    let saved = matches!(cursor, Cursor::Saved { .. });
    loop {
        let mut lease = None;
        if saved {
            match take_lease(&store, sink.name(), &shutdown).await {
                Some(l) => lease = Some(l),
                None => return,
            }
        }
        let Some(mut at) = start(&store, sink.name(), cursor.clone(), &shutdown).await else {
            return;
        };
        info!(cursor = at, saved, "relay started");
        match deliver(&store, sink.as_ref(), &signal, &mut at, lease.as_mut(), &shutdown).await {
            Stopped::Shutdown => {
                info!(cursor = at, "relay stopped");
                return;
            }
            Stopped::LeaseLost => warn!(cursor = at, "lost the relay's lease; standing by"),
        }
    }
}

/// Why [`deliver`] returned.
enum Stopped {
    Shutdown,
    LeaseLost,
}

/// Delivers the log after `cursor` until shutdown (then what is left) or until the lease is
/// lost.
async fn deliver(
    store: &Store,
    sink: &dyn EventSink,
    signal: &CommitSignal,
    cursor: &mut i64,
    mut lease: Option<&mut RelayLease>,
    shutdown: &CancellationToken,
) -> Stopped {
    let saved = lease.is_some();
    let mut refusals: u32 = 0;
    loop {
        let notified = signal.notified();
        match store.events_after(*cursor, BATCH).await {
            Ok(events) if !events.is_empty() => {
                if let Some(l) = lease.as_deref_mut()
                    && !l.holds().await
                {
                    return Stopped::LeaseLost;
                }
                match sink.publish(&events).await {
                    Ok(()) => {
                        refusals = 0;
                        *cursor = events.last().map_or(*cursor, |e| e.offset);
                        // Not saved: the batch is offered again after a restart (at least once).
                        if saved && let Err(e) = store.save_relay_cursor(sink.name(), *cursor).await {
                            warn!(error = %e, cursor, "saving the relay cursor failed");
                        }
                    }
                    Err(e) => {
                        // Doubling pauses (0.5 s … 30 s) while the sink keeps refusing (a broker
                        // that is down); at shutdown the rest stays in the log for next time.
                        let pause = RETRY_AFTER.saturating_mul(1 << refusals.min(6)).min(MAX_RETRY_AFTER);
                        refusals += 1;
                        warn!(error = %e, cursor, refusals, retry_in_ms = pause.as_millis(), "sink refused batch; retrying");
                        tokio::select! {
                            () = tokio::time::sleep(pause) => {}
                            () = shutdown.cancelled() => return Stopped::Shutdown,
                        }
                    }
                }
                continue;
            }
            Ok(_) => {}
            Err(e) => warn!(error = %e, "reading the event log failed"),
        }
        if shutdown.is_cancelled() {
            return Stopped::Shutdown;
        }
        tokio::select! {
            () = notified => {}
            () = tokio::time::sleep(POLL_FALLBACK) => {}
            () = shutdown.cancelled() => {}
        }
    }
}

/// Waits until this instance holds the lease of relay `name` (`None`: shut down meanwhile).
async fn take_lease(store: &Store, name: &str, shutdown: &CancellationToken) -> Option<RelayLease> {
    let mut standing_by = false;
    loop {
        match store.try_relay_lease(name).await {
            Ok(Some(lease)) => return Some(lease),
            Ok(None) if !standing_by => {
                info!("another instance runs this relay; standing by");
                standing_by = true;
            }
            Ok(None) => {}
            Err(e) => warn!(error = %e, "taking the relay's lease failed; retrying"),
        }
        tokio::select! {
            () = tokio::time::sleep(LEASE_RETRY) => {}
            () = shutdown.cancelled() => return None,
        }
    }
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
