//! Nearest-neighbour reprojection of a plane onto another image's sky grid, so that layers
//! from different images line up before they are [composited](crate::blend).
//!
//! For each destination pixel centre `(x, y)` (0-based): the sky position from the destination
//! WCS, converted between equatorial (ICRS / FK5 J2000) and galactic when the two frames
//! differ, then the source pixel from the source WCS, and the value of the source pixel
//! nearest to it, `(floor(px + 0.5), floor(py + 0.5))` (as a shader writes `round`). Positions
//! outside the source image or outside either projection give NaN, which renders as the NaN
//! colour.

use ch_wcs::Wcs;
use ch_wcs::frames::{equatorial_to_galactic, galactic_to_equatorial};

use crate::{RenderError, bad};

/// How a destination sky position is turned into one in the source's frame.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Convert {
    Same,
    GalacticToEquatorial,
    EquatorialToGalactic,
}

/// Destination pixel → source pixel.
struct Mapping<'w> {
    src: &'w Wcs,
    dst: &'w Wcs,
    convert: Convert,
}

impl<'w> Mapping<'w> {
    fn new(src: &'w Wcs, dst: &'w Wcs) -> Result<Self, RenderError> {
        let (Some(sf), Some(df)) = (src.frame(), dst.frame()) else {
            let which = if src.has_celestial() { "destination" } else { "source" };
            return Err(RenderError::NoCelestialWcs { which });
        };
        let galactic = |f: &ch_wcs::Frame| *f == ch_wcs::Frame::Galactic;
        let convert = if sf == df || (sf.is_j2000_equatorial() && df.is_j2000_equatorial()) {
            Convert::Same
        } else if galactic(df) && sf.is_j2000_equatorial() {
            Convert::GalacticToEquatorial
        } else if df.is_j2000_equatorial() && galactic(sf) {
            Convert::EquatorialToGalactic
        } else {
            return Err(RenderError::FrameMismatch {
                src: format!("{sf:?}"),
                dst: format!("{df:?}"),
            });
        };
        Ok(Mapping { src, dst, convert })
    }

    fn src_pixel(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let (lon, lat) = self.dst.pixel_to_world(x, y)?;
        let (lon, lat) = match self.convert {
            Convert::Same => (lon, lat),
            Convert::GalacticToEquatorial => galactic_to_equatorial(lon, lat),
            Convert::EquatorialToGalactic => equatorial_to_galactic(lon, lat),
        };
        let (px, py) = self.src.world_to_pixel(lon, lat)?;
        (px.is_finite() && py.is_finite()).then_some((px, py))
    }
}

/// Resamples the row-major `src_w × src_h` plane `src` (described by `src_wcs`) onto a
/// `dst_w × dst_h` grid described by `dst_wcs`, nearest neighbour (see the module docs).
/// Errors when `src` is not `src_w × src_h`, when either WCS has no celestial axes, or when the
/// frames differ other than equatorial J2000 ↔ galactic.
pub fn reproject_nearest(
    src: &[f32],
    src_w: usize,
    src_h: usize,
    src_wcs: &Wcs,
    dst_wcs: &Wcs,
    dst_w: usize,
    dst_h: usize,
) -> Result<Vec<f32>, RenderError> {
    if src_w.checked_mul(src_h) != Some(src.len()) {
        return Err(RenderError::Shape {
            len: src.len(),
            width: src_w,
            height: src_h,
        });
    }
    let Some(len) = dst_w.checked_mul(dst_h) else {
        return Err(bad("size", format!("{dst_w}×{dst_h} is too large")));
    };
    let map = Mapping::new(src_wcs, dst_wcs)?;
    let mut out = Vec::with_capacity(len);
    for y in 0..dst_h {
        for x in 0..dst_w {
            let value = map.src_pixel(x as f64, y as f64).and_then(|(px, py)| {
                let (ix, iy) = ((px + 0.5).floor(), (py + 0.5).floor());
                let inside = ix >= 0.0 && iy >= 0.0 && ix < src_w as f64 && iy < src_h as f64;
                inside.then(|| src[iy as usize * src_w + ix as usize])
            });
            out.push(value.unwrap_or(f32::NAN));
        }
    }
    Ok(out)
}

