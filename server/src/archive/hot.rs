//! The memory tier in front of the disk cache: whole small files as shared bytes, keyed by
//! content hash, so a hit is a map lookup and a write of ready bytes.

use std::path::Path;

use bytes::Bytes;
use ch_api::InMemory;
use moka::future::Cache;

#[derive(Clone)]
pub struct HotFiles {
    files: Cache<String, InMemory>,
    max_file: u64,
}

impl HotFiles {
    pub fn new(capacity_bytes: u64, max_file: u64) -> Self {
        let files = Cache::builder()
            .max_capacity(capacity_bytes.max(1))
            .weigher(|_k: &String, v: &InMemory| u32::try_from(v.body.len()).unwrap_or(u32::MAX))
            .build();
        Self { files, max_file }
    }

    pub fn eligible(&self, size: u64) -> bool {
        size <= self.max_file
    }

    /// The file's bytes, read from `path` on the first request.
    pub async fn get(&self, sha256: &str, path: &Path) -> std::io::Result<InMemory> {
        if let Some(hit) = self.files.get(sha256).await {
            return Ok(hit);
        }
        let body = Bytes::from(tokio::fs::read(path).await?);
        let file = InMemory {
            body,
            last_modified: tokio::fs::metadata(path)
                .await?
                .modified()
                .ok()
                .map(|t| Bytes::from(httpdate::fmt_http_date(t))),
        };
        self.files.insert(sha256.to_owned(), file.clone()).await;
        Ok(file)
    }
}
