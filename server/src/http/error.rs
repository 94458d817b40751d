//! HTTP errors: a status and a JSON body naming the problem.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ch_api::ServiceError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Status {
        status: StatusCode,
        field: Option<String>,
        message: String,
    },
    #[error(transparent)]
    Service(#[from] ServiceError),
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Machine-readable kind: `invalid`, `not_found`, `conflict`, `payload_too_large`, …
    pub code: &'static str,
    pub message: String,
    /// The offending field's JSON path, when one field is to blame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Every error answer: `{"error": {"code", "message", "field"}}`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    pub error: ErrorBody,
}

impl ApiError {
    pub fn bad_request(field: Option<&str>, message: impl Into<String>) -> Self {
        ApiError::Status {
            status: StatusCode::BAD_REQUEST,
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }
}

fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        401 => "unauthenticated",
        403 => "forbidden",
        421 => "misdirected",
        404 => "not_found",
        429 => "rate_limited",
        502 => "bad_gateway",
        504 => "gateway_timeout",
        409 => "conflict",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        405 => "method_not_allowed",
        422 | 400 => "invalid",
        _ if status.is_server_error() => "internal",
        _ => "bad_request",
    }
}

/// Finds the field a serde message blames: ``unknown field `x` ``, ``missing field `x` `` or
/// a `path.to.field: …` prefix (axum reports paths through serde_path_to_error).
fn field_from_serde(message: &str) -> Option<String> {
    if let Some(path) = path_prefix(message) {
        return Some(path);
    }
    ["unknown field `", "missing field `"].iter().find_map(|marker| {
        let rest = message.split(marker).nth(1)?;
        rest.split('`').next().map(str::to_owned)
    })
}

fn path_prefix(message: &str) -> Option<String> {
    let tail = message.rsplit("target type: ").next()?;
    let (path, _) = tail.split_once(": ")?;
    let ok = !path.is_empty()
        && path != "."
        && path
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'));
    ok.then(|| path.to_owned())
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = match &self {
            ApiError::Service(ServiceError::RateLimited { retry_after_secs, .. }) => Some(*retry_after_secs),
            _ => None,
        };
        let (status, field, message) = match self {
            ApiError::Status { status, field, message } => (status, field, message),
            ApiError::Service(e) => {
                let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let field = e.field().map(str::to_owned);
                (status, field, e.to_string())
            }
        };
        let body = ErrorBody {
            code: code_for(status),
            message,
            field,
        };
        let mut res = (status, Json(ErrorResponse { error: body })).into_response();
        if let Some(secs) = retry_after {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        if status == StatusCode::UNAUTHORIZED {
            res.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"cosmic-horizons\""),
            );
        }
        res
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let message = r.body_text();
        ApiError::Status {
            status: r.status(),
            field: field_from_serde(&message),
            message,
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        let message = r.body_text();
        ApiError::Status {
            status: StatusCode::BAD_REQUEST,
            field: field_from_serde(&message),
            message,
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::bad_request(None, r.body_text())
    }
}

/// Parses a job id from the path.
pub fn job_id(raw: &str) -> Result<uuid::Uuid, ApiError> {
    path_id(raw, "job")
}

/// Parses the `{id}` of a path naming a `what` (job, webhook, delivery): 400 naming `id`
/// unless it is a UUID.
pub fn path_id(raw: &str, what: &str) -> Result<uuid::Uuid, ApiError> {
    raw.parse().map_err(|_| {
        ApiError::bad_request(
            Some("id"),
            format!("'{raw}' is not a valid {what} id (expected a UUID)"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::field_from_serde;

    #[test]
    fn finds_unknown_field_name() {
        let m =
            "Failed to deserialize the JSON body into the target type: unknown field `bogus`, expected one of `name`";
        assert_eq!(field_from_serde(m).as_deref(), Some("bogus"));
        assert_eq!(field_from_serde("missing field `name`").as_deref(), Some("name"));
        let m = "Failed to deserialize the JSON body into the target type: resources.cpus: invalid type: string \"x\", expected i64 at line 1 column 9";
        assert_eq!(field_from_serde(m).as_deref(), Some("resources.cpus"));
        let m = "Failed to deserialize the JSON body into the target type: resources.cpu: unknown field `cpu`, expected one of `nodes`";
        assert_eq!(field_from_serde(m).as_deref(), Some("resources.cpu"));
        assert_eq!(field_from_serde("EOF while parsing a value at line 1 column 0"), None);
    }
}
