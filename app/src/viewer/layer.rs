//! One layer of the viewer: a decoded plane of a FITS file on the first layer's grid, its
//! header and WCS, display settings and limits.

use ch_fits::{Fits, HduKind, Header, image::Image};
use ch_render::Limits;
use ch_wcs::Wcs;

use super::state::LayerSettings;
use super::vocab::fmt_value;

pub struct Layer {
    pub name: String,
    /// Same-origin URL it came from; empty for a local file (not shareable).
    pub src: String,
    pub(super) fits: Fits<'static>,
    pub hdu: usize,
    pub plane: usize,
    pub planes: usize,
    /// Current plane on the first layer's grid.
    pub image: Image<f32>,
    pub header: Header,
    pub wcs: Option<Wcs>,
    /// What the reader tolerated in the header and its WCS ([`read_wcs`]).
    pub warnings: Vec<String>,
    pub settings: LayerSettings,
    pub limits: (f64, f64),
    /// Limits over every plane of the cube by the mode they were computed with: computing
    /// them decodes the whole cube, so a mode seen before is not computed again.
    pub(super) cube_limits: Vec<(Limits, (f64, f64))>,
    /// Set when this layer was resampled onto the first layer's WCS grid.
    pub reprojected: bool,
}

/// The celestial WCS of `header` (none without sky axes) and the header's warnings followed by
/// the WCS's (translated units, deprecated keywords, ignored values), read once per HDU shown.
pub fn read_wcs(header: &Header) -> (Option<Wcs>, Vec<String>) {
    let mut warnings = header.warnings().to_vec();
    let wcs = match Wcs::from_cards(header.cards()) {
        Ok(wcs) => {
            warnings.extend(wcs.warnings().iter().cloned());
            Some(wcs).filter(Wcs::has_celestial)
        }
        Err(e) => {
            warnings.push(format!("no sky coordinates: {e}"));
            None
        }
    };
    (wcs, warnings)
}

impl Layer {
    pub fn bunit(&self) -> String {
        self.header.get_str("BUNIT").unwrap_or("").trim().to_owned()
    }

    /// The file's image HDUs with data: index and a label (`1 SCI 2048×2048`).
    pub fn image_hdus(&self) -> Vec<(usize, String)> {
        self.fits
            .hdus()
            .iter()
            .filter(|h| {
                matches!(h.kind(), HduKind::Primary | HduKind::Image | HduKind::CompressedImage)
                    && !h.shape().is_empty()
            })
            .map(|h| {
                let dims: Vec<String> = h.shape().iter().rev().map(u64::to_string).collect();
                let name = h.extname().map(|n| format!(" {n}")).unwrap_or_default();
                (h.index(), format!("{}{name} {}", h.index(), dims.join("×")))
            })
            .collect()
    }

    /// What the shown plane is: the spectral value and Stokes product of its indices along the
    /// cube axes (e.g. `1.420406 GHz · Stokes I`); empty without such axes.
    pub fn plane_label(&self) -> String {
        let Some(wcs) = self.wcs.as_ref() else {
            return String::new();
        };
        let shape = &self.image.shape;
        // Length of FITS axis `a` (0-based; numpy order is reversed).
        let len = |a: usize| {
            shape
                .len()
                .checked_sub(a + 1)
                .and_then(|i| shape.get(i))
                .map_or(1, |&n| n.max(1) as usize)
        };
        // Index along axis `a` ≥ 2 of the flattened plane (NAXIS3 fastest).
        let index = |a: usize| (self.plane / (2..a).map(len).product::<usize>()) % len(a);
        let mut parts = Vec::new();
        if let Some(s) = wcs.spectral().filter(|s| s.axis() >= 2)
            && let Some(v) = s.pixel_to_world(index(s.axis()) as f64)
        {
            parts.push(spectral_text(v, s.unit()));
        }
        if let Some(st) = wcs.stokes().filter(|s| s.axis() >= 2)
            && let Some(p) = st.pixel_to_stokes(index(st.axis()) as f64)
        {
            parts.push(format!("Stokes {p:?}"));
        }
        parts.join(" · ")
    }
}

/// A spectral coordinate in the unit radio astronomers read (GHz/MHz, km/s, µm…).
fn spectral_text(v: f64, unit: &str) -> String {
    match unit {
        "Hz" if v.abs() >= 1e9 => format!("{:.6} GHz", v / 1e9),
        "Hz" => format!("{:.6} MHz", v / 1e6),
        "m/s" => format!("{:.3} km/s", v / 1e3),
        "m" if v.abs() < 1e-3 => format!("{:.4} µm", v * 1e6),
        _ => format!("{} {unit}", fmt_value(v)),
    }
}

/// Decodes one plane of an image HDU as `f32`.
pub(super) fn decode(fits: &Fits<'static>, hdu: usize, plane: usize) -> Result<Image<f32>, String> {
    fits.image_f32(hdu, plane).map_err(|e| e.to_string())
}

/// Recomputes a layer's display limits from its plane (or its whole cube).
pub(super) fn update_limits(layer: &mut Layer) {
    let limits = layer.settings.render.limits;
    let computed = if layer.settings.cube_limits && layer.planes > 1 {
        cube_limits(layer, limits)
    } else {
        limits.compute(&layer.image.data)
    };
    layer.limits = computed.unwrap_or((0.0, 1.0));
}

fn cube_limits(layer: &mut Layer, limits: Limits) -> Option<(f64, f64)> {
    if let Some((_, known)) = layer.cube_limits.iter().find(|(l, _)| *l == limits) {
        return Some(*known);
    }
    let planes = (0..layer.planes).filter_map(|p| decode(&layer.fits, layer.hdu, p).ok());
    let computed = if limits == Limits::MinMax {
        // Plane by plane: the cube never needs to be in memory as floats at once.
        planes
            .filter_map(|img| Limits::MinMax.compute(&img.data))
            .reduce(|(lo, hi), (l, h)| (lo.min(l), hi.max(h)))
    } else {
        let mut all = Vec::new();
        for img in planes {
            all.extend_from_slice(&img.data);
        }
        limits.compute(&all)
    };
    if let Some(value) = computed {
        layer.cube_limits.push((limits, value));
    }
    computed
}
