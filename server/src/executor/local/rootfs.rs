//! The job's own root file system, built by `job-init` (root, in the job's new mount namespace)
//! before it confines itself: a small tmpfs that holds only
//!
//! - the read paths (`executor.confine_read_paths`, bind-mounted; a path that is a symlink on
//!   the host, as `/bin` → `usr/bin` on merged-`/usr` systems, is the same symlink here),
//! - the job's working directory, at the same absolute path (read/write),
//! - a minimal `/dev` (`null`, `zero`, `full`, `random`, `urandom`, `tty`, and the `fd`,
//!   `stdin`, `stdout`, `stderr` links into `/proc/self/fd`),
//! - a `/proc` of the job's PID namespace.
//!
//! `pivot_root(2)` makes it `/` and the host's tree is detached, so what Landlock cannot refuse
//! is simply absent: UNIX sockets reached by path (PostgreSQL's `/run/postgresql/.s.PGSQL.5432`,
//! `/dev/log`, a container runtime's socket), the host's `/dev/shm`, and the names of files
//! outside the read paths. The same construction as bubblewrap's `--ro-bind`, `--dev` and
//! `--proc`, and runc's `pivot_root(".", ".")` followed by a detaching unmount of the old root.
//!
//! Every source is opened (`O_PATH`) before the tmpfs is mounted and bound from
//! `/proc/self/fd/N`, so a working directory beneath the mount point (`/tmp` of the host) is
//! still found. Any failure leaves the host's tree in place and is reported: the job then runs
//! with Landlock alone (`private_root: false` on `/readyz`).

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{OpenOptionsExt, symlink};
use std::path::{Component, Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};

/// Where the new root is assembled: a directory every Linux system has. The tmpfs over it
/// exists only in the job's mount namespace; the host's `/tmp` is untouched.
const NEW_ROOT: &str = "/tmp";

/// The device nodes a job gets (as bubblewrap's `--dev`).
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// One thing to appear in the new root.
enum Source {
    /// A directory or file, open as `O_PATH`, bound at `at`.
    Bind { handle: File, at: PathBuf, dir: bool },
    /// A symlink recreated at `at` pointing at `target`.
    Link { target: PathBuf, at: PathBuf },
}

/// Opens `path` without following a final symlink (`O_PATH | O_NOFOLLOW`): a symlink becomes a
/// [`Source::Link`], anything else a [`Source::Bind`].
fn source(path: &Path, at: PathBuf) -> std::io::Result<Source> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return Ok(Source::Link {
            target: std::fs::read_link(path)?,
            at,
        });
    }
    let handle = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(o_path_nofollow())
        .open(path)?;
    Ok(Source::Bind {
        handle,
        at,
        dir: meta.is_dir(),
    })
}

/// `O_PATH | O_NOFOLLOW` (Linux): a handle that names a file without opening its contents.
fn o_path_nofollow() -> i32 {
    (rustix::fs::OFlags::PATH | rustix::fs::OFlags::NOFOLLOW).bits() as i32
}

/// `path` as a location beneath the new root (`/usr` → `/tmp/usr`); `None` for `/` itself or a
/// path that is not absolute and normal.
fn beneath(root: &Path, path: &Path) -> Option<PathBuf> {
    let mut out = root.to_path_buf();
    let mut any = false;
    for c in path.components() {
        match c {
            Component::RootDir => {}
            Component::Normal(part) => {
                out.push(part);
                any = true;
            }
            _ => return None,
        }
    }
    any.then_some(out)
}

/// Why the private root could not be built.
fn fail(what: &str, e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(format!("building the job's root file system: {what}: {e}"))
}

