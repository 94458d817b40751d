//! The Slurm executor: runs queued jobs of executor `slurm` as batch jobs of a Slurm cluster
//! through its commands on this host (a login node): `sbatch --parsable` to submit
//! ([`script`]), one `squeue` and one `sacct` query per poll for every job it watches
//! ([`poll`]), `scancel` for a cancel. A job stays `queued` while Slurm holds it PENDING
//! (the reason, e.g. `Priority` or `Resources`, is kept in the executor's table `slurm_job`),
//! becomes `running` when Slurm starts it, and ends as Slurm's accounting says ([`state`]).
//! The Slurm job id is stored before the server learns anything else, so a restarted server
//! re-attaches to the jobs Slurm still runs. Ended jobs' accounting comes from `sacct`
//! ([`accounting`]); the submit form's queue insight from `squeue` and `sbatch --test-only`
//! ([`queue`]); running jobs' CPU and memory from `sstat` ([`sample`]). slurmrestd (REST) is
//! not implemented yet.

pub mod accounting;
pub mod cli;
pub mod limits;
mod poll;
pub mod queue;
pub mod sample;
pub mod script;
pub mod state;
pub mod units;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use ch_domain::{Job, JobLogs, QueueInsight, Resources, SchedulerRecord, SystemCatalog};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, instrument, warn};
use uuid::Uuid;

use self::cli::Cli;
use crate::beneath::{BeneathError, Opened};
use crate::executor::progress;
use crate::jobs::{Executor, ExecutorError, Lifecycle};
use crate::settings::SlurmSettings;

/// The name jobs of this executor carry (`Job::executor`, `[systems.x] executor = "slurm"`).
pub const EXECUTOR_NAME: &str = "slurm";
const ACTOR: &str = "executor:slurm";

/// A running job's progress follower: its stop switch and task.
type Follower = (CancellationToken, JoinHandle<()>);

pub struct SlurmExecutor {
    lifecycle: Lifecycle,
    settings: SlurmSettings,
    /// The systems of the catalogue that name this executor.
    systems: SystemCatalog,
    /// `<jobs_dir>/<job id>/` is each job's directory (see [`SlurmSettings::jobs_dir`]).
    jobs_dir: PathBuf,
    cli: Cli,
    wake: Notify,
    /// Progress followers of the jobs Slurm runs, by our job id.
    followers: Mutex<HashMap<Uuid, Follower>>,
    /// When each job was first found unknown to both `squeue` and `sacct`.
    unseen: Mutex<HashMap<Uuid, Instant>>,
    /// Recent queue insights, by system and request ([`queue`]).
    queue_cache: moka::future::Cache<String, QueueInsight>,
    /// When the running jobs' usage was last read ([`sample`]).
    last_sample: Mutex<Option<Instant>>,
    /// Each running job's last reading: when, and its CPU seconds then.
    samples: Mutex<HashMap<Uuid, (chrono::DateTime<chrono::Utc>, f64)>>,
}

