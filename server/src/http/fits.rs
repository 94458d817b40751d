//! `GET /api/fits/{source}/{path}`: archive and job-result FITS files, cached, with ranges,
//! ETags and conditional requests.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use super::auth::Caller;
use super::error::ApiError;
use super::fits_answer::{audit, not_modified, outcome};
use crate::archive::access::Caller as Principal;
use crate::archive::{Archive, ArchiveError, Served};

impl From<ArchiveError> for ApiError {
    fn from(e: ArchiveError) -> Self {
        let status = match &e {
            ArchiveError::BadPath(_) => StatusCode::BAD_REQUEST,
            ArchiveError::UnknownSource { .. } | ArchiveError::NotFound(_) => StatusCode::NOT_FOUND,
            ArchiveError::Denied(d) => match d.denied {
                ch_api::Denied::Unauthenticated => StatusCode::UNAUTHORIZED,
                ch_api::Denied::Forbidden(_) => StatusCode::FORBIDDEN,
                ch_api::Denied::Hidden => StatusCode::NOT_FOUND,
            },
            ArchiveError::LocalNotFits(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ArchiveError::UpstreamTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ArchiveError::UpstreamStatus { .. }
            | ArchiveError::UpstreamUnreachable(_)
            | ArchiveError::UpstreamBroken(_)
            | ArchiveError::NotFits(_)
            | ArchiveError::TooLarge { .. } => StatusCode::BAD_GATEWAY,
            ArchiveError::Io(_) | ArchiveError::Store(_) => {
                tracing::error!(error = %e, "archive failure");
                return ApiError::Status {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    field: None,
                    message: "internal error".into(),
                };
            }
        };
        let field = matches!(e, ArchiveError::BadPath(_)).then(|| "path".to_owned());
        ApiError::Status {
            status,
            field,
            message: e.to_string(),
        }
    }
}

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
async fn serve_hot(archive: &Archive, served: &Served) -> Option<Response> {
    let entry = served.entry.as_ref()?;
    if !archive.hot.eligible(entry.size) {
        return None;
    }
    let file = archive.hot.get(&entry.sha256, &served.path).await.ok()?;
    let mut res = Response::new(Body::from(file.body));
    let headers = res.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/fits"));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(v) = file.last_modified {
        headers.insert(header::LAST_MODIFIED, v);
    }
    Some(res)
}

async fn serve(archive: &Archive, served: &Served, req: Request) -> Response {
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
    if let Some(lookup) = served.lookup {
        headers.insert("x-cache", HeaderValue::from_static(lookup.as_str()));
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
    State(archive): State<Archive>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Caller(who): Caller,
    Path((source, path)): Path<(String, String)>,
    req: Request,
) -> Response {
    let principal = Principal {
        principal: who,
        client: peer.ip(),
        site: archive.site(),
    };
    if super::fits_meta::wants_view(req.uri()) {
        return super::fits_meta::get(&archive, &principal, source, path, req.uri(), req.headers()).await;
    }
    let (res, cache) = match archive.resolve(&principal, &source, &path).await {
        Ok(served) => {
            let cache = served.lookup.map(|l| l.as_str().to_owned());
            (serve(&archive, &served, req).await, cache)
        }
        Err(e) => (ApiError::from(e).into_response(), None),
    };
    audit(&archive, &principal, source, path, "file".into(), outcome(&res), cache).await;
    res
}
