//! The disk a job uses, in total: everything beneath its directory (working directory and the
//! captured stdout/stderr), measured as allocated blocks (`st_blocks × 512`, what `du` counts,
//! so sparse files count what they occupy). Polled, as HTCondor polls a job's `DiskUsage`:
//! a job beyond `executor.max_job_disk_bytes` is ended and fails as `disk_quota`. Between two
//! polls a job can overshoot by what it writes in one interval; no single file can exceed the
//! quota, because the launcher's per-file limit (`RLIMIT_FSIZE`) is at most the quota.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Bytes allocated beneath `dir`, symlinks not followed; entries that vanish or cannot be read
/// while it walks are skipped.
pub fn usage(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.blocks().saturating_mul(512))
        .fold(0u64, u64::saturating_add)
}

/// Measures `dir` every `interval` and returns the usage once it exceeds `quota` bytes (never,
/// while it does not: the caller races this against the job's end).
pub async fn exceeded(dir: PathBuf, quota: u64, interval: Duration) -> u64 {
    loop {
        tokio::time::sleep(interval).await;
        let d = dir.clone();
        let used = tokio::task::spawn_blocking(move || usage(&d)).await.unwrap_or(0);
        if used > quota {
            return used;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_counts_allocated_blocks_beneath_the_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(usage(dir.path()) < 64 * 1024, "an empty directory");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("sub/a.bin"), vec![1u8; 256 * 1024]).expect("write");
        let used = usage(dir.path());
        assert!((256 * 1024..512 * 1024).contains(&used), "{used}");
        // A sparse file occupies (almost) nothing, whatever its length.
        let sparse = std::fs::File::create(dir.path().join("sparse")).expect("create");
        sparse.set_len(1 << 30).expect("truncate");
        assert!(usage(dir.path()) < used + 64 * 1024);
        // Links are not followed out of the directory.
        std::os::unix::fs::symlink("/usr", dir.path().join("usr")).expect("symlink");
        assert!(usage(dir.path()) < used + 64 * 1024);
    }

    #[tokio::test]
    async fn exceeded_answers_once_over_the_quota() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("a.bin"), vec![1u8; 128 * 1024]).expect("write");
        let used = exceeded(dir.path().to_path_buf(), 64 * 1024, Duration::from_millis(10)).await;
        assert!(used >= 128 * 1024, "{used}");
        let quiet = tokio::time::timeout(
            Duration::from_millis(100),
            exceeded(dir.path().to_path_buf(), 1 << 30, Duration::from_millis(10)),
        )
        .await;
        assert!(quiet.is_err(), "under the quota it keeps watching");
    }
}
