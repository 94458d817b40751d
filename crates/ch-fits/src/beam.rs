//! The restoring beam of a radio image and the flux density of a region.
//!
//! Where the beam comes from, in the order a reader tries them (CARTA and radio-beam use the
//! same sources):
//! 1. the `BMAJ`, `BMIN` (degrees, FWHM) and `BPA` (degrees) keywords of the image header;
//! 2. a CASA per-channel `BEAMS` binary-table extension (columns `BMAJ`, `BMIN`, `BPA`, `CHAN`,
//!    `POL`, units from `TUNITn`, arcseconds when absent), for the image's plane — see
//!    [`crate::Fits::beam`];
//! 3. AIPS `HISTORY` cards such as
//!    `HISTORY AIPS   CLEAN BMAJ=  3.8158E-03 BMIN=  3.4928E-03 BPA= -40.24` (degrees); the
//!    last such card is the beam, as AIPS appends a new one after each CLEAN.
//!
//! The flux density of a region in a Jy/beam image is `Σ pixels / beam area in pixels`, with the
//! beam area of an elliptical Gaussian `π·BMAJ·BMIN / (4 ln 2)` divided by the pixel area (the
//! absolute determinant of the CD matrix from `ch-wcs`, which also reads legacy CROTA/PC forms
//! and non-standard unit spellings).

use std::f64::consts::{LN_2, PI};

use serde::Serialize;

use crate::compress::table::{Table, columns};
use crate::header::Header;
use crate::{Fits, HduKind};

/// Where a [`Beam`] was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum BeamSource {
    /// `BMAJ`/`BMIN`/`BPA` keywords.
    Keywords,
    /// A CASA `BEAMS` table row (0-based channel and polarization).
    BeamsTable { channel: i64, polarization: i64 },
    /// The last AIPS `CLEAN BMAJ=… BMIN=… BPA=…` history card.
    AipsHistory,
}

/// An elliptical Gaussian restoring beam: FWHM axes and position angle, all in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Beam {
    pub bmaj_deg: f64,
    pub bmin_deg: f64,
    pub bpa_deg: f64,
    pub source: BeamSource,
}

impl Beam {
    /// The beam from the header alone: keywords, else AIPS history cards. The error says why
    /// there is none.
    pub fn from_header(h: &Header) -> Result<Beam, String> {
        match (h.get_f64("BMAJ"), h.get_f64("BMIN")) {
            (Some(bmaj_deg), Some(bmin_deg)) => Beam {
                bmaj_deg,
                bmin_deg,
                bpa_deg: h.get_f64("BPA").unwrap_or(0.0),
                source: BeamSource::Keywords,
            }
            .checked(),
            _ => match aips_history(h) {
                Some(beam) => beam.checked(),
                None => Err("no beam: BMAJ/BMIN missing from the header and no AIPS CLEAN history card".into()),
            },
        }
    }

    /// Beam solid angle in square degrees, `π·BMAJ·BMIN / (4 ln 2)`.
    pub fn area_deg2(&self) -> f64 {
        PI * self.bmaj_deg * self.bmin_deg / (4.0 * LN_2)
    }

    pub(crate) fn checked(self) -> Result<Beam, String> {
        let ok = |v: f64| v > 0.0 && v.is_finite();
        if ok(self.bmaj_deg) && ok(self.bmin_deg) {
            Ok(self)
        } else {
            Err(format!(
                "the beam ({:?}) has BMAJ = {}, BMIN = {}: not positive",
                self.source, self.bmaj_deg, self.bmin_deg
            ))
        }
    }
}

