//! Kafka as an event sink: every event of the log goes to one topic, keyed so that one job's
//! events share a partition (and so keep their order), through a relay with a saved cursor
//! (its own, under the name `kafka`, and its own lease) — a broker or a server that was down
//! catches up. A batch counts as delivered only once the broker acknowledged every message of
//! it (`acks=all`); the producer is idempotent, so its own retries add no duplicates, while a
//! batch offered again after a failure or a restart may (at least once: consumers deduplicate
//! by the `event_id` header).
//!
//! Topics, created at start-up when missing (a topic that exists is left as it is; names carry
//! `topic_prefix`):
//!
//! | topic | partitions | key | what goes there |
//! |---|---|---|---|
//! | `job-lifecycle` | 3 | job id | `job.submitted`, `job.status.changed`, `job.completed`, `job.failed`, `job.cancelled` |
//! | `job-metrics` | 2 | job id | `job.progress` (progress and resource samples) |
//! | `notifications` | 1 | job id | `notification.sent`, `.read`, `.unread`, `.dismissed` (users' inboxes) |
//! | `audit-trail` | 3 | resource id | nothing yet: audit records; `retention.ms` 90 days |
//!
//! Messages: value the event as JSON (the API's `JobEvent`, as the RabbitMQ sink sends it;
//! [`encode`] is the one place that decides, so Avro can replace it), key the job id (text),
//! timestamp the event time, headers `event_id`, `event_type`, `schema_version`, `offset` (the
//! event's position in the log) and `content-type` (all UTF-8 text).

use std::time::Duration;

use async_trait::async_trait;
use ch_domain::{EventType, JobEvent};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use tokio::sync::{Mutex, OnceCell};
use tracing::{info, instrument, warn};

use super::EventSink;
use crate::settings::KafkaSettings;

/// 90 days, in milliseconds: how long `audit-trail` keeps its records.
const AUDIT_RETENTION_MS: &str = "7776000000";
/// Longest wait for the broker to answer an admin request (topic creation).
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong talking to Kafka.
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    /// The client could not be built (a setting librdkafka refuses) or a request failed
    /// (broker unreachable, timed out).
    #[error("Kafka client: {0}")]
    Client(#[from] rdkafka::error::KafkaError),
    /// The broker refused to create a topic (other than because it exists).
    #[error("creating topic {topic}: {code}")]
    CreateTopic { topic: String, code: RDKafkaErrorCode },
    /// An event could not be encoded.
    #[error("encoding event {offset}: {source}")]
    Encode { offset: i64, source: serde_json::Error },
    /// A message of the batch was not acknowledged (its offset in the log, and why).
    #[error("event {offset} was not delivered: {source}")]
    Delivery {
        offset: i64,
        source: rdkafka::error::KafkaError,
    },
    /// The producer dropped a delivery report (it was shut down meanwhile).
    #[error("event {offset}: the producer went away before reporting delivery")]
    Canceled { offset: i64 },
}

/// The topics the server writes to (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// `job-lifecycle`: a job's submissions and status changes.
    JobLifecycle,
    /// `job-metrics`: a running job's progress and resource samples.
    JobMetrics,
    /// `notifications`: messages for the notification service.
    Notifications,
    /// `audit-trail`: audit records, keyed by the resource they are about.
    AuditTrail,
}

impl Topic {
    /// Every topic, in the order they are created.
    pub const ALL: [Topic; 4] = [
        Topic::JobLifecycle,
        Topic::JobMetrics,
        Topic::Notifications,
        Topic::AuditTrail,
    ];

    /// The topic's name without a prefix.
    pub fn name(self) -> &'static str {
        match self {
            Topic::JobLifecycle => "job-lifecycle",
            Topic::JobMetrics => "job-metrics",
            Topic::Notifications => "notifications",
            Topic::AuditTrail => "audit-trail",
        }
    }

    /// Partitions it is created with.
    pub fn partitions(self) -> i32 {
        match self {
            Topic::JobLifecycle | Topic::AuditTrail => 3,
            Topic::JobMetrics => 2,
            Topic::Notifications => 1,
        }
    }

    /// Topic-level configuration it is created with.
    pub fn config(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Topic::AuditTrail => &[("retention.ms", AUDIT_RETENTION_MS)],
            _ => &[],
        }
    }

    /// The topic an event of type `kind` goes to.
    pub fn for_event(kind: EventType) -> Topic {
        match kind {
            EventType::JobSubmitted
            | EventType::JobStatusChanged
            | EventType::JobCompleted
            | EventType::JobFailed
            | EventType::JobCancelled
            | EventType::JobSchedulerChanged
            | EventType::JobTimeLimitNear => Topic::JobLifecycle,
            EventType::JobProgress => Topic::JobMetrics,
            EventType::NotificationSent
            | EventType::NotificationRead
            | EventType::NotificationUnread
            | EventType::NotificationDismissed => Topic::Notifications,
        }
    }
}

