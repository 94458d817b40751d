//! HTTP integration tests: the real server on port 0, against SQLite and PostgreSQL.

mod idempotency;
mod instances;
mod isolation;
mod processes;
mod realtime;
mod restart;

use std::time::Duration;

use crate::common::{Db, TestApp};
use ch_domain::{EventType, JobStatus};
use serde_json::{Value, json};

const DONE_WHEN: &str = "sh -c 'echo PROGRESS 50; sleep 1; echo done'";

both_backends! {
    job_runs_to_completion_with_progress_logs_and_events => job_runs_to_completion;
    bad_input_is_answered_with_named_fields => bad_input;
    cancel_kills_a_running_job => cancel_running;
    failures_are_retried_then_fail => retries;
    list_filters_sorts_and_pages => list_filters;
    edge_inputs_get_4xx_in_the_json_error_shape => edge_inputs;
    batches_and_sweeps_are_all_or_nothing => batches;
}

async fn job_runs_to_completion(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    let res = app
        .client
        .post(app.url("/api/jobs"))
        .header("x-correlation-id", "corr-123")
        .json(&json!({ "name": "done-when", "command": DONE_WHEN, "agent": "AlphaCal" }))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 201);
    assert!(res.headers().get("location").is_some());
    let job: ch_domain::Job = res.json().await.expect("json");
    assert_eq!(job.status, JobStatus::Queued);
    assert_eq!(job.correlation_id, "corr-123");

    let done = app.wait_status(job.id, JobStatus::Completed).await;
    assert_eq!(done.progress, 100);
    assert_eq!(done.exit_code, Some(0));
    assert!(done.started_at.is_some() && done.finished_at.is_some());

    let (_, logs) = app.get_json(&format!("/api/jobs/{}/logs", job.id)).await;
    assert!(logs["stdout"].as_str().unwrap_or_default().contains("done"), "{logs}");

    let (status, page) = app.get_json("/api/events?after=0").await;
    assert_eq!(status, 200);
    let events: Vec<ch_domain::JobEvent> = serde_json::from_value(page["events"].clone()).expect("events");
    let kinds: Vec<_> = events.iter().map(|e| e.event_type).collect();
    assert_eq!(
        kinds,
        [
            EventType::JobSubmitted,
            EventType::JobStatusChanged,
            EventType::JobStatusChanged,
            EventType::JobProgress,
            EventType::JobCompleted
        ]
    );
    assert!(events.windows(2).all(|w| w[0].offset < w[1].offset));
    assert_eq!(events[3].payload["progress"], 50);
    assert!(
        events
            .iter()
            .all(|e| e.correlation_id == "corr-123" && e.schema_version == 1)
    );
    assert_eq!(page["next_after"], events.last().map_or(0, |e| e.offset));
    let (_, rest) = app.get_json(&format!("/api/events?after={}", events[2].offset)).await;
    assert_eq!(rest["events"].as_array().map(Vec::len), Some(2));

    let (_, metrics) = app.get_json(&format!("/api/jobs/{}/metrics", job.id)).await;
    assert!(!metrics.as_array().expect("array").is_empty(), "no samples: {metrics}");
    // A local job has no batch scheduler: 404 saying so.
    let (status, none) = app.get_json(&format!("/api/jobs/{}/scheduler", job.id)).await;
    assert_eq!(status, 404, "{none}");
    assert!(
        none["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("batch scheduler record of job")),
        "{none}"
    );
    // Where the admin may submit, as the submit form offers it.
    let (status, targets) = app.get_json("/api/submit-targets").await;
    assert_eq!(status, 200, "{targets}");
    assert!(
        targets["projects"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p == "default")),
        "{targets}"
    );
    assert_eq!(targets["default"], "default", "{targets}");
    // Nor has the local system a queue to show before submitting.
    let (status, queue) = app.get_json("/api/systems/local/queue").await;
    assert_eq!(status, 404, "{queue}");
    assert!(
        queue["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("batch scheduler queue of system 'local'")),
        "{queue}"
    );

    // Server-rendered dashboard shows the job before any script runs.
    let html = app.page("/").await;
    assert!(html.contains("done-when"), "dashboard HTML lacks the job");
    let html = app.page(&format!("/jobs/{}", job.id)).await;
    assert!(html.contains("done") && html.contains("job.completed"));
    app.stop().await;
}

async fn expect_error(res: reqwest::Response, status: u16, field: Option<&str>) -> Value {
    assert_eq!(res.status().as_u16(), status);
    let body: Value = res.json().await.expect("json error body");
    let err = &body["error"];
    assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    if let Some(f) = field {
        assert_eq!(err["field"], f, "{body}");
    }
    body
}