impl Fits<'_> {
    /// The beam of plane `plane` of image HDU `hdu`: the header's keywords, else the row of a
    /// CASA `BEAMS` table for this plane's channel and polarization (channel = plane mod
    /// NAXIS3, polarization = plane div NAXIS3), else AIPS history cards.
    pub fn beam(&self, hdu: usize, plane: usize) -> Result<Beam, String> {
        let header = self.hdu(hdu).map_err(|e| e.to_string())?.header();
        if header.contains("BMAJ") && header.contains("BMIN") {
            return Beam::from_header(header);
        }
        if let Some(table) = self.hdus().iter().find(|h| {
            h.kind() == HduKind::BinTable && h.extname().is_some_and(|n| n.trim().eq_ignore_ascii_case("BEAMS"))
        }) {
            let nchan = header.get_i64("NAXIS3").filter(|n| *n > 0).unwrap_or(1);
            let plane = i64::try_from(plane).map_err(|_| "plane index overflows".to_string())?;
            return self.beams_table_row(table.index(), plane % nchan, plane / nchan);
        }
        Beam::from_header(header)
    }

    fn beams_table_row(&self, index: usize, channel: i64, polarization: i64) -> Result<Beam, String> {
        let fail = |e: crate::FitsError| format!("BEAMS table (HDU {index}): {e}");
        let h = self.hdu(index).map_err(fail)?.header();
        let cols = columns(h).map_err(fail)?;
        let table = Table::new(self.data_unit(index).map_err(fail)?, h).map_err(fail)?;
        let col = |name: &str| {
            cols.iter()
                .position(|c| c.name == name)
                .ok_or_else(|| format!("BEAMS table (HDU {index}) has no {name} column"))
        };
        let (bmaj, bmin, bpa) = (col("BMAJ")?, col("BMIN")?, col("BPA")?);
        let (chan, pol) = (col("CHAN").ok(), col("POL").ok());
        // Unit of a column as a multiplier to degrees (CASA writes arcsec for the axes, deg for BPA).
        let unit = |i: usize, default: f64| match h.get_str(&format!("TUNIT{}", i + 1)).map(str::trim) {
            Some(u) if u.eq_ignore_ascii_case("deg") || u.eq_ignore_ascii_case("degrees") => 1.0,
            Some(u) if u.eq_ignore_ascii_case("arcmin") => 1.0 / 60.0,
            Some(u) if u.eq_ignore_ascii_case("arcsec") => 1.0 / 3600.0,
            Some(u) if u.eq_ignore_ascii_case("rad") => 180.0 / PI,
            _ => default,
        };
        for row in 0..table.rows() {
            let int = |c: Option<usize>| -> Result<i64, String> {
                match c.and_then(|c| cols.get(c)) {
                    Some(column) => Ok(table.number(row, column).map_err(fail)?.0 as i64),
                    None => Ok(0),
                }
            };
            if int(chan)? != channel || int(pol)? != polarization {
                continue;
            }
            let num = |c: usize| -> Result<f64, String> {
                let column = cols.get(c).ok_or_else(|| "column index".to_string())?;
                Ok(table.number(row, column).map_err(fail)?.0)
            };
            return Beam {
                bmaj_deg: num(bmaj)? * unit(bmaj, 1.0 / 3600.0),
                bmin_deg: num(bmin)? * unit(bmin, 1.0 / 3600.0),
                bpa_deg: num(bpa)? * unit(bpa, 1.0),
                source: BeamSource::BeamsTable { channel, polarization },
            }
            .checked();
        }
        Err(format!(
            "BEAMS table (HDU {index}) has no row for channel {channel}, polarization {polarization}"
        ))
    }
}

/// The last AIPS `CLEAN` history card with `BMAJ=`, `BMIN=` (and `BPA=`) values in degrees.
fn aips_history(h: &Header) -> Option<Beam> {
    h.history()
        .filter(|t| t.trim_start().starts_with("AIPS"))
        .filter_map(parse_aips)
        .last()
}

fn parse_aips(text: &str) -> Option<Beam> {
    let value = |key: &str| -> Option<f64> {
        let at = text.find(key)? + key.len();
        let rest = text.get(at..)?.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest.get(..end)?.replace(['D', 'd'], "E").parse::<f64>().ok()
    };
    Some(Beam {
        bmaj_deg: value("BMAJ=")?,
        bmin_deg: value("BMIN=")?,
        bpa_deg: value("BPA=").unwrap_or(0.0),
        source: BeamSource::AipsHistory,
    })
}

/// Flux density of a region, or why it cannot be given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FluxDensity {
    /// Integrated flux density in Jy.
    pub flux_jy: Option<f64>,
    /// Beam area in pixels, `π·BMAJ·BMIN / (4 ln 2)` over the pixel area.
    pub beam_area_pixels: Option<f64>,
    /// The beam used, with where it came from.
    pub beam: Option<Beam>,
    /// Why `flux_jy` is `None`.
    pub reason: Option<String>,
}

