//! The Slurm commands, each run without a shell (arguments are never parsed by one) and with
//! a deadline: `sbatch --parsable`, one `squeue` and one `sacct` per poll for every job we
//! watch, `scancel`, and `sinfo` for the partitions' limits at start-up.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use ch_domain::{Accounting, SystemLimits};
use tokio::process::Command;

use super::state::{Seen, parse_sacct, parse_squeue};
use super::{accounting, limits};

/// Why a Slurm command failed.
#[derive(Debug, thiserror::Error)]
pub enum SlurmError {
    /// The command could not be started (not installed, not on `PATH`).
    #[error("starting `{0}`: {1}")]
    Start(String, std::io::Error),
    /// It ran past `slurm.command_timeout_secs` and was killed.
    #[error("`{0}` did not answer within {1:?}")]
    Timeout(String, Duration),
    /// It exited non-zero; Slurm's message is kept.
    #[error("`{0}` failed: {1}")]
    Failed(String, String),
    /// It answered something this executor cannot read.
    #[error("`{0}` answered {1:?}")]
    Unreadable(String, String),
}

/// Runs Slurm's commands from `bin_dir` (or `PATH`) with a deadline each.
#[derive(Debug, Clone)]
pub struct Cli {
    bin_dir: Option<PathBuf>,
    timeout: Duration,
}

impl Cli {
    pub fn new(bin_dir: Option<PathBuf>, timeout: Duration) -> Self {
        Self { bin_dir, timeout }
    }

    /// Runs `program args`; its standard output on success.
    async fn run(&self, program: &str, args: &[String]) -> Result<String, SlurmError> {
        self.run_both(program, args).await.map(|(out, _)| out)
    }

