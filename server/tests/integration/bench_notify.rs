//! Benchmark of issue 31's speed targets (ignored by the test run; `cargo xtask bench notify`):
//! event → in-app badge p95 < 200 ms, → e-mail accepted by the SMTP server p95 < 2 s, →
//! webhook delivered p95 < 1 s, at 100 notifications/s.
//!
//! The load: `BENCH_USERS` users (10) each own `BENCH_JOBS` queued jobs (100); the driver
//! cancels them through the HTTP API at `BENCH_RATE` per second (100), round-robin over the
//! users — each cancellation is a job end (`job.cancelled`) that its owner's rules want in the
//! inbox, by e-mail (aiosmtpd) and on a webhook (a receiver in this process). Times count from
//! the cancel's answer (the event is committed by then) to:
//! - **baseline**: the `job.cancelled` event reaching a subscriber of the project's channel
//!   (the gateway alone, no notification work);
//! - **badge**: the owner's `notification.sent` on `user:<id>:notifications`;
//! - **webhook**: the receiver's request;
//! - **e-mail**: the message file aiosmtpd wrote (its modification time).
//!
//! Prints p50/p95/max of each, their ratio to the baseline's p95, and the load average.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use server::settings::{SmtpSecurity, SmtpSettings};
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::common::smtp::SmtpServer;
use crate::common::{self, Db, TestApp};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// When each job's notification arrived on one path (wall clock).
type Arrivals = Arc<Mutex<HashMap<Uuid, SystemTime>>>;

fn percentiles(mut ms: Vec<f64>) -> (f64, f64, f64) {
    if ms.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 * q).ceil() as usize).clamp(1, ms.len()) - 1];
    (at(0.5), at(0.95), ms[ms.len() - 1])
}

