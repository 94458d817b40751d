//! Server functions: the UI's calls into the job service. Thin by design: they fetch the
//! service from context and map its errors.

use ch_domain::{Job, JobEvent, JobLogs, JobPage, ListQuery, SubmitJob, SystemCatalog};
use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Errors the UI can show: a field to highlight, or a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum UiError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Message(String),
}

impl FromServerFnError for UiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        UiError::Message(value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<crate::backend::ServiceError> for UiError {
    fn from(e: crate::backend::ServiceError) -> Self {
        match e {
            crate::backend::ServiceError::Invalid(f) => UiError::Invalid {
                field: f.field,
                message: f.message,
            },
            other => UiError::Message(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
fn service() -> Result<crate::backend::SharedJobService, UiError> {
    use_context::<crate::backend::SharedJobService>().ok_or_else(|| UiError::Message("job service unavailable".into()))
}

/// Until accounts exist every caller is the same user.
#[cfg(feature = "ssr")]
const ACTOR: &str = "anonymous";

/// A job with its history and output, for the detail page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDetail {
    pub job: Job,
    pub events: Vec<JobEvent>,
    pub logs: JobLogs,
}

#[server]
pub async fn get_jobs(query: ListQuery) -> Result<JobPage, UiError> {
    Ok(service()?.list(query).await?)
}

#[server]
pub async fn get_job_detail(id: Uuid) -> Result<JobDetail, UiError> {
    let svc = service()?;
    let job = svc.get(id).await?;
    let events = svc.events(id).await?;
    let logs = svc.logs(id).await?;
    Ok(JobDetail { job, events, logs })
}

#[server]
pub async fn get_job_logs(id: Uuid) -> Result<JobLogs, UiError> {
    Ok(service()?.logs(id).await?)
}

#[server]
pub async fn post_job(req: SubmitJob) -> Result<Job, UiError> {
    Ok(service()?.submit(req, ACTOR).await?)
}

#[server]
pub async fn post_cancel(id: Uuid) -> Result<Job, UiError> {
    Ok(service()?.cancel(id, ACTOR).await?)
}

#[server]
pub async fn get_systems() -> Result<SystemCatalog, UiError> {
    Ok(service()?.systems())
}
