//! Webhooks against a real HTTP receiver: a job's end is POSTed signed per Standard Webhooks,
//! retried until the receiver takes it (same `webhook-id` every time), logged; private
//! addresses are refused; a given-up delivery can be sent again; a removed webhook gets nothing;
//! a delivery cut by kill -9 goes again after the restart.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ch_domain::JobStatus;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{Db, TestApp};

/// A receiver that answers 503 while `failing` > 0 (counting down), then 200; while `hanging`
/// > 0 (counting down) it takes a request and answers nothing for a minute.
#[derive(Clone, Default)]
struct Receiver {
    seen: Arc<Mutex<Vec<(HeaderMap, String, u16)>>>,
    failing: Arc<AtomicU32>,
    hanging: Arc<AtomicU32>,
}

impl Receiver {
    async fn start(failing: u32) -> (Self, String) {
        let r = Receiver::default();
        r.failing.store(failing, Ordering::SeqCst);
        let state = r.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    if state
                        .hanging
                        .try_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                    {
                        state.seen.lock().expect("lock").push((headers, body, 0));
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        return StatusCode::OK;
                    }
                    let fail = state
                        .failing
                        .try_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    let status = if fail { 503 } else { 200 };
                    state.seen.lock().expect("lock").push((headers, body, status));
                    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, url)
    }

    fn seen(&self) -> Vec<(HeaderMap, String, u16)> {
        self.seen.lock().expect("lock").clone()
    }

    async fn wait_for(&self, n: usize) -> Vec<(HeaderMap, String, u16)> {
        for _ in 0..200 {
            let s = self.seen();
            if s.len() >= n {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{} of {n} requests arrived within 20 s", self.seen().len());
    }
}

/// Verifies a request as a Standard Webhooks receiver does.
fn verify(secret: &str, headers: &HeaderMap, body: &str) -> bool {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let key = BASE64.decode(secret.trim_start_matches("whsec_")).expect("secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
    mac.update(format!("{}.{}.{body}", h("webhook-id"), h("webhook-timestamp")).as_bytes());
    let want = format!("v1,{}", BASE64.encode(mac.finalize().into_bytes()));
    h("webhook-signature").split(' ').any(|s| s == want)
}

async fn fail_a_job(app: &TestApp, who: &reqwest::Client, name: &str) -> String {
    let body = json!({ "name": name, "project": "radio", "command": "exit 2", "max_retries": 0 });
    app.run_as(who, body, JobStatus::Failed).await.id.to_string()
}

fn lenient(max_attempts: u32) -> impl FnOnce(&mut server::settings::Settings) {
    move |s| {
        s.notify.webhooks.allow_private = true;
        s.notify.webhooks.retry_base_ms = 100;
        s.notify.webhooks.max_attempts = max_attempts;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jobs_end_is_posted_signed_and_retried_until_the_receiver_takes_it() {
    let (receiver, url) = Receiver::start(2).await;
    let Some(app) = TestApp::spawn_with(Db::Sqlite, lenient(15)).await else {
        return;
    };
    let ada = app.user("ada", "scientist", &[("radio", "member")]).await;
    let bob = app.user("bob", "scientist", &[("radio", "member")]).await;
    let (s, hook) = app
        .call(
            &ada,
            "POST",
            "/api/notifications/webhooks",
            Some(json!({ "url": url, "description": "lab bot" })),
        )
        .await;
    assert_eq!(s, 201, "{hook}");
    let secret = hook["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{hook}");
    let job = fail_a_job(&app, &ada, "calibrate").await;

    let seen = receiver.wait_for(3).await;
    assert_eq!(seen.iter().map(|s| s.2).collect::<Vec<_>>(), [503, 503, 200]);
    let ids: Vec<_> = seen.iter().map(|s| s.0.get("webhook-id").cloned()).collect();
    assert!(
        ids[0].is_some() && ids.iter().all(|i| *i == ids[0]),
        "one id across retries: {ids:?}"
    );
    for (headers, body, _) in &seen {
        assert!(verify(&secret, headers, body), "signature of {body}");
        assert!(
            !verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", headers, body),
            "another key fails"
        );
    }
    let body: Value = serde_json::from_str(&seen[2].1).expect("json");
    assert_eq!(body["type"], "notification.sent", "{body}");
    assert_eq!(body["data"]["notification"]["kind"], "failed", "{body}");
    assert_eq!(body["data"]["job"]["id"], job, "{body}");

    let hook_id = hook["id"].as_str().expect("id");
    let path = format!("/api/notifications/webhooks/{hook_id}/deliveries");
    let (s, log) = app.call(&ada, "GET", &path, None).await;
    assert_eq!(s, 200, "{log}");
    assert_eq!(log[0]["status"], "sent", "{log}");
    assert_eq!(
        (log[0]["attempts"].as_u64(), log[0]["response_status"].as_u64()),
        (Some(3), Some(200)),
        "{log}"
    );
    assert!(log[0]["latency_ms"].as_i64().is_some_and(|l| l >= 0), "{log}");
    // Another user's webhook is not theirs to see.
    assert_eq!(app.call(&bob, "GET", &path, None).await.0, 404);
    assert_eq!(
        app.call(&bob, "GET", "/api/notifications/webhooks", None).await.1,
        json!([])
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_are_refused() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    let ada = app.user("ada", "scientist", &[("radio", "member")]).await;
    for (url, why) in [
        ("http://127.0.0.1:9/hook", "private network"),
        ("http://169.254.169.254/latest/meta-data", "private network"),
        ("http://[::1]/hook", "private network"),
        ("ftp://example.org/hook", "not http"),
        ("hook", "not a URL"),
    ] {
        let (s, e) = app
            .call(&ada, "POST", "/api/notifications/webhooks", Some(json!({ "url": url })))
            .await;
        assert_eq!((s, e["error"]["field"].as_str()), (422, Some("url")), "{url}: {e}");
        assert!(
            e["error"]["message"].as_str().is_some_and(|m| m.contains(why)),
            "{url}: {e}"
        );
    }
    let (s, e) = app
        .call(
            &ada,
            "POST",
            "/api/notifications/webhooks",
            Some(json!({ "url": "https://example.org/hook", "description": "x".repeat(201) })),
        )
        .await;
    assert_eq!((s, e["error"]["field"].as_str()), (422, Some("description")), "{e}");
    let (s, e) = app.call(&ada, "DELETE", "/api/notifications/webhooks/nope", None).await;
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("id")), "{e}");
    let (s, _) = app.call(&app.anon, "GET", "/api/notifications/webhooks", None).await;
    assert_eq!(s, 401);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_given_up_delivery_can_be_sent_again_and_a_removed_webhook_gets_nothing() {
    let (receiver, url) = Receiver::start(1000).await;
    let Some(app) = TestApp::spawn_with(Db::Sqlite, lenient(2)).await else {
        return;
    };
    let ada = app.user("ada", "scientist", &[("radio", "member")]).await;
    let (_, hook) = app
        .call(&ada, "POST", "/api/notifications/webhooks", Some(json!({ "url": url })))
        .await;
    let hook_id = hook["id"].as_str().expect("id").to_owned();
    let log_path = format!("/api/notifications/webhooks/{hook_id}/deliveries");
    fail_a_job(&app, &ada, "first").await;
    receiver.wait_for(2).await;
    let mut log = Value::Null;
    for _ in 0..100 {
        log = app.call(&ada, "GET", &log_path, None).await.1;
        if log[0]["status"] == "dead" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        (log[0]["status"].as_str(), log[0]["attempts"].as_u64()),
        (Some("dead"), Some(2)),
        "{log}"
    );
    assert_eq!(log[0]["response_status"], 503, "{log}");
    assert!(
        log[0]["last_error"].as_str().is_some_and(|e| e.contains("503")),
        "{log}"
    );

    receiver.failing.store(0, Ordering::SeqCst);
    let delivery = log[0]["id"].as_str().expect("delivery id").to_owned();
    let retry = format!("/api/notifications/deliveries/{delivery}/retry");
    let (s, again) = app.call(&ada, "POST", &retry, None).await;
    assert_eq!((s, again["status"].as_str()), (200, Some("pending")), "{again}");
    let seen = receiver.wait_for(3).await;
    assert_eq!(seen[2].2, 200);
    for _ in 0..100 {
        log = app.call(&ada, "GET", &log_path, None).await.1;
        if log[0]["status"] == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log[0]["status"], "sent", "{log}");
    let (s, e) = app.call(&ada, "POST", &retry, None).await;
    assert_eq!(s, 409, "only a dead delivery is sent again: {e}");

    assert_eq!(
        app.call(&ada, "DELETE", &format!("/api/notifications/webhooks/{hook_id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        app.call(&ada, "DELETE", &format!("/api/notifications/webhooks/{hook_id}"), None)
            .await
            .0,
        404
    );
    fail_a_job(&app, &ada, "after").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.seen().len(), 3, "a removed webhook gets nothing");
    app.stop().await;
}

/// kill -9 while a webhook request is in flight: after the restart the delivery is sent again,
/// with the same `webhook-id` (the receiver can tell it is the same message), once, and
/// recorded as sent; the notification itself is not made twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_cut_by_kill_9_is_sent_again_after_the_restart() {
    let (receiver, url) = Receiver::start(0).await;
    receiver.hanging.store(1, Ordering::SeqCst);
    let mut server = crate::common::process::ServerProcess::start_with(&[
        ("CH_NOTIFY__WEBHOOKS__ALLOW_PRIVATE", "true"),
        ("CH_NOTIFY__WEBHOOKS__TIMEOUT_SECS", "2"),
        ("CH_NOTIFY__WEBHOOKS__RETRY_BASE_MS", "100"),
    ])
    .await;
    let token = server.admin_token("read,submit");
    let admin = crate::common::client_with(&token);
    let base = server.base.clone();
    let api = |p: &str| format!("{base}{p}");
    let hook: Value = admin
        .post(api("/api/notifications/webhooks"))
        .json(&json!({ "url": url }))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let secret = hook["secret"].as_str().expect("secret").to_owned();
    let res = admin
        .post(api("/api/jobs"))
        .json(&json!({ "name": "cut", "command": "exit 5", "max_retries": 0 }))
        .send()
        .await
        .expect("submit");
    assert_eq!(res.status(), 201);
    // The request arrives and hangs: kill the server while it waits for the answer.
    receiver.wait_for(1).await;
    server.kill_9();
    server.serve().await;
    // The crashed claim lapses (2 × 2 s + 5 s), then the delivery goes again.
    let seen = receiver.wait_for(2).await;
    assert_eq!(seen[1].2, 200);
    assert_eq!(
        seen[0].0.get("webhook-id"),
        seen[1].0.get("webhook-id"),
        "the same message"
    );
    assert!(verify(&secret, &seen[1].0, &seen[1].1));
    let log_path = api(&format!(
        "/api/notifications/webhooks/{}/deliveries",
        hook["id"].as_str().expect("id")
    ));
    let mut log = Value::Null;
    for _ in 0..50 {
        log = admin
            .get(&log_path)
            .send()
            .await
            .expect("log")
            .json()
            .await
            .expect("json");
        if log[0]["status"] == "sent" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log.as_array().map(Vec::len), Some(1), "one delivery: {log}");
    assert_eq!(log[0]["status"], "sent", "{log}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(receiver.seen().len(), 2, "sent again once, not more");
    let inbox: Value = admin
        .get(api("/api/notifications"))
        .send()
        .await
        .expect("inbox")
        .json()
        .await
        .expect("json");
    assert_eq!(
        inbox["items"].as_array().map(Vec::len),
        Some(1),
        "one notification: {inbox}"
    );
}

/// A receiver that hangs holds up its own deliveries only: another user's webhook gets theirs
/// while the first request still hangs (the send deadline here is 30 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_receiver_delays_no_one_else() {
    let (stuck, stuck_url) = Receiver::start(0).await;
    stuck.hanging.store(1, Ordering::SeqCst);
    let (quick, quick_url) = Receiver::start(0).await;
    let Some(app) = TestApp::spawn_with(Db::Sqlite, |s| {
        lenient(3)(s);
        s.notify.webhooks.timeout_secs = 30;
    })
    .await
    else {
        return;
    };
    let ada = app.user("ada", "scientist", &[("radio", "member")]).await;
    let bob = app.user("bob", "scientist", &[("radio", "member")]).await;
    for (who, url) in [(&ada, &stuck_url), (&bob, &quick_url)] {
        let (s, hook) = app
            .call(who, "POST", "/api/notifications/webhooks", Some(json!({ "url": url })))
            .await;
        assert_eq!(s, 201, "{hook}");
    }
    fail_a_job(&app, &ada, "stuck").await;
    stuck.wait_for(1).await;
    let started = std::time::Instant::now();
    fail_a_job(&app, &bob, "quick").await;
    let seen = quick.wait_for(1).await;
    assert!(seen[0].1.contains("quick"), "{}", seen[0].1);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "Bob's webhook waited for Ada's hanging one: {:?}",
        started.elapsed()
    );
    assert_eq!(stuck.seen().len(), 1, "still hanging");
    app.stop().await;
}
