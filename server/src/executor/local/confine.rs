//! Confining job processes with Landlock (Linux ≥ 5.13; the kernel's unprivileged
//! access-control LSM, through the `landlock` crate). A job may read and execute the system
//! directories (`executor.confine_read_paths`: `/usr`, `/bin`, `/lib*`, `/etc`, `/opt`, `/dev`,
//! `/proc`, `/sys`) and read and write only its own working directory; the server's database,
//! settings, data directory, caches and other jobs' directories are refused by the kernel.
//!
//! Where the kernel has them (Landlock ABI 4, Linux 6.7), TCP is restricted too: a job may
//! connect only to the ports in `executor.allow_connect_ports` (none by default: the database,
//! brokers, caches and this server are unreachable over TCP) and may not listen on any. Landlock
//! filters by port, not by address. With ABI 6 (Linux 6.12) a job can neither signal processes
//! outside its own Landlock domain (the server, other jobs, init) nor connect to abstract UNIX
//! sockets created outside it. Each protection is reported by name ([`Confinement::protections`]).
//!
//! A process can only restrict itself, so the server starts each job through its own binary:
//! `cosmic-horizons job-exec --work DIR [--read PATH]… -- PROGRAM ARGS…` restricts itself and
//! then `exec`s the job (the restriction is inherited by everything the job starts). No
//! `unsafe` `pre_exec` hook is needed. [`probe`] runs the launcher once at start-up to learn
//! what the kernel enforces; start-up logs it and `/readyz` reports it.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use std::collections::BTreeMap;

use landlock::{
    ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, LandlockStatus, NetPort, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetError, RulesetStatus, Scope, path_beneath_rules,
};
use serde::{Deserialize, Serialize};

pub use super::launch::{Isolation, JobExec, Launcher, Limits, RunAs, launcher_args};
pub use crate::settings::DEFAULT_READ_PATHS;

/// The newest Landlock ABI this code handles; older kernels enforce what they know.
const ABI_WANTED: ABI = ABI::V6;

/// The protections Landlock gives a confined job, with the Landlock ABI that brings each.
pub const PROTECTIONS: &[(&str, i32)] = &[
    ("files", 1),
    ("tcp_connect", 4),
    ("tcp_bind", 4),
    ("signals", 6),
    ("abstract_unix_sockets", 6),
];

/// The protection a PID and mount namespace gives (see [`super::namespace`]): the job sees only
/// its own processes, and none of them outlives it.
pub const PROCESSES: &str = "processes";

/// The job's own root file system ([`super::rootfs`]): no path UNIX sockets, no host `/dev`,
/// no file names outside the read paths.
pub const PRIVATE_ROOT: &str = "private_root";

/// The job's own network namespace with nothing in it: no TCP, UDP or raw socket reaches any
/// address (only when `executor.allow_connect_ports` is empty).
pub const NETWORK: &str = "network";

/// The job runs as an unprivileged user (`executor.run_as`, or a server that is not root):
/// the process limit holds and root's privileges (raw sockets, reading any file) are gone.
pub const UNPRIVILEGED: &str = "unprivileged";

/// Each job counts its processes in a `pids` cgroup of its own ([`super::cgroup`]); reported by
/// the server, which makes the cgroups.
pub const PROCESS_COUNT_PER_JOB: &str = "process_count_per_job";

/// What the launcher reports besides Landlock's protections.
pub const LAUNCHER_PROTECTIONS: [&str; 4] = [PROCESSES, PRIVATE_ROOT, NETWORK, UNPRIVILEGED];

/// What the kernel enforces on job processes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confinement {
    /// `landlock` or `none`.
    pub mechanism: String,
    /// `fully_enforced`, `partially_enforced`, `not_enforced` or `disabled`.
    pub status: String,
    /// The kernel's Landlock ABI, or why there is none.
    pub detail: String,
    /// Each protection of [`PROTECTIONS`] and whether the kernel enforces it on jobs (files,
    /// TCP connect and bind, signals, abstract UNIX sockets).
    #[serde(default)]
    pub protections: BTreeMap<String, bool>,
}

