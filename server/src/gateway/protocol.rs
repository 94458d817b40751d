//! The gateway's wire format (docs/realtime.md): JSON text frames, `op` from the client and
//! `type` from the server. Event frames are built once per (event, channel) and shared.

use axum::extract::ws::Utf8Bytes;
use serde::{Deserialize, Serialize};

use super::channel::Channel;

/// A position in the event log: the log's epoch and an offset in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub epoch: String,
    pub offset: i64,
}

/// A control message from the client.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMessage {
    /// Subscribe; with `since`, first everything after that position, then live messages.
    Subscribe {
        #[serde(default)]
        id: Option<u64>,
        channel: String,
        #[serde(default)]
        since: Option<Position>,
    },
    Unsubscribe {
        #[serde(default)]
        id: Option<u64>,
        channel: String,
    },
    /// Answered by `pong` (for clients that cannot see WebSocket pings, such as browsers).
    Ping {
        #[serde(default)]
        id: Option<u64>,
    },
}

/// A control message to the client (event frames are built by [`event_frame`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage<'a> {
    /// First frame of a connection.
    Welcome {
        epoch: &'a str,
        /// Newest offset in the log when the connection opened.
        offset: i64,
        heartbeat_seconds: u64,
        max_frame_bytes: usize,
        max_subscriptions: usize,
    },
    /// A subscription is active. `offset`: the position it starts after (the `since` offset
    /// when recovering, else the log's newest offset).
    Subscribed {
        id: Option<u64>,
        channel: &'a str,
        epoch: &'a str,
        offset: i64,
        recovered: bool,
    },
    /// A subscription was not made; `status` is the HTTP status the same request would get.
    Refused {
        id: Option<u64>,
        channel: &'a str,
        status: u16,
        reason: &'a str,
    },
    /// A subscription ended (on request, or because the caller lost access: `reason`).
    Unsubscribed {
        id: Option<u64>,
        channel: &'a str,
        reason: Option<&'a str>,
    },
    /// The requested position cannot be resumed from: reload the channel's state (over
    /// HTTP), then continue after `offset`, from which live messages follow.
    Gap {
        channel: &'a str,
        epoch: &'a str,
        offset: i64,
        reason: &'a str,
    },
    Heartbeat {
        offset: i64,
    },
    Pong {
        id: Option<u64>,
    },
    /// A frame that could not be understood; the connection stays open.
    Error {
        reason: &'a str,
    },
}

impl ServerMessage<'_> {
    pub fn to_text(&self) -> Utf8Bytes {
        // Serialising these plain structs cannot fail; an empty object keeps the stream valid.
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into()).into()
    }
}

/// One event on one channel, serialised once and shared by every connection that gets it.
#[derive(Debug)]
pub struct Frame {
    pub channel: Channel,
    pub offset: i64,
    pub text: Utf8Bytes,
}

/// `{"type":"event","channel":…,"epoch":…,"offset":…,"event":<event_json>}`; `event_json` is
/// the event serialised once for all its channels.
pub fn event_frame(channel: &Channel, epoch: &str, offset: i64, event_json: &str) -> Frame {
    let name = serde_json::Value::String(channel.to_string());
    let epoch = serde_json::Value::String(epoch.to_owned());
    let text = format!(r#"{{"type":"event","channel":{name},"epoch":{epoch},"offset":{offset},"event":{event_json}}}"#);
    Frame {
        channel: channel.clone(),
        offset,
        text: text.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_frames_are_json_with_the_event_inside() {
        let ch = Channel::ProjectJobs("lab".into());
        let f = event_frame(&ch, "e1", 7, r#"{"offset":7,"x":"\"q\""}"#);
        let v: serde_json::Value = serde_json::from_str(f.text.as_str()).expect("test value");
        assert_eq!(v["type"], "event");
        assert_eq!(v["channel"], "project:lab:jobs");
        assert_eq!(v["epoch"], "e1");
        assert_eq!(v["offset"], 7);
        assert_eq!(v["event"]["x"], "\"q\"");
    }

    #[test]
    fn control_messages_parse_and_unknown_fields_are_refused() {
        let m: ClientMessage =
            serde_json::from_str(r#"{"op":"subscribe","channel":"system:alerts","since":{"epoch":"e","offset":3}}"#)
                .expect("test value");
        assert!(matches!(
            m,
            ClientMessage::Subscribe {
                since: Some(Position { offset: 3, .. }),
                ..
            }
        ));
        assert!(serde_json::from_str::<ClientMessage>(r#"{"op":"subscribe","channel":"x","bogus":1}"#).is_err());
        assert!(serde_json::from_str::<ClientMessage>(r#"{"op":"explode"}"#).is_err());
    }
}
