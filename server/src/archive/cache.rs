//! Disk cache for archive files: content-addressed blobs (named by SHA-256), a size-capped
//! LRU index with TTL that survives restarts, and single-flight fills (concurrent misses for
//! one key wait for the same fetch).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::future::Cache;
use moka::notification::RemovalCause;
use moka::policy::EvictionPolicy;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::{debug, warn};

/// What the cache knows about one cached file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// `source/path` of the request that filled it.
    pub key: String,
    /// Hex SHA-256 of the content: the blob's name and the HTTP ETag.
    pub sha256: String,
    pub size: u64,
    /// Unix milliseconds when it was fetched.
    pub fetched_at_ms: i64,
}

impl Entry {
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.sha256)
    }
}

/// A downloaded file waiting to be adopted by the cache.
#[derive(Debug)]
pub struct Fetched {
    pub temp: PathBuf,
    pub sha256: String,
    pub size: u64,
}

/// Whether a lookup was served from the cache or had to fill it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    Hit,
    Miss,
}

impl Lookup {
    pub fn as_str(self) -> &'static str {
        match self {
            Lookup::Hit => "HIT",
            Lookup::Miss => "MISS",
        }
    }
}

struct TtlFromFetch {
    ttl: Duration,
}

impl Expiry<String, Arc<Entry>> for TtlFromFetch {
    fn expire_after_create(&self, _key: &String, value: &Arc<Entry>, _now: Instant) -> Option<Duration> {
        let age_ms = (chrono::Utc::now().timestamp_millis() - value.fetched_at_ms).max(0);
        Some(
            self.ttl
                .saturating_sub(Duration::from_millis(u64::try_from(age_ms).unwrap_or(0))),
        )
    }
}

#[derive(Clone)]
pub struct DiskCache {
    root: PathBuf,
    index: Cache<String, Arc<Entry>>,
    /// Blob hash → number of index entries naming it (identical content is stored once).
    refs: Arc<Mutex<HashMap<String, usize>>>,
}

fn key_file(root: &Path, key: &str) -> PathBuf {
    let digest = hex::encode(Sha256::digest(key.as_bytes()));
    root.join("index").join(format!("{digest}.json"))
}

fn blob_file(root: &Path, sha256: &str) -> PathBuf {
    let shard = sha256.get(..2).unwrap_or("00");
    root.join("blobs").join(shard).join(sha256)
}

impl DiskCache {
    /// Opens (or creates) the cache under `root`, re-indexing what a previous run left.
    pub async fn open(root: PathBuf, max_bytes: u64, ttl: Duration) -> std::io::Result<Self> {
        for sub in ["index", "blobs", "tmp"] {
            tokio::fs::create_dir_all(root.join(sub)).await?;
        }
        // Partial downloads of a previous run are useless.
        let mut tmp = tokio::fs::read_dir(root.join("tmp")).await?;
        while let Some(e) = tmp.next_entry().await? {
            let _ = tokio::fs::remove_file(e.path()).await;
        }
        let refs: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let listener_refs = refs.clone();
        let listener_root = root.clone();
        let index = Cache::builder()
            .max_capacity((max_bytes / 1024).max(1))
            .weigher(|_k: &String, v: &Arc<Entry>| u32::try_from((v.size / 1024).max(1)).unwrap_or(u32::MAX))
            .eviction_policy(EvictionPolicy::lru())
            .expire_after(TtlFromFetch { ttl })
            .eviction_listener(move |key: Arc<String>, value: Arc<Entry>, cause| {
                debug!(key = %key, ?cause, "cache entry removed");
                if cause != RemovalCause::Replaced {
                    let _ = std::fs::remove_file(key_file(&listener_root, &key));
                }
                release(&listener_refs, &listener_root, &value.sha256);
            })
            .build();
        let cache = Self { root, index, refs };
        cache.reload().await?;
        Ok(cache)
    }

    async fn reload(&self) -> std::io::Result<()> {
        let mut dir = tokio::fs::read_dir(self.root.join("index")).await?;
        let mut loaded = 0usize;
        while let Some(e) = dir.next_entry().await? {
            let parsed = tokio::fs::read(e.path())
                .await
                .ok()
                .and_then(|b| serde_json::from_slice::<Entry>(&b).ok());
            match parsed {
                Some(entry) if tokio::fs::metadata(blob_file(&self.root, &entry.sha256)).await.is_ok() => {
                    self.adopt_ref(&entry.sha256);
                    self.index.insert(entry.key.clone(), Arc::new(entry)).await;
                    loaded += 1;
                }
                _ => {
                    warn!(path = %e.path().display(), "dropping unreadable cache index entry");
                    let _ = tokio::fs::remove_file(e.path()).await;
                }
            }
        }
        self.index.run_pending_tasks().await;
        tracing::info!(entries = loaded, "archive cache loaded");
        Ok(())
    }

    fn adopt_ref(&self, sha256: &str) {
        if let Ok(mut refs) = self.refs.lock() {
            *refs.entry(sha256.to_owned()).or_default() += 1;
        }
    }

    pub fn temp_path(&self) -> PathBuf {
        self.root.join("tmp").join(format!("{}.part", uuid::Uuid::now_v7()))
    }

    pub fn blob_path(&self, entry: &Entry) -> PathBuf {
        blob_file(&self.root, &entry.sha256)
    }

