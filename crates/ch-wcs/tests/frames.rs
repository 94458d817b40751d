//! Compares `ch_wcs::frames::convert` with astropy on `tests/data/frames_astropy.json`: 30
//! positions read in each of 9 frames and converted by astropy to each of the 9 (the file
//! records astropy's version and the script that wrote it).
//!
//! Tolerance: 1e-11° (36 nano-arcseconds) on the sky for every pair — the deviations are
//! rounding (≈ 1e-13°), since the conversions replicate astropy's models and paths — far
//! inside the 1 mas that placing regions needs. Run with `--nocapture` to see the worst
//! deviation per pair. A property test checks that no input panics.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use ch_wcs::Frame;
use ch_wcs::frames::convert;
use proptest::prelude::*;
use serde_json::Value;

const TOLERANCE_DEG: f64 = 1e-11;

fn fixture() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/frames_astropy.json");
    let text = std::fs::read_to_string(path).expect("frames_astropy.json is readable");
    serde_json::from_str(&text).expect("frames_astropy.json is valid JSON")
}

/// The frame a fixture key stands for (see the fixture's `frames`).
fn frame(key: &str) -> Frame {
    match key {
        "icrs" => Frame::Icrs,
        "fk5_j2000" => Frame::Fk5 { equinox: 2000.0 },
        "fk5_j1975" => Frame::Fk5 { equinox: 1975.0 },
        "fk4_b1950" => Frame::Fk4 { equinox: 1950.0 },
        "fk4_b1900" => Frame::Fk4 { equinox: 1900.0 },
        "fk4noe_b1950" => Frame::Fk4NoE { equinox: 1950.0 },
        "galactic" => Frame::Galactic,
        "ecliptic_j2000" => Frame::Ecliptic { equinox: None },
        "supergalactic" => Frame::Supergalactic,
        other => panic!("unknown frame key {other}"),
    }
}

fn pair(v: &Value) -> (f64, f64) {
    (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
}

/// Angle between two positions in degrees (atan2 of |u×v| and u·v: exact for small angles).
fn separation(a: (f64, f64), b: (f64, f64)) -> f64 {
    let unit = |(lon, lat): (f64, f64)| {
        let (sl, cl) = lon.to_radians().sin_cos();
        let (sb, cb) = lat.to_radians().sin_cos();
        [cb * cl, cb * sl, sb]
    };
    let (u, v) = (unit(a), unit(b));
    let cross = [
        u[1] * v[2] - u[2] * v[1],
        u[2] * v[0] - u[0] * v[2],
        u[0] * v[1] - u[1] * v[0],
    ];
    let norm = (cross[0] * cross[0] + cross[1] * cross[1] + cross[2] * cross[2]).sqrt();
    norm.atan2(u[0] * v[0] + u[1] * v[1] + u[2] * v[2]).to_degrees()
}

#[test]
fn conversions_agree_with_astropy() {
    let data = fixture();
    let positions: Vec<(f64, f64)> = data["positions"].as_array().unwrap().iter().map(pair).collect();
    let results = data["results"].as_object().unwrap();
    let mut failures = Vec::new();
    let mut overall = 0.0_f64;
    eprintln!("worst deviation from astropy {} (degrees):", data["astropy"]);
    for (from_key, row) in results {
        for (to_key, expected) in row.as_object().unwrap() {
            let (from, to) = (frame(from_key), frame(to_key));
            let expected = expected.as_array().unwrap();
            assert_eq!(expected.len(), positions.len());
            let mut worst = 0.0_f64;
            for (&(lon, lat), want) in positions.iter().zip(expected) {
                let want = pair(want);
                let got = convert(&from, &to, lon, lat).unwrap();
                assert!((0.0..360.0).contains(&got.0), "{from_key} → {to_key}: lon {}", got.0);
                let off = separation(got, want);
                worst = worst.max(off);
                if off.is_nan() || off > TOLERANCE_DEG {
                    failures.push(format!(
                        "{from_key} → {to_key} ({lon}, {lat}): {got:?} vs {want:?}: {off:e}°"
                    ));
                }
            }
            overall = overall.max(worst);
            eprintln!("  {from_key:>14} → {to_key:<14} {worst:.1e}");
        }
    }
    eprintln!("overall worst {overall:.1e}°");
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn anchor_galactic_to_fk4() {
    // astropy: Galactic(l=184.6, b=-5.6) in FK4 B1950 (obstime B1950).
    let got = convert(&Frame::Galactic, &Frame::Fk4 { equinox: 1950.0 }, 184.6, -5.6).unwrap();
    assert!(
        separation(got, (83.072_919_836_397_79, 22.045_551_703_904_035)) < 1e-11,
        "{got:?}"
    );
}

/// Any frame, with equinoxes anywhere (including absurd ones).
fn any_frame() -> impl Strategy<Value = Frame> {
    let equinox = prop_oneof![1800.0..2200.0, any::<f64>()];
    prop_oneof![
        Just(Frame::Icrs),
        equinox.clone().prop_map(|equinox| Frame::Fk5 { equinox }),
        equinox.clone().prop_map(|equinox| Frame::Fk4 { equinox }),
        equinox.clone().prop_map(|equinox| Frame::Fk4NoE { equinox }),
        proptest::option::of(equinox).prop_map(|equinox| Frame::Ecliptic { equinox }),
        Just(Frame::Galactic),
        Just(Frame::Supergalactic),
        Just(Frame::Gappt),
        Just(Frame::Helioecliptic),
        "[A-Z]{1,4}".prop_map(|name| Frame::Other { name }),
    ]
}

proptest! {
    #[test]
    fn never_panics_and_stays_on_the_sphere(
        from in any_frame(),
        to in any_frame(),
        lon in prop_oneof![-720.0..720.0, any::<f64>()],
        lat in prop_oneof![-90.0..=90.0, any::<f64>()],
    ) {
        if let Ok((l, b)) = convert(&from, &to, lon, lat) {
            let sane_equinoxes = [&from, &to].iter().all(|f| match f {
                Frame::Fk5 { equinox } | Frame::Fk4 { equinox } | Frame::Fk4NoE { equinox } => {
                    (1800.0..2200.0).contains(equinox)
                }
                Frame::Ecliptic { equinox } => equinox.is_none_or(|e| (1800.0..2200.0).contains(&e)),
                _ => true,
            });
            if lon.is_finite() && lat.is_finite() && sane_equinoxes {
                prop_assert!((0.0..360.0).contains(&l), "{l}");
                prop_assert!((-90.0..=90.0).contains(&b), "{b}");
            }
        }
    }
}
