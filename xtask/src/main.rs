//! `cargo xtask serve` builds and runs the app on embedded defaults; `cargo xtask test` runs
//! every check. Both install the build tools they need first (once; later runs reuse them).

mod bench;
mod bench_submit;
mod check;
mod contract;
mod imports;
mod kafka;
mod site;
mod slurm;
mod stage;
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use stage::stage;

const USAGE: &str = "usage: cargo xtask <serve [--release] | build [--release] | test | check | clean | e2e | contract | slurm | kafka | bench cache | bench submit | bench notify | bench viewer>";

const MINUTE: Duration = Duration::from_secs(60);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set (CI sets one outside the clone, see
/// `.ci/run`), else `target/` in the workspace.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// Runs a command in the workspace root, failing on a non-zero exit; inside a stage the
/// command is stopped when the stage passes its ceiling (see [`stage`]).
pub fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: {cmd:?}");
    if cmd.get_current_dir().is_none() {
        cmd.current_dir(root());
    }
    stage::redirect(cmd);
    let child = cmd.spawn().with_context(|| format!("starting {cmd:?}"))?;
    let status = stage::wait(cmd, child)?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let release = args.iter().any(|a| a == "--release");
    match args.first().map(String::as_str) {
        Some("serve") => serve(release),
        Some("build") => build(release),
        Some("test") => test(),
        Some("check") => check::check(),
        Some("slurm") => slurm::up(),
        Some("kafka") => kafka::up(),
        Some("clean") => check::clean(),
        Some("e2e") => e2e(),
        Some("contract") => {
            build(false)?;
            tools::psql()?;
            contract::contract()
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("cache") => bench::cache(),
        Some("bench") if args.get(1).map(String::as_str) == Some("submit") => bench_submit::submit(),
        Some("bench") if args.get(1).map(String::as_str) == Some("viewer") => bench_viewer(),
        Some("bench") if args.get(1).map(String::as_str) == Some("notify") => bench_notify(),
        _ => bail!(USAGE),
    }
}

fn build(release: bool) -> Result<()> {
    kafka::rdkafka_build_deps()?;
    tools::wasm_bindgen()?;
    site::build(release)?;
    let mut c = cargo();
    c.args(["build", "-p", "server", "--bin", "cosmic-horizons"]);
    if release {
        c.arg("--release");
    }
    run(&mut c)
}

fn serve(release: bool) -> Result<()> {
    build(release)?;
    let bin = target_dir()
        .join(if release { "release" } else { "debug" })
        .join("cosmic-horizons");
    run(Command::new(bin).arg("serve"))
}

/// Every check, stage by stage. Each stage has a ceiling (generous for a fresh machine that
/// compiles everything; a hang is what it catches): past it, the stage's command is killed and
/// the run stops naming the stage. Single tests have their own deadline (`.config/nextest.toml`).
fn test() -> Result<()> {
    check::prune_target()?;
    let result = stages();
    stage::summary();
    result
}

fn stages() -> Result<()> {
    // What the browser and contract stages download on a fresh machine (Chromium, psql,
    // Node.js packages, schemathesis) is fetched beside the first stages. wasm-bindgen is
    // compiled in the browser stage instead: beside clippy, two compilers on two cores took
    // longer than one after the other (7m50s against 3m41s + 3m25s).
    let tools = stage::Background::start("tool downloads", target_dir().join("xtask/tools.log"), || {
        download_tools()?;
        contract::schemathesis().map(drop)
    })?;
    stage("fmt", 2 * MINUTE, || run(cargo().args(["fmt", "--all", "--check"])))?;
    // Every native build compiles librdkafka (rdkafka's `cmake-build`).
    kafka::rdkafka_build_deps()?;
    // `frontend` builds only for wasm32: with it in a native build, cargo would unify leptos's
    // `hydrate` feature into the server and break SSR.
    stage("clippy", 25 * MINUTE, || {
        run(cargo().args([
            "clippy",
            "--workspace",
            "--exclude",
            "frontend",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    stage("clippy-wasm", 15 * MINUTE, || {
        run(cargo().args([
            "clippy",
            "-p",
            "frontend",
            "-p",
            "ch-domain",
            "-p",
            "ch-api",
            "-p",
            "ch-fits",
            "-p",
            "ch-wcs",
            "-p",
            "ch-render",
            "-p",
            "ch-regions",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    // Its own stage: a first install compiles nisshi (~10 min on 2 idle cores, 27 min beside
    // other builds); later runs find the binary, or the broker already up, in under a second.
    stage("kafka", 40 * MINUTE, kafka::for_tests)?;
    stage("unit+integration", 30 * MINUTE, || {
        tools::require_services()?;
        slurm::for_tests()?;
        tools::nextest()?;
        let smtp = tools::aiosmtpd()?;
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        run(cargo().env("CH_AIOSMTPD_PYTHON", smtp).args([
            "nextest",
            "run",
            "--workspace",
            "--exclude",
            "frontend",
            "--profile",
            if ci { "ci" } else { "default" },
            "--no-tests",
            "fail",
        ]))?;
        // nextest does not run doc tests.
        run(cargo().args(["test", "--doc", "--workspace", "--exclude", "frontend"]))
    })?;
    stage("browser", 25 * MINUTE, || {
        tools.join()?;
        tools::wasm_bindgen()?;
        // The test stage built the server binary (the integration tests run it), with the
        // same code: building it again for the browser tests would only relink it.
        site::build(false)?;
        browser_tests()
    })?;
    // The binary e2e built serves the OpenAPI contract to schemathesis.
    stage("contract", 15 * MINUTE, contract::contract)
}

/// Notifications at 100/s (issue 31): the ignored integration test `bench_notify` against
/// aiosmtpd and a webhook receiver, in the test build (debug); it prints the table.
fn bench_notify() -> Result<()> {
    tools::nextest()?;
    let smtp = tools::aiosmtpd()?;
    run(cargo().env("CH_AIOSMTPD_PYTHON", smtp).args([
        "nextest",
        "run",
        "-p",
        "server",
        "--test",
        "integration",
        "--run-ignored",
        "only",
        "--no-capture",
        "bench_notify",
    ]))
}

/// Mode B in Chromium with the release bundle: load time, re-stretch frame times, region
/// statistics of a 4096×4096 image (end2end/bench-viewer.mjs prints the table).
fn bench_viewer() -> Result<()> {
    build(true)?;
    tools::chromium()?;
    tools::node()?;
    tools::npm_ci("end2end")?;
    run(Command::new("node")
        .arg("end2end/bench-viewer.mjs")
        .env("CH_BIN", target_dir().join("release/cosmic-horizons")))
}

/// Browser tests: builds the site and server, then drives Chromium with playwright-core.
fn e2e() -> Result<()> {
    download_tools()?;
    // Installs wasm-bindgen when it is missing, then builds the bundle and the server.
    build(false)?;
    browser_tests()
}

/// The browser tests' tools that come from package registries as they are (no compiling).
fn download_tools() -> Result<()> {
    tools::chromium()?;
    tools::psql()?;
    tools::node()?;
    tools::npm_ci("end2end")
}

/// Runs the Chromium tests against the debug server binary.
fn browser_tests() -> Result<()> {
    let bin = target_dir().join("debug/cosmic-horizons");
    if !bin.exists() {
        bail!("{} is not built (cargo xtask build)", bin.display());
    }
    // The notification tests send e-mail to an aiosmtpd they start.
    let smtp = tools::aiosmtpd()?;
    // Each browser test is cancelled after 3 min (node's default is no limit); hooks have
    // their own limit (end2end/tests/support.mjs).
    run(Command::new("node")
        .args([
            "--test",
            "--test-concurrency=1",
            "--test-timeout=180000",
            "end2end/tests/",
        ])
        .env("CH_BIN", bin)
        .env("CH_AIOSMTPD_PYTHON", smtp))
}
