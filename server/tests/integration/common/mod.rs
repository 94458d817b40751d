//! Test support: a fresh database per test (SQLite file or a new PostgreSQL database), the
//! real server on port 0, and a small typed client.
#![allow(dead_code)] // each test binary uses its own subset

pub mod process;
pub mod smtp;
pub mod upstream;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ch_domain::{Job, JobEvent, JobStatus};
use serde_json::Value;
use server::settings::{ExecutorSettings, Secret, Settings};
use sqlx::{AnyConnection, Connection, Executor};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The 1-, 5- and 15-minute load averages (`/proc/loadavg`), for benchmark reports.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// A database URL for one test: a file in `dir` or a brand-new PostgreSQL database. `None`
/// when PostgreSQL is unreachable outside CI (the test then reports a skip); with
/// `CI=true` that is a failure.
pub async fn database_url(db: Db, dir: &TempDir) -> Option<String> {
    match db {
        Db::Sqlite => Some(format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display())),
        Db::Postgres => {
            sqlx::any::install_default_drivers();
            let admin = std::env::var("CH_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let mut conn = match AnyConnection::connect(&admin).await {
                Ok(c) => c,
                Err(e) if !ci() => {
                    eprintln!("SKIPPED: PostgreSQL unreachable at {admin}: {e}");
                    return None;
                }
                Err(e) => panic!("PostgreSQL unreachable at {admin} (CI=true requires it): {e}"),
            };
            drop_stale_databases(&mut conn).await;
            let name = format!("{TEST_DB_PREFIX}{}", uuid::Uuid::now_v7().simple());
            conn.execute(format!("create database {name}").as_str())
                .await
                .expect("create test database");
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b).to_owned();
            Some(format!("{base}/{name}"))
        }
    }
}

const TEST_DB_PREFIX: &str = "ch_test_";

/// Test databases are named by a v7 UUID, which carries its creation time: drop those left
/// by runs more than an hour ago so repeated runs do not pile them up.
async fn drop_stale_databases(conn: &mut AnyConnection) {
    use sqlx::Row;
    let Ok(rows) = sqlx::query("select datname from pg_database where datname like 'ch_test_%'")
        .fetch_all(&mut *conn)
        .await
    else {
        return;
    };
    let cutoff = std::time::SystemTime::now() - Duration::from_secs(3600);
    for row in rows {
        let Ok(name) = row.try_get::<String, _>("datname") else {
            continue;
        };
        let Some(created) = name
            .strip_prefix(TEST_DB_PREFIX)
            .and_then(|u| uuid::Uuid::parse_str(u).ok())
            .and_then(|u| u.get_timestamp())
        else {
            continue;
        };
        let (secs, _) = created.to_unix();
        if std::time::UNIX_EPOCH + Duration::from_secs(secs) < cutoff {
            let _ = conn
                .execute(format!("drop database if exists {name} with (force)").as_str())
                .await;
        }
    }
}

pub struct TestApp {
    pub addr: SocketAddr,
    /// Signed in as the first-start `admin` (an API token with every scope).
    pub client: reqwest::Client,
    /// No credentials.
    pub anon: reqwest::Client,
    /// The admin's API token.
    pub token: String,
    pub dir: TempDir,
    pub database_url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

fn settings_for_token(dir: &TempDir, database_url: &str) -> Settings {
    settings(dir, database_url)
}

/// An API token for `user` with `scopes`, made through the same code as the CLI.
pub async fn token_for(settings: &Settings, user: &str, scopes: &[&str], project: Option<&str>) -> String {
    let store = server::store::Store::connect(&settings.database_url())
        .await
        .expect("store");
    let auth = server::auth::Auth::open(store, settings).await.expect("auth");
    let req = server::auth::NewToken {
        name: "test".into(),
        scopes: scopes.iter().map(|s| ch_api::Scope::parse(s).expect("scope")).collect(),
        project: project.map(str::to_owned),
        expires_in_days: None,
    };
    let (_, token) = auth.create_token_for(user, req).await.expect("token");
    auth.store().close().await;
    token
}

/// A client that sends `Authorization: Bearer <token>` with every request.
pub fn client_with(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("client")
}

/// Longest any test request may take: a server that never answers fails the test with a
/// timeout instead of hanging CI.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest a test server may take to stop: its own shutdown deadline (5 s in tests) for
/// connections, then again for its tasks, with room to spare.
pub const STOP_DEADLINE: Duration = Duration::from_secs(30);

/// Bounds any other wait of a test (a WebSocket handshake, a child process, a read):
/// `what` names it in the failure.
pub async fn within<T>(limit: Duration, what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {limit:?}"))
}

/// Runs `cmd` to its end with piped output (and `stdin` written to it, if any); the process is
/// killed (SIGKILL) and the test failed when it runs past `limit`.
pub fn output_within(cmd: &mut std::process::Command, stdin: Option<&str>, limit: Duration) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    if let (Some(text), Some(mut input)) = (stdin, child.stdin.take()) {
        input.write_all(text.as_bytes()).expect("stdin");
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("waiting for the process"),
        Err(_) => {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            panic!("{cmd:?} still running after {limit:?}: killed");
        }
    }
}

