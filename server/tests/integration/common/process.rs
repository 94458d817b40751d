//! A whole server as a separate process (`cosmic-horizons serve` on SQLite in a temporary data
//! directory), for what an in-process server cannot show: a kill -9 and a restart.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::{ChildGuard, anonymous_client, output_within};

pub struct ServerProcess {
    pub dir: tempfile::TempDir,
    pub port: u16,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    pub client: reqwest::Client,
    /// Extra `CH_*` settings the server runs with.
    pub env: Vec<(String, String)>,
    child: Option<ChildGuard>,
}

/// The server is killed with the guard; the jobs it started (which outlive it) are killed too.
impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.child.take();
        server::executor::local::kill_jobs_in(&self.dir.path().join("jobs"));
    }
}

impl ServerProcess {
    /// Starts the server and waits until `/readyz` answers (≤ 30 s).
    pub async fn start() -> ServerProcess {
        Self::start_with(&[]).await
    }

    /// Like [`ServerProcess::start`], with extra settings as environment variables.
    pub async fn start_with(env: &[(&str, &str)]) -> ServerProcess {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let mut server = ServerProcess {
            dir,
            port,
            base: format!("http://127.0.0.1:{port}"),
            client: anonymous_client(),
            env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            child: None,
        };
        server.serve().await;
        server
    }

    /// `cosmic-horizons ARGS…` with this server's data directory and address.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cosmic-horizons"));
        c.args(args)
            .env("CH_DATA_DIR", self.dir.path())
            .env("CH_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("CH_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        c
    }

    /// An API token of the first-start `admin` with `scopes` (`read,submit`).
    pub fn admin_token(&self, scopes: &str) -> String {
        let out = output_within(
            &mut self.command(&["token", "create", "admin", "--scopes", scopes]),
            None,
            Duration::from_secs(60),
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("cht_"))
            .unwrap_or_default()
            .to_owned()
    }

    /// Kills the server with SIGKILL (no shutdown of any kind) and reaps it.
    pub fn kill_9(&mut self) {
        if let Some(mut guard) = self.child.take() {
            guard.0.kill().expect("kill -9");
            guard.0.wait().expect("reaped");
        }
    }

    /// Starts the server (again) on the same data directory and port; waits until it is ready
    /// (not just listening: the first-start account exists once `/readyz` answers).
    pub async fn serve(&mut self) {
        self.child = Some(ChildGuard(self.command(&["serve"]).spawn().expect("serve")));
        for _ in 0..300 {
            if let Ok(r) = self.client.get(format!("{}/readyz", self.base)).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not start");
    }
}
