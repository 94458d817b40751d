//! Celestial reference frames and conversions between them.
//!
//! [`convert`] moves a position between any two of ICRS, FK5, FK4, FK4-NO-E (any equinox),
//! galactic, supergalactic and the mean ecliptic, agreeing with astropy 8 (the reference)
//! to well under a milliarcsecond (`tests/frames.rs` checks against astropy's own output).
//! It follows astropy's models and its transform graph step for step — the same precession
//! models, the same intermediate frames (see `graph`) — so that, e.g., galactic ↔ FK4 goes
//! through FK4-NO-E rather than FK5, as in astropy. The steps (astropy function):
//!
//! | step | model |
//! |------|-------|
//! | ICRS ↔ FK5 J2000 | frame bias, USNO Circular 179 (`_icrs_to_fk5_matrix`) |
//! | FK5 ↔ FK5 | IAU 2006 precession, Capitaine et al. 2003 (`erfa.bp06`) |
//! | FK5 ↔ FK4-NO-E | Murray 1989 at the FK4 obstime, Newcomb precession (`fk4_no_e_to_fk5`) |
//! | FK4-NO-E ↔ FK4 | E-terms of aberration (`fk4_e_terms`) |
//! | FK5, FK4-NO-E ↔ galactic | galactic pole of Blaauw et al. 1960 (`fk5_to_gal`, `fk4_to_gal`) |
//! | galactic ↔ supergalactic | de Vaucouleurs' pole, Lahav et al. 2000 (`gal_to_supergal`) |
//! | ICRS ↔ ecliptic | IAU 2006 mean ecliptic and equinox, `erfa.ecm06` (`BarycentricMeanEcliptic`) |
//!
//! [`equatorial_to_galactic`] and [`galactic_to_equatorial`] are the older, cheaper cursor
//! read-out rotations: equatorial there means FK5 J2000, which the IAU galactic system is
//! defined against; ICRS differs from FK5 J2000 by a frame bias of about 20 milliarcseconds,
//! far below what a cursor read-out shows, so ICRS positions may be passed as they are.

mod epoch;
mod fk4;
mod graph;
mod matrix;
mod precession;

use serde::Serialize;

use self::epoch::Epoch;
use self::graph::Node;
use crate::sphere::Rotation;

/// The celestial reference system of an image's longitude/latitude axes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "system", rename_all = "snake_case")]
pub enum Frame {
    Icrs,
    Fk5 {
        equinox: f64,
    },
    Fk4 {
        equinox: f64,
    },
    Fk4NoE {
        equinox: f64,
    },
    /// Geocentric apparent place; needs the observation date, which is not modelled.
    Gappt,
    Galactic,
    Ecliptic {
        equinox: Option<f64>,
    },
    Supergalactic,
    Helioecliptic,
    /// Any other `xxLN`/`xxLT` pair, e.g. planetary coordinates, named by the longitude type.
    Other {
        name: String,
    },
}

impl Frame {
    /// Whether positions in this frame can be passed to [`equatorial_to_galactic`] directly
    /// (ICRS or FK5 at equinox J2000).
    pub fn is_j2000_equatorial(&self) -> bool {
        match self {
            Frame::Icrs => true,
            Frame::Fk5 { equinox } => (*equinox - 2000.0).abs() < 1e-9,
            _ => false,
        }
    }

    /// A short human-readable name, e.g. `"ICRS"`, `"FK5 (J2000)"`, `"FK4 (B1950)"`,
    /// `"FK4-NO-E (B1950)"`, `"galactic"`, `"ecliptic (J2000)"`; FK5 and ecliptic equinoxes
    /// are Julian epochs (J), FK4 ones Besselian (B).
    pub fn name(&self) -> String {
        match self {
            Frame::Icrs => "ICRS".to_string(),
            Frame::Fk5 { equinox } => format!("FK5 (J{equinox})"),
            Frame::Fk4 { equinox } => format!("FK4 (B{equinox})"),
            Frame::Fk4NoE { equinox } => format!("FK4-NO-E (B{equinox})"),
            Frame::Gappt => "geocentric apparent (GAPPT)".to_string(),
            Frame::Galactic => "galactic".to_string(),
            Frame::Ecliptic { equinox } => format!("ecliptic (J{})", equinox.unwrap_or(2000.0)),
            Frame::Supergalactic => "supergalactic".to_string(),
            Frame::Helioecliptic => "helioecliptic".to_string(),
            Frame::Other { name } => name.clone(),
        }
    }

