//! Cancel reaches the instance that runs the job through the event log, not an in-process
//! call: every instance relays committed events to a [`CancelSink`], which hands each
//! `job.cancelled` event to the executor the job ran on. With several instances on one
//! PostgreSQL database the instance that recorded the cancel need not be the one running the
//! job; `NOTIFY` wakes the others' relays within milliseconds (`bus::listen_for_commits`).

use async_trait::async_trait;
use ch_domain::{EventType, JobEvent};

use super::executor::Executors;
use crate::bus::EventSink;

/// Stops the jobs whose `job.cancelled` events it is given.
pub struct CancelSink {
    executors: Executors,
}

impl CancelSink {
    pub fn new(executors: Executors) -> Self {
        Self { executors }
    }
}

#[async_trait]
impl EventSink for CancelSink {
    fn name(&self) -> &'static str {
        "executor-cancel"
    }

    async fn publish(&self, events: &[JobEvent]) -> anyhow::Result<()> {
        for event in events.iter().filter(|e| e.event_type == EventType::JobCancelled) {
            // The snapshot names the executor; an old event without one is offered to all.
            match event.job().and_then(|j| self.executors.get(&j.executor).cloned()) {
                Some(executor) => executor.stop(event.job_id).await,
                None => {
                    for executor in self.executors.iter() {
                        executor.stop(event.job_id).await;
                    }
                }
            }
        }
        Ok(())
    }
}
