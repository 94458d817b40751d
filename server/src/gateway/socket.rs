//! One WebSocket connection of the gateway: control messages in, acks and event frames out,
//! resume from the log, heartbeats, credential re-checks, and a bounded queue.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use ch_api::{Principal, ServiceError};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;
use tracing::{debug, instrument};

use super::channel::Channel;
use super::hub::Outlet;
use super::limits::Permit;
use super::protocol::{ClientMessage, Frame, Position, ServerMessage, event_frame};
use super::{Backlog, Gateway, deadline, expired};

/// Close codes (4000–4999 are the application's own, RFC 6455 §7.4.2).
pub mod close {
    /// The server is going away (restart, deploy): resume from your offsets.
    pub const GOING_AWAY: u16 = 1001;
    /// An inbound frame over the size limit.
    pub const TOO_BIG: u16 = 1009;
    /// The credential expired, was revoked, or the user was disabled.
    pub const CREDENTIAL: u16 = 4001;
    /// The client did not keep up with its messages: resume from your offsets.
    pub const SLOW_CONSUMER: u16 = 4008;
    /// No frame from the client for two heartbeat intervals.
    pub const HEARTBEAT: u16 = 4009;
}

/// A send that takes longer than this means the client stopped reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a closing connection waits for the client's close frame.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

struct Subscription {
    /// Offset of the last event sent on this channel.
    last: i64,
    backlog: Backlog,
}

/// A connection's state.
struct Connection {
    gateway: Gateway,
    caller: Principal,
    id: u64,
    outlet: Outlet,
    subs: HashMap<Channel, Subscription>,
}

/// Why the connection loop ended.
enum End {
    Close(u16, String),
    Gone,
}

