//! What every FITS answer shares — the file, its metadata views, SODA cutouts: conditional
//! requests (`If-None-Match`) and the audit record of each request. A leaf: it imports no other
//! handler.

use axum::http::{HeaderMap, header};
use axum::response::Response;

use ch_api::{Access, ArchiveCaller};

use crate::archive::service::SharedArchive;

/// True when `If-None-Match` names `etag` (or `*`).
pub(super) fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == etag || t == "*")
}

/// Status and body length of a response, for the audit record.
pub(super) fn outcome(res: &Response) -> (u16, u64) {
    let bytes = res
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (res.status().as_u16(), bytes)
}

/// Records one answered FITS request (file or view) in the audit log.
pub(super) async fn audit(
    archive: &SharedArchive,
    caller: &ArchiveCaller,
    source: String,
    path: String,
    view: String,
    (status, bytes): (u16, u64),
    cache: Option<String>,
) {
    let access = Access {
        source,
        path,
        view,
        status,
        bytes,
        cache,
    };
    archive.record(caller, access).await;
}
