//! The local process executor: runs queued jobs of executor `local` as child processes, a
//! bounded number at a time, highest priority first and FIFO within a priority.

pub mod cgroup;
pub mod confine;
pub mod disk;
pub mod launch;
mod leftovers;
pub mod limits;
pub mod namespace;
mod process;
pub mod rootfs;
mod sampler;
pub mod userns;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ch_api::ServiceError;
use ch_domain::{JobStatus, Outcome};
use tokio::sync::{Notify, Semaphore, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, instrument, warn};
use uuid::Uuid;

use crate::jobs::{Change, Lifecycle};
use crate::settings::ExecutorSettings;

pub const EXECUTOR_NAME: &str = "local";
const ACTOR: &str = "executor:local";
const IDLE_RECHECK: Duration = Duration::from_secs(5);

/// Wakes the dispatcher and cancels running processes; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ExecutorHandle {
    wake: Arc<Notify>,
    running: Arc<Mutex<HashMap<Uuid, oneshot::Sender<()>>>>,
}

impl ExecutorHandle {
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Asks the process of job `id` to stop; false when it is not running here.
    pub fn kill(&self, id: Uuid) -> bool {
        let tx = self.running.lock().ok().and_then(|mut m| m.remove(&id));
        tx.is_some_and(|tx| tx.send(()).is_ok())
    }

    fn register(&self, id: Uuid) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        if let Ok(mut m) = self.running.lock() {
            m.insert(id, tx);
        }
        rx
    }

    fn unregister(&self, id: Uuid) {
        if let Ok(mut m) = self.running.lock() {
            m.remove(&id);
        }
    }
}

pub struct LocalExecutor {
    pub lifecycle: Lifecycle,
    pub settings: ExecutorSettings,
    pub logs_dir: PathBuf,
    pub handle: ExecutorHandle,
    /// The `job-exec` launcher when jobs are confined ([`confine`]); `None` runs them directly.
    pub launcher: Option<confine::Launcher>,
    /// Where per-job `pids` cgroups are made ([`cgroup::parent`]); `None`: the process limit
    /// is `RLIMIT_NPROC` of the run-as user.
    pub pids_parent: Option<PathBuf>,
}

impl LocalExecutor {
    /// Settles jobs left behind by a previous server process: nothing stays `running` forever.
    #[instrument(skip_all, err)]
    pub async fn recover(&self) -> anyhow::Result<()> {
        let store = self.lifecycle.store();
        for stale in store.jobs_in_status(JobStatus::Running).await? {
            if stale.job.executor != EXECUTOR_NAME {
                continue;
            }
            // Its processes may have outlived the server (kill -9): stop them first, so a job
            // reported failed is not still running.
            let killed = leftovers::kill_leftovers(stale.job.id);
            if let Some(c) = self
                .pids_parent
                .as_deref()
                .and_then(|p| cgroup::leftover(p, stale.job.id))
            {
                c.remove().await;
            }
            let message = if killed == 0 {
                "the server stopped while this job was running; its process was lost".to_owned()
            } else {
                format!("the server stopped while this job was running; its {killed} leftover process(es) were killed")
            };
            // A lost process is not retried automatically: its side effects are unknown.
            let outcome = Outcome::Failed {
                exit_code: None,
                error_code: "executor_lost".into(),
                message,
                retryable: false,
            };
            if let Err(e) = self
                .lifecycle
                .apply(stale.job.id, Change::Finish(outcome), "recovery")
                .await
            {
                warn!(job_id = %stale.job.id, error = %e, "could not settle stale job");
                continue;
            }
            info!(job_id = %stale.job.id, killed, "marked job lost in restart");
        }
        for status in [JobStatus::Submitted, JobStatus::Retrying] {
            for stale in store.jobs_in_status(status).await? {
                self.lifecycle
                    .apply(stale.job.id, Change::Transition(JobStatus::Queued), "recovery")
                    .await?;
            }
        }
        Ok(())
    }

    /// Dispatches until `shutdown`, then stops every process it started and waits for them.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.settings.slots.max(1)));
        let tracker = TaskTracker::new();
        'dispatch: loop {
            let permit = tokio::select! {
                p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                () = shutdown.cancelled() => break,
            };
            let job = loop {
                let wake = self.handle.wake.notified();
                match self.lifecycle.store().next_queued(EXECUTOR_NAME, 1).await {
                    Ok(mut next) if !next.is_empty() => break next.remove(0).job,
                    Ok(_) => {}
                    Err(e) => warn!(error = %e, "reading queue failed"),
                }
                tokio::select! {
                    () = wake => {}
                    () = tokio::time::sleep(IDLE_RECHECK) => {}
                    () = shutdown.cancelled() => break 'dispatch,
                }
            };
            let job = match self
                .lifecycle
                .apply(job.id, Change::Transition(JobStatus::Running), ACTOR)
                .await
            {
                Ok((job, _)) => job,
                // Cancelled or claimed meanwhile: look again.
                Err(ServiceError::Conflict(_)) | Err(ServiceError::NotFound(_)) => continue,
                Err(e) => {
                    warn!(error = %e, "claiming job failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let cancel = self.handle.register(job.id);
            let this = self.clone();
            let stop = shutdown.clone();
            tracker.spawn(async move {
                let id = job.id;
                this.execute(job, cancel, stop).await;
                this.handle.unregister(id);
                drop(permit);
            });
        }
        tracker.close();
        tracker.wait().await;
        info!("local executor stopped");
    }
}
