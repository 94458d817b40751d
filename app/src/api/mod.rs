//! Server functions: the UI's calls into the job service. Thin by design: they fetch the
//! service from context and map its errors.

use ch_domain::{
    Job, JobEvent, JobLogs, JobPage, ListQuery, QueueInsight, ResourceRequest, SchedulerRecord, SubmitJob,
    SystemCatalog,
};
use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod accounts;
pub mod notifications;
mod reach;

pub use reach::retrying;

/// Errors the UI can show: a field to highlight, or a message. Decoded from a server
/// function's own error, or from the API's error shape (`{"error": {"code", "message",
/// "field"}}`) that the server's guard answers before a function runs — an expired session,
/// a rate limit — so the page shows what happened, never a decoding error. A call that got no
/// answer at all is [`UiError::Unreachable`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(from = "wire::Wire")]
pub enum UiError {
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("{0}")]
    Message(String),
    /// Sign-in is required (the server answered 401).
    #[error("{0}")]
    Unauthenticated(String),
    /// Signed in but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// No answer: the server is down or restarting, or the browser is offline. Made in the
    /// browser only (a server function that fails to send its request), never answered.
    #[error("the server cannot be reached: it may be restarting, or this computer is offline")]
    Unreachable(String),
}

impl UiError {
    /// Whether the call got no answer, so trying again later may work.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, UiError::Unreachable(_))
    }

    /// The message when this error names `field` (a form shows it beside that field).
    pub fn message_for(&self, field: &str) -> Option<&str> {
        match self {
            UiError::Invalid { field: f, message } if f == field => Some(message),
            _ => None,
        }
    }
}

/// How [`UiError`] arrives: as itself, or in the API's error shape.
mod wire {
    use serde::Deserialize;

    use super::UiError;

    #[derive(Deserialize)]
    #[serde(untagged)]
    pub(super) enum Wire {
        Ui(Tagged),
        Api { error: ApiBody },
    }

    /// [`UiError`]'s own encoding.
    #[derive(Deserialize)]
    pub(super) enum Tagged {
        Invalid { field: String, message: String },
        Message(String),
        Unauthenticated(String),
        Forbidden(String),
        Unreachable(String),
    }

    /// The API's error body (`server/src/http/error.rs`).
    #[derive(Deserialize)]
    pub(super) struct ApiBody {
        code: String,
        message: String,
        #[serde(default)]
        field: Option<String>,
    }

    impl From<Wire> for UiError {
        fn from(w: Wire) -> UiError {
            match w {
                Wire::Ui(Tagged::Invalid { field, message }) => UiError::Invalid { field, message },
                Wire::Ui(Tagged::Message(m)) => UiError::Message(m),
                Wire::Ui(Tagged::Unauthenticated(m)) => UiError::Unauthenticated(m),
                Wire::Ui(Tagged::Forbidden(m)) => UiError::Forbidden(m),
                Wire::Ui(Tagged::Unreachable(m)) => UiError::Unreachable(m),
                Wire::Api { error } => match (error.code.as_str(), error.field) {
                    ("unauthenticated", _) => UiError::Unauthenticated(error.message),
                    ("forbidden", _) => UiError::Forbidden(error.message),
                    ("invalid", Some(field)) => UiError::Invalid {
                        field,
                        message: error.message,
                    },
                    _ => UiError::Message(error.message),
                },
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::UiError;

        #[test]
        fn both_shapes_decode() {
            let own = UiError::Invalid {
                field: "name".into(),
                message: "is empty".into(),
            };
            let text = serde_json::to_string(&own).expect("encode");
            assert_eq!(serde_json::from_str::<UiError>(&text).expect("decode"), own);
            let api = r#"{"error":{"code":"unauthenticated","message":"sign in to continue"}}"#;
            assert_eq!(
                serde_json::from_str::<UiError>(api).expect("decode"),
                UiError::Unauthenticated("sign in to continue".into())
            );
            let limited = r#"{"error":{"code":"rate_limited","message":"too many writes; retry in 3 s"}}"#;
            assert_eq!(
                serde_json::from_str::<UiError>(limited).expect("decode"),
                UiError::Message("too many writes; retry in 3 s".into())
            );
            let down = UiError::Unreachable("Failed to fetch".into());
            let text = serde_json::to_string(&down).expect("encode");
            assert_eq!(serde_json::from_str::<UiError>(&text).expect("decode"), down);
        }

        #[test]
        fn a_request_that_was_not_sent_is_unreachable() {
            use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
            let e = UiError::from_server_fn_error(ServerFnErrorErr::Request("TypeError: Failed to fetch".into()));
            assert!(e.is_unreachable(), "{e:?}");
            let answered = UiError::from_server_fn_error(ServerFnErrorErr::ServerError("boom".into()));
            assert!(!answered.is_unreachable(), "{answered:?}");
        }
    }
}

impl FromServerFnError for UiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        // In the browser, a request that could not be sent (the fetch failed: connection
        // refused or reset, offline) got no answer; anything answered decodes as itself.
        if let ServerFnErrorErr::Request(why) = value {
            return UiError::Unreachable(why);
        }
        // On the server, arguments that do not decode are the caller's fault (400), as a bad
        // body on the HTTP routes; everything else stays 500.
        #[cfg(feature = "ssr")]
        if matches!(
            value,
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) | ServerFnErrorErr::Deserialization(_)
        ) {
            set_status(400);
        }
        UiError::Message(value.to_string())
    }
}

