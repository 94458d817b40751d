//! The local process executor: runs queued jobs of executor `local` as child processes, a
//! bounded number at a time, highest priority first and FIFO within a priority. It implements
//! the job service's port ([`Executor`]); the job service never calls it to change a job.

pub mod cgroup;
pub mod confine;
pub mod disk;
pub mod launch;
mod leftovers;
pub mod limits;
pub mod namespace;
mod output;
mod process;
pub mod rootfs;
mod sampler;
pub mod userns;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ch_api::ServiceError;
use ch_domain::{Job, JobLogs, JobStatus, Outcome};
use tokio::sync::{Notify, Semaphore, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, instrument, warn};
use uuid::Uuid;

use crate::jobs::{Change, Executor, ExecutorError, Lifecycle};
use crate::settings::ExecutorSettings;

pub const EXECUTOR_NAME: &str = "local";
const ACTOR: &str = "executor:local";
const IDLE_RECHECK: Duration = Duration::from_secs(5);

impl LocalExecutor {
    /// Whether job `id` was started by this instance: on SQLite there is one instance; on
    /// PostgreSQL several may share the database, each with its own data directory, and a
    /// job belongs to the one that holds its directory.
    fn ran_here(&self, id: Uuid) -> bool {
        self.lifecycle.store().backend() == crate::store::Backend::Sqlite || self.logs_dir.join(id.to_string()).is_dir()
    }
}

/// The dispatcher's wake-up and the stop switches of the jobs running here.
#[derive(Debug, Default)]
pub struct Running {
    wake: Notify,
    running: Mutex<HashMap<Uuid, oneshot::Sender<()>>>,
}

impl Running {
    fn wake(&self) {
        self.wake.notify_one();
    }

    /// Asks the process of job `id` to stop; false when it is not running here.
    fn kill(&self, id: Uuid) -> bool {
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
    pub running: Running,
    /// The `job-exec` launcher when jobs are confined ([`confine`]); `None` runs them directly.
    pub launcher: Option<confine::Launcher>,
    /// Where per-job `pids` cgroups are made ([`cgroup::parent`]); `None`: the process limit
    /// is `RLIMIT_NPROC` of the run-as user.
    pub pids_parent: Option<PathBuf>,
}

#[async_trait]
impl Executor for LocalExecutor {
    fn name(&self) -> &'static str {
        EXECUTOR_NAME
    }

    fn wake(&self) {
        self.running.wake();
    }

    async fn stop(&self, id: Uuid) {
        if self.running.kill(id) {
            info!(job_id = %id, "stopping cancelled job");
        }
    }

    async fn logs(&self, job: &Job) -> Result<JobLogs, ExecutorError> {
        output::logs(&self.logs_dir.join(job.id.to_string())).await
    }

    /// Settles jobs left behind by a previous server process: nothing stays `running` forever.
    #[instrument(skip_all, err)]
    async fn recover(&self) -> Result<(), ExecutorError> {
        let store = self.lifecycle.store();
        let failed = |e: crate::store::StoreError| ExecutorError::Failed(format!("reading jobs: {e}"));
        for stale in store.jobs_in_status(JobStatus::Running).await.map_err(failed)? {
            if stale.job.executor != EXECUTOR_NAME || !self.ran_here(stale.job.id) {
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
            for stale in store.jobs_in_status(status).await.map_err(failed)? {
                self.lifecycle
                    .apply(stale.job.id, Change::Transition(JobStatus::Queued), "recovery")
                    .await
                    .map_err(|e| ExecutorError::Failed(format!("re-queueing job {}: {e}", stale.job.id)))?;
            }
        }
        Ok(())
    }

    /// Dispatches until `shutdown`, then stops every process it started and waits for them.
    async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.settings.slots.max(1)));
        let tracker = TaskTracker::new();
        'dispatch: loop {
            let permit = tokio::select! {
                p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                () = shutdown.cancelled() => break,
            };
            let job = loop {
                let wake = self.running.wake.notified();
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
            let cancel = self.running.register(job.id);
            let this = self.clone();
            let stop = shutdown.clone();
            tracker.spawn(async move {
                let id = job.id;
                this.execute(job, cancel, stop).await;
                this.running.unregister(id);
                drop(permit);
            });
        }
        tracker.close();
        tracker.wait().await;
        info!("local executor stopped");
    }
}
