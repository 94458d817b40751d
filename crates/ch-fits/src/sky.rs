//! Regions given on the sky (degrees). They become pixel [`Shape`]s through a projection the
//! caller supplies (e.g. a WCS's world→pixel), so this crate needs no WCS of its own.

use serde::{Deserialize, Serialize};

use crate::region::Shape;

/// Outline points used for a sky circle; 5° steps keep the polygon within 0.1 % of the radius.
const CIRCLE_STEPS: u32 = 72;
/// Outline points used for a sky ellipse (as for a circle: a == b gives the circle's points).
const ELLIPSE_STEPS: u32 = 72;
/// Outline points per side of a sky box, so the sides follow the projection.
const BOX_SIDE_STEPS: u32 = 16;

/// A region on the sky. JSON: `{"shape": "circle", "ra": 250.4, "dec": 36.4, "r": 0.01}`,
/// `{"shape": "box", "ra": …, "dec": …, "width": 0.02, "height": 0.01, "angle": 30}`,
/// `{"shape": "ellipse", "ra": …, "dec": …, "a": 0.02, "b": 0.01, "angle": 30}` or
/// `{"shape": "polygon", "vertices": [[ra, dec], …]}`.
///
/// Box and ellipse angles follow DS9's fk5 regions: at `angle` 0 the width (and the semi-axis
/// `a`) runs east–west and the height (`b`) north–south; the shape turns by `angle` degrees
/// east of north (counter-clockwise on a north-up, east-left display), so the height axis has
/// position angle `angle`. On an image with north up and east left a sky box or ellipse is the
/// pixel [`Shape`] with the same angle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum SkyShape {
    /// All points within angular distance `r` of (`ra`, `dec`).
    Circle { ra: f64, dec: f64, r: f64 },
    /// Centre (`ra`, `dec`), full `width` and `height` on the sky (degrees), rotation `angle`
    /// (degrees east of north). Each outline point lies at its exact angular distance and
    /// position angle from the centre.
    Box {
        ra: f64,
        dec: f64,
        width: f64,
        height: f64,
        #[serde(default)]
        angle: f64,
    },
    /// Centre (`ra`, `dec`), semi-axes `a` (east–west at angle 0) and `b` (degrees), rotation
    /// `angle` (degrees east of north).
    Ellipse {
        ra: f64,
        dec: f64,
        a: f64,
        b: f64,
        #[serde(default)]
        angle: f64,
    },
    /// Vertices joined by straight lines in pixel space (exact for small regions).
    Polygon { vertices: Vec<[f64; 2]> },
}

/// The point at angular distance `r` and position angle `t` (radians, east of north) from
/// (`ra`, `dec`); all angles of the sky in degrees.
fn offset(ra: f64, dec: f64, r: f64, t: f64) -> (f64, f64) {
    let (d, rr) = (dec.to_radians(), r.to_radians());
    let sin_dec = (d.sin() * rr.cos() + d.cos() * rr.sin() * t.cos()).clamp(-1.0, 1.0);
    let dec2 = sin_dec.asin();
    let dra = (t.sin() * rr.sin() * d.cos()).atan2(rr.cos() - d.sin() * sin_dec);
    ((ra + dra.to_degrees()).rem_euclid(360.0), dec2.to_degrees())
}

/// The point at local offsets (`u` along the width axis, `v` along the height axis, degrees)
/// from the centre of a shape turned by `angle` degrees east of north: the offset's length is
/// the exact angular distance and its direction the position angle.
fn local(ra: f64, dec: f64, angle: f64, u: f64, v: f64) -> (f64, f64) {
    let (s, c) = angle.to_radians().sin_cos();
    // Width axis at position angle angle + 90° (east at 0), height axis at `angle` (north).
    let (east, north) = (u * c + v * s, -u * s + v * c);
    offset(ra, dec, east.hypot(north), east.atan2(north))
}

/// A size in degrees that a region may have: finite and in (0, 90).
fn valid_size(v: f64) -> bool {
    v.is_finite() && v > 0.0 && v < 90.0
}

/// A centre that a region may have: finite, |dec| ≤ 90.
fn valid_centre(ra: f64, dec: f64) -> bool {
    ra.is_finite() && dec.is_finite() && dec.abs() <= 90.0
}

