//! Stretches and whole renders against astropy.visualization + matplotlib
//! (`scripts/make_expected.py` writes `tests/data/expected.json`).

use ch_render::{Colormap, Limits, RenderParams, Scale, to_rgba};
use serde_json::Value;

fn expected() -> Value {
    serde_json::from_str(include_str!("data/expected.json")).expect("valid JSON")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn scale_named(name: &str) -> Scale {
    match name {
        "linear" => Scale::Linear,
        "log" => Scale::Log,
        "sqrt" => Scale::Sqrt,
        "squared" => Scale::Squared,
        "power" => Scale::Power(2.2),
        "asinh" => Scale::Asinh,
        "sinh" => Scale::Sinh,
        "histeq" => Scale::HistEq,
        other => panic!("unknown scale {other}"),
    }
}

#[test]
fn stretches_match_astropy() {
    let e = expected();
    let x = floats(&e["x"]);
    for (name, want) in e["stretch"].as_object().expect("object") {
        let scale = scale_named(name);
        for (xi, wi) in x.iter().zip(floats(want)) {
            let got = scale.apply(*xi);
            assert!((got - wi).abs() < 1e-12, "{name}({xi}) = {got}, astropy {wi}");
        }
    }
}

#[test]
fn cubehelix_matches_matplotlib() {
    let e = expected();
    let want: Vec<u8> = floats(&e["cubehelix"]).iter().map(|&v| v as u8).collect();
    let got: Vec<u8> = Colormap::Cubehelix.lut().iter().flatten().copied().collect();
    let off = got.iter().zip(&want).filter(|(a, b)| a.abs_diff(**b) > 1).count();
    assert_eq!(off, 0, "entries more than 1 step from matplotlib's");
}

#[test]
fn renders_match_astropy_and_matplotlib() {
    let e = expected();
    let image = &e["image"];
    let width = image["width"].as_u64().expect("width") as usize;
    let height = image["height"].as_u64().expect("height") as usize;
    let values: Vec<f32> = floats(&image["values"]).iter().map(|&v| v as f32).collect();
    for case in e["renders"].as_array().expect("array") {
        let name = format!("{} {} {}", case["limits"], case["scale"], case["colormap"]);
        let limits = match case["limits"].as_str() {
            Some("minmax") => Limits::MinMax,
            Some("percentile") => Limits::Percentile { low: 1.0, high: 99.0 },
            Some("zscale") => Limits::ZScale,
            other => panic!("unknown limits {other:?}"),
        };
        let (vmin, vmax) = limits.compute(&values).expect("finite values");
        let (wmin, wmax) = (
            case["vmin"].as_f64().expect("vmin"),
            case["vmax"].as_f64().expect("vmax"),
        );
        assert!(
            (vmin - wmin).abs() < 1e-4 * wmin.abs().max(1.0) && (vmax - wmax).abs() < 1e-4 * wmax.abs().max(1.0),
            "{name}: limits ({vmin}, {vmax}) vs astropy ({wmin}, {wmax})"
        );
        let params = RenderParams {
            limits,
            scale: scale_named(case["scale"].as_str().expect("scale")),
            colormap: case["colormap"]
                .as_str()
                .expect("colormap")
                .parse()
                .expect("known colormap"),
            ..RenderParams::default()
        };
        let got = to_rgba(&values, width, height, &params).expect("renders");
        let want: Vec<u8> = floats(&case["rgba"]).iter().map(|&v| v as u8).collect();
        assert_eq!(got.len(), want.len());
        // f32 input and rounding at colormap bin edges may move a pixel by one entry; a real
        // difference in the transform moves many.
        let (got_px, want_px) = (got.as_chunks::<4>().0, want.as_chunks::<4>().0);
        let differing = got_px
            .iter()
            .zip(want_px)
            .filter(|(g, w)| g.iter().zip(*w).any(|(a, b)| a.abs_diff(*b) > 8))
            .count();
        assert!(differing <= 2, "{name}: {differing} pixels differ from matplotlib");
        let exact = got_px.iter().zip(want_px).filter(|(g, w)| g == w).count();
        assert!(
            exact * 100 >= 99 * width * height,
            "{name}: only {exact} pixels identical"
        );
    }
}
