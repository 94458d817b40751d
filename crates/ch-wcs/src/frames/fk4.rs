//! What sets FK4 apart from FK5: its rotation relative to FK5 (Murray 1989) and the E-terms
//! of aberration folded into catalogue positions, both as astropy implements them.

use super::epoch::{DJ00, DJC, Epoch};
use super::matrix::{Mat3, Vec3, add_scaled, dot, normalised, transpose};

/// FK4 B1950.0 → FK5 J2000.0 rotation for an object at epoch B1950 (Murray 1989, A&A 218,
/// 325, eqn 28; astropy `_B1950_TO_J2000_M`).
const B1950_TO_J2000: Mat3 = [
    [
        0.999_925_679_495_687_7,
        -0.011_181_483_220_466_2,
        -0.004_859_003_815_359_2,
    ],
    [
        0.011_181_483_239_171_7,
        0.999_937_484_893_313_5,
        -0.000_027_162_594_714_2,
    ],
    [
        0.004_859_003_772_314_3,
        -0.000_027_170_293_744_0,
        0.999_988_194_602_374_2,
    ],
];

/// Rate of change of [`B1950_TO_J2000`] per Julian century, in units of 1e-6, because FK4 is
/// a rotating system (Murray 1989 eqn 29; astropy `_FK4_CORR`).
const FK4_CORR: Mat3 = [
    [-0.002_645_526_2, -1.153_991_868_9, 2.111_134_619_0],
    [1.154_062_816_1, -0.012_904_299_7, 0.023_602_147_8],
    [-2.111_297_904_8, -0.005_602_444_8, 0.010_258_773_4],
];

/// FK4-NO-E (B1950.0) → FK5 (J2000.0) for an observation time `obstime` (astropy
/// `_fk4_B_matrix`): `B1950_TO_J2000 + FK4_CORR·T`, T in Julian centuries from the Julian
/// epoch 1950.0 (`(obstime.jyear − 1950) / 100`).
pub(super) fn fk4_to_fk5(obstime: &Epoch) -> Mat3 {
    let t = (obstime.jyear() - 1950.0) / 100.0;
    add_scaled(&B1950_TO_J2000, 1e-6 * t, &FK4_CORR)
}

/// [`fk4_to_fk5`] transposed, as astropy's `fk5_to_fk4_no_e` uses it.
pub(super) fn fk5_to_fk4(obstime: &Epoch) -> Mat3 {
    transpose(&fk4_to_fk5(obstime))
}

/// Mean obliquity of the ecliptic, IAU 1976 (Lieske et al. 1977), radians (`eraObl80`,
/// called by astropy with the whole Julian date as its first argument).
fn obliquity_1980(jd: f64) -> f64 {
    let t = (jd - DJ00) / DJC;
    (84_381.448 + (-46.8150 + (-0.000_59 + 0.001_813 * t) * t) * t) * (std::f64::consts::PI / (180.0 * 3600.0))
}

/// The E-terms of aberration vector for an FK4 equinox (astropy `fk4_e_terms`): constant of
/// aberration k = 0.0056932° (Explanatory Supplement, Seidelmann 2005), the eccentricity of the
/// Earth's orbit and the mean longitude of perigee of the solar orbit as polynomials in Julian
/// centuries since B1950.0 (Explanatory Supplement 1992), and the IAU 1976 obliquity.
fn e_terms(equinox: &Epoch) -> Vec3 {
    let k = 0.005_693_2_f64;
    let t = (equinox.jd() - Epoch::b1950().jd()) / 36_525.0;
    let ek = k.to_radians() * ((-0.000_000_126 * t - 0.000_041_93) * t + 0.016_730_11);
    let g = ((((0.012 * t + 1.65) * t + 6_190.67) * t + 1_015_489.951) / 3600.0).to_radians();
    let minus_ek_cos_g = -ek * g.cos();
    let o = obliquity_1980(equinox.jd());
    [ek * g.sin(), minus_ek_cos_g * o.cos(), minus_ek_cos_g * o.sin()]
}

/// FK4 → FK4-NO-E at the same equinox: `r − e + (e·r) r`, renormalised (astropy
/// `fk4_to_fk4_no_e`). `r` is a unit vector.
pub(super) fn remove_e_terms(r: &Vec3, equinox: &Epoch) -> Vec3 {
    let e = e_terms(equinox);
    let er = dot(&e, r);
    normalised(&[
        r[0] - e[0] + er * r[0],
        r[1] - e[1] + er * r[1],
        r[2] - e[2] + er * r[2],
    ])
}

/// FK4-NO-E → FK4 at the same equinox: astropy's fixed 10 iterations of
/// `r = (e + r₀) / (1 + e·r)`, renormalised (`fk4_no_e_to_fk4`). `r0` is a unit vector.
pub(super) fn add_e_terms(r0: &Vec3, equinox: &Epoch) -> Vec3 {
    let e = e_terms(equinox);
    let start = [e[0] + r0[0], e[1] + r0[1], e[2] + r0[2]];
    let mut r = *r0;
    for _ in 0..10 {
        let d = 1.0 + dot(&e, &r);
        r = [start[0] / d, start[1] / d, start[2] / d];
    }
    normalised(&r)
}

#[cfg(test)]
mod tests {
    use super::super::matrix::{lon_lat, unit_vector};
    use super::*;

    #[test]
    fn e_terms_are_about_a_third_of_an_arcsecond() {
        let e = e_terms(&Epoch::b1950());
        let size = dot(&e, &e).sqrt().to_degrees() * 3600.0;
        assert!((0.3..0.4).contains(&size), "{size}″");
    }

    #[test]
    fn adding_undoes_removing() {
        let b1900 = Epoch::besselian(1900.0);
        for (lon, lat) in [(10.0, 20.0), (200.0, -80.0), (359.0, 0.0)] {
            let r = unit_vector(lon, lat);
            let (l2, b2) = lon_lat(&add_e_terms(&remove_e_terms(&r, &b1900), &b1900));
            assert!(((l2 - lon + 540.0).rem_euclid(360.0) - 180.0).abs() < 1e-11, "{l2}");
            assert!((b2 - lat).abs() < 1e-11, "{b2}");
        }
    }
}
