//! Precession models: IAU 2006 (for FK5 and the mean ecliptic) and Newcomb's (for FK4).
//!
//! IAU 2006 precession (Capitaine et al. 2003, A&A 412, 567 — "P03") is written in the
//! Fukushima–Williams angles of Hilton et al. 2006 (Celest. Mech. Dyn. Astron. 94, 351),
//! exactly as ERFA's `eraPfw06`, `eraObl06`, `eraFw2m`, `eraPmat06`, `eraBp06` and
//! `eraEcm06`, which astropy calls for `FK5._precession_matrix` and
//! `BarycentricMeanEcliptic`.

use super::epoch::Epoch;
use super::matrix::{Axis, Mat3, chain, mul, rotation, rotation_deg, transpose};

/// Arcseconds to radians.
const AS2R: f64 = std::f64::consts::PI / (180.0 * 3600.0);

/// Mean obliquity of the ecliptic, IAU 2006 (P03), radians (`eraObl06`).
fn obliquity_2006(t: f64) -> f64 {
    (84_381.406
        + (-46.836_769 + (-0.000_183_1 + (0.002_003_40 + (-0.000_000_576 - 0.000_000_043_4 * t) * t) * t) * t) * t)
        * AS2R
}

/// Bias-precession matrix ICRS → mean equator and equinox of `epoch`, IAU 2006
/// (`eraPmat06`): Fukushima–Williams angles γ̄, φ̄, ψ̄ (`eraPfw06`) and ε_A, combined as
/// `Rx(−ε_A)·Rz(−ψ̄)·Rx(φ̄)·Rz(γ̄)` (`eraFw2m`). The angles' polynomials are in Julian centuries
/// of TT since J2000.0, coefficients in arcseconds.
fn bias_precession(epoch: &Epoch) -> Mat3 {
    let t = epoch.centuries_since_j2000();
    let gamb = (-0.052_928
        + (10.556_378 + (0.493_204_4 + (-0.000_312_38 + (-0.000_002_788 + 0.000_000_026_0 * t) * t) * t) * t) * t)
        * AS2R;
    let phib = (84_381.412_819
        + (-46.811_016 + (0.051_126_8 + (0.000_532_89 + (-0.000_000_440 - 0.000_000_017_6 * t) * t) * t) * t) * t)
        * AS2R;
    let psib = (-0.041_775
        + (5_038.481_484 + (1.558_417_5 + (-0.000_185_22 + (-0.000_026_452 - 0.000_000_014_8 * t) * t) * t) * t) * t)
        * AS2R;
    let epsa = obliquity_2006(t);
    chain(&[
        rotation(-epsa, Axis::X),
        rotation(-psib, Axis::Z),
        rotation(phib, Axis::X),
        rotation(gamb, Axis::Z),
    ])
}

/// The precession-only matrix J2000 → `epoch` of `eraBp06` (its `rp`): the bias-precession
/// matrix times the transpose of the frame bias, which `eraBp06` takes as the bias-precession
/// matrix at J2000.0.
fn precession_2006(epoch: &Epoch) -> Mat3 {
    let bias = bias_precession(&Epoch::J2000);
    mul(&bias_precession(epoch), &transpose(&bias))
}

/// FK5 precession from the mean equinox `from` to `to` (astropy `FK5._precession_matrix`:
/// `bp06(to).rp · bp06(from).rpᵀ`, through J2000.0 without frame bias).
pub(super) fn fk5(from: &Epoch, to: &Epoch) -> Mat3 {
    mul(&precession_2006(to), &transpose(&precession_2006(from)))
}

/// ICRS → mean ecliptic and equinox of `equinox` (`eraEcm06`: `Rx(ε_A) ·` bias-precession),
/// astropy's `_mean_ecliptic_rotation_matrix` for `BarycentricMeanEcliptic`.
pub(super) fn ecliptic(equinox: &Epoch) -> Mat3 {
    let eps = obliquity_2006(equinox.centuries_since_j2000());
    mul(&rotation(eps, Axis::X), &bias_precession(equinox))
}

