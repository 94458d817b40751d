//! The Kafka relay against a real Kafka-protocol broker (nisshi at 127.0.0.1:9092, started by
//! `cargo xtask kafka`; each test writes to topics of its own prefix): the server configured
//! with `[brokers.kafka]` creates its topics with the documented partitions and puts every
//! lifecycle event of its jobs on `job-lifecycle`, keyed by job id, one job's events on one
//! partition in log order, with the event's headers; with the broker away, events wait in the
//! log and arrive in order once it answers; with RabbitMQ configured too, each broker gets
//! every event; a server restarted in the middle, and a relay
//! killed with SIGKILL in the middle of a backlog, deliver every event (at least once, no
//! gaps).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use ch_domain::{JobEvent, JobStatus};
use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use serde_json::json;
use server::bus::kafka::{KafkaSink, Topic};
use server::bus::{CommitSignal, Cursor, run_relay};
use server::settings::KafkaSettings;
use server::store::Store;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::common::{ChildGuard, Db, TestApp};

const BROKER: &str = "127.0.0.1:9092";

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn answers(addr: &str) -> bool {
    addr.parse::<SocketAddr>()
        .is_ok_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
}

/// Whether the shared broker answers; outside CI a missing one skips the test, with
/// `CI=true` it fails it.
fn broker_up() -> bool {
    match (answers(BROKER), ci()) {
        (true, _) => true,
        (false, false) => {
            eprintln!("SKIPPED: no Kafka broker at {BROKER} (cargo xtask kafka starts one)");
            false
        }
        (false, true) => panic!("a Kafka broker at {BROKER} is required (CI=true; cargo xtask kafka)"),
    }
}

/// Sink settings for `bootstrap`, with a topic prefix of the test's own.
fn kafka_settings(bootstrap: &str) -> KafkaSettings {
    KafkaSettings {
        bootstrap_servers: bootstrap.to_owned(),
        topic_prefix: format!("t{}.", Uuid::now_v7().simple()),
        delivery_timeout_ms: 3_000,
        ..KafkaSettings::default()
    }
}

/// One consumed message.
#[derive(Debug)]
struct Received {
    partition: i32,
    offset: i64,
    key: String,
    headers: HashMap<String, String>,
    event: JobEvent,
}

