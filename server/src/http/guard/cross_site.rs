//! Cross-site requests: a write or a WebSocket upgrade from a page of another site is refused
//! (`Origin`, `Sec-Fetch-Site`), and a browser session's writes must be JSON, which a
//! cross-site form cannot send.

use super::{Refused, refuse};
use axum::http::{HeaderMap, Method, StatusCode, header};

/// Whether `method` changes something.
pub(super) fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Refuses a write or WebSocket upgrade that does not come from a page of this site (`host`).
pub(super) fn check_origin(method: &Method, headers: &HeaderMap, host: &str) -> Result<(), (Refused, String)> {
    let websocket = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !(is_write(method) || websocket) {
        return Ok(());
    }
    same_origin(headers, host).map_err(|why| (refuse(StatusCode::FORBIDDEN, why.clone()), why))
}

/// Refuses a write of a browser session (`by_cookie`) whose body is not JSON.
pub(super) fn check_body(by_cookie: bool, method: &Method, headers: &HeaderMap) -> Result<(), Refused> {
    if by_cookie && is_write(method) && !is_json(headers) {
        return Err(refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "writes from a browser session must send Content-Type: application/json",
        ));
    }
    Ok(())
}

/// Whether the request comes from a page of this site (or from no page at all).
fn same_origin(headers: &HeaderMap, host: &str) -> Result<(), String> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        let authority = origin.split_once("://").map(|(_, a)| a).unwrap_or_default();
        if authority.is_empty() || !authority.eq_ignore_ascii_case(host) {
            return Err(format!("cross-site request refused (Origin {origin} is not this site)"));
        }
        return Ok(());
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("cross-site" | "same-site") => Err("cross-site request refused".into()),
        _ => Ok(()),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| {
            m.type_() == mime::APPLICATION && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
        })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    #[test]
    fn origins_must_match_the_host() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h, "127.0.0.1:3000").is_ok());
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:3000"));
        assert!(same_origin(&h, "127.0.0.1:3000").is_ok());
        assert!(same_origin(&h, "127.0.0.1:3001").is_err());
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(same_origin(&h, "127.0.0.1:3000").is_err());
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(same_origin(&h, "x").is_err());
    }

    #[test]
    fn json_content_types() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        assert!(!is_json(&h));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!is_json(&h));
    }
}