/// A child process (a whole server, say) that is killed and reaped when the test ends,
/// whether it passes or fails.
pub struct ChildGuard(pub std::process::Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A client without credentials (with [`REQUEST_TIMEOUT`]).
/// Commits `n` submissions straight into `store` (one `job.submitted` event each, in one
/// group); returns the newest offset. For tests of what reads the event log.
pub async fn commit_submissions(store: &server::store::Store, n: usize) -> i64 {
    let rows: Vec<_> = (0..n)
        .map(|i| {
            let job = ch_domain::SubmitJob {
                name: format!("e{i}"),
                command: "true".into(),
                ..ch_domain::SubmitJob::default()
            }
            .validate(&ch_domain::SystemCatalog::default())
            .expect("valid")
            .into_job(uuid::Uuid::now_v7(), "ann".into(), format!("c{i}"), chrono::Utc::now());
            let event = ch_domain::NewEvent::submitted(uuid::Uuid::now_v7(), &job, "t");
            (job, vec![event])
        })
        .collect();
    let events = store.create_jobs(&rows).await.expect("commit");
    events.last().map_or(0, |e| e.offset)
}

pub fn anonymous_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .expect("client")
}

pub fn settings(dir: &TempDir, database_url: &str) -> Settings {
    Settings {
        listen: None,
        data_dir: dir.path().join("data"),
        database_url: Some(Secret::new(database_url)),
        leptos_toml: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../Leptos.toml")),
        max_body_bytes: 64 * 1024,
        shutdown_grace_ms: 5_000,
        executor: ExecutorSettings {
            slots: 2,
            sample_interval_ms: 100,
            kill_grace_ms: 500,
            max_runtime_cap_secs: None,
            // The in-process server's executable is the test binary: start jobs through the
            // real one, so they are confined as in production.
            launcher: Some(PathBuf::from(env!("CARGO_BIN_EXE_cosmic-horizons"))),
            ..ExecutorSettings::default()
        },
        ..Settings::default()
    }
}

/// A test that failed midway leaves no job running.
impl Drop for TestApp {
    fn drop(&mut self) {
        server::executor::local::kill_jobs_in(&self.dir.path().join("data").join("jobs"));
    }
}

impl TestApp {
    /// Starts the server on a fresh database; `None` = skipped (see [`database_url`]).
    pub async fn spawn(db: Db) -> Option<Self> {
        Self::spawn_with(db, |_| {}).await
    }

    pub async fn spawn_with(db: Db, tweak: impl FnOnce(&mut Settings)) -> Option<Self> {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = database_url(db, &dir).await?;
        let mut s = settings(&dir, &url);
        tweak(&mut s);
        Some(Self::start(dir, url, s).await)
    }

