//! The local process executor: runs queued jobs of executor `local` as child processes, a
//! bounded number at a time, highest priority first and FIFO within a priority. It implements
//! the job service's port ([`Executor`]); the job service never calls it to change a job.
//! Jobs outlive the server: a server that shuts down or is killed leaves them running, and
//! the next one re-attaches to them ([`launched`], [`recovery`]).

pub mod cgroup;
pub mod confine;
pub mod disk;
pub mod launch;
mod launched;
mod leftovers;
pub mod limits;
pub mod namespace;
mod outcome;
mod process;
mod recovery;
pub mod rootfs;
mod sampler;
pub mod userns;

pub use recovery::kill_jobs_in;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ch_api::ServiceError;
use ch_domain::{Job, JobLogs, JobStatus};
use tokio::sync::{Notify, Semaphore, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, instrument, warn};
use uuid::Uuid;

use crate::beneath::{BeneathError, Opened};
use crate::jobs::{Change, Executor, ExecutorError, Lifecycle};
use crate::settings::ExecutorSettings;

pub const EXECUTOR_NAME: &str = "local";
const ACTOR: &str = "executor:local";
const IDLE_RECHECK: Duration = Duration::from_secs(5);

/// The dispatcher's wake-up and the stop switches of the jobs running here.
#[derive(Debug, Default)]
struct Running {
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
    lifecycle: Lifecycle,
    settings: ExecutorSettings,
    logs_dir: PathBuf,
    running: Running,
    /// The `job-exec` launcher when jobs are confined ([`confine`]); `None` runs them directly.
    launcher: Option<confine::Launcher>,
    /// Where per-job `pids` cgroups are made ([`cgroup::parent`]); `None`: the process limit
    /// is `RLIMIT_NPROC` of the run-as user.
    pids_parent: Option<PathBuf>,
    /// Jobs a previous server left running that recovery re-attached to; `run` watches them.
    adopted: Mutex<Vec<(Job, launched::ProcessId)>>,
}

impl LocalExecutor {
    /// The executor of jobs whose directories are `logs_dir/<id>`, started through `launcher`.
    pub fn new(
        lifecycle: Lifecycle,
        settings: ExecutorSettings,
        logs_dir: PathBuf,
        launcher: Option<confine::Launcher>,
        pids_parent: Option<PathBuf>,
    ) -> LocalExecutor {
        LocalExecutor {
            lifecycle,
            settings,
            logs_dir,
            running: Running::default(),
            launcher,
            pids_parent,
            adopted: Mutex::default(),
        }
    }

    /// `<data dir>/jobs/<id>`: the job's logs, status files and working directory `work/`.
    /// `job`'s time limit here: its own, capped by `executor.max_runtime_cap_secs`.
    fn limit(&self, job: &Job) -> std::time::Duration {
        let own = u64::from(job.resources.max_runtime_minutes) * 60;
        std::time::Duration::from_secs(self.settings.max_runtime_cap_secs.map_or(own, |cap| cap.min(own)))
    }

    fn job_dir(&self, id: Uuid) -> PathBuf {
        self.logs_dir.join(id.to_string())
    }

    /// Whether job `id` was started by this instance: on SQLite there is one instance; on
    /// PostgreSQL several may share the database, each with its own data directory, and a
    /// job belongs to the one that holds its directory.
    fn ran_here(&self, id: Uuid) -> bool {
        self.lifecycle.store().backend() == crate::store::Backend::Sqlite || self.job_dir(id).is_dir()
    }

    /// Watches `job` (see [`LocalExecutor::attend`]) in a task of `tracker`, holding `permit`
    /// (its slot) until it ends; a cancel reaches it through [`Running`].
    fn spawn_attend(
        self: &Arc<Self>,
        tracker: &TaskTracker,
        job: Job,
        adopted: Option<launched::ProcessId>,
        permit: Option<tokio::sync::OwnedSemaphorePermit>,
        shutdown: &CancellationToken,
    ) {
        let cancel = self.running.register(job.id);
        let (this, stop) = (self.clone(), shutdown.clone());
        tracker.spawn(async move {
            let id = job.id;
            this.attend(job, adopted, cancel, stop).await;
            this.running.unregister(id);
            drop(permit);
        });
    }
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
        crate::executor::logs::logs(&self.job_dir(job.id)).await
    }

    /// Opens `file` beneath the job's working directory (`<jobs dir>/<id>/work`).
    async fn output(&self, job: &Job, file: &Path) -> Result<Opened, BeneathError> {
        crate::executor::logs::output(self.job_dir(job.id), file).await
    }

    fn time_limit(&self, job: &Job) -> std::time::Duration {
        self.limit(job)
    }

    /// Settles what a previous server process left: re-attaches to its jobs that still run,
    /// records the outcome of those that ended meanwhile, fails those whose launcher is gone,
    /// and queues again what was submitted but not queued ([`recovery`]).
    #[instrument(skip_all, err)]
    async fn recover(&self) -> Result<(), ExecutorError> {
        self.recover_jobs().await
    }

    /// Dispatches until `shutdown`, then stops watching the jobs running here (they go on).
    async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let slots = Arc::new(Semaphore::new(self.settings.slots.max(1)));
        let tracker = TaskTracker::new();
        // Jobs re-attached at start-up take their slots first; they run whether or not there
        // are enough (the settings may have changed).
        let adopted = self
            .adopted
            .lock()
            .map(|mut a| std::mem::take(&mut *a))
            .unwrap_or_default();
        for (job, launcher) in adopted {
            let permit = slots.clone().try_acquire_owned().ok();
            self.spawn_attend(&tracker, job, Some(launcher), permit, &shutdown);
        }
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
            self.spawn_attend(&tracker, job, None, Some(permit), &shutdown);
        }
        tracker.close();
        tracker.wait().await;
        info!("local executor stopped");
    }
}
