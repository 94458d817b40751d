//! E-mail notifications against a real SMTP server (aiosmtpd): a job's end is e-mailed with a
//! working one-purpose unsubscribe link; an SMTP server that is down, and a server restart
//! meanwhile, lose nothing, send nothing twice and keep the order; the hourly limit holds the
//! rest for a digest.

use std::time::Duration;

use ch_domain::JobStatus;
use serde_json::{Value, json};
use server::settings::{Settings, SmtpSecurity, SmtpSettings};

use crate::common::smtp::SmtpServer;
use crate::common::{self, Db, TestApp};

fn smtp_at(port: u16) -> impl FnOnce(&mut Settings) {
    move |s: &mut Settings| {
        s.notify.smtp = Some(SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            security: SmtpSecurity::Plain,
            from: "Cosmic Horizons <horizons@example.org>".into(),
            retry_base_ms: 200,
            ..SmtpSettings::default()
        });
    }
}

/// Ada, in project `radio`, who wants e-mail at ada@example.org.
async fn ada(app: &TestApp) -> reqwest::Client {
    let ada = app.user("ada", "scientist", &[("radio", "member")]).await;
    let (s, r) = app
        .call(
            &ada,
            "PUT",
            "/api/notifications/rules",
            Some(json!({ "kinds": ["failed", "completed"], "in_app": true, "email": "ada@example.org" })),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    ada
}

/// Submits a job of Ada's that fails, and waits until it has.
async fn fail(app: &TestApp, ada: &reqwest::Client, name: &str) -> uuid::Uuid {
    let command = "echo calibrating; echo 'antenna 7 lost lock' >&2; exit 3";
    let body = json!({ "name": name, "project": "radio", "command": command, "max_retries": 0 });
    app.run_as(ada, body, JobStatus::Failed).await.id
}

/// A header's value, unfolded (RFC 5322 §2.2.3).
fn header(message: &str, name: &str) -> Option<String> {
    let unfolded = message.replace("\r\n", "\n").replace("\n ", " ").replace("\n\t", " ");
    let prefix = format!("{}: ", name.to_ascii_lowercase());
    unfolded
        .lines()
        .take_while(|l| !l.is_empty())
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_is_emailed_with_an_unsubscribe_link_that_works() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let Some(app) = TestApp::spawn_with(Db::Sqlite, smtp_at(smtp.port)).await else {
        return;
    };
    let ada = ada(&app).await;
    let job = fail(&app, &ada, "calibrate").await;
    let mail = smtp.wait_for(1, Duration::from_secs(20)).await;
    let m = &mail[0];
    assert_eq!(header(m, "Subject").as_deref(), Some("Job 'calibrate' failed"), "{m}");
    assert_eq!(header(m, "To").as_deref(), Some("ada@example.org"), "{m}");
    assert!(
        header(m, "From").is_some_and(|f| f.contains("horizons@example.org")),
        "{m}"
    );
    let (_, inbox) = app.call(&ada, "GET", "/api/notifications", None).await;
    let nid = inbox["items"][0]["id"].as_str().expect("notification").to_owned();
    assert_eq!(
        header(m, "Message-ID"),
        Some(format!("<{nid}@cosmic-horizons>")),
        "one id per notification"
    );
    assert!(
        m.contains("multipart/alternative") && m.contains("text/html"),
        "text and HTML: {m}"
    );
    assert!(m.contains(&job.to_string()), "links to the job: {m}");
    assert!(
        m.contains("Last lines of standard error") && m.contains("antenna 7 lost lock"),
        "the end of its output: {m}"
    );
    assert_eq!(
        header(m, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let link = header(m, "List-Unsubscribe")
        .and_then(|v| v.strip_prefix('<').and_then(|v| v.strip_suffix('>')).map(str::to_owned))
        .expect("List-Unsubscribe: <url>");
    let path = link
        .split_once("/api/")
        .map(|(_, p)| format!("/api/{p}"))
        .expect("a site URL");

    // A forged link is refused by name; the real one works without signing in.
    let (s, e) = app
        .call(&app.anon, "GET", "/api/notifications/unsubscribe?token=forged", None)
        .await;
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("token")), "{e}");
    let page = app.anon.get(app.url(&path)).send().await.expect("unsubscribe");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("no more e-mail to ada@example.org")
    );
    let (_, rules) = app.call(&ada, "GET", "/api/notifications/rules", None).await;
    assert_eq!(rules["email"], Value::Null, "{rules}");

    fail(&app, &ada, "again").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(smtp.messages().len(), 1, "no e-mail after unsubscribing");
    let (_, inbox) = app.call(&ada, "GET", "/api/notifications", None).await;
    assert_eq!(
        inbox["items"].as_array().map(Vec::len),
        Some(2),
        "the inbox still gets them"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_outage_and_a_restart_lose_nothing_repeat_nothing_and_keep_the_order() {
    let Some(mut smtp) = SmtpServer::start().await else {
        return;
    };
    let Some(app) = TestApp::spawn_with(Db::Sqlite, smtp_at(smtp.port)).await else {
        return;
    };
    let ada = ada(&app).await;
    smtp.pause();
    fail(&app, &ada, "first").await;
    fail(&app, &ada, "second").await;
    // Some retries fail meanwhile (200 ms, 400 ms, …).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (dir, url) = app.stop().await;
    smtp.resume().await;
    let settings = {
        let mut s = common::settings(&dir, &url);
        smtp_at(smtp.port)(&mut s);
        s
    };
    let app = TestApp::start(dir, url, settings).await;
    fail(&app, &ada, "third").await;
    let mail = smtp.wait_for(3, Duration::from_secs(30)).await;
    let subjects: Vec<_> = mail.iter().filter_map(|m| header(m, "Subject")).collect();
    assert_eq!(
        subjects,
        ["Job 'first' failed", "Job 'second' failed", "Job 'third' failed"],
        "in order"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(smtp.messages().len(), 3, "nothing twice");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_hourly_limit_the_rest_waits_for_a_digest() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let port = smtp.port;
    let Some(app) = TestApp::spawn_with(Db::Sqlite, move |s| {
        smtp_at(port)(s);
        if let Some(m) = s.notify.smtp.as_mut() {
            m.max_per_user_per_hour = 2;
        }
    })
    .await
    else {
        return;
    };
    let ada = ada(&app).await;
    for name in ["a", "b", "c", "d"] {
        fail(&app, &ada, name).await;
    }
    smtp.wait_for(2, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(smtp.messages().len(), 2, "two e-mails this hour");
    let store = server::store::Store::connect(&app.database_url).await.expect("store");
    let (_, inbox) = app.call(&ada, "GET", "/api/notifications", None).await;
    let mut held = Vec::new();
    for n in inbox["items"].as_array().expect("items") {
        let id = n["id"].as_str().and_then(|i| i.parse().ok()).expect("id");
        for d in store.deliveries_of(id).await.expect("deliveries") {
            if d.status == server::store::DeliveryStatus::Digest {
                assert!(
                    d.next_attempt_at > chrono::Utc::now() + chrono::Duration::minutes(55),
                    "{d:?}"
                );
                held.push(d.id);
            }
        }
    }
    assert_eq!(held.len(), 2, "the rest wait for the digest at the hour's end");
    // The hour ends (as if): one digest carries both.
    for id in held {
        store
            .delivery_held(id, chrono::Utc::now() - chrono::Duration::seconds(1))
            .await
            .expect("due now");
    }
    let mail = smtp.wait_for(3, Duration::from_secs(20)).await;
    let digest = &mail[2];
    assert_eq!(
        header(digest, "Subject").as_deref(),
        Some("2 notifications from Cosmic Horizons"),
        "{digest}"
    );
    assert!(
        digest.contains("Job 'c' failed") && digest.contains("Job 'd' failed"),
        "{digest}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.messages().len(), 3);
    store.close().await;
    app.stop().await;
}

/// Quiet hours that cover now hold the e-mail until they end (the inbox is not held); when
/// the user drops them, what they held goes at once, as one digest that says why it is late.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_hold_email_until_they_end() {
    let Some(smtp) = SmtpServer::start().await else { return };
    let Some(app) = TestApp::spawn_with(Db::Sqlite, smtp_at(smtp.port)).await else {
        return;
    };
    let ada = app.user("ada", "scientist", &[("radio", "member")]).await;
    let now = chrono::Utc::now();
    let hhmm = |t: chrono::DateTime<chrono::Utc>| t.format("%H:%M").to_string();
    let (start, end) = (now - chrono::Duration::hours(1), now + chrono::Duration::hours(2));
    let (s, r) = app
        .call(
            &ada,
            "PUT",
            "/api/notifications/rules",
            Some(json!({ "kinds": ["failed"], "in_app": true, "email": "ada@example.org",
                         "quiet_hours": { "start": hhmm(start), "end": hhmm(end) }, "time_zone": "UTC" })),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    fail(&app, &ada, "night").await;
    let (_, inbox) = app.call(&ada, "GET", "/api/notifications", None).await;
    let id = inbox["items"][0]["id"]
        .as_str()
        .and_then(|i| i.parse().ok())
        .expect("in the inbox at once");
    let store = server::store::Store::connect(&app.database_url).await.expect("store");
    let held = store.deliveries_of(id).await.expect("deliveries");
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].status, server::store::DeliveryStatus::Digest, "{held:?}");
    let until = held[0].next_attempt_at;
    assert!(
        until > now + chrono::Duration::minutes(110) && until <= end,
        "held until the quiet hours end ({end}): {until}"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(smtp.messages().is_empty(), "nothing sent in the quiet hours");
    // Ada drops her quiet hours: what they held goes now, as one digest.
    let (s, r) = app
        .call(
            &ada,
            "PUT",
            "/api/notifications/rules",
            Some(json!({ "kinds": ["failed"], "in_app": true, "email": "ada@example.org" })),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let mail = smtp.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(
        header(&mail[0], "Subject").as_deref(),
        Some("1 notification from Cosmic Horizons"),
        "{}",
        mail[0]
    );
    // Quoted-printable breaks long lines with a trailing `=`.
    let text = mail[0].replace("=\r\n", "").replace("=\n", "");
    assert!(
        text.contains("quiet hours you have since turned off") && text.contains("Job 'night' failed"),
        "{text}"
    );
    store.close().await;
    app.stop().await;
}
