//! Conic projections COP, COE, COD, COO (Paper II sect. 5.5, PV2_1 = θ_a, PV2_2 = η) and the
//! polyconic BON and PCO (sect. 5.6).

use super::{Params, R0};
use crate::trig::{D2R, asind, atan2d, atand, cosd, sincosd, sind, tand};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Variant {
    Perspective,
    EqualArea,
    Equidistant,
    Orthomorphic,
}

/// A conic projection: x = R sin(Cφ), y = −R cos(Cφ) + Y₀ with R = R(θ) per variant.
#[derive(Debug, Clone)]
pub(crate) struct Conic {
    variant: Variant,
    theta_a: f64,
    /// C, the cone constant.
    c: f64,
    /// Y₀ = R(θ_a).
    y0: f64,
    w: [f64; 4],
}

impl Conic {
    pub(super) fn new(code: &str, pv: &Params) -> Result<Self, String> {
        let theta_a = pv[1].ok_or_else(|| format!("{code} needs PV2_1 (theta_a)"))?;
        let eta = pv[2].unwrap_or(0.0);
        let bad = || format!("invalid {code} parameters theta_a={theta_a}, eta={eta}");
        let (variant, c, y0, w) = match code {
            "COP" => {
                let c = sind(theta_a);
                let w3 = R0 * cosd(eta);
                if c == 0.0 || w3 == 0.0 {
                    return Err(bad());
                }
                let cot_a = 1.0 / tand(theta_a);
                (Variant::Perspective, c, w3 * cot_a, [w3, cot_a, 0.0, 0.0])
            }
            "COE" => {
                let (s1, s2) = (sind(theta_a - eta), sind(theta_a + eta));
                let c = (s1 + s2) / 2.0;
                if c == 0.0 {
                    return Err(bad());
                }
                let w3 = R0 / c;
                let w4 = 1.0 + s1 * s2;
                let w5 = 2.0 * c;
                let y0 = w3 * (w4 - w5 * sind(theta_a)).sqrt();
                (Variant::EqualArea, c, y0, [w3, w4, w5, w3 * (w4 + w5).sqrt()])
            }
            "COD" => {
                let c = if eta == 0.0 {
                    R0 * sind(theta_a) * D2R
                } else {
                    R0 * sind(theta_a) * sind(eta) / eta
                };
                if c == 0.0 {
                    return Err(bad());
                }
                let y0 = R0 * cosd(eta) * cosd(theta_a) / c;
                (Variant::Equidistant, c, y0, [y0 + theta_a, 0.0, 0.0, 0.0])
            }
            _ => {
                let (theta1, theta2) = (theta_a - eta, theta_a + eta);
                let tan1 = tand((90.0 - theta1) / 2.0);
                let cos1 = cosd(theta1);
                let c = if theta1 == theta2 {
                    sind(theta1)
                } else {
                    let tan2 = tand((90.0 - theta2) / 2.0);
                    let cos2 = cosd(theta2);
                    (cos2 / cos1).ln() / (tan2 / tan1).ln()
                };
                if c == 0.0 || !c.is_finite() {
                    return Err(bad());
                }
                let psi = R0 * (cos1 / c) / tan1.powf(c);
                if psi == 0.0 || !psi.is_finite() {
                    return Err(bad());
                }
                let y0 = psi * tand((90.0 - theta_a) / 2.0).powf(c);
                (Variant::Orthomorphic, c, y0, [psi, 0.0, 0.0, 0.0])
            }
        };
        if !(c.is_finite() && y0.is_finite()) {
            return Err(bad());
        }
        Ok(Self {
            variant,
            theta_a,
            c,
            y0,
            w,
        })
    }

    pub(super) fn theta_a(&self) -> f64 {
        self.theta_a
    }

    pub(super) fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let dy = self.y0 - y;
        let mut r = x.hypot(dy);
        if self.theta_a < 0.0 {
            r = -r;
        }
        let alpha = if r == 0.0 { 0.0 } else { atan2d(x / r, dy / r) };
        let phi = alpha / self.c;
        let theta = match self.variant {
            Variant::Perspective => {
                let [w3, cot_a, ..] = self.w;
                self.theta_a + atand(cot_a - r / w3)
            }
            Variant::EqualArea => {
                const TOL: f64 = 1e-12;
                let [w3, w4, _, r_south] = self.w;
                if (r - r_south).abs() < TOL {
                    -90.0
                } else {
                    let w = (w3 * w3 * w4 - r * r) * self.c / (2.0 * R0 * R0);
                    if w.abs() > 1.0 {
                        if (w - 1.0).abs() < TOL {
                            90.0
                        } else if (w + 1.0).abs() < TOL {
                            -90.0
                        } else {
                            return None;
                        }
                    } else {
                        asind(w)
                    }
                }
            }
            Variant::Equidistant => self.w[0] - r,
            Variant::Orthomorphic => {
                if r == 0.0 {
                    if self.c < 0.0 { -90.0 } else { 90.0 }
                } else {
                    90.0 - 2.0 * atand((r / self.w[0]).powf(1.0 / self.c))
                }
            }
        };
        Some((phi, theta))
    }

    pub(super) fn s2x(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        let r = match self.variant {
            Variant::Perspective => {
                let [w3, ..] = self.w;
                let t = theta - self.theta_a;
                let s = cosd(t);
                if s == 0.0 {
                    return None;
                }
                let r = self.y0 - w3 * sind(t) / s;
                if r * self.c < 0.0 {
                    return None;
                }
                r
            }
            Variant::EqualArea => {
                let [w3, w4, w5, r_south] = self.w;
                if theta == -90.0 {
                    r_south
                } else {
                    w3 * (w4 - w5 * sind(theta)).sqrt()
                }
            }
            Variant::Equidistant => self.w[0] - theta,
            Variant::Orthomorphic => {
                if theta == -90.0 {
                    if self.c >= 0.0 {
                        return None;
                    }
                    0.0
                } else {
                    self.w[0] * tand((90.0 - theta) / 2.0).powf(self.c)
                }
            }
        };
        let (s, c) = sincosd(self.c * phi);
        Some((r * s, -r * c + self.y0))
    }
}

