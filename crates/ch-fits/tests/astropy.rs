//! The crate against astropy/numpy: `tests/data/expected.json` is written by
//! `tests/data/make_expected.py` from the files next to it.

use std::path::PathBuf;

use ch_fits::region::Region;
use ch_fits::stats::{self, BinScale, Stats};
use ch_fits::{Fits, FitsError, HduKind, Shape, Value};
use serde_json::Value as Json;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("data")
}

fn load(name: &str) -> Fits<'static> {
    let bytes = std::fs::read(data_dir().join(name)).expect("read test file");
    Fits::from_vec(bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn expected() -> Json {
    let text = std::fs::read_to_string(data_dir().join("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("valid json")
}

#[track_caller]
fn close(what: &str, got: f64, want: f64, scale: f64) {
    let tol = 1e-6 * got.abs().max(want.abs()) + 1e-9 * scale + 1e-300;
    assert!((got - want).abs() <= tol, "{what}: got {got}, astropy {want}");
}

fn num(j: &Json) -> f64 {
    j.as_f64().expect("number")
}

fn kind_name(k: HduKind) -> &'static str {
    match k {
        HduKind::Primary => "primary",
        HduKind::Image => "image",
        HduKind::BinTable => "bintable",
        HduKind::Table => "table",
        HduKind::CompressedImage => "compressed_image",
        HduKind::RandomGroups => "random_groups",
        HduKind::Other => "other",
    }
}

#[test]
fn hdu_listing_matches_astropy() {
    let exp = expected();
    for (name, file) in exp["files"].as_object().expect("files") {
        let fits = load(name);
        let hdus = file["hdus"].as_array().expect("hdus");
        assert_eq!(fits.hdus().len(), hdus.len(), "{name}: HDU count");
        for (hdu, want) in fits.hdus().iter().zip(hdus) {
            let ctx = format!("{name} HDU {}", hdu.index());
            assert_eq!(kind_name(hdu.kind()), want["kind"], "{ctx}: kind");
            assert_eq!(
                i64::from(hdu.bitpix()),
                want["bitpix"].as_i64().expect("bitpix"),
                "{ctx}: bitpix"
            );
            let shape: Vec<u64> = want["shape"]
                .as_array()
                .expect("shape")
                .iter()
                .filter_map(Json::as_u64)
                .collect();
            assert_eq!(hdu.shape(), &shape[..], "{ctx}: shape");
            assert_eq!(hdu.extname(), want["extname"].as_str(), "{ctx}: extname");
            assert!(!hdu.info().truncated, "{ctx}: truncated");
        }
    }
}

#[test]
fn header_values_match_astropy() {
    let exp = expected();
    for (name, file) in exp["files"].as_object().expect("files") {
        let Some(headers) = file["headers"].as_object() else {
            continue;
        };
        let fits = load(name);
        for (index, values) in headers {
            let header = fits.hdu(index.parse().expect("index")).expect("hdu").header();
            for (key, want) in values.as_object().expect("values") {
                let ctx = format!("{name}[{index}] {key}");
                match want {
                    Json::String(s) => assert_eq!(header.get_str(key), Some(s.as_str()), "{ctx}"),
                    Json::Bool(b) => assert_eq!(header.get_bool(key), Some(*b), "{ctx}"),
                    Json::Number(n) if n.is_i64() => assert_eq!(header.get_i64(key), n.as_i64(), "{ctx}"),
                    Json::Number(n) => close(
                        &ctx,
                        header.get_f64(key).expect("number"),
                        n.as_f64().unwrap_or(0.0),
                        0.0,
                    ),
                    _ => {}
                }
            }
        }
    }
}

#[test]
fn special_cards() {
    let fits = load("header_cards.fits");
    let h = fits.hdu(0).expect("primary").header();
    assert!(h.cards().any(|c| c == ("CTYPE1", "'RA---TAN'")));
    assert!(matches!(h.value("CPLX"), Some(Value::Complex(_))));
    assert_eq!(h.value("UNDEF"), Some(&Value::Undefined));
    assert_eq!(h.history().collect::<Vec<_>>(), vec!["first history"]);
    assert!(h.comments().any(|c| c == "a comment"));
    assert_eq!(h.get_str("HIERARCH ESO DET CHIP NAME"), Some("CCD-44"));
    assert!(
        h.raw_value("LONGSTR")
            .is_some_and(|r| r.starts_with("'This is") && r.ends_with('\''))
    );
}

#[test]
fn forty_thousand_history_cards() {
    let start = std::time::Instant::now();
    let fits = load("history40k.fits.gz");
    assert!(fits.was_gzipped());
    let header = fits.hdu(0).expect("primary").header();
    assert_eq!(header.history().count(), 40_000);
    assert_eq!(header.history().last(), Some("step 39999 of the pipeline"));
    assert_eq!(header.get_i64("NAXIS1"), Some(3));
    assert!(start.elapsed().as_secs_f64() < 5.0, "took {:?}", start.elapsed());
}

#[test]
fn images_match_astropy() {
    let exp = expected();
    let mut checked = 0;
    for (name, file) in exp["files"].as_object().expect("files") {
        let fits = load(name);
        for want in file["images"].as_array().expect("images") {
            let hdu = want["hdu"].as_u64().expect("hdu") as usize;
            let plane = want["plane"].as_u64().expect("plane") as usize;
            let ctx = format!("{name} HDU {hdu} plane {plane}");
            let image = fits.image(hdu, plane).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            let image32 = fits.image_f32(hdu, plane).unwrap_or_else(|e| panic!("{ctx}: {e}"));
            assert_eq!(
                image.width as u64,
                want["width"].as_u64().expect("width"),
                "{ctx}: width"
            );
            assert_eq!(
                image.height as u64,
                want["height"].as_u64().expect("height"),
                "{ctx}: height"
            );
            let header = fits.hdu(hdu).expect("hdu").header();
            let magnitude = image
                .data
                .iter()
                .filter(|v| v.is_finite())
                .fold(0.0f64, |a, v| a.max(v.abs()));
            // astropy scales 8- and 16-bit integers in float32; we compute exactly in f64, so
            // allow float32 rounding relative to the data's magnitude there.
            let float32_scaled = matches!(image.bitpix, 8 | 16)
                && (header.get_f64("BSCALE").is_some_and(|v| v != 1.0)
                    || header
                        .get_f64("BZERO")
                        .is_some_and(|v| v != 32768.0 && v != -128.0 && v != 0.0));
            let scale = if float32_scaled { magnitude * 200.0 } else { magnitude };
            for s in want["samples"].as_array().expect("samples") {
                let (x, y) = (s[0].as_u64().expect("x") as usize, s[1].as_u64().expect("y") as usize);
                let got = image.get(x, y).expect("in range");
                let got32 = image32.get(x, y).expect("in range");
                match s[2].as_f64() {
                    None => assert!(got.is_nan() && got32.is_nan(), "{ctx} ({x},{y}): want NaN, got {got}"),
                    Some(v) => {
                        close(&format!("{ctx} ({x},{y})"), got, v, 0.0);
                        close(&format!("{ctx} f32 ({x},{y})"), f64::from(got32), v, 0.0);
                    }
                }
            }
            if let Some(ws) = want.get("stats") {
                check_stats(&ctx, &image, &image32, want, ws, scale);
            }
            for r in want["regions"].as_array().expect("regions") {
                let shape: Shape = serde_json::from_value(r["region"].clone()).expect("shape");
                let ctx = format!("{ctx} {shape:?}");
                let m = Region::new(shape).measure(&image, header);
                assert_eq!(
                    m.stats.count as u64,
                    r["count"].as_u64().expect("count"),
                    "{ctx}: count"
                );
                assert_eq!(
                    m.stats.nan_count as u64,
                    r["nan_count"].as_u64().expect("nan"),
                    "{ctx}: nan_count"
                );
                close(
                    &format!("{ctx}: sum"),
                    m.stats.sum,
                    num(&r["sum"]),
                    scale * m.stats.count as f64,
                );
                close(&format!("{ctx}: mean"), m.stats.mean, num(&r["mean"]), scale);
                close(&format!("{ctx}: median"), m.stats.median, num(&r["median"]), scale);
                match r.get("flux_jy") {
                    Some(f) => {
                        close(
                            &format!("{ctx}: flux"),
                            m.flux.flux_jy.unwrap_or_else(|| panic!("{ctx}: {:?}", m.flux.reason)),
                            num(f),
                            scale,
                        );
                        close(
                            &format!("{ctx}: beam"),
                            m.flux.beam_area_pixels.expect("beam"),
                            num(&r["beam_area_pixels"]),
                            0.0,
                        );
                    }
                    None => assert!(m.flux.flux_jy.is_none() && m.flux.reason.is_some(), "{ctx}: flux"),
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} planes checked");
}

fn check_stats(
    ctx: &str,
    image: &ch_fits::Image<f64>,
    image32: &ch_fits::Image<f32>,
    want: &Json,
    ws: &Json,
    scale: f64,
) {
    let s = Stats::compute(&image.data);
    assert_eq!(s.count as u64, ws["count"].as_u64().expect("count"), "{ctx}: count");
    assert_eq!(
        s.nan_count as u64,
        ws["nan_count"].as_u64().expect("nan"),
        "{ctx}: nan_count"
    );
    for (field, got) in [
        ("min", s.min),
        ("max", s.max),
        ("mean", s.mean),
        ("std", s.std),
        ("rms", s.rms),
        ("median", s.median),
    ] {
        close(&format!("{ctx}: {field}"), got, num(&ws[field]), scale);
    }
    close(&format!("{ctx}: sum"), s.sum, num(&ws["sum"]), scale * s.count as f64);
    let pairs = want["percentiles"].as_array().expect("percentiles");
    let qs: Vec<f64> = pairs.iter().map(|p| num(&p[0])).collect();
    let got = stats::percentiles(&image.data, &qs).expect("percentiles");
    for (p, g) in pairs.iter().zip(got) {
        close(&format!("{ctx}: p{}", num(&p[0])), g, num(&p[1]), scale);
    }
    let (lo, hi) = stats::zscale(&image.data).expect("zscale");
    let z = &want["zscale"];
    close(&format!("{ctx}: zscale lo"), lo, num(&z[0]), scale);
    close(&format!("{ctx}: zscale hi"), hi, num(&z[1]), scale);
    let (lo32, hi32) = stats::zscale(&image32.data).expect("zscale f32");
    close(&format!("{ctx}: zscale f32 lo"), lo32, num(&z[0]), scale);
    close(&format!("{ctx}: zscale f32 hi"), hi32, num(&z[1]), scale);
    let h = stats::histogram(&image.data, 10, None, BinScale::Linear).expect("histogram");
    let counts: Vec<u64> = want["histogram10"]["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .filter_map(Json::as_u64)
        .collect();
    assert_eq!(h.counts, counts, "{ctx}: histogram counts");
    if image.bitpix == -32 {
        // float32 data: the f32 path sees numpy's values exactly.
        let h32 = stats::histogram_f32(&image32.data, 10, None, BinScale::Linear).expect("histogram f32");
        assert_eq!(h32.counts, counts, "{ctx}: f32 histogram counts");
    }
    for (e, w) in h
        .edges
        .iter()
        .zip(want["histogram10"]["edges"].as_array().expect("edges"))
    {
        close(&format!("{ctx}: edge"), *e, num(w), scale);
    }
}

#[test]
fn m13_compressions_decode_to_the_same_image() {
    let gzip = load("m13_gzip.fits").image(1, 0).expect("gzip");
    let rice = load("m13_rice.fits").image(1, 0).expect("rice");
    assert_eq!((gzip.width, gzip.height), (300, 300));
    assert_eq!(gzip.data, rice.data);
}

#[test]
fn zero_width_and_non_images_do_not_panic() {
    let fits = load("zerowidth.fits");
    let image = fits.image(0, 0).expect("an empty image");
    assert!(image.is_empty());
    assert_eq!((image.width, image.height), (777_777_701, 0));
    assert!(matches!(fits.image(0, 1), Err(FitsError::NoSuchPlane { .. })));
    assert!(matches!(fits.image(1, 0), Err(FitsError::NotAnImage { .. })));
    assert!(matches!(fits.image(9, 0), Err(FitsError::NoSuchHdu { .. })));
    assert!(Stats::compute(&image.data).mean.is_nan());
    let groups = load("random_groups.fits");
    assert!(matches!(groups.image(0, 0), Err(FitsError::Unsupported(_))));
    let multi = load("multi.fits");
    assert!(matches!(multi.image(0, 0), Err(FitsError::NotAnImage { .. })));
    assert_eq!(multi.first_image().map(|h| h.index()), Some(1));
}

#[test]
fn unsupported_and_invalid_inputs_are_errors() {
    let hcomp = load("m13_hcomp.fits");
    assert_eq!(hcomp.hdu(1).expect("hdu").kind(), HduKind::CompressedImage);
    assert_eq!(hcomp.hdu(1).expect("hdu").shape(), &[300, 300]);
    assert_eq!(
        hcomp.image(1, 0),
        Err(FitsError::UnsupportedCompression("HCOMPRESS_1".into()))
    );
    assert!(matches!(Fits::parse(b""), Err(FitsError::NotFits(_))));
    assert!(matches!(Fits::parse(&[0u8; 5760]), Err(FitsError::NotFits(_))));
    assert!(matches!(
        Fits::parse(&[0x1f, 0x8b, 8, 0, 0]),
        Err(FitsError::Decompress(_))
    ));
    let mut truncated = std::fs::read(data_dir().join("bitpix-64.fits")).expect("read");
    truncated.truncate(4000);
    let fits = Fits::parse(&truncated).expect("header is complete");
    assert!(fits.hdu(0).expect("primary").info().truncated);
    assert!(matches!(fits.image(0, 0), Err(FitsError::Truncated(_))));
    truncated.truncate(200);
    assert!(matches!(Fits::parse(&truncated), Err(FitsError::Truncated(_))));
}

#[test]
fn cube_plane_selection() {
    let fits = load("cube4d.fits");
    let shape = fits.hdu(0).expect("primary").shape().to_vec();
    assert_eq!(shape, vec![1, 4, 8, 9]);
    assert_eq!(ch_fits::plane_index(&shape, &[2, 0]), Some(2));
    assert_eq!(ch_fits::plane_index(&shape, &[0, 1]), None);
    let plane = fits.image(0, 3).expect("plane 3");
    assert_eq!((plane.width, plane.height, plane.planes), (9, 8, 4));
    assert!(matches!(fits.image(0, 4), Err(FitsError::NoSuchPlane { .. })));
}

#[test]
fn compressed_header_is_the_image_header() {
    let fits = load("m13_gzip.fits");
    let hdu = fits.hdu(1).expect("hdu");
    assert_eq!(hdu.header().get_i64("NAXIS1"), Some(300));
    assert_eq!(hdu.header().get_i64("BITPIX"), Some(16));
    assert!(!hdu.header().contains("ZCMPTYPE") && !hdu.header().contains("TFORM1"));
    assert_eq!(hdu.stored_header().get_str("ZCMPTYPE"), Some("GZIP_1"));
    assert_eq!(hdu.info().compression.as_deref(), Some("GZIP_1"));
    let json = serde_json::to_string(&fits.infos()).expect("json");
    assert!(json.contains("\"compressed_image\""));
}