/// Answers this server function's request with `status` instead of the default 500 for an
/// error (leptos_axum applies the `ResponseOptions` status after the function returns).
#[cfg(feature = "ssr")]
fn set_status(status: u16) {
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(code) = http::StatusCode::from_u16(status)
    {
        options.set_status(code);
    }
}

/// A refusal answers with the status the HTTP routes give it: 401, 403, 404, 409, 422, 429.
#[cfg(feature = "ssr")]
impl From<ch_api::ServiceError> for UiError {
    fn from(e: ch_api::ServiceError) -> Self {
        set_status(e.status());
        match e {
            ch_api::ServiceError::Invalid(f) | ch_api::ServiceError::Stale(f) => UiError::Invalid {
                field: f.field,
                message: f.message,
            },
            ch_api::ServiceError::Malformed {
                field: Some(field),
                message,
            } => UiError::Invalid { field, message },
            ch_api::ServiceError::Unauthenticated(m) => UiError::Unauthenticated(m),
            ch_api::ServiceError::Forbidden(m) => UiError::Forbidden(m),
            other => UiError::Message(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
fn service() -> Result<ch_api::SharedJobService, UiError> {
    use_context::<ch_api::SharedJobService>().ok_or_else(|| UiError::Message("job service unavailable".into()))
}

/// The caller of this request, as the server's guard identified them.
#[cfg(feature = "ssr")]
pub(crate) fn caller() -> ch_api::Principal {
    use_context::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<ch_api::Principal>().cloned())
        .unwrap_or(ch_api::Principal::Anonymous)
}

/// The signed-in user as the UI shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    /// Their notifications stream on `user:{user_id}:notifications`.
    pub user_id: Uuid,
    pub username: String,
    /// `admin`, `scientist` or `viewer`.
    pub role: String,
    /// Project names with the user's role in each.
    pub projects: Vec<(String, String)>,
}

/// A job with its history and output, for the detail page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDetail {
    pub job: Job,
    pub events: Vec<JobEvent>,
    pub logs: JobLogs,
    /// The job's record at its batch scheduler (Slurm), if it has one.
    pub scheduler: Option<SchedulerRecord>,
    /// The event log's newest offset when the detail was read (read first): every later event
    /// reaches the page live, from a subscription that starts there.
    pub offset: i64,
}

// Every server function takes a JSON body: a cross-site HTML form cannot send one, and the
// server's guard refuses cookie-authenticated writes that are not JSON.

#[server(input = server_fn::codec::Json)]
pub async fn get_me() -> Result<Option<CurrentUser>, UiError> {
    Ok(caller().user().map(|u| CurrentUser {
        user_id: u.user_id,
        username: u.username.clone(),
        role: u.role.to_string(),
        projects: u
            .memberships
            .iter()
            .map(|m| (m.project.clone(), m.role.to_string()))
            .collect(),
    }))
}

/// A page of the job list, with the event log's offset it reflects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobList {
    pub page: JobPage,
    /// The log's newest offset when the list was read (read first): every later event reaches
    /// the page live, from a subscription that starts there.
    pub offset: i64,
}

#[server(input = server_fn::codec::Json)]
pub async fn get_jobs(query: ListQuery) -> Result<JobList, UiError> {
    let svc = service()?;
    let who = caller();
    let offset = svc.log_offset(&who).await?;
    let page = svc.list(&who, query).await?;
    Ok(JobList { page, offset })
}

#[server(input = server_fn::codec::Json)]
pub async fn get_job_detail(id: Uuid) -> Result<JobDetail, UiError> {
    let svc = service()?;
    let who = caller();
    let offset = svc.log_offset(&who).await?;
    let job = svc.get(&who, id).await?;
    let events = svc.events(&who, id).await?;
    let logs = svc.logs(&who, id).await?;
    let scheduler = svc.scheduler(&who, id).await?;
    Ok(JobDetail {
        job,
        events,
        logs,
        scheduler,
        offset,
    })
}

/// The queue of `system` at its batch scheduler for a job asking for `resources`.
#[server(input = server_fn::codec::Json)]
pub async fn get_system_queue(system: String, resources: ResourceRequest) -> Result<QueueInsight, UiError> {
    Ok(service()?.queue(&caller(), &system, resources).await?)
}

/// The job's record at its batch scheduler, re-read when the job has news.
#[server(input = server_fn::codec::Json)]
pub async fn get_job_scheduler(id: Uuid) -> Result<Option<SchedulerRecord>, UiError> {
    Ok(service()?.scheduler(&caller(), id).await?)
}

#[server(input = server_fn::codec::Json)]
pub async fn get_job_logs(id: Uuid) -> Result<JobLogs, UiError> {
    Ok(service()?.logs(&caller(), id).await?)
}

#[server(input = server_fn::codec::Json)]
pub async fn post_job(req: SubmitJob) -> Result<Job, UiError> {
    Ok(service()?.submit(&caller(), req).await?)
}

#[server(input = server_fn::codec::Json)]
pub async fn post_cancel(id: Uuid) -> Result<Job, UiError> {
    Ok(service()?.cancel(&caller(), id).await?)
}

#[server(input = server_fn::codec::Json)]
pub async fn get_templates() -> Result<ch_api::TemplateCatalog, UiError> {
    Ok(service()?.templates(&caller())?)
}

/// The projects the caller may submit to, and the one the submit form starts with.
#[server(input = server_fn::codec::Json)]
pub async fn get_submit_targets() -> Result<ch_api::SubmitTargets, UiError> {
    Ok(service()?.submit_targets(&caller()).await?)
}

#[server(input = server_fn::codec::Json)]
pub async fn get_systems() -> Result<SystemCatalog, UiError> {
    Ok(service()?.systems(&caller())?)
}