/// FK4 precession with Newcomb's angles ζ, z, θ from the mean equinox `from` to `to`, as
/// astropy's `FK4NoETerms._precession_matrix`: times in thousands of tropical years since
/// B1850 (`Time.byear`), polynomial coefficients in arcseconds, `Rz(−z)·Ry(θ)·Rz(−ζ)`. Note
/// that the product of the matrices `a → b` and `b → a` is the identity only to ~1e-12.
pub(super) fn newcomb(from: &Epoch, to: &Epoch) -> Mat3 {
    let t1 = (from.byear() - 1850.0) / 1000.0;
    let dt = (to.byear() - 1850.0) / 1000.0 - t1;
    let dt_over_3600 = dt / 3600.0;
    let zeta1 = (0.060 * t1 + 139.720) * t1 + 23_035.545;
    let zeta2 = -0.27 * t1 + 30.240;
    let zeta = ((17.995 * dt + zeta2) * dt + zeta1) * dt_over_3600;
    let z2 = 109.480 + 0.39 * t1;
    let z = ((18.325 * dt + z2) * dt + zeta1) * dt_over_3600;
    let theta1 = (-0.37 * t1 - 85.29) * t1 + 20_051.12;
    let theta2 = -0.37 * t1 - 42.65;
    let theta = ((-41.8 * dt + theta2) * dt + theta1) * dt_over_3600;
    chain(&[
        rotation_deg(-z, Axis::Z),
        rotation_deg(theta, Axis::Y),
        rotation_deg(-zeta, Axis::Z),
    ])
}

#[cfg(test)]
mod tests {
    use super::super::matrix::{apply, lon_lat, unit_vector};
    use super::*;

    #[test]
    fn identity_at_the_reference_epochs() {
        let p = fk5(&Epoch::J2000, &Epoch::J2000);
        let n = newcomb(&Epoch::b1950(), &Epoch::b1950());
        for i in 0..3 {
            for j in 0..3 {
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((p[i][j] - want).abs() < 1e-15 && (n[i][j] - want).abs() < 1e-15);
            }
        }
    }

    #[test]
    fn ecliptic_pole_at_j2000() {
        // The ecliptic pole lies at RA 270°, Dec 90° − ε (ε = 84381.406″), up to the frame
        // bias and the ICRS origin's offset from the equinox (≈ 50 mas).
        let m = ecliptic(&Epoch::J2000);
        let pole = apply(&transpose(&m), &[0.0, 0.0, 1.0]);
        let (ra, dec) = lon_lat(&pole);
        assert!(
            (ra + 90.0).abs() < 1e-4 && (dec - (90.0 - 84_381.406 / 3600.0)).abs() < 1e-5,
            "{ra} {dec}"
        );
        let back = apply(&m, &unit_vector(ra, dec));
        assert!((lon_lat(&back).1 - 90.0).abs() < 1e-9);
    }

    #[test]
    fn general_precession_over_a_century() {
        // IAU 2006 general precession in longitude p_A = 5028.796195″·t + 1.1054348″·t²
        // (Capitaine et al. 2003): after a century the equinox has moved ≈ 5029.9″ westwards
        // along the ecliptic (less the small motion of the ecliptic itself).
        let j2100 = Epoch::julian(2100.0);
        let equinox = apply(&transpose(&fk5(&Epoch::J2000, &j2100)), &[1.0, 0.0, 0.0]);
        let (lon, _) = lon_lat(&apply(&ecliptic(&Epoch::J2000), &equinox));
        let bias = apply(&ecliptic(&Epoch::J2000), &[1.0, 0.0, 0.0]);
        let lon = lon - lon_lat(&bias).0;
        assert!((lon + 5_029.901_6 / 3600.0).abs() < 5e-4, "{lon}");
    }
}