impl SlurmExecutor {
    /// The executor of the systems of `catalog` that name it, with job directories under
    /// `settings.jobs_dir` (default `<data_dir>/slurm-jobs`). Checks what goes into `#SBATCH`
    /// lines (partition, account, directory), asks the cluster (`sinfo`) whether each
    /// system's partition exists, and lowers each system's limits to its partition's.
    ///
    /// # Errors
    /// [`ExecutorError::Failed`] naming the setting that is wrong, or the Slurm command that
    /// did not answer.
    pub async fn start(
        lifecycle: Lifecycle,
        settings: SlurmSettings,
        data_dir: &Path,
        catalog: &SystemCatalog,
    ) -> Result<Self, ExecutorError> {
        let bad = |m: String| ExecutorError::Failed(m);
        let jobs_dir = settings.jobs_dir.clone().unwrap_or_else(|| data_dir.join("slurm-jobs"));
        tokio::fs::create_dir_all(&jobs_dir).await?;
        let jobs_dir = tokio::fs::canonicalize(&jobs_dir).await?;
        if !script::safe_path(&jobs_dir) {
            return Err(bad(format!(
                "slurm.jobs_dir {} must be an absolute path of letters, digits and /._- only",
                jobs_dir.display()
            )));
        }
        let systems = SystemCatalog(
            catalog
                .0
                .iter()
                .filter(|(_, s)| s.executor.as_deref() == Some(EXECUTOR_NAME))
                .map(|(n, s)| (n.clone(), s.clone()))
                .collect(),
        );
        let cli = Cli::new(
            settings.bin_dir.clone(),
            Duration::from_secs(settings.command_timeout_secs.max(1)),
        );
        let cluster = cli
            .partition_limits()
            .await
            .map_err(|e| bad(format!("asking Slurm for its partitions (sinfo): {e}")))?;
        let mut systems = systems;
        for (name, system) in &mut systems.0 {
            for (field, value) in [("partition", &system.partition), ("account", &system.account)] {
                if let Some(v) = value
                    && !script::safe_word(v)
                {
                    return Err(bad(format!(
                        "systems.{name}.{field} {v:?}: 1-64 letters, digits, '_', '-' or '.'"
                    )));
                }
            }
            let partition = system.partition.clone().unwrap_or_default();
            let Some(limits) = cluster.get(&partition) else {
                let known: Vec<&str> = cluster.keys().map(String::as_str).filter(|k| !k.is_empty()).collect();
                return Err(bad(format!(
                    "systems.{name}.partition: Slurm has no partition '{partition}' (it has: {})",
                    known.join(", ")
                )));
            };
            system.limits = limits::merge(system.limits, *limits);
        }
        info!(jobs_dir = %jobs_dir.display(), systems = ?systems.names(), "Slurm executor ready");
        Ok(Self {
            lifecycle,
            settings,
            systems,
            jobs_dir,
            cli,
            wake: Notify::new(),
            followers: Mutex::default(),
            unseen: Mutex::default(),
            queue_cache: moka::future::Cache::builder()
                .max_capacity(1_000)
                .time_to_live(queue::FRESH_FOR)
                .build(),
            last_sample: Mutex::default(),
            samples: Mutex::default(),
        })
    }

    /// The systems this executor runs, their limits lowered to what the cluster's partitions
    /// have (`sinfo`): what submissions are checked against.
    pub fn systems(&self) -> &SystemCatalog {
        &self.systems
    }

    /// `<jobs_dir>/<id>`: the job's batch script, command, logs and working directory `work/`.
    fn job_dir(&self, id: Uuid) -> PathBuf {
        self.jobs_dir.join(id.to_string())
    }

    /// Starts following job `id`'s stdout for `PROGRESS` lines, unless already followed.
    fn follow(&self, id: Uuid, from: progress::From) {
        let Ok(mut followers) = self.followers.lock() else {
            return;
        };
        if followers.contains_key(&id) {
            return;
        }
        let done = CancellationToken::new();
        let task = tokio::spawn(progress::follow(
            self.job_dir(id).join("stdout.log"),
            from,
            self.lifecycle.clone(),
            id,
            ACTOR,
            done.clone(),
        ));
        followers.insert(id, (done, task));
    }

    fn followed(&self, id: Uuid) -> bool {
        self.followers.lock().is_ok_and(|f| f.contains_key(&id))
    }

    /// Stops following job `id`, after it read what the job wrote (bounded wait).
    async fn unfollow(&self, id: Uuid) {
        self.forget_samples(id);
        let follower = self.followers.lock().ok().and_then(|mut f| f.remove(&id));
        if let Some((done, task)) = follower {
            done.cancel();
            if tokio::time::timeout(Duration::from_secs(5), task).await.is_err() {
                warn!(job_id = %id, "progress follower did not finish");
            }
        }
    }
}

