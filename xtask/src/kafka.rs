//! A Kafka-protocol broker for the Kafka relay's tests (`cargo xtask kafka`, and the `kafka`
//! stage before the tests): nisshi (see the shared TOOLCHAIN.md), installed once with
//! `cargo install` into `~/.cache/cosmic-horizons/nisshi-<version>/`, started on
//! 127.0.0.1:9092 with SQLite storage under `~/.cache/cosmic-horizons/kafka/` (its pid file and
//! log beside it). A broker that already answers there is left as it is.
//!
//! Also the Debian packages librdkafka's bundled build (rdkafka's `cmake-build`) needs, which
//! every build of the server does.
//!
//! Outside CI a broker that cannot start is a warning (the Kafka tests find no broker and print
//! SKIPPED); with `CI=true` it fails the stage, and the tests fail without one too.

use std::fs::File;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{cargo, root, run};

/// The nisshi release the tests run against (0.8.1 measured in TOOLCHAIN.md).
pub const NISSHI: &str = "0.8.1";
/// Where the broker listens (and advertises itself).
const ADDR: &str = "127.0.0.1:9092";
/// Longest a start may take until the port answers.
const START_LIMIT: Duration = Duration::from_secs(30);
/// Debian packages rdkafka's `cmake-build` compiles librdkafka with.
const BUILD_PACKAGES: &[&str] = &["cmake", "libcurl4-openssl-dev", "libssl-dev", "zlib1g-dev"];

/// `~/.cache/cosmic-horizons` (the workspace's `target/` without a HOME).
fn cache() -> PathBuf {
    std::env::var_os("HOME")
        .map_or_else(|| root().join("target"), PathBuf::from)
        .join(".cache/cosmic-horizons")
}

/// The nisshi binary of [`NISSHI`] (the Kafka tests start their own brokers with it too).
pub fn nisshi() -> PathBuf {
    cache().join(format!("nisshi-{NISSHI}/bin/nisshi"))
}

/// Installs the packages librdkafka's build needs when one is missing (needs root).
pub fn rdkafka_build_deps() -> Result<()> {
    let missing: Vec<&str> = BUILD_PACKAGES
        .iter()
        .copied()
        .filter(|p| !crate::tools::installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    crate::tools::apt_install(&missing, "librdkafka's build")
}

/// Installs nisshi when its binary is missing (~10 min of compiling on 2 cores).
fn install() -> Result<()> {
    let bin = nisshi();
    if bin.exists() {
        return Ok(());
    }
    let started = Instant::now();
    let prefix = cache().join(format!("nisshi-{NISSHI}"));
    // Cargo's own temporary target directory (removed afterwards), not the project's.
    run(cargo()
        .args([
            "install",
            "nisshi",
            "--locked",
            "--version",
            &format!("={NISSHI}"),
            "--root",
        ])
        .arg(&prefix)
        .env_remove("CARGO_TARGET_DIR"))
    .context("installing nisshi (`cargo install nisshi --locked` needs rustc ≥ 1.96)")?;
    eprintln!(
        "xtask: nisshi {NISSHI} installed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn answers() -> bool {
    ADDR.parse::<SocketAddr>()
        .is_ok_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(1)).is_ok())
}

/// Installs and starts the broker; prints how long it took.
fn start() -> Result<()> {
    if answers() {
        eprintln!("xtask: a Kafka broker answers at {ADDR}");
        return Ok(());
    }
    let started = Instant::now();
    install()?;
    let dir = cache().join("kafka");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let log_path = dir.join("nisshi.log");
    let log = File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    let url = format!("tcp://{ADDR}");
    let mut cmd = Command::new(nisshi());
    cmd.args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
        .arg("--storage-engine")
        // nisshi reads the URL's path without its leading slash: an absolute file needs four.
        .arg(format!("sqlite:///{}", dir.join("nisshi.db").display()))
        // A test's consumer group is alone: no 3 s wait for more members.
        .args(["--group-initial-rebalance-delay", "0s"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: it outlives this command and its stage's ceiling.
        .process_group(0);
    eprintln!("xtask: {cmd:?}");
    let mut child = cmd.spawn().context("starting nisshi")?;
    // The limit counts from here: on a fresh machine `started` lies ~15 min back (the install),
    // and a limit counted from there failed the first probe of every fresh CI run.
    let spawned = Instant::now();
    std::fs::write(dir.join("nisshi.pid"), child.id().to_string())?;
    while !answers() {
        let exited = child.try_wait()?;
        if exited.is_some() || spawned.elapsed() > START_LIMIT {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let head: Vec<&str> = log.lines().take(12).collect();
            bail!(
                "nisshi did not answer at {ADDR} ({}); {}:\n{}",
                exited.map_or_else(
                    || format!("still silent after {START_LIMIT:?}"),
                    |s| format!("it exited: {s}")
                ),
                log_path.display(),
                head.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!(
        "xtask: Kafka broker (nisshi {NISSHI}) up at {ADDR} in {:.1} s, {:.1} s after its start (pid {})",
        started.elapsed().as_secs_f64(),
        spawned.elapsed().as_secs_f64(),
        child.id()
    );
    Ok(())
}

/// `cargo xtask kafka`: the broker, started or failing.
pub fn up() -> Result<()> {
    start()
}

/// For the test stage: the broker ([`crate::tools::for_tests`]).
pub fn for_tests() -> Result<()> {
    crate::tools::for_tests("Kafka", start)
}