/// BON: Bonne's projection, PV2_1 = θ₁ (θ₁ = 0 is Sanson-Flamsteed, handled by the caller).
#[derive(Debug, Clone)]
pub(crate) struct Bon {
    theta1: f64,
    y0: f64,
}

impl Bon {
    pub(super) fn new(pv: &Params) -> Result<Option<Self>, String> {
        let theta1 = pv[1].ok_or("BON needs PV2_1 (theta_1)")?;
        if theta1 == 0.0 {
            return Ok(None);
        }
        let y0 = R0 * cosd(theta1) / sind(theta1) + theta1;
        if !y0.is_finite() {
            return Err(format!("invalid BON parameter theta_1={theta1}"));
        }
        Ok(Some(Self { theta1, y0 }))
    }

    pub(super) fn x2s(&self, x: f64, y: f64) -> (f64, f64) {
        let dy = self.y0 - y;
        let mut r = x.hypot(dy);
        if self.theta1 < 0.0 {
            r = -r;
        }
        let alpha = if r == 0.0 { 0.0 } else { atan2d(x / r, dy / r) };
        let theta = self.y0 - r;
        let costhe = cosd(theta);
        let phi = if costhe == 0.0 { 0.0 } else { alpha * (r / R0) / costhe };
        (phi, theta)
    }

    pub(super) fn s2x(&self, phi: f64, theta: f64) -> (f64, f64) {
        let r = self.y0 - theta;
        let alpha = R0 * phi * cosd(theta) / r;
        let (s, c) = sincosd(alpha);
        (r * s, -r * c + self.y0)
    }
}

/// PCO inverse: solves x² + (y − θ)(y − θ − 2R₀ cot θ) = 0 for θ by weighted bisection.
pub(super) fn pco_x2s(x: f64, y: f64) -> (f64, f64) {
    const TOL: f64 = 1e-12;
    let w = y.abs();
    if w < TOL {
        return (x, 0.0);
    }
    if (w - 90.0).abs() < TOL {
        return (0.0, 90.0_f64.copysign(y));
    }
    let (the, ymthe, tanthe) = if w < 1e-4 {
        // Near the equator cot θ blows up; use the series form.
        let the = y / (1.0 + D2R / (2.0 * R0) * x * x);
        (the, y - the, tand(the))
    } else {
        let (mut thepos, mut theneg) = (y, 0.0);
        let xx = x * x;
        let (mut fpos, mut fneg) = (xx, -xx);
        let mut state = (thepos, y - thepos, tand(thepos));
        for _ in 0..64 {
            let lambda = (fpos / (fpos - fneg)).clamp(0.1, 0.9);
            let the = thepos - lambda * (thepos - theneg);
            let ymthe = y - the;
            let tanthe = tand(the);
            let f = xx + ymthe * (ymthe - 2.0 * R0 / tanthe);
            state = (the, ymthe, tanthe);
            if f.abs() < TOL || (thepos - theneg).abs() < TOL {
                break;
            }
            if f > 0.0 {
                thepos = the;
                fpos = f;
            } else {
                theneg = the;
                fneg = f;
            }
        }
        state
    };
    let x1 = R0 - ymthe * tanthe;
    let y1 = x * tanthe;
    let phi = if x1 == 0.0 && y1 == 0.0 {
        0.0
    } else {
        atan2d(y1, x1) / sind(the)
    };
    (phi, the)
}

pub(super) fn pco_s2x(phi: f64, theta: f64) -> (f64, f64) {
    if theta == 0.0 {
        (phi, 0.0)
    } else if theta.abs() < 1e-4 {
        let x = phi * cosd(theta);
        (x, (1.0 + D2R / (2.0 * R0) * x * x) * theta)
    } else {
        let (sinthe, costhe) = sincosd(theta);
        let (sinpsi, cospsi) = sincosd(phi * sinthe);
        let cotthe = costhe / sinthe;
        (R0 * cotthe * sinpsi, R0 * (cotthe * (1.0 - cospsi) + theta * D2R))
    }
}
