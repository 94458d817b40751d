//! The memory tier in front of the disk cache: whole small files as shared bytes, keyed by
//! content hash, so a hit is a map lookup and a write of ready bytes.

use std::path::Path;
use std::time::SystemTime;

use axum::http::HeaderValue;
use bytes::Bytes;
use moka::future::Cache;

/// A file held in memory with the validators its response needs.
#[derive(Debug, Clone)]
pub struct HotFile {
    pub body: Bytes,
    /// `Last-Modified` of the cached file (its mtime), HTTP-date formatted; a ready header
    /// value, so a hit clones it without allocating.
    pub last_modified: Option<HeaderValue>,
}

#[derive(Clone)]
pub struct HotFiles {
    files: Cache<String, HotFile>,
    max_file: u64,
}

impl HotFiles {
    pub fn new(capacity_bytes: u64, max_file: u64) -> Self {
        let files = Cache::builder()
            .max_capacity(capacity_bytes.max(1))
            .weigher(|_k: &String, v: &HotFile| u32::try_from(v.body.len()).unwrap_or(u32::MAX))
            .build();
        Self { files, max_file }
    }

    pub fn eligible(&self, size: u64) -> bool {
        size <= self.max_file
    }

    /// The file's bytes, read from `path` on the first request.
    pub async fn get(&self, sha256: &str, path: &Path) -> std::io::Result<HotFile> {
        if let Some(hit) = self.files.get(sha256).await {
            return Ok(hit);
        }
        let body = Bytes::from(tokio::fs::read(path).await?);
        let modified = tokio::fs::metadata(path)
            .await?
            .modified()
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let file = HotFile {
            body,
            last_modified: HeaderValue::from_str(&httpdate::fmt_http_date(modified)).ok(),
        };
        self.files.insert(sha256.to_owned(), file.clone()).await;
        Ok(file)
    }
}
