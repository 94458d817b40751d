//! Celestial reference frames and the equatorial ↔ galactic rotation for cursor read-outs.
//!
//! Equatorial here means FK5 J2000, which the IAU galactic system is defined against; ICRS
//! differs from FK5 J2000 by a frame bias of about 20 milliarcseconds, far below what a cursor
//! read-out shows, so ICRS positions may be passed as they are.

use serde::Serialize;

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
}

/// Galactic north pole in FK5 J2000 and the galactic longitude of the celestial north pole,
/// as used by astropy's `Galactic` frame (Blaauw et al. 1960 transformed to J2000).
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
}
