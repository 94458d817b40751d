//! Notifications against the real server: a job's end reaches its owner's inbox once (live on
//! their channel, never on the job's), marks and rules work and refuse bad input, and the
//! notifier resumes after a restart without sending anything twice.

use std::time::Duration;

use ch_domain::JobStatus;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{self, Db, TestApp};

both_backends! {
    a_jobs_end_reaches_its_owners_inbox_once_and_marks_work => inbox;
}

/// Waits (≤ 20 s) until `client`'s inbox lists `n` notifications; returns the page.
pub(crate) async fn inbox_of(app: &TestApp, client: &reqwest::Client, n: usize) -> Value {
    for _ in 0..200 {
        let (status, page) = app.call(client, "GET", "/api/notifications", None).await;
        assert_eq!(status, 200, "{page}");
        if page["items"].as_array().map(Vec::len) == Some(n) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the inbox did not reach {n} notifications");
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["id"].as_str().map(str::to_owned))
        .collect()
}

async fn inbox(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    let ada = app.user("ada", "scientist", &[("radio", "member")]).await;
    let bob = app.user("bob", "scientist", &[("radio", "member")]).await;
    let (status, failing) = app
        .call(
            &ada,
            "POST",
            "/api/jobs",
            Some(json!({ "name": "calibrate", "project": "radio", "command": "exit 3", "max_retries": 0 })),
        )
        .await;
    assert_eq!(status, 201, "{failing}");
    let failing: ch_domain::Job = serde_json::from_value(failing).expect("job");
    app.wait_status(failing.id, JobStatus::Failed).await;

    let page = inbox_of(&app, &ada, 1).await;
    let n = &page["items"][0];
    assert_eq!(n["kind"], "failed", "{page}");
    assert_eq!(n["title"], "Job 'calibrate' failed");
    assert_eq!(n["job_id"], failing.id.to_string());
    assert!(n["body"].as_str().is_some_and(|b| b.contains("exit code 3")), "{n}");
    assert_eq!(
        (page["unread"].as_i64(), page["more"].as_bool()),
        (Some(1), Some(false))
    );
    // Addressed to the owner alone: not to another member, not in the job's timeline.
    assert_eq!(inbox_of(&app, &bob, 0).await["unread"], 0);
    assert!(
        app.events(failing.id)
            .await
            .iter()
            .all(|e| !e.event_type.is_notification())
    );

    let done = app
        .run_as(
            &ada,
            json!({ "name": "image", "project": "radio", "command": "true" }),
            JobStatus::Completed,
        )
        .await;
    let page = inbox_of(&app, &ada, 2).await;
    assert_eq!(page["items"][0]["kind"], "completed", "newest first: {page}");
    assert_eq!(page["items"][0]["job_id"], done.id.to_string());
    let [newest, oldest] = <[String; 2]>::try_from(ids(&page["items"])).expect("two");

    // Paging by id.
    let (_, first) = app.call(&ada, "GET", "/api/notifications?limit=1", None).await;
    assert_eq!(
        (ids(&first["items"]), first["more"].as_bool()),
        (vec![newest.clone()], Some(true))
    );
    let (_, next) = app
        .call(
            &ada,
            "GET",
            &format!("/api/notifications?limit=1&before={newest}"),
            None,
        )
        .await;
    assert_eq!(
        (ids(&next["items"]), next["more"].as_bool()),
        (vec![oldest.clone()], Some(false))
    );

    // Marks: once each; another user's ids are not theirs to mark.
    let mark = |action: &str, ids: Option<Vec<&str>>| {
        let mut b = json!({ "action": action });
        if let Some(ids) = ids {
            b["ids"] = json!(ids);
        }
        b
    };
    let (s, m) = app
        .call(
            &bob,
            "POST",
            "/api/notifications/mark",
            Some(mark("read", Some(vec![&oldest]))),
        )
        .await;
    assert_eq!((s, m["changed"].as_array().map(Vec::len)), (200, Some(0)), "{m}");
    let (s, m) = app
        .call(
            &ada,
            "POST",
            "/api/notifications/mark",
            Some(mark("read", Some(vec![&oldest]))),
        )
        .await;
    assert_eq!(
        (s, m["changed"].as_array().map(Vec::len), m["unread"].as_i64()),
        (200, Some(1), Some(1)),
        "{m}"
    );
    assert!(m["changed"][0]["read_at"].is_string(), "{m}");
    let (_, m) = app
        .call(
            &ada,
            "POST",
            "/api/notifications/mark",
            Some(mark("read", Some(vec![&oldest]))),
        )
        .await;
    assert_eq!(m["changed"].as_array().map(Vec::len), Some(0), "already read: {m}");
    let (_, unread) = app.call(&ada, "GET", "/api/notifications?unread=true", None).await;
    assert_eq!(ids(&unread["items"]), vec![newest.clone()]);
    let (_, m) = app
        .call(&ada, "POST", "/api/notifications/mark", Some(mark("read", None)))
        .await;
    assert_eq!(
        (m["changed"].as_array().map(Vec::len), m["unread"].as_i64()),
        (Some(1), Some(0)),
        "{m}"
    );
    let (_, m) = app
        .call(
            &ada,
            "POST",
            "/api/notifications/mark",
            Some(mark("unread", Some(vec![&newest]))),
        )
        .await;
    assert_eq!(m["unread"], 1, "{m}");
    let (_, m) = app
        .call(
            &ada,
            "POST",
            "/api/notifications/mark",
            Some(mark("dismiss", Some(vec![&newest]))),
        )
        .await;
    assert_eq!(m["unread"], 0, "a dismissed notification is not unread: {m}");
    let (_, page) = app.call(&ada, "GET", "/api/notifications", None).await;
    assert_eq!(
        ids(&page["items"]),
        vec![oldest.clone()],
        "dismissed ones leave the inbox"
    );
    assert_eq!(
        app.call(&ada, "GET", "/api/notifications/unread", None).await.1["unread"],
        0
    );

    // Bad input names the problem.
    let (s, e) = app.call(&ada, "GET", "/api/notifications?limit=0", None).await;
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("limit")), "{e}");
    let (s, e) = app.call(&ada, "GET", "/api/notifications?before=yesterday", None).await;
    assert_eq!(s, 400, "{e}");
    let (s, e) = app
        .call(&ada, "POST", "/api/notifications/mark", Some(mark("unread", None)))
        .await;
    assert_eq!((s, e["error"]["field"].as_str()), (422, Some("action")), "{e}");
    let (s, e) = app
        .call(
            &ada,
            "POST",
            "/api/notifications/mark",
            Some(json!({ "action": "burn" })),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let many: Vec<String> = (0..501).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let (s, e) = app
        .call(
            &ada,
            "POST",
            "/api/notifications/mark",
            Some(json!({ "action": "read", "ids": many })),
        )
        .await;
    assert_eq!((s, e["error"]["field"].as_str()), (422, Some("ids")), "{e}");
    let (s, _) = app.call(&app.anon, "GET", "/api/notifications", None).await;
    assert_eq!(s, 401);

    // Rules: the defaults, a bad address refused by name, then only starts.
    let (s, rules) = app.call(&ada, "GET", "/api/notifications/rules", None).await;
    assert_eq!(s, 200);
    assert_eq!(
        rules,
        json!({ "kinds": ["completed", "failed", "timed_out"], "in_app": true, "email": null, "watches": [],
                "email_digest": "off", "quiet_hours": null, "time_zone": "UTC" })
    );
    let (s, e) = app
        .call(
            &ada,
            "PUT",
            "/api/notifications/rules",
            Some(json!({ "kinds": ["started"], "in_app": true, "email": "ada at home" })),
        )
        .await;
    assert_eq!((s, e["error"]["field"].as_str()), (422, Some("email")), "{e}");
    let (s, e) = app
        .call(
            &ada,
            "PUT",
            "/api/notifications/rules",
            Some(json!({ "kinds": ["whenever"], "in_app": true })),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let (s, saved) = app
        .call(
            &ada,
            "PUT",
            "/api/notifications/rules",
            Some(json!({ "kinds": ["started"], "in_app": true, "email": " ada@example.org " })),
        )
        .await;
    assert_eq!(s, 200, "{saved}");
    assert_eq!(saved["email"], "ada@example.org");
    let third = app
        .run_as(
            &ada,
            json!({ "name": "third", "project": "radio", "command": "true" }),
            JobStatus::Completed,
        )
        .await;
    let page = inbox_of(&app, &ada, 2).await;
    assert_eq!(page["items"][0]["kind"], "started", "only what the rules ask: {page}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        inbox_of(&app, &ada, 2).await["items"][0]["job_id"],
        third.id.to_string()
    );

    // A job's own choice at submit (as `--mail-type`) comes before the rules: only its failure.
    let (s, e) = app
        .call(
            &ada,
            "POST",
            "/api/jobs",
            Some(json!({ "name": "x", "project": "radio", "command": "true", "notify": ["whenever"] })),
        )
        .await;
    assert_eq!(s, 422, "{e}");
    let (s, own) = app
        .call(
            &ada,
            "POST",
            "/api/jobs",
            Some(
                json!({ "name": "own", "project": "radio", "command": "exit 1", "max_retries": 0,
                     "notify": ["failed", "failed"] }),
            ),
        )
        .await;
    assert_eq!(s, 201, "{own}");
    assert_eq!(own["notify"], json!(["failed"]), "{own}");
    let own: ch_domain::Job = serde_json::from_value(own).expect("job");
    app.wait_status(own.id, JobStatus::Failed).await;
    let page = inbox_of(&app, &ada, 3).await;
    assert_eq!(
        (page["items"][0]["kind"].as_str(), page["items"][0]["job_id"].as_str()),
        (Some("failed"), Some(own.id.to_string().as_str())),
        "its failure, not its start: {page}"
    );
    app.stop().await;
}

/// The owner's channel carries their notification live; another user may not subscribe to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_are_live_on_their_owners_channel_alone() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    let ada_token = app.user_token("ada", "scientist", &[("radio", "member")]).await;
    let bob_token = app.user_token("bob", "scientist", &[("radio", "member")]).await;
    let ada = common::client_with(&ada_token);
    let (_, me) = app.call(&ada, "GET", "/api/auth/me", None).await;
    let ada_id = me["user"]["user_id"].as_str().expect("user id").to_owned();
    let channel = format!("user:{ada_id}:notifications");

    let connect = |token: String| {
        let req = app.ws_request_with("/api/realtime/ws", &token);
        async move {
            let (mut ws, _) = common::within(
                Duration::from_secs(20),
                "handshake",
                tokio_tungstenite::connect_async(req),
            )
            .await
            .expect("connect");
            let welcome = next(&mut ws).await;
            assert_eq!(welcome["type"], "welcome");
            ws
        }
    };
    let mut bob_ws = connect(bob_token).await;
    send(&mut bob_ws, json!({ "op": "subscribe", "id": 1, "channel": channel })).await;
    let refused = next(&mut bob_ws).await;
    assert_eq!(
        (refused["type"].as_str(), refused["status"].as_u64()),
        (Some("refused"), Some(403)),
        "{refused}"
    );

    let mut ws = connect(ada_token).await;
    send(&mut ws, json!({ "op": "subscribe", "id": 1, "channel": channel })).await;
    assert_eq!(next(&mut ws).await["type"], "subscribed");
    let (_, job) = app
        .call(
            &ada,
            "POST",
            "/api/jobs",
            Some(json!({ "name": "quick", "project": "radio", "command": "exit 1", "max_retries": 0 })),
        )
        .await;
    let frame = next(&mut ws).await;
    assert_eq!(
        (frame["type"].as_str(), frame["channel"].as_str()),
        (Some("event"), Some(channel.as_str())),
        "{frame}"
    );
    let event = &frame["event"];
    assert_eq!(event["event_type"], "notification.sent", "{frame}");
    assert_eq!(event["job_id"], job["id"], "{frame}");
    assert_eq!(event["payload"]["notification"]["kind"], "failed", "{frame}");
    app.stop().await;
}

