//! A job in its own PID and mount namespace (Linux; with `CAP_SYS_ADMIN`, which a server
//! running as root has, or else inside a new user namespace, see [`super::userns`]).
//! `job-exec` unshares them and starts `job-init`, which becomes PID 1
//! of the new PID namespace: it mounts a `/proc` that shows only the job's processes, confines
//! itself ([`super::confine`]), starts the job in its own process group and stays as its init —
//! forwarding SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to the job, reaping orphans,
//! and exiting with the job's status. When PID 1 exits the kernel kills every process left in
//! the namespace, so nothing a job starts (`setsid`, double forks, a cleared environment)
//! outlives it. `job-init` dies with `job-exec` (`PR_SET_PDEATHSIG`), and a SIGKILL from the
//! server reaches both (one process group), so cancel and timeout end the whole namespace too.
//! The same role as tini or dumb-init in a container, without a runtime.
//!
//! A job killed by signal N is reported as the shells report it: `job-init` exits with
//! 128 + N and `job-exec` dies by signal N, so the server sees a signal either way.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus};

use nix::mount::{MsFlags, mount};
use nix::sched::CloneFlags;
use nix::sys::signal::{Signal, kill, killpg};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use signal_hook::consts::signal::{SIGCHLD, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook::iterator::Signals;

use super::confine::confine_and_exec;
use super::launch::{Isolation, JobExec, Unshared, launcher_args};

/// Signals passed on to the job (a cancel's SIGTERM among them).
const FORWARDED: [i32; 6] = [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2];

/// Handlers for the forwarded signals and SIGCHLD, read with `wait()`. Handlers, not a blocked
/// mask: PID 1 of a namespace gets a signal from outside only when it has a handler.
fn forwarded_signals() -> std::io::Result<Signals> {
    Signals::new(FORWARDED.iter().copied().chain([SIGCHLD]))
}

/// `job-exec`: lowers the priority, then either starts `job-init` in new PID, mount and (with
/// no allowed ports) network namespaces and waits for it ([`supervise`]), or
/// — without namespaces, or where the kernel refuses them — applies the limits, restricts this
/// process and replaces it with the command (as `executor.run_as`). Returns only on failure.
pub fn exec(job: &JobExec) -> std::io::Error {
    if let Some(dir) = &job.pids_cgroup
        && let Err(e) = super::cgroup::join(dir)
    {
        return std::io::Error::other(format!("joining the job's cgroup {}: {e}", dir.display()));
    }
    if job.limits.nice != 0
        && let Err(e) = rustix::process::nice(job.limits.nice)
    {
        return std::io::Error::other(format!("lowering the job's priority failed: {e}"));
    }
    if let Some(user) = job.limits.run_as
        && let Err(e) = user.own(&job.work)
    {
        return std::io::Error::other(format!("giving the job's directory to uid {}: {e}", user.uid));
    }
    if job.pid_namespace
        && let Ok(unshared) = unshare(job.connect_ports.is_empty())
    {
        // job-init sets the limits just before it starts the job: the launcher binary
        // itself may need more address space than a small job asks for.
        return supervise(job, unshared);
    }
    super::limits::apply_rlimits(&job.limits);
    confine_and_exec(job, Isolation::default())
}

/// Moves this process into a new mount namespace (and, with `network`, a new network
/// namespace) and makes its next child the first process of a new PID namespace. With
/// `CAP_SYS_ADMIN` (a root server) that is all; without it, the same inside a new user
/// namespace in which this process is root ([`super::userns`]). A kernel or container may
/// refuse the network namespace alone; the job then keeps Landlock's TCP rules. Fails when no
/// variant is allowed (the caller then confines the job without namespaces and reports
/// `processes: false`).
pub fn unshare(network: bool) -> std::io::Result<Unshared> {
    let base = CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWNS;
    let (uid, gid) = (rustix::process::geteuid().as_raw(), rustix::process::getegid().as_raw());
    for user in [false, true] {
        let with_user = if user { base | CloneFlags::CLONE_NEWUSER } else { base };
        let tries: &[(CloneFlags, bool)] = if network {
            &[(with_user.union(CloneFlags::CLONE_NEWNET), true), (with_user, false)]
        } else {
            &[(with_user, false)]
        };
        for (flags, net) in tries {
            if nix::sched::unshare(*flags).is_ok() {
                if user {
                    super::userns::map_root(uid, gid)?;
                }
                return Ok(Unshared { network: *net, user });
            }
        }
    }
    Err(std::io::Error::other("the kernel refused new PID and mount namespaces"))
}

/// The exit code a shell gives a process that ended with `status`: its code, or 128 + N when
/// signal N killed it.
fn shell_code(status: ExitStatus) -> i32 {
    status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(1)
}

/// Ends this process the way the job ended: a code above 128 that names a signal is re-raised
/// as that signal (so the server records "killed by signal N"), any other code is the exit code.
fn end_like(code: i32) -> ! {
    if (129..160).contains(&code) {
        let _ = signal_hook::low_level::emulate_default_handler(code - 128);
    }
    std::process::exit(code)
}

/// In `job-exec`, after [`unshare`] (`unshared`: its answer): starts `job-init` (PID 1 of the
/// new namespace), passes the forwarded signals on to it, and ends as it ends. Returns only
/// when it cannot start it.
pub fn supervise(job: &JobExec, unshared: Unshared) -> std::io::Error {
    let mut signals = match forwarded_signals() {
        Ok(s) => s,
        Err(e) => return e,
    };
    let mut init = Command::new("/proc/self/exe");
    // Nice is inherited already: job-init must not add it again.
    let mut for_init = job.clone();
    for_init.limits.nice = 0;
    for_init.unshared = unshared;
    // job-exec joined the cgroup already; job-init and the job are counted from birth.
    for_init.pids_cgroup = None;
    init.args(launcher_args(&for_init, "job-init"));
    if job.probe {
        init.arg("--probe");
    } else {
        init.arg("--").args(&job.command);
    }
    let mut child = match init.spawn() {
        Ok(c) => c,
        Err(e) => return e,
    };
    let Ok(pid) = i32::try_from(child.id()).map(Pid::from_raw) else {
        return std::io::Error::other("job-init has no valid pid");
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => end_like(shell_code(status)),
            Ok(None) => {}
            Err(e) => return e,
        }
        for sig in signals.wait() {
            if sig != SIGCHLD
                && let Ok(sig) = Signal::try_from(sig)
            {
                let _ = kill(pid, sig);
            }
        }
    }
}