impl Confinement {
    /// Confinement switched off in the settings.
    pub fn disabled() -> Confinement {
        Confinement {
            mechanism: "none".into(),
            status: "disabled".into(),
            detail: "executor.confine = false".into(),
            protections: protections(0),
        }
    }

    /// Nothing enforced, and why.
    pub fn none(detail: String) -> Confinement {
        Confinement {
            mechanism: "none".into(),
            status: "not_enforced".into(),
            detail,
            protections: protections(0),
        }
    }

    /// The protections the kernel does not enforce on jobs (empty when all are).
    pub fn missing(&self) -> Vec<&str> {
        PROTECTIONS
            .iter()
            .map(|(name, _)| *name)
            .chain(LAUNCHER_PROTECTIONS)
            .filter(|name| !self.protections.get(*name).copied().unwrap_or(false))
            .collect()
    }

    /// Whether job processes are confined (fully or partly).
    pub fn is_active(&self) -> bool {
        self.status == "fully_enforced" || self.status == "partially_enforced"
    }
}

/// Which protections an effective Landlock ABI brings (0: none); the
/// [`LAUNCHER_PROTECTIONS`] are set by whoever starts the job.
fn protections(abi: i32) -> BTreeMap<String, bool> {
    PROTECTIONS
        .iter()
        .map(|(name, since)| ((*name).to_owned(), abi >= *since))
        .chain(LAUNCHER_PROTECTIONS.map(|p| (p.to_owned(), false)))
        .collect()
}

/// Restricts the calling process: read/execute beneath `read_paths`, read/write on `/dev`
/// files (`/dev/null`, terminals) and everything beneath `work`; TCP connect only to
/// `connect_ports`, no TCP bind; no signals or abstract UNIX sockets beyond its own domain.
fn restrict(work: &Path, read_paths: &[PathBuf], connect_ports: &[u16]) -> Result<Confinement, RulesetError> {
    let all = AccessFs::from_all(ABI_WANTED);
    let read = AccessFs::from_read(ABI_WANTED);
    let status = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(all)?
        .handle_access(AccessNet::from_all(ABI_WANTED))?
        .scope(Scope::from_all(ABI_WANTED))?
        .create()?
        .add_rules(path_beneath_rules(read_paths, read))?
        .add_rules(path_beneath_rules(["/dev"], read | AccessFs::WriteFile))?
        .add_rules(path_beneath_rules([work], all))?
        .add_rules(
            connect_ports
                .iter()
                .map(|port| Ok::<_, RulesetError>(NetPort::new(*port, AccessNet::ConnectTcp))),
        )?
        .restrict_self()?;
    let status_name = match status.ruleset {
        RulesetStatus::FullyEnforced => "fully_enforced",
        RulesetStatus::PartiallyEnforced => "partially_enforced",
        RulesetStatus::NotEnforced => "not_enforced",
    };
    let (detail, abi) = match status.landlock {
        LandlockStatus::Available {
            effective_abi,
            kernel_abi,
        } => (
            format!(
                "Landlock ABI {} (kernel {})",
                effective_abi as i32,
                kernel_abi.unwrap_or(effective_abi as i32)
            ),
            effective_abi as i32,
        ),
        LandlockStatus::NotEnabled => ("Landlock is built into the kernel but not enabled at boot".into(), 0),
        LandlockStatus::NotImplemented => ("the kernel has no Landlock".into(), 0),
    };
    let enforced = matches!(
        status.ruleset,
        RulesetStatus::FullyEnforced | RulesetStatus::PartiallyEnforced
    );
    Ok(Confinement {
        mechanism: "landlock".into(),
        status: status_name.into(),
        detail,
        protections: protections(if enforced { abi } else { 0 }),
    })
}

