//! Zenithal projections (Paper II sect. 5.1): AZP, SZP, TAN, STG, SIN, ARC, ZPN, ZEA, AIR.

use super::{Params, R0};
use crate::trig::{D2R, R2D, acosd, asind, atan2d, atand, cosd, sincosd, sind};

const TOL: f64 = 1e-13;

/// Native longitude of a plane point, 0 at the origin.
fn azimuth(x: f64, y: f64, r: f64) -> f64 {
    if r == 0.0 { 0.0 } else { atan2d(x, -y) }
}

/// Plane position of a point at native longitude `phi` and radius `r` (degrees).
pub(super) fn radial(phi: f64, r: f64) -> (f64, f64) {
    let (s, c) = sincosd(phi);
    (r * s, -r * c)
}

/// Folds the two candidate latitudes of a perspective projection into the one nearer the pole.
fn nearer_pole(s: f64, t: f64) -> f64 {
    let mut a = s - t;
    let mut b = s + t + 180.0;
    if a > 90.0 {
        a -= 360.0;
    }
    if b > 90.0 {
        b -= 360.0;
    }
    a.max(b)
}

/// AZP: zenithal/azimuthal perspective, PV2_1 = μ, PV2_2 = γ (tilt).
#[derive(Debug, Clone)]
pub(crate) struct Azp {
    mu: f64,
    w0: f64,
    tan_g: f64,
    sec_g: f64,
    cos_g: f64,
    sin_g: f64,
    theta_min: f64,
    divergent_check: bool,
}

impl Azp {
    pub(super) fn new(pv: &Params) -> Result<Self, String> {
        let mu = pv[1].unwrap_or(0.0);
        let gamma = pv[2].unwrap_or(0.0);
        let w0 = R0 * (mu + 1.0);
        let (sin_g, cos_g) = sincosd(gamma);
        if w0 == 0.0 || cos_g == 0.0 {
            return Err(format!("invalid AZP parameters mu={mu}, gamma={gamma}"));
        }
        Ok(Self {
            mu,
            w0,
            tan_g: sin_g / cos_g,
            sec_g: 1.0 / cos_g,
            cos_g,
            sin_g,
            theta_min: if mu.abs() > 1.0 { asind(-1.0 / mu) } else { -90.0 },
            divergent_check: (mu * cos_g).abs() < 1.0,
        })
    }

    pub(super) fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let yc = y * self.cos_g;
        let r = x.hypot(yc);
        if r == 0.0 {
            return Some((0.0, 90.0));
        }
        let phi = atan2d(x, -yc);
        let s = r / (self.w0 + y * self.sin_g);
        let t = s * self.mu / (s * s + 1.0).sqrt();
        let s = atan2d(1.0, s);
        let t = if t.abs() > 1.0 {
            if t.abs() > 1.0 + TOL {
                return None;
            }
            90.0_f64.copysign(t)
        } else {
            asind(t)
        };
        Some((phi, nearer_pole(s, t)))
    }

    pub(super) fn s2x(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        let (sinphi, cosphi) = sincosd(phi);
        let (sinthe, costhe) = sincosd(theta);
        let s = self.tan_g * cosphi;
        let t = (self.mu + sinthe) + costhe * s;
        if t == 0.0 || theta < self.theta_min {
            return None;
        }
        if self.divergent_check {
            let t = self.mu / (1.0 + s * s).sqrt();
            if t.abs() <= 1.0 && theta < nearer_pole(atand(-s), asind(t)) {
                return None;
            }
        }
        let r = self.w0 * costhe / t;
        Some((r * sinphi, -r * cosphi * self.sec_g))
    }
}

/// SZP: slant zenithal perspective, PV2_1 = μ, PV2_2 = φc, PV2_3 = θc.
#[derive(Debug, Clone)]
pub(crate) struct Szp {
    mu: f64,
    w: [f64; 9],
}

impl Szp {
    pub(super) fn new(pv: &Params) -> Result<Self, String> {
        let mu = pv[1].unwrap_or(0.0);
        let phic = pv[2].unwrap_or(0.0);
        let thetac = pv[3].unwrap_or(90.0);
        let w3 = mu * sind(thetac) + 1.0;
        if w3 == 0.0 {
            return Err(format!("invalid SZP parameters mu={mu}, theta_c={thetac}"));
        }
        let w1 = -mu * cosd(thetac) * sind(phic);
        let w2 = mu * cosd(thetac) * cosd(phic);
        let w8 = if (w3 - 1.0).abs() < 1.0 { asind(1.0 - w3) } else { -90.0 };
        let w = [
            1.0 / R0,
            w1,
            w2,
            w3,
            R0 * w1,
            R0 * w2,
            R0 * w3,
            (w3 - 1.0) * w3 - 1.0,
            w8,
        ];
        Ok(Self { mu, w })
    }

