//! Property tests: round trips through every projection, and no panics on arbitrary headers.

use std::path::PathBuf;
use std::sync::OnceLock;

use ch_wcs::{Wcs, WcsError};
use proptest::prelude::*;

/// The 1904-66 headers (one per projection) except CSC, whose forward and inverse are
/// independent polynomial fits that agree only to about 1e-3 pixel.
fn exact_projection_headers() -> &'static Vec<(String, Wcs)> {
    static HEADERS: OnceLock<Vec<(String, Wcs)>> = OnceLock::new();
    HEADERS.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("tests/data is readable") {
            let path = entry.expect("directory entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if name.starts_with("1904-66_") && !name.contains("CSC") {
                let text = std::fs::read_to_string(&path).expect("header is readable");
                out.push((name, Wcs::from_header_text(&text).expect("header builds")));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    })
}

fn sky_offset(a: (f64, f64), b: (f64, f64)) -> f64 {
    let dlon = (a.0 - b.0 + 540.0).rem_euclid(360.0) - 180.0;
    (dlon * a.1.to_radians().cos()).abs().max((a.1 - b.1).abs())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Every pixel that has a sky position maps back to itself.
    #[test]
    fn pixel_world_pixel_round_trip(x in -200.0f64..400.0, y in -200.0f64..400.0) {
        for (name, wcs) in exact_projection_headers() {
            if let Some((lon, lat)) = wcs.pixel_to_world(x, y) {
                prop_assert!((0.0..360.0).contains(&lon) && (-90.0..=90.0).contains(&lat), "{name}: {lon} {lat}");
                let back = wcs.world_to_pixel(lon, lat);
                prop_assert!(back.is_some(), "{name}: ({x}, {y}) -> ({lon}, {lat}) has no pixel");
                if let Some((bx, by)) = back {
                    prop_assert!((bx - x).abs() < 1e-6 && (by - y).abs() < 1e-6,
                        "{name}: ({x}, {y}) -> ({lon}, {lat}) -> ({bx}, {by})");
                }
            }
        }
    }

    /// Every sky position that has a pixel maps back to itself.
    #[test]
    fn world_pixel_world_round_trip(lon in 0.0f64..360.0, lat in -89.9f64..89.9) {
        for (name, wcs) in exact_projection_headers() {
            if let Some((x, y)) = wcs.world_to_pixel(lon, lat) {
                // Far outside the image the pixel grid itself limits precision.
                let tol = 1e-9 * (1.0 + x.abs().max(y.abs()) * 1e-3);
                match wcs.pixel_to_world(x, y) {
                    Some(w) => prop_assert!(sky_offset(w, (lon, lat)) < tol.max(1e-9),
                        "{name}: ({lon}, {lat}) -> ({x}, {y}) -> {w:?}"),
                    None => prop_assert!(false, "{name}: ({lon}, {lat}) -> ({x}, {y}) has no sky position"),
                }
            }
        }
    }

    /// Random values for the keywords the WCS reads never cause a panic, and whatever is built
    /// answers queries with finite values or `None`.
    #[test]
    fn arbitrary_cards_never_panic(
        cards in prop::collection::vec((keyword(), value()), 0..24),
        probe in (any::<f64>(), any::<f64>()),
    ) {
        let pairs: Vec<(&str, &str)> = cards.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        exercise(Wcs::from_cards(pairs.iter().copied()), probe);
        exercise(Wcs::from_cards_with_key(pairs.iter().copied(), Some('A')), probe);
    }

    /// A valid header in every projection, with some keywords replaced by random values.
    #[test]
    fn perturbed_headers_never_panic(
        code in prop::sample::select(ch_wcs::SUPPORTED_PROJECTIONS.to_vec()),
        overrides in prop::collection::vec((numeric_keyword(), number()), 0..6),
        probe in (-1e4f64..1e4, -1e4f64..1e4),
        lonlat in (-720.0f64..720.0, -100.0f64..100.0),
    ) {
        let ctype1 = format!("'RA---{code}'");
        let ctype2 = format!("'DEC--{code}'");
        let mut cards: Vec<(String, String)> = vec![
            ("CTYPE1".into(), ctype1), ("CTYPE2".into(), ctype2), ("CRVAL1".into(), "10".into()),
            ("CRVAL2".into(), "-30".into()), ("CRPIX1".into(), "50".into()), ("CRPIX2".into(), "50".into()),
            ("CDELT1".into(), "-0.5".into()), ("CDELT2".into(), "0.5".into()), ("PV2_1".into(), "45".into()),
            ("PV2_2".into(), "25".into()),
        ];
        cards.extend(overrides);
        let pairs = cards.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        if let Ok(wcs) = Wcs::from_cards(pairs) {
            exercise(Ok(wcs.clone()), probe);
            if let Some((x, y)) = wcs.world_to_pixel(lonlat.0, lonlat.1) {
                prop_assert!(x.is_finite() && y.is_finite());
            }
        }
    }

    /// Arbitrary header text never causes a panic.
    #[test]
    fn arbitrary_header_text_never_panics(text in ".{0,400}", key in prop::option::of(any::<char>())) {
        let _ = Wcs::from_header_text(&text);
        let _ = Wcs::from_header_text_with_key(&text, key);
    }
}

