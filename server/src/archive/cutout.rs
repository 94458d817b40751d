//! SODA-style cutouts: a sky region (and a channel range) of an archive image, written as a new
//! FITS file whose WCS still puts every pixel at the same sky position.

use ch_fits::{Fits, HduKind};
use ch_wcs::Wcs;

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

/// A cut: `pos` (optional: whole plane) and `channels` of image HDU `hdu` (default: first).
pub fn cut(
    bytes: &[u8],
    hdu: Option<usize>,
    pos: Option<&Pos>,
    channels: Option<(usize, usize)>,
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
    let (c0, c1) = channels.unwrap_or((0, 0));
    if c1 >= planes {
        return Err(bad(
            "CHANNEL",
            format!("the image has {planes} channel(s), 0–{}", planes - 1),
        ));
    }
    let (x0, y0, x1, y1) = match pos {
        None => (0, 0, w - 1, hgt - 1),
        Some(pos) => {
            let wcs = Wcs::from_cards(h.header().cards())
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
            cut(&bytes, None, Some(&far), None),
            Err(CutoutError::Unprocessable(_))
        ));
        assert!(matches!(
            cut(&bytes, None, None, Some((1, 1))),
            Err(CutoutError::BadParam { param: "CHANNEL", .. })
        ));
    }
}
