//! How the server starts a job: the arguments of `job-exec` and `job-init` ([`JobExec`], as
//! [`launcher_args`] spells them), the launcher configured from the settings ([`Launcher`]),
//! and what the namespaces give a job besides Landlock ([`Isolation`]). The vocabulary the
//! launcher's parts share — `confine` (Landlock), `namespace` (PID 1 of the job) and the
//! server's `process` — so that none of them needs another's internals.

use std::path::PathBuf;

/// What the job's namespaces and user give it (see `confine::LAUNCHER_PROTECTIONS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Isolation {
    pub processes: bool,
    pub private_root: bool,
    pub network: bool,
}

/// How `job-exec` made the job's namespaces (see `namespace::unshare`); passed on to
/// `job-init` as `--network-namespace` and `--user-namespace`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unshared {
    /// A network namespace holding only a loopback that is down.
    pub network: bool,
    /// A user namespace first (a server that is not root; see [`super::userns`]): `job-init`
    /// drops its capabilities before starting the job.
    pub user: bool,
}

pub use super::limits::{Limits, RunAs};

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
    /// Start the job in its own PID and mount namespace ([`super::namespace`]), with its own
    /// root file system ([`super::rootfs`]) and, when `connect_ports` is empty, its own network
    /// namespace (no network at all).
    pub pid_namespace: bool,
    /// For `job-init`: the namespaces `job-exec` made.
    pub unshared: Unshared,
    /// The job's `pids` cgroup ([`super::cgroup`]), which `job-exec` joins first.
    pub pids_cgroup: Option<PathBuf>,
    /// Print the [`Confinement`] as JSON and exit instead of running a command.
    pub probe: bool,
    /// The program and its arguments.
    pub command: Vec<String>,
}

/// The program that starts confined jobs (`job-exec`) and what every job gets from it.
#[derive(Debug, Clone)]
pub struct Launcher {
    pub program: PathBuf,
    /// Read paths, ports, limits (memory aside), user and namespaces from the settings.
    pub template: JobExec,
}

impl Launcher {
    /// The launcher `program` configured as `settings` say, jobs running as `run_as`.
    pub fn new(program: PathBuf, settings: &crate::settings::ExecutorSettings, run_as: Option<RunAs>) -> Launcher {
        Launcher {
            program,
            template: JobExec {
                read_paths: settings.confine_read_paths.clone(),
                connect_ports: settings.allow_connect_ports.clone(),
                limits: Limits {
                    nice: i32::from(settings.nice.min(19)),
                    memory_kib: None,
                    file_bytes: settings.file_limit(),
                    open_files: settings.max_open_files,
                    cpu_seconds: settings.max_cpu_seconds,
                    processes: settings.max_processes,
                    run_as,
                },
                pid_namespace: settings.isolate_processes,
                ..JobExec::default()
            },
        }
    }

    /// How to start one job working in `work` with `memory_kib` of address space, in the
    /// `pids` cgroup at `pids_cgroup` when it has one (which then counts its processes instead
    /// of the run-as user's `RLIMIT_NPROC`).
    pub fn job(&self, work: PathBuf, memory_kib: u64, pids_cgroup: Option<PathBuf>) -> JobExec {
        let mut job = self.template.clone();
        job.work = work;
        job.limits.memory_kib = Some(memory_kib);
        if pids_cgroup.is_some() {
            job.limits.processes = None;
        }
        job.pids_cgroup = pids_cgroup;
        job
    }
}

/// `SUBCOMMAND --work DIR --nice N [--memory-kib K] [--file-bytes B] [--open-files N]
/// [--cpu-seconds S] [--processes N] [--uid U --gid G] --read P… --connect-port N…
/// [--pid-namespace] [--network-namespace]` for `job` (the caller appends `-- PROGRAM ARGS…`
/// or `--probe`; `job.command` and `job.probe` are not included).
pub fn launcher_args(job: &JobExec, subcommand: &str) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec![
        subcommand.into(),
        "--work".into(),
        job.work.clone().into(),
        "--nice".into(),
        job.limits.nice.to_string().into(),
    ];
    let l = &job.limits;
    for (flag, value) in [
        ("--memory-kib", l.memory_kib),
        ("--file-bytes", l.file_bytes),
        ("--open-files", l.open_files),
        ("--cpu-seconds", l.cpu_seconds),
        ("--processes", l.processes),
        ("--uid", l.run_as.map(|u| u64::from(u.uid))),
        ("--gid", l.run_as.map(|u| u64::from(u.gid))),
    ] {
        if let Some(v) = value {
            args.push(flag.into());
            args.push(v.to_string().into());
        }
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
    if job.unshared.network {
        args.push("--network-namespace".into());
    }
    if job.unshared.user {
        args.push("--user-namespace".into());
    }
    if let Some(dir) = &job.pids_cgroup {
        args.push("--pids-cgroup".into());
        args.push(dir.into());
    }
    args
}

#[cfg(test)]
mod tests {
    use super::*;

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
                processes: Some(64),
                run_as: Some(RunAs { uid: 65534, gid: 65533 }),
                ..Limits::default()
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
                "--processes",
                "64",
                "--uid",
                "65534",
                "--gid",
                "65533",
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
