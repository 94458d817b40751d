//! The quick loop for development (`cargo xtask check`) and the disk bound on the target
//! directory (`cargo xtask clean`, and the prune `cargo xtask test` does first).

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::{cargo, root, run, target_dir};

const GB: u64 = 1 << 30;

/// Default ceiling on the target directory before `cargo xtask test` prunes it: a full build
/// (debug native + wasm32 + tests) is about 5–6 GB, release benchmarks add a few GB.
const DEFAULT_CAP_GB: u64 = 30;

/// Bytes on disk under `path` (allocated blocks, links not followed); 0 when it is absent.
fn disk_usage(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    let mut total = meta.blocks() * 512;
    if meta.is_dir()
        && let Ok(entries) = std::fs::read_dir(path)
    {
        total += entries.flatten().map(|e| disk_usage(&e.path())).sum::<u64>();
    }
    total
}

fn gb(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)] // a size to one decimal
    let g = bytes as f64 / GB as f64;
    format!("{g:.1} GB")
}

/// Cargo's incremental caches under the target directory (one per profile and target).
fn incremental_dirs(target: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![(target.to_path_buf(), 0)];
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let path = e.path();
            if !e.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if e.file_name() == "incremental" {
                found.push(path);
            } else if depth < 2 {
                stack.push((path, depth + 1));
            }
        }
    }
    found
}

/// Keeps the target directory under `CH_TARGET_CAP_GB` (default 30): over it, the incremental
/// caches go first, then the whole directory (the next build starts from nothing).
pub fn prune_target() -> Result<()> {
    let cap = std::env::var("CH_TARGET_CAP_GB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(DEFAULT_CAP_GB)
        * GB;
    let target = target_dir();
    let size = disk_usage(&target);
    eprintln!("xtask: {} holds {} (cap {})", target.display(), gb(size), gb(cap));
    if size <= cap {
        return Ok(());
    }
    for dir in incremental_dirs(&target) {
        eprintln!("xtask: over the cap: removing {}", dir.display());
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let size = disk_usage(&target);
    if size > cap {
        eprintln!(
            "xtask: still {}: removing {} (a full build follows)",
            gb(size),
            target.display()
        );
        for e in std::fs::read_dir(&target)?.flatten() {
            // The running xtask binary lives here too; removing its file is harmless on Linux.
            let path = e.path();
            let _ = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
        }
    }
    Ok(())
}

/// `cargo xtask clean`: removes the target directory, saying how much it held.
pub fn clean() -> Result<()> {
    let target = target_dir();
    let size = disk_usage(&target);
    run(cargo().arg("clean"))?;
    eprintln!("xtask: removed {} ({})", target.display(), gb(size));
    Ok(())
}

/// The workspace packages with changes (tracked or untracked files) against `HEAD`.
fn changed_packages() -> Result<BTreeSet<String>> {
    let out = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(root())
        .output()
        .context("running git status")?;
    let mut packages = BTreeSet::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // `XY path` or `XY old -> new`.
        let Some(path) = line.get(3..).map(|p| p.rsplit(" -> ").next().unwrap_or(p)) else {
            continue;
        };
        let mut dir = root().join(path);
        while dir.pop() && dir.starts_with(root()) && dir != root() {
            if let Some(name) = package_name(&dir.join("Cargo.toml")) {
                packages.insert(name);
                break;
            }
        }
    }
    Ok(packages)
}

fn package_name(manifest: &Path) -> Option<String> {
    let text = std::fs::read_to_string(manifest).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    Some(table.get("package")?.get("name")?.as_str()?.to_owned())
}

/// `cargo xtask check [PACKAGE…]`: format check, clippy and the unit tests (library and binary
/// targets, not the integration tests) of the given packages, or of those with uncommitted
/// changes. `frontend` is linted for wasm32 only.
pub fn check() -> Result<()> {
    let named: Vec<String> = std::env::args().skip(2).collect();
    let packages: BTreeSet<String> = if named.is_empty() {
        changed_packages()?
    } else {
        named.into_iter().collect()
    };
    run(cargo().args(["fmt", "--all", "--check"]))?;
    let loops = crate::imports::loops(&root());
    if !loops.is_empty() {
        anyhow::bail!("import loops between modules:\n{}", loops.join("\n"));
    }
    if packages.is_empty() {
        eprintln!("xtask: no package has uncommitted changes (name some: cargo xtask check server)");
        return Ok(());
    }
    eprintln!(
        "xtask: checking {}",
        packages.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    let native: Vec<&String> = packages.iter().filter(|p| *p != "frontend").collect();
    if packages.contains("frontend") {
        run(cargo().args([
            "clippy",
            "-p",
            "frontend",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    if native.is_empty() {
        return Ok(());
    }
    crate::kafka::rdkafka_build_deps()?;
    let selection: Vec<&str> = native.iter().flat_map(|p| ["-p", p.as_str()]).collect();
    run(cargo()
        .arg("clippy")
        .args(&selection)
        .args(["--all-targets", "--", "-D", "warnings"]))?;
    crate::tools::nextest()?;
    run(cargo()
        .args(["nextest", "run", "--lib", "--bins", "--no-tests", "pass"])
        .args(&selection))
}
