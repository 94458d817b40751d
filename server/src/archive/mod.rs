//! The FITS archive proxy: files from configured upstream archives (through the disk cache)
//! and from job results, with one access decision and an audit record per download.

pub mod access;
pub mod audit;
pub mod cache;
pub mod cutout;
pub mod headers;
pub mod hot;
pub mod meta;
pub mod service;
pub mod upstream;

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tracing::instrument;
use uuid::Uuid;

use crate::beneath;
use crate::jobs::Executors;
use crate::settings::ArchiveSettings;
use crate::store::{Store, StoreError};
use access::Caller;
use cache::{DiskCache, Entry, Lookup};

/// The reserved source name for files written by jobs.
pub const JOBS_SOURCE: &str = "jobs";
const MAX_PATH_LEN: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("invalid path: {0}")]
    BadPath(String),
    #[error("unknown archive source '{name}' (configured: {known})")]
    UnknownSource { name: String, known: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    Denied(#[from] access::AccessDenied),
    #[error("upstream answered {status} for {url}")]
    UpstreamStatus { url: String, status: u16 },
    #[error("upstream did not answer in time: {0}")]
    UpstreamTimeout(String),
    #[error("upstream unreachable: {0}")]
    UpstreamUnreachable(String),
    #[error("upstream transfer failed: {0}")]
    UpstreamBroken(String),
    #[error("upstream response is not a FITS file: {0}")]
    NotFits(String),
    #[error("{url} is larger than the {max}-byte limit")]
    TooLarge { url: String, max: u64 },
    #[error("file is not a FITS file: {0}")]
    LocalNotFits(String),
    #[error("cache I/O failed: {0}")]
    Io(#[source] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A file ready to be served.
#[derive(Debug, Clone)]
pub struct Served {
    /// Where to read the file. For a job's result this is `/proc/self/fd/N` of [`Served::handle`]
    /// (see [`crate::beneath`]): valid while the handle is held.
    pub path: PathBuf,
    /// A job's result, opened once without following links; `None` for archive files (the
    /// cache's own blobs).
    pub handle: Option<Arc<std::fs::File>>,
    pub etag: String,
    pub size: u64,
    pub lookup: Option<Lookup>,
    /// The cache entry when the file came through the cache.
    pub entry: Option<Arc<Entry>>,
}

#[derive(Clone)]
pub struct Archive {
    settings: Arc<ArchiveSettings>,
    cache: DiskCache,
    client: reqwest::Client,
    store: Store,
    /// Open job results ([`crate::jobs::Executor::output`]).
    executors: Executors,
    site: ch_api::SitePolicy,
    audit: audit::AuditLog,
    /// Computed metadata views and thumbnails.
    meta: meta::MetaCache,
    /// Whole small files in memory.
    hot: hot::HotFiles,
}

/// Checks a request path: relative, no `..`, no empty or hidden-control segments.
pub fn clean_path(raw: &str) -> Result<PathBuf, ArchiveError> {
    if raw.is_empty() || raw.len() > MAX_PATH_LEN || raw.contains('\\') || raw.chars().any(char::is_control) {
        return Err(ArchiveError::BadPath(format!(
            "'{raw}' is empty, too long or has forbidden characters"
        )));
    }
    let path = Path::new(raw);
    if path.components().any(|c| !matches!(c, Component::Normal(_))) || raw.contains("//") {
        return Err(ArchiveError::BadPath(format!(
            "'{raw}' must be a relative path without '..'"
        )));
    }
    Ok(path.to_path_buf())
}

impl Archive {
    pub async fn open(
        settings: ArchiveSettings,
        data_dir: &Path,
        store: Store,
        audit: audit::AuditLog,
        site: ch_api::SitePolicy,
        executors: Executors,
    ) -> anyhow::Result<Self> {
        let dir = settings.cache_dir.clone().unwrap_or_else(|| data_dir.join("cache"));
        let cache = DiskCache::open(
            dir,
            settings.cache_max_bytes,
            Duration::from_secs(settings.cache_ttl_secs),
        )
        .await?;
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("cosmic-horizons/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let hot = hot::HotFiles::new(settings.memory_cache_bytes, settings.memory_max_file_bytes);
        Ok(Self {
            hot,
            settings: Arc::new(settings),
            cache,
            client,
            store,
            executors,
            site,
            audit,
            meta: meta::MetaCache::new(meta::DEFAULT_CAPACITY_BYTES),
        })
    }

    /// The site-wide policy switches access decisions read.
    pub fn site(&self) -> ch_api::SitePolicy {
        self.site
    }

    pub fn cache(&self) -> &DiskCache {
        &self.cache
    }

    /// Resolves `source/path` for `principal` to a local file, fetching it on a cache miss.
    #[instrument(skip(self, principal), fields(caller = %principal.who), err(level = "debug"))]
    async fn resolve(&self, principal: &Caller<'_>, source: &str, raw_path: &str) -> Result<Served, ArchiveError> {
        let path = clean_path(raw_path)?;
        if source == JOBS_SOURCE {
            return self.job_file(principal, &path).await;
        }
        let upstream = self
            .settings
            .sources
            .get(source)
            .ok_or_else(|| ArchiveError::UnknownSource {
                name: source.to_owned(),
                known: self.known_sources(),
            })?;
        principal.source(source, upstream.projects.as_deref())?;
        let key = format!("{source}/{raw_path}");
        // Only a miss polls this, so a hit builds no URL and no temp path.
        let fill = async {
            let url = format!("{}/{}", upstream.base_url.trim_end_matches('/'), raw_path);
            let timeout = Duration::from_secs(upstream.timeout_secs);
            let temp = self.cache.temp_path();
            upstream::fetch(&self.client, &url, timeout, self.settings.max_file_bytes, temp).await
        };
        let (entry, lookup) = self.cache.get_or_fill(&key, fill).await.map_err(|e| shared_error(&e))?;
        Ok(Served {
            path: self.cache.blob_path(&entry),
            handle: None,
            etag: entry.etag(),
            size: entry.size,
            lookup: Some(lookup),
            entry: Some(entry),
        })
    }

    fn known_sources(&self) -> String {
        std::iter::once(JOBS_SOURCE)
            .chain(self.settings.sources.keys().map(String::as_str))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `jobs/<job id>/<file>`: an output file of the job, as its executor opens it.
    async fn job_file(&self, principal: &Caller<'_>, path: &Path) -> Result<Served, ArchiveError> {
        let mut parts = path.components();
        let id = parts
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .and_then(|s| s.parse::<Uuid>().ok())
            .ok_or_else(|| ArchiveError::BadPath("job results are addressed as jobs/<job id>/<file>".into()))?;
        let rel: PathBuf = parts.collect();
        if rel.as_os_str().is_empty() {
            return Err(ArchiveError::BadPath("missing file name after the job id".into()));
        }
        let job = match self.store.get_job(id).await {
            Ok(j) => j.job,
            Err(StoreError::JobNotFound(_)) => return Err(ArchiveError::NotFound(format!("job {id}"))),
            Err(e) => return Err(e.into()),
        };
        let shown = rel.display().to_string();
        let public = self
            .store
            .project_by_name(&job.project)
            .await?
            .is_some_and(|p| p.public);
        principal
            .job_result(&job.project, public, format!("job {id}"))
            .map_err(|d| match d.denied {
                ch_api::Denied::Hidden => ArchiveError::NotFound(format!("job {id}")),
                _ => ArchiveError::Denied(d),
            })?;
        // One open that follows no link at any component; all that follows reads that handle,
        // so swapping the name afterwards changes nothing.
        let executor = self.executors.get(&job.executor).ok_or_else(|| {
            ArchiveError::NotFound(format!("{shown} of job {id} (its executor is not configured here)"))
        })?;
        let beneath::Opened { file, meta, head } = match executor.output(&job, &rel).await {
            Ok(o) => o,
            Err(beneath::BeneathError::Missing | beneath::BeneathError::NotAFile) => {
                return Err(ArchiveError::NotFound(format!("{shown} of job {id}")));
            }
            Err(beneath::BeneathError::Link) => {
                return Err(ArchiveError::BadPath(format!(
                    "{shown} is or passes through a symbolic link; job results are served as plain files"
                )));
            }
            Err(beneath::BeneathError::Io(e)) => return Err(ArchiveError::Io(e)),
        };
        if !upstream::looks_like_fits(&head) {
            return Err(ArchiveError::LocalNotFits(shown));
        }
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        Ok(Served {
            path: beneath::proc_path(&file),
            handle: Some(Arc::new(file)),
            etag: format!("\"{:x}-{:x}\"", meta.len(), mtime),
            size: meta.len(),
            lookup: None,
            entry: None,
        })
    }
}

/// The cache shares one fill error among all waiters; rebuild an owned copy for each.
fn shared_error(e: &ArchiveError) -> ArchiveError {
    match e {
        ArchiveError::UpstreamStatus { url, status } => ArchiveError::UpstreamStatus {
            url: url.clone(),
            status: *status,
        },
        ArchiveError::UpstreamTimeout(u) => ArchiveError::UpstreamTimeout(u.clone()),
        ArchiveError::UpstreamUnreachable(u) => ArchiveError::UpstreamUnreachable(u.clone()),
        ArchiveError::UpstreamBroken(u) => ArchiveError::UpstreamBroken(u.clone()),
        ArchiveError::NotFits(u) => ArchiveError::NotFits(u.clone()),
        ArchiveError::TooLarge { url, max } => ArchiveError::TooLarge {
            url: url.clone(),
            max: *max,
        },
        other => ArchiveError::UpstreamBroken(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::clean_path;

    #[test]
    fn paths_stay_inside() {
        assert!(clean_path("vlass/T10t01/image.fits").is_ok());
        for bad in [
            "",
            "../etc/passwd",
            "/etc/passwd",
            "a/../../b",
            "a//b",
            "a\\b",
            "a\nb",
            "./a",
        ] {
            assert!(clean_path(bad).is_err(), "{bad:?}");
        }
    }
}