    /// Returns the entry for `key`, running `fill` (once, however many callers wait) on a miss.
    pub async fn get_or_fill<E, F>(&self, key: &str, fill: F) -> Result<(Arc<Entry>, Lookup), Arc<E>>
    where
        E: Send + Sync + 'static,
        F: Future<Output = Result<Fetched, E>>,
    {
        // Hits (the common case) skip the entry API and its clones.
        if let Some(entry) = self.index.get(key).await {
            return Ok((entry, Lookup::Hit));
        }
        let root = self.root.clone();
        let this = self.clone();
        let owned_key = key.to_owned();
        let result = self
            .index
            .entry(key.to_owned())
            .or_try_insert_with(async move {
                let fetched = fill.await?;
                Ok(Arc::new(this.adopt(owned_key, fetched, &root).await))
            })
            .await?;
        let lookup = if result.is_fresh() { Lookup::Miss } else { Lookup::Hit };
        Ok((result.into_value(), lookup))
    }

    /// Moves a download into its blob slot and records the index entry on disk.
    async fn adopt(&self, key: String, fetched: Fetched, root: &Path) -> Entry {
        let blob = blob_file(root, &fetched.sha256);
        if let Some(parent) = blob.parent() {
            let _ = tokio::fs::create_dir_all(parent).await;
        }
        if tokio::fs::metadata(&blob).await.is_ok() {
            let _ = tokio::fs::remove_file(&fetched.temp).await;
        } else if let Err(e) = tokio::fs::rename(&fetched.temp, &blob).await {
            warn!(error = %e, "moving download into the cache failed");
        }
        let entry = Entry {
            key,
            sha256: fetched.sha256,
            size: fetched.size,
            fetched_at_ms: chrono::Utc::now().timestamp_millis(),
        };
        self.adopt_ref(&entry.sha256);
        match serde_json::to_vec(&entry) {
            Ok(json) => {
                if let Err(e) = tokio::fs::write(key_file(root, &entry.key), json).await {
                    warn!(error = %e, "writing cache index entry failed");
                }
            }
            Err(e) => warn!(error = %e, "encoding cache index entry failed"),
        }
        entry
    }

    /// Applies pending evictions now (normally done in the background).
    pub async fn settle(&self) {
        self.index.run_pending_tasks().await;
    }

    pub fn weighted_kib(&self) -> u64 {
        self.index.weighted_size()
    }
}

fn release(refs: &Mutex<HashMap<String, usize>>, root: &Path, sha256: &str) {
    let Ok(mut refs) = refs.lock() else { return };
    let gone = match refs.get_mut(sha256) {
        Some(n) if *n > 1 => {
            *n -= 1;
            false
        }
        _ => true,
    };
    if gone {
        refs.remove(sha256);
        let _ = std::fs::remove_file(blob_file(root, sha256));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn put(cache: &DiskCache, key: &str, content: &[u8]) -> Lookup {
        let temp = cache.temp_path();
        let content = content.to_vec();
        let fill = async move {
            tokio::fs::write(&temp, &content).await?;
            Ok::<_, std::io::Error>(Fetched {
                temp,
                sha256: hex::encode(Sha256::digest(&content)),
                size: content.len() as u64,
            })
        };
        let (_, lookup) = cache.get_or_fill(key, fill).await.expect("fill");
        cache.settle().await;
        lookup
    }

    #[tokio::test]
    async fn least_recently_used_goes_first_and_blobs_follow() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Room for three 10 KiB files.
        let cache = DiskCache::open(dir.path().to_path_buf(), 30 * 1024, Duration::from_secs(3600))
            .await
            .expect("open");
        for (k, fill) in [("a", 1u8), ("b", 2), ("c", 3)] {
            assert_eq!(put(&cache, k, &[fill; 10 * 1024]).await, Lookup::Miss);
        }
        assert_eq!(put(&cache, "a", &[1; 10 * 1024]).await, Lookup::Hit);
        put(&cache, "d", &[4; 10 * 1024]).await;
        assert_eq!(put(&cache, "a", &[1; 10 * 1024]).await, Lookup::Hit);
        assert_eq!(
            put(&cache, "b", &[2; 10 * 1024]).await,
            Lookup::Miss,
            "b was least recently used"
        );
        assert!(cache.weighted_kib() <= 30);
        let blobs = walk(&dir.path().join("blobs"));
        assert!(blobs <= 3, "evicted blobs left on disk: {blobs}");
    }

    #[tokio::test]
    async fn identical_content_is_stored_once_and_kept_while_referenced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = DiskCache::open(dir.path().to_path_buf(), 1 << 20, Duration::from_secs(3600))
            .await
            .expect("open");
        put(&cache, "x", b"same").await;
        put(&cache, "y", b"same").await;
        assert_eq!(walk(&dir.path().join("blobs")), 1);
        cache.index.invalidate("x").await;
        cache.settle().await;
        assert_eq!(walk(&dir.path().join("blobs")), 1, "blob still used by y");
        cache.index.invalidate("y").await;
        cache.settle().await;
        assert_eq!(walk(&dir.path().join("blobs")), 0);
    }

    #[tokio::test]
    async fn expired_entries_are_fetched_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = DiskCache::open(dir.path().to_path_buf(), 1 << 20, Duration::from_millis(200))
            .await
            .expect("open");
        assert_eq!(put(&cache, "t", b"v1").await, Lookup::Miss);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(put(&cache, "t", b"v1").await, Lookup::Miss);
    }

    fn walk(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 })
                    .sum()
            })
            .unwrap_or(0)
    }
}
