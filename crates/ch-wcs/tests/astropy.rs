//! Compares ch-wcs with astropy.wcs (WCSLIB) on the values in `tests/data/expected.json`,
//! produced by `tests/data/make_expected.py`.
//!
//! Tolerances: world coordinates within 0.01 arcsec (2.8e-6°, measured on the sky), pixels
//! within 1e-6 px; where astropy reports NaN (outside the projection) ch-wcs must give `None`.

use std::path::PathBuf;

use ch_wcs::{Frame, Wcs};
use serde_json::Value;

const WORLD_TOL_DEG: f64 = 2.8e-6;
const PIXEL_TOL: f64 = 1e-6;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn expected() -> Value {
    let text = std::fs::read_to_string(data_dir().join("expected.json")).expect("expected.json is readable");
    serde_json::from_str(&text).expect("expected.json is valid JSON")
}

fn header_text(file: &str) -> String {
    std::fs::read_to_string(data_dir().join(file)).expect("header file is readable")
}

/// The `(keyword, raw value)` cards of a synthetic header.
fn cards_of(case: &Value) -> Vec<(String, String)> {
    let card = |c: &Value| {
        (
            c[0].as_str().expect("keyword").to_string(),
            c[1].as_str().expect("value").to_string(),
        )
    };
    case["cards"].as_array().expect("cards").iter().map(card).collect()
}

fn build(case: &Value) -> Wcs {
    if let Some(file) = case["file"].as_str() {
        return Wcs::from_header_text(&header_text(file)).expect("header builds");
    }
    let cards = cards_of(case);
    Wcs::from_cards(cards.iter().map(|(k, v)| (k.as_str(), v.as_str()))).expect("synthetic header builds")
}

fn pair(v: &Value) -> Option<(f64, f64)> {
    Some((v.get(0)?.as_f64()?, v.get(1)?.as_f64()?))
}

/// Angular offsets (along longitude scaled by cos lat, and in latitude), degrees.
fn sky_offset(a: (f64, f64), b: (f64, f64)) -> f64 {
    let dlon = (a.0 - b.0 + 540.0).rem_euclid(360.0) - 180.0;
    let dlat = a.1 - b.1;
    (dlon * a.1.to_radians().cos()).abs().max(dlat.abs())
}

fn pixel_offset(a: (f64, f64), b: (f64, f64)) -> f64 {
    (a.0 - b.0).abs().max((a.1 - b.1).abs())
}

