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

/// The directories a job may read and execute when nothing is configured.
pub const DEFAULT_READ_PATHS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc", "/opt", "/proc", "/sys",
];

/// The newest Landlock ABI this code handles; older kernels enforce what they know.
const ABI_WANTED: ABI = ABI::V6;

/// The protections a confined job can get, with the Landlock ABI that brings each.
pub const PROTECTIONS: &[(&str, i32)] = &[
    ("files", 1),
    ("tcp_connect", 4),
    ("tcp_bind", 4),
    ("signals", 6),
    ("abstract_unix_sockets", 6),
];

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
            .filter(|name| !self.protections.get(*name).copied().unwrap_or(false))
            .collect()
    }

    /// Whether job processes are confined (fully or partly).
    pub fn is_active(&self) -> bool {
        self.status == "fully_enforced" || self.status == "partially_enforced"
    }
}

/// Which protections an effective Landlock ABI brings (0: none).
fn protections(abi: i32) -> BTreeMap<String, bool> {
    PROTECTIONS
        .iter()
        .map(|(name, since)| ((*name).to_owned(), abi >= *since))
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

/// What `job-exec` does besides confining: the job's priority and address-space limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    /// Nice increment (see `ExecutorSettings::nice`).
    pub nice: i32,
    /// `RLIMIT_AS` in KiB (soft and hard, as the shell's `ulimit -v`).
    pub memory_kib: Option<u64>,
}

/// `job-exec`: applies `limits`, restricts this process, then replaces it with `command`.
/// With `probe`, prints the [`Confinement`] as JSON instead and exits. Returns only on
/// failure.
pub fn exec(
    work: &Path,
    read_paths: &[PathBuf],
    connect_ports: &[u16],
    limits: Limits,
    probe: bool,
    command: &[String],
) -> std::io::Error {
    if limits.nice != 0
        && let Err(e) = rustix::process::nice(limits.nice)
    {
        return std::io::Error::other(format!("lowering the job's priority failed: {e}"));
    }
    if let Some(kib) = limits.memory_kib {
        let bytes = kib.saturating_mul(1024);
        let limit = rustix::process::Rlimit {
            current: Some(bytes),
            maximum: Some(bytes),
        };
        // As the wrapper's `ulimit -v … 2>/dev/null`: a limit the host refuses is not fatal.
        let _ = rustix::process::setrlimit(rustix::process::Resource::As, limit);
    }
    let confinement = match restrict(work, read_paths, connect_ports) {
        Ok(c) => c,
        Err(e) => return std::io::Error::other(format!("applying the Landlock ruleset failed: {e}")),
    };
    if probe {
        println!("{}", serde_json::to_string(&confinement).unwrap_or_default());
        std::process::exit(0);
    }
    let Some((program, args)) = command.split_first() else {
        return std::io::Error::other("job-exec: no command after --");
    };
    std::process::Command::new(program).args(args).exec()
}

/// Runs `launcher job-exec --probe` to learn what confinement jobs get.
pub async fn probe(launcher: &Path, read_paths: &[PathBuf], connect_ports: &[u16], scratch: &Path) -> Confinement {
    let failed = Confinement::none;
    if let Err(e) = tokio::fs::create_dir_all(scratch).await {
        return failed(format!("cannot create {}: {e}", scratch.display()));
    }
    let out = tokio::process::Command::new(launcher)
        .args(launcher_args(scratch, 0, None, read_paths, connect_ports))
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

/// `job-exec --work DIR --nice N [--memory-kib K] --read P… --connect-port N…` (the caller
/// appends `-- PROGRAM ARGS…` or `--probe`).
pub fn launcher_args(
    work: &Path,
    nice: i32,
    memory_kib: Option<u64>,
    read_paths: &[PathBuf],
    connect_ports: &[u16],
) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec![
        "job-exec".into(),
        "--work".into(),
        work.into(),
        "--nice".into(),
        nice.to_string().into(),
    ];
    if let Some(kib) = memory_kib {
        args.push("--memory-kib".into());
        args.push(kib.to_string().into());
    }
    for p in read_paths {
        args.push("--read".into());
        args.push(p.into());
    }
    for port in connect_ports {
        args.push("--connect-port".into());
        args.push(port.to_string().into());
    }
    args
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
        assert!(protections(7).values().all(|on| *on));
        let c = Confinement {
            protections: v5,
            ..Confinement::none(String::new())
        };
        assert_eq!(c.missing(), ["signals", "abstract_unix_sockets"]);
        assert_eq!(Confinement::disabled().missing().len(), PROTECTIONS.len());
    }

    #[test]
    fn launcher_args_carry_the_allowed_ports() {
        let args = launcher_args(Path::new("/w"), 10, Some(1024), &[PathBuf::from("/usr")], &[443, 80]);
        let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            args,
            [
                "job-exec",
                "--work",
                "/w",
                "--nice",
                "10",
                "--memory-kib",
                "1024",
                "--read",
                "/usr",
                "--connect-port",
                "443",
                "--connect-port",
                "80"
            ]
        );
    }
}
