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
    /// Too many requests; retry after this many seconds (429).
    #[error("{message}")]
    RateLimited { message: String, retry_after_secs: u64 },
    /// Logged with its cause where it happened; answered generically (500).
    #[error("internal error")]
    Internal,
}

impl ServiceError {
    /// The HTTP status code this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            ServiceError::Invalid(_) => 422,
            ServiceError::Unauthenticated(_) => 401,
            ServiceError::Forbidden(_) => 403,
            ServiceError::NotFound(_) => 404,
            ServiceError::Conflict(_) => 409,
            ServiceError::RateLimited { .. } => 429,
            ServiceError::Internal => 500,
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
