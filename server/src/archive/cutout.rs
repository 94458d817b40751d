//! SODA-style cutouts: a sky region (and a channel range, given as channels or as a SODA `BAND`)
//! of an archive image, written as a new FITS file whose WCS still puts every pixel at the same
//! sky position and every channel at the same spectral value.

use ch_fits::{Fits, HduKind};
use ch_wcs::{SpectralAxis, SpectralKind, Wcs};

/// Speed of light (m/s), as ch-wcs uses it.
const C: f64 = 299_792_458.0;
/// Planck constant (J s), as ch-wcs (WCSLIB) uses it.
const PLANCK: f64 = 6.626_075_5e-34;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CutoutError {
    #[error("{param}: {message}")]
    BadParam { param: &'static str, message: String },
    #[error("{0}")]
    Unprocessable(String),
}

fn bad(param: &'static str, message: impl Into<String>) -> CutoutError {
    CutoutError::BadParam {
        param,
        message: message.into(),
    }
}

/// A sky region in degrees.
#[derive(Debug, Clone, PartialEq)]
pub enum Pos {
    Circle { ra: f64, dec: f64, r: f64 },
    Range { ra: (f64, f64), dec: (f64, f64) },
    Polygon(Vec<(f64, f64)>),
}

fn numbers(param: &'static str, text: &str) -> Result<Vec<f64>, CutoutError> {
    text.split_whitespace()
        .map(|t| {
            t.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad(param, format!("'{t}' is not a number")))
        })
        .collect()
}