impl SkyShape {
    /// Points of the outline on the sky (degrees), or `None` for a malformed region
    /// (a radius, width, height or semi-axis not in (0, 90), a non-finite angle, |dec| > 90,
    /// fewer than three vertices).
    pub fn outline(&self) -> Option<Vec<(f64, f64)>> {
        match *self {
            SkyShape::Circle { ra, dec, r } => {
                if !(valid_size(r) && valid_centre(ra, dec)) {
                    return None;
                }
                let step = std::f64::consts::TAU / f64::from(CIRCLE_STEPS);
                Some(
                    (0..CIRCLE_STEPS)
                        .map(|k| offset(ra, dec, r, f64::from(k) * step))
                        .collect(),
                )
            }
            SkyShape::Box {
                ra,
                dec,
                width,
                height,
                angle,
            } => {
                if !(valid_size(width) && valid_size(height) && angle.is_finite() && valid_centre(ra, dec)) {
                    return None;
                }
                let (hw, hh) = (width / 2.0, height / 2.0);
                // Corners counter-clockwise in (u, v), each side walked from its first corner.
                let corners = [(hw, hh), (-hw, hh), (-hw, -hh), (hw, -hh)];
                let n = f64::from(BOX_SIDE_STEPS);
                let mut pts = Vec::with_capacity(4 * BOX_SIDE_STEPS as usize);
                for (i, &(u0, v0)) in corners.iter().enumerate() {
                    let (u1, v1) = corners[(i + 1) % 4];
                    for k in 0..BOX_SIDE_STEPS {
                        let f = f64::from(k) / n;
                        pts.push(local(ra, dec, angle, u0 + f * (u1 - u0), v0 + f * (v1 - v0)));
                    }
                }
                Some(pts)
            }
            SkyShape::Ellipse { ra, dec, a, b, angle } => {
                if !(valid_size(a) && valid_size(b) && angle.is_finite() && valid_centre(ra, dec)) {
                    return None;
                }
                let step = std::f64::consts::TAU / f64::from(ELLIPSE_STEPS);
                Some(
                    (0..ELLIPSE_STEPS)
                        .map(|k| {
                            let (s, c) = (f64::from(k) * step).sin_cos();
                            local(ra, dec, angle, a * c, b * s)
                        })
                        .collect(),
                )
            }
            SkyShape::Polygon { ref vertices } if vertices.len() >= 3 => {
                if !vertices.iter().all(|v| valid_centre(v[0], v[1])) {
                    return None;
                }
                Some(vertices.iter().map(|v| (v[0], v[1])).collect())
            }
            SkyShape::Polygon { .. } => None,
        }
    }

