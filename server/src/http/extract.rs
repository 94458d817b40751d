//! The API's request extractors: JSON bodies and query strings whose every rejection is an
//! [`ApiError`] (the JSON error shape, 4xx naming the field), and which refuse NUL characters at
//! the edge — PostgreSQL cannot store them in text, and no field of this API needs one — so no
//! handler or store has to remember to check.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// `Json` whose rejections answer with [`ApiError`]; a string containing NUL (`\u0000`) is a
/// 400 naming its JSON path.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(&req) {
            return Err(ApiError::Status {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                field: None,
                message: "Expected request with `Content-Type: application/json`".into(),
            });
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| ApiError::Status {
            status: e.status(),
            field: None,
            message: e.body_text(),
        })?;
        if has_escaped_nul(&bytes) {
            let field = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| nul_path(&v, ""));
            return Err(ApiError::bad_request(
                field.as_deref(),
                format!(
                    "{} must not contain NUL characters (\\u0000)",
                    field.as_deref().unwrap_or("the body")
                ),
            ));
        }
        let Json(value) = Json::<T>::from_bytes(&bytes)?;
        Ok(ApiJson(value))
    }
}

/// `application/json` or `application/…+json`, as axum's `Json` accepts.
fn is_json(req: &Request) -> bool {
    let Some(ct) = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Whether JSON text holds the escape `\u0000` (an odd run of backslashes before `u0000`; a raw
/// NUL byte is not valid JSON and the parser refuses it).
fn has_escaped_nul(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let run = bytes[i..].iter().take_while(|&&b| b == b'\\').count();
        let after = i + run;
        if run % 2 == 1 && bytes.get(after..after + 5) == Some(b"u0000") {
            return true;
        }
        i = after;
    }
    false
}

/// The JSON path (`a.b[2]`) of the first key or string containing NUL.
fn nul_path(v: &serde_json::Value, at: &str) -> Option<String> {
    match v {
        serde_json::Value::String(s) if s.contains('\0') => Some(if at.is_empty() { ".".into() } else { at.into() }),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_path(item, &format!("{at}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, item)| {
            let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
            if k.contains('\0') {
                Some(path)
            } else {
                nul_path(item, &path)
            }
        }),
        _ => None,
    }
}

/// `Query` whose rejections answer with [`ApiError`]; a parameter name or value containing NUL
/// (`%00`) is a 400 naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or("");
        if let Some((key, _)) =
            url::form_urlencoded::parse(raw.as_bytes()).find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            let key = key.replace('\0', "\\0");
            return Err(ApiError::bad_request(
                Some(&key),
                format!("query parameter '{key}' must not contain NUL characters (%00)"),
            ));
        }
        let Query(value) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(ApiQuery(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_escaped_nul_only() {
        assert!(has_escaped_nul(br#"{"name":"a\u0000b"}"#));
        assert!(has_escaped_nul(br#"{"name":"\\\u0000"}"#));
        assert!(
            !has_escaped_nul(br#"{"name":"\\u0000"}"#),
            "an escaped backslash, then text"
        );
        assert!(!has_escaped_nul(br#"{"name":"\u0001"}"#));
        let v: serde_json::Value = serde_json::from_slice(br#"{"a":[1,{"b":"x\u0000"}]}"#).expect("json");
        assert_eq!(nul_path(&v, "").as_deref(), Some("a[1].b"));
    }
}
