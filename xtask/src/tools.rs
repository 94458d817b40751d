//! Installs what a fresh machine lacks, idempotently: wasm-bindgen (the exact version in
//! Cargo.lock), Chromium, the end-to-end npm packages, aiosmtpd for the e-mail tests; checks
//! the services tests need.

use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::{cargo, root, run};

fn locked_version(package: &str) -> Result<String> {
    let lock: toml::Table = toml::from_str(&std::fs::read_to_string(root().join("Cargo.lock"))?)?;
    lock.get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .find(|p| p.get("name").and_then(|n| n.as_str()) == Some(package))
        .and_then(|p| p.get("version")?.as_str().map(str::to_owned))
        .with_context(|| format!("{package} not in Cargo.lock"))
}

/// Whether Debian's package `package` is installed.
pub fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

/// Installs Debian `packages` (`apt-get update`, then `install --no-install-recommends`), one
/// apt run at a time: the background tool downloads and a stage may both need packages, and
/// dpkg refuses a second concurrent run ("Could not get lock /var/lib/dpkg/lock-frontend").
/// `DPkg::Lock::Timeout` makes apt wait for a run outside this process (e.g. unattended
/// upgrades) instead of failing. `why` names what the packages are for in the error.
pub fn apt_install(packages: &[&str], why: &str) -> Result<()> {
    static APT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = APT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let apt = || {
        let mut c = Command::new("apt-get");
        c.args(["-o", "DPkg::Lock::Timeout=900"])
            .env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(apt().arg("update"))?;
    run(apt().args(["install", "-y", "--no-install-recommends"]).args(packages)).with_context(|| {
        format!(
            "installing {} for {why} (needs root, or install Debian's packages yourself)",
            packages.join(" ")
        )
    })
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// wasm-bindgen must match the library version exactly.
pub fn wasm_bindgen() -> Result<()> {
    let want = locked_version("wasm-bindgen")?;
    let have = output(Command::new("wasm-bindgen").arg("--version")).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(want.as_str()) {
        return Ok(());
    }
    // Without --locked: the CLI's own lock file names a yanked dependency. Its own target
    // directory: the project's is locked by the builds this runs beside.
    run(cargo()
        .args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            &format!("={want}"),
            "--target-dir",
        ])
        .arg(crate::target_dir().join("tools")))
}

/// binaryen's wasm-opt from the end-to-end npm packages (Debian's is too old) or PATH.
pub fn wasm_opt() -> Option<PathBuf> {
    let local = root().join("end2end/node_modules/.bin/wasm-opt");
    if local.exists() {
        return Some(local);
    }
    output(Command::new("wasm-opt").arg("--version")).map(|_| PathBuf::from("wasm-opt"))
}

pub fn chromium() -> Result<()> {
    if PathBuf::from("/usr/bin/chromium").exists() {
        return Ok(());
    }
    apt_install(&["chromium"], "the browser tests")
}

/// `psql` makes the browser tests' PostgreSQL databases; Debian's client package is enough.
pub fn psql() -> Result<()> {
    if output(Command::new("psql").arg("--version")).is_some() {
        return Ok(());
    }
    apt_install(&["postgresql-client"], "the browser tests' databases (psql)")
}

/// Node.js runs the browser tests; Debian's package is enough.
pub fn node() -> Result<()> {
    if output(Command::new("node").arg("--version")).is_some() && output(Command::new("npm").arg("--version")).is_some()
    {
        return Ok(());
    }
    apt_install(&["nodejs", "npm"], "the browser tests (Node.js)")
}

/// aiosmtpd (PyPI), the SMTP server the e-mail tests send to; pinned.
const AIOSMTPD: &str = "1.4.6";

/// A virtual environment under `~/.cache/cosmic-horizons/<package>-<version>` holding
/// `package==version` from PyPI, made on first use; it is ready once its `bin/<script>` exists.
/// Returns the environment's directory.
pub fn pypi_tool(package: &str, version: &str, script: &str) -> Result<PathBuf> {
    let home = std::env::var_os("HOME").map_or_else(|| root().join("target"), PathBuf::from);
    let venv = home.join(format!(".cache/cosmic-horizons/{package}-{version}"));
    if venv.join("bin").join(script).exists() {
        return Ok(venv);
    }
    let has_venv = Command::new("python3")
        .args(["-c", "import ensurepip, venv"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_venv {
        apt_install(&["python3-venv"], "Python virtual environments")?;
    }
    run(Command::new("python3").arg("-m").arg("venv").arg(&venv))
        .context("creating a Python virtual environment (Debian: python3-venv)")?;
    run(Command::new(venv.join("bin/pip")).args(["install", "--quiet", &format!("{package}=={version}")]))
        .with_context(|| format!("installing {package} {version} from PyPI"))?;
    Ok(venv)
}

/// The Python of aiosmtpd's environment: the integration and browser tests start
/// `python -m aiosmtpd` from it (`CH_AIOSMTPD_PYTHON`).
pub fn aiosmtpd() -> Result<PathBuf> {
    Ok(pypi_tool("aiosmtpd", AIOSMTPD, "aiosmtpd")?.join("bin/python"))
}

pub fn npm_ci(dir: &str) -> Result<()> {
    let path = root().join(dir);
    let stamp = path.join("node_modules/.package-lock.json");
    let lock = path.join("package-lock.json");
    let fresh = match (std::fs::metadata(&stamp), std::fs::metadata(&lock)) {
        (Ok(s), Ok(l)) => s.modified()? >= l.modified()?,
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    run(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(path))
}

/// Services the machine provides (the project's scripts start the rest themselves).
const REQUIRED_SERVICES: &[(&str, &str)] = &[("PostgreSQL", "127.0.0.1:5432")];

/// Services the test suite talks to. Locally a missing one is reported; with `CI=true` it
/// is an error before anything runs.
pub fn require_services() -> Result<()> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let mut missing = Vec::new();
    for (name, addr) in REQUIRED_SERVICES {
        let ok = addr
            .parse::<SocketAddr>()
            .ok()
            .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok());
        if !ok {
            missing.push(format!("{name} at {addr}"));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    let msg = format!("not reachable: {}", missing.join(", "));
    if ci {
        bail!("{msg} (CI=true: every service is required)");
    }
    eprintln!("xtask: warning: {msg}; their tests will fail");
    Ok(())
}

/// cargo-nextest runs the Rust tests (one process per test, each with a deadline:
/// `.config/nextest.toml`). Preinstalled on the project's machines; installed when missing.
pub fn nextest() -> Result<()> {
    if output(cargo().args(["nextest", "--version"])).is_some() {
        return Ok(());
    }
    run(cargo().args(["install", "cargo-nextest", "--locked"]))
}

/// Whether this is a CI run (`CI=true`), where a service the tests need must be there.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// For the test stage: `start`s a service the tests of `what` need. Under `CI=true` a failure
/// fails the stage; otherwise it is a warning, and those tests print SKIPPED.
pub fn for_tests(what: &str, start: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<()> {
    match start() {
        Ok(()) => Ok(()),
        Err(e) if ci() => Err(e.context(format!("CI=true: the {what} tests need it running"))),
        Err(e) => {
            eprintln!("xtask: warning: {what} did not start ({e:#}); its tests will print SKIPPED");
            Ok(())
        }
    }
}
