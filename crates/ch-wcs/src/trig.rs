//! Trigonometry in degrees that is exact at multiples of 90° (and tan at 45°).
//!
//! The WCS reference implementation (WCSLIB, used by astropy) relies on `cosd(90) == 0`
//! exactly: several branches of the celestial set-up test for exact zeros, so plain
//! `cos(x.to_radians())` (≈ 6e-17) would take a different branch at the poles.

pub(crate) const D2R: f64 = std::f64::consts::PI / 180.0;
pub(crate) const R2D: f64 = 180.0 / std::f64::consts::PI;

/// Tolerance of the inverse functions at ±1.
const TRIG_TOL: f64 = 1e-10;

fn quadrant(angle: f64, shift: f64) -> Option<f64> {
    if angle % 90.0 == 0.0 {
        let i = ((angle / 90.0 + shift).floor() as i64).unsigned_abs() % 4;
        Some(match i {
            0 => 1.0,
            2 => -1.0,
            _ => 0.0,
        })
    } else {
        None
    }
}

pub(crate) fn cosd(angle: f64) -> f64 {
    quadrant(angle, 0.5).unwrap_or_else(|| (angle * D2R).cos())
}

pub(crate) fn sind(angle: f64) -> f64 {
    quadrant(angle, -0.5).unwrap_or_else(|| (angle * D2R).sin())
}

pub(crate) fn sincosd(angle: f64) -> (f64, f64) {
    (sind(angle), cosd(angle))
}

pub(crate) fn tand(angle: f64) -> f64 {
    let resid = angle % 360.0;
    if resid == 0.0 || resid.abs() == 180.0 {
        0.0
    } else if resid == 45.0 || resid == 225.0 || resid == -135.0 || resid == -315.0 {
        1.0
    } else if resid == -45.0 || resid == -225.0 || resid == 135.0 || resid == 315.0 {
        -1.0
    } else {
        (angle * D2R).tan()
    }
}

pub(crate) fn acosd(v: f64) -> f64 {
    if v >= 1.0 {
        if v - 1.0 < TRIG_TOL {
            return 0.0;
        }
    } else if v == 0.0 {
        return 90.0;
    } else if v <= -1.0 && v + 1.0 > -TRIG_TOL {
        return 180.0;
    }
    v.acos() * R2D
}

pub(crate) fn asind(v: f64) -> f64 {
    if v <= -1.0 {
        if v + 1.0 > -TRIG_TOL {
            return -90.0;
        }
    } else if v == 0.0 {
        return 0.0;
    } else if v >= 1.0 && v - 1.0 < TRIG_TOL {
        return 90.0;
    }
    v.asin() * R2D
}

pub(crate) fn atand(v: f64) -> f64 {
    if v == -1.0 {
        -45.0
    } else if v == 0.0 {
        0.0
    } else if v == 1.0 {
        45.0
    } else {
        v.atan() * R2D
    }
}

pub(crate) fn atan2d(y: f64, x: f64) -> f64 {
    if y == 0.0 {
        if x >= 0.0 {
            return 0.0;
        } else if x < 0.0 {
            return 180.0;
        }
    } else if x == 0.0 {
        if y > 0.0 {
            return 90.0;
        } else if y < 0.0 {
            return -90.0;
        }
    }
    y.atan2(x) * R2D
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_at_right_angles() {
        assert_eq!(cosd(90.0), 0.0);
        assert_eq!(cosd(-90.0), 0.0);
        assert_eq!(cosd(180.0), -1.0);
        assert_eq!(sind(-90.0), -1.0);
        assert_eq!(sind(270.0), -1.0);
        assert_eq!(sind(-270.0), 1.0);
        assert_eq!(sind(180.0), 0.0);
        assert_eq!(tand(45.0), 1.0);
        assert_eq!(asind(1.0 + 1e-12), 90.0);
        assert!(asind(1.1).is_nan());
        assert_eq!(atan2d(0.0, -1.0), 180.0);
        assert!((sind(30.0) - 0.5).abs() < 1e-15);
        assert!(cosd(f64::NAN).is_nan());
    }
}
