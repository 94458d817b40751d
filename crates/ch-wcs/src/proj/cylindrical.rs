//! Cylindrical (CYP, CEA, CAR, MER), pseudo-cylindrical (SFL, PAR, MOL) and Hammer-Aitoff (AIT)
//! projections (Paper II sect. 5.2 and 5.3).

use super::{Params, R0};
use crate::trig::{asind, atan2d, atand, cosd, sincosd, sind, tand};

const TOL: f64 = 1e-13;

/// Clamps a sine that is within rounding of ±1; `None` when it is really outside.
fn unit_clamp(v: f64, tol: f64) -> Option<f64> {
    if v.abs() > 1.0 {
        if v.abs() > 1.0 + tol {
            return None;
        }
        return Some(1.0_f64.copysign(v));
    }
    Some(v)
}

/// CYP: cylindrical perspective, PV2_1 = μ, PV2_2 = λ.
#[derive(Debug, Clone)]
pub(crate) struct Cyp {
    mu: f64,
    lambda: f64,
    w2: f64,
}

impl Cyp {
    pub(super) fn new(pv: &Params) -> Result<Self, String> {
        let mu = pv[1].unwrap_or(1.0);
        let lambda = pv[2].unwrap_or(1.0);
        let w2 = R0 * (mu + lambda);
        if lambda == 0.0 || w2 == 0.0 {
            return Err(format!("invalid CYP parameters mu={mu}, lambda={lambda}"));
        }
        Ok(Self { mu, lambda, w2 })
    }

    pub(super) fn x2s(&self, x: f64, y: f64) -> (f64, f64) {
        let eta = y / self.w2;
        (
            x / self.lambda,
            atan2d(eta, 1.0) + asind(eta * self.mu / (eta * eta + 1.0).sqrt()),
        )
    }

    pub(super) fn s2x(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        let eta = self.mu + cosd(theta);
        if eta == 0.0 {
            return None;
        }
        Some((self.lambda * phi, self.w2 * sind(theta) / eta))
    }
}

/// CEA: cylindrical equal area, PV2_1 = λ in (0, 1].
#[derive(Debug, Clone)]
pub(crate) struct Cea {
    lambda: f64,
}

impl Cea {
    pub(super) fn new(pv: &Params) -> Result<Self, String> {
        let lambda = pv[1].unwrap_or(1.0);
        if lambda <= 0.0 || lambda > 1.0 {
            return Err(format!("invalid CEA parameter lambda={lambda}"));
        }
        Ok(Self { lambda })
    }

    pub(super) fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let s = unit_clamp(self.lambda * y / R0, TOL)?;
        Some((x, asind(s)))
    }

    pub(super) fn s2x(&self, phi: f64, theta: f64) -> (f64, f64) {
        (phi, R0 / self.lambda * sind(theta))
    }
}

pub(super) fn mer_x2s(x: f64, y: f64) -> (f64, f64) {
    (x, 2.0 * atand((y / R0).exp()) - 90.0)
}

pub(super) fn mer_s2x(phi: f64, theta: f64) -> Option<(f64, f64)> {
    if theta <= -90.0 || theta >= 90.0 {
        return None;
    }
    Some((phi, R0 * tand((90.0 + theta) / 2.0).ln()))
}

pub(super) fn sfl_x2s(x: f64, y: f64) -> Option<(f64, f64)> {
    let s = cosd(y);
    if s == 0.0 {
        return (x == 0.0).then_some((0.0, y));
    }
    Some((x / s, y))
}

pub(super) fn sfl_s2x(phi: f64, theta: f64) -> (f64, f64) {
    (phi * cosd(theta), theta)
}

pub(super) fn par_x2s(x: f64, y: f64) -> Option<(f64, f64)> {
    let r = unit_clamp(y / 180.0, TOL)?;
    let s = 1.0 - 4.0 * r * r;
    let theta = 3.0 * asind(r);
    if s == 0.0 {
        return (x == 0.0).then_some((0.0, theta));
    }
    Some((x / s, theta))
}

pub(super) fn par_s2x(phi: f64, theta: f64) -> (f64, f64) {
    let s = sind(theta / 3.0);
    (phi * (1.0 - 4.0 * s * s), 180.0 * s)
}

pub(super) fn mol_x2s(x: f64, y: f64) -> Option<(f64, f64)> {
    const TOL: f64 = 1e-12;
    let y0 = y / R0;
    let mut s = 2.0 - y0 * y0;
    let phi = if s <= TOL {
        if s < -TOL || x.abs() > TOL {
            return None;
        }
        s = 0.0;
        0.0
    } else {
        s = s.sqrt();
        std::f64::consts::PI * x / (2.0 * s)
    };
    let z = y / (std::f64::consts::SQRT_2 * R0);
    let z = if z.abs() > 1.0 {
        if z.abs() > 1.0 + TOL {
            return None;
        }
        1.0_f64.copysign(z) + y0 * s / std::f64::consts::PI
    } else {
        z.asin() * std::f64::consts::FRAC_2_PI + y0 * s / std::f64::consts::PI
    };
    let z = unit_clamp(z, TOL)?;
    Some((phi, asind(z)))
}

pub(super) fn mol_s2x(phi: f64, theta: f64) -> (f64, f64) {
    use std::f64::consts::{PI, SQRT_2};
    let w0 = SQRT_2 * R0;
    let (xi, eta) = if theta.abs() == 90.0 {
        (0.0, w0.copysign(theta))
    } else if theta == 0.0 {
        (1.0, 0.0)
    } else {
        // Solve v + sin v = π sin θ (v = 2γ) by Newton's method, bracketed for safety.
        let u = PI * sind(theta);
        let (mut lo, mut hi) = (-PI, PI);
        let mut v = u / 2.0;
        for _ in 0..100 {
            let resid = v + v.sin() - u;
            if resid < 0.0 {
                lo = v;
            } else {
                hi = v;
            }
            if resid.abs() < 1e-15 {
                break;
            }
            let step = v - resid / (1.0 + v.cos());
            v = if step > lo && step < hi { step } else { (lo + hi) / 2.0 };
            if hi - lo < 1e-15 {
                break;
            }
        }
        let gamma = v / 2.0;
        (gamma.cos(), w0 * gamma.sin())
    };
    (2.0 * SQRT_2 / PI * phi * xi, eta)
}

pub(super) fn ait_x2s(x: f64, y: f64) -> Option<(f64, f64)> {
    let mut s = 1.0 - x * x / (16.0 * R0 * R0) - y * y / (4.0 * R0 * R0);
    if s < 0.5 {
        if s < 0.5 - TOL {
            return None;
        }
        s = 0.5;
    }
    let z = s.sqrt();
    let xx = 2.0 * z * z - 1.0;
    let yy = z * x / (2.0 * R0);
    let phi = if xx == 0.0 && yy == 0.0 {
        0.0
    } else {
        2.0 * atan2d(yy, xx)
    };
    let t = unit_clamp(z * y / R0, TOL)?;
    Some((phi, asind(t)))
}

pub(super) fn ait_s2x(phi: f64, theta: f64) -> Option<(f64, f64)> {
    let (sinthe, costhe) = sincosd(theta);
    let (sinhalf, coshalf) = sincosd(phi / 2.0);
    let denom = 1.0 + costhe * coshalf;
    if denom <= 0.0 {
        return None;
    }
    let z = (2.0 * R0 * R0 / denom).sqrt();
    Some((2.0 * z * costhe * sinhalf, z * sinthe))
}
