//! The wake-up after a commit.

use std::sync::Arc;

use tokio::sync::Notify;

/// Wakes this process's relays after events were committed; cheap to clone. A missed wake-up
/// costs latency only: relays also poll.
#[derive(Debug, Clone, Default)]
pub struct CommitSignal(Arc<Notify>);

impl CommitSignal {
    /// Events were committed: every relay waiting now looks at the log.
    pub fn committed(&self) {
        self.0.notify_waiters();
    }

    /// Resolves at the next [`CommitSignal::committed`] after this call.
    pub(super) fn notified(&self) -> tokio::sync::futures::Notified<'_> {
        self.0.notified()
    }
}