/// Pixel area in square degrees: |det CD| of the celestial axes, from `ch-wcs`; for images
/// without celestial axes (no CTYPE1/2), |det| of axes 1–2 from CDi_j or CDELTi·PCi_j, which
/// must then be in degrees.
fn pixel_area_deg2(h: &Header) -> Result<f64, String> {
    let area = match ch_wcs::Wcs::from_cards(h.cards()).ok().and_then(|w| w.cd_matrix()) {
        Some(cd) => (cd[0][0] * cd[1][1] - cd[0][1] * cd[1][0]).abs(),
        None => linear_area(h)?,
    };
    if area > 0.0 && area.is_finite() {
        Ok(area)
    } else {
        Err("pixel area is zero or not finite".into())
    }
}

fn linear_area(h: &Header) -> Result<f64, String> {
    for axis in ["CUNIT1", "CUNIT2"] {
        if let Some(u) = h
            .get_str(axis)
            .map(str::trim)
            .filter(|u| !u.is_empty() && !["deg", "degree", "degrees"].iter().any(|d| u.eq_ignore_ascii_case(d)))
        {
            return Err(format!("{axis} = '{u}', expected degrees"));
        }
    }
    let get = |k: &str, default: f64| h.get_f64(k).unwrap_or(default);
    if ["CD1_1", "CD1_2", "CD2_1", "CD2_2"].iter().any(|k| h.contains(k)) {
        return Ok((get("CD1_1", 0.0) * get("CD2_2", 0.0) - get("CD1_2", 0.0) * get("CD2_1", 0.0)).abs());
    }
    let (Some(c1), Some(c2)) = (h.get_f64("CDELT1"), h.get_f64("CDELT2")) else {
        return Err("no celestial WCS and no CDELT1/CDELT2 or CD matrix in the header".into());
    };
    let det = get("PC1_1", 1.0) * get("PC2_2", 1.0) - get("PC1_2", 0.0) * get("PC2_1", 0.0);
    Ok((c1 * c2 * det).abs())
}

/// Beam area in pixels from the header's beam ([`Beam::from_header`]) and pixel scale.
pub fn beam_area_pixels(h: &Header) -> Result<f64, String> {
    Ok(Beam::from_header(h)?.area_deg2() / pixel_area_deg2(h)?)
}

/// Flux density of a sum of pixel values: `sum / beam_area_pixels` when `BUNIT` is Jy/beam and
/// the beam and pixel scale are known; otherwise `flux_jy` is `None` with the reason.
pub fn flux_density(sum: f64, h: &Header) -> FluxDensity {
    flux_density_with(sum, h, Beam::from_header(h))
}

/// [`flux_density`] with a beam found by the caller.
pub(crate) fn flux_density_with(sum: f64, h: &Header, beam: Result<Beam, String>) -> FluxDensity {
    let unit: String = h
        .get_str("BUNIT")
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let area = beam
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|b| Ok(b.area_deg2() / pixel_area_deg2(h)?));
    let result = FluxDensity {
        flux_jy: None,
        beam_area_pixels: area.as_ref().ok().copied(),
        beam: beam.as_ref().ok().copied(),
        reason: None,
    };
    if !unit.eq_ignore_ascii_case("JY/BEAM") {
        let reason = if unit.is_empty() {
            "BUNIT missing".to_string()
        } else {
            format!("BUNIT is '{unit}', not Jy/beam")
        };
        return FluxDensity {
            reason: Some(reason),
            ..result
        };
    }
    match area {
        Ok(area) if sum.is_finite() => FluxDensity {
            flux_jy: Some(sum / area),
            ..result
        },
        Ok(_) => FluxDensity {
            reason: Some("no finite pixels in the region".into()),
            ..result
        },
        Err(reason) => FluxDensity {
            reason: Some(reason),
            ..result
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aips_cards() {
        let beam = parse_aips("AIPS   CLEAN BMAJ=  3.8158E-03 BMIN=  3.4928E-03 BPA= -40.24").expect("beam");
        assert_eq!(
            (beam.bmaj_deg, beam.bmin_deg, beam.bpa_deg),
            (3.8158e-3, 3.4928e-3, -40.24)
        );
        assert!(parse_aips("AIPS   CLEAN NITER=     1000 PRODUCT=1   / NORMAL").is_none());
        assert!(parse_aips("AIPS   CLEAN BMAJ= x BMIN= 1").is_none());
        let no_bpa = parse_aips("AIPS IMAGR BMAJ= 1.0D-03 BMIN= 5.0D-04").expect("beam");
        assert_eq!((no_bpa.bmaj_deg, no_bpa.bpa_deg), (1e-3, 0.0));
    }
}