/// Restricts this process (and what it starts) as `job` says; `isolation` is what the
/// launcher's namespaces give besides. The error names what failed.
pub(super) fn confine(job: &JobExec, isolation: Isolation) -> Result<Confinement, std::io::Error> {
    let mut confinement = restrict(&job.work, &job.read_paths, &job.connect_ports)
        .map_err(|e| std::io::Error::other(format!("applying the Landlock ruleset failed: {e}")))?;
    // Root inside a user namespace is the unprivileged user outside it.
    let euid = rustix::process::geteuid().as_raw();
    let unprivileged = job.limits.run_as.is_some() || super::userns::outer_uid(euid).is_some_and(|outer| outer != 0);
    for (name, on) in [
        (PROCESSES, isolation.processes),
        (PRIVATE_ROOT, isolation.private_root),
        (NETWORK, isolation.network),
        (UNPRIVILEGED, unprivileged),
    ] {
        confinement.protections.insert(name.to_owned(), on);
    }
    Ok(confinement)
}

/// Restricts this process (Landlock) and replaces it with the job's command, as
/// `executor.run_as` where set (or, probing, prints what is enforced).
pub(super) fn confine_and_exec(job: &JobExec, isolation: Isolation) -> std::io::Error {
    let confinement = match confine(job, isolation) {
        Ok(c) => c,
        Err(e) => return e,
    };
    if job.probe {
        println!("{}", serde_json::to_string(&confinement).unwrap_or_default());
        std::process::exit(0);
    }
    let Some((program, args)) = job.command.split_first() else {
        return std::io::Error::other("job-exec: no command after --");
    };
    let mut command = std::process::Command::new(program);
    command.args(args);
    if let Some(user) = job.limits.run_as {
        user.apply(&mut command);
    }
    command.exec()
}

/// Runs `launcher job-exec --probe` for a job like `template` (its command is ignored) in
/// `scratch` to learn what confinement jobs get.
pub async fn probe(launcher: &Path, template: &JobExec, scratch: &Path) -> Confinement {
    let failed = Confinement::none;
    if let Err(e) = tokio::fs::create_dir_all(scratch).await {
        return failed(format!("cannot create {}: {e}", scratch.display()));
    }
    let job = JobExec {
        work: scratch.to_path_buf(),
        command: Vec::new(),
        probe: false,
        ..template.clone()
    };
    let out = tokio::process::Command::new(launcher)
        .args(launcher_args(&job, "job-exec"))
        .arg("--probe")
        .env_clear()
        .output()
        .await;
    match out {
        Ok(o) if o.status.success() => {
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| failed(format!("unreadable probe answer: {e}")))
        }
        Ok(o) => failed(format!(
            "the launcher {} failed: {}",
            launcher.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => failed(format!("cannot run the launcher {}: {e}", launcher.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protections_follow_the_abi() {
        let none = protections(0);
        assert!(none.values().all(|on| !on));
        let v5 = protections(5);
        assert!(v5["files"] && v5["tcp_connect"] && v5["tcp_bind"]);
        assert!(!v5["signals"] && !v5["abstract_unix_sockets"]);
        let mut v7 = protections(7);
        assert_eq!(
            v7.values().filter(|on| !**on).count(),
            LAUNCHER_PROTECTIONS.len(),
            "all but the launcher's"
        );
        let c = Confinement {
            protections: v5,
            ..Confinement::none(String::new())
        };
        assert_eq!(
            c.missing(),
            [
                "signals",
                "abstract_unix_sockets",
                PROCESSES,
                PRIVATE_ROOT,
                NETWORK,
                UNPRIVILEGED
            ]
        );
        for p in LAUNCHER_PROTECTIONS {
            v7.insert(p.into(), true);
        }
        let c = Confinement {
            protections: v7,
            ..Confinement::none(String::new())
        };
        assert!(c.missing().is_empty());
        assert_eq!(
            Confinement::disabled().missing().len(),
            PROTECTIONS.len() + LAUNCHER_PROTECTIONS.len()
        );
    }
}