/// Builds the job's root (see the module docs) and moves into it; afterwards the working
/// directory is `/`. `work` appears read/write at its own path; `read_paths` that do not exist
/// on this host are left out. On error the host's tree stays the root.
pub fn enter(work: &Path, read_paths: &[PathBuf]) -> std::io::Result<()> {
    let root = Path::new(NEW_ROOT);
    let mut sources = Vec::new();
    for p in read_paths {
        // /proc is mounted fresh for the job's PID namespace; /dev is built below.
        if p == Path::new("/proc") || p == Path::new("/dev") {
            continue;
        }
        let Some(at) = beneath(root, p) else { continue };
        match source(p, at) {
            Ok(s) => sources.push(s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(&p.display().to_string(), e)),
        }
    }
    for d in DEVICES {
        let dev = Path::new("/dev").join(d);
        if let Some(at) = beneath(root, &dev)
            && let Ok(s) = source(&dev, at)
        {
            sources.push(s);
        }
    }
    let work_at = beneath(root, work).ok_or_else(|| fail("the working directory", "not an absolute path"))?;
    sources.push(source(work, work_at).map_err(|e| fail("the working directory", e))?);

    mount(
        Some("ch-job-root"),
        root,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=0755,size=1m"),
    )
    .map_err(|e| fail("mounting a tmpfs", e))?;
    if let Err(e) = populate(root, &sources).and_then(|()| pivot(root)) {
        let _ = umount2(root, MntFlags::MNT_DETACH);
        return Err(e);
    }
    Ok(())
}

/// Creates the mount points and links in the tmpfs at `root` and binds each source there.
fn populate(root: &Path, sources: &[Source]) -> std::io::Result<()> {
    for s in sources {
        match s {
            Source::Link { target, at } => {
                if let Some(parent) = at.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| fail(&parent.display().to_string(), e))?;
                }
                symlink(target, at).map_err(|e| fail(&at.display().to_string(), e))?;
            }
            Source::Bind { handle, at, dir } => {
                if *dir {
                    std::fs::create_dir_all(at)
                } else {
                    at.parent()
                        .map_or(Ok(()), std::fs::create_dir_all)
                        .and_then(|()| File::create(at).map(drop))
                }
                .map_err(|e| fail(&at.display().to_string(), e))?;
                let from = format!("/proc/self/fd/{}", handle.as_raw_fd());
                mount(
                    Some(from.as_str()),
                    at.as_path(),
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None::<&str>,
                )
                .map_err(|e| fail(&format!("binding {}", at.display()), e))?;
            }
        }
    }
    let dev = root.join("dev");
    std::fs::create_dir_all(&dev).map_err(|e| fail("/dev", e))?;
    for (name, target) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        symlink(target, dev.join(name)).map_err(|e| fail(&format!("/dev/{name}"), e))?;
    }
    let proc = root.join("proc");
    std::fs::create_dir_all(&proc).map_err(|e| fail("/proc", e))?;
    mount(
        Some("proc"),
        proc.as_path(),
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| fail("mounting /proc", e))?;
    // The root itself read-only: a job without Landlock cannot fill it.
    mount(
        None::<&str>,
        root,
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        None::<&str>,
    )
    .map_err(|e| fail("making the root read-only", e))
}

/// `pivot_root(".", ".")` in `root`, then detaches the old root stacked on top (as runc does).
fn pivot(root: &Path) -> std::io::Result<()> {
    std::env::set_current_dir(root).map_err(|e| fail("entering the new root", e))?;
    nix::unistd::pivot_root(".", ".").map_err(|e| fail("pivot_root", e))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| fail("detaching the host's root", e))?;
    std::env::set_current_dir("/").map_err(|e| fail("entering /", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_land_beneath_the_new_root() {
        let root = Path::new("/tmp");
        assert_eq!(beneath(root, Path::new("/usr")), Some(PathBuf::from("/tmp/usr")));
        assert_eq!(
            beneath(root, Path::new("/data/jobs/1/work")),
            Some(PathBuf::from("/tmp/data/jobs/1/work"))
        );
        assert_eq!(beneath(root, Path::new("/")), None);
        assert_eq!(beneath(root, Path::new("/usr/../etc")), None);
    }

    #[test]
    fn symlinks_are_recreated_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let link = dir.path().join("bin");
        symlink("usr/bin", &link).expect("symlink");
        match source(&link, PathBuf::from("/x/bin")).expect("source") {
            Source::Link { target, at } => {
                assert_eq!(target, PathBuf::from("usr/bin"));
                assert_eq!(at, PathBuf::from("/x/bin"));
            }
            Source::Bind { .. } => panic!("a symlink must not be bound"),
        }
        assert!(matches!(
            source(dir.path(), PathBuf::from("/x")).expect("dir"),
            Source::Bind { dir: true, .. }
        ));
    }
}
