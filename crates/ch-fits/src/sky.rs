//! Regions given on the sky (degrees). They become pixel [`Shape`]s through a projection the
//! caller supplies (e.g. a WCS's world→pixel), so this crate needs no WCS of its own.

use serde::{Deserialize, Serialize};

use crate::region::Shape;

/// Outline points used for a sky circle; 5° steps keep the polygon within 0.1 % of the radius.
const CIRCLE_STEPS: u32 = 72;

/// A region on the sky. JSON: `{"shape": "circle", "ra": 250.4, "dec": 36.4, "r": 0.01}` or
/// `{"shape": "polygon", "vertices": [[ra, dec], …]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum SkyShape {
    /// All points within angular distance `r` of (`ra`, `dec`).
    Circle { ra: f64, dec: f64, r: f64 },
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

impl SkyShape {
    /// Points of the outline on the sky (degrees), or `None` for a malformed region
    /// (radius not in (0, 90), |dec| > 90, fewer than three vertices).
    pub fn outline(&self) -> Option<Vec<(f64, f64)>> {
        match self {
            SkyShape::Circle { ra, dec, r } => {
                if !(r.is_finite() && *r > 0.0 && *r < 90.0 && dec.abs() <= 90.0) {
                    return None;
                }
                let step = std::f64::consts::TAU / f64::from(CIRCLE_STEPS);
                Some(
                    (0..CIRCLE_STEPS)
                        .map(|k| offset(*ra, *dec, *r, f64::from(k) * step))
                        .collect(),
                )
            }
            SkyShape::Polygon { vertices } if vertices.len() >= 3 => {
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
}
