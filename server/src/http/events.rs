//! The global event log: paged reads and a live WebSocket that resumes from an offset.

use axum::Json;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use ch_domain::JobEvent;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast::error::RecvError;
use tokio_util::sync::CancellationToken;
use tracing::{debug, instrument};

use super::auth::Caller;
use super::error::{ApiError, ApiQuery, ErrorResponse};
use crate::jobs::Jobs;
use crate::outbox::EventBus;

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

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamQuery {
    /// Replay from the log after this offset, then go live; omitted = live only.
    pub after: Option<i64>,
}

/// Live events as JSON text frames, one event per frame, in offset order without gaps.
pub async fn stream(
    ws: WebSocketUpgrade,
    State(jobs): State<Jobs>,
    State(bus): State<EventBus>,
    State(shutdown): State<CancellationToken>,
    Caller(caller): Caller,
    ApiQuery(q): ApiQuery<StreamQuery>,
) -> Result<Response, ApiError> {
    // The projects are fixed for the connection's lifetime (a membership change applies on
    // reconnect); the real-time gateway will re-check per channel.
    let visible = jobs.visible_projects(&caller).await?;
    Ok(ws.on_upgrade(move |socket| {
        let stream = Stream {
            jobs,
            visible: visible.map(|v| v.into_iter().collect()),
        };
        serve(socket, stream, bus, shutdown, q.after)
    }))
}

/// One connection's view of the log: the jobs service and the projects it may see.
struct Stream {
    jobs: Jobs,
    visible: Option<std::collections::BTreeSet<String>>,
}

impl Stream {
    async fn events_after(&self, after: i64) -> Result<Vec<JobEvent>, ch_api::ServiceError> {
        let visible: Option<Vec<String>> = self.visible.as_ref().map(|v| v.iter().cloned().collect());
        self.jobs.events_after(after, PAGE_MAX, visible.as_deref()).await
    }

    /// Whether a live event may be sent: its job's project must be visible. Events carry
    /// their job; one without it is checked against the log.
    async fn may_see(&self, ev: &JobEvent) -> bool {
        let Some(visible) = &self.visible else { return true };
        match ev
            .payload
            .get("job")
            .and_then(|j| j.get("project"))
            .and_then(|p| p.as_str())
        {
            Some(p) => visible.contains(p),
            None => self
                .events_after(ev.offset - 1)
                .await
                .is_ok_and(|page| page.first().is_some_and(|e| e.offset == ev.offset)),
        }
    }
}

#[instrument(skip_all)]
async fn serve(mut socket: WebSocket, stream: Stream, bus: EventBus, shutdown: CancellationToken, after: Option<i64>) {
    let jobs = &stream.jobs;
    // Subscribe before reading the backlog so nothing falls between the two.
    let mut rx = bus.subscribe();
    let mut cursor = match after {
        Some(a) => a,
        None => match jobs.latest_offset().await {
            Ok(o) => o,
            Err(_) => return,
        },
    };
    if after.is_some() && !catch_up(&mut socket, &stream, &mut cursor).await {
        return;
    }
    loop {
        tokio::select! {
            ev = rx.recv() => match ev {
                Ok(ev) if ev.offset > cursor => {
                    if ev.offset > cursor + 1 && !catch_up(&mut socket, &stream, &mut cursor).await {
                        return;
                    }
                    if ev.offset > cursor {
                        if stream.may_see(&ev).await && !send(&mut socket, &ev).await { return; }
                        cursor = ev.offset;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(n)) => {
                    debug!(n, "subscriber lagged; reading the log");
                    if !catch_up(&mut socket, &stream, &mut cursor).await { return; }
                }
                Err(RecvError::Closed) => break,
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            () = shutdown.cancelled() => break,
        }
    }
    let _ = socket.send(Message::Close(None)).await;
}

async fn catch_up(socket: &mut WebSocket, stream: &Stream, cursor: &mut i64) -> bool {
    loop {
        let Ok(page) = stream.events_after(*cursor).await else {
            return false;
        };
        if page.is_empty() {
            return true;
        }
        for ev in &page {
            if !send(socket, ev).await {
                return false;
            }
            *cursor = ev.offset;
        }
    }
}

async fn send(socket: &mut WebSocket, ev: &JobEvent) -> bool {
    match serde_json::to_string(ev) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}
