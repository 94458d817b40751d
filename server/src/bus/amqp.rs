//! RabbitMQ as an event sink: every event of the log is published to the fanout exchange
//! `job.events`, with publisher confirms, through a relay with a saved cursor — so a broker or
//! a server that was down catches up, and an event counts as delivered only once RabbitMQ has
//! confirmed it (at least once; consumers deduplicate by `message_id`, the event's id).
//!
//! Topology, declared (idempotently) on every connection, all durable:
//!
//! | exchange | type | bound queues |
//! |---|---|---|
//! | `job.events` | fanout | `job-events-api`, `job-events-audit`, `websocket-broadcast` |
//! | `notifications` | direct | (the notification service's, issue 31) |
//! | `dlx` | fanout | `job-dlq` |
//!
//! The three event queues dead-letter to `dlx` (a consumer that rejects a message) and hold at
//! most `queue_max_messages` each; a full queue refuses new messages (`reject-publish`), which
//! the relay sees as an unconfirmed batch and retries: the log keeps what the broker cannot
//! take yet. `job-dlq` keeps dead letters for `dead_letter_ttl_secs`.
//!
//! Messages: body the event as JSON (the API's `JobEvent`), `content_type`
//! `application/json`, `delivery_mode` 2 (persistent), `message_id` the event id, `type` the
//! event type (`job.submitted`, …), `timestamp` the event time (Unix seconds), header `offset`
//! the event's position in the log, routing key the event type.

use std::time::Duration;

