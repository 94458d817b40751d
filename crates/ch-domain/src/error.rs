use serde::{Deserialize, Serialize};

use crate::status::JobStatus;

/// A problem with one field of a request, named by its JSON path (e.g. `resources.cpus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("invalid input: {0}")]
    Invalid(#[from] FieldError),
    #[error("illegal status transition {from} -> {to}")]
    IllegalTransition { from: JobStatus, to: JobStatus },
    #[error("progress can only change while running (status is {0})")]
    ProgressWhileNotRunning(JobStatus),
    #[error("target_system '{0}' has no executor configured on this server")]
    NoExecutor(String),
}
