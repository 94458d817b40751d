//! Executors: what runs jobs. Each implements the job service's port
//! ([`crate::jobs::Executor`]) and is chosen by the systems of the settings' catalogue
//! (`[systems.<name>] executor = "local"`).
//!
//! - [`local`]: child processes of this machine, confined by `job-exec` (Landlock, namespaces,
//!   limits, a cgroup each); jobs outlive the web server and are re-attached after a restart.
//! - `slurm` (issue 12) goes beside it, submitting with `sbatch` and watching `sacct`.

pub mod local;
