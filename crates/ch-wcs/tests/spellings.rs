//! Property tests for real-world header spellings: any case or plural of an angle unit, and any
//! non-numeric text in an auxiliary keyword, give the canonical header's coordinates (with a
//! warning), never an error or a different answer.

use ch_wcs::Wcs;
use proptest::prelude::*;

fn header(extra: &[(&str, &str)], cdelt: f64) -> Vec<(String, String)> {
    let mut cards: Vec<(String, String)> = [
        ("NAXIS", "3".to_string()),
        ("CTYPE3", "'FREQ'".to_string()),
        ("CRVAL3", "1.4E9".to_string()),
        ("CDELT3", "1E6".to_string()),
        ("CTYPE1", "'RA---ZEA'".to_string()),
        ("CTYPE2", "'DEC--ZEA'".to_string()),
        ("CRVAL1", format!("{}", 201.365 * (cdelt / 0.01))),
        ("CRVAL2", format!("{}", -43.019 * (cdelt / 0.01))),
        ("CRPIX1", "64.5".to_string()),
        ("CRPIX2", "40.5".to_string()),
        ("CDELT1", format!("{}", -cdelt)),
        ("CDELT2", format!("{cdelt}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        cards.retain(|(key, _)| key != k);
        cards.push(((*k).to_string(), (*v).to_string()));
    }
    cards
}

fn build(cards: &[(String, String)]) -> Result<Wcs, ch_wcs::WcsError> {
    Wcs::from_cards(cards.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

fn same_coordinates(a: &Wcs, b: &Wcs) -> Result<(), TestCaseError> {
    for (x, y) in [(0.0, 0.0), (63.5, 39.5), (127.0, 79.0), (10.25, 70.5)] {
        let (p, q) = (a.pixel_to_world(x, y), b.pixel_to_world(x, y));
        let (p, q) = (p.expect("world"), q.expect("world"));
        prop_assert!(
            (p.0 - q.0).abs() < 1e-9 && (p.1 - q.1).abs() < 1e-9,
            "({x}, {y}): {p:?} vs {q:?}"
        );
    }
    Ok(())
}

/// `word` with each letter's case chosen by the bits of `mask`.
fn recase(word: &str, mask: u64) -> String {
    word.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 64) & 1 == 1 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
}

const ANGLES: [(&str, f64); 12] = [
    ("deg", 0.01),
    ("degree", 0.01),
    ("degrees", 0.01),
    ("degs", 0.01),
    ("arcmin", 0.6),
    ("arcmins", 0.6),
    ("arcminutes", 0.6),
    ("arcsec", 36.0),
    ("arcsecs", 36.0),
    ("arcseconds", 36.0),
    ("rad", 0.01 * std::f64::consts::PI / 180.0),
    ("radians", 0.01 * std::f64::consts::PI / 180.0),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_spelling_of_an_angle_unit_reads_the_same(which in 0..ANGLES.len(), mask in any::<u64>()) {
        let (word, cdelt) = ANGLES[which];
        let spelled = recase(word, mask);
        let quoted = format!("'{spelled}'");
        let canonical = build(&header(&[], 0.01)).expect("canonical");
        let written = build(&header(&[("CUNIT1", &quoted), ("CUNIT2", &quoted)], cdelt))
            .map_err(|e| TestCaseError::fail(format!("{spelled}: {e}")))?;
        same_coordinates(&canonical, &written)?;
        let standard = matches!(spelled.as_str(), "deg" | "arcmin" | "arcsec" | "rad");
        prop_assert_eq!(written.warnings().is_empty(), standard, "{}: {:?}", spelled, written.warnings());
    }

    #[test]
    fn unparseable_auxiliary_values_are_ignored_with_a_warning(
        which in 0..9usize,
        text in "[A-Za-z?][A-Za-z0-9 :?.+-]{0,12}",
    ) {
        let key = ["EQUINOX", "EPOCH", "LONPOLE", "LATPOLE", "RESTFRQ", "MJD-OBS", "DATE-OBS", "PV2_1", "VELREF"][which];
        let quoted = format!("'{text}'");
        let canonical = build(&header(&[], 0.01)).expect("canonical");
        let written = build(&header(&[(key, &quoted)], 0.01))
            .map_err(|e| TestCaseError::fail(format!("{key} = {quoted}: {e}")))?;
        same_coordinates(&canonical, &written)?;
        prop_assert!(written.warnings().iter().any(|w| w.contains(key)), "{key}: {:?}", written.warnings());
    }

    #[test]
    fn a_bad_core_keyword_is_an_error_naming_it(which in 0..5usize, text in "[A-Za-z?][A-Za-z0-9?]{0,8}") {
        let key = ["CRVAL1", "CRPIX2", "CDELT1", "CUNIT2", "CD1_1"][which];
        let value = if key == "CUNIT2" { format!("'x{text}'") } else { format!("'{text}'") };
        match build(&header(&[(key, &value)], 0.01)) {
            Ok(w) => prop_assert!(false, "{key} = {value} accepted: {:?}", w.warnings()),
            Err(e) => prop_assert!(e.to_string().contains(key), "{key}: {e}"),
        }
    }
}

#[test]
fn spectral_unit_spellings_are_translated_with_a_warning() {
    let base = |unit: &str, crval: &str, cdelt: &str, ctype: &str| {
        let quoted = format!("'{unit}'");
        let ctype = format!("'{ctype}'");
        let cards = [
            ("CTYPE1", ctype.as_str()),
            ("CRVAL1", crval),
            ("CDELT1", cdelt),
            ("CRPIX1", "1"),
            ("CUNIT1", quoted.as_str()),
        ];
        Wcs::from_cards(cards).expect("spectral axis")
    };
    for (unit, crval, cdelt, ctype, hz_or_ms) in [
        ("MHZ", "1420.4", "0.1", "FREQ", 1.4204e9),
        ("mhz", "1420.4", "0.1", "FREQ", 1.4204e9),
        ("GHZ", "1.4204", "0.0001", "FREQ", 1.4204e9),
        ("KM/S", "12.5", "0.5", "VRAD", 12_500.0),
        ("km/sec", "12.5", "0.5", "VRAD", 12_500.0),
    ] {
        let wcs = base(unit, crval, cdelt, ctype);
        let spec = wcs.spectral().expect("spectral");
        let at_ref = spec.pixel_to_world(0.0).expect("value");
        assert!((at_ref - hz_or_ms).abs() < 1e-6 * hz_or_ms, "{unit}: {at_ref}");
        assert!(
            wcs.warnings().iter().any(|w| w.contains(unit)),
            "{unit}: {:?}",
            wcs.warnings()
        );
    }
}
