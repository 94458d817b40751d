//! Opening a job's output file without races (issue 27); executors open their jobs' files
//! with it ([`crate::jobs::Executor::output`]). The file is opened once, by one
//! `openat2(2)` beneath the jobs directory that follows no symbolic link at any component
//! (`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS`, Linux ≥ 5.6), checked by
//! handle (`fstat`), and served from that handle: [`proc_path`] names the open file as
//! `/proc/self/fd/N`, which re-opens this very file whatever happens to its name afterwards.
//! A job that swaps its result for a symlink to the server's key between check and use gets a
//! refusal or its own file, never the key.

use std::fs::{File, Metadata};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// Bytes of a result read to decide whether it is FITS (one FITS block).
pub const HEAD_BYTES: usize = 2880;

/// Why a file could not be opened beneath its directory.
#[derive(Debug, thiserror::Error)]
pub enum BeneathError {
    /// No such file (or a component is not a directory).
    #[error("no such file")]
    Missing,
    /// A component is a symbolic link, or the path leaves the directory.
    #[error("a symbolic link or a path leaving the directory")]
    Link,
    /// Not a regular file (a directory, FIFO, socket or device).
    #[error("not a regular file")]
    NotAFile,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// An opened regular file with its metadata (from the handle) and its first
/// [`HEAD_BYTES`] bytes (fewer for a shorter file).
#[derive(Debug)]
pub struct Opened {
    pub file: File,
    pub meta: Metadata,
    pub head: Vec<u8>,
}

/// Opens `rel` beneath `dir` (blocking). `dir` itself is trusted (the server's own path);
/// every component of `rel` must be a plain directory or, last, a regular file. The open does
/// not block on a FIFO (`O_NONBLOCK`) and never makes a terminal the server's.
pub fn open(dir: &Path, rel: &Path) -> Result<Opened, BeneathError> {
    let base = rustix::fs::open(dir, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .map_err(std::io::Error::from)?;
    let fd = rustix::fs::openat2(
        &base,
        rel,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
    )
    .map_err(|e| match e {
        Errno::NOENT | Errno::NOTDIR => BeneathError::Missing,
        Errno::LOOP | Errno::XDEV => BeneathError::Link,
        e => BeneathError::Io(e.into()),
    })?;
    let file = File::from(fd);
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(BeneathError::NotAFile);
    }
    // Moves this handle's offset only: the `/proc/self/fd` path opens a description of its own.
    let mut head = Vec::with_capacity(HEAD_BYTES);
    (&file).take(HEAD_BYTES as u64).read_to_end(&mut head)?;
    Ok(Opened { file, meta, head })
}

/// `/proc/self/fd/N` for an open file: opening it opens the same file (not its name), for as
/// long as `file` stays open — keep the handle alive while anything may open this path.
pub fn proc_path(file: &File) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let work = dir.path().join("job/work");
        std::fs::create_dir_all(work.join("sub")).expect("dirs");
        std::fs::write(work.join("a.fits"), b"SIMPLE  =").expect("file");
        std::fs::write(work.join("sub/b.fits"), vec![7u8; 5000]).expect("file");
        std::fs::write(dir.path().join("secret.key"), b"KEY").expect("secret");
        dir
    }

    #[test]
    fn opens_regular_files_and_reads_their_head() {
        let dir = tree();
        let a = open(dir.path(), Path::new("job/work/a.fits")).expect("a");
        assert_eq!(a.head, b"SIMPLE  =");
        let b = open(dir.path(), Path::new("job/work/sub/b.fits")).expect("b");
        assert_eq!(b.head.len(), HEAD_BYTES);
        assert_eq!(b.meta.len(), 5000);
        // The /proc path opens the same file even after its name points elsewhere.
        std::fs::remove_file(dir.path().join("job/work/sub/b.fits")).expect("rm");
        std::os::unix::fs::symlink(dir.path().join("secret.key"), dir.path().join("job/work/sub/b.fits"))
            .expect("swap");
        let again = std::fs::read(proc_path(&b.file)).expect("reopen");
        assert_eq!(again, vec![7u8; 5000]);
    }

    #[test]
    fn refuses_symlinks_at_any_component_and_non_files() {
        let dir = tree();
        let work = dir.path().join("job/work");
        std::os::unix::fs::symlink(dir.path().join("secret.key"), work.join("key.fits")).expect("link");
        std::os::unix::fs::symlink(dir.path(), work.join("up")).expect("dir link");
        std::os::unix::fs::symlink("a.fits", work.join("inside.fits")).expect("inner link");
        for rel in ["job/work/key.fits", "job/work/up/secret.key", "job/work/inside.fits"] {
            assert!(
                matches!(open(dir.path(), Path::new(rel)), Err(BeneathError::Link)),
                "{rel}"
            );
        }
        // `..` may not leave the directory either.
        assert!(matches!(
            open(&dir.path().join("job"), Path::new("../secret.key")),
            Err(BeneathError::Link)
        ));
        assert!(matches!(
            open(dir.path(), Path::new("job/work/none.fits")),
            Err(BeneathError::Missing)
        ));
        assert!(matches!(
            open(dir.path(), Path::new("job/work/sub")),
            Err(BeneathError::NotAFile)
        ));
        // A FIFO neither blocks the open nor passes for a file.
        rustix::fs::mknodat(
            rustix::fs::CWD,
            work.join("pipe.fits"),
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .expect("fifo");
        assert!(matches!(
            open(dir.path(), Path::new("job/work/pipe.fits")),
            Err(BeneathError::NotAFile)
        ));
    }
}