    /// The astropy frame this one stands for, or why there is none.
    fn node(&self) -> Result<Node, String> {
        let finite = |e: f64| {
            if e.is_finite() {
                Ok(e)
            } else {
                Err(format!("the equinox {e} is not a year"))
            }
        };
        Ok(match self {
            Frame::Icrs => Node::Icrs,
            Frame::Fk5 { equinox } => Node::Fk5 {
                equinox: Epoch::julian(finite(*equinox)?),
            },
            Frame::Fk4 { equinox } => {
                let e = Epoch::besselian(finite(*equinox)?);
                Node::Fk4 { equinox: e, obstime: e }
            }
            Frame::Fk4NoE { equinox } => {
                let e = Epoch::besselian(finite(*equinox)?);
                Node::Fk4NoE { equinox: e, obstime: e }
            }
            Frame::Galactic => Node::Galactic,
            Frame::Supergalactic => Node::Supergalactic,
            Frame::Ecliptic { equinox } => Node::Ecliptic {
                equinox: Epoch::julian(finite(equinox.unwrap_or(2000.0))?),
            },
            Frame::Gappt => {
                return Err("geocentric apparent places depend on the observation time and the \
                            observer, which are not known"
                    .to_string());
            }
            Frame::Helioecliptic => {
                return Err("heliocentric ecliptic positions depend on the observation time \
                            (the Sun's place) and the distance, which are not known"
                    .to_string());
            }
            Frame::Other { name } => {
                return Err(format!(
                    "{name:?} is not a sky frame this library knows (planetary or custom axes)"
                ));
            }
        })
    }
}

/// Why a position cannot be converted between two frames.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// One of the frames has no transformation here: it needs an observation time or an
    /// observer (GAPPT, helioecliptic), is not a sky frame (other axes), or has a non-finite
    /// equinox.
    #[error("cannot convert {from} coordinates to {to}: {reason}")]
    Unsupported { from: String, to: String, reason: String },
}

/// Converts (lon, lat) in degrees from frame `from` to frame `to`, following astropy's
/// transform graph (see the module docs); the result's longitude is in [0, 360).
///
/// Conventions: FK5 and ecliptic equinoxes are Julian epochs, FK4 and FK4-NO-E ones
/// Besselian; an FK4 frame is observed at its equinox (astropy's default `obstime`), which
/// sets the FK4 → FK5 rotation; `Ecliptic { equinox: None }` is the J2000 mean ecliptic, as
/// in DS9. Equal frames (or `Ecliptic` with `None` and `Some(2000.0)`) give the input back
/// with only the longitude normalised. Latitudes are clamped to [−90, 90]; a non-finite
/// longitude or latitude gives `Ok((NaN, NaN))`.
///
/// # Errors
/// [`FrameError::Unsupported`] when either frame (if they differ) is [`Frame::Gappt`],
/// [`Frame::Helioecliptic`], [`Frame::Other`], or has a non-finite equinox.
pub fn convert(from: &Frame, to: &Frame, lon: f64, lat: f64) -> Result<(f64, f64), FrameError> {
    let nodes = if from == to {
        None
    } else {
        let unsupported = |reason| FrameError::Unsupported {
            from: from.name(),
            to: to.name(),
            reason,
        };
        Some((from.node().map_err(unsupported)?, to.node().map_err(unsupported)?))
    };
    if !(lon.is_finite() && lat.is_finite()) {
        return Ok((f64::NAN, f64::NAN));
    }
    let lat = lat.clamp(-90.0, 90.0);
    let Some((a, b)) = nodes.filter(|(a, b)| a != b) else {
        return Ok((normalise(lon), lat));
    };
    let v = graph::transform(&a, &b, matrix::unit_vector(lon, lat)).ok_or_else(|| FrameError::Unsupported {
        from: from.name(),
        to: to.name(),
        reason: "no transformation path".to_string(),
    })?;
    let (lon, lat) = matrix::lon_lat(&v);
    Ok((normalise(lon), lat))
}

/// Galactic north pole in FK5 J2000 and the galactic longitude of the celestial north pole,
/// as used by astropy's `Galactic` frame (Blaauw et al. 1960 transformed to J2000).
/// `convert` uses the same values (astropy `Galactic._ngp_J2000`, `_lon0_J2000`).
const NGP_RA: f64 = 192.859_481_206_534_8;
const NGP_DEC: f64 = 27.128_251_180_856_22;
const NCP_GLON: f64 = 122.931_918_568_002_6;

fn galactic_rotation() -> Rotation {
    Rotation::from_euler(NGP_RA, NGP_DEC, NCP_GLON)
}

fn normalise(lon: f64) -> f64 {
    let l = lon.rem_euclid(360.0);
    if l >= 360.0 { 0.0 } else { l }
}

/// FK5 J2000 (≈ ICRS) right ascension/declination → galactic (l, b), all in degrees.
/// Returns NaNs for non-finite input.
pub fn equatorial_to_galactic(ra: f64, dec: f64) -> (f64, f64) {
    if !(ra.is_finite() && dec.is_finite()) {
        return (f64::NAN, f64::NAN);
    }
    let (l, b) = galactic_rotation().celestial_to_native(ra, dec.clamp(-90.0, 90.0));
    (normalise(l), b)
}