/// Follows a WebSocket subscribed to `channel`, recording when each event of type `want`
/// arrives, by job id.
async fn follow(app: &TestApp, token: &str, channel: String, want: &'static str, into: Arrivals) {
    let req = app.ws_request_with("/api/realtime/ws", token);
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("connect");
    let sub = json!({ "op": "subscribe", "id": 1, "channel": channel });
    ws.send(Message::Text(sub.to_string().into())).await.expect("subscribe");
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let mut ready = Some(ready_tx);
    tokio::spawn(async move {
        while let Some(Ok(msg)) = ws.next().await {
            let Message::Text(t) = msg else { continue };
            let Ok(v) = serde_json::from_str::<Value>(t.as_str()) else {
                continue;
            };
            if v["type"] == "subscribed"
                && let Some(r) = ready.take()
            {
                let _ = r.send(());
            }
            if v["type"] == "event"
                && v["event"]["event_type"] == want
                && let Some(job) = v["event"]["job_id"].as_str().and_then(|j| j.parse().ok())
            {
                into.lock().expect("lock").entry(job).or_insert_with(SystemTime::now);
            }
        }
    });
    common::within(Duration::from_secs(20), "subscribed", ready_rx)
        .await
        .expect("subscribed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: cargo xtask bench notify"]
async fn notifications_at_100_per_second() {
    let (users, jobs, rate) = (env("BENCH_USERS", 10), env("BENCH_JOBS", 100), env("BENCH_RATE", 100));
    let Some(smtp) = SmtpServer::start().await else { return };
    let port = smtp.port;
    let Some(app) = TestApp::spawn_with(Db::Sqlite, move |s| {
        s.executor.slots = 1;
        s.auth.writes_per_minute = 1_000_000;
        s.auth.write_burst = 100_000;
        s.notify.webhooks.allow_private = true;
        s.notify.smtp = Some(SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            security: SmtpSecurity::Plain,
            from: "Cosmic Horizons <horizons@example.org>".into(),
            max_per_user_per_hour: 1_000_000,
            ..SmtpSettings::default()
        });
    })
    .await
    else {
        return;
    };

    // The webhook receiver: records when each job's notification arrived.
    let hooked: Arrivals = Arc::default();
    let seen = hooked.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: String| {
            let seen = seen.clone();
            async move {
                let at = SystemTime::now();
                let v: Value = serde_json::from_str(&body).unwrap_or_default();
                if let Some(job) = v["data"]["notification"]["job_id"]
                    .as_str()
                    .and_then(|j| j.parse().ok())
                {
                    seen.lock().expect("lock").entry(job).or_insert(at);
                }
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let hook_url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    // One job holds the only slot; every other job waits in the queue until cancelled.
    let admin_token = app.user_token("watcher", "admin", &[("radio", "viewer")]).await;
    let admin = common::client_with(&admin_token);
    let blocker = app
        .run_as(
            &admin,
            json!({ "name": "blocker", "project": "radio", "command": "sleep 600" }),
            ch_domain::JobStatus::Running,
        )
        .await;
    let baseline: Arrivals = Arc::default();
    follow(
        &app,
        &admin_token,
        "project:radio:jobs".into(),
        "job.cancelled",
        baseline.clone(),
    )
    .await;

    let badge: Arrivals = Arc::default();
    let mut owned: Vec<(reqwest::Client, Vec<Uuid>)> = Vec::new();
    for u in 0..users {
        let name = format!("user{u}");
        let token = app.user_token(&name, "scientist", &[("radio", "member")]).await;
        let client = common::client_with(&token);
        let rules = json!({ "kinds": ["cancelled"], "in_app": true, "email": format!("{name}@example.org") });
        let (s, r) = app.call(&client, "PUT", "/api/notifications/rules", Some(rules)).await;
        assert_eq!(s, 200, "{r}");
        let (s, r) = app
            .call(
                &client,
                "POST",
                "/api/notifications/webhooks",
                Some(json!({ "url": hook_url })),
            )
            .await;
        assert_eq!(s, 201, "{r}");
        let (_, me) = app.call(&client, "GET", "/api/auth/me", None).await;
        let id = me["user"]["user_id"].as_str().expect("user id").to_owned();
        follow(
            &app,
            &token,
            format!("user:{id}:notifications"),
            "notification.sent",
            badge.clone(),
        )
        .await;
        let batch: Vec<Value> = (0..jobs)
            .map(|i| json!({ "name": format!("j{i}"), "project": "radio", "command": "true" }))
            .collect();
        let (s, created) = app
            .call(&client, "POST", "/api/jobs/batch", Some(json!({ "jobs": batch })))
            .await;
        assert_eq!(s, 201, "{created}");
        let ids = created["jobs"]
            .as_array()
            .or(created.as_array())
            .expect("created jobs")
            .iter()
            .filter_map(|j| j["id"].as_str().and_then(|i| i.parse().ok()))
            .collect();
        owned.push((client, ids));
    }

    // Cancel at the rate, round-robin over the users.
    let load_before = common::load_average();
    let total = users * jobs;
    let mut committed: HashMap<Uuid, SystemTime> = HashMap::with_capacity(total);
    let period = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let start = Instant::now();
    let mut pending = Vec::with_capacity(total);
    for i in 0..total {
        let (client, ids) = &owned[i % users];
        let Some(id) = ids.get(i / users).copied() else {
            continue;
        };
        let due = start + period.mul_f64(i as f64);
        tokio::time::sleep_until(due.into()).await;
        let client = client.clone();
        let url = app.url(&format!("/api/jobs/{id}/cancel"));
        pending.push(tokio::spawn(async move {
            let res = client.post(url).send().await.expect("cancel");
            assert!(res.status().is_success(), "cancel {id}: {}", res.status());
            (id, SystemTime::now())
        }));
    }
    for p in pending {
        let (id, at) = p.await.expect("cancel task");
        committed.insert(id, at);
    }
    let sent_in = start.elapsed();

    // Wait (≤ 60 s) for every path to see every job.
    let mail_count = || smtp.messages().len();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let done = [&baseline, &badge, &hooked]
            .iter()
            .all(|a| a.lock().expect("lock").len() >= total)
            && mail_count() >= total;
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mailed = smtp.arrivals();
    let load_after = common::load_average();

    let latencies = |arrivals: &HashMap<Uuid, SystemTime>| -> Vec<f64> {
        arrivals
            .iter()
            .filter_map(|(id, at)| {
                let from = committed.get(id)?;
                Some(at.duration_since(*from).unwrap_or_default().as_secs_f64() * 1000.0)
            })
            .collect()
    };
    let base = latencies(&baseline.lock().expect("lock"));
    let rows = [
        ("baseline: job.cancelled on the project channel", base.clone(), None),
        (
            "in-app badge (notification.sent)",
            latencies(&badge.lock().expect("lock")),
            Some(200.0),
        ),
        (
            "webhook delivered",
            latencies(&hooked.lock().expect("lock")),
            Some(1000.0),
        ),
        ("e-mail accepted by aiosmtpd", latencies(&mailed), Some(2000.0)),
    ];
    let (_, base_p95, _) = percentiles(base);
    println!(
        "notifications bench: {total} cancellations ({users} users × {jobs}) at {rate}/s asked, {:.1}/s achieved",
        total as f64 / sent_in.as_secs_f64()
    );
    println!("load average before: {load_before}; after: {load_after}");
    println!("| path | seen | p50 ms | p95 ms | max ms | p95 / baseline p95 | target p95 |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (name, ms, target) in rows {
        let n = ms.len();
        let (p50, p95, max) = percentiles(ms);
        println!(
            "| {name} | {n}/{total} | {p50:.0} | {p95:.0} | {max:.0} | {:.1}× | {} |",
            p95 / base_p95,
            target.map_or("—".to_owned(), |t| format!("< {t:.0}"))
        );
    }
    let (s, _) = app
        .call(&admin, "POST", &format!("/api/jobs/{}/cancel", blocker.id), None)
        .await;
    assert!(s < 300);
    app.stop().await;
}