    /// The pixel shape, or `None` when a point of the outline has no pixel position or the
    /// region is malformed (see [`SkyShape::outline`]).
    pub fn to_pixels(&self, project: impl Fn(f64, f64) -> Option<(f64, f64)>) -> Option<Shape> {
        let vertices = self
            .outline()?
            .into_iter()
            .map(|(a, d)| project(a, d).map(|(x, y)| [x, y]))
            .collect::<Option<Vec<_>>>()?;
        Some(Shape::Polygon { vertices })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circle_outline_is_at_the_radius() {
        for (ra, dec) in [(10.0, 0.0), (250.0, 36.0), (0.1, 89.0), (359.9, -60.0)] {
            for k in 0..8 {
                let (a, d) = offset(ra, dec, 0.5, f64::from(k));
                // Haversine distance back to the centre.
                let (p1, p2) = (dec.to_radians(), d.to_radians());
                let h =
                    ((p2 - p1) / 2.0).sin().powi(2) + p1.cos() * p2.cos() * ((a - ra).to_radians() / 2.0).sin().powi(2);
                let dist = 2.0 * h.sqrt().asin().to_degrees();
                assert!((dist - 0.5).abs() < 1e-9, "{ra} {dec} {k}: {dist}");
            }
        }
    }

    #[test]
    fn projects_through_the_callers_mapping() {
        // A flat "projection": 0.01°/pixel around (100, 0).
        let project = |a: f64, d: f64| Some(((a - 100.0) / 0.01 + 50.0, d / 0.01 + 50.0));
        let Some(Shape::Polygon { vertices }) = (SkyShape::Circle {
            ra: 100.0,
            dec: 0.0,
            r: 0.1,
        })
        .to_pixels(project) else {
            panic!("expected a polygon");
        };
        assert_eq!(vertices.len(), CIRCLE_STEPS as usize);
        assert!(
            vertices
                .iter()
                .all(|v| ((v[0] - 50.0).hypot(v[1] - 50.0) - 10.0).abs() < 1e-3)
        );
        assert!(
            (SkyShape::Circle {
                ra: 1.0,
                dec: 1.0,
                r: -1.0
            })
            .to_pixels(project)
            .is_none()
        );
        assert!(
            (SkyShape::Polygon {
                vertices: vec![[1.0, 1.0]]
            })
            .to_pixels(project)
            .is_none()
        );
        assert!(
            (SkyShape::Circle {
                ra: 1.0,
                dec: 1.0,
                r: 0.1
            })
            .to_pixels(|_, _| None)
            .is_none()
        );
    }

    /// A gnomonic (TAN) image, north up and east left: `s` degrees per pixel, reference pixel
    /// `(c, c)` at (`ra0`, `dec0`). World → pixel and pixel → world, as a WCS would give them.
    struct Tan {
        ra0: f64,
        dec0: f64,
        s: f64,
        c: f64,
    }

    impl Tan {
        fn to_pixel(&self, ra: f64, dec: f64) -> Option<(f64, f64)> {
            let (a, d, d0) = ((ra - self.ra0).to_radians(), dec.to_radians(), self.dec0.to_radians());
            let cos_c = d0.sin() * d.sin() + d0.cos() * d.cos() * a.cos();
            if cos_c <= 0.0 {
                return None;
            }
            let xi = d.cos() * a.sin() / cos_c;
            let eta = (d0.cos() * d.sin() - d0.sin() * d.cos() * a.cos()) / cos_c;
            Some((self.c - xi.to_degrees() / self.s, self.c + eta.to_degrees() / self.s))
        }

        fn to_world(&self, x: f64, y: f64) -> (f64, f64) {
            let (xi, eta) = ((self.c - x) * self.s, (y - self.c) * self.s);
            let (xi, eta, d0) = (xi.to_radians(), eta.to_radians(), self.dec0.to_radians());
            let rho = xi.hypot(eta);
            let c = rho.atan();
            if rho == 0.0 {
                return (self.ra0, self.dec0);
            }
            let dec = (c.cos() * d0.sin() + eta * c.sin() * d0.cos() / rho).asin();
            let ra = self.ra0
                + (xi * c.sin())
                    .atan2(rho * d0.cos() * c.cos() - eta * d0.sin() * c.sin())
                    .to_degrees();
            (ra.rem_euclid(360.0), dec.to_degrees())
        }
    }

    /// Pixels of a `n × n` image inside `shape`.
    fn pixels(shape: &Shape, n: usize) -> Vec<(usize, usize)> {
        (0..n)
            .flat_map(|y| (0..n).map(move |x| (x, y)))
            .filter(|&(x, y)| shape.contains(x as f64, y as f64))
            .collect()
    }

    /// Every pixel inside `inner` is inside `sky`'s pixel polygon and every pixel outside
    /// `outer` is outside it: the sky shape matches the pixel shape up to the margin between.
    fn assert_between(sky: &SkyShape, tan: &Tan, inner: &Shape, outer: &Shape) {
        let poly = sky.to_pixels(|a, d| tan.to_pixel(a, d)).expect("projects");
        let n = 2 * tan.c as usize;
        let got = pixels(&poly, n);
        for p in pixels(inner, n) {
            assert!(
                got.contains(&p),
                "{sky:?}: {p:?} inside the pixel shape but not the sky one"
            );
        }
        let outer = pixels(outer, n);
        for p in &got {
            assert!(
                outer.contains(p),
                "{sky:?}: {p:?} inside the sky shape but outside the pixel one"
            );
        }
        assert!(!got.is_empty());
    }

    #[test]
    fn sky_box_covers_the_pixels_of_the_equivalent_pixel_box() {
        for (ra0, dec0) in [(150.0, 2.0), (250.4, 36.4), (10.0, -70.0), (359.995, 0.0)] {
            let tan = Tan {
                ra0,
                dec0,
                s: 0.001,
                c: 100.0,
            };
            for (x, y, width, height, angle) in [
                (100.0, 100.0, 30.0, 16.0, 0.0),
                (100.0, 100.0, 30.0, 16.0, 30.0),
                (112.3, 87.6, 41.0, 9.5, -75.0),
                (90.0, 110.0, 20.0, 20.0, 135.0),
            ] {
                let (ra, dec) = tan.to_world(x, y);
                let sky = SkyShape::Box {
                    ra,
                    dec,
                    width: width * tan.s,
                    height: height * tan.s,
                    angle,
                };
                let pixel_box = |m: f64| Shape::Box {
                    x,
                    y,
                    width: width + m,
                    height: height + m,
                    angle,
                };
                assert_between(&sky, &tan, &pixel_box(-0.02), &pixel_box(0.02));
            }
        }
    }

    #[test]
    fn sky_ellipse_covers_the_pixels_of_the_equivalent_pixel_ellipse() {
        let tan = Tan {
            ra0: 250.4,
            dec0: 36.4,
            s: 0.0005,
            c: 100.0,
        };
        for (x, y, a, b, angle) in [(100.0, 100.0, 30.0, 12.0, 0.0), (95.5, 104.2, 25.0, 40.0, 60.0)] {
            let (ra, dec) = tan.to_world(x, y);
            let sky = SkyShape::Ellipse {
                ra,
                dec,
                a: a * tan.s,
                b: b * tan.s,
                angle,
            };
            // The 72-gon inside the ellipse is at most 0.1 % short of it.
            let ellipse = |m: f64| Shape::Ellipse {
                x,
                y,
                a: a * m,
                b: b * m,
                angle,
            };
            assert_between(&sky, &tan, &ellipse(0.998), &ellipse(1.001));
        }
    }

    #[test]
    fn ellipse_with_equal_axes_is_the_circle() {
        // Angles in 5° steps give the circle's very points (in another order).
        for (ra, dec, r, angle) in [
            (10.0, 0.0, 0.5, 0.0),
            (250.0, 36.0, 0.01, 35.0),
            (0.1, 88.0, 1.0, -90.0),
        ] {
            let circle = SkyShape::Circle { ra, dec, r }.outline().expect("circle");
            let ellipse = SkyShape::Ellipse {
                ra,
                dec,
                a: r,
                b: r,
                angle,
            }
            .outline()
            .expect("ellipse");
            assert_eq!(ellipse.len(), circle.len());
            for (a, d) in &ellipse {
                assert!(
                    circle
                        .iter()
                        .any(|(ca, cd)| (ca - a).abs().min(360.0 - (ca - a).abs()) < 1e-9 && (cd - d).abs() < 1e-9),
                    "({a}, {d}) is not a point of the circle"
                );
            }
        }
        let tan = Tan {
            ra0: 250.4,
            dec0: 36.4,
            s: 0.001,
            c: 50.0,
        };
        let (ra, dec) = tan.to_world(52.0, 47.0);
        let project = |a: f64, d: f64| tan.to_pixel(a, d);
        let circle = SkyShape::Circle { ra, dec, r: 0.02 }
            .to_pixels(project)
            .expect("circle");
        let ellipse = SkyShape::Ellipse {
            ra,
            dec,
            a: 0.02,
            b: 0.02,
            angle: 10.0,
        }
        .to_pixels(project)
        .expect("ellipse");
        assert_eq!(pixels(&circle, 100), pixels(&ellipse, 100));
    }

    #[test]
    fn boxes_and_ellipses_are_validated_and_parsed() {
        let ok = |s: &SkyShape| s.outline().is_some();
        let boxed = |width: f64, height: f64, angle: f64| SkyShape::Box {
            ra: 10.0,
            dec: 20.0,
            width,
            height,
            angle,
        };
        assert!(ok(&boxed(1.0, 2.0, 45.0)));
        for b in [
            boxed(0.0, 1.0, 0.0),
            boxed(1.0, -1.0, 0.0),
            boxed(90.0, 1.0, 0.0),
            boxed(f64::NAN, 1.0, 0.0),
            boxed(1.0, 1.0, f64::INFINITY),
        ] {
            assert!(!ok(&b), "{b:?}");
        }
        let ellipse = |a: f64, b: f64, dec: f64| SkyShape::Ellipse {
            ra: 10.0,
            dec,
            a,
            b,
            angle: 0.0,
        };
        assert!(ok(&ellipse(1.0, 0.5, 20.0)));
        assert_eq!(ellipse(1.0, 0.5, 20.0).outline().map(|o| o.len()), Some(72));
        for e in [ellipse(0.0, 1.0, 0.0), ellipse(1.0, 91.0, 0.0), ellipse(1.0, 1.0, 95.0)] {
            assert!(!ok(&e), "{e:?}");
        }

        let parsed: SkyShape =
            serde_json::from_str(r#"{"shape":"box","ra":1,"dec":2,"width":0.1,"height":0.2,"angle":30}"#).expect("box");
        assert_eq!(parsed, boxed_at(1.0, 2.0, 0.1, 0.2, 30.0));
        let parsed: SkyShape =
            serde_json::from_str(r#"{"shape":"ellipse","ra":1,"dec":2,"a":0.1,"b":0.2}"#).expect("ellipse");
        assert_eq!(
            parsed,
            SkyShape::Ellipse {
                ra: 1.0,
                dec: 2.0,
                a: 0.1,
                b: 0.2,
                angle: 0.0
            }
        );
        let json = serde_json::to_value(boxed_at(1.0, 2.0, 0.1, 0.2, 30.0)).expect("json");
        assert_eq!(json["shape"], "box");
    }

    fn boxed_at(ra: f64, dec: f64, width: f64, height: f64, angle: f64) -> SkyShape {
        SkyShape::Box {
            ra,
            dec,
            width,
            height,
            angle,
        }
    }
}
