//! Builds the browser bundle into the site root named by `Leptos.toml`.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::{cargo, root, run};

/// The keys of `Leptos.toml` the bundle build needs.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct SiteConf {
    output_name: String,
    site_root: String,
    site_pkg_dir: String,
    style_file: String,
    assets_dir: String,
}

fn site_conf() -> Result<SiteConf> {
    #[derive(Deserialize)]
    struct File {
        package: Package,
    }
    #[derive(Deserialize)]
    struct Package {
        metadata: Metadata,
    }
    #[derive(Deserialize)]
    struct Metadata {
        leptos: SiteConf,
    }
    let text = std::fs::read_to_string(root().join("Leptos.toml")).context("reading Leptos.toml")?;
    let file: File = toml::from_str(&text).context("parsing Leptos.toml")?;
    Ok(file.package.metadata.leptos)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}

pub fn build(release: bool) -> Result<()> {
    let conf = site_conf()?;
    let root = root();
    let profile = if release { "wasm-release" } else { "dev" };
    run(cargo().args([
        "build",
        "-p",
        "frontend",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
        "--profile",
        profile,
    ]))?;
    let dir = if release { "wasm-release" } else { "debug" };
    let wasm = root
        .join("target/wasm32-unknown-unknown")
        .join(dir)
        .join("frontend.wasm");
    let site = root.join(&conf.site_root);
    let pkg = site.join(&conf.site_pkg_dir);
    run(Command::new("wasm-bindgen")
        .arg(&wasm)
        .args(["--target", "web", "--no-typescript", "--out-dir"])
        .arg(&pkg)
        .args(["--out-name", &conf.output_name]))?;
    if release {
        let bg = pkg.join(format!("{}_bg.wasm", conf.output_name));
        match crate::tools::wasm_opt() {
            Some(opt) => run(Command::new(opt).arg("-Oz").arg(&bg).arg("-o").arg(&bg))?,
            None => eprintln!("xtask: wasm-opt not found; the release bundle is not size-optimised"),
        }
    }
    std::fs::copy(
        root.join(&conf.style_file),
        pkg.join(format!("{}.css", conf.output_name)),
    )
    .context("copying the style file")?;
    copy_dir(&root.join(&conf.assets_dir), &site)?;
    eprintln!("xtask: site built in {}", site.display());
    Ok(())
}