#[test]
fn celestial_pixel_world_matches_astropy() {
    let expected = expected();
    let cases = expected["celestial"].as_array().expect("celestial cases");
    let mut failures = Vec::new();
    let mut compared = 0usize;
    let mut worst_world = 0.0f64;
    let mut worst_pixel = 0.0f64;
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let wcs = build(case);
        let projection = case["projection"].as_str().expect("projection");
        if wcs.projection() != Some(projection) {
            failures.push(format!(
                "{name}: projection {:?}, astropy {projection}",
                wcs.projection()
            ));
        }
        let pixels = case["pixels"].as_array().expect("pixels");
        for (i, px) in pixels.iter().enumerate() {
            let (x, y) = pair(px).expect("pixel pair");
            let ours = wcs.pixel_to_world(x, y);
            match (pair(&case["world"][i]), ours) {
                (None, None) => {}
                (Some(theirs), Some(ours)) => {
                    let d = sky_offset(ours, theirs);
                    worst_world = worst_world.max(d);
                    if d > WORLD_TOL_DEG {
                        failures.push(format!(
                            "{name}: p2w({x}, {y}) = {ours:?}, astropy {theirs:?} (off {d:e}°)"
                        ));
                    }
                }
                (theirs, ours) => failures.push(format!("{name}: p2w({x}, {y}) = {ours:?}, astropy {theirs:?}")),
            }
            compared += 1;
            // World → pixel of astropy's world position.
            if let (Some(world), Some(back)) = (pair(&case["world"][i]), pair(&case["pixel_back"][i])) {
                match wcs.world_to_pixel(world.0, world.1) {
                    Some(ours) => {
                        let d = pixel_offset(ours, back);
                        worst_pixel = worst_pixel.max(d);
                        if d > PIXEL_TOL {
                            failures.push(format!(
                                "{name}: w2p{world:?} = {ours:?}, astropy {back:?} (off {d:e} px)"
                            ));
                        }
                    }
                    None => failures.push(format!("{name}: w2p{world:?} = None, astropy {back:?}")),
                }
                compared += 1;
            }
        }
        if let Some(grid) = case["world_grid"].as_array() {
            for (i, w) in grid.iter().enumerate() {
                let (lon, lat) = pair(w).expect("world pair");
                let theirs = pair(&case["world_grid_pixels"][i]);
                let ours = wcs.world_to_pixel(lon, lat);
                match (theirs, ours) {
                    (None, None) => {}
                    (Some(t), Some(o)) => {
                        let d = pixel_offset(o, t);
                        // Far-away grid points land up to millions of pixels out; allow for
                        // rounding relative to that distance.
                        if d > PIXEL_TOL + 1e-11 * t.0.abs().max(t.1.abs()) {
                            failures.push(format!("{name}: w2p({lon}, {lat}) = {o:?}, astropy {t:?} (off {d:e})"));
                        }
                    }
                    (t, o) => failures.push(format!("{name}: w2p({lon}, {lat}) = {o:?}, astropy {t:?}")),
                }
                compared += 1;
            }
        }
    }
    println!(
        "{} headers, {compared} comparisons, worst world {worst_world:e}°, worst pixel {worst_pixel:e} px",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn frames_match_astropy() {
    let expected = expected();
    for case in expected["celestial"].as_array().expect("cases") {
        let wcs = build(case);
        let frame = wcs.frame().expect("celestial");
        let ok = match case["frame"].as_str().expect("frame") {
            "FK5" => matches!(frame, Frame::Fk5 { equinox } if *equinox == 2000.0),
            "ICRS" => *frame == Frame::Icrs,
            "FK4" => matches!(frame, Frame::Fk4 { equinox } if *equinox == 1950.0),
            "GLON" => *frame == Frame::Galactic,
            other => panic!("unexpected frame {other}"),
        };
        assert!(ok, "{}: frame {frame:?}, astropy {}", case["name"], case["frame"]);
    }
}

#[test]
fn spectral_axes_match_astropy() {
    let expected = expected();
    let mut failures = Vec::new();
    let cases = expected["spectral"].as_array().expect("spectral cases");
    for case in cases {
        let key = case["key"].as_str().and_then(|k| k.chars().next());
        let source = case["file"].as_str().or(case["name"].as_str()).unwrap_or_default();
        let label = format!("{source} key {key:?} {}", case["ctype"]);
        let built = match case["file"].as_str() {
            Some(file) => Wcs::from_header_text_with_key(&header_text(file), key),
            None => {
                let cards = cards_of(case);
                Wcs::from_cards(cards.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            }
        };
        let wcs = match built {
            Ok(w) => w,
            Err(e) => {
                failures.push(format!("{label}: {e}"));
                continue;
            }
        };
        let Some(spec) = wcs.spectral() else {
            failures.push(format!("{label}: no spectral axis ({:?})", wcs.notes()));
            continue;
        };
        assert_eq!(spec.axis() as u64, case["axis"].as_u64().expect("axis"), "{label}");
        assert_eq!(spec.ctype(), case["ctype"].as_str().expect("ctype"), "{label}");
        for (i, p) in case["pixels"].as_array().expect("pixels").iter().enumerate() {
            let p = p.as_f64().expect("pixel");
            let theirs = case["values"][i].as_f64();
            let ours = spec.pixel_to_world(p);
            match (theirs, ours) {
                (None, None) => {}
                (Some(t), Some(o)) => {
                    if (o - t).abs() > 1e-10 * t.abs().max(1e-300) {
                        failures.push(format!("{label}: p2w({p}) = {o:e}, astropy {t:e}"));
                    }
                }
                (t, o) => failures.push(format!("{label}: p2w({p}) = {o:?}, astropy {t:?}")),
            }
            if let (Some(t), Some(back)) = (theirs, case["pixel_back"][i].as_f64()) {
                match spec.world_to_pixel(t) {
                    Some(o) if (o - back).abs() <= 1e-6 * (1.0 + back.abs() * 1e-4) => {}
                    o => failures.push(format!("{label}: w2p({t:e}) = {o:?}, astropy {back}")),
                }
            }
        }
    }
    println!("{} spectral descriptions compared", cases.len());
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn galactic_conversion_matches_astropy() {
    let expected = expected();
    for case in expected["galactic"].as_array().expect("galactic cases") {
        let (ra, dec) = (case["ra"].as_f64().expect("ra"), case["dec"].as_f64().expect("dec"));
        let (l, b) = (case["l"].as_f64().expect("l"), case["b"].as_f64().expect("b"));
        let ours = ch_wcs::frames::equatorial_to_galactic(ra, dec);
        assert!(
            sky_offset(ours, (l, b)) < 1e-8,
            "({ra}, {dec}) -> {ours:?}, astropy ({l}, {b})"
        );
        let back = ch_wcs::frames::galactic_to_equatorial(l, b);
        assert!(
            sky_offset(back, (ra, dec)) < 1e-8,
            "({l}, {b}) -> {back:?}, expected ({ra}, {dec})"
        );
    }
}