    pub(super) fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let w = &self.w;
        let (xr, yr) = (x * w[0], y * w[0]);
        let r2 = xr * xr + yr * yr;
        let x1 = (xr - w[1]) / w[3];
        let y1 = (yr - w[2]) / w[3];
        let xy = xr * x1 + yr * y1;
        let (theta, z) = if r2 < 1e-10 {
            (90.0 - R2D * (r2 / (1.0 + xy)).sqrt(), r2 / 2.0)
        } else {
            let t = x1 * x1 + y1 * y1;
            let sinthe = nearest_pole_root(t + 1.0, xy - t, r2 - xy - xy + t - 1.0)?;
            (asind(sinthe), 1.0 - sinthe)
        };
        Some((atan2d(xr - x1 * z, -(yr - y1 * z)), theta))
    }

    pub(super) fn s2x(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        let w = &self.w;
        let (sinphi, cosphi) = sincosd(phi);
        let s = 1.0 - sind(theta);
        let t = w[3] - s;
        if t == 0.0 || theta < w[8] {
            return None;
        }
        if self.mu.abs() > 1.0 {
            let s = w[1] * sinphi - w[2] * cosphi;
            let t = 1.0 / (w[7] + s * s).sqrt();
            if t.abs() <= 1.0 && theta < nearer_pole(atan2d(s, w[3] - 1.0), asind(t)) {
                return None;
            }
        }
        let r = w[6] * cosd(theta) / t;
        let u = w[4] * s / t;
        let v = w[5] * s / t;
        Some((r * sinphi - u, -r * cosphi - v))
    }
}

/// Solves a·s² + 2b·s + c = 0 for sin θ, taking the root nearest the pole that is a valid sine.
fn nearest_pole_root(a: f64, b: f64, c: f64) -> Option<f64> {
    let d = b * b - a * c;
    if d < 0.0 {
        return None;
    }
    let d = d.sqrt();
    let s1 = (-b + d) / a;
    let s2 = (-b - d) / a;
    let mut s = s1.max(s2);
    if s > 1.0 {
        s = if s - 1.0 < TOL { 1.0 } else { s1.min(s2) };
    }
    if s < -1.0 && s + 1.0 > -TOL {
        s = -1.0;
    }
    (-1.0..=1.0).contains(&s).then_some(s)
}

pub(super) fn tan_x2s(x: f64, y: f64) -> (f64, f64) {
    let r = x.hypot(y);
    (azimuth(x, y, r), atan2d(R0, r))
}

pub(super) fn tan_s2x(phi: f64, theta: f64) -> Option<(f64, f64)> {
    let s = sind(theta);
    if s <= 0.0 {
        return None;
    }
    Some(radial(phi, R0 * cosd(theta) / s))
}

pub(super) fn stg_x2s(x: f64, y: f64) -> (f64, f64) {
    let r = x.hypot(y);
    (azimuth(x, y, r), 90.0 - 2.0 * atand(r / (2.0 * R0)))
}

pub(super) fn stg_s2x(phi: f64, theta: f64) -> Option<(f64, f64)> {
    let s = 1.0 + sind(theta);
    if s == 0.0 {
        return None;
    }
    Some(radial(phi, 2.0 * R0 * cosd(theta) / s))
}

pub(super) fn arc_x2s(x: f64, y: f64) -> (f64, f64) {
    let r = x.hypot(y);
    (azimuth(x, y, r), 90.0 - r)
}

pub(super) fn zea_x2s(x: f64, y: f64) -> Option<(f64, f64)> {
    let r = x.hypot(y);
    let w0 = 2.0 * R0;
    let s = r / w0;
    let theta = if s.abs() > 1.0 {
        if (r - w0).abs() < 1e-12 {
            -90.0
        } else {
            return None;
        }
    } else {
        90.0 - 2.0 * asind(s)
    };
    Some((azimuth(x, y, r), theta))
}

pub(super) fn zea_s2x(phi: f64, theta: f64) -> (f64, f64) {
    radial(phi, 2.0 * R0 * sind((90.0 - theta) / 2.0))
}

/// SIN: orthographic / synthesis projection, PV2_1 = ξ, PV2_2 = η.
#[derive(Debug, Clone)]
pub(crate) struct Sin {
    xi: f64,
    eta: f64,
}

impl Sin {
    pub(super) fn new(pv: &Params) -> Self {
        Self {
            xi: pv[1].unwrap_or(0.0),
            eta: pv[2].unwrap_or(0.0),
        }
    }

    fn slant(&self) -> f64 {
        self.xi * self.xi + self.eta * self.eta
    }