/// The message key of `event`: its job id (hyphenated text), so one job's events land on one
/// partition in log order.
pub fn key(event: &JobEvent) -> String {
    event.job_id.to_string()
}

/// An event as it goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// The message value.
    pub value: Vec<u8>,
    /// What `value` is (the `content-type` header).
    pub content_type: &'static str,
}

/// Encodes `event` as the message value: JSON today (the next slice puts Avro here).
///
/// # Errors
/// [`KafkaError::Encode`] when the event does not serialize (its payload is JSON already, so
/// only a broken invariant gets there).
pub fn encode(event: &JobEvent) -> Result<Encoded, KafkaError> {
    let value = serde_json::to_vec(event).map_err(|source| KafkaError::Encode {
        offset: event.offset,
        source,
    })?;
    Ok(Encoded {
        value,
        content_type: "application/json",
    })
}

/// The headers of `event`'s message (see the module doc).
fn headers(event: &JobEvent, content_type: &str) -> OwnedHeaders {
    let id = event.event_id.to_string();
    let version = event.schema_version.to_string();
    let offset = event.offset.to_string();
    [
        ("event_id", id.as_str()),
        ("event_type", event.event_type.as_str()),
        ("schema_version", version.as_str()),
        ("offset", offset.as_str()),
        ("content-type", content_type),
    ]
    .into_iter()
    .fold(OwnedHeaders::new_with_capacity(5), |h, (key, value)| {
        h.insert(Header {
            key,
            value: Some(value),
        })
    })
}

/// The Kafka sink; its saved cursor and lease are kept under the name `kafka`.
pub struct KafkaSink {
    settings: KafkaSettings,
    /// The producer; `None` after a failed batch (the next batch starts a fresh one, as an
    /// idempotent producer can be left fenced or fatally failed by a broker outage).
    producer: Mutex<Option<FutureProducer>>,
    /// Set once the topics exist (created by [`KafkaSink::create_topics`]).
    topics: OnceCell<()>,
}

impl KafkaSink {
    /// A sink that connects when it first creates topics or publishes.
    ///
    /// # Errors
    /// [`KafkaError::Client`] when librdkafka refuses the settings.
    pub fn new(settings: KafkaSettings) -> Result<Self, KafkaError> {
        let producer = producer(&settings)?;
        Ok(Self {
            settings,
            producer: Mutex::new(Some(producer)),
            topics: OnceCell::new(),
        })
    }

    /// The full name of `topic` (with the configured prefix).
    pub fn topic_name(&self, topic: Topic) -> String {
        format!("{}{}", self.settings.topic_prefix, topic.name())
    }

    /// Creates the topics of the module doc that do not exist yet; once it succeeded, later
    /// calls return at once. Called at start-up and before the first batch.
    ///
    /// # Errors
    /// [`KafkaError::Client`] when the broker cannot be reached within 10 s;
    /// [`KafkaError::CreateTopic`] when it refuses a topic for another reason than that it
    /// exists.
    #[instrument(skip(self), fields(prefix = %self.settings.topic_prefix), err)]
    pub async fn create_topics(&self) -> Result<(), KafkaError> {
        self.topics
            .get_or_try_init(|| async {
                let admin: AdminClient<DefaultClientContext> = base_config(&self.settings).create()?;
                let names: Vec<(Topic, String)> = Topic::ALL.iter().map(|t| (*t, self.topic_name(*t))).collect();
                let new: Vec<NewTopic<'_>> = names
                    .iter()
                    .map(|(topic, name)| {
                        topic.config().iter().fold(
                            NewTopic::new(
                                name,
                                topic.partitions(),
                                TopicReplication::Fixed(self.settings.replication_factor),
                            ),
                            |t, (k, v)| t.set(k, v),
                        )
                    })
                    .collect();
                let opts = AdminOptions::new()
                    .request_timeout(Some(ADMIN_TIMEOUT))
                    .operation_timeout(Some(ADMIN_TIMEOUT));
                for result in admin.create_topics(&new, &opts).await? {
                    match result {
                        Ok(name) => info!(topic = name, "created Kafka topic"),
                        Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                        Err((topic, code)) => return Err(KafkaError::CreateTopic { topic, code }),
                    }
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Enqueues every event of the batch, then waits for every acknowledgement.
    async fn publish_with(&self, producer: &FutureProducer, events: &[JobEvent]) -> Result<(), KafkaError> {
        let mut deliveries = Vec::with_capacity(events.len());
        for event in events {
            let encoded = encode(event)?;
            let key = key(event);
            let topic = self.topic_name(Topic::for_event(event.event_type));
            let record = FutureRecord::to(&topic)
                .key(&key)
                .payload(&encoded.value)
                .timestamp(event.occurred_at.timestamp_millis())
                .headers(headers(event, encoded.content_type));
            // Enqueued at once (awaiting each send would cost a round trip per message).
            let delivery = producer
                .send_result(record)
                .map_err(|(source, _)| KafkaError::Delivery {
                    offset: event.offset,
                    source,
                })?;
            deliveries.push((event.offset, delivery));
        }
        for (offset, delivery) in deliveries {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((source, _))) => return Err(KafkaError::Delivery { offset, source }),
                Err(_) => return Err(KafkaError::Canceled { offset }),
            }
        }
        Ok(())
    }
}

/// The settings every client of the sink shares.
fn base_config(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.bootstrap_servers)
        .set("client.id", &settings.client_id);
    config
}

/// An idempotent producer that waits for every in-sync replica (`acks=all`).
fn producer(settings: &KafkaSettings) -> Result<FutureProducer, KafkaError> {
    Ok(base_config(settings)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("delivery.timeout.ms", settings.delivery_timeout_ms.to_string())
        // Small batches go out at once: the relay's latency is commit → ack.
        .set("linger.ms", "5")
        .create()?)
}

#[async_trait]
impl EventSink for KafkaSink {
    fn name(&self) -> &'static str {
        "kafka"
    }

