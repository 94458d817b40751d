//! The RabbitMQ relay against the real broker (127.0.0.1:5672, guest/guest), each test in a
//! vhost of its own made with `rabbitmqctl` (removed afterwards): every event of the log reaches
//! every queue bound to `job.events`, confirmed, in offset order, with the event's id as
//! `message_id`; a relay stopped and started again delivers what was committed meanwhile, and
//! nothing twice; the server configured with `[brokers.rabbitmq]` relays its jobs' events.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Connection, ConnectionProperties};
use serde_json::json;
use server::bus::amqp::{EVENT_QUEUES, RabbitMqSink};
use server::bus::{CommitSignal, Cursor, run_relay};
use server::settings::RabbitMqSettings;
use server::store::Store;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::common::{Db, TestApp};

const BROKER: &str = "127.0.0.1:5672";

/// A vhost of this test's own, deleted on drop.
pub(crate) struct Vhost(String);

impl Vhost {
    /// `None` (test skipped) when RabbitMQ or `rabbitmqctl` is missing outside CI; with
    /// `CI=true` that is a failure.
    pub(crate) fn create() -> Option<Vhost> {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let reachable = BROKER
            .parse()
            .ok()
            .is_some_and(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
        let name = format!("ch-test-{}", Uuid::now_v7().simple());
        let made = reachable
            && rabbitmqctl(&["add_vhost", &name])
            && rabbitmqctl(&["set_permissions", "-p", &name, "guest", ".*", ".*", ".*"]);
        match (made, ci) {
            (true, _) => Some(Vhost(name)),
            (false, false) => {
                eprintln!("SKIPPED: RabbitMQ at {BROKER} or rabbitmqctl unavailable");
                None
            }
            (false, true) => panic!("RabbitMQ at {BROKER} with rabbitmqctl is required (CI=true)"),
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("amqp://guest:guest@{BROKER}/{}", self.0)
    }

    pub(crate) fn settings(&self) -> RabbitMqSettings {
        RabbitMqSettings {
            url: server::settings::Secret::new(self.url()),
            ..RabbitMqSettings::default()
        }
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        rabbitmqctl(&["delete_vhost", &self.0]);
    }
}

/// Runs `rabbitmqctl` (at most 60 s); true when it succeeded.
fn rabbitmqctl(args: &[&str]) -> bool {
    Command::new("timeout")
        .arg("60")
        .arg("rabbitmqctl")
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// One consumed message: (offset header, message id, type).
pub(crate) type Message = (i64, String, String);

/// Reads `n` messages from `queue` (acknowledging them), at most 30 s.
pub(crate) async fn consume(url: &str, queue: &str, n: usize) -> Vec<Message> {
    let conn = Connection::connect(url, ConnectionProperties::default())
        .await
        .expect("consumer connects");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    // The relay declares the queues when it first connects: until then the queue is missing
    // (a soft error, which closes the channel; try on a new one).
    let mut consumer = loop {
        let channel = conn.create_channel().await.expect("channel");
        let attempt = channel
            .basic_consume(
                queue.into(),
                "test".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await;
        match attempt {
            Ok(c) => break c,
            Err(e) if tokio::time::Instant::now() < deadline => {
                eprintln!("{queue} not there yet: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("{queue}: {e}"),
        }
    };
    let mut got = Vec::new();
    while got.len() < n {
        let next = tokio::time::timeout_at(deadline, consumer.next()).await;
        let Ok(Some(Ok(delivery))) = next else {
            panic!("{queue}: {} of {n} messages in 30 s", got.len());
        };
        let props = &delivery.properties;
        let offset = props
            .headers()
            .as_ref()
            .and_then(|h| h.inner().get("offset").cloned())
            .and_then(|v| match v {
                AMQPValue::LongLongInt(o) => Some(o),
                _ => None,
            })
            .expect("offset header");
        let id = props.message_id().as_ref().map(ToString::to_string).unwrap_or_default();
        let kind = props.kind().as_ref().map(ToString::to_string).unwrap_or_default();
        let body: serde_json::Value = serde_json::from_slice(&delivery.data).expect("JSON body");
        assert_eq!(body["offset"], offset, "the header names the body's offset");
        assert_eq!(
            body["event_id"].as_str(),
            Some(id.as_str()),
            "message_id is the event id"
        );
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
        got.push((offset, id, kind));
    }
    let _ = conn.close(0, "done".into()).await;
    got
}

fn relay(store: &Store, vhost: &Vhost, stop: &CancellationToken) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run_relay(
        store.clone(),
        Arc::new(RabbitMqSink::new(vhost.settings())),
        CommitSignal::default(),
        Cursor::Saved { first: 0 },
        stop.clone(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_queue_gets_the_log_in_order_and_a_restarted_relay_catches_up() {
    let Some(vhost) = Vhost::create() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let url = crate::common::database_url(Db::Sqlite, &dir).await.expect("sqlite");
    let store = Store::connect(&url).await.expect("connect");
    crate::common::commit_submissions(&store, 700).await;

    let stop = CancellationToken::new();
    let first = relay(&store, &vhost, &stop);
    let audit = consume(&vhost.url(), "job-events-audit", 700).await;
    assert_eq!(
        audit.iter().map(|m| m.0).collect::<Vec<_>>(),
        (1..=700).collect::<Vec<_>>(),
        "every event, in offset order"
    );
    assert!(audit.iter().all(|m| m.2 == "job.submitted"), "type is the event type");
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), first)
        .await
        .expect("the relay stops")
        .expect("joined");

    // Committed while no relay runs: the next one resumes after its saved cursor.
    crate::common::commit_submissions(&store, 300).await;
    let stop = CancellationToken::new();
    let second = relay(&store, &vhost, &stop);
    let rest = consume(&vhost.url(), "job-events-audit", 300).await;
    assert_eq!(
        rest.iter().map(|m| m.0).collect::<Vec<_>>(),
        (701..=1000).collect::<Vec<_>>(),
        "what was committed meanwhile, nothing twice"
    );
    // Fanout: the other queues hold the whole log too.
    for queue in EVENT_QUEUES.iter().filter(|q| **q != "job-events-audit") {
        let all = consume(&vhost.url(), queue, 1000).await;
        assert_eq!(
            all.iter().map(|m| m.0).collect::<Vec<_>>(),
            (1..=1000).collect::<Vec<_>>(),
            "{queue}"
        );
    }
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), second).await;
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_relays_its_jobs_events_when_rabbitmq_is_configured() {
    let Some(vhost) = Vhost::create() else { return };
    let settings = vhost.settings();
    let Some(app) = TestApp::spawn_with(Db::Sqlite, move |s| s.brokers.rabbitmq = Some(settings)).await else {
        return;
    };
    let job = app.submit_ok(json!({"name": "relayed", "command": "true"})).await;
    let done = app.wait_status(job.id, ch_domain::JobStatus::Completed).await;
    let events: Vec<serde_json::Value> = app
        .client
        .get(app.url(&format!("/api/jobs/{}/events", done.id)))
        .send()
        .await
        .expect("events")
        .json()
        .await
        .expect("json");
    let got = consume(&vhost.url(), "job-events-api", events.len()).await;
    let ids: Vec<&str> = events.iter().filter_map(|e| e["event_id"].as_str()).collect();
    assert_eq!(
        got.iter().map(|m| m.1.as_str()).collect::<Vec<_>>(),
        ids,
        "the job's events, in order"
    );
    assert_eq!(got.first().map(|m| m.2.as_str()), Some("job.submitted"));
    assert_eq!(got.last().map(|m| m.2.as_str()), Some("job.completed"));
}
