//! The archive port: FITS files of configured upstream archives (through the server's cache)
//! and of job results, their computed views (header, WCS, statistics, thumbnails), SODA
//! cutouts, and the access log. The server implements [`ArchiveService`]; the HTTP handlers
//! call it and add what HTTP alone decides (ranges, conditional requests, headers).
//!
//! Bytes are not copied through the port: an opened file names where its bytes are
//! ([`ArchiveFile::path`]) for the server to stream, and computed views are shared buffers.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::ServiceResult;
use crate::principal::Principal;

/// Who asks the archive, and from where: both go into the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveCaller {
    pub principal: Principal,
    pub client: IpAddr,
}

impl fmt::Display for ArchiveCaller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.principal.actor(), self.client)
    }
}

/// A file the archive opened for a caller.
pub trait ArchiveFile: Send + Sync + 'static {
    /// Where to read the bytes; valid while this value lives (for a job result, the open
    /// handle's `/proc/self/fd/N`).
    fn path(&self) -> &Path;
    /// The strong validator of this version of the file, quoted (RFC 9110 §8.8.3).
    fn etag(&self) -> &str;
    /// Bytes.
    fn size(&self) -> u64;
    /// How the disk cache answered (`HIT` or `MISS`); `None` for job results, which are not
    /// cached.
    fn cache(&self) -> Option<&'static str>;
}

/// A whole small file from the archive's memory tier.
#[derive(Debug, Clone)]
pub struct InMemory {
    pub body: Bytes,
    /// `Last-Modified` of the cached copy (its modification time as an RFC 9110 HTTP-date),
    /// formatted once when the file entered memory so that a hit sends it as it is.
    pub last_modified: Option<Bytes>,
}

/// A computed view of a file: JSON (`hdus`, `header`, `wcs`, `stats`) or PNG (`thumbnail`).
#[derive(Debug, Clone)]
pub struct Rendered {
    pub content_type: &'static str,
    pub body: Bytes,
    /// True when the view came from the view cache rather than being computed now.
    pub reused: bool,
}

/// One answered archive request, for the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub source: String,
    pub path: String,
    /// `file`, `soda` or the view's name (`header`, `thumbnail`, …).
    pub view: String,
    /// HTTP status answered.
    pub status: u16,
    /// Body bytes answered.
    pub bytes: u64,
    /// The disk cache's answer, when the cache was involved.
    pub cache: Option<String>,
}

/// The archive. Reads are authorized by [`crate::authorize`]: a public source's files every
/// signed-in user (and anonymous visitors where the site allows), a restricted source's only
/// its projects' members, a job's result files like the job. Refusals answer as the policy
/// says (401, 403, or 404 for what the caller may not know exists); upstream failures answer
/// [`crate::ServiceError::Upstream`] (502, 504 on a timeout).
#[async_trait]
pub trait ArchiveService: Send + Sync + 'static {
    /// An opened file.
    type File: ArchiveFile;
    /// A view request (`?view=…` and its parameters), parsed by the server.
    type View: Send + Sync + 'static;
    /// A cutout request (SODA `POS`, `CHANNEL`, `BAND`, `HDU`), parsed by the server.
    type Cutout: Send + 'static;

    /// Who may read the files of upstream source `name`: `Some(None)` everyone the site lets
    /// read (a public source), `Some(Some(projects))` members of those projects; `None` when
    /// no such source is configured.
    fn source_projects(&self, name: &str) -> Option<Option<&[String]>>;

    /// Authorizes and opens `path` of `source` (`jobs` for job results:
    /// `<job id>/<file>`), fetching it from the upstream archive on a cache miss.
    ///
    /// # Errors
    /// `Malformed` naming `path` for a path with `..`, an absolute or hidden part; `NotFound`
    /// for an unknown source or file; `Invalid` naming `path` for a job result that is not
    /// FITS; `Upstream` when the upstream archive fails.
    async fn open(&self, caller: &ArchiveCaller, source: &str, path: &str) -> ServiceResult<Self::File>;

    /// The whole file from memory, when it is small enough for the memory tier (`None`: read
    /// it from [`ArchiveFile::path`]).
    async fn in_memory(&self, file: &Self::File) -> Option<InMemory>;

    /// The validator of `view` of `file`: changes with the file and with the request.
    fn view_etag(&self, file: &Self::File, view: &Self::View) -> String;

    /// Computes (or reuses) `view` of `file`; `id` names the file in the view cache.
    ///
    /// # Errors
    /// `Invalid` for a view the file cannot give (no image HDU, undecodable data).
    async fn view(&self, id: &str, file: &Self::File, view: &Self::View) -> ServiceResult<Rendered>;

    /// A FITS file with the part of `file` that `cut` selects.
    ///
    /// # Errors
    /// `Malformed` naming the parameter the image cannot satisfy; `Invalid` for a selection
    /// outside the image.
    async fn cutout(&self, file: &Self::File, cut: Self::Cutout) -> ServiceResult<Vec<u8>>;

    /// Records one answered request in the access log (queued; never fails the request).
    async fn record(&self, caller: &ArchiveCaller, access: Access);
}
