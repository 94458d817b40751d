//! `cargo xtask bench submit`: job submissions per second through the HTTP API (release
//! build, wrk at 32 connections, authenticated with an API token), on SQLite and on
//! PostgreSQL, against a baseline measured in the same run: the same rows written straight
//! through sqlx by 32 writers, one transaction per job (`server/examples/submit_bench.rs`).
//! Afterwards the event log is checked: gapless offsets, both first events of every job.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::bench::{Guard, admin_token, ensure_apt, env_or, free_port, load_average, wait_http};
use crate::{cargo, root, run, tools};

/// Connections wrk keeps busy (the issue's "concurrency 32").
const CONNECTIONS: u32 = 32;

/// Jobs per request in the batch measurement.
const BATCH: usize = 100;

/// What wrk reported for one run.
struct Load {
    requests: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
}

/// `12.34ms` / `800.00us` / `1.20s` → milliseconds.
fn millis(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = text.split_at(split);
    let n: f64 = n.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return None,
    })
}

/// Runs wrk with `script` against `url` for `seconds`.
fn wrk(url: &str, script: &Path, seconds: u32) -> Result<Load> {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(script)
        .arg(url)
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
    };
    let pct = |p: &str| line(p).and_then(|v| millis(&v));
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok());
    match (requests, line("Requests/sec:"), pct("50%"), pct("99%")) {
        (Some(requests), Some(rps), Some(p50_ms), Some(p99_ms)) => Ok(Load {
            requests,
            per_second: rps.parse()?,
            p50_ms,
            p99_ms,
            errors: line("Non-2xx or 3xx responses:")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
        }),
        _ => bail!(
            "could not read wrk's report:\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn example() -> std::path::PathBuf {
    crate::target_dir().join("release/examples/submit_bench")
}

/// Runs the helper example; returns the `key=value` fields of its `RESULT` line.
fn helper(args: &[&str]) -> Result<Vec<(String, String)>> {
    let out = Command::new(example())
        .args(args)
        .env("CH_LOG", "warn")
        .stderr(Stdio::inherit())
        .output()
        .context("running submit_bench")?;
    let text = String::from_utf8_lossy(&out.stdout);
    print!("{text}");
    if !out.status.success() {
        bail!("submit_bench {args:?} failed");
    }
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .context("submit_bench printed no RESULT")?;
    Ok(line
        .split_whitespace()
        .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect())
}

fn field(fields: &[(String, String)], key: &str) -> Result<f64> {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.parse().ok())
        .with_context(|| format!("no {key} in the helper's result"))
}

/// A fresh, empty database of `backend` named `name`.
fn fresh_database(backend: &str, name: &str, dir: &Path) -> Result<String> {
    if backend == "sqlite" {
        std::fs::create_dir_all(dir)?;
        return Ok(format!(
            "sqlite://{}?mode=rwc",
            dir.join(format!("{name}.db")).display()
        ));
    }
    let db = format!("ch_bench_{name}");
    for sql in [format!("drop database if exists {db}"), format!("create database {db}")] {
        run(Command::new("psql").args(["-h", "127.0.0.1", "-U", "postgres", "-q", "-c", &sql]))?;
    }
    Ok(format!("postgres://postgres@127.0.0.1:5432/{db}"))
}

/// One backend's figures.
struct Figures {
    backend: &'static str,
    baseline: Vec<(String, String)>,
    single: Load,
    batch: Load,
    check: Vec<(String, String)>,
    seconds: u32,
    batch_seconds: u32,
}