/// Galactic (l, b) → FK5 J2000 (≈ ICRS) right ascension/declination, all in degrees.
/// Returns NaNs for non-finite input.
pub fn galactic_to_equatorial(l: f64, b: f64) -> (f64, f64) {
    if !(l.is_finite() && b.is_finite()) {
        return (f64::NAN, f64::NAN);
    }
    let (ra, dec) = galactic_rotation().native_to_celestial(l, b.clamp(-90.0, 90.0));
    (normalise(ra), dec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn galactic_centre_and_pole() {
        // Galactic centre in FK5 J2000 according to astropy 8.
        let (ra, dec) = galactic_to_equatorial(0.0, 0.0);
        assert!((ra - 266.404_996_234_022_5).abs() < 1e-9, "{ra}");
        assert!((dec + 28.936_172_403_391_78).abs() < 1e-9, "{dec}");
        let (l, b) = equatorial_to_galactic(NGP_RA, NGP_DEC);
        assert!((b - 90.0).abs() < 1e-9, "{l} {b}");
        let (l, b) = equatorial_to_galactic(ra, dec);
        assert!(l.min(360.0 - l) < 1e-9 && b.abs() < 1e-9);
    }

    fn frames() -> Vec<Frame> {
        vec![
            Frame::Icrs,
            Frame::Fk5 { equinox: 2000.0 },
            Frame::Fk5 { equinox: 1975.0 },
            Frame::Fk5 { equinox: 2050.5 },
            Frame::Fk4 { equinox: 1950.0 },
            Frame::Fk4 { equinox: 1900.0 },
            Frame::Fk4NoE { equinox: 1950.0 },
            Frame::Fk4NoE { equinox: 1875.0 },
            Frame::Galactic,
            Frame::Supergalactic,
            Frame::Ecliptic { equinox: None },
            Frame::Ecliptic { equinox: Some(1950.0) },
        ]
    }

    /// Angle between two positions, degrees.
    fn separation(a: (f64, f64), b: (f64, f64)) -> f64 {
        let (u, v) = (matrix::unit_vector(a.0, a.1), matrix::unit_vector(b.0, b.1));
        let cross = [
            u[1] * v[2] - u[2] * v[1],
            u[2] * v[0] - u[0] * v[2],
            u[0] * v[1] - u[1] * v[0],
        ];
        matrix::dot(&cross, &cross)
            .sqrt()
            .atan2(matrix::dot(&u, &v))
            .to_degrees()
    }

    /// The FK4 equinox of an FK4 or FK4-NO-E frame.
    fn fk4_equinox(f: &Frame) -> Option<f64> {
        match f {
            Frame::Fk4 { equinox } | Frame::Fk4NoE { equinox } => Some(*equinox),
            _ => None,
        }
    }

    /// Whether astropy's paths `a → b` and `b → a` apply Newcomb precession matrices between
    /// different equinoxes that are not each other's transpose (`FK4NoETerms._precession_matrix`
    /// from x to y times that from y to x is the identity only to ~1e-10 per half century), so
    /// that astropy's own round trip is off by up to ~1e-7°.
    fn newcomb_round_trip(a: &Frame, b: &Frame) -> bool {
        match (fk4_equinox(a), fk4_equinox(b)) {
            (None, None) => false,
            (Some(x), Some(y)) => x != y,
            (Some(x), None) | (None, Some(x)) => {
                let other = if fk4_equinox(a).is_some() { b } else { a };
                match other {
                    // Through FK4-NO-E → galactic and its transpose: exact.
                    Frame::Galactic | Frame::Supergalactic => false,
                    // Through FK4-NO-E and FK5 at the FK4 equinox.
                    Frame::Icrs => x != 1950.0,
                    // Through FK4-NO-E at the FK5 or ecliptic equinox one way only.
                    _ => true,
                }
            }
        }
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn round_trips_return_the_start() {
        let positions = [
            (0.0, 0.0),
            (184.6, -5.6),
            (359.999, 45.0),
            (10.0, 89.99),
            (250.0, -89.9),
        ];
        for a in &frames() {
            for b in &frames() {
                let tolerance = if newcomb_round_trip(a, b) { 1e-7 } else { 1e-9 };
                for &p in &positions {
                    let there = convert(a, b, p.0, p.1).unwrap();
                    let back = convert(b, a, there.0, there.1).unwrap();
                    let off = separation(p, back);
                    assert!(
                        off < tolerance,
                        "{} → {}: {p:?} → {back:?}: {off:e}°",
                        a.name(),
                        b.name()
                    );
                }
            }
        }
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn round_trips_that_astropy_does_not_close_are_not_closed_the_same_way() {
        // astropy 8: ICRS (0, 0) → FK4 B1900 → ICRS lands 6.9429878773e-9° away; FK4 B1950
        // (0, 0) → FK5 J1975 → FK4 B1950 1.7362111406e-9° away.
        let cases = [
            (Frame::Icrs, Frame::Fk4 { equinox: 1900.0 }, 6.942_987_877_3e-9),
            (
                Frame::Fk4 { equinox: 1950.0 },
                Frame::Fk5 { equinox: 1975.0 },
                1.736_211_140_6e-9,
            ),
        ];
        for (a, b, astropy) in cases {
            let there = convert(&a, &b, 0.0, 0.0).unwrap();
            let back = convert(&b, &a, there.0, there.1).unwrap();
            let off = separation((0.0, 0.0), back);
            assert!((off - astropy).abs() < 1e-12, "{} ↔ {}: {off:e}°", a.name(), b.name());
        }
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn equal_frames_return_the_input() {
        for f in frames() {
            assert_eq!(
                convert(&f, &f, 12.345_678_9, -87.654_321).unwrap(),
                (12.345_678_9, -87.654_321)
            );
            assert_eq!(convert(&f, &f, -90.0, 10.0).unwrap(), (270.0, 10.0));
        }
        let j2000 = Frame::Ecliptic { equinox: Some(2000.0) };
        let default = Frame::Ecliptic { equinox: None };
        assert_eq!(convert(&default, &j2000, 359.5, 1.0).unwrap(), (359.5, 1.0));
        let other = Frame::Other {
            name: "PLN".to_string(),
        };
        assert_eq!(convert(&other, &other, 1.0, 2.0).unwrap(), (1.0, 2.0));
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn anchor_from_astropy() {
        // astropy 8: Galactic(l=184.6, b=-5.6).transform_to(FK4(equinox="B1950")).
        let (ra, dec) = convert(&Frame::Galactic, &Frame::Fk4 { equinox: 1950.0 }, 184.6, -5.6).unwrap();
        assert!(separation((ra, dec), (83.072_919_836_397_79, 22.045_551_703_904_035)) < 1e-10);
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn non_finite_input_gives_nan() {
        for (lon, lat) in [(f64::NAN, 0.0), (0.0, f64::INFINITY), (f64::NEG_INFINITY, f64::NAN)] {
            let (l, b) = convert(&Frame::Icrs, &Frame::Galactic, lon, lat).unwrap();
            assert!(l.is_nan() && b.is_nan());
        }
        let (l, b) = convert(&Frame::Galactic, &Frame::Icrs, 10.0, 123.0).unwrap();
        let pole = convert(&Frame::Galactic, &Frame::Icrs, 0.0, 90.0).unwrap();
        assert!(separation((l, b), pole) < 1e-12, "latitude is clamped");
    }

    #[test]
    fn frames_without_a_transformation_are_reported() {
        let unsupported = [
            Frame::Gappt,
            Frame::Helioecliptic,
            Frame::Other {
                name: "PLN".to_string(),
            },
            Frame::Fk5 { equinox: f64::NAN },
            Frame::Fk4 { equinox: f64::INFINITY },
            Frame::Ecliptic {
                equinox: Some(f64::NAN),
            },
        ];
        for f in &unsupported {
            for g in [Frame::Icrs, Frame::Galactic] {
                for (from, to) in [(f, &g), (&g, f)] {
                    match convert(from, to, 10.0, 20.0) {
                        Err(FrameError::Unsupported { from: a, to: b, reason }) => {
                            assert_eq!((a, b), (from.name(), to.name()));
                            assert!(!reason.is_empty());
                        }
                        other => panic!("{} → {}: {other:?}", from.name(), to.name()),
                    }
                }
            }
        }
        let err = convert(&Frame::Gappt, &Frame::Icrs, 0.0, 0.0)
            .err()
            .map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.starts_with("cannot convert geocentric apparent (GAPPT) coordinates to ICRS: ")));
    }

    #[test]
    fn names() {
        assert_eq!(Frame::Icrs.name(), "ICRS");
        assert_eq!(Frame::Fk5 { equinox: 2000.0 }.name(), "FK5 (J2000)");
        assert_eq!(Frame::Fk5 { equinox: 1975.5 }.name(), "FK5 (J1975.5)");
        assert_eq!(Frame::Fk4 { equinox: 1950.0 }.name(), "FK4 (B1950)");
        assert_eq!(Frame::Fk4NoE { equinox: 1950.0 }.name(), "FK4-NO-E (B1950)");
        assert_eq!(Frame::Galactic.name(), "galactic");
        assert_eq!(Frame::Ecliptic { equinox: None }.name(), "ecliptic (J2000)");
    }
}