#[async_trait]
impl Executor for SlurmExecutor {
    fn name(&self) -> &'static str {
        EXECUTOR_NAME
    }

    fn wake(&self) {
        self.wake.notify_one();
    }

    /// Cancels the job's Slurm job (`scancel`), if it was handed to Slurm.
    async fn stop(&self, id: Uuid) {
        let store = self.lifecycle.store();
        match store.slurm_job(id).await {
            Ok(Some(row)) if !row.finished => {
                if let Some(sid) = row.slurm_job_id {
                    match self.cli.scancel(sid).await {
                        Ok(()) => {
                            info!(job_id = %id, slurm_job_id = sid, "cancelled in Slurm");
                            if let Err(e) = store
                                .slurm_update(id, None, "CANCELLED", "", true, crate::clock::now())
                                .await
                            {
                                warn!(error = %e, "recording the cancel");
                            }
                        }
                        // The next poll sees the job cancelled here and tries again.
                        Err(e) => warn!(job_id = %id, error = %e, "scancel failed"),
                    }
                }
                self.unfollow(id).await;
            }
            Ok(_) => {}
            Err(e) => warn!(job_id = %id, error = %e, "reading the job's Slurm record"),
        }
    }

    async fn logs(&self, job: &Job) -> Result<JobLogs, ExecutorError> {
        crate::executor::logs::logs(&self.job_dir(job.id)).await
    }

    /// Opens `file` beneath the job's working directory (`<jobs_dir>/<id>/work`).
    async fn output(&self, job: &Job, file: &Path) -> Result<Opened, BeneathError> {
        crate::executor::logs::output(self.job_dir(job.id), file).await
    }

    /// The job's Slurm id, state and pending reason, and once it ended its accounting with
    /// the actual cost at its system's rates.
    async fn scheduler(&self, job: &Job) -> Result<Option<SchedulerRecord>, ExecutorError> {
        let row = self
            .lifecycle
            .store()
            .slurm_job(job.id)
            .await
            .map_err(|e| ExecutorError::Failed(format!("reading the Slurm record: {e}")))?;
        let rates = self
            .systems
            .get(&job.target_system)
            .map(|s| s.rates)
            .unwrap_or_default();
        Ok(row.map(|r| {
            SchedulerRecord::new(
                EXECUTOR_NAME,
                r.slurm_job_id.map(|id| id.to_string()),
                r.state,
                r.reason,
                r.accounting,
                &rates,
            )
        }))
    }

    /// How busy the system's partition is and when Slurm expects a job asking for `r` to start.
    async fn queue(&self, system: &str, r: &Resources) -> Result<Option<QueueInsight>, ExecutorError> {
        self.queue_insight(system, r).await
    }

    /// Settles submissions a previous server made without seeing `sbatch` answer: the job is
    /// found by its name in Slurm, or submitted again. Jobs Slurm runs are re-attached by the
    /// first poll (their progress followed from the latest value written meanwhile).
    #[instrument(skip_all, err)]
    async fn recover(&self) -> Result<(), ExecutorError> {
        let store = self.lifecycle.store();
        let failed = |e: crate::store::StoreError| ExecutorError::Failed(format!("reading Slurm jobs: {e}"));
        for row in store.slurm_active().await.map_err(failed)? {
            if row.slurm_job_id.is_none() {
                self.resolve_unanswered(row.job_id).await;
            }
        }
        Ok(())
    }

    /// Submits and polls until `shutdown`; jobs in Slurm go on without the server.
    async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let min = Duration::from_millis(self.settings.poll_interval_ms.max(100));
        let max = Duration::from_millis(self.settings.max_poll_interval_ms).max(min);
        let mut pause = min;
        loop {
            let wake = self.wake.notified();
            let submitted = self.submit_queued().await;
            let changed = self.poll().await;
            let accounted = self.account_finished().await;
            pause = if submitted || changed || accounted {
                min
            } else {
                (pause * 2).min(max)
            };
            tokio::select! {
                () = wake => pause = min,
                () = tokio::time::sleep(pause) => {}
                () = shutdown.cancelled() => break,
            }
        }
        let followers: Vec<Uuid> = self
            .followers
            .lock()
            .map(|f| f.keys().copied().collect())
            .unwrap_or_default();
        for id in followers {
            self.unfollow(id).await;
        }
        info!("Slurm executor stopped");
    }
}
