//! Executors: what runs jobs. Each implements the job service's port
//! ([`crate::jobs::Executor`]) and is chosen by the systems of the settings' catalogue
//! (`[systems.<name>] executor = "local"` or `"slurm"`).
//!
//! - [`local`]: child processes of this machine, confined by `job-exec` (Landlock, namespaces,
//!   limits, a cgroup each); jobs outlive the web server and are re-attached after a restart.
//! - [`slurm`]: batch jobs of a Slurm cluster, submitted with `sbatch` and watched with one
//!   `squeue`/`sacct` query per poll; re-attached after a restart by their Slurm job id.
//!
//! What both share: the job's log files ([`logs`]) and its `PROGRESS <n>` lines ([`progress`]).

pub mod local;
pub(crate) mod logs;
pub(crate) mod progress;
pub mod slurm;
