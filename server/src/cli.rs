//! `cosmic-horizons fits …`: FITS inspection for scripts and checks, in the spirit of
//! astropy's fitsinfo/fitsheader. Output is JSON or plain numbers; failures are one line on
//! stderr and a non-zero exit.

use std::path::{Path, PathBuf};

use ch_fits::{Fits, HduKind, Stats};
use ch_wcs::Wcs;
use clap::Subcommand;
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum FitsCommand {
    /// HDUs with shape, unit, statistics of finite physical values and WCS axes, as JSON.
    Stats {
        file: PathBuf,
        /// Only this HDU (0 = primary).
        #[arg(long)]
        hdu: Option<usize>,
    },
    /// World coordinates (degrees) of 0-based pixel X, Y.
    #[command(allow_negative_numbers = true)]
    Pix2world {
        file: PathBuf,
        x: f64,
        y: f64,
        #[arg(long)]
        hdu: Option<usize>,
    },
    /// 0-based pixel of world coordinates (degrees); negative values (southern declinations)
    /// are values, not options.
    #[command(allow_negative_numbers = true)]
    World2pix {
        file: PathBuf,
        lon: f64,
        lat: f64,
        #[arg(long)]
        hdu: Option<usize>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Fits {
        path: String,
        #[source]
        source: ch_fits::FitsError,
    },
    #[error("{0}")]
    Usage(String),
}

#[derive(Serialize)]
struct HduReport {
    index: usize,
    bitpix: i32,
    shape: Vec<u64>,
    bunit: Option<String>,
    stats: Option<Stats>,
    wcs: Option<WcsReport>,
    /// What the reader tolerated in this HDU's header and WCS (astropy's FITSFixedWarning /
    /// VerifyWarning equivalents).
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct WcsReport {
    ctype: Vec<String>,
}

fn is_image(kind: HduKind) -> bool {
    matches!(kind, HduKind::Primary | HduKind::Image | HduKind::CompressedImage)
}

fn fits_error(path: &Path) -> impl Fn(ch_fits::FitsError) -> CliError + '_ {
    move |source| CliError::Fits {
        path: path.display().to_string(),
        source,
    }
}

fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|source| CliError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<Fits<'a>, CliError> {
    Fits::parse(bytes).map_err(fits_error(path))
}

fn wcs_of(fits: &Fits<'_>, index: usize) -> Option<Wcs> {
    let hdu = fits.hdu(index).ok()?;
    Wcs::from_cards(hdu.header().cards()).ok()
}

/// Statistics over every plane of an image HDU; `None` for HDUs without pixels.
fn hdu_stats(fits: &Fits<'_>, path: &Path, index: usize) -> Result<Option<Stats>, CliError> {
    let hdu = fits.hdu(index).map_err(fits_error(path))?;
    if !is_image(hdu.kind()) || hdu.shape().is_empty() || hdu.shape().contains(&0) {
        return Ok(None);
    }
    let first = fits.image(index, 0).map_err(fits_error(path))?;
    let mut values = first.data;
    for plane in 1..first.planes {
        let img = fits.image(index, plane).map_err(fits_error(path))?;
        values.extend_from_slice(&img.data);
    }
    Ok(Some(Stats::compute(&values)))
}

fn report(fits: &Fits<'_>, path: &Path, index: usize) -> Result<HduReport, CliError> {
    let hdu = fits.hdu(index).map_err(fits_error(path))?;
    let wcs = is_image(hdu.kind()).then(|| wcs_of(fits, index)).flatten();
    let mut warnings = hdu.header().warnings().to_vec();
    warnings.extend(wcs.iter().flat_map(|w| w.warnings().iter().cloned()));
    Ok(HduReport {
        index,
        bitpix: hdu.bitpix(),
        shape: hdu.shape().to_vec(),
        bunit: hdu.header().get_str("BUNIT").map(|s| s.trim().to_owned()),
        stats: hdu_stats(fits, path, index)?,
        wcs: wcs.map(|w| WcsReport { ctype: w.ctype() }),
        warnings,
    })
}

/// The HDU to use for coordinates: the one asked for, or the first with a celestial WCS.
fn celestial(fits: &Fits<'_>, path: &Path, hdu: Option<usize>) -> Result<Wcs, CliError> {
    let shown = path.display();
    match hdu {
        Some(i) => {
            let h = fits.hdu(i).map_err(fits_error(path))?;
            Wcs::from_cards(h.header().cards()).map_err(|e| CliError::Usage(format!("{shown}: HDU {i}: {e}")))
        }
        None => (0..fits.hdus().len())
            .filter_map(|i| wcs_of(fits, i))
            .find(|w| w.pixel_to_world(0.0, 0.0).is_some() || w.projection().is_some())
            .ok_or_else(|| CliError::Usage(format!("{shown}: no HDU has a celestial WCS"))),
    }
}

fn warn_all(file: &Path, warnings: &[String]) {
    for w in warnings {
        eprintln!("warning: {}: {w}", file.display());
    }
}

/// Runs a `fits` subcommand, printing its answer to stdout (warnings on stderr).
pub fn run(cmd: FitsCommand) -> Result<(), CliError> {
    match cmd {
        FitsCommand::Stats { file, hdu } => {
            let bytes = read(&file)?;
            let fits = parse(&file, &bytes)?;
            let indices: Vec<usize> = match hdu {
                Some(i) => vec![i],
                None => (0..fits.hdus().len()).collect(),
            };
            let hdus = indices
                .into_iter()
                .map(|i| report(&fits, &file, i))
                .collect::<Result<Vec<_>, _>>()?;
            // Also on stderr, as astropy prints its warnings, so a human sees them at once.
            for h in &hdus {
                for w in &h.warnings {
                    eprintln!("warning: {}: HDU {}: {w}", file.display(), h.index);
                }
            }
            let json = serde_json::to_string(&serde_json::json!({ "hdus": hdus }))
                .map_err(|e| CliError::Usage(e.to_string()))?;
            println!("{json}");
        }
        FitsCommand::Pix2world { file, x, y, hdu } => {
            let bytes = read(&file)?;
            let wcs = celestial(&parse(&file, &bytes)?, &file, hdu)?;
            warn_all(&file, wcs.warnings());
            let (lon, lat) = wcs
                .pixel_to_world(x, y)
                .ok_or_else(|| CliError::Usage(format!("pixel ({x}, {y}) has no world coordinates")))?;
            println!("{lon} {lat}");
        }
        FitsCommand::World2pix { file, lon, lat, hdu } => {
            let bytes = read(&file)?;
            let wcs = celestial(&parse(&file, &bytes)?, &file, hdu)?;
            warn_all(&file, wcs.warnings());
            let (x, y) = wcs
                .world_to_pixel(lon, lat)
                .ok_or_else(|| CliError::Usage(format!("({lon}, {lat}) is outside the projection")))?;
            println!("{x} {y}");
        }
    }
    Ok(())
}