/// A consumer of `topic` in a group of its own, from the topic's start.
fn consumer(bootstrap: &str, topic: &str) -> StreamConsumer {
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("test-{}", Uuid::now_v7().simple()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    consumer
}

/// Reads messages until `done` says so or `limit` passes (then panics, naming `what`).
async fn read_until(
    consumer: &StreamConsumer,
    limit: Duration,
    what: &str,
    done: impl Fn(&[Received]) -> bool,
) -> Vec<Received> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut got = Vec::new();
    while !done(&got) {
        let next = tokio::time::timeout_at(deadline, consumer.recv()).await;
        let message = match next {
            Ok(Ok(m)) => m,
            // A topic the relay has not created yet, a rebalance: keep reading.
            Ok(Err(e)) => {
                eprintln!("{what}: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(_) => panic!("{what}: {} messages in {limit:?}, not done", got.len()),
        };
        let headers = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_owned(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        got.push(Received {
            partition: message.partition(),
            offset: message.offset(),
            key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
            headers,
            event: serde_json::from_slice(message.payload().unwrap_or_default()).expect("a JobEvent as JSON"),
        });
    }
    got
}

/// The ids of every event in `expected` have arrived (duplicates allowed).
fn all_of(expected: &[JobEvent]) -> impl Fn(&[Received]) -> bool + '_ {
    move |got| {
        let seen: HashSet<Uuid> = got.iter().map(|r| r.event.event_id).collect();
        expected.iter().all(|e| seen.contains(&e.event_id))
    }
}

/// Checks what arrived against the log's `expected` events: each message keyed by its job
/// with the event's headers; every event there; each job's events on one partition and, read
/// in partition order with repeats dropped, in log order.
fn check_delivery(got: &[Received], expected: &[JobEvent]) {
    for r in got {
        assert_eq!(r.key, r.event.job_id.to_string(), "keyed by job id");
        assert_eq!(r.headers.get("event_id"), Some(&r.event.event_id.to_string()));
        assert_eq!(
            r.headers.get("event_type").map(String::as_str),
            Some(r.event.event_type.as_str())
        );
        assert_eq!(
            r.headers.get("schema_version"),
            Some(&r.event.schema_version.to_string())
        );
        assert_eq!(r.headers.get("offset"), Some(&r.event.offset.to_string()));
    }
    let mut by_job: BTreeMap<Uuid, Vec<&Received>> = BTreeMap::new();
    for r in got {
        by_job.entry(r.event.job_id).or_default().push(r);
    }
    let mut want: BTreeMap<Uuid, Vec<i64>> = BTreeMap::new();
    for e in expected {
        want.entry(e.job_id).or_default().push(e.offset);
    }
    for (job, offsets) in want {
        let mut messages = by_job.remove(&job).unwrap_or_default();
        let partitions: HashSet<i32> = messages.iter().map(|r| r.partition).collect();
        assert_eq!(partitions.len(), 1, "job {job}: one partition, got {partitions:?}");
        messages.sort_by_key(|r| r.offset);
        let mut seen = HashSet::new();
        let order: Vec<i64> = messages
            .iter()
            .map(|r| r.event.offset)
            .filter(|o| seen.insert(*o))
            .collect();
        assert_eq!(order, offsets, "job {job}: every event, in log order");
    }
}

/// The events of the log (all of them; tests write a few thousand at most).
async fn log_events(database_url: &str) -> Vec<JobEvent> {
    let store = Store::connect(database_url).await.expect("store");
    let events = store.events_after(0, 100_000).await.expect("events");
    store.close().await;
    events
}

fn lifecycle(events: Vec<JobEvent>) -> Vec<JobEvent> {
    events
        .into_iter()
        .filter(|e| Topic::for_event(e.event_type) == Topic::JobLifecycle)
        .collect()
}

/// Commits `n` jobs with one `job.submitted` event each straight into the log, as a backlog;
/// the jobs are saved as cancelled, so the server's executor and recovery leave them alone.
async fn commit_backlog(store: &Store, n: usize) {
    let rows: Vec<_> = (0..n)
        .map(|i| {
            let mut job = ch_domain::SubmitJob {
                name: format!("b{i}"),
                command: "true".into(),
                ..ch_domain::SubmitJob::default()
            }
            .validate(&ch_domain::SystemCatalog::default())
            .expect("valid")
            .into_job(Uuid::now_v7(), "ann".into(), format!("c{i}"), chrono::Utc::now());
            let event = ch_domain::NewEvent::submitted(Uuid::now_v7(), &job, "t");
            job.status = JobStatus::Cancelled;
            (job, vec![event])
        })
        .collect();
    store.create_jobs(&rows).await.expect("commit");
}

async fn run_jobs(app: &TestApp, n: usize) {
    for i in 0..n {
        let job = app.submit_ok(json!({"name": format!("k{i}"), "command": "true"})).await;
        app.wait_status(job.id, JobStatus::Completed).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_puts_each_job_s_events_on_job_lifecycle_keyed_by_job_id() {
    if !broker_up() {
        return;
    }
    let kafka = kafka_settings(BROKER);
    let prefix = kafka.topic_prefix.clone();
    let Some(app) = TestApp::spawn_with(Db::Sqlite, move |s| s.brokers.kafka = Some(kafka)).await else {
        return;
    };
    run_jobs(&app, 4).await;
    let expected = lifecycle(log_events(&app.database_url).await);
    assert!(expected.len() >= 4 * 3, "submitted, running, completed per job");

    let topic = format!("{prefix}job-lifecycle");
    let consumer = consumer(BROKER, &topic);
    let got = read_until(&consumer, Duration::from_secs(60), &topic, all_of(&expected)).await;
    check_delivery(&got, &expected);

    let metadata = consumer
        .fetch_metadata(None, Duration::from_secs(10))
        .expect("metadata");
    let partitions: HashMap<&str, usize> = metadata
        .topics()
        .iter()
        .map(|t| (t.name(), t.partitions().len()))
        .collect();
    for t in Topic::ALL {
        let name = format!("{prefix}{}", t.name());
        assert_eq!(
            partitions.get(name.as_str()).copied(),
            usize::try_from(t.partitions()).ok(),
            "{name}"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_rabbitmq_configured_too_each_broker_gets_every_event() {
    if !broker_up() {
        return;
    }
    let Some(vhost) = crate::rabbitmq::Vhost::create() else {
        return;
    };
    let (kafka, rabbitmq) = (kafka_settings(BROKER), vhost.settings());
    let prefix = kafka.topic_prefix.clone();
    let Some(app) = TestApp::spawn_with(Db::Sqlite, move |s| {
        s.brokers.kafka = Some(kafka);
        s.brokers.rabbitmq = Some(rabbitmq);
    })
    .await
    else {
        return;
    };
    run_jobs(&app, 2).await;
    let all = log_events(&app.database_url).await;
    let expected = lifecycle(all.clone());
    let topic = format!("{prefix}job-lifecycle");
    let got = read_until(
        &consumer(BROKER, &topic),
        Duration::from_secs(60),
        &topic,
        all_of(&expected),
    )
    .await;
    check_delivery(&got, &expected);
    let queued = crate::rabbitmq::consume(&vhost.url(), "job-events-api", all.len()).await;
    assert_eq!(
        queued.iter().map(|m| m.0).collect::<Vec<_>>(),
        all.iter().map(|e| e.offset).collect::<Vec<_>>(),
        "RabbitMQ got the whole log too"
    );
    app.stop().await;
}

/// A port where nothing listens (yet).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The nisshi binary `cargo xtask kafka` installs (or `CH_TEST_NISSHI`).
fn nisshi() -> Option<PathBuf> {
    let path = std::env::var_os("CH_TEST_NISSHI").map(PathBuf::from).or_else(|| {
        std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/cosmic-horizons/nisshi-0.8.1/bin/nisshi"))
    })?;
    path.exists().then_some(path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_wait_in_the_log_while_the_broker_is_away_and_then_arrive_in_order() {
    let Some(nisshi) = nisshi() else {
        assert!(!ci(), "nisshi is required (CI=true; cargo xtask kafka installs it)");
        eprintln!("SKIPPED: nisshi is not installed (cargo xtask kafka)");
        return;
    };
    let addr = format!("127.0.0.1:{}", free_port());
    let kafka = kafka_settings(&addr);
    let prefix = kafka.topic_prefix.clone();
    let Some(app) = TestApp::spawn_with(Db::Sqlite, move |s| s.brokers.kafka = Some(kafka)).await else {
        return;
    };
    run_jobs(&app, 3).await;
    // The relay has been refused meanwhile (a batch fails after 3 s): nothing acknowledged.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let store = Store::connect(&app.database_url).await.expect("store");
    assert_eq!(
        store.relay_cursor("kafka").await.expect("cursor"),
        None,
        "nothing acknowledged"
    );
    store.close().await;

    // The broker comes up: a private one (memory storage) on the port the server was told.
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("tcp://{addr}");
    let log = std::fs::File::create(dir.path().join("nisshi.log")).expect("log");
    let _broker = ChildGuard(
        Command::new(nisshi)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args([
                "--storage-engine",
                "memory://nisshi/",
                "--group-initial-rebalance-delay",
                "0s",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("nisshi starts"),
    );
    crate::common::within(Duration::from_secs(30), "nisshi answers", async {
        while !answers(&addr) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    // More jobs while the relay catches up.
    run_jobs(&app, 2).await;
    let expected = lifecycle(log_events(&app.database_url).await);
    let topic = format!("{prefix}job-lifecycle");
    let consumer = consumer(&addr, &topic);
    let got = read_until(&consumer, Duration::from_secs(90), &topic, all_of(&expected)).await;
    check_delivery(&got, &expected);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_restarted_in_the_middle_delivers_every_event() {
    if !broker_up() {
        return;
    }
    let kafka = kafka_settings(BROKER);
    let prefix = kafka.topic_prefix.clone();
    let first = kafka.clone();
    let Some(app) = TestApp::spawn_with(Db::Sqlite, move |s| s.brokers.kafka = Some(first)).await else {
        return;
    };
    run_jobs(&app, 2).await;
    // A backlog the relay is working through (it polls: these commits bypass its wake-up)
    // when the server stops; more is committed while it is down.
    let store = Store::connect(&app.database_url).await.expect("store");
    commit_backlog(&store, 1500).await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (dir, url) = app.stop().await;
    commit_backlog(&store, 300).await;
    store.close().await;

    let mut settings = crate::common::settings(&dir, &url);
    settings.brokers.kafka = Some(kafka);
    let app = TestApp::start(dir, url, settings).await;
    run_jobs(&app, 1).await;
    let expected = lifecycle(log_events(&app.database_url).await);
    assert!(expected.len() > 1800);
    let topic = format!("{prefix}job-lifecycle");
    let consumer = consumer(BROKER, &topic);
    let got = read_until(&consumer, Duration::from_secs(90), &topic, all_of(&expected)).await;
    check_delivery(&got, &expected);
    eprintln!(
        "{} events, {} messages ({} repeats)",
        expected.len(),
        got.len(),
        got.len() - expected.len()
    );
    app.stop().await;
}

/// Events waiting when the relay process starts (8 batches: ~2,500 events/s were measured
/// through a debug build, so the kill after the first saved batch lands midway).
const BACKLOG: usize = 4_000;
/// Set in the relay process: `<database URL>|<topic prefix>`.
const CHILD_ENV: &str = "CH_TEST_KAFKA_RELAY_CHILD";

/// Not a test of its own: the relay process that
/// [`a_relay_killed_in_the_middle_of_a_backlog_loses_nothing`] starts (this test binary again,
/// running only this function) and kills. Relays to the shared broker until killed, ≤ 60 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the relay process of a_relay_killed_in_the_middle_of_a_backlog_loses_nothing"]
async fn relay_process() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (url, prefix) = spec.split_once('|').expect("url|prefix");
    let store = Store::connect(url).await.expect("connect");
    let sink = KafkaSink::new(KafkaSettings {
        topic_prefix: prefix.to_owned(),
        ..kafka_settings(BROKER)
    })
    .expect("sink");
    let relay = run_relay(
        store,
        Arc::new(sink),
        CommitSignal::default(),
        Cursor::Saved { first: 0 },
        CancellationToken::new(),
    );
    let _ = tokio::time::timeout(Duration::from_secs(60), relay).await;
}

fn start_relay(url: &str, prefix: &str) -> ChildGuard {
    ChildGuard(
        Command::new(std::env::current_exe().expect("test binary"))
            .args(["kafka::relay_process", "--exact", "--ignored", "--nocapture"])
            .env(CHILD_ENV, format!("{url}|{prefix}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("relay process"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_killed_in_the_middle_of_a_backlog_loses_nothing() {
    if !broker_up() {
        return;
    }
    let prefix = kafka_settings(BROKER).topic_prefix;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = crate::common::database_url(Db::Sqlite, &dir).await.expect("sqlite");
    let store = Store::connect(&url).await.expect("connect");
    commit_backlog(&store, BACKLOG).await;

    let mut relay = start_relay(&url, &prefix);
    // Killed once a batch was acknowledged and its cursor saved.
    let saved = crate::common::within(Duration::from_secs(60), "a saved cursor", async {
        loop {
            if let Some(saved) = store.relay_cursor("kafka").await.expect("cursor") {
                return saved;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    relay.0.kill().expect("kill -9");
    relay.0.wait().expect("reaped");
    let at_kill = store.relay_cursor("kafka").await.expect("cursor").unwrap_or(saved);
    assert!(
        at_kill < BACKLOG as i64,
        "killed in the middle of the backlog, not after it"
    );
    commit_backlog(&store, 500).await;
    let expected = store.events_after(0, 100_000).await.expect("events");

    let _relay = start_relay(&url, &prefix);
    let topic = format!("{prefix}job-lifecycle");
    let consumer = consumer(BROKER, &topic);
    let got = read_until(&consumer, Duration::from_secs(120), &topic, all_of(&expected)).await;
    check_delivery(&got, &expected);
    eprintln!(
        "killed with the cursor at {at_kill} of {BACKLOG}; {} messages for {} events",
        got.len(),
        expected.len()
    );
    store.close().await;
}
