//! Audit records are queued and written in batches by one task, so a cache hit never waits
//! for the database; a full queue applies back-pressure rather than dropping records.
//!
//! Nothing is lost to a bad neighbour: records are sanitized before they are queued (NUL
//! characters escaped), and a batch that still fails is written record by record, so only a
//! record that fails on its own is set aside — in `fits_access_quarantine`, with the reason.

use std::time::Duration;

use ch_api::Access;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

use crate::store::{AccessRecord, Store};

const QUEUE: usize = 10_000;
const BATCH: usize = 500;

#[derive(Debug, Clone)]
pub struct AuditLog {
    tx: mpsc::Sender<AccessRecord>,
}

impl AuditLog {
    /// Starts the writer; it drains the queue before returning after `shutdown`.
    pub fn start(store: Store, shutdown: CancellationToken) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        (Self { tx }, tokio::spawn(write_batches(store, rx, shutdown)))
    }

    /// Queues the record of one answered FITS request: who (`principal`) asked for what and
    /// how it was answered (`access`). Time-stamped now.
    pub async fn answered(&self, principal: String, access: Access) {
        self.record(AccessRecord {
            occurred_at: crate::clock::now(),
            principal,
            source: access.source,
            path: access.path,
            view: access.view,
            status: access.status,
            bytes: access.bytes,
            cache: access.cache,
        })
        .await;
    }

    async fn record(&self, r: AccessRecord) {
        if self.tx.send(r.sanitized()).await.is_err() {
            warn!("audit writer stopped; record lost");
        }
    }
}

async fn write_batches(store: Store, mut rx: mpsc::Receiver<AccessRecord>, shutdown: CancellationToken) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let open = tokio::select! {
            n = rx.recv_many(&mut batch, BATCH) => n > 0,
            () = shutdown.cancelled() => {
                rx.close();
                while rx.recv_many(&mut batch, BATCH).await > 0 {
                    flush(&store, &mut batch).await;
                }
                false
            }
        };
        flush(&store, &mut batch).await;
        if !open {
            return;
        }
    }
}

/// Writes `batch` (emptying it): in one transaction, retried twice; if it still fails, record
/// by record, quarantining any record that fails alone.
pub async fn flush(store: &Store, batch: &mut Vec<AccessRecord>) {
    if batch.is_empty() {
        return;
    }
    for attempt in 0..3 {
        match store.record_access(batch).await {
            Ok(()) => {
                batch.clear();
                return;
            }
            Err(e) => {
                warn!(error = %e, attempt, records = batch.len(), "writing audit records failed");
                if attempt < 2 {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
    for record in batch.drain(..) {
        let Err(e) = store.record_access(std::slice::from_ref(&record)).await else {
            continue;
        };
        let reason = e.to_string();
        warn!(error = %reason, path = %record.path.escape_debug(), "audit record quarantined");
        if let Err(q) = store.quarantine_access(&record, &reason, chrono::Utc::now()).await {
            error!(error = %q, ?record, "audit record lost: neither written nor quarantined");
        }
    }
}
