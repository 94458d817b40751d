//! `/api/jobs`: submit, list, get, cancel, logs, events, metrics, scheduler record.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use ch_api::{JobService, ServiceError};
use ch_domain::{Job, JobEvent, JobLogs, JobPage, ListQuery, MetricSample, SchedulerRecord, SubmitJob};
use tracing::instrument;

use super::auth::Caller;
use super::error::{ApiError, ErrorResponse, job_id};
use super::extract::{ApiJson, ApiQuery};
use crate::jobs::{IDEMPOTENCY_HEADER, Jobs, Submission, Submitted};

pub const CORRELATION_HEADER: &str = "x-correlation-id";

fn correlation_id(headers: &HeaderMap) -> String {
    headers
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// The `Idempotency-Key` header as sent, if any (checked by the service).
fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    headers
        .get(IDEMPOTENCY_HEADER)
        .map(|v| {
            v.to_str().map_err(|_| {
                ApiError::from(ch_api::ServiceError::Invalid(ch_domain::FieldError::new(
                    "Idempotency-Key",
                    "must be visible ASCII characters",
                )))
            })
        })
        .transpose()
}

/// `Idempotent-Replayed: true` on an answer that repeats the first one (as Stripe's API).
fn replayed(submitted: &Submitted) -> [(&'static str, &'static str); 1] {
    [("idempotent-replayed", if submitted.replayed { "true" } else { "false" })]
}

/// Submit a job. With an `Idempotency-Key` header, a retry of the same request within 24 hours
/// returns the first answer (`Idempotent-Replayed: true`) instead of a second job.
#[utoipa::path(post, path = "/api/jobs", operation_id = "submit_job", request_body = SubmitJob, tag = "jobs",
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$",
        description = "1–255 visible ASCII characters (a UUID, say); a retry with the same key and body returns the first answer")),
    responses((status = 201, body = Job), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 413, body = ErrorResponse), (status = 415, body = ErrorResponse),
        (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse)))]
#[instrument(skip_all, err(level = "debug"))]
pub async fn post(
    State(jobs): State<Jobs>,
    Caller(caller): Caller,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SubmitJob>,
) -> Result<impl IntoResponse, ApiError> {
    let key = idempotency_key(&headers)?;
    let submitted = jobs
        .submit_idempotent(&caller, Submission::One(req), correlation_id(&headers), key)
        .await?;
    let marker = replayed(&submitted);
    let job = submitted
        .jobs
        .into_iter()
        .next()
        .ok_or(ch_api::ServiceError::Internal)?;
    let location = format!("/api/jobs/{}", job.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], marker, Json(job)))
}

/// Jobs created by one batch submission.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct BatchCreated {
    pub jobs: Vec<Job>,
}

/// Submit many jobs at once — a list, or a parameter sweep over one template — all or nothing
/// (at most 1000; an invalid one refuses the batch, naming it, e.g. `jobs[3].resources.cpus`).
/// `Idempotency-Key` as on `POST /api/jobs`.
#[utoipa::path(post, path = "/api/jobs/batch", operation_id = "submit_jobs", request_body = ch_domain::BatchSubmit,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$",
        description = "1–255 visible ASCII characters; a retry with the same key and body returns the first answer")),
    tag = "jobs", responses((status = 201, body = BatchCreated)))]
#[instrument(skip_all, err(level = "debug"))]
pub async fn batch(
    State(jobs): State<Jobs>,
    Caller(caller): Caller,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ch_domain::BatchSubmit>,
) -> Result<impl IntoResponse, ApiError> {
    let key = idempotency_key(&headers)?;
    let submitted = jobs
        .submit_idempotent(&caller, Submission::Batch(req), correlation_id(&headers), key)
        .await?;
    let marker = replayed(&submitted);
    Ok((StatusCode::CREATED, marker, Json(BatchCreated { jobs: submitted.jobs })))
}

/// List jobs with filters, sort and paging.
#[utoipa::path(get, path = "/api/jobs", operation_id = "list_jobs", params(ListQuery), tag = "jobs",
    responses((status = 200, body = JobPage), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 422, body = ErrorResponse)))]
pub async fn list(
    State(jobs): State<Jobs>,
    Caller(caller): Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<JobPage>, ApiError> {
    Ok(Json(jobs.list(&caller, q).await?))
}

/// One job.
#[utoipa::path(get, path = "/api/jobs/{id}", operation_id = "get_job", params(("id" = uuid::Uuid, Path, description = "job id")), tag = "jobs",
    responses((status = 200, body = Job), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 404, body = ErrorResponse)))]
pub async fn get(
    State(jobs): State<Jobs>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    Ok(Json(jobs.get(&caller, job_id(&id)?).await?))
}

/// Cancel a job that has not finished.
#[utoipa::path(post, path = "/api/jobs/{id}/cancel", operation_id = "cancel_job", params(("id" = uuid::Uuid, Path, description = "job id")), tag = "jobs",
    responses((status = 200, body = Job), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 409, body = ErrorResponse)))]
#[instrument(skip_all, err(level = "debug"))]
pub async fn cancel(
    State(jobs): State<Jobs>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    Ok(Json(jobs.cancel(&caller, job_id(&id)?).await?))
}

/// The job's captured stdout and stderr (tail).
#[utoipa::path(get, path = "/api/jobs/{id}/logs", operation_id = "job_logs", params(("id" = uuid::Uuid, Path, description = "job id")), tag = "jobs",
    responses((status = 200, body = JobLogs), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 404, body = ErrorResponse)))]
pub async fn logs(
    State(jobs): State<Jobs>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<JobLogs>, ApiError> {
    Ok(Json(jobs.logs(&caller, job_id(&id)?).await?))
}

/// The job's record at its batch scheduler: Slurm job id, state and pending reason, and once
/// it ended its accounting (elapsed and CPU time, peak memory, allocated TRES) with the actual
/// cost and the CPU and memory efficiency. 404 names a job without one (an executor without a
/// scheduler, or not handed over yet).
#[utoipa::path(get, path = "/api/jobs/{id}/scheduler", operation_id = "job_scheduler", params(("id" = uuid::Uuid, Path, description = "job id")), tag = "jobs",
    responses((status = 200, body = SchedulerRecord), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 404, body = ErrorResponse)))]
pub async fn scheduler(
    State(jobs): State<Jobs>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<SchedulerRecord>, ApiError> {
    let id = job_id(&id)?;
    match jobs.scheduler(&caller, id).await? {
        Some(record) => Ok(Json(record)),
        None => Err(ServiceError::NotFound(format!("a batch scheduler record of job {id}")).into()),
    }
}

/// Every event of the job, in order.
#[utoipa::path(get, path = "/api/jobs/{id}/events", operation_id = "job_events", params(("id" = uuid::Uuid, Path, description = "job id")), tag = "jobs",
    responses((status = 200, body = Vec<JobEvent>), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 404, body = ErrorResponse)))]
pub async fn events(
    State(jobs): State<Jobs>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<JobEvent>>, ApiError> {
    Ok(Json(jobs.events(&caller, job_id(&id)?).await?))
}

/// CPU and memory samples of the job's processes.
#[utoipa::path(get, path = "/api/jobs/{id}/metrics", operation_id = "job_metrics", params(("id" = uuid::Uuid, Path, description = "job id")), tag = "jobs",
    responses((status = 200, body = Vec<MetricSample>), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 404, body = ErrorResponse)))]
pub async fn metrics(
    State(jobs): State<Jobs>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<MetricSample>>, ApiError> {
    Ok(Json(jobs.metrics(&caller, job_id(&id)?).await?))
}
