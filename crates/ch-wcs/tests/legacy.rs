//! Deprecated, AIPS-era and non-standard header forms give astropy's coordinates (values from
//! `tests/data/make_legacy.py` → `tests/data/legacy.json`), and every repair is reported in
//! `Wcs::warnings` where astropy reported one.

use std::path::PathBuf;

use ch_wcs::{Frame, Wcs};
use serde_json::Value;

/// World agreement (degrees); WCSLIB and ch-wcs differ by rounding only.
const WORLD_TOL: f64 = 1e-9;
const PIXEL_TOL: f64 = 1e-7;

fn cases() -> Vec<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/legacy.json");
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("legacy.json")).expect("json");
    all["cases"].as_array().expect("cases").clone()
}

fn cards_of(case: &Value) -> Vec<(String, String)> {
    case["cards"]
        .as_array()
        .expect("cards")
        .iter()
        .map(|c| {
            (
                c[0].as_str().expect("k").to_string(),
                c[1].as_str().expect("v").to_string(),
            )
        })
        .collect()
}

fn pair(v: &Value) -> (f64, f64) {
    (v[0].as_f64().expect("number"), v[1].as_f64().expect("number"))
}

#[test]
fn legacy_forms_match_astropy() {
    let mut failures = Vec::new();
    for case in cases() {
        let name = case["name"].as_str().expect("name");
        let cards = cards_of(&case);
        let latitude_first = cards.iter().any(|(k, v)| k == "CTYPE1" && v.contains("DEC"));
        let wcs = match Wcs::from_cards(cards.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            Ok(w) => w,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        for (i, px) in case["pixels"].as_array().expect("pixels").iter().enumerate() {
            let (x, y) = pair(px);
            let (a, b) = pair(&case["world"][i]);
            let want = if latitude_first { (b, a) } else { (a, b) };
            match wcs.pixel_to_world(x, y) {
                Some(got) if (got.0 - want.0).abs() <= WORLD_TOL && (got.1 - want.1).abs() <= WORLD_TOL => {}
                got => failures.push(format!("{name}: p2w({x}, {y}) = {got:?}, astropy {want:?}")),
            }
            match wcs.world_to_pixel(want.0, want.1) {
                Some(got) if (got.0 - x).abs() <= PIXEL_TOL && (got.1 - y).abs() <= PIXEL_TOL => {}
                got => failures.push(format!("{name}: w2p{want:?} = {got:?}, pixel ({x}, {y})")),
            }
        }
        if case["astropy_warned"] == true && wcs.warnings().is_empty() {
            failures.push(format!("{name}: astropy warned, ch-wcs did not"));
        }
        let equinox = case["equinox"].as_f64();
        let frame_ok = match (case["radesys"].as_str(), wcs.frame()) {
            (Some("ICRS"), Some(Frame::Icrs)) | (Some(""), Some(Frame::Galactic)) => true,
            (Some("FK5"), Some(Frame::Fk5 { equinox: e })) => Some(*e) == equinox,
            (Some("FK4"), Some(Frame::Fk4 { equinox: e })) => Some(*e) == equinox,
            _ => false,
        };
        if !frame_ok {
            failures.push(format!(
                "{name}: frame {:?}, astropy {} {equinox:?}",
                wcs.frame(),
                case["radesys"]
            ));
        }
        let date = case["dateobs"].as_str().filter(|d| !d.is_empty());
        if wcs.observation().date_obs.as_deref() != date {
            failures.push(format!(
                "{name}: DATE-OBS {:?}, astropy {date:?}",
                wcs.observation().date_obs
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn warnings_name_what_was_repaired() {
    let find = |name: &str| {
        let case = cases().into_iter().find(|c| c["name"] == name).expect("case");
        let cards = cards_of(&case);
        Wcs::from_cards(cards.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .expect("wcs")
            .warnings()
            .join("\n")
    };
    assert!(find("pc_aips_form").contains("PCiiijjj"));
    assert!(find("projp_sin").contains("PROJP1"));
    assert!(find("radecsys_epoch_fk4").contains("RADECSYS"));
    assert!(find("date_obs_ddmmyy").contains("1994-03-12"));
    let junk = find("junk_auxiliary_values");
    for keyword in ["EQUINOX", "LONPOLE", "LATPOLE", "MJD-OBS"] {
        assert!(junk.contains(keyword), "{keyword} in {junk}");
    }
    assert!(find("crota1_only_is_ignored").contains("CROTA1"));
    assert!(find("galactic_car_projp").contains("'Degrees'"));
}
