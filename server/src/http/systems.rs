//! Where jobs can go: `/api/systems` (the target systems of this server, and each one's queue
//! at its batch scheduler for a job about to be submitted) and `/api/submit-targets` (the
//! projects the caller may submit to).

use axum::Json;
use axum::extract::{Path, State};
use ch_api::JobService;
use ch_domain::{QueueInsight, ResourceRequest, SystemCatalog};
use serde::Deserialize;

use super::auth::Caller;
use super::error::{ApiError, ErrorResponse};
use super::extract::ApiQuery;
use crate::jobs::Jobs;

/// The projects the caller may submit jobs to (sorted; all of them for a site admin; empty when
/// none) and the one a submit form starts with (`null` when the caller must choose): what the
/// web UI's submit form offers, for other clients.
#[utoipa::path(get, path = "/api/submit-targets", operation_id = "submit_targets", tag = "jobs",
    responses((status = 200, body = ch_api::SubmitTargets), (status = 401, body = ErrorResponse)))]
pub async fn submit_targets(
    State(jobs): State<Jobs>,
    Caller(caller): Caller,
) -> Result<Json<ch_api::SubmitTargets>, ApiError> {
    Ok(Json(jobs.submit_targets(&caller).await?))
}

/// Target systems with their executors, rates and limits.
pub async fn list(State(jobs): State<Jobs>, Caller(caller): Caller) -> Result<Json<SystemCatalog>, ApiError> {
    Ok(Json(jobs.systems(&caller)?))
}

/// The resources a job would ask for, as in a submission (each optional, with its defaults:
/// 1 node, 1 CPU, 1 GB, no GPU, 60 min).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default, deny_unknown_fields)]
pub struct QueueQuery {
    #[param(minimum = 1, maximum = 100_000)]
    pub nodes: Option<i64>,
    /// CPUs per node.
    #[param(minimum = 1, maximum = 100_000)]
    pub cpus: Option<i64>,
    /// GB per node, 0.001 to 1,000,000.
    #[param(minimum = 0.001, maximum = 1_000_000.0)]
    pub memory_gb: Option<f64>,
    /// GPUs per node.
    #[param(minimum = 0, maximum = 1024)]
    pub gpus: Option<i64>,
    /// 1 to 10,080 (a week).
    #[param(minimum = 1, maximum = 10_080)]
    pub max_runtime_minutes: Option<i64>,
}

/// The system's queue at its batch scheduler (Slurm: its partition's pending and running jobs
/// from `squeue`, and when a job with these resources would start from `sbatch --test-only`,
/// or Slurm's refusal of it). Answers are up to 10 s old. 404 for an unknown system or one
/// without a scheduler (local); 422 naming the field for resources beyond the system's
/// limits; 502 when the scheduler does not answer.
#[utoipa::path(get, path = "/api/systems/{name}/queue", operation_id = "system_queue",
    params(("name" = String, Path, description = "system name"), QueueQuery), tag = "jobs",
    responses((status = 200, body = QueueInsight), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 404, body = ErrorResponse), (status = 422, body = ErrorResponse), (status = 502, body = ErrorResponse)))]
pub async fn queue(
    State(jobs): State<Jobs>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> Result<Json<QueueInsight>, ApiError> {
    let request = ResourceRequest {
        nodes: q.nodes,
        cpus: q.cpus,
        memory_gb: q.memory_gb,
        gpus: q.gpus,
        max_runtime_minutes: q.max_runtime_minutes,
    };
    Ok(Json(jobs.queue(&caller, &name, request).await?))
}
