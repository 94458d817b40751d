//! Per-job resource limits and the unprivileged user a job runs as, applied by the launcher
//! (`job-exec`, or `job-init` inside the job's namespaces) just before the job starts.
//!
//! Limits are POSIX resource limits (`setrlimit(2)`), soft and hard alike, so the job cannot
//! raise them: `RLIMIT_AS` (memory), `RLIMIT_FSIZE` (largest file; SIGXFSZ beyond it),
//! `RLIMIT_NOFILE` (open files), `RLIMIT_CPU` (CPU seconds; SIGXCPU, then SIGKILL one second
//! later) and `RLIMIT_NPROC` (processes and threads of the job's user). The kernel does not
//! apply `RLIMIT_NPROC` to root, so the process limit holds only with `executor.run_as`.

use std::path::Path;

/// What the launcher does besides confining: priority, limits and the user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Nice increment (see `ExecutorSettings::nice`).
    pub nice: i32,
    /// `RLIMIT_AS` in KiB (soft and hard, as the shell's `ulimit -v`).
    pub memory_kib: Option<u64>,
    /// `RLIMIT_FSIZE` in bytes: the largest file the job may write; a write beyond it ends the
    /// writing process with SIGXFSZ (see `ExecutorSettings::max_file_bytes`).
    pub file_bytes: Option<u64>,
    /// `RLIMIT_NOFILE`: open file descriptors per process (`executor.max_open_files`).
    pub open_files: Option<u64>,
    /// `RLIMIT_CPU` in seconds per process (`executor.max_cpu_seconds`); SIGXCPU ends it.
    pub cpu_seconds: Option<u64>,
    /// `RLIMIT_NPROC`: processes and threads the job's user may have (`executor.max_processes`);
    /// a `fork` beyond it fails with `EAGAIN`. Ignored by the kernel for root.
    pub processes: Option<u64>,
    /// The user and group the job runs as (`executor.run_as`), or the server's own.
    pub run_as: Option<RunAs>,
}

/// A numeric user and group (resolved from `executor.run_as` at start-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

/// Why `executor.run_as` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RunAsError {
    #[error("executor.run_as: no user named {0:?} on this host")]
    Unknown(String),
    #[error("executor.run_as: {0:?} is root; jobs must run unprivileged")]
    Root(String),
    #[error("executor.run_as: looking up {0:?} failed: {1}")]
    Lookup(String, nix::Error),
}

impl RunAs {
    /// Resolves a user name (or a numeric uid) to its uid and primary group through the
    /// system's user database (`getpwnam_r`, so NSS sources such as LDAP count). Refuses root.
    pub fn resolve(name: &str) -> Result<RunAs, RunAsError> {
        let user = match name.parse::<u32>() {
            Ok(uid) => nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)),
            Err(_) => nix::unistd::User::from_name(name),
        }
        .map_err(|e| RunAsError::Lookup(name.to_owned(), e))?
        .ok_or_else(|| RunAsError::Unknown(name.to_owned()))?;
        if user.uid.is_root() {
            return Err(RunAsError::Root(name.to_owned()));
        }
        Ok(RunAs {
            uid: user.uid.as_raw(),
            gid: user.gid.as_raw(),
        })
    }

    /// Gives `work` (the job's fresh working directory) to this user, so the job can write
    /// its results there; the server (root) still reads them.
    pub fn own(&self, work: &Path) -> std::io::Result<()> {
        std::os::unix::fs::chown(work, Some(self.uid), Some(self.gid))
    }

    /// Makes `command` start as this user: std sets the group, drops supplementary groups
    /// (`setgroups(0)`, as root) and then the user, in the child just before `exec`.
    pub fn apply(&self, command: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        command.uid(self.uid).gid(self.gid);
    }
}

/// Sets the resource limits of `limits` (soft and hard) on this process; what it starts next
/// inherits them. A limit the host refuses is skipped, as the shell's `ulimit … 2>/dev/null`.
pub fn apply_rlimits(limits: &Limits) {
    use rustix::process::Resource;
    let set = |resource, value: u64| {
        let limit = rustix::process::Rlimit {
            current: Some(value),
            maximum: Some(value),
        };
        let _ = rustix::process::setrlimit(resource, limit);
    };
    if let Some(kib) = limits.memory_kib {
        set(Resource::As, kib.saturating_mul(1024));
    }
    if let Some(bytes) = limits.file_bytes {
        set(Resource::Fsize, bytes);
    }
    if let Some(n) = limits.open_files {
        set(Resource::Nofile, n);
    }
    if let Some(secs) = limits.cpu_seconds {
        // Soft at the limit (SIGXCPU), hard one second later (SIGKILL) for a job that ignores it.
        let limit = rustix::process::Rlimit {
            current: Some(secs),
            maximum: Some(secs.saturating_add(1)),
        };
        let _ = rustix::process::setrlimit(Resource::Cpu, limit);
    }
    if let Some(n) = limits.processes {
        set(Resource::Nproc, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_as_resolves_names_and_refuses_root() {
        assert!(matches!(RunAs::resolve("root"), Err(RunAsError::Root(_))));
        assert!(matches!(RunAs::resolve("0"), Err(RunAsError::Root(_))));
        assert!(matches!(
            RunAs::resolve("no-such-user-ch-27"),
            Err(RunAsError::Unknown(_))
        ));
        // `nobody` exists on every Debian/Ubuntu/Fedora host and CI image.
        if let Ok(n) = RunAs::resolve("nobody") {
            assert_ne!(n.uid, 0);
            assert_eq!(RunAs::resolve(&n.uid.to_string()).ok(), Some(n));
        }
    }
}
