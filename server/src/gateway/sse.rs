//! The gateway's stream over Server-Sent Events, for clients behind proxies that block
//! WebSockets and for `curl`. Channels are fixed per request; the event id is
//! `<epoch>:<offset>`, so a reconnect's `Last-Event-ID` resumes across all of them in offset
//! order. Event frames carry no SSE event name (EventSource's `onmessage` gets them); control
//! messages are named `welcome`, `gap` and `close`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use ch_api::Principal;
use futures::Stream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::channel::Channel;
use super::hub::Outlet;
use super::limits::Permit;
use super::protocol::{Frame, ServerMessage, event_frame};
use super::{Backlog, Gateway, deadline, expired};

/// Events buffered between the connection's task and the HTTP body.
const BODY_BUFFER: usize = 64;
/// A write that waits longer than this means the client stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Parses `Last-Event-ID` (`<epoch>:<offset>`).
pub fn parse_event_id(raw: &str) -> Option<(String, i64)> {
    let (epoch, offset) = raw.trim().rsplit_once(':')?;
    Some((epoch.to_owned(), offset.parse().ok()?))
}

/// What one SSE connection streams.
pub struct SseRequest {
    pub caller: Principal,
    pub channels: Vec<(Channel, Backlog)>,
    /// Resume after this `(epoch, offset)`; `None` = live from now.
    pub since: Option<(String, i64)>,
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    pub permit: Permit,
}

/// Starts the connection's task and returns the response body.
pub fn stream(gateway: Gateway, req: SseRequest) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (body_tx, body_rx) = mpsc::channel::<Event>(BODY_BUFFER);
    let beat = Duration::from_secs(gateway.settings().heartbeat_secs.max(1));
    tokio::spawn(run(gateway, req, body_tx));
    let body = futures::stream::unfold(body_rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    Sse::new(body).keep_alive(KeepAlive::new().interval(beat))
}

async fn put(tx: &mpsc::Sender<Event>, e: Event) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, tx.send(e)).await, Ok(Ok(())))
}

fn named(kind: &str, m: &ServerMessage<'_>) -> Event {
    Event::default().event(kind).data(m.to_text().as_str())
}

fn frame_event(epoch: &str, frame: &Frame) -> Event {
    Event::default()
        .id(format!("{epoch}:{}", frame.offset))
        .data(frame.text.as_str())
}

async fn run(gateway: Gateway, req: SseRequest, tx: mpsc::Sender<Event>) {
    let SseRequest {
        mut caller,
        channels,
        since,
        expires_at,
        permit: _permit,
    } = req;
    let settings = gateway.settings().clone();
    let hub = gateway.hub();
    let id = hub.connection_id();
    let (queue_tx, mut queue) = mpsc::channel::<Arc<Frame>>(settings.queue_messages.max(1));
    let kick = CancellationToken::new();
    let outlet = Outlet {
        tx: queue_tx,
        kick: kick.clone(),
    };
    for (c, _) in &channels {
        hub.add(c, id, outlet.clone());
    }
    let reason = serve(
        &gateway,
        &mut caller,
        &channels,
        since,
        expires_at,
        &mut queue,
        &kick,
        &tx,
    )
    .await;
    for (c, _) in &channels {
        hub.remove(c, id);
    }
    if let Some(reason) = reason {
        debug!(%reason, "closing an SSE stream");
        let _ = put(&tx, Event::default().event("close").data(reason)).await;
    }
}

/// Streams until the client leaves (`None`) or the server ends the stream (`Some(reason)`).
#[allow(clippy::too_many_arguments)]
async fn serve(
    gateway: &Gateway,
    caller: &mut Principal,
    channels: &[(Channel, Backlog)],
    since: Option<(String, i64)>,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    queue: &mut mpsc::Receiver<Arc<Frame>>,
    kick: &CancellationToken,
    tx: &mpsc::Sender<Event>,
) -> Option<String> {
    let settings = gateway.settings();
    let epoch = gateway.hub().epoch().to_owned();
    let Ok(latest) = gateway.latest_offset().await else {
        return Some("the event log cannot be read; reconnect".into());
    };
    let welcome = ServerMessage::Welcome {
        epoch: &epoch,
        offset: latest,
        heartbeat_seconds: settings.heartbeat_secs,
        max_frame_bytes: settings.max_frame_bytes,
        max_subscriptions: settings.max_subscriptions,
    };
    if !put(tx, named("welcome", &welcome)).await {
        return None;
    }
    let mut last = latest;
    match since {
        Some((e, _)) if e != epoch => {
            let m = ServerMessage::Gap {
                channel: "*",
                epoch: &epoch,
                offset: latest,
                reason: "the log was replaced (another epoch): reload",
            };
            if !put(tx, named("gap", &m).id(format!("{epoch}:{latest}"))).await {
                return None;
            }
        }
        Some((_, o)) if o > latest || o < 0 => {
            let m = ServerMessage::Gap {
                channel: "*",
                epoch: &epoch,
                offset: latest,
                reason: "offset outside the log: reload",
            };
            if !put(tx, named("gap", &m).id(format!("{epoch}:{latest}"))).await {
                return None;
            }
        }
        Some((_, o)) => {
            last = o;
            let backlogs: Vec<Backlog> = channels.iter().map(|(_, b)| b.clone()).collect();
            let Ok(scope) = gateway.backlog_scope(&backlogs).await else {
                return Some("the event log cannot be read; reconnect".into());
            };
            while last < latest {
                let Ok(page) = gateway.merged_backlog_after(&scope, last).await else {
                    return Some("the event log cannot be read; reconnect".into());
                };
                let Some(end) = page.last().map(|e| e.offset) else {
                    break;
                };
                for ev in &page {
                    if let Some((c, _)) = channels.iter().find(|(c, _)| c.carries(ev)) {
                        let Ok(json) = serde_json::to_string(ev) else { continue };
                        let f = event_frame(c, &epoch, ev.offset, &json);
                        if !put(tx, frame_event(&epoch, &f)).await {
                            return None;
                        }
                    }
                }
                last = end;
            }
        }
        None => {}
    }
    let recheck_every = Duration::from_secs(settings.recheck_secs.max(1));
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + recheck_every, recheck_every);
    let expiry = deadline(expires_at);
    loop {
        let expires = expired(expiry);
        tokio::select! {
            biased;
            () = gateway.shutdown().cancelled() => return Some("server shutting down; reconnect with Last-Event-ID".into()),
            () = kick.cancelled() => return Some(format!(
                "slow consumer: more than {} messages waiting; reconnect with Last-Event-ID", settings.queue_messages)),
            () = tx.closed() => return None,
            () = expires => return Some("credential expired".into()),
            frame = queue.recv() => {
                let frame = frame?;
                if frame.offset > last {
                    last = frame.offset;
                    if !put(tx, frame_event(&epoch, &frame)).await { return None; }
                }
            }
            _ = recheck.tick() => match gateway.auth().revalidate(caller).await {
                Ok(Some(valid)) => {
                    *caller = valid.caller;
                    for (c, _) in channels {
                        if let Err(e) = gateway.authorize(caller, c).await
                            && !matches!(e, ch_api::ServiceError::Internal)
                        {
                            return Some(format!("{c}: {e}"));
                        }
                    }
                }
                Ok(None) => return Some("credential expired or revoked, or the account was disabled".into()),
                Err(e) => debug!(error = %e, "credential re-check failed; trying again later"),
            },
        }
    }
}