fn exercise(result: Result<Wcs, WcsError>, (a, b): (f64, f64)) {
    let Ok(wcs) = result else { return };
    for (x, y) in [
        (a, b),
        (0.0, 0.0),
        (a % 1e4, b % 1e4),
        (f64::NAN, 1.0),
        (f64::INFINITY, 0.0),
    ] {
        if let Some((lon, lat)) = wcs.pixel_to_world(x, y) {
            assert!(lon.is_finite() && lat.is_finite());
            let _ = wcs.world_to_pixel(lon, lat);
        }
        if let Some((px, py)) = wcs.world_to_pixel(x, y) {
            assert!(px.is_finite() && py.is_finite());
        }
        let _ = wcs.pixel_to_galactic(x, y);
        if let Some(v) = wcs.spectral().and_then(|s| s.pixel_to_world(x)) {
            assert!(v.is_finite());
            let _ = wcs.spectral().map(|s| s.world_to_pixel(v));
        }
        if let Some(s) = wcs.stokes() {
            let _ = s.pixel_to_stokes(x);
        }
    }
    let _ = serde_json::to_string(&wcs.summary());
}

fn numeric_keyword() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "CRVAL1", "CRVAL2", "CDELT1", "CDELT2", "CD1_1", "CD2_2", "CD1_2", "PC1_2", "CROTA2", "PV2_0", "PV2_1",
        "PV2_2", "PV2_3", "PV2_4", "PV2_5", "PV1_0", "PV1_1", "PV1_2", "PV1_3", "PV1_4", "LONPOLE", "LATPOLE",
    ])
    .prop_map(String::from)
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => prop::sample::select(vec![0.0, -0.0, 1.0, -1.0, 90.0, -90.0, 180.0, -180.0, 45.0, 1e-300, 1e300])
            .prop_map(|v: f64| format!("{v:E}")),
        3 => (-200.0f64..200.0).prop_map(|v| format!("{v:E}")),
    ]
}

fn keyword() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        "CTYPE1", "CTYPE2", "CTYPE3", "CTYPE1A", "CTYPE2A", "CRVAL1", "CRVAL2", "CRVAL3", "CRPIX1", "CRPIX2", "CDELT1",
        "CDELT2", "CDELT3", "CD1_1", "CD1_2", "CD2_1", "CD2_2", "PC1_1", "PC1_2", "PC2_1", "PC2_2", "CROTA2", "CUNIT1",
        "CUNIT2", "CUNIT3", "PV2_1", "PV2_2", "PV2_3", "PV2_0", "PV1_0", "PV1_1", "PV1_2", "PV1_3", "PV1_4", "LONPOLE",
        "LATPOLE", "RADESYS", "EQUINOX", "RESTFRQ", "RESTWAV", "NAXIS", "WCSAXES", "A_ORDER", "B_ORDER", "A_2_0",
        "B_0_2", "AP_ORDER", "BP_ORDER", "VELREF", "SPECSYS", "PC001001", "CD99_99", "CTYPE99", "WCSAXESA",
    ])
    .prop_map(String::from);
    prop_oneof![4 => fixed, 1 => "[A-Z0-9_]{1,8}"]
}

fn value() -> impl Strategy<Value = String> {
    let ctype = prop::sample::select(vec![
        "RA---TAN",
        "DEC--TAN",
        "RA---SIN",
        "DEC--SIN",
        "GLON-CAR",
        "GLAT-CAR",
        "RA---ZPN",
        "DEC--ZPN",
        "RA---TAN-SIP",
        "DEC--TAN-SIP",
        "RA---NCP",
        "DEC--NCP",
        "RA---HPX",
        "DEC--HPX",
        "RA---COO",
        "DEC--COO",
        "RA---AZP",
        "DEC--AZP",
        "RA---SZP",
        "DEC--SZP",
        "RA---CSC",
        "DEC--CSC",
        "RA---QSC",
        "DEC--QSC",
        "RA---BON",
        "DEC--BON",
        "RA---PCO",
        "DEC--PCO",
        "FREQ",
        "VOPT-F2W",
        "VELO-F2V",
        "WAVE-V2W",
        "FELO-HEL",
        "STOKES",
        "PIXEL",
        "LAMBDA",
        "RA",
        "DEC",
        "RA---XYZ",
        "",
        "-",
        "RA-",
        "----",
        "Hz",
        "km/s",
        "arcsec",
    ])
    .prop_map(|s| format!("'{s}'"));
    let special = prop::sample::select(vec![
        "0",
        "-0",
        "1",
        "-1",
        "90",
        "-90",
        "180",
        "360",
        "1e308",
        "-1e308",
        "1e-308",
        "4",
        "20",
        "21",
        "999",
        "1.0D+02",
        "NaN",
        "inf",
        "T",
        "'",
        "''",
        "'unterminated",
        "(1,2)",
        "1e",
        "--1",
    ])
    .prop_map(String::from);
    prop_oneof![
        3 => ctype,
        3 => special,
        3 => (-400.0f64..400.0).prop_map(|v| format!("{v:E}")),
        1 => any::<f64>().prop_map(|v| v.to_string()),
        1 => ".{0,20}",
    ]
}
