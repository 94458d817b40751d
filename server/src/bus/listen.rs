//! Commits of other instances on the same PostgreSQL database.

use tokio_util::sync::CancellationToken;
use tracing::{instrument, warn};

use super::CommitSignal;
use super::relay::POLL_FALLBACK;

/// PostgreSQL: wakes this instance's relays when any instance on the same database commits
/// events (`NOTIFY`, sent inside the committing transaction). Reconnects after a lost
/// connection; the relays' poll covers the time it is away.
#[instrument(skip_all)]
pub async fn listen_for_commits(database_url: String, signal: CommitSignal, shutdown: CancellationToken) {
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
