//! A job reports progress by printing `PROGRESS <n>` on its standard output; the executor
//! follows the job's stdout log as the job writes it (the job writes the file itself, so it
//! keeps writing while no server runs) and records each new value. Shared by the local
//! executor (`stdout.log` of its process) and the Slurm executor (the `--output` file).

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncSeekExt, BufReader};
use tokio_util::sync::CancellationToken;
use tracing::debug;
use uuid::Uuid;

use crate::jobs::{Change, Lifecycle};

/// How often the log is read for new lines.
const POLL: Duration = Duration::from_millis(200);

/// Longest piece of output held in memory at once: a longer line (a job may print gigabytes
/// without a newline) is handled in pieces of this size, so memory stays flat.
const MAX_LINE: u64 = 64 * 1024;

/// How much of the end of an existing log a re-attaching server reads for the latest value.
const CATCH_UP: u64 = 64 * 1024;

/// Parses a `PROGRESS <n>` line (`n` in 0–100, optionally fractional or with `%`).
fn parse_progress(line: &str) -> Option<u8> {
    let rest = line.trim().strip_prefix("PROGRESS")?;
    let n: f64 = rest.trim().trim_end_matches('%').trim().parse().ok()?;
    // Truncation is intended: 99.9 % is not done yet.
    (n.is_finite() && (0.0..=100.0).contains(&n)).then_some(n as u8)
}

/// Reads the next line, or the next [`MAX_LINE`] bytes of a longer one, into `line` (cleared
/// first). Returns the number of bytes read; 0 at the end of the stream. At the end of a file
/// that is still being written it returns the partial line written so far.
async fn read_chunk<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R, line: &mut Vec<u8>) -> std::io::Result<usize> {
    use tokio::io::AsyncReadExt;
    line.clear();
    reader.take(MAX_LINE).read_until(b'\n', line).await
}

/// Where following a log starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum From {
    /// At this byte offset: the log's length before this attempt started (a retry appends to
    /// the previous attempt's output, whose progress is not this attempt's).
    Offset(u64),
    /// Near the end of what is there (a server re-attaching to a running job): the latest
    /// value written meanwhile counts as one report.
    CatchUp,
}

/// Follows the job's stdout log at `path` and records its progress as `actor` until `done`;
/// then reads what is left (everything the job wrote before it ended) and returns.
pub(crate) async fn follow(
    path: PathBuf,
    from: From,
    lifecycle: Lifecycle,
    id: Uuid,
    actor: &'static str,
    done: CancellationToken,
) {
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => {
            debug!(error = %e, path = %path.display(), "no log to follow");
            return;
        }
    };
    let len = file.metadata().await.map(|m| m.len()).unwrap_or(0);
    let (start, mut catching_up) = match from {
        From::Offset(at) => (at.min(len), false),
        From::CatchUp => (len.saturating_sub(CATCH_UP), len > 0),
    };
    if file.seek(std::io::SeekFrom::Start(start)).await.is_err() {
        return;
    }
    let mut reader = BufReader::new(file);
    // A catch-up read that starts inside a line skips to the next one.
    let mut skip_first = from == From::CatchUp && start > 0;
    let (mut line, mut pending) = (Vec::new(), Vec::new());
    loop {
        let last = done.is_cancelled();
        let mut latest = None;
        loop {
            match read_chunk(&mut reader, &mut line).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    debug!(error = %e, "reading the job's log failed");
                    return;
                }
            }
            pending.extend_from_slice(&line);
            if pending.ends_with(b"\n") || pending.len() as u64 >= MAX_LINE {
                if !std::mem::take(&mut skip_first) {
                    latest = parse_progress(&String::from_utf8_lossy(&pending)).or(latest);
                    if !catching_up {
                        report(&lifecycle, id, actor, latest.take()).await;
                    }
                }
                pending.clear();
            }
        }
        if last && !pending.is_empty() && !skip_first {
            latest = parse_progress(&String::from_utf8_lossy(&pending)).or(latest);
        }
        report(&lifecycle, id, actor, latest).await;
        catching_up = false;
        if last {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            () = done.cancelled() => {}
        }
    }
}

async fn report(lifecycle: &Lifecycle, id: Uuid, actor: &str, progress: Option<u8>) {
    if let Some(p) = progress
        && let Err(e) = lifecycle.apply(id, Change::Progress(p), actor).await
    {
        debug!(error = %e, "progress not recorded");
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_LINE, parse_progress, read_chunk};

    #[tokio::test]
    async fn a_line_without_end_is_read_in_bounded_pieces() {
        use tokio::io::AsyncReadExt;
        let total = 1_000_000u64;
        let mut reader = tokio::io::BufReader::new(tokio::io::repeat(b'x').take(total).chain(&b"\nPROGRESS 5\n"[..]));
        let mut line = Vec::new();
        let (mut seen, mut pieces) = (0u64, Vec::new());
        loop {
            let n = read_chunk(&mut reader, &mut line).await.expect("read");
            if n == 0 {
                break;
            }
            assert!(line.len() as u64 <= MAX_LINE && line.capacity() as u64 <= 2 * MAX_LINE);
            seen += n as u64;
            pieces.push(line.clone());
        }
        assert_eq!(seen, total + 12);
        assert_eq!(
            pieces.last().map(|p| parse_progress(&String::from_utf8_lossy(p))),
            Some(Some(5))
        );
    }

    #[test]
    fn progress_lines() {
        assert_eq!(parse_progress("PROGRESS 50"), Some(50));
        assert_eq!(parse_progress("PROGRESS 99.9%\n"), Some(99));
        assert_eq!(parse_progress("  PROGRESS 100"), Some(100));
        assert_eq!(parse_progress("PROGRESS 101"), None);
        assert_eq!(parse_progress("PROGRESS -1"), None);
        assert_eq!(parse_progress("PROGRESS NaN"), None);
        assert_eq!(parse_progress("progress 5"), None);
        assert_eq!(parse_progress("done"), None);
    }
}
