//! `cargo xtask contract`: the API contract checked by schemathesis (PyPI) against the real
//! server, on SQLite and on PostgreSQL. It reads the served `/api/openapi.json`, so every route
//! documented there — including ones added later — is exercised: examples, coverage, fuzzing
//! and the stateful phase (links between operations), with the checks `not_a_server_error`,
//! `status_code_conformance`, `response_schema_conformance`, `content_type_conformance`,
//! `positive_data_acceptance` (every request the document allows is accepted, except for the
//! rules `schemathesis.toml` names per operation) and `negative_data_rejection` (every request
//! it forbids is refused).
//! The run is seeded, so a failure reproduces.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{root, run};

/// The schemathesis release the contract is checked with.
const SCHEMATHESIS: &str = "4.32.5";
/// Seconds of generated requests per database (the phases repeat until it is spent).
const BUDGET_SECS: &str = "60";
const SEED: &str = "20261201";
const CHECKS: &str = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance,\
positive_data_acceptance,negative_data_rejection";

/// schemathesis' `st`, from a virtual environment kept in the user's cache between runs.
pub fn schemathesis() -> Result<PathBuf> {
    Ok(crate::tools::pypi_tool("schemathesis", SCHEMATHESIS, "st")?.join("bin/st"))
}

/// The server under test; killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_listening(port: u16, server: &mut Server) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Some(status) = server.0.try_wait()? {
            bail!("the server exited before listening: {status}");
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("the server did not listen on port {port} within 60 s")
}

/// The environment of the server and its CLI for one run: its own data directory and
/// database, limits high enough that the fuzzer's writes are not rate-limited.
fn environment(cmd: &mut Command, data: &Path, database: Option<&str>, port: u16) {
    cmd.env("CH_DATA_DIR", data)
        .env("CH_LISTEN", format!("127.0.0.1:{port}"))
        .env("CH_AUTH__WRITES_PER_MINUTE", "1000000")
        .env("CH_AUTH__WRITE_BURST", "1000000")
        .env("CH_AUTH__LOGINS_PER_MINUTE", "1000000")
        .env("CH_LOG", "warn");
    if let Some(url) = database {
        cmd.env("CH_DATABASE_URL", url);
    }
}

fn check(st: &Path, bin: &Path, backend: &str, database: Option<&str>) -> Result<()> {
    let data = crate::target_dir().join(format!("contract/{backend}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data)?;
    let port = free_port()?;
    let mut serve = Command::new(bin);
    serve.arg("serve").stdout(Stdio::null()).stderr(Stdio::inherit());
    // In the background (PostgreSQL's run), the server writes to that run's log.
    crate::stage::redirect(&mut serve);
    environment(&mut serve, &data, database, port);
    let mut server = Server(serve.spawn().context("starting the server")?);
    wait_listening(port, &mut server)?;
    // Listening comes before the first-start account exists: retry until it does.
    let mut attempts = 0;
    let out = loop {
        let mut token = Command::new(bin);
        token.args(["token", "create", "admin", "--scopes", "read,submit,admin"]);
        environment(&mut token, &data, database, port);
        let out = token.output()?;
        attempts += 1;
        if out.status.success() {
            break out;
        }
        if attempts >= 50 {
            bail!("creating a token failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let secret = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("cht_"))
        .unwrap_or_default()
        .to_owned();
    // CH_CONTRACT_SEED explores other inputs than the fixed seed CI uses.
    let seed = std::env::var("CH_CONTRACT_SEED").unwrap_or_else(|_| SEED.to_owned());
    println!("xtask: schemathesis on {backend} ({BUDGET_SECS} s, seed {seed})");
    // The per-operation exceptions of `positive_data_acceptance`, each with its reason.
    let config = root().join("schemathesis.toml");
    let result = run(Command::new(st).arg("--config-file").arg(&config).args([
        "run",
        &format!("http://127.0.0.1:{port}/api/openapi.json"),
        "--header",
        &format!("Authorization: Bearer {secret}"),
        "--checks",
        CHECKS,
        "--max-time",
        BUDGET_SECS,
        "--seed",
        &seed,
        // One worker: with two, hypothesis describes lambdas by parsing source in both threads
        // at once, which CPython 3.11's `ast` does not survive ("AST constructor recursion
        // depth mismatch"; seen once the data-acceptance checks were added).
        "--workers",
        "1",
        "--request-timeout",
        "30",
    ]));
    drop(server);
    let _ = std::fs::remove_dir_all(&data);
    result.with_context(|| format!("schemathesis found contract failures on {backend}"))
}

/// Runs the contract on both databases at once (the server binary must be built): PostgreSQL
/// beside SQLite, its output shown once it is done. Each run is one schemathesis worker and one
/// server, about a core together, so side by side they take the time of one.
pub fn contract() -> Result<()> {
    let st = schemathesis()?;
    let bin = crate::target_dir().join("debug/cosmic-horizons");
    if !bin.exists() {
        bail!("{} is not built (cargo xtask build)", bin.display());
    }
    let postgres = {
        let (st, bin) = (st.clone(), bin.clone());
        let log = crate::target_dir().join("contract/postgres.log");
        crate::stage::Background::start("the contract on PostgreSQL", log, move || on_postgres(&st, &bin))?
    };
    let sqlite = check(&st, &bin, "sqlite", None);
    let postgres = postgres.join_showing();
    sqlite.and(postgres)
}

/// The contract on a PostgreSQL database of its own, dropped afterwards.
fn on_postgres(st: &Path, bin: &Path) -> Result<()> {
    let admin =
        std::env::var("CH_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("ch_contract_{}", std::process::id());
    run(Command::new("psql")
        .arg(&admin)
        .args(["-q", "-c", &format!("create database {name}")]))?;
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let result = check(st, bin, "postgres", Some(&format!("{base}/{name}")));
    let _ = run(Command::new("psql").arg(&admin).args([
        "-q",
        "-c",
        &format!("drop database if exists {name} with (force)"),
    ]));
    result
}