    pub(super) fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let (x0, y0) = (x / R0, y / R0);
        let r2 = x0 * x0 + y0 * y0;
        let w1 = self.slant();
        if w1 == 0.0 {
            let phi = if r2 != 0.0 { atan2d(x0, -y0) } else { 0.0 };
            let theta = if r2 < 0.5 {
                acosd(r2.sqrt())
            } else if r2 <= 1.0 {
                asind((1.0 - r2).sqrt())
            } else {
                return None;
            };
            return Some((phi, theta));
        }
        let xy = x0 * self.xi + y0 * self.eta;
        let (theta, z) = if r2 < 1e-10 {
            (90.0 - R2D * (r2 / (1.0 + xy)).sqrt(), r2 / 2.0)
        } else {
            let sinthe = nearest_pole_root(w1 + 1.0, xy - w1, r2 - xy - xy + w1 - 1.0)?;
            (asind(sinthe), 1.0 - sinthe)
        };
        let x1 = -y0 + self.eta * z;
        let y1 = x0 - self.xi * z;
        let phi = if x1 == 0.0 && y1 == 0.0 { 0.0 } else { atan2d(y1, x1) };
        Some((phi, theta))
    }

    pub(super) fn s2x(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        let t = (90.0 - theta.abs()) * D2R;
        let (z, costhe) = if t < 1e-5 {
            (if theta > 0.0 { t * t / 2.0 } else { 2.0 - t * t / 2.0 }, t)
        } else {
            (1.0 - sind(theta), cosd(theta))
        };
        let r = R0 * costhe;
        let (sinphi, cosphi) = sincosd(phi);
        if self.slant() == 0.0 {
            if theta < 0.0 {
                return None;
            }
            return Some((r * sinphi, -r * cosphi));
        }
        if theta < -atand(self.xi * sinphi - self.eta * cosphi) {
            return None;
        }
        let z = z * R0;
        Some((r * sinphi + self.xi * z, -r * cosphi + self.eta * z))
    }
}

/// ZPN: zenithal polynomial, PV2_0..PV2_29 coefficients of R(θ) in radians.
#[derive(Debug, Clone)]
pub(crate) struct Zpn {
    coeff: Vec<f64>,
    /// Zenith distance (radians) of the first turning point, and R there.
    zd_max: f64,
    r_max: f64,
}

impl Zpn {
    pub(super) fn new(pv: &Params) -> Result<Self, String> {
        let mut coeff: Vec<f64> = pv.iter().map(|v| v.unwrap_or(0.0)).collect();
        while coeff.last() == Some(&0.0) {
            coeff.pop();
        }
        let k = coeff
            .len()
            .checked_sub(1)
            .ok_or("ZPN needs at least one non-zero PV2_m coefficient")?;
        let poly = |zd: f64| coeff.iter().rev().fold(0.0, |acc, c| acc * zd + c);
        let deriv = |zd: f64| (1..=k).rev().fold(0.0, |acc, m| acc * zd + m as f64 * coeff[m]);
        if k < 2 {
            return Ok(Self {
                zd_max: std::f64::consts::PI,
                r_max: poly(std::f64::consts::PI),
                coeff,
            });
        }
        let (mut zd1, mut d1) = (0.0, coeff[1]);
        if d1 <= 0.0 {
            return Err("ZPN PV2_1 must be positive".into());
        }
        // Walk out in 1° steps to the first negative derivative, then refine the turning point.
        let mut bracket = None;
        for j in 0..180 {
            let zd2 = f64::from(j) * D2R;
            let d2 = deriv(zd2);
            if d2 <= 0.0 {
                bracket = Some((zd2, d2));
                break;
            }
            zd1 = zd2;
            d1 = d2;
        }
        let zd = match bracket {
            None => std::f64::consts::PI,
            Some((mut zd2, mut d2)) => {
                let mut zd = zd1;
                for _ in 0..10 {
                    zd = zd1 - d1 * (zd2 - zd1) / (d2 - d1);
                    let d = deriv(zd);
                    if d.abs() < 1e-13 {
                        break;
                    }
                    if d < 0.0 {
                        zd2 = zd;
                        d2 = d;
                    } else {
                        zd1 = zd;
                        d1 = d;
                    }
                }
                zd
            }
        };
        Ok(Self {
            zd_max: zd,
            r_max: poly(zd),
            coeff,
        })
    }

    fn poly(&self, zd: f64) -> f64 {
        self.coeff.iter().rev().fold(0.0, |acc, c| acc * zd + c)
    }

