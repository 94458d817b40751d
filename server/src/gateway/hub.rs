//! Fan-out: which connection listens to which channel, and delivery of committed events to
//! them. The hub is a sink of the event bus (its own relay with its own cursor), so it sees every event
//! exactly once and in offset order; it never waits for a connection.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use ch_domain::JobEvent;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::channel::Channel;
use super::protocol::{Frame, event_frame};
use crate::bus::EventSink;

/// A connection as the hub sees it: a bounded queue, and a token that cuts the connection
/// when the queue is full (a slow consumer).
#[derive(Debug, Clone)]
pub struct Outlet {
    pub tx: mpsc::Sender<Arc<Frame>>,
    pub kick: CancellationToken,
}

/// Subscriptions and delivery; shared by every connection.
#[derive(Debug)]
pub struct Hub {
    epoch: Arc<str>,
    channels: RwLock<HashMap<Channel, HashMap<u64, Outlet>>>,
    next_id: AtomicU64,
    /// Offset of the last event dispatched.
    position: AtomicI64,
    /// Connections cut for being slow, since start.
    kicked: AtomicU64,
}

impl Hub {
    pub fn new(epoch: String, position: i64) -> Self {
        Self {
            epoch: epoch.into(),
            channels: RwLock::default(),
            next_id: AtomicU64::new(1),
            position: AtomicI64::new(position),
            kicked: AtomicU64::new(0),
        }
    }

    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Offset of the last event handed to connections.
    pub fn position(&self) -> i64 {
        self.position.load(Ordering::Acquire)
    }

    /// A fresh connection id.
    pub fn connection_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Connections cut as slow consumers since start.
    pub fn kicked(&self) -> u64 {
        self.kicked.load(Ordering::Relaxed)
    }

    /// Starts delivering `channel`'s events to connection `id`.
    pub fn add(&self, channel: &Channel, id: u64, outlet: Outlet) {
        let mut map = self.channels.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.entry(channel.clone()).or_default().insert(id, outlet);
    }

    /// Stops delivering `channel` to connection `id`.
    pub fn remove(&self, channel: &Channel, id: u64) {
        let mut map = self.channels.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(subs) = map.get_mut(channel) {
            subs.remove(&id);
            if subs.is_empty() {
                map.remove(channel);
            }
        }
    }

    /// Subscriptions across all connections (for tests and the readiness report).
    pub fn subscriptions(&self) -> usize {
        let map = self.channels.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        map.values().map(HashMap::len).sum()
    }

    /// Hands each event to every connection subscribed to one of its channels: serialised once
    /// per event, framed once per channel, queued without waiting; a full queue cuts its
    /// connection (which then resumes from its offsets).
    pub fn dispatch(&self, events: &[JobEvent]) {
        let map = self.channels.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        for ev in events {
            let mut json: Option<String> = None;
            for channel in Channel::of_event(ev) {
                let Some(subs) = map.get(&channel) else { continue };
                let json = match &json {
                    Some(j) => j,
                    None => match serde_json::to_string(ev) {
                        Ok(j) => json.insert(j),
                        Err(e) => {
                            warn!(offset = ev.offset, error = %e, "event not serialisable; skipped");
                            break;
                        }
                    },
                };
                let frame = Arc::new(event_frame(&channel, &self.epoch, ev.offset, json));
                for (id, outlet) in subs {
                    match outlet.tx.try_send(frame.clone()) {
                        Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            if !outlet.kick.is_cancelled() {
                                debug!(connection = id, "queue full; cutting a slow consumer");
                                self.kicked.fetch_add(1, Ordering::Relaxed);
                                outlet.kick.cancel();
                            }
                        }
                    }
                }
            }
            self.position.store(ev.offset, Ordering::Release);
        }
    }
}

/// The hub as a sink of the event bus: delivery to connections never fails (a slow one is cut).
#[derive(Debug, Clone)]
pub struct HubSink(pub Arc<Hub>);

#[async_trait]
impl EventSink for HubSink {
    fn name(&self) -> &'static str {
        "gateway"
    }

    async fn publish(&self, events: &[JobEvent]) -> anyhow::Result<()> {
        self.0.dispatch(events);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ch_domain::EventType;
    use uuid::Uuid;

    use super::*;

    fn event(offset: i64, job: Uuid, project: &str) -> JobEvent {
        JobEvent {
            offset,
            event_id: Uuid::now_v7(),
            event_type: EventType::JobStatusChanged,
            schema_version: 1,
            occurred_at: chrono::Utc::now(),
            correlation_id: "c".into(),
            causation_id: None,
            job_id: job,
            actor: "a".into(),
            payload: serde_json::json!({"job": {"project": project}}),
        }
    }

    #[test]
    fn events_reach_subscribers_of_their_channels_only_and_full_queues_are_cut() {
        let hub = Hub::new("e".into(), 0);
        let job = Uuid::now_v7();
        let (tx_a, mut rx_a) = mpsc::channel(8);
        let (tx_b, mut rx_b) = mpsc::channel(1);
        let kick_b = CancellationToken::new();
        hub.add(
            &Channel::ProjectJobs("p".into()),
            1,
            Outlet {
                tx: tx_a.clone(),
                kick: CancellationToken::new(),
            },
        );
        hub.add(
            &Channel::JobStatus(job),
            1,
            Outlet {
                tx: tx_a,
                kick: CancellationToken::new(),
            },
        );
        hub.add(
            &Channel::ProjectJobs("q".into()),
            2,
            Outlet {
                tx: tx_b,
                kick: kick_b.clone(),
            },
        );
        hub.dispatch(&[
            event(1, job, "p"),
            event(2, Uuid::now_v7(), "q"),
            event(3, Uuid::now_v7(), "q"),
        ]);
        let got: Vec<(String, i64)> = std::iter::from_fn(|| rx_a.try_recv().ok())
            .map(|f| (f.channel.to_string(), f.offset))
            .collect();
        assert_eq!(
            got,
            vec![(format!("job:{job}:status"), 1), ("project:p:jobs".into(), 1)]
        );
        // The first event fitted in b's queue of one; the second cut b.
        assert_eq!(rx_b.try_recv().map(|f| f.offset).ok(), Some(2));
        assert!(kick_b.is_cancelled());
        assert_eq!(hub.kicked(), 1);
        assert_eq!(hub.position(), 3);
        hub.remove(&Channel::ProjectJobs("q".into()), 2);
        assert_eq!(hub.subscriptions(), 2);
    }
}
