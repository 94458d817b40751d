//! The executor port: what the job service needs from whatever runs its jobs. The local
//! executor (`executor::local`) and the Slurm executor (`executor::slurm`) implement it. The job service never calls an executor to change a job: it records the change in
//! the event log, and each executor acts on what reaches it there (a queued job is work to
//! pick up, a `job.cancelled` event is a job to stop), on whichever instance runs the job.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ch_api::ServiceError;
use ch_domain::{Job, JobLogs, QueueInsight, Resources, SchedulerRecord};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::beneath::{BeneathError, Opened};

/// Why an executor could not answer.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// Reading what the job wrote (logs, output files) failed.
    #[error("reading the job's output: {0}")]
    Output(#[from] std::io::Error),
    /// The executor's own records or the store failed.
    #[error("{0}")]
    Failed(String),
    /// The batch scheduler did not answer, or refused to (its controller is down).
    #[error("the batch scheduler did not answer: {0}")]
    Unanswered(String),
}

impl From<ExecutorError> for ServiceError {
    fn from(e: ExecutorError) -> Self {
        match e {
            ExecutorError::Unanswered(_) => ServiceError::Upstream {
                message: e.to_string(),
                timed_out: false,
            },
            e => {
                tracing::error!(error = %e, "executor");
                ServiceError::Internal
            }
        }
    }
}

/// Something that runs jobs of one kind (`Job::executor`), as the systems of the settings'
/// catalogue name it.
#[async_trait]
pub trait Executor: Send + Sync + 'static {
    /// The name jobs carry in `Job::executor` (`local`, `slurm`).
    fn name(&self) -> &'static str;

    /// New work was queued for this executor: look at the queue now rather than at the next
    /// poll. A hint only; an executor finds queued jobs without it.
    fn wake(&self);

    /// Stops job `id` if it runs on this instance; nothing otherwise. Called for every
    /// `job.cancelled` event that reaches this instance, whichever instance recorded it.
    async fn stop(&self, id: Uuid);

    /// The tail of the job's standard output and error (at most 256 KiB each).
    async fn logs(&self, job: &Job) -> Result<JobLogs, ExecutorError>;

    /// Opens `file`, a relative path without `..` (the caller checked it), among the output
    /// files the job wrote — for the local executor its working directory — following no
    /// symbolic link at any component ([`crate::beneath`]); the archive serves job results
    /// from this handle.
    ///
    /// # Errors
    /// [`BeneathError::Missing`] and [`BeneathError::NotAFile`] for no such file,
    /// [`BeneathError::Link`] for a link on the way, [`BeneathError::Io`] otherwise.
    async fn output(&self, job: &Job, file: &Path) -> Result<Opened, BeneathError>;

    /// The job's record at the batch scheduler this executor hands jobs to (its id there,
    /// state, pending reason, accounting); `None` for an executor without one (local) or a
    /// job not handed over yet.
    async fn scheduler(&self, _job: &Job) -> Result<Option<SchedulerRecord>, ExecutorError> {
        Ok(None)
    }

    /// The queue of `system` (one of this executor's) at its batch scheduler, for a job asking
    /// for `r`; `None` for an executor without a queue (local).
    async fn queue(&self, _system: &str, _r: &Resources) -> Result<Option<QueueInsight>, ExecutorError> {
        Ok(None)
    }

    /// How long `job` may run before it is stopped, counted from `Job::started_at`: its own
    /// `max_runtime_minutes` unless the executor caps it (the local executor's
    /// `executor.max_runtime_cap_secs`).
    fn time_limit(&self, job: &Job) -> Duration {
        Duration::from_secs(u64::from(job.resources.max_runtime_minutes) * 60)
    }

    /// Settles what a previous server process left behind: re-attaches to jobs still running,
    /// records the outcome of jobs that ended meanwhile, fails jobs that cannot be found.
    /// Called once at start-up, before [`Executor::run`].
    async fn recover(&self) -> Result<(), ExecutorError>;

    /// Runs queued jobs until `shutdown`.
    async fn run(self: Arc<Self>, shutdown: CancellationToken);
}

/// The executors of this server, by name; cheap to clone.
#[derive(Clone, Default)]
pub struct Executors(Arc<BTreeMap<&'static str, Arc<dyn Executor>>>);

impl Executors {
    /// The executors `all`, each under its [`Executor::name`].
    pub fn new(all: Vec<Arc<dyn Executor>>) -> Self {
        Self(Arc::new(all.into_iter().map(|e| (e.name(), e)).collect()))
    }

    /// The executor named `name`, if this server runs it.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Executor>> {
        self.0.get(name)
    }

    /// Every executor.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Executor>> {
        self.0.values()
    }

    /// Wakes the executor of each of `jobs` (once each).
    pub fn wake_for<'a>(&self, jobs: impl IntoIterator<Item = &'a Job>) {
        let mut names: Vec<&str> = jobs.into_iter().map(|j| j.executor.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            if let Some(e) = self.get(name) {
                e.wake();
            }
        }
    }
}

impl std::fmt::Debug for Executors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}