    pub async fn start(dir: TempDir, database_url: String, settings: Settings) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server::startup::run(listener, settings, async move {
            let _ = rx.await;
        }));
        let anon = anonymous_client();
        let mut up = false;
        for _ in 0..100 {
            if anon.get(format!("http://{addr}/healthz")).send().await.is_ok() {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(up, "server did not come up");
        let token = token_for(
            &settings_for_token(&dir, &database_url),
            "admin",
            &["read", "submit", "admin"],
            None,
        )
        .await;
        Self {
            addr,
            client: client_with(&token),
            anon,
            token,
            dir,
            database_url,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Creates a user with `role` (admin, scientist, viewer) and memberships
    /// `[(project, role)]` (projects are created when missing); returns a client signed in
    /// with an API token of theirs that has every scope.
    pub async fn user(&self, name: &str, role: &str, projects: &[(&str, &str)]) -> reqwest::Client {
        client_with(&self.user_token(name, role, projects).await)
    }

    /// Like [`TestApp::user`], returning the API token itself (for WebSocket and SSE clients).
    pub async fn user_token(&self, name: &str, role: &str, projects: &[(&str, &str)]) -> String {
        let settings = settings_for_token(&self.dir, &self.database_url);
        let store = server::store::Store::connect(&self.database_url).await.expect("store");
        let auth = server::auth::Auth::open(store, &settings).await.expect("auth");
        let op = server::auth::Auth::operator();
        let r = ch_api::GlobalRole::parse(role).expect("role");
        auth.create_user(&op, name, Some("a long test password"), r)
            .await
            .expect("create user");
        for (project, prole) in projects {
            if auth.store().project_by_name(project).await.expect("lookup").is_none() {
                auth.create_project(&op, project, false).await.expect("create project");
            }
            let pr = ch_api::ProjectRole::parse(prole).expect("project role");
            auth.set_member(&op, project, name, pr).await.expect("member");
        }
        auth.store().close().await;
        token_for(&settings, name, &["read", "submit", "admin"], None).await
    }

    /// Graceful shutdown, then the jobs it left running (jobs outlive the server) are killed;
    /// returns the data dir so a restart can reuse it. Fails the test when the server has not
    /// stopped within [`STOP_DEADLINE`].
    pub async fn stop(self) -> (TempDir, String) {
        let (dir, url) = self.stop_leaving_jobs().await;
        server::executor::local::kill_jobs_in(&dir.path().join("data").join("jobs"));
        (dir, url)
    }

    /// Graceful shutdown that leaves the server's running jobs running, as a deploy does.
    pub async fn stop_leaving_jobs(mut self) -> (TempDir, String) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(STOP_DEADLINE, task)
                .await
                .unwrap_or_else(|_| panic!("the server did not stop within {STOP_DEADLINE:?}"))
                .expect("join")
                .expect("server ran cleanly");
        }
        (
            std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir")),
            self.database_url.clone(),
        )
    }

    /// A WebSocket handshake request to `path`, authenticated with the admin's token.
    pub fn ws_request(&self, path: &str) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        self.ws_request_with(path, &self.token)
    }

    /// A WebSocket handshake request to `path` with `Authorization: Bearer <token>`.
    pub fn ws_request_with(
        &self,
        path: &str,
        token: &str,
    ) -> tokio_tungstenite::tungstenite::handshake::client::Request {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut req = format!("ws://{}{path}", self.addr)
            .into_client_request()
            .expect("ws request");
        req.headers_mut()
            .insert("authorization", format!("Bearer {token}").parse().expect("header"));
        req
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn submit(&self, body: Value) -> reqwest::Response {
        self.client
            .post(self.url("/api/jobs"))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn submit_ok(&self, body: Value) -> Job {
        let res = self.submit(body).await;
        assert_eq!(res.status(), 201, "{:?}", res.text().await);
        res.json().await.expect("job json")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("request")
    }

    /// The server-rendered HTML of a page.
    pub async fn page(&self, path: &str) -> String {
        self.get(path).await.text().await.expect("html")
    }

    pub async fn post_empty(&self, path: &str) -> reqwest::Response {
        self.client.post(self.url(path)).send().await.expect("request")
    }

    /// `method path` as the admin with a JSON body; the status and the JSON answer.
    pub async fn send_json(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let res = self
            .client
            .request(method, self.url(path))
            .json(body)
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    /// Submits `body` as `who` (another user's client) and waits until the job is `status`.
    pub async fn run_as(&self, who: &reqwest::Client, body: Value, status: JobStatus) -> Job {
        let (s, job) = self.call(who, "POST", "/api/jobs", Some(body)).await;
        assert_eq!(s, 201, "{job}");
        let job: Job = serde_json::from_value(job).expect("job");
        self.wait_status(job.id, status).await
    }

    /// `method path` as `client` (another user's), with an optional JSON body; the status and
    /// the JSON answer (`null` when there is none).
    pub async fn call(&self, client: &reqwest::Client, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = client.request(method.parse().expect("method"), self.url(path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let res = self.client.get(self.url(path)).send().await.expect("request");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn job(&self, id: uuid::Uuid) -> Job {
        let (status, v) = self.get_json(&format!("/api/jobs/{id}")).await;
        assert_eq!(status, 200, "{v}");
        serde_json::from_value(v).expect("job")
    }

    pub async fn events(&self, id: uuid::Uuid) -> Vec<JobEvent> {
        let (_, v) = self.get_json(&format!("/api/jobs/{id}/events")).await;
        serde_json::from_value(v).expect("events")
    }

    /// Waits (bounded) until the job reaches `want`, returning it.
    pub async fn wait_for(&self, id: uuid::Uuid, want: impl Fn(&Job) -> bool) -> Job {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let job = self.job(id).await;
            if want(&job) {
                return job;
            }
            assert!(tokio::time::Instant::now() < deadline, "timed out; job is {job:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_status(&self, id: uuid::Uuid, status: JobStatus) -> Job {
        self.wait_for(id, |j| j.status == status).await
    }
}

/// Runs an async test body once per backend.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident => $body:ident;)*) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$body($crate::common::Db::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$body($crate::common::Db::Postgres).await;
                }
            )*
        }
    };
}