    async fn publish(&self, events: &[JobEvent]) -> anyhow::Result<()> {
        self.create_topics().await?;
        let mut slot = self.producer.lock().await;
        let producer = match slot.take() {
            Some(p) => p,
            None => producer(&self.settings)?,
        };
        let result = self.publish_with(&producer, events).await;
        match &result {
            Ok(()) => *slot = Some(producer),
            Err(e) => {
                if let Some((code, reason)) = producer.client().fatal_error() {
                    warn!(%code, reason, "the Kafka producer failed fatally");
                }
                warn!(error = %e, "Kafka batch failed; the next one starts a fresh producer");
                // Dropping purges and flushes for up to 0.5 s: not on the runtime's threads.
                tokio::task::spawn_blocking(move || drop(producer));
            }
        }
        Ok(result?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: EventType) -> JobEvent {
        JobEvent {
            offset: 42,
            event_id: uuid::Uuid::now_v7(),
            event_type: kind,
            schema_version: 1,
            occurred_at: chrono::Utc::now(),
            correlation_id: "c".into(),
            causation_id: None,
            job_id: uuid::Uuid::now_v7(),
            actor: "ann".into(),
            payload: serde_json::json!({"job": {"name": "x"}}),
        }
    }

    #[test]
    fn lifecycle_events_go_to_job_lifecycle_progress_to_job_metrics_and_notifications_apart() {
        for kind in EventType::ALL {
            let want = if kind == EventType::JobProgress {
                Topic::JobMetrics
            } else if kind.is_notification() {
                Topic::Notifications
            } else {
                Topic::JobLifecycle
            };
            assert_eq!(Topic::for_event(kind), want, "{kind}");
        }
    }

    #[test]
    fn topics_have_the_issue_s_partitions_and_the_audit_trail_keeps_90_days() {
        let shape: Vec<_> = Topic::ALL.iter().map(|t| (t.name(), t.partitions())).collect();
        assert_eq!(
            shape,
            [
                ("job-lifecycle", 3),
                ("job-metrics", 2),
                ("notifications", 1),
                ("audit-trail", 3)
            ]
        );
        let days = AUDIT_RETENTION_MS.parse::<u64>().ok().map(|ms| ms / 86_400_000);
        assert_eq!(days, Some(90));
        assert_eq!(Topic::AuditTrail.config(), [("retention.ms", AUDIT_RETENTION_MS)]);
        assert!(Topic::JobLifecycle.config().is_empty());
    }

    #[test]
    fn the_key_is_the_job_id_and_the_value_the_event_s_json() {
        let e = event(EventType::JobSubmitted);
        assert_eq!(key(&e), e.job_id.to_string());
        let encoded = encode(&e).expect("encodes");
        assert_eq!(encoded.content_type, "application/json");
        let back: JobEvent = serde_json::from_slice(&encoded.value).expect("JSON");
        assert_eq!(back, e);
    }

    #[test]
    fn headers_name_the_event() {
        use rdkafka::message::Headers;
        let e = event(EventType::JobCompleted);
        let h = headers(&e, "application/json");
        let got: Vec<(String, String)> = h
            .iter()
            .map(|h| {
                (
                    h.key.to_owned(),
                    String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("event_id".to_owned(), e.event_id.to_string()),
                ("event_type".to_owned(), "job.completed".to_owned()),
                ("schema_version".to_owned(), "1".to_owned()),
                ("offset".to_owned(), "42".to_owned()),
                ("content-type".to_owned(), "application/json".to_owned()),
            ]
        );
    }

    #[test]
    fn topic_names_carry_the_prefix() {
        let sink = KafkaSink::new(KafkaSettings {
            topic_prefix: "t1.".into(),
            ..KafkaSettings::default()
        })
        .expect("client");
        assert_eq!(sink.topic_name(Topic::AuditTrail), "t1.audit-trail");
    }

    #[test]
    fn settings_librdkafka_refuses_are_an_error() {
        let refused = KafkaSink::new(KafkaSettings {
            delivery_timeout_ms: u32::MAX,
            ..KafkaSettings::default()
        });
        assert!(matches!(refused, Err(KafkaError::Client(_))));
    }
}