use anyhow::{Context, bail};
use async_trait::async_trait;
use ch_domain::JobEvent;
use lapin::options::{
    BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::Mutex;
use tracing::{info, instrument};

use super::EventSink;
use crate::settings::RabbitMqSettings;

/// The exchange every event is published to.
pub const EVENTS_EXCHANGE: &str = "job.events";
/// The queues bound to [`EVENTS_EXCHANGE`].
pub const EVENT_QUEUES: [&str; 3] = ["job-events-api", "job-events-audit", "websocket-broadcast"];
/// The dead-letter exchange and its queue.
pub const DEAD_LETTER_EXCHANGE: &str = "dlx";
pub const DEAD_LETTER_QUEUE: &str = "job-dlq";
/// The exchange of notification messages (routing key: the delivery channel).
pub const NOTIFICATIONS_EXCHANGE: &str = "notifications";
/// Longest wait for a connection or a batch's confirms.
const BROKER_TIMEOUT: Duration = Duration::from_secs(10);

/// The RabbitMQ sink; its saved cursor is kept under the name `rabbitmq`.
pub struct RabbitMqSink {
    settings: RabbitMqSettings,
    /// The open connection and its confirm-mode channel; `None` until the first publish and
    /// after a failure (the next publish connects again).
    link: Mutex<Option<(Connection, Channel)>>,
}

impl RabbitMqSink {
    /// A sink that connects on its first publish.
    pub fn new(settings: RabbitMqSettings) -> Self {
        Self {
            settings,
            link: Mutex::new(None),
        }
    }

    /// Connects, declares the topology and opens a channel in confirm mode.
    ///
    /// # Errors
    /// The broker is unreachable, refuses the credentials, or refuses a declaration (an
    /// existing queue declared with other arguments).
    #[instrument(skip(self), err)]
    async fn connect(&self) -> anyhow::Result<(Connection, Channel)> {
        let props = ConnectionProperties::default().with_connection_name(LongString::from("cosmic-horizons relay"));
        let conn = tokio::time::timeout(BROKER_TIMEOUT, Connection::connect(self.settings.url.expose(), props))
            .await
            .context("connecting to RabbitMQ timed out")?
            .context("connecting to RabbitMQ")?;
        let channel = conn.create_channel().await?;
        declare(&channel, &self.settings).await?;
        channel.confirm_select(ConfirmSelectOptions::default()).await?;
        info!("connected to RabbitMQ; exchanges and queues declared");
        Ok((conn, channel))
    }

    async fn publish_on(channel: &Channel, events: &[JobEvent]) -> anyhow::Result<()> {
        let mut confirms = Vec::with_capacity(events.len());
        for event in events {
            let body = serde_json::to_vec(event)?;
            let kind = event.event_type.as_str();
            let mut headers = FieldTable::default();
            headers.insert(ShortString::from("offset"), AMQPValue::LongLongInt(event.offset));
            let props = BasicProperties::default()
                .with_content_type(ShortString::from("application/json"))
                .with_delivery_mode(2)
                .with_message_id(ShortString::from(event.event_id.to_string()))
                .with_type(ShortString::from(kind))
                .with_timestamp(u64::try_from(event.occurred_at.timestamp()).unwrap_or(0))
                .with_headers(headers);
            let confirm = channel
                .basic_publish(
                    ShortString::from(EVENTS_EXCHANGE),
                    ShortString::from(kind),
                    BasicPublishOptions::default(),
                    &body,
                    props,
                )
                .await?;
            confirms.push(confirm);
        }
        for confirm in confirms {
            let confirmation = tokio::time::timeout(BROKER_TIMEOUT, confirm)
                .await
                .context("RabbitMQ did not confirm in time")??;
            if confirmation.is_nack() {
                bail!("RabbitMQ refused a message (a full queue, or a broker fault)");
            }
        }
        Ok(())
    }
}

/// Declares the exchanges and queues of the module doc (idempotent while the arguments agree).
async fn declare(channel: &Channel, settings: &RabbitMqSettings) -> anyhow::Result<()> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    for (name, kind) in [
        (EVENTS_EXCHANGE, ExchangeKind::Fanout),
        (NOTIFICATIONS_EXCHANGE, ExchangeKind::Direct),
        (DEAD_LETTER_EXCHANGE, ExchangeKind::Fanout),
    ] {
        channel
            .exchange_declare(name.into(), kind, durable, FieldTable::default())
            .await
            .with_context(|| format!("declaring exchange {name}"))?;
    }
    let queue = QueueDeclareOptions {
        durable: true,
        ..QueueDeclareOptions::default()
    };
    let mut dlq_args = FieldTable::default();
    dlq_args.insert(
        "x-message-ttl".into(),
        AMQPValue::LongLongInt(i64::from(settings.dead_letter_ttl_secs) * 1000),
    );
    channel
        .queue_declare(DEAD_LETTER_QUEUE.into(), queue, dlq_args)
        .await
        .with_context(|| format!("declaring queue {DEAD_LETTER_QUEUE}"))?;
    channel
        .queue_bind(
            DEAD_LETTER_QUEUE.into(),
            DEAD_LETTER_EXCHANGE.into(),
            "".into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    for name in EVENT_QUEUES {
        let mut args = FieldTable::default();
        args.insert(
            "x-dead-letter-exchange".into(),
            AMQPValue::LongString(DEAD_LETTER_EXCHANGE.into()),
        );
        args.insert(
            "x-max-length".into(),
            AMQPValue::LongLongInt(i64::from(settings.queue_max_messages)),
        );
        args.insert("x-overflow".into(), AMQPValue::LongString("reject-publish".into()));
        channel
            .queue_declare(name.into(), queue, args)
            .await
            .with_context(|| format!("declaring queue {name}"))?;
        channel
            .queue_bind(
                name.into(),
                EVENTS_EXCHANGE.into(),
                "".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await?;
    }
    Ok(())
}

#[async_trait]
impl EventSink for RabbitMqSink {
    fn name(&self) -> &'static str {
        "rabbitmq"
    }

    async fn publish(&self, events: &[JobEvent]) -> anyhow::Result<()> {
        let mut link = self.link.lock().await;
        if link
            .as_ref()
            .is_none_or(|(conn, channel)| !conn.status().connected() || !channel.status().connected())
        {
            *link = Some(self.connect().await?);
        }
        let Some((_, channel)) = link.as_ref() else {
            bail!("no RabbitMQ channel");
        };
        let result = Self::publish_on(channel, events).await;
        if result.is_err() {
            // Whatever went wrong, the next batch starts on a fresh connection.
            if let Some((conn, _)) = link.take() {
                let _ = conn.close(0, "relay failure".into()).await;
            }
        }
        result
    }
}
