//! Serializable summary of a [`Wcs`] for tools and the browser.

use serde::Serialize;

use crate::frames::Frame;
use crate::spectral::{SpectralKind, Stokes};
use crate::{Observation, Wcs};

/// Everything a CLI or UI shows about a WCS, ready for `serde_json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WcsSummary {
    pub naxis: usize,
    pub ctype: Vec<String>,
    pub crval: Vec<f64>,
    /// 1-based, as in the header.
    pub crpix: Vec<f64>,
    pub cdelt: Vec<f64>,
    pub cunit: Vec<String>,
    pub celestial: Option<CelestialSummary>,
    pub spectral: Option<SpectralSummary>,
    pub stokes: Option<StokesSummary>,
    pub notes: Vec<String>,
    /// What was repaired or ignored to read the header ([`Wcs::warnings`]).
    pub warnings: Vec<String>,
    pub observation: Observation,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CelestialSummary {
    /// 0-based (longitude, latitude) axis indices.
    pub axes: (usize, usize),
    pub projection: &'static str,
    pub frame: Frame,
    /// Reference point (lon, lat) in degrees.
    pub crval: [f64; 2],
    /// Reference pixel on the lower and higher celestial axis, 1-based.
    pub crpix: [f64; 2],
    /// Degrees per pixel (CD form): rows (lon, lat), columns (lower, higher axis).
    pub cd: [[f64; 2]; 2],
    pub pixel_scale_deg: f64,
    pub lonpole: f64,
    pub latpole: f64,
    /// SIP polynomial order, if a SIP distortion is applied.
    pub sip_order: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpectralSummary {
    /// 0-based axis index.
    pub axis: usize,
    pub ctype: String,
    pub kind: SpectralKind,
    pub unit: &'static str,
    /// World value at the reference pixel, in `unit`.
    pub reference_value: Option<f64>,
    pub rest_frequency_hz: Option<f64>,
    pub specsys: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StokesSummary {
    /// 0-based axis index.
    pub axis: usize,
    /// Product at the first pixel of the axis.
    pub first: Option<Stokes>,
}

impl Wcs {
    /// A serializable description of this WCS.
    pub fn summary(&self) -> WcsSummary {
        let celestial = self.celestial_axes().and_then(|axes| {
            Some(CelestialSummary {
                axes,
                projection: self.projection()?,
                frame: self.frame()?.clone(),
                crval: self.celestial_crval()?,
                crpix: self.celestial_crpix()?,
                cd: self.cd_matrix()?,
                pixel_scale_deg: self.pixel_scale()?,
                lonpole: self.poles()?.0,
                latpole: self.poles()?.1,
                sip_order: self.sip_order(),
            })
        });
        let spectral = self.spectral().map(|s| SpectralSummary {
            axis: s.axis(),
            ctype: s.ctype().to_string(),
            kind: s.kind(),
            unit: s.unit(),
            reference_value: self.crpix().get(s.axis()).and_then(|p| s.pixel_to_world(p - 1.0)),
            rest_frequency_hz: s.rest_frequency(),
            specsys: s.specsys().map(String::from),
        });
        let stokes = self.stokes().map(|s| StokesSummary {
            axis: s.axis(),
            first: s.pixel_to_stokes(0.0),
        });
        WcsSummary {
            naxis: self.naxis(),
            ctype: self.ctype(),
            crval: self.crval().to_vec(),
            crpix: self.crpix().to_vec(),
            cdelt: self.cdelt().to_vec(),
            cunit: self.cunit().to_vec(),
            celestial,
            spectral,
            stokes,
            notes: self.notes().to_vec(),
            warnings: self.warnings().to_vec(),
            observation: self.observation().clone(),
        }
    }
}
