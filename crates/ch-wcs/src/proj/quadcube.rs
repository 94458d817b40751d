//! Quad-cube projections TSC, CSC and QSC (Paper II sect. 5.6). Six faces laid out in a
//! sideways cross: faces 1–4 along the equator at x = 0, 90°, 180°, 270°, face 0 above face 1
//! and face 5 below it. Each face is 90° wide, so the face coordinates run over [−1, 1].

use crate::trig::{asind, atan2d, atand, sincosd};

/// Half a face width in degrees (r₀·π/4 with r₀ = 180/π).
const HALF_FACE: f64 = 45.0;

/// Which face a direction cosine triple (l, m, n) falls on, with ζ the largest component.
fn face_of(l: f64, m: f64, n: f64) -> (u8, f64) {
    let mut face = 0;
    let mut zeta = n;
    for (f, v) in [(1, l), (2, m), (3, -l), (4, -m), (5, -n)] {
        if v > zeta {
            face = f;
            zeta = v;
        }
    }
    (face, zeta)
}

/// (ξ, η) on a face and the face's centre in half-face units.
fn face_coords(face: u8, l: f64, m: f64, n: f64) -> (f64, f64, f64, f64) {
    match face {
        1 => (m, n, 0.0, 0.0),
        2 => (-l, n, 2.0, 0.0),
        3 => (-m, n, 4.0, 0.0),
        4 => (l, n, 6.0, 0.0),
        5 => (m, l, 0.0, -2.0),
        _ => (m, -l, 0.0, 2.0),
    }
}

fn direction(phi: f64, theta: f64) -> (f64, f64, f64) {
    let (sinphi, cosphi) = sincosd(phi);
    let (sinthe, costhe) = sincosd(theta);
    (costhe * cosphi, costhe * sinphi, sinthe)
}

/// Splits plane coordinates into a face and face-local (xf, yf); `None` off the cross.
fn locate(xf: f64, yf: f64) -> Option<(u8, f64, f64)> {
    if xf.abs() <= 1.0 {
        if yf.abs() > 3.0 {
            return None;
        }
    } else if xf.abs() > 7.0 || yf.abs() > 1.0 {
        return None;
    }
    let xf = if xf < -1.0 { xf + 8.0 } else { xf };
    Some(if xf > 5.0 {
        (4, xf - 6.0, yf)
    } else if xf > 3.0 {
        (3, xf - 4.0, yf)
    } else if xf > 1.0 {
        (2, xf - 2.0, yf)
    } else if yf > 1.0 {
        (0, xf, yf - 2.0)
    } else if yf < -1.0 {
        (5, xf, yf + 2.0)
    } else {
        (1, xf, yf)
    })
}

/// Direction cosines from face-local gnomonic-like coordinates (χ, ψ) and t = 1/√(1+χ²+ψ²).
fn from_face(face: u8, chi: f64, psi: f64, t: f64) -> (f64, f64, f64) {
    match face {
        1 => (t, chi * t, psi * t),
        2 => (-chi * t, t, psi * t),
        3 => (-t, -chi * t, psi * t),
        4 => (chi * t, -t, psi * t),
        5 => (psi * t, chi * t, -t),
        _ => (-psi * t, chi * t, t),
    }
}

fn to_native(l: f64, m: f64, n: f64) -> (f64, f64) {
    let phi = if l == 0.0 && m == 0.0 { 0.0 } else { atan2d(m, l) };
    (phi, asind(n))
}

fn clamp_face(v: f64, tol: f64) -> Option<f64> {
    if v.abs() > 1.0 {
        if v.abs() > 1.0 + tol {
            return None;
        }
        return Some(1.0_f64.copysign(v));
    }
    Some(v)
}

pub(super) fn tsc_x2s(x: f64, y: f64) -> Option<(f64, f64)> {
    let (face, xf, yf) = locate(x / HALF_FACE, y / HALF_FACE)?;
    let t = 1.0 / (1.0 + xf * xf + yf * yf).sqrt();
    let (l, m, n) = from_face(face, xf, yf, t);
    Some(to_native(l, m, n))
}

