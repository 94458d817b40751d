//! Fetching one file from an upstream archive into the cache's temp area: streamed to disk,
//! hashed on the way, resumed with a Range request when the connection breaks, and refused
//! unless it is FITS.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use futures::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_RANGES, CONTENT_RANGE, RANGE};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tracing::{info, instrument, warn};

use super::ArchiveError;
use super::cache::Fetched;

const RESUME_ATTEMPTS: usize = 3;
/// Enough bytes to see the first header card, also of a gzip-compressed file.
const SNIFF_BYTES: usize = 2880;

/// True when `head` starts a FITS file (`SIMPLE  =                    T`), plain or gzipped.
pub fn looks_like_fits(head: &[u8]) -> bool {
    let plain = |b: &[u8]| b.len() >= 30 && b.starts_with(b"SIMPLE  =") && b[29] == b'T';
    if head.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(80);
        let mut dec = flate2::read::GzDecoder::new(head).take(80);
        // A truncated stream still yields the first card.
        let _ = dec.read_to_end(&mut out);
        return plain(&out);
    }
    plain(head)
}

#[instrument(skip(client, temp), fields(url = %url), err(level = "warn"))]
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
    max_bytes: u64,
    temp: PathBuf,
) -> Result<Fetched, ArchiveError> {
    let result = download(client, url, timeout, max_bytes, &temp).await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    result
}

async fn download(
    client: &reqwest::Client,
    url: &str,
    timeout: Duration,
    max_bytes: u64,
    temp: &PathBuf,
) -> Result<Fetched, ArchiveError> {
    let mut file = tokio::fs::File::create(temp).await.map_err(ArchiveError::Io)?;
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut head: Vec<u8> = Vec::with_capacity(SNIFF_BYTES);
    let mut attempt = 0;
    loop {
        let mut req = client.get(url).timeout(timeout);
        if size > 0 {
            req = req.header(RANGE, format!("bytes={size}-"));
        }
        let res = match req.send().await {
            Ok(r) => r,
            // A resume may first meet the pooled connection the break left dead.
            Err(e) if size > 0 && attempt < RESUME_ATTEMPTS && !e.is_timeout() => {
                attempt += 1;
                warn!(error = %e, attempt, "resume request failed; retrying");
                continue;
            }
            Err(e) => return Err(classify(url, &e)),
        };
        let status = res.status();
        if size > 0 {
            let resumed_at = res
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("bytes "))
                .and_then(|v| v.split('-').next())
                .and_then(|v| v.parse::<u64>().ok());
            if status != StatusCode::PARTIAL_CONTENT || resumed_at != Some(size) {
                return Err(ArchiveError::UpstreamBroken(format!(
                    "{url}: connection broke after {size} bytes and the upstream cannot resume"
                )));
            }
        } else if !status.is_success() {
            return Err(ArchiveError::UpstreamStatus {
                url: url.to_owned(),
                status: status.as_u16(),
            });
        }
        let resumable = res
            .headers()
            .get(ACCEPT_RANGES)
            .is_some_and(|v| v.as_bytes() == b"bytes");
        if res.content_length().is_some_and(|n| size + n > max_bytes) {
            return Err(ArchiveError::TooLarge {
                url: url.to_owned(),
                max: max_bytes,
            });
        }
        let mut body = res.bytes_stream();
        let mut broke = None;
        while let Some(chunk) = body.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    broke = Some(e);
                    break;
                }
            };
            size += chunk.len() as u64;
            if size > max_bytes {
                return Err(ArchiveError::TooLarge {
                    url: url.to_owned(),
                    max: max_bytes,
                });
            }
            if head.len() < SNIFF_BYTES {
                let take = (SNIFF_BYTES - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
                if head.len() == SNIFF_BYTES && !looks_like_fits(&head) {
                    return Err(ArchiveError::NotFits(url.to_owned()));
                }
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await.map_err(ArchiveError::Io)?;
        }
        match broke {
            None => break,
            Some(e) if e.is_timeout() => return Err(ArchiveError::UpstreamTimeout(url.to_owned())),
            Some(e) if resumable && attempt < RESUME_ATTEMPTS => {
                attempt += 1;
                warn!(error = %e, size, attempt, "upstream transfer broke; resuming");
            }
            Some(e) => {
                return Err(ArchiveError::UpstreamBroken(format!(
                    "{url}: transfer broke after {size} bytes: {e}"
                )));
            }
        }
    }
    if !looks_like_fits(&head) {
        return Err(ArchiveError::NotFits(url.to_owned()));
    }
    file.flush().await.map_err(ArchiveError::Io)?;
    file.sync_all().await.map_err(ArchiveError::Io)?;
    info!(size, "fetched from upstream");
    Ok(Fetched {
        temp: temp.clone(),
        sha256: hex::encode(hasher.finalize()),
        size,
    })
}

fn classify(url: &str, e: &reqwest::Error) -> ArchiveError {
    if e.is_timeout() {
        ArchiveError::UpstreamTimeout(url.to_owned())
    } else {
        ArchiveError::UpstreamUnreachable(format!("{url}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::looks_like_fits;

    fn card() -> Vec<u8> {
        format!("{:<80}", "SIMPLE  =                    T / conforms").into_bytes()
    }

    #[test]
    fn sniffs_plain_and_gzipped_fits() {
        assert!(looks_like_fits(&card()));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&card()).expect("gzip");
        assert!(looks_like_fits(&gz.finish().expect("gzip")));
        assert!(!looks_like_fits(b"<html><body>Not Found</body></html>"));
        assert!(!looks_like_fits(
            format!("{:<80}", "SIMPLE  =                    F").as_bytes()
        ));
        assert!(!looks_like_fits(&[0x1f, 0x8b, 0, 0]));
    }
}
