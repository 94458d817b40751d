//! `cargo xtask serve` builds and runs the app on embedded defaults; `cargo xtask test` runs
//! every check. Both install the build tools they need first (once; later runs reuse them).

mod bench;
mod bench_submit;
mod contract;
mod site;
mod tools;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

const USAGE: &str = "usage: cargo xtask <serve [--release] | build [--release] | test | e2e | contract | bench cache | bench submit | bench viewer>";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Runs a command in the workspace root, failing on a non-zero exit.
pub fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: {cmd:?}");
    if cmd.get_current_dir().is_none() {
        cmd.current_dir(root());
    }
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
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
        Some("e2e") => e2e(),
        Some("contract") => {
            build(false)?;
            tools::psql()?;
            contract::contract()
        }
        Some("bench") if args.get(1).map(String::as_str) == Some("cache") => bench::cache(),
        Some("bench") if args.get(1).map(String::as_str) == Some("submit") => bench_submit::submit(),
        Some("bench") if args.get(1).map(String::as_str) == Some("viewer") => bench_viewer(),
        _ => bail!(USAGE),
    }
}

fn build(release: bool) -> Result<()> {
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
    let bin = root()
        .join("target")
        .join(if release { "release" } else { "debug" })
        .join("cosmic-horizons");
    run(Command::new(bin).arg("serve"))
}

fn test() -> Result<()> {
    run(cargo().args(["fmt", "--all", "--check"]))?;
    // `frontend` builds only for wasm32: with it in a native build, cargo would unify leptos's
    // `hydrate` feature into the server and break SSR.
    run(cargo().args([
        "clippy",
        "--workspace",
        "--exclude",
        "frontend",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
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
    ]))?;
    tools::require_services()?;
    run(cargo().args(["test", "--workspace", "--exclude", "frontend"]))?;
    e2e()?;
    // The binary e2e built serves the OpenAPI contract to schemathesis.
    contract::contract()
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
        .env("CH_BIN", root().join("target/release/cosmic-horizons")))
}

/// Browser tests: builds the site and server, then drives Chromium with playwright-core.
fn e2e() -> Result<()> {
    build(false)?;
    tools::chromium()?;
    tools::psql()?;
    tools::node()?;
    tools::npm_ci("end2end")?;
    let bin = root().join("target/debug/cosmic-horizons");
    run(Command::new("node")
        .args(["--test", "--test-concurrency=1", "end2end/tests/"])
        .env("CH_BIN", bin))
}