/// Whether the `w × h` grids of `a` and `b` coincide: the corner and centre pixels of `a` land
/// on the same pixel of `b` within 1e-6 px (after any frame conversion), so that reprojecting
/// from one to the other would change nothing. False when either has no celestial axes or
/// their frames cannot be converted.
pub fn same_grid(a: &Wcs, b: &Wcs, w: usize, h: usize) -> bool {
    let Ok(map) = Mapping::new(b, a) else {
        return false;
    };
    let (xr, yr) = (w.saturating_sub(1) as f64, h.saturating_sub(1) as f64);
    [(0.0, 0.0), (xr, 0.0), (0.0, yr), (xr, yr), (xr / 2.0, yr / 2.0)]
        .into_iter()
        .all(|(x, y)| {
            map.src_pixel(x, y)
                .is_some_and(|(px, py)| (px - x).abs() <= 1e-6 && (py - y).abs() <= 1e-6)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(cards: &[(&str, &str)]) -> Wcs {
        let text: String = cards.iter().map(|(k, v)| format!("{k:<8}= {v}\n")).collect();
        Wcs::from_header_text(&text).expect("header builds")
    }

    /// A TAN header at (ra, dec) = (150, 20) with the given reference pixel, scale and rotation.
    fn tan(ctype: (&str, &str), crval: (f64, f64), crpix: (f64, f64), cdelt: f64, rot_deg: f64) -> Wcs {
        let (s, c) = rot_deg.to_radians().sin_cos();
        let v = |x: f64| format!("{x:.12}");
        header(&[
            ("CTYPE1", ctype.0),
            ("CTYPE2", ctype.1),
            ("CRVAL1", &v(crval.0)),
            ("CRVAL2", &v(crval.1)),
            ("CRPIX1", &v(crpix.0)),
            ("CRPIX2", &v(crpix.1)),
            ("CDELT1", &v(-cdelt)),
            ("CDELT2", &v(cdelt)),
            ("PC1_1", &v(c)),
            ("PC1_2", &v(-s)),
            ("PC2_1", &v(s)),
            ("PC2_2", &v(c)),
        ])
    }

    const EQ: (&str, &str) = ("'RA---TAN'", "'DEC--TAN'");
    const GAL: (&str, &str) = ("'GLON-TAN'", "'GLAT-TAN'");

    /// Source pixel values that encode their own position.
    fn indexed(w: usize, h: usize) -> Vec<f32> {
        (0..w * h).map(|i| i as f32).collect()
    }

    fn sky_offset(a: (f64, f64), b: (f64, f64)) -> f64 {
        let dlon = (a.0 - b.0 + 540.0).rem_euclid(360.0) - 180.0;
        (dlon * a.1.to_radians().cos()).hypot(a.1 - b.1)
    }

    /// Every finite output is the source pixel whose centre is nearest the destination pixel's
    /// sky position (within half a source pixel diagonal); returns how many were finite.
    fn check_nearest(out: &[f32], src_w: usize, src: &Wcs, dst: &Wcs, dst_w: usize, src_cdelt: f64) -> usize {
        let mut finite = 0;
        for (i, &v) in out.iter().enumerate() {
            if v.is_nan() {
                continue;
            }
            finite += 1;
            let (x, y) = ((i % dst_w) as f64, (i / dst_w) as f64);
            let (sx, sy) = ((v as usize % src_w) as f64, (v as usize / src_w) as f64);
            let want = dst.pixel_to_equatorial(x, y).expect("on the sky");
            let got = src.pixel_to_equatorial(sx, sy).expect("on the sky");
            assert!(sky_offset(want, got) <= src_cdelt * 0.7072, "pixel {i}");
        }
        finite
    }

    #[test]
    fn tan_onto_rotated_tan() {
        let src = tan(EQ, (150.0, 20.0), (30.0, 35.0), 1.5e-3, 0.0);
        let dst = tan(EQ, (150.01, 20.005), (50.5, 40.0), 1e-3, 30.0);
        let (sw, sh, dw, dh) = (60, 70, 100, 80);
        let out = reproject_nearest(&indexed(sw, sh), sw, sh, &src, &dst, dw, dh).expect("reprojects");
        assert_eq!(out.len(), dw * dh);
        let finite = check_nearest(&out, sw, &src, &dst, dw, 1.5e-3);
        assert!(finite > dw * dh / 2 && finite < dw * dh, "{finite}");
        assert!(!same_grid(&src, &dst, dw, dh));
    }

    #[test]
    fn galactic_onto_equatorial() {
        let (ra, dec) = (266.404_996, -28.936_172); // Sgr A*
        let (l, b) = equatorial_to_galactic(ra, dec);
        let src = tan(GAL, (l, b), (40.0, 40.0), 2e-3, 0.0);
        let dst = tan(EQ, (ra, dec), (32.0, 32.0), 1.5e-3, 0.0);
        let (sw, sh, dw, dh) = (80, 80, 64, 64);
        let out = reproject_nearest(&indexed(sw, sh), sw, sh, &src, &dst, dw, dh).expect("reprojects");
        // The destination's reference pixel (0-based 31, 31) is the source's (39, 39).
        assert_eq!(out[31 * dw + 31], (39 * sw + 39) as f32);
        // Galactic north is tilted ~58° against equatorial north here, so the corners fall
        // outside the source but most of the image is covered.
        let finite = check_nearest(&out, sw, &src, &dst, dw, 2e-3);
        assert!(finite > dw * dh * 3 / 4, "{finite}");
        // And back: equatorial onto galactic.
        let back = reproject_nearest(&indexed(dw, dh), dw, dh, &dst, &src, sw, sh).expect("reprojects");
        assert_eq!(back[39 * sw + 39], (31 * dw + 31) as f32);
        assert!(check_nearest(&back, dw, &dst, &src, sw, 1.5e-3) > 0);
    }

    #[test]
    fn shifted_reference_pixel_shifts_the_image() {
        let (w, h) = (40, 30);
        let src = tan(EQ, (10.0, -45.0), (20.0, 15.0), 1e-3, 12.0);
        let dst = tan(EQ, (10.0, -45.0), (23.0, 13.0), 1e-3, 12.0);
        let values: Vec<f32> = (0..w * h).map(|i| (i as f32 * 0.37).sin()).collect();
        let out = reproject_nearest(&values, w, h, &src, &dst, w, h).expect("reprojects");
        for y in 0..h {
            for x in 0..w {
                // dst (x, y) is src (x − 3, y + 2).
                let (sx, sy) = (x as i64 - 3, y as i64 + 2);
                let got = out[y * w + x];
                if (0..w as i64).contains(&sx) && (0..h as i64).contains(&sy) {
                    assert_eq!(got, values[sy as usize * w + sx as usize], "({x}, {y})");
                } else {
                    assert!(got.is_nan(), "({x}, {y})");
                }
            }
        }
        assert!(!same_grid(&src, &dst, w, h));
        let again = reproject_nearest(&values, w, h, &src, &src, w, h).expect("reprojects");
        assert_eq!(again, values);
    }

    #[test]
    fn same_grid_detects_identical_grids() {
        let a = tan(EQ, (150.0, 20.0), (30.0, 35.0), 1e-3, 10.0);
        assert!(same_grid(&a, &a, 64, 64));
        let mut cards = vec![("RADESYS", "'FK5'"), ("EQUINOX", "2000.0")];
        cards.extend([
            ("CTYPE1", EQ.0),
            ("CTYPE2", EQ.1),
            ("CRVAL1", "150.0"),
            ("CRVAL2", "20.0"),
            ("CRPIX1", "30.0"),
            ("CRPIX2", "35.0"),
            ("CDELT1", "-0.001"),
            ("CDELT2", "0.001"),
        ]);
        let fk5 = header(&cards);
        let icrs = header(&cards[2..]);
        assert!(same_grid(&fk5, &icrs, 64, 64));
        assert!(!same_grid(&a, &icrs, 64, 64));
        let galactic = tan(GAL, (150.0, 20.0), (30.0, 35.0), 1e-3, 10.0);
        assert!(!same_grid(&a, &galactic, 64, 64));
    }

    #[test]
    fn errors() {
        let sky = tan(EQ, (150.0, 20.0), (1.0, 1.0), 1e-3, 0.0);
        let freq = header(&[
            ("CTYPE1", "'FREQ'"),
            ("CRVAL1", "1.4e9"),
            ("CDELT1", "1e6"),
            ("CRPIX1", "1"),
        ]);
        assert_eq!(
            reproject_nearest(&[0.0; 4], 2, 2, &freq, &sky, 2, 2),
            Err(RenderError::NoCelestialWcs { which: "source" })
        );
        assert_eq!(
            reproject_nearest(&[0.0; 4], 2, 2, &sky, &freq, 2, 2),
            Err(RenderError::NoCelestialWcs { which: "destination" })
        );
        assert!(!same_grid(&sky, &freq, 2, 2));
        let ecliptic = tan(("'ELON-TAN'", "'ELAT-TAN'"), (150.0, 20.0), (1.0, 1.0), 1e-3, 0.0);
        assert!(matches!(
            reproject_nearest(&[0.0; 4], 2, 2, &ecliptic, &sky, 2, 2),
            Err(RenderError::FrameMismatch { .. })
        ));
        assert!(matches!(
            reproject_nearest(&[0.0; 3], 2, 2, &sky, &sky, 2, 2),
            Err(RenderError::Shape { len: 3, .. })
        ));
        assert!(
            reproject_nearest(&[], 0, 0, &sky, &sky, 3, 2)
                .expect("reprojects")
                .iter()
                .all(|v| v.is_nan())
        );
    }
}