async fn send(ws: &mut Ws, v: Value) {
    common::within(
        Duration::from_secs(20),
        "send",
        ws.send(Message::Text(v.to_string().into())),
    )
    .await
    .expect("send");
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next JSON message other than a heartbeat.
async fn next(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("a message in time")
            .expect("open")
            .expect("frame");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(t.as_str()).expect("json");
            if v["type"] != "heartbeat" {
                return v;
            }
        }
    }
}

/// A job that ends while no server runs is notified after the restart, once — even when the
/// notifier's saved cursor is rewound to the start of the log, as a crash between saving
/// notifications and saving the cursor would leave it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notifier_resumes_after_a_restart_and_sends_nothing_twice() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    let ada = app.user("ada", "scientist", &[("radio", "member")]).await;
    let first = app
        .run_as(
            &ada,
            json!({ "name": "before", "project": "radio", "command": "true" }),
            JobStatus::Completed,
        )
        .await;
    inbox_of(&app, &ada, 1).await;
    let gated = "while [ ! -e go ]; do sleep 0.1; done; exit 4";
    let meanwhile = app
        .run_as(
            &ada,
            json!({ "name": "meanwhile", "project": "radio", "command": gated, "max_retries": 0 }),
            JobStatus::Running,
        )
        .await;

    let (dir, url) = app.stop_leaving_jobs().await;
    let job_dir = dir.path().join("data/jobs").join(meanwhile.id.to_string());
    std::fs::write(job_dir.join("work/go"), "").expect("gate");
    for _ in 0..200 {
        if job_dir.join("exit_status").exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let store = server::store::Store::connect(&url).await.expect("store");
    store
        .save_relay_cursor(server::notify::ACTOR, 0)
        .await
        .expect("rewind the notifier");
    store.close().await;
    let settings = common::settings(&dir, &url);
    let app = TestApp::start(dir, url, settings).await;
    app.wait_status(meanwhile.id, JobStatus::Failed).await;
    let page = inbox_of(&app, &ada, 2).await;
    assert_eq!(page["items"][0]["job_id"], meanwhile.id.to_string(), "{page}");
    assert_eq!(page["items"][1]["job_id"], first.id.to_string(), "{page}");
    // The whole log was offered again; give the notifier time to (not) add anything.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(inbox_of(&app, &ada, 2).await["unread"], 2);
    app.stop().await;
}
