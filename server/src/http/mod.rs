//! The JSON HTTP API under `/api`, plus probes.

mod accounts;
pub mod auth;
pub mod error;
mod events;
mod extract;
mod fits;
mod fits_answer;
mod fits_meta;
pub mod guard;
mod health;
mod jobs;
mod notifications;
mod openapi;
#[cfg(test)]
mod openapi_check;
mod realtime;
mod regions;
pub mod routes;
mod soda;
mod systems;

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, patch, post, put};
use utoipa::OpenApi;

use crate::state::AppState;
use openapi::SharedResponses;

pub use jobs::CORRELATION_HEADER;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cosmic Horizons API",
        description = "Jobs, their events and logs; notifications; viewer regions; accounts and API tokens. \
            Authenticate scripts with `Authorization: Bearer <API token>`."
    ),
    paths(
        auth::login,
        auth::link,
        auth::logout,
        auth::current,
        auth::password,
        accounts::list_tokens,
        accounts::create_token,
        accounts::revoke_token,
        accounts::list_users,
        accounts::create_user,
        accounts::change_user,
        accounts::list_projects,
        accounts::create_project,
        accounts::set_member,
        templates,
        jobs::post,
        jobs::batch,
        jobs::list,
        jobs::get,
        jobs::cancel,
        jobs::logs,
        jobs::events,
        jobs::metrics,
        jobs::scheduler,
        systems::queue,
        systems::submit_targets,
        notifications::list,
        notifications::unread,
        notifications::mark,
        notifications::rules,
        notifications::save_rules,
        notifications::unsubscribe_page,
        notifications::unsubscribe_one_click,
        notifications::webhooks,
        notifications::create_webhook,
        notifications::delete_webhook,
        notifications::webhook_deliveries,
        notifications::retry_delivery,
        events::list,
        regions::get,
        regions::put,
        regions::export_ds9,
        regions::import_ds9
    ),
    components(schemas(
        ch_domain::Priority,
        ch_domain::JobStatus,
        ch_domain::EventType,
        ch_domain::SortField,
        ch_domain::SortOrder,
        error::ErrorResponse
    )),
    modifiers(&SharedResponses)
)]
pub struct ApiDoc;

async fn openapi() -> Json<serde_json::Value> {
    Json(openapi::document())
}

/// The site's job templates and whether arbitrary commands are allowed.
#[utoipa::path(get, path = "/api/templates", tag = "jobs",
    responses((status = 200, body = ch_api::TemplateCatalog), (status = 401, body = error::ErrorResponse)))]
async fn templates(
    axum::extract::State(jobs): axum::extract::State<crate::jobs::Jobs>,
    auth::Caller(caller): auth::Caller,
) -> Result<Json<ch_api::TemplateCatalog>, error::ApiError> {
    use ch_api::JobService;
    Ok(Json(jobs.templates(&caller)?))
}

/// A route that exists but not with this method: 405 in the JSON error shape (axum adds the
/// `Allow` header).
async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> error::ApiError {
    error::ApiError::Status {
        status: axum::http::StatusCode::METHOD_NOT_ALLOWED,
        field: None,
        message: format!("{method} is not allowed on {}", uri.path()),
    }
}

async fn unknown_api(uri: axum::http::Uri) -> error::ApiError {
    error::ApiError::Status {
        status: axum::http::StatusCode::NOT_FOUND,
        field: None,
        message: format!("no API endpoint at {}", uri.path()),
    }
}

/// FITS files, rate-limited per client address.
fn fits_router(archive: &crate::settings::ArchiveSettings) -> Router<AppState> {
    use tower_governor::GovernorLayer;
    use tower_governor::governor::GovernorConfigBuilder;
    let per = archive.rate_limit_per_second.max(1);
    let config = GovernorConfigBuilder::default()
        .per_nanosecond((1_000_000_000 / per).max(1))
        .burst_size(archive.rate_limit_burst.max(1))
        .finish();
    let router = Router::new()
        .route("/api/fits/{source}/{*path}", get(fits::get))
        .route("/api/soda/{source}/sync", get(soda::sync));
    match config {
        Some(config) => router.layer(GovernorLayer::new(config).error_handler(|e| {
            use axum::response::IntoResponse;
            let (status, message) = match e {
                tower_governor::GovernorError::TooManyRequests { wait_time, .. } => (
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    format!("rate limit exceeded; retry in {wait_time} s"),
                ),
                other => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
            };
            error::ApiError::Status {
                status,
                field: None,
                message,
            }
            .into_response()
        })),
        None => router,
    }
}

pub fn router(max_body_bytes: usize, archive: &crate::settings::ArchiveSettings) -> Router<AppState> {
    Router::new()
        .merge(fits_router(archive))
        .route("/api/auth/login", post(auth::login))
        .route("/api/auth/link", get(auth::link))
        .route("/api/auth/logout", post(auth::logout))
        .route("/api/auth/me", get(auth::current))
        .route("/api/auth/password", post(auth::password))
        .route("/api/tokens", get(accounts::list_tokens).post(accounts::create_token))
        .route("/api/tokens/{id}", delete(accounts::revoke_token))
        .route("/api/users", get(accounts::list_users).post(accounts::create_user))
        .route("/api/users/{name}", patch(accounts::change_user))
        .route(
            "/api/projects",
            get(accounts::list_projects).post(accounts::create_project),
        )
        .route("/api/projects/{name}/members", put(accounts::set_member))
        .route("/api/jobs", post(jobs::post).get(jobs::list))
        .route("/api/jobs/batch", post(jobs::batch))
        .route("/api/jobs/{id}", get(jobs::get))
        .route("/api/jobs/{id}/cancel", post(jobs::cancel))
        .route("/api/jobs/{id}/logs", get(jobs::logs))
        .route("/api/jobs/{id}/events", get(jobs::events))
        .route("/api/jobs/{id}/metrics", get(jobs::metrics))
        .route("/api/jobs/{id}/scheduler", get(jobs::scheduler))
        .route("/api/events", get(events::list))
        .route("/api/regions", get(regions::get).put(regions::put))
        .route("/api/regions/ds9", get(regions::export_ds9).put(regions::import_ds9))
        .route("/api/realtime/ws", get(realtime::websocket))
        .route("/api/realtime/sse", get(realtime::server_sent_events))
        .route("/api/systems", get(systems::list))
        .route("/api/systems/{name}/queue", get(systems::queue))
        .route("/api/templates", get(templates))
        .route("/api/submit-targets", get(systems::submit_targets))
        .route("/api/notifications", get(notifications::list))
        .route("/api/notifications/unread", get(notifications::unread))
        .route("/api/notifications/mark", post(notifications::mark))
        .route(
            "/api/notifications/webhooks",
            get(notifications::webhooks).post(notifications::create_webhook),
        )
        .route(
            "/api/notifications/webhooks/{id}",
            delete(notifications::delete_webhook),
        )
        .route(
            "/api/notifications/webhooks/{id}/deliveries",
            get(notifications::webhook_deliveries),
        )
        .route(
            "/api/notifications/deliveries/{id}/retry",
            post(notifications::retry_delivery),
        )
        .route(
            "/api/notifications/unsubscribe",
            get(notifications::unsubscribe_page).post(notifications::unsubscribe_one_click),
        )
        .route(
            "/api/notifications/rules",
            get(notifications::rules).put(notifications::save_rules),
        )
        .route("/api/openapi.json", get(openapi))
        .route("/api/{*rest}", axum::routing::any(unknown_api))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body_bytes))
}
