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
    let wasm = crate::target_dir()
        .join("wasm32-unknown-unknown")
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
    let started = std::time::Instant::now();
    precompress(&pkg, release)?;
    eprintln!(
        "xtask: site built in {} (Brotli and gzip copies: {:.1} s)",
        site.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Writes `x.br` and `x.gz` beside each WASM, JS and CSS file of the bundle (replacing older
/// ones), for the server to send to clients that accept them. A release bundle gets Brotli 9
/// and gzip 9 (the 10 MB WASM becomes 1.7 and 2.3 MB); a debug one, built for every test run,
/// the fastest settings.
fn precompress(pkg: &Path, release: bool) -> Result<()> {
    let (brotli_quality, gzip) = if release {
        (9, flate2::Compression::best())
    } else {
        (1, flate2::Compression::fast())
    };
    use std::io::Write;
    for entry in std::fs::read_dir(pkg).with_context(|| format!("reading {}", pkg.display()))? {
        let path = entry?.path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
        if !matches!(ext, "wasm" | "js" | "css") {
            continue;
        }
        let data = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let sibling = |suffix: &str| {
            let mut name = path.clone().into_os_string();
            name.push(suffix);
            std::path::PathBuf::from(name)
        };
        let mut br = brotli::CompressorWriter::new(Vec::new(), 1 << 16, brotli_quality, 22);
        br.write_all(&data)?;
        std::fs::write(sibling(".br"), br.into_inner())?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), gzip);
        gz.write_all(&data)?;
        std::fs::write(sibling(".gz"), gz.finish()?)?;
    }
    Ok(())
}