async fn bad_input(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    let cases = [
        (json!({"name": "a", "command": "true", "bogus": 1}), 422, "bogus"),
        (
            json!({"name": "a", "command": "true", "resources": {"cpus": -1}}),
            422,
            "resources.cpus",
        ),
        (
            json!({"name": "a", "command": "true", "resources": {"gpu": 1}}),
            422,
            "resources.gpu",
        ),
        (
            json!({"name": "a", "command": "true", "resources": {"memory_gb": -4}}),
            422,
            "resources.memory_gb",
        ),
        (
            json!({"name": "a", "command": "true", "resources": {"cpus": "many"}}),
            422,
            "resources.cpus",
        ),
        (
            json!({"name": "a", "command": "true", "target_system": "mars"}),
            422,
            "target_system",
        ),
        (
            json!({"name": "a", "command": "true", "target_system": "frontera"}),
            422,
            "target_system",
        ),
        (
            json!({"name": "a", "command": "true", "priority": "asap"}),
            422,
            "priority",
        ),
        (json!({"name": "", "command": "true"}), 422, "name"),
        (json!({"command": "true"}), 422, "name"),
        (json!({"name": "a", "command": ""}), 422, "command"),
    ];
    for (body, status, field) in cases {
        let res = app.submit(body.clone()).await;
        let got = res.status().as_u16();
        assert_eq!(got, status, "{body}");
        let v: Value = res.json().await.expect("json");
        assert_eq!(v["error"]["field"], field, "{body} -> {v}");
    }
    let raw = |body: &'static str, ct: &'static str| {
        app.client
            .post(app.url("/api/jobs"))
            .header("content-type", ct)
            .body(body)
            .send()
    };
    expect_error(raw("{\"name\": ", "application/json").await.expect("send"), 400, None).await;
    expect_error(raw("{}", "text/plain").await.expect("send"), 415, None).await;
    let huge = format!("{{\"name\":\"a\",\"command\":\"{}\"}}", "x".repeat(200 * 1024));
    let res = app
        .client
        .post(app.url("/api/jobs"))
        .header("content-type", "application/json")
        // The server answers 413 without reading the body and then drops the connection;
        // keep the next request off that pooled connection.
        .header("connection", "close")
        .body(huge)
        .send()
        .await
        .expect("send");
    expect_error(res, 413, None).await;
    let res = app.get("/api/jobs/not-a-uuid").await;
    expect_error(res, 400, Some("id")).await;
    let res = app.get(&format!("/api/jobs/{}", uuid::Uuid::nil())).await;
    expect_error(res, 404, None).await;
    let res = app.get("/api/jobs?status=done").await;
    expect_error(res, 400, None).await;
    let res = app.get("/api/jobs?colour=red").await;
    expect_error(res, 400, Some("colour")).await;
    let res = app.get("/api/events?after=-5").await;
    expect_error(res, 400, Some("after")).await;
    let res = app.get("/api/nothing-here").await;
    expect_error(res, 404, None).await;
    // Nothing above created a job.
    let (_, page) = app.get_json("/api/jobs").await;
    assert_eq!(page["total"], 0);
    app.stop().await;
}

async fn cancel_running(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    let marker = app.dir.path().join("still-running");
    let cmd = format!("sleep 0.5; sleep 30; touch {}", marker.display());
    let job = app.submit_ok(json!({ "name": "long", "command": cmd })).await;
    app.wait_status(job.id, JobStatus::Running).await;
    let res = app.post_empty(&format!("/api/jobs/{}/cancel", job.id)).await;
    assert_eq!(res.status(), 200);
    let cancelled: ch_domain::Job = res.json().await.expect("json");
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    // Cancelling again is a conflict with a message, not a silent overwrite.
    let res = app.post_empty(&format!("/api/jobs/{}/cancel", job.id)).await;
    let body = expect_error(res, 409, None).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("cancelled"),
        "{body}"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!marker.exists(), "process kept running after cancel");
    let kinds: Vec<_> = app.events(job.id).await.iter().map(|e| e.event_type).collect();
    assert_eq!(kinds.last(), Some(&EventType::JobCancelled));
    assert_eq!(app.job(job.id).await.status, JobStatus::Cancelled);
    app.stop().await;
}

