//! Metadata views and thumbnails of archive files (`?view=…`), against a local upstream
//! archive serving the FITS test files of `crates/ch-fits`.

mod real_world;

use crate::common::upstream::Upstream;
use crate::common::{Db, TestApp};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/ch-fits/tests/data");

async fn serve_file(State(up): State<Upstream>, Path(name): Path<String>) -> Response {
    up.hit(&name);
    if name.contains('/') || name.contains("..") {
        return StatusCode::NOT_FOUND.into_response();
    }
    // `real-world~x.fits` is `real-world/x.fits` (the upstream serves one path segment).
    let file = match name.strip_prefix("real-world~") {
        Some(rest) => format!("real-world/{rest}"),
        None => name,
    };
    match std::fs::read(format!("{DATA}/{file}")) {
        Ok(bytes) => bytes.into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Starts the upstream archive and the app pointed at it (source `up`).
async fn spawn() -> Option<(TestApp, Upstream)> {
    let (base, up) = crate::common::upstream::start(serve_file).await;
    let app = TestApp::spawn_with(Db::Sqlite, crate::common::upstream::source(base, 5)).await?;
    Some((app, up))
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.expect("request")
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    let res = get(app, path).await;
    assert_eq!(res.status(), 200, "{path}");
    assert_eq!(
        res.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    res.json().await.expect("JSON")
}

/// The status and the `field` of an error answer.
async fn error_of(app: &TestApp, path: &str) -> (u16, Value) {
    let res = get(app, path).await;
    let status = res.status().as_u16();
    let body: Value = res.json().await.expect("JSON error");
    (status, body["error"]["field"].clone())
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let reader = decoder.read_info().expect("valid PNG");
    let info = reader.info();
    assert_eq!(info.color_type, png::ColorType::Rgba);
    (info.width, info.height)
}

fn close(a: &Value, b: f64) -> bool {
    a.as_f64().is_some_and(|a| (a - b).abs() <= 1e-9 * b.abs().max(1.0))
}

#[tokio::test]
async fn hdus_header_and_wcs() {
    let Some((app, _up)) = spawn().await else {
        return;
    };
    let hdus = get_json(&app, "/api/fits/up/m13_gzip.fits?view=hdus").await;
    let hdus = hdus.as_array().expect("a list");
    assert_eq!(hdus.len(), 2);
    assert_eq!(hdus[1]["kind"], "compressed_image");
    assert_eq!(hdus[1]["shape"], serde_json::json!([300, 300]));

    let multi = get_json(&app, "/api/fits/up/multi.fits?view=hdus").await;
    let kinds: Vec<&str> = multi
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|h| h["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["primary", "image", "bin_table", "table"]);

    // Default HDU: the first image (HDU 1 here).
    let header = get_json(&app, "/api/fits/up/m13_gzip.fits?view=header").await;
    assert_eq!(header["hdu"], 1);
    assert!(header["warnings"].as_array().is_some_and(Vec::is_empty));
    let cards = header["cards"].as_array().expect("a list of cards");
    let ctype1 = cards.iter().find(|c| c["keyword"] == "CTYPE1").expect("CTYPE1");
    assert_eq!(ctype1["value"], "RA---TAN");
    assert!(cards.iter().any(|c| c["keyword"] == "NAXIS1" && c["value"] == 300));
    let primary = get_json(&app, "/api/fits/up/multi.fits?view=header&hdu=2").await;
    assert!(
        primary["cards"]
            .as_array()
            .expect("cards")
            .iter()
            .any(|c| c["keyword"] == "EXTNAME" && c["value"] == "CAT")
    );

    let wcs = get_json(&app, "/api/fits/up/m13_gzip.fits?view=wcs").await;
    assert_eq!(wcs["hdu"], 1);
    assert_eq!(wcs["wcs"]["ctype"][0], "RA---TAN");
    assert_eq!(wcs["wcs"]["celestial"]["projection"], "TAN");
    let none = get_json(&app, "/api/fits/up/multi.fits?view=wcs&hdu=2").await;
    assert!(none["wcs"].is_null());
    assert!(none["reason"].as_str().is_some_and(|r| !r.is_empty()));
}

#[tokio::test]
async fn stats_match_astropy_and_are_cached() {
    let Some((app, up)) = spawn().await else {
        return;
    };
    let res = get(&app, "/api/fits/up/m13_gzip.fits?view=stats").await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers().get("x-view-cache").and_then(|v| v.to_str().ok()),
        Some("MISS")
    );
    let stats: Value = res.json().await.expect("JSON");
    // numpy on astropy's decoded HDU 1.
    assert_eq!((stats["hdu"].clone(), stats["width"].clone()), (1.into(), 300.into()));
    assert_eq!(stats["count"], 90000);
    assert_eq!(stats["nan_count"], 0);
    assert!(close(&stats["min"], 109.0), "{stats}");
    assert!(close(&stats["max"], 3618.0), "{stats}");
    assert!(close(&stats["mean"], 147.7044111111111), "{stats}");
    assert!(close(&stats["std"], 113.57734591452005), "{stats}");
    assert!(close(&stats["median"], 122.0), "{stats}");
    assert!(close(&stats["percentiles"]["0.5"], 111.0), "{stats}");
    assert!(close(&stats["percentiles"]["99.5"], 836.005), "{stats}");
    assert!(close(&stats["zscale"]["min"], 109.0), "{stats}");
    assert!(close(&stats["zscale"]["max"], 216.4366865602338), "{stats}");

    let again = get(&app, "/api/fits/up/m13_gzip.fits?view=stats&hdu=1").await;
    assert_eq!(again.status(), 200);
    // `hdu=1` is a different request key from the default; the same one again is a hit.
    let third = get(&app, "/api/fits/up/m13_gzip.fits?view=stats").await;
    assert_eq!(
        third.headers().get("x-view-cache").and_then(|v| v.to_str().ok()),
        Some("HIT")
    );
    let third: Value = third.json().await.expect("JSON");
    assert_eq!(third, stats);
    assert_eq!(up.hits("m13_gzip.fits"), 1);

    let cube = get_json(&app, "/api/fits/up/cube3d.fits?view=stats&plane=2").await;
    assert_eq!((cube["plane"].clone(), cube["planes"].clone()), (2.into(), 3.into()));
    assert_eq!(cube["count"], 120);

    // Every view request is in the access log under its view's name.
    let (dir, url) = app.stop().await;
    let store = server::store::Store::connect(&url).await.expect("store");
    let audit = store.recent_access(100).await.expect("audit");
    assert_eq!(audit.len(), 4);
    assert!(audit.iter().all(|r| r.view == "stats" && r.status == 200));
    drop(dir);
}

#[tokio::test]
async fn thumbnails_are_pngs_of_the_requested_size() {
    let Some((app, _up)) = spawn().await else {
        return;
    };
    let res = get(
        &app,
        "/api/fits/up/m13_gzip.fits?view=thumbnail&size=64&scale=log&colormap=viridis",
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("image/png")
    );
    assert_eq!(
        res.headers().get("x-view-cache").and_then(|v| v.to_str().ok()),
        Some("MISS")
    );
    let first = res.bytes().await.expect("body");
    assert_eq!(png_size(&first), (64, 64));
    let res = get(
        &app,
        "/api/fits/up/m13_gzip.fits?view=thumbnail&size=64&scale=log&colormap=viridis",
    )
    .await;
    assert_eq!(
        res.headers().get("x-view-cache").and_then(|v| v.to_str().ok()),
        Some("HIT")
    );
    assert_eq!(res.bytes().await.expect("body"), first);

    let res = get(&app, "/api/fits/up/m13_gzip.fits?view=thumbnail").await;
    assert_eq!(png_size(&res.bytes().await.expect("body")), (256, 256));
    let res = get(
        &app,
        "/api/fits/up/m13_gzip.fits?view=thumbnail&size=32&limits=zscale&scale=asinh&invert=true&bias=0.4&contrast=2",
    )
    .await;
    assert_eq!(png_size(&res.bytes().await.expect("body")), (32, 32));
    // Smaller than the requested size: served at its own size (12 × 10).
    let res = get(&app, "/api/fits/up/cube3d.fits?view=thumbnail&plane=1&size=1024").await;
    assert_eq!(png_size(&res.bytes().await.expect("body")), (12, 10));
    let res = get(&app, "/api/fits/up/cube3d.fits?view=thumbnail&size=6").await;
    assert_eq!(png_size(&res.bytes().await.expect("body")), (6, 5));
}

#[tokio::test]
async fn bad_parameters_and_non_images() {
    let Some((app, _up)) = spawn().await else {
        return;
    };
    let base = "/api/fits/up/m13_gzip.fits";
    for (query, field) in [
        ("view=pixels", "view"),
        ("view=thumbnail&size=5000", "size"),
        ("view=thumbnail&size=0", "size"),
        ("view=thumbnail&scale=cubic", "scale"),
        ("view=thumbnail&colormap=rainbowz", "colormap"),
        ("view=thumbnail&limits=manual&vmin=1", "vmax"),
        ("view=thumbnail&plow=50&phigh=10", "plow"),
        ("view=stats&hdu=x", "hdu"),
        ("view=stats&hdu=9", "hdu"),
        ("view=stats&colormap=viridis", "colormap"),
        ("view=hdus&hdu=1", "hdu"),
    ] {
        let (status, got) = error_of(&app, &format!("{base}?{query}")).await;
        assert_eq!((status, got), (400, Value::from(field)), "{query}");
    }
    let (status, field) = error_of(&app, "/api/fits/up/cube3d.fits?view=stats&plane=3").await;
    assert_eq!((status, field), (400, Value::from("plane")));

    let res = get(&app, "/api/fits/up/multi.fits?view=stats&hdu=2").await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.expect("JSON");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("bin_table")),
        "{body}"
    );
    let res = get(&app, "/api/fits/up/random_groups.fits?view=thumbnail").await;
    assert_eq!(res.status(), 422);
    let res = get(&app, "/api/fits/up/missing.fits?view=hdus").await;
    assert_eq!(res.status(), 502);

    // Without a view the file itself still comes back.
    let res = get(&app, base).await;
    assert_eq!(res.status(), 200);
    let want = std::fs::read(format!("{DATA}/m13_gzip.fits")).expect("test file");
    assert_eq!(res.bytes().await.expect("body").to_vec(), want);
}

#[tokio::test]
async fn soda_cutout_keeps_the_sky_and_names_bad_params() {
    let Some((app, _up)) = spawn().await else { return };
    // astropy: pixel (10, 20) of m13_gzip.fits HDU 1 is at these coordinates.
    let (ra, dec) = (250.4707445198811, 36.424228188183314);
    let url = format!("/api/soda/up/sync?ID=m13_gzip.fits&POS=CIRCLE%20{ra}%20{dec}%200.005");
    let res = get(&app, &url).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/fits");
    let bytes = res.bytes().await.expect("body");
    let cut = ch_fits::Fits::parse(&bytes).expect("cutout is FITS");
    let img = cut.image_f32(0, 0).expect("image");
    assert!(img.width > 0 && img.width < 300 && img.height > 0 && img.height < 300);
    let wcs = ch_wcs::Wcs::from_cards(cut.hdu(0).expect("hdu").header().cards()).expect("wcs");
    let (x, y) = wcs.world_to_pixel(ra, dec).expect("inside");
    let original = std::fs::read(format!("{DATA}/m13_gzip.fits")).expect("file");
    let orig = ch_fits::Fits::parse(&original)
        .expect("parse")
        .image_f32(1, 0)
        .expect("image");
    assert_eq!(img.get(x.round() as usize, y.round() as usize), orig.get(10, 20));

    for (query, status, field) in [
        ("POS=CIRCLE%201%202%203", 400, Some("ID")),
        ("ID=m13_gzip.fits&POS=BOX%201%202", 400, Some("POS")),
        ("ID=m13_gzip.fits&BAND=0.2%200.21", 400, Some("BAND")),
        ("ID=m13_gzip.fits&CHANNEL=3", 400, Some("CHANNEL")),
        ("ID=m13_gzip.fits&colour=red", 400, Some("colour")),
        ("ID=m13_gzip.fits&POS=CIRCLE%2010%2010%200.01", 422, None),
    ] {
        let res = get(&app, &format!("/api/soda/up/sync?{query}")).await;
        assert_eq!(res.status().as_u16(), status, "{query}");
        let body: Value = res.json().await.expect("json");
        if let Some(f) = field {
            assert_eq!(body["error"]["field"], f, "{query}: {body}");
        }
    }
}

#[tokio::test]
async fn region_statistics_in_pixels_and_on_the_sky() {
    let Some((app, _up)) = spawn().await else { return };
    let pixel = r#"{"shape":"circle","x":150,"y":140,"r":10}"#;
    let v = get_json(
        &app,
        &format!("/api/fits/up/m13_gzip.fits?view=stats&region={}", urlencode(pixel)),
    )
    .await;
    // numpy over the same mask ((x-150)² + (y-140)² ≤ 100) of astropy's data.
    assert_eq!(v["region"]["stats"]["count"], 317, "{v}");
    assert_eq!(v["region"]["stats"]["sum"], 100329.0);
    assert_eq!(v["region"]["stats"]["median"], 244.0);
    assert_eq!(v["count"], 90000, "whole-plane statistics still there");
    // The same circle on the sky: centre from astropy's pixel_to_world_values(150, 140), radius
    // 10 px × 0.0002777°/px. The 72-gon inside the circle may miss a few edge pixels.
    let sky = r#"{"sky":{"shape":"circle","ra":250.42242736,"dec":36.45756185,"r":0.002777}}"#;
    let v = get_json(
        &app,
        &format!("/api/fits/up/m13_gzip.fits?view=stats&region={}", urlencode(sky)),
    )
    .await;
    let n = v["region"]["stats"]["count"].as_u64().expect("count");
    assert!((305..=321).contains(&n), "{v}");
    let res = get(
        &app,
        "/api/fits/up/m13_gzip.fits?view=stats&region=%7B%22shape%22%3A%22blob%22%7D",
    )
    .await;
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"]["field"], "region");
}

#[tokio::test]
async fn region_statistics_over_sky_boxes_and_ellipses() {
    let Some((app, _up)) = spawn().await else { return };
    let original = std::fs::read(format!("{DATA}/m13_gzip.fits")).expect("file");
    let fits = ch_fits::Fits::parse(&original).expect("parse");
    let wcs = ch_wcs::Wcs::from_cards(fits.hdu(1).expect("hdu").header().cards()).expect("wcs");
    let (ra, dec) = wcs.pixel_to_world(150.0, 140.0).expect("world");
    let scale = wcs.pixel_scale().expect("scale");
    let count = |v: &Value| v["region"]["stats"]["count"].as_u64().expect("count");
    let stats = |region: String| {
        let app = &app;
        async move {
            get_json(
                app,
                &format!("/api/fits/up/m13_gzip.fits?view=stats&region={}", urlencode(&region)),
            )
            .await
        }
    };
    // Sides half-way between pixel centres: the pixel box holds 21 × 13 pixels.
    let pixel = stats(r#"{"shape":"box","x":150,"y":140,"width":20.5,"height":12.5}"#.to_owned()).await;
    assert_eq!(count(&pixel), 21 * 13, "{pixel}");
    let sky = stats(format!(
        r#"{{"sky":{{"shape":"box","ra":{ra},"dec":{dec},"width":{},"height":{},"angle":0}}}}"#,
        20.5 * scale,
        12.5 * scale
    ))
    .await;
    let n = count(&sky);
    // m13 is north up, east left, so the sky box covers the very same pixels.
    assert_eq!(n, 21 * 13, "{sky}");
    let sum = |v: &Value| v["region"]["stats"]["sum"].as_f64().expect("sum");
    assert_eq!(sum(&sky), sum(&pixel));
    // Turned by 90° east of north the box is 13 wide and 21 high.
    let turned = stats(format!(
        r#"{{"sky":{{"shape":"box","ra":{ra},"dec":{dec},"width":{},"height":{},"angle":90}}}}"#,
        20.5 * scale,
        12.5 * scale
    ))
    .await;
    let pixel_turned = stats(r#"{"shape":"box","x":150,"y":140,"width":12.5,"height":20.5}"#.to_owned()).await;
    assert_eq!(count(&turned), count(&pixel_turned), "{turned} vs {pixel_turned}");
    assert_eq!(turned["region"]["stats"]["sum"], pixel_turned["region"]["stats"]["sum"]);
    // An ellipse with equal semi-axes is the circle.
    let circle = stats(format!(
        r#"{{"sky":{{"shape":"circle","ra":{ra},"dec":{dec},"r":{}}}}}"#,
        10.0 * scale
    ))
    .await;
    let ellipse = stats(format!(
        r#"{{"sky":{{"shape":"ellipse","ra":{ra},"dec":{dec},"a":{r},"b":{r},"angle":0}}}}"#,
        r = 10.0 * scale
    ))
    .await;
    assert_eq!(circle["region"], ellipse["region"]);
    // A box of no size is named as the bad parameter.
    let bad = format!(r#"{{"sky":{{"shape":"box","ra":{ra},"dec":{dec},"width":0,"height":0.01}}}}"#);
    let (status, field) = error_of(
        &app,
        &format!("/api/fits/up/m13_gzip.fits?view=stats&region={}", urlencode(&bad)),
    )
    .await;
    assert_eq!((status, field), (400, Value::from("region")));
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn views_carry_etags_and_answer_if_none_match() {
    let Some((app, _up)) = spawn().await else {
        return;
    };
    let etag_of = |res: &reqwest::Response| {
        res.headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .expect("an ETag")
    };
    let mut seen = std::collections::HashSet::new();
    for q in [
        "view=hdus",
        "view=header",
        "view=header&hdu=0",
        "view=wcs",
        "view=stats",
        "view=thumbnail&size=32",
        "view=thumbnail&size=32&scale=log",
    ] {
        let path = format!("/api/fits/up/m13_gzip.fits?{q}");
        let res = get(&app, &path).await;
        assert_eq!(res.status(), 200, "{q}");
        let etag = etag_of(&res);
        assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
        assert!(seen.insert(etag.clone()), "{q}: ETag {etag} repeats another view's");
        let again = app
            .client
            .get(app.url(&path))
            .header("if-none-match", &etag)
            .send()
            .await
            .expect("request");
        assert_eq!(again.status(), 304, "{q}");
        assert_eq!(etag_of(&again), etag);
        assert!(again.bytes().await.expect("body").is_empty());
        // A stale or foreign tag gets the full answer.
        let other = app
            .client
            .get(app.url(&path))
            .header("if-none-match", "\"something-else\"")
            .send()
            .await
            .expect("request");
        assert_eq!(other.status(), 200, "{q}");
    }
    // Normalised parameters: the same request spelled differently has the same ETag.
    let a = etag_of(&get(&app, "/api/fits/up/multi.fits?view=header&hdu=2").await);
    let b = etag_of(&get(&app, "/api/fits/up/multi.fits?hdu=%202&view=header").await);
    assert_eq!(a, b);
    // The file's own ETag differs from every view's.
    let file = etag_of(&get(&app, "/api/fits/up/m13_gzip.fits").await);
    assert!(!seen.contains(&file));
}
