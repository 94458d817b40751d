//! Audit records are queued and written in batches by one task, so a cache hit never waits
//! for the database; a full queue applies back-pressure rather than dropping records.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::warn;

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

    pub async fn record(&self, r: AccessRecord) {
        if self.tx.send(r).await.is_err() {
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

async fn flush(store: &Store, batch: &mut Vec<AccessRecord>) {
    if batch.is_empty() {
        return;
    }
    for attempt in 0..3 {
        match store.record_access(batch).await {
            Ok(()) => break,
            Err(e) => {
                warn!(error = %e, attempt, "writing audit records failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    batch.clear();
}