    /// Runs `program args`; its standard output and error on success.
    async fn run_both(&self, program: &str, args: &[String]) -> Result<(String, String), SlurmError> {
        let path = self
            .bin_dir
            .as_ref()
            .map_or_else(|| PathBuf::from(program), |d| d.join(program));
        let mut cmd = Command::new(&path);
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = cmd.spawn().map_err(|e| SlurmError::Start(program.into(), e))?;
        let out = tokio::time::timeout(self.timeout, child.wait_with_output())
            .await
            .map_err(|_| SlurmError::Timeout(program.into(), self.timeout))?
            .map_err(|e| SlurmError::Start(program.into(), e))?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr).trim().to_owned();
            return Err(SlurmError::Failed(program.into(), err));
        }
        Ok((
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// Asks Slurm when a job with `options` ([`super::script::resource_options`]) would start
    /// if submitted now, without submitting it (`sbatch --test-only`): its answer
    /// (`sbatch: Job 7 to start at 2026-12-07T19:54:20 using 1 processors on nodes n1 in
    /// partition debug`), or `Err(Failed)` with Slurm's refusal.
    pub async fn test_only(&self, options: Vec<String>) -> Result<String, SlurmError> {
        let mut args = vec![
            "--test-only".to_owned(),
            "--job-name=ch-queue-estimate".into(),
            "--output=/dev/null".into(),
        ];
        args.extend(options);
        args.extend(["--wrap".into(), "true".into()]);
        let (out, err) = self.run_both("sbatch", &args).await?;
        Ok(format!("{out}{err}"))
    }

    /// What the nodes measure of the running jobs `ids` and their steps (`sstat -a`): lines
    /// of `JobID|TresUsageInTot` ([`super::sample::parse`]).
    pub async fn sstat(&self, ids: &[u64]) -> Result<String, SlurmError> {
        let args = [
            "-n".into(),
            "-P".into(),
            "-a".into(),
            "-o".into(),
            "JobID,TresUsageInTot".into(),
            "-j".into(),
            list(ids),
        ];
        self.run("sstat", &args).await
    }

    /// The state of every pending and running job of `partition` (all users; `None`: all
    /// partitions), one per line.
    pub async fn partition_states(&self, partition: Option<&str>) -> Result<String, SlurmError> {
        let mut args = vec![
            "-h".to_owned(),
            "-t".into(),
            "PENDING,RUNNING".into(),
            "-o".into(),
            "%T".into(),
        ];
        if let Some(p) = partition {
            args.extend(["-p".into(), p.to_owned()]);
        }
        self.run("squeue", &args).await
    }

    /// Submits the batch script `script`; Slurm's job id.
    pub async fn sbatch(&self, script: &Path) -> Result<u64, SlurmError> {
        let out = self
            .run("sbatch", &["--parsable".into(), script.display().to_string()])
            .await?;
        // `--parsable` answers `<id>` or `<id>;<cluster>`.
        let first = out.trim().split(';').next().unwrap_or("");
        first
            .parse()
            .map_err(|_| SlurmError::Unreadable("sbatch".into(), out.trim().to_owned()))
    }

    /// What the controller says of `ids` (all states, finished ones included while it keeps
    /// them): one query for all.
    pub async fn squeue(&self, ids: &[u64]) -> Result<Vec<Seen>, SlurmError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let args = [
            "-h".into(),
            "-t".into(),
            "all".into(),
            "-o".into(),
            "%i|%T|%r".into(),
            "-j".into(),
            list(ids),
        ];
        match self.run("squeue", &args).await {
            Ok(out) => Ok(parse_squeue(&out)),
            // A single id the controller no longer knows is an error, not an empty answer.
            Err(SlurmError::Failed(_, msg)) if msg.contains("Invalid job id") => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// What accounting says of `ids`: how each allocation ended, and what it used (read from
    /// the allocations and their steps, [`accounting::parse`]); one query for all.
    pub async fn sacct(&self, ids: &[u64]) -> Result<(Vec<Seen>, HashMap<u64, Accounting>), SlurmError> {
        if ids.is_empty() {
            return Ok((Vec::new(), HashMap::new()));
        }
        let args = [
            "-n".into(),
            "-P".into(),
            "-o".into(),
            accounting::SACCT_FORMAT.into(),
            "-j".into(),
            list(ids),
        ];
        let out = self.run("sacct", &args).await?;
        Ok((parse_sacct(&out), accounting::parse(&out)))
    }

    /// The Slurm id of the job named `name` (`--job-name`), if the controller or accounting
    /// knows one: for a submission a stopped server did not see answered.
    pub async fn find_by_name(&self, name: &str) -> Result<Option<u64>, SlurmError> {
        let args = [
            "-h".into(),
            "-t".into(),
            "all".into(),
            "-o".into(),
            "%i".into(),
            "-n".into(),
            name.to_owned(),
        ];
        let out = self.run("squeue", &args).await?;
        if let Some(id) = out.lines().filter_map(|l| l.trim().parse().ok()).next_back() {
            return Ok(Some(id));
        }
        let args = [
            "-n".into(),
            "-P".into(),
            "-X".into(),
            "-o".into(),
            "JobIDRaw".into(),
            "--name".into(),
            name.to_owned(),
        ];
        let out = self.run("sacct", &args).await?;
        Ok(out.lines().filter_map(|l| l.trim().parse().ok()).next_back())
    }

    /// Cancels Slurm job `id` (`scancel`); one that already ended is no error.
    pub async fn scancel(&self, id: u64) -> Result<(), SlurmError> {
        match self.run("scancel", &[id.to_string()]).await {
            Err(SlurmError::Failed(_, msg)) if msg.contains("Invalid job id") || msg.contains("already completing") => {
                Ok(())
            }
            other => other.map(drop),
        }
    }

    /// Each partition's limits (`sinfo`, see [`super::limits`]); the default one also
    /// under `""`.
    pub async fn partition_limits(&self) -> Result<BTreeMap<String, SystemLimits>, SlurmError> {
        let out = self
            .run("sinfo", &["-h".into(), "-o".into(), limits::SINFO_FORMAT.into()])
            .await?;
        Ok(limits::parse_sinfo(&out))
    }
}

fn list(ids: &[u64]) -> String {
    ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")
}
