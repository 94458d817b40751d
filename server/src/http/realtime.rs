//! The real-time gateway's HTTP entry points: the WebSocket upgrade and the SSE stream
//! (protocol in docs/realtime.md, logic in `crate::gateway`).

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use ch_api::{Principal, ServiceError};
use serde::Deserialize;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::ApiQuery;
use super::guard::ClientAddr;
use crate::gateway::channel::Channel;
use crate::gateway::limits::Permit;
use crate::gateway::sse::{SseRequest, parse_event_id};
use crate::gateway::{Gateway, socket, sse};

/// Seconds a client refused for too many connections is asked to wait.
const RETRY_AFTER_SECS: u64 = 5;

/// Checks the credential and takes a connection place.
async fn admit(
    gw: &Gateway,
    caller: &Principal,
    addr: std::net::IpAddr,
) -> Result<(Permit, Option<chrono::DateTime<chrono::Utc>>), ApiError> {
    let site = gw.auth().site();
    if caller.user().is_none() && !site.public_read {
        return Err(ServiceError::Unauthenticated("sign in (session cookie or API token) to connect".into()).into());
    }
    let Some(valid) = gw.auth().revalidate(caller).await? else {
        return Err(ServiceError::Unauthenticated("credential expired or revoked".into()).into());
    };
    let permit = gw
        .limits()
        .acquire(caller, addr)
        .map_err(|why| ServiceError::RateLimited {
            message: why,
            retry_after_secs: RETRY_AFTER_SECS,
        })?;
    Ok((permit, valid.expires_at))
}

/// `GET /api/realtime/ws`: the gateway over WebSocket.
pub async fn websocket(
    ws: WebSocketUpgrade,
    State(gw): State<Gateway>,
    Caller(caller): Caller,
    Extension(ClientAddr(addr)): Extension<ClientAddr>,
) -> Result<Response, ApiError> {
    let (permit, expires_at) = admit(&gw, &caller, addr).await?;
    let max = gw.settings().max_frame_bytes;
    Ok(ws
        .max_message_size(max)
        .max_frame_size(max)
        .read_buffer_size(max.min(16 * 1024))
        .write_buffer_size(0)
        .on_upgrade(move |socket| socket::serve(socket, gw, caller, expires_at, permit))
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SseQuery {
    /// Comma-separated channel names.
    pub channels: Option<String>,
    /// Resume point (`<epoch>:<offset>`) for clients that cannot send `Last-Event-ID`.
    pub last_event_id: Option<String>,
}

/// `GET /api/realtime/sse?channels=a,b`: the gateway over Server-Sent Events.
pub async fn server_sent_events(
    State(gw): State<Gateway>,
    Caller(caller): Caller,
    Extension(ClientAddr(addr)): Extension<ClientAddr>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<SseQuery>,
) -> Result<Response, ApiError> {
    let names = q.channels.unwrap_or_default();
    let names: Vec<&str> = names.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if names.is_empty() {
        return Err(ApiError::bad_request(
            Some("channels"),
            "name at least one channel, e.g. channels=project:default:jobs",
        ));
    }
    let max = gw.settings().max_subscriptions;
    if names.len() > max {
        return Err(ApiError::bad_request(
            Some("channels"),
            format!("at most {max} channels"),
        ));
    }
    let raw_id = headers
        .get("last-event-id")
        .map(|v| v.to_str().unwrap_or("\u{0}").to_owned())
        .or(q.last_event_id);
    let since = match raw_id {
        None => None,
        Some(raw) => Some(parse_event_id(&raw).ok_or_else(|| {
            ApiError::bad_request(
                Some("Last-Event-ID"),
                "expected <epoch>:<offset> as sent in an event's id",
            )
        })?),
    };
    let mut channels = Vec::with_capacity(names.len());
    for name in names {
        let channel = Channel::parse(name).map_err(|why| ApiError::bad_request(Some("channels"), why))?;
        let backlog = gw.authorize(&caller, &channel).await?;
        if !channels.iter().any(|(c, _)| *c == channel) {
            channels.push((channel, backlog));
        }
    }
    let (permit, expires_at) = admit(&gw, &caller, addr).await?;
    let req = SseRequest {
        caller,
        channels,
        since,
        expires_at,
        permit,
    };
    Ok(sse::stream(gw, req).into_response())
}
