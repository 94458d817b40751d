//! The real-time gateway against the real server: exact resume, gaps, authorization per
//! channel, limits, heartbeats, slow consumers, credential revocation, restarts, and SSE.

use std::time::Duration;

use ch_domain::JobStatus;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use crate::common::{Db, TestApp};

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const WAIT: Duration = Duration::from_secs(20);

/// A gateway client: the socket and what it has been told.
struct Client {
    ws: Ws,
    welcome: Value,
}

impl Client {
    async fn connect(app: &TestApp, token: &str) -> Self {
        let (ws, _) = crate::common::within(
            WAIT,
            "WebSocket handshake",
            tokio_tungstenite::connect_async(app.ws_request_with("/api/realtime/ws", token)),
        )
        .await
        .expect("ws connect");
        let mut c = Self {
            ws,
            welcome: Value::Null,
        };
        c.welcome = c.next().await;
        assert_eq!(c.welcome["type"], "welcome", "{}", c.welcome);
        c
    }

    fn epoch(&self) -> String {
        self.welcome["epoch"].as_str().expect("epoch").to_owned()
    }

    async fn send(&mut self, v: Value) {
        crate::common::within(
            WAIT,
            "WebSocket send",
            self.ws.send(Message::Text(v.to_string().into())),
        )
        .await
        .expect("send");
    }

    /// The next JSON message, heartbeats skipped; panics on close.
    async fn next(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a message in time")
                .expect("socket open")
                .expect("frame");
            match msg {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("json frame");
                    if v["type"] != "heartbeat" {
                        return v;
                    }
                }
                Message::Close(c) => panic!("closed: {c:?}"),
                _ => {}
            }
        }
    }

    async fn subscribe(&mut self, channel: &str, since: Option<(&str, i64)>) -> Value {
        let mut m = json!({ "op": "subscribe", "id": 7, "channel": channel });
        if let Some((epoch, offset)) = since {
            m["since"] = json!({ "epoch": epoch, "offset": offset });
        }
        self.send(m).await;
        loop {
            let v = self.next().await;
            if v["type"] != "event" {
                return v;
            }
        }
    }

    /// Reads until the server closes; its close code and reason. Events seen on the way are
    /// appended to `events`.
    async fn closed(&mut self, events: &mut Vec<(String, i64)>) -> (u16, String) {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next()).await.expect("close in time");
            match msg {
                Some(Ok(Message::Close(Some(f)))) => return (u16::from(f.code), f.reason.to_string()),
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("json");
                    if v["type"] == "event" {
                        events.push((
                            v["channel"].as_str().unwrap_or_default().to_owned(),
                            v["offset"].as_i64().unwrap_or(-1),
                        ));
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }
}

/// Every event offset of the log after `after` (paged).
async fn log_offsets(app: &TestApp, after: i64) -> Vec<i64> {
    let mut out = Vec::new();
    let mut cursor = after;
    loop {
        let (_, page) = app.get_json(&format!("/api/events?after={cursor}")).await;
        let events = page["events"].as_array().cloned().unwrap_or_default();
        if events.is_empty() {
            return out;
        }
        out.extend(events.iter().filter_map(|e| e["offset"].as_i64()));
        cursor = page["next_after"].as_i64().expect("next_after");
    }
}

/// Reads event frames of `channel` until one has offset `until`.
async fn events_until(c: &mut Client, channel: &str, until: i64) -> Vec<i64> {
    let mut got = Vec::new();
    while got.last().is_none_or(|o| *o < until) {
        let v = c.next().await;
        if v["type"] == "event" && v["channel"] == channel {
            got.push(v["offset"].as_i64().expect("offset"));
        }
    }
    got
}

async fn run_jobs(app: &TestApp, n: usize) {
    for k in 0..n {
        let job = app
            .submit_ok(json!({ "name": format!("rt-{k}"), "command": "true" }))
            .await;
        app.wait_status(job.id, JobStatus::Completed).await;
    }
}

both_backends! {
    reconnecting_mid_stream_loses_and_repeats_nothing => resume_is_exact;
    a_restarted_server_is_resumed_from => restart_resumes;
    a_slow_consumer_is_cut_and_resumes_cleanly => slow_consumer;
}

