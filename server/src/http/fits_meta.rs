//! `GET /api/fits/{source}/{path}?view=…`: metadata views and thumbnails of the same files
//! the plain download serves (see `archive::meta`).

use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use ch_api::{ArchiveCaller, ArchiveFile, ServiceError};

use super::error::ApiError;
use crate::archive::meta::MetaRequest;
use crate::archive::service::SharedArchive;

/// True when the query asks for a view rather than the file.
pub fn wants_view(uri: &Uri) -> bool {
    uri.query()
        .is_some_and(|q| q.split('&').any(|kv| kv.split('=').next() == Some("view")))
}

async fn answer(
    archive: &SharedArchive,
    principal: &ArchiveCaller,
    source: &str,
    path: &str,
    uri: &Uri,
    conditions: &HeaderMap,
) -> (Response, Option<String>) {
    let pairs = match Query::<Vec<(String, String)>>::try_from_uri(uri) {
        Ok(Query(p)) => p,
        Err(r) => return (ApiError::from(r).into_response(), None),
    };
    let req = match MetaRequest::from_pairs(&pairs) {
        Ok(r) => r,
        Err(e) => return (ApiError::from(ServiceError::from(&e)).into_response(), None),
    };
    let served = match archive.open(principal, source, path).await {
        Ok(s) => s,
        Err(e) => return (ApiError::from(e).into_response(), None),
    };
    let lookup = served.cache().map(str::to_owned);
    let etag = archive.view_etag(&served, &req);
    let etag_header = HeaderValue::from_str(&etag).ok();
    if super::fits_answer::not_modified(conditions, &etag) {
        let mut res = StatusCode::NOT_MODIFIED.into_response();
        let headers = res.headers_mut();
        if let Some(e) = etag_header {
            headers.insert(header::ETAG, e);
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
        return (res, lookup);
    }
    let id = format!("{source}/{path}");
    match archive.view(&id, &served, &req).await {
        Ok(out) => {
            let hit = out.reused;
            let mut res = (StatusCode::OK, out.body).into_response();
            let headers = res.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(out.content_type));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
            if let Some(e) = etag_header {
                headers.insert(header::ETAG, e);
            }
            headers.insert(
                "x-view-cache",
                HeaderValue::from_static(if hit { "HIT" } else { "MISS" }),
            );
            (res, lookup)
        }
        Err(e) => (ApiError::from(e).into_response(), lookup),
    }
}

/// Answers a view request (304 when `If-None-Match` names its ETag) and records it in the
/// access log under the view's name.
pub async fn get(
    archive: &SharedArchive,
    principal: &ArchiveCaller,
    source: String,
    path: String,
    uri: &Uri,
    conditions: &HeaderMap,
) -> Response {
    let (res, cache) = answer(archive, principal, &source, &path, uri, conditions).await;
    let view = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .ok()
        .and_then(|Query(p)| p.into_iter().find(|(k, _)| k == "view").map(|(_, v)| v))
        .map_or_else(|| "view".to_owned(), |v| v.chars().take(32).collect());
    super::fits_answer::audit(
        archive,
        principal,
        source,
        path,
        view,
        super::fits_answer::outcome(&res),
        cache,
    )
    .await;
    res
}