impl Pos {
    /// Parses SODA `POS` (`CIRCLE ra dec r`, `RANGE ra1 ra2 dec1 dec2`, `POLYGON ra dec …`).
    pub fn parse(text: &str) -> Result<Pos, CutoutError> {
        let text = text.trim();
        let (shape, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        let v = numbers("POS", rest)?;
        match (shape.to_ascii_uppercase().as_str(), v.as_slice()) {
            ("CIRCLE", [ra, dec, r]) if *r > 0.0 && *r < 90.0 && dec.abs() <= 90.0 => Ok(Pos::Circle {
                ra: *ra,
                dec: *dec,
                r: *r,
            }),
            ("RANGE", [a, b, c, d]) => Ok(Pos::Range {
                ra: (a.min(*b), a.max(*b)),
                dec: (c.min(*d), c.max(*d)),
            }),
            ("POLYGON", v) if v.len() >= 6 && v.len() % 2 == 0 => {
                Ok(Pos::Polygon(v.chunks(2).map(|p| (p[0], p[1])).collect()))
            }
            _ => Err(bad(
                "POS",
                format!(
                    "expected 'CIRCLE ra dec radius', 'RANGE ra1 ra2 dec1 dec2' or 'POLYGON ra dec ra dec ra dec …', got '{text}'"
                ),
            )),
        }
    }

    /// Points on the region's outline (and a circle's centre) to project into pixels; sky
    /// circles and polygons share `ch_fits::SkyShape`'s exact spherical outline.
    fn outline(&self) -> Vec<(f64, f64)> {
        match self {
            Pos::Circle { ra, dec, r } => {
                let circle = ch_fits::SkyShape::Circle {
                    ra: *ra,
                    dec: *dec,
                    r: *r,
                };
                let mut pts = vec![(*ra, *dec)];
                pts.extend(circle.outline().unwrap_or_default());
                pts
            }
            Pos::Range { ra, dec } => {
                let mut pts = Vec::new();
                for k in 0..=16 {
                    let f = f64::from(k) / 16.0;
                    let a = ra.0 + f * (ra.1 - ra.0);
                    let d = dec.0 + f * (dec.1 - dec.0);
                    pts.extend([(a, dec.0), (a, dec.1), (ra.0, d), (ra.1, d)]);
                }
                pts
            }
            Pos::Polygon(v) => v.clone(),
        }
    }
}

/// Parses `CHANNEL` (`k` or `lo hi`, 0-based planes, inclusive).
pub fn parse_channel(text: &str) -> Result<(usize, usize), CutoutError> {
    let v = numbers("CHANNEL", text)?;
    let as_index = |x: f64| {
        (x >= 0.0 && x.fract() == 0.0 && x < 1e9)
            .then_some(x as usize)
            .ok_or_else(|| bad("CHANNEL", format!("{x} is not a channel index")))
    };
    match v.as_slice() {
        [k] => Ok((as_index(*k)?, as_index(*k)?)),
        [a, b] if a <= b => Ok((as_index(*a)?, as_index(*b)?)),
        _ => Err(bad(
            "CHANNEL",
            format!("expected 'k' or 'lo hi' with lo ≤ hi, got '{text}'"),
        )),
    }
}

/// Parses SODA `BAND` (`lo hi`: vacuum wavelengths in metres, lo ≤ hi; either bound may be
/// `-Inf`/`+Inf`).
pub fn parse_band(text: &str) -> Result<(f64, f64), CutoutError> {
    let v = text
        .split_whitespace()
        .map(|t| {
            t.parse::<f64>()
                .ok()
                .filter(|v| !v.is_nan())
                .ok_or_else(|| bad("BAND", format!("'{t}' is not a number")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    match v.as_slice() {
        [lo, hi] if lo <= hi => Ok((*lo, *hi)),
        _ => Err(bad(
            "BAND",
            format!("expected 'lo hi' (vacuum wavelengths in metres, lo ≤ hi, -Inf/+Inf allowed), got '{text}'"),
        )),
    }
}

/// Vacuum wavelength (m) of the world value `w` (SI units) of a spectral axis; `rest` is the
/// rest frequency in Hz, needed (and checked by the caller) for velocity axes.
fn wavelength(kind: SpectralKind, w: f64, rest: f64) -> Option<f64> {
    let freq = |f: f64| (f > 0.0).then(|| C / f);
    let lambda = match kind {
        SpectralKind::Freq => freq(w)?,
        SpectralKind::Afrq => freq(w / std::f64::consts::TAU)?,
        SpectralKind::Ener => freq(w / PLANCK)?,
        SpectralKind::Wavn => freq(w * C)?,
        SpectralKind::Wave => w,
        SpectralKind::Awav => {
            // Air to vacuum as WCSLIB converts it (Greisen et al. 2006, eq. 65).
            let s = (1.0 / w).powi(2);
            w * (1.000_064_328 + 2.554e8 / (0.41e14 - s) + 294.981e8 / (1.46e14 - s))
        }
        SpectralKind::Vrad => freq(rest * (1.0 - w / C))?,
        SpectralKind::Vopt => C / rest * (1.0 + w / C),
        SpectralKind::Zopt => C / rest * (1.0 + w),
        SpectralKind::Velo | SpectralKind::Beta => {
            let beta = if kind == SpectralKind::Velo { w / C } else { w };
            if beta.abs() >= 1.0 {
                return None;
            }
            freq(rest * (1.0 - beta) / (1.0 - beta * beta).sqrt())?
        }
    };
    (lambda.is_finite() && lambda > 0.0).then_some(lambda)
}

/// The channels (0-based, inclusive) of a cube whose centres lie in the vacuum-wavelength band
/// `band` (metres), along its spectral axis, which must be the third axis.
fn band_channels(
    wcs: Option<&Wcs>,
    shape: &[u64],
    planes: usize,
    band: (f64, f64),
) -> Result<(usize, usize), CutoutError> {
    let Some(wcs) = wcs else {
        return Err(bad("BAND", "the image has no spectral axis"));
    };
    let Some(spec): Option<&SpectralAxis> = wcs.spectral() else {
        if let Some(note) = wcs.notes().iter().find(|n| n.starts_with("spectral axis ignored")) {
            return Err(CutoutError::Unprocessable(format!("BAND cannot be used: {note}")));
        }
        return Err(bad("BAND", "the image has no spectral axis"));
    };
    let naxis3 = shape.len().checked_sub(3).and_then(|i| shape.get(i)).copied();
    if spec.axis() != 2 || naxis3 != Some(planes as u64) {
        return Err(CutoutError::Unprocessable(format!(
            "BAND needs a cube whose third axis is the spectral one and whose further axes have one \
             pixel (the spectral axis {} is axis {})",
            spec.ctype(),
            spec.axis() + 1
        )));
    }
    let kind = spec.kind();
    let rest = match (kind, spec.rest_frequency()) {
        (_, Some(f)) => f,
        (
            SpectralKind::Vrad | SpectralKind::Vopt | SpectralKind::Zopt | SpectralKind::Velo | SpectralKind::Beta,
            None,
        ) => {
            return Err(CutoutError::Unprocessable(format!(
                "BAND on a {} axis needs RESTFRQ or RESTWAV in the header",
                spec.ctype()
            )));
        }
        (_, None) => 0.0,
    };
    let lambdas: Vec<(usize, f64)> = (0..planes)
        .filter_map(|k| {
            let w = spec.pixel_to_world(k as f64)?;
            wavelength(kind, w, rest).map(|l| (k, l))
        })
        .collect();
    let inside: Vec<usize> = lambdas
        .iter()
        .filter(|(_, l)| band.0 <= *l && *l <= band.1)
        .map(|(k, _)| *k)
        .collect();
    match (inside.first(), inside.last()) {
        (Some(&lo), Some(&hi)) => Ok((lo, hi)),
        _ => {
            let (min, max) = lambdas
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), (_, l)| {
                    (a.min(*l), b.max(*l))
                });
            Err(CutoutError::Unprocessable(format!(
                "BAND {} {} m has no overlap with the cube's channels ({min:e} to {max:e} m)",
                band.0, band.1
            )))
        }
    }
}

/// A cut: `pos` (optional: whole plane) and a channel range of image HDU `hdu` (default:
/// first). The channels are `channels`, those whose centres lie in `band` (vacuum wavelengths
/// in metres), the intersection of both when both are given, or plane 0 when neither is.
pub fn cut(
    bytes: &[u8],
    hdu: Option<usize>,
    pos: Option<&Pos>,
    channels: Option<(usize, usize)>,
    band: Option<(f64, f64)>,
) -> Result<Vec<u8>, CutoutError> {
    let fits = Fits::parse(bytes).map_err(|e| CutoutError::Unprocessable(e.to_string()))?;
    let index = match hdu {
        Some(i) => i,
        None => fits
            .first_image()
            .map(|h| h.index())
            .ok_or_else(|| CutoutError::Unprocessable("the file has no image".into()))?,
    };
    let h = fits.hdu(index).map_err(|e| bad("hdu", e.to_string()))?;
    if !matches!(h.kind(), HduKind::Primary | HduKind::Image | HduKind::CompressedImage) {
        return Err(bad("hdu", format!("HDU {index} is not an image")));
    }
    let first = fits
        .image_f32(index, 0)
        .map_err(|e| CutoutError::Unprocessable(e.to_string()))?;
    let (w, hgt, planes) = (first.width, first.height, first.planes);
    if w == 0 || hgt == 0 {
        return Err(CutoutError::Unprocessable("the image is empty".into()));
    }
    if let Some((_, c1)) = channels
        && c1 >= planes
    {
        return Err(bad(
            "CHANNEL",
            format!("the image has {planes} channel(s), 0–{}", planes - 1),
        ));
    }
    let wcs = Wcs::from_cards(h.header().cards());
    let (c0, c1) = match (channels, band) {
        (channels, None) => channels.unwrap_or((0, 0)),
        (channels, Some(band)) => {
            let (b0, b1) = band_channels(wcs.as_ref().ok(), h.shape(), planes, band)?;
            let (a0, a1) = channels.unwrap_or((b0, b1));
            let (c0, c1) = (a0.max(b0), a1.min(b1));
            if c0 > c1 {
                return Err(CutoutError::Unprocessable(format!(
                    "BAND selects channels {b0}–{b1}, which have no overlap with CHANNEL {a0}–{a1}"
                )));
            }
            (c0, c1)
        }
    };
    let (x0, y0, x1, y1) = match pos {
        None => (0, 0, w - 1, hgt - 1),
        Some(pos) => {
            let wcs = wcs
                .as_ref()
                .map_err(|e| CutoutError::Unprocessable(format!("POS needs a celestial WCS: {e}")))?;
            let pix: Vec<(f64, f64)> = pos
                .outline()
                .into_iter()
                .filter_map(|(a, d)| wcs.world_to_pixel(a.rem_euclid(360.0), d))
                .collect();
            if pix.is_empty() {
                return Err(CutoutError::Unprocessable(
                    "the region is outside the image's projection".into(),
                ));
            }
            let fold =
                |f: fn(f64, f64) -> f64, init: f64, sel: fn(&(f64, f64)) -> f64| pix.iter().map(sel).fold(init, f);
            let (minx, maxx) = (
                fold(f64::min, f64::INFINITY, |p| p.0),
                fold(f64::max, f64::NEG_INFINITY, |p| p.0),
            );
            let (miny, maxy) = (
                fold(f64::min, f64::INFINITY, |p| p.1),
                fold(f64::max, f64::NEG_INFINITY, |p| p.1),
            );
            // Pixels whose centre (integer coordinate) lies within the box.
            let lo = |v: f64| v.ceil().max(0.0);
            let (ax, ay) = (lo(minx), lo(miny));
            let (bx, by) = (maxx.floor().min((w - 1) as f64), maxy.floor().min((hgt - 1) as f64));
            if ax > bx || ay > by {
                return Err(CutoutError::Unprocessable(
                    "the region does not overlap the image".into(),
                ));
            }
            (ax as usize, ay as usize, bx as usize, by as usize)
        }
    };
    let (cw, ch) = (x1 - x0 + 1, y1 - y0 + 1);
    let mut data = Vec::with_capacity(cw * ch * (c1 - c0 + 1));
    for plane in c0..=c1 {
        let img = if plane == 0 {
            first.clone()
        } else {
            fits.image_f32(index, plane)
                .map_err(|e| CutoutError::Unprocessable(e.to_string()))?
        };
        for y in y0..=y1 {
            data.extend_from_slice(&img.data[y * w + x0..y * w + x0 + cw]);
        }
    }
    let mut axes = vec![cw, ch];
    let mut offset = vec![x0 as f64, y0 as f64];
    if planes > 1 {
        axes.push(c1 - c0 + 1);
        offset.push(c0 as f64);
    }
    Ok(ch_fits::write::image_f32(h.header(), &axes, &offset, &data))
}

#[cfg(test)]
mod tests {
    use super::*;

    const M13: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/ch-fits/tests/data/m13_gzip.fits"
    );

    #[test]
    fn parses_soda_positions() {
        assert_eq!(
            Pos::parse("CIRCLE 250.4 36.4 0.01"),
            Ok(Pos::Circle {
                ra: 250.4,
                dec: 36.4,
                r: 0.01
            })
        );
        assert!(matches!(Pos::parse("POLYGON 1 2 3 4 5 6"), Ok(Pos::Polygon(v)) if v.len() == 3));
        for bad in [
            "CIRCLE 1 2",
            "BOX 1 2 3 4",
            "CIRCLE a b c",
            "CIRCLE 1 95 1",
            "POLYGON 1 2 3 4",
            "CIRCLE 1 2 -1",
        ] {
            assert!(Pos::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_channel("3"), Ok((3, 3)));
        assert!(parse_channel("4 2").is_err() && parse_channel("1.5").is_err());
    }

    #[test]
    fn circle_cutout_keeps_sky_positions() {
        let bytes = std::fs::read(M13).expect("file");
        let fits = Fits::parse(&bytes).expect("parse");
        let wcs = Wcs::from_cards(fits.hdu(1).expect("hdu").header().cards()).expect("wcs");
        let (ra, dec) = wcs.pixel_to_world(150.0, 140.0).expect("world");
        let scale = wcs.pixel_scale().expect("scale");
        let out = cut(
            &bytes,
            None,
            Some(&Pos::Circle {
                ra,
                dec,
                r: 10.0 * scale,
            }),
            None,
            None,
        )
        .expect("cut");
        let back = Fits::parse(&out).expect("reparse");
        let img = back.image_f32(0, 0).expect("image");
        assert!(
            (19..=22).contains(&img.width) && (19..=22).contains(&img.height),
            "{}x{}",
            img.width,
            img.height
        );
        let cut_wcs = Wcs::from_cards(back.hdu(0).expect("hdu").header().cards()).expect("wcs");
        let (px, py) = cut_wcs.world_to_pixel(ra, dec).expect("pixel");
        let orig = fits.image_f32(1, 0).expect("orig");
        let v = img.get(px.round() as usize, py.round() as usize).expect("inside");
        assert_eq!(v, orig.get(150, 140).expect("orig value"));
        let far = Pos::Circle {
            ra: ra + 10.0,
            dec,
            r: scale,
        };
        assert!(matches!(
            cut(&bytes, None, Some(&far), None, None),
            Err(CutoutError::Unprocessable(_))
        ));
        assert!(matches!(
            cut(&bytes, None, None, Some((1, 1)), None),
            Err(CutoutError::BadParam { param: "CHANNEL", .. })
        ));
    }

    /// A BITPIX -32 cube `nx × ny × nz` with value `100 k + 10 y + x` and the given extra
    /// header cards (`KEYWORD = value`).
    fn cube(nx: usize, ny: usize, nz: usize, cards: &[&str]) -> Vec<u8> {
        let mut h = String::new();
        let head = [
            "SIMPLE  =                    T".to_owned(),
            "BITPIX  =                  -32".to_owned(),
            "NAXIS   =                    3".to_owned(),
            format!("NAXIS1  = {nx:>20}"),
            format!("NAXIS2  = {ny:>20}"),
            format!("NAXIS3  = {nz:>20}"),
        ];
        for card in head
            .iter()
            .map(String::as_str)
            .chain(cards.iter().copied())
            .chain(["END"])
        {
            h.push_str(&format!("{card:<80}"));
        }
        let mut out = h.into_bytes();
        out.resize(out.len().div_ceil(2880) * 2880, b' ');
        for k in 0..nz {
            for y in 0..ny {
                for x in 0..nx {
                    out.extend_from_slice(&((100 * k + 10 * y + x) as f32).to_be_bytes());
                }
            }
        }
        out.resize(out.len().div_ceil(2880) * 2880, 0);
        out
    }

    const FREQ_CUBE: [&str; 4] = [
        "CTYPE3  = 'FREQ    '",
        "CRVAL3  =           1.4000E+09",
        "CDELT3  =           1.0000E+06",
        "CRPIX3  =                  1.0",
    ];

    /// Cut planes and the spectral value of the cut's channel 0.
    fn planes_and_start(out: &[u8]) -> (usize, f64) {
        let back = Fits::parse(out).expect("reparse");
        let img = back.image_f32(0, 0).expect("image");
        let wcs = Wcs::from_cards(back.hdu(0).expect("hdu").header().cards()).expect("wcs");
        (
            img.planes,
            wcs.spectral().and_then(|s| s.pixel_to_world(0.0)).expect("spectral"),
        )
    }

    #[test]
    fn band_selects_channels_by_wavelength() {
        let bytes = cube(4, 3, 10, &FREQ_CUBE);
        // Channel k is at 1.400 + 0.001 k GHz; a band from 1.4025 to 1.4065 GHz holds 3–6.
        let band = (C / 1.4065e9, C / 1.4025e9);
        let out = cut(&bytes, None, None, None, Some(band)).expect("cut");
        let (planes, f0) = planes_and_start(&out);
        assert_eq!(planes, 4);
        assert!((f0 - 1.403e9).abs() < 1e-3, "{f0}");
        let back = Fits::parse(&out).expect("reparse");
        assert_eq!(back.image_f32(0, 0).expect("plane").get(2, 1), Some(312.0));
        // Open bounds, and a band edge exactly on a channel centre includes it.
        assert_eq!(
            planes_and_start(&cut(&bytes, None, None, None, Some((f64::NEG_INFINITY, C / 1.408e9))).expect("cut")),
            (2, 1.408e9)
        );
        assert_eq!(
            planes_and_start(&cut(&bytes, None, None, None, Some((C / 1.4015e9, f64::INFINITY))).expect("cut")).0,
            2
        );
        // With CHANNEL: the channels both select.
        assert_eq!(
            planes_and_start(&cut(&bytes, None, None, Some((5, 9)), Some(band)).expect("cut")),
            (2, 1.405e9)
        );
        assert!(matches!(
            cut(&bytes, None, None, Some((7, 9)), Some(band)),
            Err(CutoutError::Unprocessable(m)) if m.contains("no overlap")
        ));
        assert!(matches!(
            cut(&bytes, None, None, None, Some((0.3, f64::INFINITY))),
            Err(CutoutError::Unprocessable(m)) if m.contains("no overlap")
        ));
        // A plain image has no spectral axis to select along.
        let m13 = std::fs::read(M13).expect("file");
        assert!(matches!(
            cut(&m13, None, None, None, Some(band)),
            Err(CutoutError::BadParam { param: "BAND", .. })
        ));
    }

    #[test]
    fn band_on_velocity_axes_needs_a_rest_frequency() {
        let vrad = [
            "CTYPE3  = 'VRAD    '",
            "CRVAL3  =                  0.0",
            "CDELT3  =              -2000.0",
            "CRPIX3  =                  1.0",
            "CUNIT3  = 'm/s     '",
        ];
        let bytes = cube(2, 2, 8, &vrad);
        assert!(matches!(
            cut(&bytes, None, None, None, Some((0.2, 0.22))),
            Err(CutoutError::Unprocessable(m)) if m.contains("RESTFRQ")
        ));
        let rest = 1.420_405_752e9;
        let with_rest: Vec<&str> = vrad.iter().copied().chain(["RESTFRQ =        1.420405752E9"]).collect();
        let bytes = cube(2, 2, 8, &with_rest);
        // Channel k: v = -2 k km/s, radio convention f = f0 (1 - v/c); select 2–4.
        let lambda = |k: f64| C / (rest * (1.0 + 2000.0 * k / C));
        let out = cut(&bytes, None, None, None, Some((lambda(4.5), lambda(1.5)))).expect("cut");
        let (planes, v0) = planes_and_start(&out);
        assert_eq!(planes, 3);
        assert!((v0 + 4000.0).abs() < 1e-6, "{v0}");
        // Optical velocity: λ = λ0 (1 + v/c).
        let vopt = wavelength(SpectralKind::Vopt, 3000.0, rest).expect("vopt");
        assert!((vopt - C / rest * (1.0 + 3000.0 / C)).abs() < 1e-15);
        assert!((wavelength(SpectralKind::Wave, 0.21, 0.0).expect("wave") - 0.21).abs() < 1e-15);
    }

    #[test]
    fn parses_soda_bands() {
        assert_eq!(parse_band("0.2 0.21"), Ok((0.2, 0.21)));
        assert_eq!(parse_band("-Inf 0.21"), Ok((f64::NEG_INFINITY, 0.21)));
        assert_eq!(parse_band("0.2 +Inf"), Ok((0.2, f64::INFINITY)));
        for text in ["0.2", "0.21 0.2", "a b", "NaN 1", "1 2 3", ""] {
            assert!(
                matches!(parse_band(text), Err(CutoutError::BadParam { param: "BAND", .. })),
                "{text}"
            );
        }
    }
}
