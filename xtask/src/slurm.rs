//! A single-node Slurm cluster for the Slurm executor's tests (`cargo xtask slurm`, and the
//! unit+integration stage before nextest): installs Debian's packages once, then starts munge,
//! slurmdbd (accounting in the local MariaDB, so `sacct` answers), slurmctld and slurmd with
//! the configuration measured in the shared TOOLCHAIN.md (`slurm/start.sh`), and waits until
//! the node is up. A cluster that is already up is left as it is.
//!
//! Outside CI a cluster that cannot start is a warning (the tests find no cluster and print
//! SKIPPED); with `CI=true` it fails the stage, and the tests fail without one too.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::run;

/// The start script (run by `bash`, as root), relative to the workspace root.
const START: &str = "xtask/slurm/start.sh";

/// Debian packages of the cluster (22.05 on Debian 12); the JWT plugin serves `AuthAltTypes`
/// (tokens for slurmrestd).
const PACKAGES: &[&str] = &[
    "slurm-wlm",
    "slurmctld",
    "slurmd",
    "slurmdbd",
    "slurm-client",
    "munge",
    "slurm-wlm-jwt-plugin",
];

/// Longest a start may take (a first start creates the accounting database: 6 s measured).
const START_LIMIT: Duration = Duration::from_secs(120);

/// Whether `program` runs (found on PATH and answers `args`).
fn answers(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Installs the packages that are missing (needs root and Debian's archive).
fn install() -> Result<()> {
    let missing: Vec<&str> = PACKAGES
        .iter()
        .copied()
        .filter(|p| !crate::tools::installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    crate::tools::apt_install(&missing, "the Slurm cluster")
}

/// Installs and starts the cluster; prints how long it took.
fn start() -> Result<()> {
    let started = Instant::now();
    install()?;
    if !answers("mysql", &["-e", "select 1"]) {
        bail!("MariaDB does not answer `mysql -e 'select 1'`: slurmdbd keeps Slurm's accounting there");
    }
    run(Command::new("timeout")
        .arg(START_LIMIT.as_secs().to_string())
        .args(["bash", START]))
    .context("the Slurm start script failed; see /var/log/slurm/")?;
    let out = Command::new("sinfo")
        .args(["-h", "-o", "%n %T %c %m %G"])
        .output()
        .context("sinfo")?;
    eprintln!(
        "xtask: Slurm up in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        String::from_utf8_lossy(&out.stdout).trim()
    );
    Ok(())
}

/// `cargo xtask slurm`: the cluster, started or failing.
pub fn up() -> Result<()> {
    start()
}

/// For the test stage: the cluster ([`crate::tools::for_tests`]).
pub fn for_tests() -> Result<()> {
    crate::tools::for_tests("Slurm", start)
}
