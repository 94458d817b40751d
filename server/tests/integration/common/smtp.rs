//! A real SMTP server for the e-mail tests: aiosmtpd (PyPI) in its own process, storing what it
//! accepts in a Maildir. `cargo xtask test` installs it and names its Python in
//! `CH_AIOSMTPD_PYTHON`; without it the tests skip, and with `CI=true` they fail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;

/// A running aiosmtpd and its Maildir.
pub struct SmtpServer {
    pub port: u16,
    python: PathBuf,
    dir: TempDir,
    child: Option<Child>,
}

fn python() -> Option<PathBuf> {
    let p = std::env::var_os("CH_AIOSMTPD_PYTHON")
        .map(PathBuf::from)
        .or_else(|| {
            let home = std::env::var_os("HOME")?;
            Some(Path::new(&home).join(".cache/cosmic-horizons/aiosmtpd-1.4.6/bin/python"))
        })
        .filter(|p| p.exists());
    if p.is_none() {
        assert!(
            !super::ci(),
            "CI=true: aiosmtpd is missing (cargo xtask test installs it; CH_AIOSMTPD_PYTHON)"
        );
        eprintln!("skipped: no aiosmtpd (run `cargo xtask test` once, or set CH_AIOSMTPD_PYTHON)");
    }
    p
}

impl SmtpServer {
    /// Starts one on a free port; `None` = skipped (no aiosmtpd outside CI).
    pub async fn start() -> Option<Self> {
        let python = python()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut s = Self {
            port,
            python,
            dir: tempfile::tempdir().expect("tempdir"),
            child: None,
        };
        s.resume().await;
        Some(s)
    }

    /// Starts the process (again) on the same port and Maildir; waits until it answers.
    pub async fn resume(&mut self) {
        let child = Command::new(&self.python)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{}", self.port)])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(self.dir.path().join("mail"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting aiosmtpd");
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("aiosmtpd did not listen on {} within 10 s", self.port);
    }

    /// Stops the process (the Maildir stays): the server is down until [`SmtpServer::resume`].
    pub fn pause(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Every message received so far, raw, oldest first (by file time, then name).
    pub fn messages(&self) -> Vec<String> {
        let new = self.dir.path().join("mail/new");
        let mut files: Vec<_> = std::fs::read_dir(&new)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| (std::fs::metadata(p).and_then(|m| m.modified()).ok(), p.clone()));
        files.iter().filter_map(|p| std::fs::read_to_string(p).ok()).collect()
    }

    /// When each message about a job arrived (the time aiosmtpd wrote its file), by the job
    /// id its link names (`/jobs/<id>`); the first message per job counts.
    pub fn arrivals(&self) -> std::collections::HashMap<uuid::Uuid, std::time::SystemTime> {
        let new = self.dir.path().join("mail/new");
        let mut out = std::collections::HashMap::new();
        for entry in std::fs::read_dir(&new).into_iter().flatten().filter_map(Result::ok) {
            let (Ok(text), Ok(at)) = (
                std::fs::read_to_string(entry.path()),
                entry.metadata().and_then(|m| m.modified()),
            ) else {
                continue;
            };
            let job = text
                .split("/jobs/")
                .nth(1)
                .and_then(|rest| rest.get(..36))
                .and_then(|id| id.parse::<uuid::Uuid>().ok());
            if let Some(job) = job {
                let first = out.entry(job).or_insert(at);
                *first = (*first).min(at);
            }
        }
        out
    }

    /// Waits (≤ `limit`) until `n` messages arrived; returns them.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let m = self.messages();
            if m.len() >= n {
                return m;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} of {n} e-mails arrived within {limit:?}",
                m.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.pause();
    }
}