async fn resume_is_exact(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    const CH: &str = "project:default:jobs";
    let mut c1 = Client::connect(&app, &app.token).await;
    let ack = c1.subscribe(CH, None).await;
    assert_eq!(
        (ack["type"].as_str(), ack["id"].as_u64()),
        (Some("subscribed"), Some(7)),
        "{ack}"
    );
    let start = ack["offset"].as_i64().expect("offset");
    run_jobs(&app, 3).await;
    let first_part = log_offsets(&app, start).await;
    // Read half of them, then drop the connection.
    let half = first_part[first_part.len() / 2];
    let mut seen = events_until(&mut c1, CH, half).await;
    let epoch = c1.epoch();
    drop(c1);

    // Reconnect over and over while jobs are being submitted and run: recovery from the log
    // and live delivery overlap on every subscription.
    let epoch = epoch.as_str();
    let submitter = {
        let client = app.client.clone();
        let url = app.url("/api/jobs");
        tokio::spawn(async move {
            for k in 0..30 {
                let res = client
                    .post(&url)
                    .json(&json!({ "name": format!("churn-{k}"), "command": "true" }))
                    .send()
                    .await
                    .expect("submit");
                assert_eq!(res.status(), 201);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let mut c2 = loop {
        let mut c = Client::connect(&app, &app.token).await;
        let last_seen = *seen.last().expect("some events");
        let ack = c.subscribe(CH, Some((epoch, last_seen))).await;
        assert_eq!(
            (ack["recovered"].as_bool(), ack["offset"].as_i64()),
            (Some(true), Some(last_seen)),
            "{ack}"
        );
        if submitter.is_finished() {
            break c;
        }
        // A few events, then drop the connection.
        for _ in 0..3 {
            let Ok(v) = tokio::time::timeout(Duration::from_secs(2), c.next()).await else {
                break;
            };
            if v["type"] == "event" && v["channel"] == CH {
                seen.push(v["offset"].as_i64().expect("offset"));
            }
        }
    };
    submitter.await.expect("submitter");
    // Every churn job has finished once the log holds 30 more completions.
    let deadline = tokio::time::Instant::now() + WAIT;
    while app.get_json("/api/jobs?status=completed&limit=1").await.1["total"].as_u64() < Some(33) {
        assert!(tokio::time::Instant::now() < deadline, "churn jobs did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let expected = log_offsets(&app, start).await;
    seen.extend(events_until(&mut c2, CH, *expected.last().expect("events")).await);
    assert_eq!(seen, expected, "each event exactly once, in order");

    // A job channel recovers the job's whole history from offset 0.
    let job = app.submit_ok(json!({ "name": "one", "command": "true" })).await;
    app.wait_status(job.id, JobStatus::Completed).await;
    let history: Vec<i64> = app.events(job.id).await.iter().map(|e| e.offset).collect();
    let ch = format!("job:{}:status", job.id);
    let ack = c2.subscribe(&ch, Some((epoch, 0))).await;
    assert_eq!(ack["type"], "subscribed", "{ack}");
    assert_eq!(
        events_until(&mut c2, &ch, *history.last().expect("history")).await,
        history
    );
    app.stop().await;
}

async fn restart_resumes(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    const CH: &str = "project:default:jobs";
    let mut c = Client::connect(&app, &app.token).await;
    let epoch = c.epoch();
    let start = c.subscribe(CH, None).await["offset"].as_i64().expect("offset");
    run_jobs(&app, 1).await;
    let before = log_offsets(&app, start).await;
    let mut seen = events_until(&mut c, CH, *before.last().expect("events")).await;
    let stop = tokio::spawn(app.stop());
    let (code, reason) = c.closed(&mut Vec::new()).await;
    assert_eq!(code, 1001, "{reason}");
    assert!(reason.contains("resume"), "{reason}");
    let (dir, url) = stop.await.expect("stopped");

    let settings = crate::common::settings(&dir, &url);
    let app = TestApp::start(dir, url, settings).await;
    run_jobs(&app, 2).await;
    let expected = log_offsets(&app, start).await;
    let mut c = Client::connect(&app, &app.token).await;
    assert_eq!(c.epoch(), epoch, "the epoch belongs to the database, not the process");
    let last = *seen.last().expect("seen");
    let ack = c.subscribe(CH, Some((&epoch, last))).await;
    assert_eq!(ack["recovered"], true, "{ack}");
    seen.extend(events_until(&mut c, CH, *expected.last().expect("events")).await);
    assert_eq!(seen, expected);
    app.stop().await;
}

async fn slow_consumer(db: Db) {
    let Some(app) = TestApp::spawn_with(db, |s| s.gateway.queue_messages = 2).await else {
        return;
    };
    const CH: &str = "project:default:jobs";
    let mut c = Client::connect(&app, &app.token).await;
    let epoch = c.epoch();
    let start = c.subscribe(CH, None).await["offset"].as_i64().expect("offset");
    let jobs: Vec<Value> = (0..40)
        .map(|k| json!({ "name": format!("b{k}"), "command": "true" }))
        .collect();
    let (status, body) = app.send_json("POST", "/api/jobs/batch", &json!({ "jobs": jobs })).await;
    assert_eq!(status, 201, "{body}");
    // One commit of 80+ events against a queue of 2: the connection is cut.
    let mut got = Vec::new();
    let (code, reason) = c.closed(&mut got).await;
    assert_eq!(code, 4008, "{reason}");
    assert!(reason.contains("slow consumer"), "{reason}");
    for j in body["jobs"].as_array().expect("jobs") {
        let id = j["id"].as_str().expect("id").parse().expect("uuid");
        app.wait_status(id, JobStatus::Completed).await;
    }
    let expected = log_offsets(&app, start).await;
    let end = *expected.last().expect("events");
    let mut seen: Vec<i64> = got.into_iter().map(|(_, o)| o).collect();
    // Resume (cut again if it lags again) until the end of the log.
    let mut cuts = 1;
    while seen.last().is_none_or(|o| *o < end) {
        let mut c = Client::connect(&app, &app.token).await;
        let ack = c
            .subscribe(CH, Some((&epoch, seen.last().copied().unwrap_or(start))))
            .await;
        assert_eq!(ack["recovered"], true, "{ack}");
        let mut more = Vec::new();
        loop {
            let msg = tokio::time::timeout(WAIT, c.ws.next()).await.expect("in time");
            match msg {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(t.as_str()).expect("json");
                    if v["type"] == "event" {
                        more.push(v["offset"].as_i64().expect("offset"));
                        if more.last() == Some(&end) {
                            break;
                        }
                    }
                }
                Some(Ok(Message::Close(Some(f)))) => {
                    assert_eq!(f.code, CloseCode::from(4008));
                    cuts += 1;
                    break;
                }
                Some(Ok(_)) => {}
                other => panic!("{other:?}"),
            }
        }
        seen.extend(more);
        assert!(cuts < 50, "resuming made no progress");
    }
    assert_eq!(seen, expected, "cut {cuts} time(s); still each event exactly once");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gaps_are_explicit_and_live_events_follow() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    let mut c = Client::connect(&app, &app.token).await;
    let ack = c.subscribe("project:default:jobs", Some(("another-epoch", 1))).await;
    assert_eq!(
        (ack["type"].as_str(), ack["recovered"].as_bool()),
        (Some("subscribed"), Some(false)),
        "{ack}"
    );
    let gap = c.next().await;
    assert_eq!(gap["type"], "gap", "{gap}");
    assert!(gap["reason"].as_str().unwrap_or_default().contains("epoch"), "{gap}");
    // Beyond the end of the log (a restored database): a gap too, then live events.
    let job = app.submit_ok(json!({ "name": "x", "command": "true" })).await;
    let ch = format!("job:{}:status", job.id);
    let epoch = c.epoch();
    let ack = c.subscribe(&ch, Some((&epoch, 1_000_000_000))).await;
    assert_eq!(ack["type"], "subscribed", "{ack}");
    let mut saw_gap = false;
    loop {
        let v = c.next().await;
        if v["type"] == "gap" && v["channel"] == ch.as_str() {
            saw_gap = true;
        }
        if v["type"] == "event" && v["channel"] == ch.as_str() && v["event"]["event_type"] == "job.completed" {
            break;
        }
    }
    assert!(saw_gap);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_are_authorized_like_http_and_bad_frames_are_answered() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    let ada = app.user_token("ada", "scientist", &[("alpha", "member")]).await;
    let _bob = app.user("bob", "scientist", &[("beta", "member")]).await;
    let beta_job = app
        .submit_ok(json!({ "name": "b", "command": "true", "project": "beta" }))
        .await;
    let mut c = Client::connect(&app, &ada).await;
    let refused = |v: &Value| (v["type"].as_str().map(str::to_owned), v["status"].as_u64());
    let ack = c.subscribe("project:alpha:jobs", None).await;
    assert_eq!(ack["type"], "subscribed", "{ack}");
    for (channel, status) in [
        ("project:beta:jobs".to_owned(), 404),
        (format!("job:{}:status", beta_job.id), 404),
        (format!("job:{}:metrics", beta_job.id), 404),
        (format!("user:{}:notifications", uuid::Uuid::now_v7()), 403),
        ("jobs:everything".to_owned(), 400),
        ("project:alpha:jobs".to_owned(), 409),
    ] {
        let v = c.subscribe(&channel, None).await;
        assert_eq!(refused(&v), (Some("refused".into()), Some(status)), "{channel}: {v}");
        assert!(!v["reason"].as_str().unwrap_or_default().is_empty(), "{v}");
    }
    assert_eq!(c.subscribe("system:alerts", None).await["type"], "subscribed");
    c.send(json!({ "op": "explode" })).await;
    assert_eq!(c.next().await["type"], "error");
    crate::common::within(WAIT, "WebSocket send", c.ws.send(Message::Text("{not json".into())))
        .await
        .expect("send");
    assert_eq!(c.next().await["type"], "error");
    crate::common::within(WAIT, "WebSocket send", c.ws.send(Message::Binary(vec![1, 2, 3].into())))
        .await
        .expect("send");
    assert_eq!(c.next().await["type"], "error");
    c.send(json!({ "op": "ping", "id": 3 })).await;
    assert_eq!(c.next().await, json!({ "type": "pong", "id": 3 }));

    // Only alpha's events reach ada.
    let alpha_job = app
        .submit_ok(json!({ "name": "a", "command": "true", "project": "alpha" }))
        .await;
    app.submit_ok(json!({ "name": "b2", "command": "true", "project": "beta" }))
        .await;
    loop {
        let v = c.next().await;
        if v["type"] == "event" {
            assert_eq!(v["channel"], "project:alpha:jobs", "{v}");
            assert_eq!(v["event"]["job_id"], alpha_job.id.to_string(), "{v}");
            if v["event"]["event_type"] == "job.completed" {
                break;
            }
        }
    }
    // A frame over the limit ends the connection with 1009.
    crate::common::within(
        WAIT,
        "WebSocket send",
        c.ws.send(Message::Text("x".repeat(10_000).into())),
    )
    .await
    .expect("send");
    let (code, reason) = c.closed(&mut Vec::new()).await;
    assert_eq!(code, 1009, "{reason}");

    // No credentials: refused before the upgrade.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let anon = format!("ws://{}/api/realtime/ws", app.addr)
        .into_client_request()
        .expect("req");
    match crate::common::within(WAIT, "WebSocket handshake", tokio_tungstenite::connect_async(anon)).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 401),
        other => panic!("anonymous connection: {other:?}"),
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_heartbeats_and_revocation_end_connections_with_a_reason() {
    let Some(app) = TestApp::spawn_with(Db::Sqlite, |s| {
        s.gateway.max_connections_per_credential = 2;
        s.gateway.heartbeat_secs = 1;
        s.gateway.recheck_secs = 1;
    })
    .await
    else {
        return;
    };
    let ada = app.user_token("ada", "scientist", &[("alpha", "member")]).await;
    let mut a1 = Client::connect(&app, &ada).await;
    let mut a2 = Client::connect(&app, &ada).await;
    match crate::common::within(
        WAIT,
        "WebSocket handshake",
        tokio_tungstenite::connect_async(app.ws_request_with("/api/realtime/ws", &ada)),
    )
    .await
    {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => {
            assert_eq!(res.status(), 429);
            assert!(res.headers().contains_key("retry-after"));
        }
        other => panic!("third connection: {other:?}"),
    }
    // A heartbeat arrives each second; a client that stops answering pings is dropped.
    let beat = loop {
        let msg = tokio::time::timeout(WAIT, a1.ws.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("frame");
        if let Message::Text(t) = msg {
            break serde_json::from_str::<Value>(t.as_str()).expect("json");
        }
    };
    assert_eq!(beat["type"], "heartbeat", "{beat}");
    tokio::time::sleep(Duration::from_millis(3500)).await;
    for a in [&mut a1, &mut a2] {
        let (code, reason) = a.closed(&mut Vec::new()).await;
        assert_eq!(code, 4009, "{reason}");
    }
    let mut a3 = Client::connect(&app, &ada).await;

    // Revoking the token closes a connection of it within a re-check.
    let tokens: Value = crate::common::client_with(&ada)
        .get(app.url("/api/tokens"))
        .send()
        .await
        .expect("tokens")
        .json()
        .await
        .expect("json");
    let id = tokens
        .as_array()
        .and_then(|t| t.first())
        .and_then(|t| t["id"].as_str())
        .expect("token id")
        .to_owned();
    let res = crate::common::client_with(&ada)
        .delete(app.url(&format!("/api/tokens/{id}")))
        .send()
        .await
        .expect("revoke");
    assert!(res.status().is_success(), "{:?}", res.text().await);
    let (code, reason) = a3.closed(&mut Vec::new()).await;
    assert_eq!(code, 4001, "{reason}");
    assert!(reason.contains("revoked"), "{reason}");
    app.stop().await;
}

/// Reads SSE records from a streaming body until `done` says stop; (event name, id, data).
async fn sse_records(
    res: reqwest::Response,
    mut done: impl FnMut(&[(String, String, Value)]) -> bool,
) -> Vec<(String, String, Value)> {
    let mut body = res.bytes_stream();
    let mut buf = String::new();
    let mut out = Vec::new();
    while !done(&out) {
        let chunk = tokio::time::timeout(WAIT, body.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("chunk");
        buf.push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        while let Some(end) = buf.find("\n\n") {
            let record: String = buf.drain(..end + 2).collect();
            let (mut name, mut id, mut data) = (String::from("message"), String::new(), String::new());
            for line in record.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    name = v.to_owned();
                } else if let Some(v) = line.strip_prefix("id: ") {
                    id = v.to_owned();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push_str(v);
                }
            }
            if !data.is_empty() {
                out.push((name, id, serde_json::from_str(&data).expect("json data")));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_sent_events_resume_from_last_event_id() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    let sse = |q: &str| app.client.get(app.url(&format!("/api/realtime/sse{q}")));
    let (s, v) = app.get_json("/api/realtime/sse").await;
    assert_eq!((s, v["error"]["field"].as_str()), (400, Some("channels")), "{v}");
    let res = sse("?channels=project:default:jobs")
        .header("last-event-id", "nonsense")
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 400);
    let ada = app.user_token("ada", "scientist", &[("alpha", "member")]).await;
    let res = crate::common::client_with(&ada)
        .get(app.url("/api/realtime/sse?channels=project:default:jobs"))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 404, "another project's channel");

    run_jobs(&app, 2).await;
    let expected = log_offsets(&app, 0).await;
    let end = *expected.last().expect("events");
    let res = sse("?channels=project:default:jobs").send().await.expect("req");
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let welcome = sse_records(res, |r| !r.is_empty()).await;
    assert_eq!(welcome[0].0, "welcome");
    let epoch = welcome[0].2["epoch"].as_str().expect("epoch").to_owned();

    let res = sse("?channels=project:default:jobs")
        .header("last-event-id", format!("{epoch}:{}", expected[2]))
        .send()
        .await
        .expect("req");
    let records = sse_records(res, |r| {
        r.last().is_some_and(|(_, id, _)| id.ends_with(&format!(":{end}")))
    })
    .await;
    let ids: Vec<i64> = records
        .iter()
        .filter(|(name, _, _)| name == "message")
        .map(|(_, id, v)| {
            assert_eq!(id, &format!("{epoch}:{}", v["offset"]));
            v["offset"].as_i64().expect("offset")
        })
        .collect();
    assert_eq!(ids, expected[3..].to_vec());
    app.stop().await;
}

/// Two server processes on one PostgreSQL database: a change made through A reaches a client
/// of B at once (NOTIFY), not at B's next poll of the log (every 2 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_delivers_changes_made_through_the_first() {
    let Some(a) = TestApp::spawn(Db::Postgres).await else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = crate::common::settings(&dir, &a.database_url);
    let b = TestApp::start(dir, a.database_url.clone(), settings).await;
    const CH: &str = "project:default:jobs";
    let mut c = Client::connect(&b, &b.token).await;
    assert_eq!(
        c.epoch(),
        Client::connect(&a, &a.token).await.epoch(),
        "one log, one epoch"
    );
    assert_eq!(c.subscribe(CH, None).await["type"], "subscribed");
    let mut worst = Duration::ZERO;
    for k in 0..5 {
        let sent = tokio::time::Instant::now();
        let job = a
            .submit_ok(json!({ "name": format!("via-a-{k}"), "command": "true" }))
            .await;
        loop {
            let v = c.next().await;
            if v["type"] == "event" && v["event"]["job_id"] == job.id.to_string() {
                break;
            }
        }
        worst = worst.max(sent.elapsed());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(
        worst < Duration::from_secs(1),
        "slowest delivery through the other instance: {worst:?}"
    );
    b.stop().await;
    a.stop().await;
}