async fn retries(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    let job = app
        .submit_ok(json!({ "name": "flaky", "command": "echo oops >&2; exit 3", "max_retries": 1 }))
        .await;
    let failed = app.wait_status(job.id, JobStatus::Failed).await;
    assert_eq!(failed.exit_code, Some(3));
    assert_eq!(failed.retry_count, 1);
    assert_eq!(failed.error_code.as_deref(), Some("exit_nonzero"));
    let path: Vec<String> = app
        .events(job.id)
        .await
        .iter()
        .filter_map(|e| e.payload["to"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(path, ["queued", "running", "retrying", "queued", "running", "failed"]);
    let (_, logs) = app.get_json(&format!("/api/jobs/{}/logs", job.id)).await;
    assert_eq!(logs["stderr"].as_str().map(|s| s.matches("oops").count()), Some(2));
    app.stop().await;
}

async fn list_filters(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    for project in ["alpha", "beta"] {
        let res = app
            .client
            .post(app.url("/api/projects"))
            .json(&json!({ "name": project }))
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 201);
    }
    // A project that does not exist is refused.
    let res = app
        .submit(json!({ "name": "x", "command": "true", "project": "nowhere" }))
        .await;
    assert_eq!(res.status(), 404);
    for (name, project) in [("a", "alpha"), ("b", "beta"), ("c", "alpha")] {
        app.submit_ok(json!({ "name": name, "command": "true", "project": project }))
            .await;
    }
    let (_, page) = app.get_json("/api/jobs?project=alpha&sort=name&order=asc").await;
    let names: Vec<_> = page["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| j["name"].clone())
        .collect();
    assert_eq!(names, [json!("a"), json!("c")]);
    assert_eq!(page["total"], 2);
    let (_, page) = app.get_json("/api/jobs?sort=name&order=desc&limit=1&offset=1").await;
    assert_eq!(page["jobs"][0]["name"], "b");
    assert_eq!(page["total"], 3);
    let (_, page) = app.get_json("/api/jobs?target_system=local&owner=admin").await;
    assert_eq!(page["total"], 3);
    app.stop().await;
}

#[tokio::test]
async fn probes_and_openapi() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    assert_eq!(app.get_json("/healthz").await.0, 200);
    let (status, ready) = app.get_json("/readyz").await;
    assert_eq!((status, ready["database"].as_str()), (200, Some("sqlite")));
    let (status, doc) = app.get_json("/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["paths"]["/api/jobs"]["post"].is_object(), "{doc}");
    assert!(doc["paths"]["/api/events"]["get"].is_object());
    app.stop().await;
}

#[tokio::test]
async fn site_cap_times_out_jobs() {
    let Some(app) = TestApp::spawn_with(Db::Sqlite, |s| s.executor.max_runtime_cap_secs = Some(1)).await else {
        return;
    };
    let job = app.submit_ok(json!({ "name": "slow", "command": "sleep 20" })).await;
    let failed = app.wait_status(job.id, JobStatus::Failed).await;
    assert_eq!(failed.error_code.as_deref(), Some("timeout"));
    app.stop().await;
}

#[tokio::test]
async fn urgent_jobs_run_first_and_fifo_within_priority() {
    let Some(app) = TestApp::spawn_with(Db::Sqlite, |s| s.executor.slots = 1).await else {
        return;
    };
    let blocker = app.submit_ok(json!({ "name": "blocker", "command": "sleep 1" })).await;
    app.wait_status(blocker.id, JobStatus::Running).await;
    let mut ids = Vec::new();
    for (name, prio) in [("low", "low"), ("n1", "normal"), ("urgent", "urgent"), ("n2", "normal")] {
        ids.push((
            name,
            app.submit_ok(json!({ "name": name, "command": "true", "priority": prio }))
                .await
                .id,
        ));
    }
    let mut started = Vec::new();
    for (name, id) in ids {
        let job = app.wait_status(id, JobStatus::Completed).await;
        started.push((job.started_at, name));
    }
    started.sort();
    let order: Vec<_> = started.into_iter().map(|(_, n)| n).collect();
    assert_eq!(order, ["urgent", "n1", "n2", "low"]);
    app.stop().await;
}

/// Inputs at the edges of every type: overflowing integers, NUL characters, subnormal numbers
/// and wrong methods answer 4xx in the JSON error shape naming the problem, never 500.
async fn edge_inputs(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    let expect = |status: u16, body: &Value, want: u16, field: Option<&str>, what: &str| {
        assert_eq!(status, want, "{what}: {body}");
        assert!(
            body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
        if let Some(f) = field {
            assert_eq!(body["error"]["field"], f, "{what}: {body}");
        }
    };
    let (s, b) = app.get_json("/api/jobs?offset=9223372036854775808").await;
    expect(s, &b, 422, Some("offset"), "offset past i64");
    let (s, b) = app.get_json("/api/jobs?offset=99999999999999999999999").await;
    expect(s, &b, 400, None, "offset past u64");
    for q in ["owner=%00", "project=a%00b", "target_system=%00", "status=%00"] {
        let (s, b) = app.get_json(&format!("/api/jobs?{q}")).await;
        let field = q.split('=').next();
        expect(s, &b, 400, field, q);
    }
    let (s, b) = app.get_json("/api/events?after=%00").await;
    expect(s, &b, 400, Some("after"), "NUL in events");
    let a = &app;
    let put = |body: Value| async move { a.send_json("PUT", "/api/regions?image=a", &body).await };
    let (s, b) = put(json!({ "regions": [], "version": i64::MAX })).await;
    expect(s, &b, 400, Some("version"), "version i64::MAX");
    let submit = |body: Value| async move { a.send_json("POST", "/api/jobs", &body).await };
    let (s, b) = submit(json!({ "name": "tiny", "command": "true", "resources": { "memory_gb": 1e-320 } })).await;
    expect(s, &b, 422, Some("resources.memory_gb"), "subnormal memory");
    let (s, b) = submit(json!({ "name": "a\u{0}b", "command": "true" })).await;
    expect(s, &b, 400, Some("name"), "NUL in a JSON string");
    for (method, path) in [
        ("DELETE", "/api/jobs"),
        ("PUT", "/api/jobs/x/cancel"),
        ("POST", "/api/regions"),
    ] {
        let res = app
            .client
            .request(method.parse().expect("method"), app.url(path))
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        let allow = res.headers().get("allow").is_some();
        let body: Value = res.json().await.expect("a JSON body");
        expect(status, &body, 405, None, path);
        assert_eq!(body["error"]["code"], "method_not_allowed");
        assert!(allow, "{method} {path}: Allow header");
    }
    app.stop().await;
}

/// `POST /api/jobs/batch`: a list or a sweep creates every job (submitted and queued, with
/// their events) in one transaction; one invalid job refuses the batch and creates none.
async fn batches(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    let a = &app;
    let post = |body: Value| async move { a.send_json("POST", "/api/jobs/batch", &body).await };
    let total = || async { app.get_json("/api/jobs").await.1["total"].as_u64().unwrap_or(0) };
    let (_, events_before) = app.get_json("/api/events?after=0&limit=1000").await;
    let before = events_before["events"].as_array().map_or(0, Vec::len);
    let (s, b) = post(json!({ "jobs": [
        { "name": "a", "command": "true" },
        { "name": "b", "command": "true", "priority": "high" },
        { "name": "c", "command": "true" }
    ] }))
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["jobs"].as_array().map(Vec::len), Some(3));
    assert_eq!(total().await, 3);
    let (_, events) = app.get_json("/api/events?after=0&limit=1000").await;
    let offsets: Vec<i64> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["offset"].as_i64())
        .collect();
    assert!(offsets.len() >= before + 6, "submitted + queued per job: {events}");
    // One transaction: the batch's six events follow each other in the log (later ones — runs,
    // ends, their owners' notifications — come after them).
    let batch = &offsets[before..before + 6];
    assert!(batch.windows(2).all(|w| w[1] == w[0] + 1), "gapless: {offsets:?}");

    let (s, b) = post(json!({ "jobs": [
        { "name": "ok", "command": "true" },
        { "name": "bad", "command": "true", "resources": { "cpus": 0 } }
    ] }))
    .await;
    assert_eq!(
        (s, b["error"]["field"].as_str()),
        (422, Some("jobs[1].resources.cpus")),
        "{b}"
    );
    assert_eq!(total().await, 3, "nothing of a refused batch is created");

    let (s, b) = post(json!({ "sweep": {
        "job": { "name": "cal", "template": "AlphaCal", "parameters": { "step_seconds": 0 } },
        "values": { "steps": [1, 2, 3] }
    } }))
    .await;
    assert_eq!(s, 201, "{b}");
    let names: Vec<&str> = b["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter_map(|j| j["name"].as_str())
        .collect();
    assert_eq!(names, ["cal [steps=1]", "cal [steps=2]", "cal [steps=3]"]);
    let (s, b) = post(json!({ "jobs": [] })).await;
    assert_eq!((s, b["error"]["field"].as_str()), (422, Some("jobs")), "{b}");
    app.stop().await;
}

/// A client that sends half a request and then nothing does not keep a stopping server alive:
/// the connection is cut after `shutdown_grace_ms` (5 s in tests). Without that deadline the
/// shutdown waits for the client forever (seen with a grace of an hour: the test's own stop
/// deadline failed it after 30 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_does_not_keep_a_stopping_server_alive() {
    use tokio::io::AsyncWriteExt;
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    let mut tcp = tokio::net::TcpStream::connect(app.addr).await.expect("connect");
    tcp.write_all(b"GET /api/jobs HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("half a request");
    // hyper closes a connection at once on shutdown while it has read nothing of a request
    // (idle); only once it holds the half request does the grace apply. Give the server time
    // to accept and read the bytes (CI once stopped 12 ms after the write, before the read).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = std::time::Instant::now();
    app.stop().await;
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(4), "the client got its grace: {took:?}");
    assert!(took < Duration::from_secs(15), "cut after the grace: {took:?}");
    drop(tcp);
}