/// Serves one upgraded connection until it closes.
#[instrument(skip_all, fields(caller = %caller))]
pub async fn serve(
    mut socket: WebSocket,
    gateway: Gateway,
    caller: Principal,
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    _permit: Permit,
) {
    let settings = gateway.settings().clone();
    let (tx, mut rx) = mpsc::channel::<Arc<Frame>>(settings.queue_messages.max(1));
    let kick = CancellationToken::new();
    let mut conn = Connection {
        id: gateway.hub().connection_id(),
        gateway: gateway.clone(),
        caller,
        outlet: Outlet { tx, kick: kick.clone() },
        subs: HashMap::new(),
    };
    let end = conn.run(&mut socket, &mut rx, expires_at).await;
    for channel in conn.subs.keys() {
        gateway.hub().remove(channel, conn.id);
    }
    if let End::Close(code, reason) = end {
        debug!(code, %reason, "closing");
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from(reason),
        };
        let _ = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
        // Wait a moment for the client's close (RFC 6455 §5.5.1) so frames it sends meanwhile,
        // such as a late pong, do not meet a reset connection before it reads the reason.
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            while let Some(Ok(m)) = socket.recv().await {
                if matches!(m, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

impl Connection {
    async fn run(
        &mut self,
        socket: &mut WebSocket,
        rx: &mut mpsc::Receiver<Arc<Frame>>,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> End {
        let gw = self.gateway.clone();
        let settings = gw.settings().clone();
        let beat = Duration::from_secs(settings.heartbeat_secs.max(1));
        let welcome = ServerMessage::Welcome {
            epoch: gw.hub().epoch(),
            offset: gw.latest_offset().await.unwrap_or_else(|_| gw.hub().position()),
            heartbeat_seconds: settings.heartbeat_secs,
            max_frame_bytes: settings.max_frame_bytes,
            max_subscriptions: settings.max_subscriptions,
        };
        if !send(socket, welcome.to_text()).await {
            return End::Gone;
        }
        let mut heartbeat = tokio::time::interval_at(Instant::now() + beat, beat);
        heartbeat.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let recheck_every = Duration::from_secs(settings.recheck_secs.max(1));
        let mut recheck = tokio::time::interval_at(Instant::now() + recheck_every, recheck_every);
        recheck.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut expiry = deadline(expires_at);
        let mut heard = Instant::now();
        let kick = self.outlet.kick.clone();
        loop {
            let expires = expired(expiry);
            tokio::select! {
                biased;
                () = gw.shutdown().cancelled() => {
                    return End::Close(close::GOING_AWAY, "server shutting down; resume from your offsets".into());
                }
                () = kick.cancelled() => {
                    return End::Close(close::SLOW_CONSUMER, format!(
                        "slow consumer: more than {} messages waiting; resume from your offsets", settings.queue_messages));
                }
                () = expires => return End::Close(close::CREDENTIAL, "credential expired".into()),
                frame = rx.recv() => {
                    let Some(frame) = frame else { return End::Gone };
                    if let Some(sub) = self.subs.get_mut(&frame.channel)
                        && frame.offset > sub.last
                    {
                        sub.last = frame.offset;
                        if !send(socket, frame.text.clone()).await { return End::Gone; }
                    }
                }
                msg = socket.recv() => {
                    heard = Instant::now();
                    match msg {
                        None | Some(Ok(Message::Close(_))) => return End::Gone,
                        Some(Err(e)) => {
                            let e = e.to_string();
                            return if e.contains("too long") || e.contains("Space limit") {
                                End::Close(close::TOO_BIG, format!(
                                    "frame over {} bytes; control messages are small", settings.max_frame_bytes))
                            } else {
                                debug!(error = %e, "read failed");
                                End::Gone
                            };
                        }
                        Some(Ok(Message::Text(text))) => {
                            if !self.on_text(socket, text.as_str()).await { return End::Gone; }
                        }
                        Some(Ok(Message::Binary(_))) => {
                            let m = ServerMessage::Error { reason: "binary frames are not part of the protocol; send JSON text" };
                            if !send(socket, m.to_text()).await { return End::Gone; }
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    }
                }
                _ = heartbeat.tick() => {
                    if heard.elapsed() > beat * 2 {
                        return End::Close(close::HEARTBEAT, "no frame from the client for two heartbeats".into());
                    }
                    let m = ServerMessage::Heartbeat { offset: gw.hub().position() };
                    let ping = tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Ping(Default::default()))).await;
                    if !matches!(ping, Ok(Ok(()))) || !send(socket, m.to_text()).await { return End::Gone; }
                }
                _ = recheck.tick() => match gw.auth().revalidate(&self.caller).await {
                    Ok(Some(valid)) => {
                        expiry = deadline(valid.expires_at);
                        if valid.caller != self.caller {
                            self.caller = valid.caller;
                            if !self.recheck_subscriptions(socket).await { return End::Gone; }
                        }
                    }
                    Ok(None) => return End::Close(close::CREDENTIAL, "credential expired or revoked, or the account was disabled".into()),
                    Err(e) => debug!(error = %e, "credential re-check failed; trying again later"),
                },
            }
        }
    }

    /// Handles one control message; `false` when the connection is gone.
    async fn on_text(&mut self, socket: &mut WebSocket, text: &str) -> bool {
        let msg = match serde_json::from_str::<ClientMessage>(text) {
            Ok(m) => m,
            Err(e) => {
                let reason = format!("malformed message: {e}");
                return send(socket, ServerMessage::Error { reason: &reason }.to_text()).await;
            }
        };
        match msg {
            ClientMessage::Ping { id } => send(socket, ServerMessage::Pong { id }.to_text()).await,
            ClientMessage::Unsubscribe { id, channel } => {
                if let Ok(c) = Channel::parse(&channel)
                    && self.subs.remove(&c).is_some()
                {
                    self.gateway.hub().remove(&c, self.id);
                }
                let m = ServerMessage::Unsubscribed {
                    id,
                    channel: &channel,
                    reason: None,
                };
                send(socket, m.to_text()).await
            }
            ClientMessage::Subscribe { id, channel, since } => self.subscribe(socket, id, &channel, since).await,
        }
    }

    async fn subscribe(
        &mut self,
        socket: &mut WebSocket,
        id: Option<u64>,
        name: &str,
        since: Option<Position>,
    ) -> bool {
        let refuse = |status: u16, reason: &str| {
            ServerMessage::Refused {
                id,
                channel: name,
                status,
                reason,
            }
            .to_text()
        };
        let channel = match Channel::parse(name) {
            Ok(c) => c,
            Err(why) => return send(socket, refuse(400, &why)).await,
        };
        if self.subs.contains_key(&channel) {
            return send(socket, refuse(409, "already subscribed to this channel")).await;
        }
        let max = self.gateway.settings().max_subscriptions;
        if self.subs.len() >= max {
            let why = format!("at most {max} subscriptions per connection");
            return send(socket, refuse(429, &why)).await;
        }
        let backlog = match self.gateway.authorize(&self.caller, &channel).await {
            Ok(b) => b,
            Err(e) => return send(socket, refuse(e.status(), &e.to_string())).await,
        };
        // Register before reading the log: every event is then in the log read below or in
        // the queue (or both — the offsets drop the repeats).
        self.gateway.hub().add(&channel, self.id, self.outlet.clone());
        let Ok(latest) = self.gateway.latest_offset().await else {
            self.gateway.hub().remove(&channel, self.id);
            return send(socket, refuse(503, "the event log cannot be read; try again")).await;
        };
        let epoch = self.gateway.hub().epoch().to_owned();
        let gap = match &since {
            None => None,
            Some(p) if p.epoch != epoch => Some("the log was replaced (another epoch): reload"),
            Some(p) if p.offset > latest || p.offset < 0 => Some("offset outside the log: reload"),
            Some(_) => None,
        };
        let start = match (&since, gap) {
            (Some(p), None) => p.offset,
            _ => latest,
        };
        self.subs.insert(channel.clone(), Subscription { last: start, backlog });
        let ack = ServerMessage::Subscribed {
            id,
            channel: name,
            epoch: &epoch,
            offset: start,
            recovered: since.is_some() && gap.is_none(),
        };
        if !send(socket, ack.to_text()).await {
            return false;
        }
        if let Some(reason) = gap {
            let m = ServerMessage::Gap {
                channel: name,
                epoch: &epoch,
                offset: latest,
                reason,
            };
            return send(socket, m.to_text()).await;
        }
        if since.is_some() {
            return self.recover(socket, &channel, latest).await;
        }
        true
    }

    /// Sends the channel's events from its position up to `until` (events after it arrive
    /// through the queue).
    async fn recover(&mut self, socket: &mut WebSocket, channel: &Channel, until: i64) -> bool {
        let epoch = self.gateway.hub().epoch().to_owned();
        loop {
            let Some(sub) = self.subs.get(channel) else { return true };
            if sub.last >= until {
                return true;
            }
            let page = match self.gateway.backlog_after(&sub.backlog, sub.last).await {
                Ok(p) => p,
                Err(_) => return false,
            };
            if page.is_empty() {
                return true;
            }
            for ev in page.iter().filter(|e| channel.carries(e)) {
                let Ok(json) = serde_json::to_string(ev) else { continue };
                let frame = event_frame(channel, &epoch, ev.offset, &json);
                if !send(socket, frame.text).await {
                    return false;
                }
            }
            let last = page.last().map_or(until, |e| e.offset);
            if let Some(sub) = self.subs.get_mut(channel) {
                sub.last = sub.last.max(last);
            }
        }
    }

    /// After the caller's memberships changed: ends subscriptions they may no longer read.
    async fn recheck_subscriptions(&mut self, socket: &mut WebSocket) -> bool {
        let channels: Vec<Channel> = self.subs.keys().cloned().collect();
        for channel in channels {
            if let Err(e) = self.gateway.authorize(&self.caller, &channel).await {
                if matches!(e, ServiceError::Internal) {
                    continue;
                }
                self.subs.remove(&channel);
                self.gateway.hub().remove(&channel, self.id);
                let name = channel.to_string();
                let reason = e.to_string();
                let m = ServerMessage::Unsubscribed {
                    id: None,
                    channel: &name,
                    reason: Some(&reason),
                };
                if !send(socket, m.to_text()).await {
                    return false;
                }
            }
        }
        true
    }
}

/// Sends one text frame; `false` when the client is gone or stopped reading.
async fn send(socket: &mut WebSocket, text: Utf8Bytes) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(Message::Text(text))).await,
        Ok(Ok(()))
    )
}
