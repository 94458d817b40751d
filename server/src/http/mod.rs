//! The JSON HTTP API under `/api`, plus probes.

pub mod error;
mod events;
mod health;
mod jobs;

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use utoipa::OpenApi;

use crate::state::AppState;

pub use jobs::CORRELATION_HEADER;

#[derive(OpenApi)]
#[openapi(
    info(title = "Cosmic Horizons API", description = "Jobs, their events and logs."),
    paths(
        jobs::post,
        jobs::list,
        jobs::get,
        jobs::cancel,
        jobs::logs,
        jobs::events,
        jobs::metrics,
        events::list
    ),
    components(schemas(ch_domain::Priority, ch_domain::JobStatus, ch_domain::EventType))
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn systems(
    axum::extract::State(jobs): axum::extract::State<crate::jobs::Jobs>,
) -> Json<ch_domain::SystemCatalog> {
    use app::backend::JobService;
    Json(jobs.systems())
}

async fn unknown_api(uri: axum::http::Uri) -> error::ApiError {
    error::ApiError::BadRequest {
        status: axum::http::StatusCode::NOT_FOUND,
        field: None,
        message: format!("no API endpoint at {}", uri.path()),
    }
}

pub fn router(max_body_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/api/jobs", post(jobs::post).get(jobs::list))
        .route("/api/jobs/{id}", get(jobs::get))
        .route("/api/jobs/{id}/cancel", post(jobs::cancel))
        .route("/api/jobs/{id}/logs", get(jobs::logs))
        .route("/api/jobs/{id}/events", get(jobs::events))
        .route("/api/jobs/{id}/metrics", get(jobs::metrics))
        .route("/api/events", get(events::list))
        .route("/api/events/ws", get(events::stream))
        .route("/api/systems", get(systems))
        .route("/api/openapi.json", get(openapi))
        .route("/api/{*rest}", axum::routing::any(unknown_api))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .layer(DefaultBodyLimit::max(max_body_bytes))
}
