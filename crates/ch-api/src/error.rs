//! Errors of the service layer, each with the HTTP status it maps to.

use ch_domain::FieldError;

use crate::policy::Denied;

/// What a service call can fail with. The HTTP layer and the UI map each variant to a status
/// (see [`ServiceError::status`]) and show the message as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// A field of the request is invalid (422, names the field).
    #[error("{0}")]
    Invalid(#[from] FieldError),
    /// The request is well formed, but what it names cannot be processed — a file that is not
    /// FITS, an HDU without an image (422, no one field to blame).
    #[error("{0}")]
    Unprocessable(String),
    /// The request itself cannot be read — a query parameter or path that is missing or not
    /// of its form (400, naming the parameter when one is to blame).
    #[error("{message}")]
    Malformed { field: Option<String>, message: String },
    /// Sign-in is required (401).
    #[error("{0}")]
    Unauthenticated(String),
    /// Signed in, but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// The thing does not exist, or the caller may not know that it does (404).
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with the current state (409).
    #[error("{0}")]
    Conflict(String),
    /// The request was made from a copy that is no longer current: the field (e.g. `version`)
    /// names what moved on since the client read it (409). Optimistic concurrency.
    #[error("{}", .0.message)]
    Stale(FieldError),
    /// Too many requests; retry after this many seconds (429).
    #[error("{message}")]
    RateLimited { message: String, retry_after_secs: u64 },
    /// A service this one depends on (an upstream archive) failed or answered something
    /// unusable (502), or did not answer in time (504).
    #[error("{message}")]
    Upstream { message: String, timed_out: bool },
    /// Logged with its cause where it happened; answered generically (500).
    #[error("internal error")]
    Internal,
}

impl ServiceError {
    /// The HTTP status code this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            ServiceError::Invalid(_) | ServiceError::Unprocessable(_) => 422,
            ServiceError::Malformed { .. } => 400,
            ServiceError::Unauthenticated(_) => 401,
            ServiceError::Forbidden(_) => 403,
            ServiceError::NotFound(_) => 404,
            ServiceError::Conflict(_) | ServiceError::Stale(_) => 409,
            ServiceError::RateLimited { .. } => 429,
            ServiceError::Upstream { timed_out: false, .. } => 502,
            ServiceError::Upstream { timed_out: true, .. } => 504,
            ServiceError::Internal => 500,
        }
    }

    /// The request field or parameter to blame, when one is: `Invalid`, `Stale` and
    /// `Malformed` with a field.
    pub fn field(&self) -> Option<&str> {
        match self {
            ServiceError::Invalid(f) | ServiceError::Stale(f) => Some(&f.field),
            ServiceError::Malformed { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// A 400 naming `field`.
    pub fn malformed(field: impl Into<String>, message: impl Into<String>) -> Self {
        ServiceError::Malformed {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A denial from [`crate::authorize`], with `what` naming the hidden thing for a 404.
    pub fn denied(d: Denied, what: impl Into<String>) -> Self {
        match d {
            Denied::Unauthenticated => ServiceError::Unauthenticated("sign in to continue".into()),
            Denied::Forbidden(reason) => ServiceError::Forbidden(reason),
            Denied::Hidden => ServiceError::NotFound(what.into()),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_its_status_and_field() {
        let cases = [
            (
                ServiceError::Invalid(FieldError::new("name", "empty")),
                422,
                Some("name"),
            ),
            (ServiceError::malformed("image", "missing"), 400, Some("image")),
            (ServiceError::Unprocessable("not FITS".into()), 422, None),
            (
                ServiceError::Malformed {
                    field: None,
                    message: "body".into(),
                },
                400,
                None,
            ),
            (
                ServiceError::Stale(FieldError::new("version", "moved on")),
                409,
                Some("version"),
            ),
            (ServiceError::Conflict("busy".into()), 409, None),
            (
                ServiceError::Upstream {
                    message: "502 from vlass".into(),
                    timed_out: false,
                },
                502,
                None,
            ),
            (
                ServiceError::Upstream {
                    message: "slow".into(),
                    timed_out: true,
                },
                504,
                None,
            ),
            (ServiceError::Internal, 500, None),
        ];
        for (e, status, field) in cases {
            assert_eq!((e.status(), e.field()), (status, field), "{e:?}");
        }
        assert_eq!(
            ServiceError::Stale(FieldError::new("version", "moved on")).to_string(),
            "moved on"
        );
    }
}
