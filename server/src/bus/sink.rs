//! What a relay delivers to.

use async_trait::async_trait;
use ch_domain::JobEvent;

/// A destination for committed events. `publish` must be all-or-nothing for the batch: on
/// error the relay offers the same batch again (so a sink sees an event at least once, and
/// again after a failure or a restart that came before its acknowledgement was saved).
#[async_trait]
pub trait EventSink: Send + Sync + 'static {
    /// The sink's name: in logs, and the key of its saved cursor ([`super::Cursor::Saved`]).
    fn name(&self) -> &'static str;
    /// Delivers `events` (in offset order, ≤ 500 at a time); `Ok` acknowledges all of them.
    async fn publish(&self, events: &[JobEvent]) -> anyhow::Result<()>;
}
