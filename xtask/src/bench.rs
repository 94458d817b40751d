//! `cargo xtask bench cache`: FITS cache hits against nginx serving the same files on the
//! same machine in the same run (wrk drives both). Prints requests/s, MB/s and the ratios.

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::{cargo, root, run};

pub(crate) fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub(crate) fn ensure_apt(binary: &str, package: &str) -> Result<()> {
    if Command::new("which").arg(binary).output()?.status.success() {
        return Ok(());
    }
    crate::tools::apt_install(&[package], "a benchmark")
}

/// A valid FITS byte image of `bytes` data bytes.
fn write_fits(path: &Path, bytes: usize) -> Result<()> {
    let mut header = String::new();
    for card in [
        "SIMPLE  =                    T".to_owned(),
        "BITPIX  =                    8".to_owned(),
        "NAXIS   =                    1".to_owned(),
        format!("NAXIS1  = {bytes:>20}"),
        "END".to_owned(),
    ] {
        header.push_str(&format!("{card:<80}"));
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut head = header.into_bytes();
    head.resize(2880, b' ');
    f.write_all(&head)?;
    let chunk: Vec<u8> = (0..65536u32).map(|i| (i % 251) as u8).collect();
    let mut left = bytes.div_ceil(2880) * 2880;
    while left > 0 {
        let n = left.min(chunk.len());
        f.write_all(&chunk[..n])?;
        left -= n;
    }
    f.flush()?;
    Ok(())
}

pub(crate) struct Guard(pub(crate) Child);

impl Drop for Guard {
    fn drop(&mut self) {
        // SIGTERM first: a SIGKILLed nginx master leaves its workers running, still holding
        // the port and the bench's stdout (a piped `cargo xtask bench cache` never ends).
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        for _ in 0..50 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `Authorization` header every benchmark request carries (both servers get it, so both
/// measure the same requests; nginx ignores it).
static AUTH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn auth_header() -> &'static str {
    AUTH.get().map_or("X-Bench: 1", String::as_str)
}

/// An API token of the first-start admin with `scopes`, made with the release binary's
/// operator command against the server's database (`database_url`, or SQLite in `data`).
pub(crate) fn admin_token(data: &Path, database_url: Option<&str>, scopes: &str) -> Result<String> {
    let mut cmd = Command::new(crate::target_dir().join("release/cosmic-horizons"));
    cmd.args(["token", "create", "admin", "--scopes", scopes, "--name", "bench"])
        .current_dir(root())
        .env("CH_DATA_DIR", data)
        .env("CH_LOG", "warn");
    if let Some(url) = database_url {
        cmd.env("CH_DATABASE_URL", url);
    }
    let out = cmd.output().context("creating an API token")?;
    if !out.status.success() {
        bail!("token create failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

pub(crate) fn wait_http(url: &str) -> Result<()> {
    for _ in 0..100 {
        if Command::new("curl")
            .args(["-sf", "-o", "/dev/null", "-H", auth_header(), url])
            .status()?
            .success()
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{url} did not come up")
}

/// Runs wrk; returns (requests/s, MB/s).
fn wrk(url: &str, connections: u32, seconds: u32) -> Result<(f64, f64)> {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-H",
            auth_header(),
            url,
        ])
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_owned()))
    };
    let rps: f64 = field("Requests/sec:").context("wrk gave no Requests/sec")?.parse()?;
    let transfer = field("Transfer/sec:").context("wrk gave no Transfer/sec")?;
    let (num, unit) = transfer.split_at(
        transfer
            .find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(transfer.len()),
    );
    let scale = match unit {
        "GB" => 1024.0,
        "MB" => 1.0,
        "KB" => 1.0 / 1024.0,
        _ => 1.0 / (1024.0 * 1024.0),
    };
    if text.contains("Non-2xx") {
        bail!("{url} answered errors under load:\n{text}");
    }
    Ok((rps, num.parse::<f64>()? * scale))
}

const SERVERS: [&str; 2] = ["nginx", "cosmic-horizons (cache hit)"];

pub(crate) fn env_or(name: &str, default: u32) -> u32 {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// The 1, 5 and 15 minute load averages, to judge how quiet the shared machine was.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The run with the median request rate, as (requests/s, MB/s).
fn median(runs: &[(f64, f64)]) -> (f64, f64) {
    let mut sorted = runs.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    sorted.get(sorted.len() / 2).copied().unwrap_or((0.0, 0.0))
}

pub fn cache() -> Result<()> {
    ensure_apt("nginx", "nginx-light")?;
    ensure_apt("wrk", "wrk")?;
    run(cargo().args(["build", "--release", "-p", "server", "--bin", "cosmic-horizons"]))?;
    let dir = crate::target_dir().join("bench-cache");
    let _ = std::fs::remove_dir_all(&dir);
    let files = dir.join("files");
    std::fs::create_dir_all(&files)?;
    write_fits(&files.join("f1m.fits"), 1024 * 1024)?;
    write_fits(&files.join("f100m.fits"), 100 * 1024 * 1024)?;

    let nginx_port = free_port()?;
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "worker_processes auto;\npid {pid};\nerror_log {err};\nevents {{ worker_connections 1024; }}\n\
             http {{ access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;\n\
             server {{ listen 127.0.0.1:{nginx_port}; root {root}; }} }}\n",
            pid = dir.join("nginx.pid").display(),
            err = dir.join("nginx.err").display(),
            root = files.display()
        ),
    )?;
    let _nginx = Guard(
        Command::new("nginx")
            .args(["-c"])
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .spawn()
            .context("starting nginx")?,
    );
    let nginx = format!("http://127.0.0.1:{nginx_port}");
    wait_http(&format!("{nginx}/f1m.fits"))?;

    let ch_port = free_port()?;
    let _ch = Guard(
        Command::new(crate::target_dir().join("release/cosmic-horizons"))
            .arg("serve")
            .current_dir(root())
            .env("CH_LISTEN", format!("127.0.0.1:{ch_port}"))
            .env("CH_DATA_DIR", dir.join("data"))
            .env("CH_LOG", "warn")
            .env("CH_ARCHIVE__SOURCES__BENCH__BASE_URL", &nginx)
            .env("CH_ARCHIVE__RATE_LIMIT_PER_SECOND", "1000000000")
            .env("CH_ARCHIVE__RATE_LIMIT_BURST", "1000000000")
            .stdout(Stdio::null())
            .spawn()
            .context("starting cosmic-horizons")?,
    );
    let ch = format!("http://127.0.0.1:{ch_port}/api/fits/bench");
    wait_http(&format!("http://127.0.0.1:{ch_port}/healthz"))?;
    // Requests are authenticated, as on a real installation: a read token of the first-start
    // admin, made with the operator command against the server's database.
    let token = admin_token(&dir.join("data"), None, "read")?;
    let _ = AUTH.set(format!("Authorization: Bearer {token}"));
    // Fill the cache: every measured request below is a hit.
    wait_http(&format!("{ch}/f1m.fits"))?;
    wait_http(&format!("{ch}/f100m.fits"))?;

    let seconds = env_or("BENCH_SECONDS", 10);
    let rounds = env_or("BENCH_ROUNDS", 3).max(1);
    println!("load average before: {}", load_average());
    // The machine is shared and its load drifts: alternate the servers (swapping which goes
    // first each round) and compare medians, so neither side gets the quieter seconds.
    let mut results = Vec::new();
    for (file, conns) in [("f1m.fits", 32), ("f100m.fits", 4)] {
        let urls = [format!("{nginx}/{file}"), format!("{ch}/{file}")];
        for url in &urls {
            wrk(url, conns, 1)?;
        }
        let mut runs: [Vec<(f64, f64)>; 2] = [Vec::new(), Vec::new()];
        for round in 0..rounds {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for side in order {
                let (rps, mbs) = wrk(&urls[side], conns, seconds)?;
                println!("round {round}: {file} {} {rps:.0} req/s {mbs:.0} MB/s", SERVERS[side]);
                runs[side].push((rps, mbs));
            }
        }
        results.push((file, median(&runs[0]), median(&runs[1])));
    }
    println!("load average after: {}", load_average());
    println!();
    println!("| file | server | requests/s | MB/s |");
    println!("|---|---|---:|---:|");
    for (file, (n_rps, n_mbs), (c_rps, c_mbs)) in &results {
        println!("| {file} | {} | {n_rps:.0} | {n_mbs:.0} |", SERVERS[0]);
        println!("| {file} | {} | {c_rps:.0} | {c_mbs:.0} |", SERVERS[1]);
    }
    println!();
    for (file, (n_rps, n_mbs), (c_rps, c_mbs)) in results {
        println!(
            "{file}: cosmic-horizons / nginx = {:.2}x requests/s, {:.2}x MB/s (medians of {rounds} rounds)",
            c_rps / n_rps,
            c_mbs / n_mbs
        );
    }
    Ok(())
}
