//! The global event log, paged. Live delivery is the real-time gateway's
//! (`/api/realtime/ws`, `/api/realtime/sse`; see `docs/realtime.md`).

use axum::Json;
use axum::extract::State;
use ch_domain::JobEvent;
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::{ApiError, ErrorResponse};
use super::extract::ApiQuery;
use crate::jobs::Jobs;

const PAGE_MAX: u32 = 1000;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default, deny_unknown_fields)]
pub struct EventsQuery {
    /// Return events with offset greater than this (0 = from the start).
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// At most this many, 1 to 1000 (default 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventPage {
    pub events: Vec<JobEvent>,
    /// Pass as `after` to read on.
    pub next_after: i64,
}

/// Events in offset order after `after`.
#[utoipa::path(get, path = "/api/events", operation_id = "list_events", params(EventsQuery), tag = "events",
    responses((status = 200, body = EventPage), (status = 400, body = ErrorResponse)))]
pub async fn list(
    State(jobs): State<Jobs>,
    Caller(caller): Caller,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let after = q.after.unwrap_or(0);
    if after < 0 {
        return Err(ApiError::bad_request(Some("after"), "after must be ≥ 0"));
    }
    if let Some(limit) = q.limit.filter(|l| !(1..=PAGE_MAX).contains(l)) {
        return Err(ApiError::bad_request(
            Some("limit"),
            format!("limit must be between 1 and {PAGE_MAX}, got {limit}"),
        ));
    }
    let limit = q.limit.unwrap_or(PAGE_MAX);
    let visible = jobs.visible_projects(&caller).await?;
    let events = jobs.events_after(after, limit, visible.as_deref()).await?;
    let next_after = events.last().map_or(after, |e| e.offset);
    Ok(Json(EventPage { events, next_after }))
}
