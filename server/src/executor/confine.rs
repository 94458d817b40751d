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
            .chain([PROCESSES])
            .filter(|name| !self.protections.get(*name).copied().unwrap_or(false))
            .collect()
    }

    /// Whether job processes are confined (fully or partly).
    pub fn is_active(&self) -> bool {
        self.status == "fully_enforced" || self.status == "partially_enforced"
    }
}

/// Which protections an effective Landlock ABI brings (0: none); [`PROCESSES`] is set by
/// whoever starts the job in its own namespaces.
fn protections(abi: i32) -> BTreeMap<String, bool> {
    PROTECTIONS
        .iter()
        .map(|(name, since)| ((*name).to_owned(), abi >= *since))
        .chain([(PROCESSES.to_owned(), false)])
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
    /// `RLIMIT_FSIZE` in bytes: the largest file the job may write; a write beyond it ends the
    /// writing process with SIGXFSZ (see `ExecutorSettings::max_file_bytes`).
    pub file_bytes: Option<u64>,
}

/// How to start one job (the arguments of `job-exec` and `job-init`).
#[derive(Debug, Clone, Default)]
pub struct JobExec {
    /// The job's working directory (read/write).
    pub work: PathBuf,
    /// Directories the job may read and execute.
    pub read_paths: Vec<PathBuf>,
    /// TCP ports the job may connect to.
    pub connect_ports: Vec<u16>,
    pub limits: Limits,
    /// Start the job in its own PID and mount namespace ([`super::namespace`]).
    pub pid_namespace: bool,
    /// Print the [`Confinement`] as JSON and exit instead of running a command.
    pub probe: bool,
    /// The program and its arguments.
    pub command: Vec<String>,
}

/// `job-exec`: applies the limits, then either starts `job-init` in new PID and mount
/// namespaces and waits for it ([`super::namespace::supervise`]), or — without namespaces,
/// or where the kernel refuses them — restricts this process and replaces it with the command.
/// Returns only on failure.
pub fn exec(job: &JobExec) -> std::io::Error {
    if job.limits.nice != 0
        && let Err(e) = rustix::process::nice(job.limits.nice)
    {
        return std::io::Error::other(format!("lowering the job's priority failed: {e}"));
    }
    if job.pid_namespace && super::namespace::unshare().is_ok() {
        // job-init sets the memory limit just before it starts the job: the launcher binary
        // itself may need more address space than a small job asks for.
        return super::namespace::supervise(job);
    }
    apply_rlimits(job.limits);
    confine_and_exec(job, false)
}

/// Sets `RLIMIT_AS` (soft and hard) to the job's memory request and `RLIMIT_FSIZE` to its
/// largest file, inherited by what this process starts next.
pub(super) fn apply_rlimits(limits: Limits) {
    let set = |resource, bytes: u64| {
        let limit = rustix::process::Rlimit {
            current: Some(bytes),
            maximum: Some(bytes),
        };
        // As the wrapper's `ulimit -v … 2>/dev/null`: a limit the host refuses is not fatal.
        let _ = rustix::process::setrlimit(resource, limit);
    };
    if let Some(kib) = limits.memory_kib {
        set(rustix::process::Resource::As, kib.saturating_mul(1024));
    }
    if let Some(bytes) = limits.file_bytes {
        set(rustix::process::Resource::Fsize, bytes);
    }
}

/// Restricts this process (and what it starts) as `job` says; `in_namespace` says whether
/// [`PROCESSES`] holds. The error names what failed.
pub(super) fn confine(job: &JobExec, in_namespace: bool) -> Result<Confinement, std::io::Error> {
    let mut confinement = restrict(&job.work, &job.read_paths, &job.connect_ports)
        .map_err(|e| std::io::Error::other(format!("applying the Landlock ruleset failed: {e}")))?;
    confinement.protections.insert(PROCESSES.to_owned(), in_namespace);
    Ok(confinement)
}

/// Restricts this process (Landlock) and replaces it with the job's command (or, probing,
/// prints what is enforced). `in_namespace` says whether [`PROCESSES`] holds.
pub(super) fn confine_and_exec(job: &JobExec, in_namespace: bool) -> std::io::Error {
    let confinement = match confine(job, in_namespace) {
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
    std::process::Command::new(program).args(args).exec()
}

/// Runs `launcher job-exec --probe` to learn what confinement jobs get.
pub async fn probe(
    launcher: &Path,
    read_paths: &[PathBuf],
    connect_ports: &[u16],
    pid_namespace: bool,
    scratch: &Path,
) -> Confinement {
    let failed = Confinement::none;
    if let Err(e) = tokio::fs::create_dir_all(scratch).await {
        return failed(format!("cannot create {}: {e}", scratch.display()));
    }
    let out = tokio::process::Command::new(launcher)
        .args(launcher_args(
            &JobExec {
                work: scratch.to_path_buf(),
                read_paths: read_paths.to_vec(),
                connect_ports: connect_ports.to_vec(),
                pid_namespace,
                ..JobExec::default()
            },
            "job-exec",
        ))
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

/// `SUBCOMMAND --work DIR --nice N [--memory-kib K] --read P… --connect-port N…
/// [--pid-namespace]` for `job` (the caller appends `-- PROGRAM ARGS…` or `--probe`;
/// `job.command` and `job.probe` are not included).
pub fn launcher_args(job: &JobExec, subcommand: &str) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec![
        subcommand.into(),
        "--work".into(),
        job.work.clone().into(),
        "--nice".into(),
        job.limits.nice.to_string().into(),
    ];
    if let Some(kib) = job.limits.memory_kib {
        args.push("--memory-kib".into());
        args.push(kib.to_string().into());
    }
    if let Some(bytes) = job.limits.file_bytes {
        args.push("--file-bytes".into());
        args.push(bytes.to_string().into());
    }
    for p in &job.read_paths {
        args.push("--read".into());
        args.push(p.into());
    }
    for port in &job.connect_ports {
        args.push("--connect-port".into());
        args.push(port.to_string().into());
    }
    if job.pid_namespace {
        args.push("--pid-namespace".into());
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
        let mut v7 = protections(7);
        assert_eq!(v7.values().filter(|on| !**on).count(), 1, "all but processes");
        let c = Confinement {
            protections: v5,
            ..Confinement::none(String::new())
        };
        assert_eq!(c.missing(), ["signals", "abstract_unix_sockets", PROCESSES]);
        v7.insert(PROCESSES.into(), true);
        let c = Confinement {
            protections: v7,
            ..Confinement::none(String::new())
        };
        assert!(c.missing().is_empty());
        assert_eq!(Confinement::disabled().missing().len(), PROTECTIONS.len() + 1);
    }

    #[test]
    fn launcher_args_carry_the_allowed_ports() {
        let job = JobExec {
            work: PathBuf::from("/w"),
            read_paths: vec![PathBuf::from("/usr")],
            connect_ports: vec![443, 80],
            limits: Limits {
                nice: 10,
                memory_kib: Some(1024),
                file_bytes: Some(4096),
            },
            pid_namespace: true,
            ..JobExec::default()
        };
        let args = launcher_args(&job, "job-exec");
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
                "--file-bytes",
                "4096",
                "--read",
                "/usr",
                "--connect-port",
                "443",
                "--connect-port",
                "80",
                "--pid-namespace"
            ]
        );
    }
}
