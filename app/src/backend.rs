//! The port between the UI's server functions and the server's job service. The server
//! implements [`JobService`] and provides it as context; server functions stay thin.

use std::sync::Arc;

use async_trait::async_trait;
use ch_domain::{FieldError, Job, JobEvent, JobLogs, JobPage, ListQuery, SubmitJob, SystemCatalog};
use uuid::Uuid;

/// Errors of the job service layer, each with the HTTP status it maps to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Invalid(#[from] FieldError),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("internal error")]
    Internal,
}

impl ServiceError {
    pub fn status(&self) -> u16 {
        match self {
            ServiceError::Invalid(_) => 422,
            ServiceError::NotFound(_) => 404,
            ServiceError::Conflict(_) => 409,
            ServiceError::Internal => 500,
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

#[async_trait]
pub trait JobService: Send + Sync + 'static {
    async fn submit(&self, req: SubmitJob, actor: &str) -> ServiceResult<Job>;
    async fn list(&self, query: ListQuery) -> ServiceResult<JobPage>;
    async fn get(&self, id: Uuid) -> ServiceResult<Job>;
    async fn cancel(&self, id: Uuid, actor: &str) -> ServiceResult<Job>;
    async fn logs(&self, id: Uuid) -> ServiceResult<JobLogs>;
    async fn events(&self, id: Uuid) -> ServiceResult<Vec<JobEvent>>;
    fn systems(&self) -> SystemCatalog;
}

/// What server functions find in their context.
pub type SharedJobService = Arc<dyn JobService>;
