//! A job's logs and output files: its directory holds `stdout.log` and `stderr.log` (written by the local
//! executor's process, or by Slurm as the job's `--output`/`--error`), and the job's working
//! directory `work/` (its output files).

use std::path::{Path, PathBuf};

use ch_domain::JobLogs;

use crate::beneath::{self, BeneathError, Opened};
use crate::jobs::ExecutorError;

/// Most log bytes returned per stream.
const LOG_TAIL_BYTES: u64 = 256 * 1024;

/// The tail of the job's logs in its directory `dir` (empty where the job wrote nothing).
pub(crate) async fn logs(dir: &Path) -> Result<JobLogs, ExecutorError> {
    let (stdout, t1) = read_tail(dir.join("stdout.log")).await?;
    let (stderr, t2) = read_tail(dir.join("stderr.log")).await?;
    Ok(JobLogs {
        stdout,
        stderr,
        truncated: t1 || t2,
    })
}

/// Opens `file` (relative, no `..`) beneath the working directory `work/` of the job whose
/// directory is `dir`, following no symbolic link ([`crate::beneath`]).
pub(crate) async fn output(dir: PathBuf, file: &Path) -> Result<Opened, BeneathError> {
    let file = Path::new("work").join(file);
    tokio::task::spawn_blocking(move || beneath::open(&dir, &file))
        .await
        .map_err(|e| BeneathError::Io(std::io::Error::other(e)))?
}

/// The last [`LOG_TAIL_BYTES`] of `path` (lossy UTF-8) and whether older bytes were cut.
async fn read_tail(path: PathBuf) -> std::io::Result<(String, bool)> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((String::new(), false)),
        Err(e) => return Err(e),
    };
    let len = file.metadata().await?.len();
    let start = len.saturating_sub(LOG_TAIL_BYTES);
    file.seek(std::io::SeekFrom::Start(start)).await?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).await?;
    Ok((String::from_utf8_lossy(&buf).into_owned(), start > 0))
}
