//! A `pids` cgroup per job: at most `executor.max_processes` processes and threads in the job,
//! counted for that job alone, and afterwards `pids.events` says whether the job reached the
//! limit — so a fork bomb fails as `process_limit` instead of with whatever its shell made of
//! `EAGAIN`. The controller Slurm's `task/cgroup` and systemd's `TasksMax=` use.
//!
//! Job cgroups are made beneath this server's own `pids` cgroup: in cgroup v1's `pids`
//! hierarchy, or in cgroup v2 where the server's cgroup delegates `pids` to its children
//! (`cgroup.subtree_control`, as systemd's `Delegate=yes` gives). Where neither is writable
//! (no root, a read-only `/sys/fs/cgroup`) jobs fall back to `RLIMIT_NPROC`, which counts all
//! processes of the run-as user.

use std::path::{Path, PathBuf};

use uuid::Uuid;

/// The directory job cgroups are made in, if this host lets the server make them: found once
/// at start-up (a probe cgroup is made and removed).
pub fn parent() -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let own = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let dir = v1_parent(&mountinfo, &own).or_else(|| v2_parent(&mountinfo, &own))?;
    let probe = dir.join(format!("ch-probe-{}", std::process::id()));
    std::fs::create_dir(&probe).ok()?;
    let writable = probe.join("pids.max").exists();
    let _ = std::fs::remove_dir(&probe);
    writable.then_some(dir)
}

/// Mount point of the filesystem of type `fstype` whose super options contain `option`
/// (`/proc/self/mountinfo`: fields, `-`, fstype, source, super options).
fn mount_point(mountinfo: &str, fstype: &str, option: Option<&str>) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let mut r = right.split_whitespace();
        let (kind, _source, options) = (r.next()?, r.next()?, r.next().unwrap_or(""));
        let matches = kind == fstype && option.is_none_or(|o| options.split(',').any(|x| x == o));
        matches
            .then(|| left.split_whitespace().nth(4).map(PathBuf::from))
            .flatten()
    })
}

/// This process's path in the hierarchy whose `/proc/self/cgroup` line has `controllers`
/// (`pids` for v1, empty for v2).
fn own_path<'a>(own: &'a str, controller: &str) -> Option<&'a str> {
    own.lines().find_map(|line| {
        let mut f = line.splitn(3, ':');
        let (_, controllers, path) = (f.next()?, f.next()?, f.next()?);
        let hit = if controller.is_empty() {
            controllers.is_empty()
        } else {
            controllers.split(',').any(|c| c == controller)
        };
        hit.then_some(path)
    })
}

fn v1_parent(mountinfo: &str, own: &str) -> Option<PathBuf> {
    let root = mount_point(mountinfo, "cgroup", Some("pids"))?;
    Some(root.join(own_path(own, "pids")?.trim_start_matches('/')))
}

fn v2_parent(mountinfo: &str, own: &str) -> Option<PathBuf> {
    let root = mount_point(mountinfo, "cgroup2", None)?;
    let dir = root.join(own_path(own, "")?.trim_start_matches('/'));
    let delegated = std::fs::read_to_string(dir.join("cgroup.subtree_control")).ok()?;
    delegated.split_whitespace().any(|c| c == "pids").then_some(dir)
}

/// One job's cgroup (`<parent>/ch-job-<id>`).
#[derive(Debug)]
pub struct PidsCgroup {
    dir: PathBuf,
}

impl PidsCgroup {
    /// Makes the job's cgroup with `pids.max` = `max`.
    pub fn create(parent: &Path, job: Uuid, max: u64) -> std::io::Result<PidsCgroup> {
        let dir = parent.join(format!("ch-job-{job}"));
        match std::fs::create_dir(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        std::fs::write(dir.join("pids.max"), max.to_string())?;
        Ok(PidsCgroup { dir })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Whether a fork or clone in the job was refused for the limit (`pids.events`:
    /// `max <count>`).
    pub fn reached_limit(&self) -> bool {
        std::fs::read_to_string(self.dir.join("pids.events")).is_ok_and(|events| {
            events.lines().any(|l| {
                l.strip_prefix("max ")
                    .and_then(|n| n.trim().parse::<u64>().ok())
                    .is_some_and(|n| n > 0)
            })
        })
    }

    /// Removes the cgroup once its processes are gone (retried for 2 s: the last ones may
    /// still be exiting).
    pub async fn remove(self) {
        for _ in 0..20 {
            if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        tracing::warn!(dir = %self.dir.display(), "a job's pids cgroup could not be removed");
    }
}

/// Moves the calling process into the cgroup at `dir` (`job-exec` does this first, so
/// everything the job starts is counted).
pub fn join(dir: &Path) -> std::io::Result<()> {
    std::fs::write(dir.join("cgroup.procs"), std::process::id().to_string())
}

/// The cgroup a killed server left behind for job `job`, if any (recovery removes it once the
/// job's leftover processes are killed). Only that job's: other servers on this host may be
/// starting jobs beside it.
pub fn leftover(parent: &Path, job: Uuid) -> Option<PidsCgroup> {
    let dir = parent.join(format!("ch-job-{job}"));
    dir.exists().then_some(PidsCgroup { dir })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
        38 31 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n\
        40 31 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

    #[test]
    fn the_pids_hierarchy_and_own_path_are_found() {
        let own = "9:name=systemd:/\n8:pids:/ch/server\n0::/unified/path\n";
        assert_eq!(
            v1_parent(MOUNTINFO, own),
            Some(PathBuf::from("/sys/fs/cgroup/pids/ch/server"))
        );
        assert_eq!(
            mount_point(MOUNTINFO, "cgroup2", None),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(own_path(own, ""), Some("/unified/path"));
        assert_eq!(v1_parent("", own), None);
    }
}