pub(super) fn tsc_s2x(phi: f64, theta: f64) -> Option<(f64, f64)> {
    let (l, m, n) = direction(phi, theta);
    let (face, zeta) = face_of(l, m, n);
    let (xi, eta, x0, y0) = face_coords(face, l, m, n);
    let xf = clamp_face(xi / zeta, 1e-12)?;
    let yf = clamp_face(eta / zeta, 1e-12)?;
    Some((HALF_FACE * (xf + x0), HALF_FACE * (yf + y0)))
}

// COBE quadrilateralized spherical cube: polynomial approximations of Chan & O'Neill (1975)
// as given in Paper II, evaluated in single precision exactly as the reference implementation
// does, because its results (and so astropy's) are only defined to float precision.
#[allow(clippy::excessive_precision)]
const P: [[f32; 7]; 7] = [
    [
        -0.272_926_96,
        -0.076_299_69,
        -0.227_970_56,
        0.548_523_84,
        -0.629_300_65,
        0.257_957_94,
        0.025_843_75,
    ],
    [
        -0.028_194_52,
        -0.014_715_65,
        0.480_515_09,
        -1.741_144_54,
        1.715_475_08,
        -0.530_223_37,
        0.0,
    ],
    [
        0.270_581_6,
        -0.568_009_38,
        0.308_033_17,
        0.989_381_02,
        -0.831_804_69,
        0.0,
        0.0,
    ],
    [-0.604_415_6, 1.508_800_86, -0.936_785_76, 0.086_938_41, 0.0, 0.0, 0.0],
    [0.934_120_77, -1.416_019_2, 0.338_874_46, 0.0, 0.0, 0.0, 0.0],
    [-0.639_153_06, 0.520_322_38, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.143_815_85, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
];

/// Σ_j z_j(a) b^j with z_j(a) = Σ_i P[j][i] a^i, Horner-nested in the reference order.
fn csc_series(a: f32, b: f32) -> f32 {
    let z = |j: usize, terms: usize| -> f32 {
        let row = &P[j];
        let mut acc = row[terms - 1];
        for i in (0..terms - 1).rev() {
            acc = row[i] + a * acc;
        }
        acc
    };
    let zs = [z(0, 7), z(1, 6), z(2, 5), z(3, 4), z(4, 3), z(5, 2), z(6, 1)];
    let mut acc = zs[6];
    for j in (0..6).rev() {
        acc = zs[j] + b * acc;
    }
    acc
}

pub(super) fn csc_x2s(x: f64, y: f64) -> Option<(f64, f64)> {
    let xf = (x * (1.0 / HALF_FACE)) as f32;
    let yf = (y * (1.0 / HALF_FACE)) as f32;
    let (face, xf, yf) = locate_f32(xf, yf)?;
    let xx = xf * xf;
    let yy = yf * yf;
    let chi = xf + xf * (1.0 - xx) * csc_series(xx, yy);
    let psi = yf + yf * (1.0 - yy) * csc_series(yy, xx);
    let t = 1.0 / (f64::from(chi * chi + psi * psi) + 1.0).sqrt();
    let (l, m, n) = from_face(face, f64::from(chi), f64::from(psi), t);
    Some(to_native(l, m, n))
}

/// [`locate`] in single precision, as wcslib's CSC does it: the shifted coordinate `xf + 8` is
/// rounded to `f32` before the face offset is taken, so this cannot defer to the `f64` version
/// (the astropy comparison catches the difference).
fn locate_f32(xf: f32, yf: f32) -> Option<(u8, f32, f32)> {
    if f64::from(xf).abs() <= 1.0 {
        if f64::from(yf).abs() > 3.0 {
            return None;
        }
    } else if f64::from(xf).abs() > 7.0 || f64::from(yf).abs() > 1.0 {
        return None;
    }
    let xf = if xf < -1.0 { xf + 8.0 } else { xf };
    Some(if xf > 5.0 {
        (4, xf - 6.0, yf)
    } else if xf > 3.0 {
        (3, xf - 4.0, yf)
    } else if xf > 1.0 {
        (2, xf - 2.0, yf)
    } else if yf > 1.0 {
        (0, xf, yf - 2.0)
    } else if yf < -1.0 {
        (5, xf, yf + 2.0)
    } else {
        (1, xf, yf)
    })
}

#[allow(clippy::excessive_precision)]
pub(super) fn csc_s2x(phi: f64, theta: f64) -> Option<(f64, f64)> {
    const GSTAR: f32 = 1.374_848_477_32;
    const MM: f32 = 0.004_869_491_981;
    const GAMMA: f32 = -0.131_616_714_74;
    const OMEGA1: f32 = -0.159_596_235_474;
    const D0: f32 = 0.075_919_620_046_7;
    const D1: f32 = -0.021_776_249_069_9;
    const C00: f32 = 0.141_189_631_152;
    const C10: f32 = 0.080_970_128_652_5;
    const C01: f32 = -0.281_528_535_557;
    const C11: f32 = 0.153_841_128_76;
    const C20: f32 = -0.178_251_207_466;
    const C02: f32 = 0.106_959_469_314;
    let (l, m, n) = direction(phi, theta);
    let (face, zeta) = face_of(l, m, n);
    let (xi, eta, x0, y0) = face_coords(face, l, m, n);
    let chi = (xi / zeta) as f32;
    let psi = (eta / zeta) as f32;
    let chi2 = chi * chi;
    let psi2 = psi * psi;
    let chi2co = 1.0 - chi2;
    let psi2co = 1.0 - psi2;
    let chipsi = (chi * psi).abs();
    let chi4 = if chi2 > 1.0e-16 { chi2 * chi2 } else { 0.0 };
    let psi4 = if psi2 > 1.0e-16 { psi2 * psi2 } else { 0.0 };
    let chi2psi2 = if chipsi > 1.0e-16 { chi2 * psi2 } else { 0.0 };
    let xf = chi
        * (chi2
            + chi2co
                * (GSTAR
                    + psi2
                        * (GAMMA * chi2co
                            + MM * chi2
                            + psi2co * (C00 + C10 * chi2 + C01 * psi2 + C11 * chi2psi2 + C20 * chi4 + C02 * psi4))
                    + chi2 * (OMEGA1 - chi2co * (D0 + D1 * chi2))));
    let yf = psi
        * (psi2
            + psi2co
                * (GSTAR
                    + chi2
                        * (GAMMA * psi2co
                            + MM * psi2
                            + chi2co * (C00 + C10 * psi2 + C01 * chi2 + C11 * chi2psi2 + C20 * psi4 + C02 * chi4))
                    + psi2 * (OMEGA1 - psi2co * (D0 + D1 * psi2))));
    let xf = clamp_face(f64::from(xf), 1e-7)? as f32;
    let yf = clamp_face(f64::from(yf), 1e-7)? as f32;
    // The face offset is added in single precision too, as in the reference implementation.
    let x = HALF_FACE * f64::from(xf + x0 as f32);
    let y = HALF_FACE * f64::from(yf + y0 as f32);
    Some((x, y))
}

pub(super) fn qsc_x2s(x: f64, y: f64) -> Option<(f64, f64)> {
    const TOL: f64 = 1e-12;
    const SQRT2INV: f64 = std::f64::consts::FRAC_1_SQRT_2;
    let (face, xf, yf) = locate(x / HALF_FACE, y / HALF_FACE)?;
    let direct = xf.abs() > yf.abs();
    let (a, b) = if direct { (xf, yf) } else { (yf, xf) };
    let (omega, tau, zeco) = if a == 0.0 {
        (0.0, 1.0, 0.0)
    } else {
        let (sinw, cosw) = sincosd(15.0 * b / a);
        let omega = sinw / (cosw - SQRT2INV);
        let tau = 1.0 + omega * omega;
        (omega, tau, a * a * (1.0 - 1.0 / (1.0 + tau).sqrt()))
    };
    let (zeta, w) = if 1.0 - zeco < -1.0 {
        if 1.0 - zeco < -1.0 - TOL {
            return None;
        }
        (-1.0, 0.0)
    } else {
        (1.0 - zeco, (zeco * (2.0 - zeco) / tau).sqrt())
    };
    // Signed in-face components: `u` along the dominant face axis, `v = u·ω` along the other.
    let sgn = |v: f64, cond: bool| if cond { -v } else { v };
    let (l, m, n) = match face {
        1 => {
            if direct {
                let m = sgn(w, xf < 0.0);
                (zeta, m, m * omega)
            } else {
                let n = sgn(w, yf < 0.0);
                (zeta, n * omega, n)
            }
        }
        2 => {
            if direct {
                let l = sgn(w, xf > 0.0);
                (l, zeta, -l * omega)
            } else {
                let n = sgn(w, yf < 0.0);
                (-n * omega, zeta, n)
            }
        }
        3 => {
            if direct {
                let m = sgn(w, xf > 0.0);
                (-zeta, m, -m * omega)
            } else {
                let n = sgn(w, yf < 0.0);
                (-zeta, -n * omega, n)
            }
        }
        4 => {
            if direct {
                let l = sgn(w, xf < 0.0);
                (l, -zeta, l * omega)
            } else {
                let n = sgn(w, yf < 0.0);
                (n * omega, -zeta, n)
            }
        }
        5 => {
            if direct {
                let m = sgn(w, xf < 0.0);
                (m * omega, m, -zeta)
            } else {
                let l = sgn(w, yf < 0.0);
                (l, l * omega, -zeta)
            }
        }
        _ => {
            if direct {
                let m = sgn(w, xf < 0.0);
                (-m * omega, m, zeta)
            } else {
                let l = sgn(w, yf > 0.0);
                (l, -l * omega, zeta)
            }
        }
    };
    Some(to_native(l, m, n))
}

pub(super) fn qsc_s2x(phi: f64, theta: f64) -> Option<(f64, f64)> {
    use std::f64::consts::{FRAC_PI_2, PI};
    const TOL: f64 = 1e-12;
    if theta.abs() == 90.0 {
        return Some((0.0, (2.0 * HALF_FACE).copysign(theta)));
    }
    let (l, m, n) = direction(phi, theta);
    let (face, zeta) = face_of(l, m, n);
    let mut zeco = 1.0 - zeta;
    if zeco < 1.0e-8 {
        // Small-angle form of 1 − ζ near a face centre.
        let t = theta.to_radians();
        let p = m.atan2(l);
        zeco = match face {
            1 => (p * p + t * t) / 2.0,
            2 => ((p - FRAC_PI_2).powi(2) + t * t) / 2.0,
            3 => ((p - PI.copysign(p)).powi(2) + t * t) / 2.0,
            4 => ((p + FRAC_PI_2).powi(2) + t * t) / 2.0,
            5 => (theta + 90.0).to_radians().powi(2) / 2.0,
            _ => (90.0 - theta).to_radians().powi(2) / 2.0,
        };
    }
    let (xi, eta, x0, y0) = face_coords(face, l, m, n);
    let along = |num: f64, den: f64, sign: f64| -> (f64, f64) {
        let omega = num / den;
        let tau = 1.0 + omega * omega;
        let major = sign * (zeco / (1.0 - 1.0 / (1.0 + tau).sqrt())).sqrt();
        let minor = (major / 15.0) * (atand(omega) - asind(omega / (tau + tau).sqrt()));
        (major, minor)
    };
    let (xf, yf) = if xi == 0.0 && eta == 0.0 {
        (0.0, 0.0)
    } else if -xi > eta.abs() {
        along(eta, xi, -1.0)
    } else if xi > eta.abs() {
        along(eta, xi, 1.0)
    } else if -eta >= xi.abs() {
        let (yf, xf) = along(xi, eta, -1.0);
        (xf, yf)
    } else if eta >= xi.abs() {
        let (yf, xf) = along(xi, eta, 1.0);
        (xf, yf)
    } else {
        (0.0, 0.0)
    };
    let xf = clamp_face(xf, TOL)?;
    let yf = clamp_face(yf, TOL)?;
    Some((HALF_FACE * (xf + x0), HALF_FACE * (yf + y0)))
}