/// Makes this namespace's mounts private (nothing propagates back to the host).
fn make_mounts_private() -> nix::Result<()> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
}

/// Mounts a `/proc` of the current PID namespace over the host's (when the job keeps the
/// host's root).
fn mount_proc() -> nix::Result<()> {
    mount(
        Some("proc"),
        "/proc",
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
}

/// Gives the job its own root ([`super::rootfs`]) with a `/proc` of its PID namespace, or, where
/// that fails, mounts such a `/proc` over the host's; each failure is said on stderr (the job's
/// `stderr.log`). Answers (private root, own `/proc`) for `/readyz`.
fn enter_job_root(job: &JobExec) -> (bool, bool) {
    if let Err(e) = make_mounts_private() {
        eprintln!("cosmic-horizons job-init: making the job's mounts private failed: {e}");
        return (false, false);
    }
    match super::rootfs::enter(&job.work, &job.read_paths) {
        Ok(()) => (true, true),
        Err(e) => {
            eprintln!("cosmic-horizons job-init: {e}; the job keeps the host's file tree");
            match mount_proc() {
                Ok(()) => (false, true),
                Err(e) => {
                    // A user namespace may not mount procfs where the host's /proc is partly
                    // masked (some containers): the job still ends as one unit.
                    eprintln!("cosmic-horizons job-init: mounting the job's /proc failed: {e}");
                    (false, false)
                }
            }
        }
    }
}

/// `job-init`: PID 1 of the job's namespace (see the module docs). Returns only on failure.
pub fn init(job: &JobExec) -> std::io::Error {
    // Gone with job-exec, whatever kills it.
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    let (private_root, own_proc) = enter_job_root(job);
    let isolation = Isolation {
        processes: own_proc,
        private_root,
        network: job.unshared.network,
    };
    if job.probe {
        return confine_and_exec(job, isolation);
    }
    let mut signals = match forwarded_signals() {
        Ok(s) => s,
        Err(e) => return e,
    };
    // Confine this process (its children inherit it), then start the job instead of
    // replacing this process with it: PID 1 stays to reap and to end the namespace.
    let Some((program, args)) = job.command.split_first() else {
        return std::io::Error::other("job-init: no command after --");
    };
    if let Err(e) = super::confine::confine(job, isolation) {
        return e;
    }
    // From here this process only waits and forwards signals: the job's limits may apply to
    // it as well (the process limit counts the job's user, not root).
    super::limits::apply_rlimits(&job.limits);
    // Root of a user namespace only to build the job's view; the job gets no capability.
    if job.unshared.user
        && let Err(e) = super::userns::drop_capabilities()
    {
        return e;
    }
    let mut command = Command::new(program);
    command.args(args).current_dir(&job.work).process_group(0);
    if let Some(user) = job.limits.run_as {
        user.apply(&mut command);
    }
    let child = match command.spawn() {
        Ok(c) => c,
        Err(e) => return e,
    };
    let Ok(job_pid) = i32::try_from(child.id()).map(Pid::from_raw) else {
        return std::io::Error::other("the job has no valid pid");
    };
    loop {
        for sig in signals.wait() {
            if sig == SIGCHLD {
                reap(job_pid);
            } else if let Ok(sig) = Signal::try_from(sig) {
                let _ = killpg(job_pid, sig);
            }
        }
    }
}

/// Reaps every child that has ended; when the job itself is among them, exits with its
/// status (which ends the namespace).
fn reap(job_pid: Pid) {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == job_pid => std::process::exit(code),
            Ok(WaitStatus::Signaled(pid, sig, _)) if pid == job_pid => std::process::exit(128 + sig as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return,
            Ok(_) => {}
        }
    }
}