fn measure(backend: &'static str, seconds: u32, batch_seconds: u32) -> Result<Figures> {
    let dir = crate::target_dir().join("bench-submit").join(backend);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;

    println!("== {backend}: baseline (sqlx, one transaction per job, {CONNECTIONS} writers, {seconds} s)");
    let url = fresh_database(backend, "baseline", &dir)?;
    let baseline = helper(&["baseline", &url, &seconds.to_string(), &CONNECTIONS.to_string()])?;

    let url = fresh_database(backend, "server", &dir)?;
    let data = dir.join("data");
    let port = free_port()?;
    let bin = crate::target_dir().join("release/cosmic-horizons");
    let server = Guard(
        Command::new(&bin)
            .arg("serve")
            .current_dir(root())
            .env("CH_LISTEN", format!("127.0.0.1:{port}"))
            .env("CH_DATA_DIR", &data)
            .env("CH_DATABASE_URL", &url)
            .env("CH_LOG", "warn")
            // One user drives the whole load: lift the per-user write limit (600/min).
            .env("CH_AUTH__WRITES_PER_MINUTE", "4000000000")
            .env("CH_AUTH__WRITE_BURST", "4000000000")
            .stdout(Stdio::null())
            .spawn()
            .context("starting cosmic-horizons")?,
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_http(&format!("{base}/readyz"))?;
    let token = admin_token(&data, Some(&url), "read,submit")?;
    let one = r#"{"name":"bench","command":"true"}"#;
    let batch = format!("{{\"jobs\":[{}]}}", vec![one; BATCH].join(","));
    let script = |name: &str, body: &str| -> Result<std::path::PathBuf> {
        let path = dir.join(name);
        std::fs::write(
            &path,
            format!(
                "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
                 wrk.headers[\"Authorization\"] = \"Bearer {token}\"\nwrk.body = '{body}'\n"
            ),
        )?;
        Ok(path)
    };
    println!("== {backend}: POST /api/jobs, {CONNECTIONS} connections, {seconds} s");
    let single = wrk(&format!("{base}/api/jobs"), &script("one.lua", one)?, seconds)?;
    println!("== {backend}: POST /api/jobs/batch ({BATCH} jobs each), {batch_seconds} s");
    let batch = wrk(
        &format!("{base}/api/jobs/batch"),
        &script("batch.lua", &batch)?,
        batch_seconds,
    )?;
    drop(server);
    let check = helper(&["check", &url])?;
    Ok(Figures {
        backend,
        baseline,
        single,
        batch,
        check,
        seconds,
        batch_seconds,
    })
}

pub fn submit() -> Result<()> {
    ensure_apt("wrk", "wrk")?;
    tools::psql()?;
    run(cargo().args([
        "build",
        "--release",
        "-p",
        "server",
        "--bin",
        "cosmic-horizons",
        "--example",
        "submit_bench",
    ]))?;
    let seconds = env_or("BENCH_SECONDS", 60);
    let batch_seconds = env_or("BENCH_BATCH_SECONDS", 20);
    println!("load average before: {}", load_average());
    let mut all = Vec::new();
    for backend in ["sqlite", "postgres"] {
        all.push(measure(backend, seconds, batch_seconds)?);
        println!("load average: {}", load_average());
    }
    println!();
    println!("| database | path | jobs/s | p50 ms | p99 ms | non-2xx | ratio to baseline |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    for f in &all {
        let base = field(&f.baseline, "jobs_per_s")?;
        println!(
            "| {} | baseline: sqlx, 1 tx/job, {CONNECTIONS} writers | {base:.0} | {:.2} | {:.2} | – | 1.00× |",
            f.backend,
            field(&f.baseline, "p50_ms")?,
            field(&f.baseline, "p99_ms")?
        );
        println!(
            "| {} | POST /api/jobs, {CONNECTIONS} connections | {:.0} | {:.2} | {:.2} | {} | {:.2}× |",
            f.backend,
            f.single.per_second,
            f.single.p50_ms,
            f.single.p99_ms,
            f.single.errors,
            f.single.per_second / base
        );
        let batch_jobs = f.batch.per_second * BATCH as f64;
        println!(
            "| {} | POST /api/jobs/batch ×{BATCH}, {CONNECTIONS} connections | {batch_jobs:.0} | {:.2} | {:.2} | {} | {:.2}× |",
            f.backend,
            f.batch.p50_ms,
            f.batch.p99_ms,
            f.batch.errors,
            batch_jobs / base
        );
    }
    println!();
    for f in &all {
        let jobs = field(&f.check, "jobs")?;
        let events = field(&f.check, "events")?;
        let window = f64::from(f.seconds + f.batch_seconds);
        println!(
            "{}: {} + {}×{BATCH} requests accepted; log: {jobs:.0} jobs, {events:.0} events ({:.0} events/s over the {window:.0} s), \
             gapless, every job with its submitted and queued events; the executor finished {:.0} jobs ({:.1}/s)",
            f.backend,
            f.single.requests,
            f.batch.requests,
            events / window,
            field(&f.check, "finished")?,
            field(&f.check, "finished")? / window,
        );
        if f.single.errors > 0 || f.batch.errors > 0 {
            bail!("{}: some submissions were refused", f.backend);
        }
    }
    println!("load average after: {}", load_average());
    Ok(())
}