    pub(super) fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let rr = x.hypot(y);
        let r = rr / R0;
        let c = &self.coeff;
        let zd = match c.len() {
            0 | 1 => return None,
            2 => (r - c[0]) / c[1],
            3 => {
                let (a, b, cc) = (c[2], c[1], c[0] - r);
                let d = b * b - 4.0 * a * cc;
                if d < 0.0 {
                    return None;
                }
                let d = d.sqrt();
                let zd1 = (-b + d) / (2.0 * a);
                let zd2 = (-b - d) / (2.0 * a);
                let mut zd = zd1.min(zd2);
                if zd < -TOL {
                    zd = zd1.max(zd2);
                }
                if zd < 0.0 {
                    if zd < -TOL {
                        return None;
                    }
                    0.0
                } else if zd > std::f64::consts::PI {
                    if zd > std::f64::consts::PI + TOL {
                        return None;
                    }
                    std::f64::consts::PI
                } else {
                    zd
                }
            }
            _ => {
                let (mut zd1, mut r1) = (0.0, c[0]);
                let (mut zd2, mut r2) = (self.zd_max, self.r_max);
                if r < r1 {
                    if r < r1 - TOL {
                        return None;
                    }
                    zd1
                } else if r > r2 {
                    if r > r2 + TOL {
                        return None;
                    }
                    zd2
                } else {
                    let mut zd = zd1;
                    for _ in 0..100 {
                        let lambda = ((r2 - r) / (r2 - r1)).clamp(0.1, 0.9);
                        zd = zd2 - lambda * (zd2 - zd1);
                        let rt = self.poly(zd);
                        if rt < r {
                            if r - rt < TOL {
                                break;
                            }
                            r1 = rt;
                            zd1 = zd;
                        } else {
                            if rt - r < TOL {
                                break;
                            }
                            r2 = rt;
                            zd2 = zd;
                        }
                        if (zd2 - zd1).abs() < TOL {
                            break;
                        }
                    }
                    zd
                }
            }
        };
        Some((azimuth(x, y, rr), 90.0 - zd * R2D))
    }

    pub(super) fn s2x(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        let s = (90.0 - theta) * D2R;
        if s > self.zd_max {
            return None;
        }
        Some(radial(phi, self.poly(s) * R0))
    }
}

/// AIR: Airy's zenithal projection, PV2_1 = θ_b.
#[derive(Debug, Clone)]
pub(crate) struct Air {
    w1: f64,
    w2: f64,
}

impl Air {
    pub(super) fn new(pv: &Params) -> Result<Self, String> {
        let theta_b = pv[1].unwrap_or(90.0);
        let w1 = if theta_b == 90.0 {
            -0.5
        } else if theta_b > -90.0 {
            let cosxi = cosd((90.0 - theta_b) / 2.0);
            cosxi.ln() * (cosxi * cosxi) / (1.0 - cosxi * cosxi)
        } else {
            return Err(format!("invalid AIR parameter theta_b={theta_b}"));
        };
        Ok(Self { w1, w2: 0.5 - w1 })
    }

    fn radius(&self, cosxi: f64) -> f64 {
        let tanxi = (1.0 - cosxi * cosxi).sqrt() / cosxi;
        -(cosxi.ln() / tanxi + self.w1 * tanxi)
    }

    pub(super) fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        const TOL: f64 = 1e-12;
        let rr = x.hypot(y);
        let r = rr / (2.0 * R0);
        if r == 0.0 {
            return Some((0.0, 90.0));
        }
        let xi = if r < self.w2 * 1e-4 {
            r * R2D / self.w2
        } else {
            // Bracket the solution by halving cos ξ, then refine by weighted bisection.
            let (mut x1, mut r1) = (1.0, 0.0);
            let mut bracket = None;
            for _ in 0..30 {
                let x2 = x1 / 2.0;
                let r2 = self.radius(x2);
                if r2 >= r {
                    bracket = Some((x2, r2));
                    break;
                }
                x1 = x2;
                r1 = r2;
            }
            let (mut x2, mut r2) = bracket?;
            let mut converged = false;
            let mut cosxi = x2;
            for _ in 0..100 {
                let lambda = ((r2 - r) / (r2 - r1)).clamp(0.1, 0.9);
                cosxi = x2 - lambda * (x2 - x1);
                let rt = self.radius(cosxi);
                if rt < r {
                    if r - rt < TOL {
                        converged = true;
                        break;
                    }
                    r1 = rt;
                    x1 = cosxi;
                } else {
                    if rt - r < TOL {
                        converged = true;
                        break;
                    }
                    r2 = rt;
                    x2 = cosxi;
                }
            }
            if !converged {
                return None;
            }
            acosd(cosxi)
        };
        Some((atan2d(x, -y), 90.0 - 2.0 * xi))
    }

    pub(super) fn s2x(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        let r = if theta == 90.0 {
            0.0
        } else if theta > -90.0 {
            let xi = D2R * (90.0 - theta) / 2.0;
            if xi < 1e-4 {
                xi * 2.0 * R0 * self.w2
            } else {
                2.0 * R0 * self.radius(cosd((90.0 - theta) / 2.0))
            }
        } else {
            return None;
        };
        Some(radial(phi, r))
    }
}
