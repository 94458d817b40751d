//! `GET /api/fits/{source}/{path}`: archive and job-result FITS files, cached, with ranges,
//! ETags and conditional requests.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use ch_api::{ArchiveCaller, ArchiveFile};

use super::auth::Caller;
use super::error::ApiError;
use super::fits_answer::{audit, not_modified, outcome};
use crate::archive::Served;
use crate::archive::service::SharedArchive;

/// RFC 4047's media type for FITS.
static FITS_MIME: std::sync::LazyLock<mime::Mime> =
    std::sync::LazyLock::new(|| "application/fits".parse().unwrap_or(mime::APPLICATION_OCTET_STREAM));

/// Plain GETs of whole cached files; ranges and date conditions go to `ServeFile`.
fn whole_file_request(req: &Request) -> bool {
    let h = req.headers();
    req.method() == axum::http::Method::GET
        && !h.contains_key(header::RANGE)
        && !h.contains_key(header::IF_MODIFIED_SINCE)
        && !h.contains_key(header::IF_UNMODIFIED_SINCE)
        && !h.contains_key(header::IF_RANGE)
}

/// Whole small cached files straight from memory.
async fn serve_hot(archive: &SharedArchive, served: &Served) -> Option<Response> {
    let file = archive.in_memory(served).await?;
    let mut res = Response::new(Body::from(file.body));
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/fits"));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(v) = file.last_modified.and_then(|d| HeaderValue::from_maybe_shared(d).ok()) {
        headers.insert(header::LAST_MODIFIED, v);
    }
    Some(res)
}

async fn serve(archive: &SharedArchive, served: &Served, req: Request) -> Response {
    let etag = HeaderValue::from_str(&served.etag).ok();
    if not_modified(req.headers(), &served.etag) {
        let mut res = StatusCode::NOT_MODIFIED.into_response();
        if let Some(e) = etag {
            res.headers_mut().insert(header::ETAG, e);
        }
        return res;
    }
    let hot = if whole_file_request(&req) {
        serve_hot(archive, served).await
    } else {
        None
    };
    let mut res = match hot {
        Some(res) => res,
        None => serve_file(served, req).await,
    };
    let headers = res.headers_mut();
    if let Some(e) = etag {
        headers.insert(header::ETAG, e);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    if let Some(lookup) = served.cache() {
        headers.insert("x-cache", HeaderValue::from_static(lookup));
    }
    res
}

/// Large chunks keep a big transfer from paying a blocking-pool hop per 64 KiB.
const FILE_CHUNK: usize = 1 << 20;

async fn serve_file(served: &Served, req: Request) -> Response {
    match ServeFile::new_with_mime(&served.path, &FITS_MIME)
        .with_buf_chunk_size(FILE_CHUNK)
        .oneshot(req)
        .await
    {
        Ok(r) => r.map(Body::new),
        Err(never) => match never {},
    }
}

pub async fn get(
    State(archive): State<SharedArchive>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Caller(who): Caller,
    Path((source, path)): Path<(String, String)>,
    req: Request,
) -> Response {
    let principal = ArchiveCaller {
        principal: who,
        client: peer.ip(),
    };
    if super::fits_meta::wants_view(req.uri()) {
        return super::fits_meta::get(&archive, &principal, source, path, req.uri(), req.headers()).await;
    }
    let (res, cache) = match archive.open(&principal, &source, &path).await {
        Ok(served) => {
            let cache = served.cache().map(str::to_owned);
            (serve(&archive, &served, req).await, cache)
        }
        Err(e) => (ApiError::from(e).into_response(), None),
    };
    audit(&archive, &principal, source, path, "file".into(), outcome(&res), cache).await;
    res
}
