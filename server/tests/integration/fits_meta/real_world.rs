//! Real-world files over HTTP (`crates/ch-fits/tests/data/real-world`): warnings in the views,
//! beams from AIPS history, DS9 files in any frame through `/api/regions/ds9`.

use serde_json::Value;

use super::{DATA, close, get_json, spawn, urlencode};

/// Files built after public bug reports (`crates/ch-fits/tests/data/real-world`): what the
/// reader tolerated is in the views, and a beam from AIPS history cards gives the flux density.
#[tokio::test]
async fn real_world_headers_are_read_with_warnings() {
    let Some((app, _up)) = spawn().await else {
        return;
    };
    let rw = "/api/fits/up/real-world~";
    let header = get_json(&app, &format!("{rw}end_nul.fits?view=header")).await;
    let listed = |v: &Value, needle: &str| {
        v["warnings"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w.as_str().is_some_and(|w| w.contains(needle))))
    };
    assert!(listed(&header, "END"), "{header}");
    let hdus = get_json(&app, &format!("{rw}end_nul.fits?view=hdus")).await;
    assert!(listed(&hdus[0], "END"), "{hdus}");
    let stats = get_json(&app, &format!("{rw}end_nul.fits?view=stats")).await;
    assert_eq!(stats["count"], 108);
    assert!(close(&stats["mean"], 2068.6203703703704));

    let wcs = get_json(&app, &format!("{rw}cunit_degrees.fits?view=wcs&hdu=1")).await;
    assert!(listed(&wcs, "'Deg'"), "{wcs}");
    assert_eq!(wcs["wcs"]["celestial"]["projection"], "TAN");
    let equinox = get_json(&app, &format!("{rw}equinox_string.fits?view=wcs&hdu=1")).await;
    assert!(listed(&equinox, "EQUINOX"), "{equinox}");
    assert!(equinox["wcs"]["celestial"].is_object());

    // astropy/radio-beam: beam area 15.101627106843647 pixels, from history (HDU 0) or keywords (HDU 1).
    let circle = r#"{"shape":"circle","x":20,"y":20,"r":8}"#;
    for (hdu, source) in [(0, "aips_history"), (1, "keywords")] {
        let path = format!(
            "{rw}aips_history_beam.fits?view=stats&hdu={hdu}&region={}",
            urlencode(circle)
        );
        let v = get_json(&app, &path).await;
        let flux = &v["region"]["flux"];
        assert!(
            close(&flux["beam_area_pixels"], 15.101627106843647),
            "HDU {hdu}: {flux}"
        );
        assert!(flux["flux_jy"].as_f64().is_some(), "HDU {hdu}: {flux}");
        assert_eq!(flux["beam"]["source"]["kind"], source, "HDU {hdu}");
    }
}

/// DS9 files through `/api/regions/ds9`: a file in five frames imported onto an FK4 B1950
/// archive image (converted with its WCS; the far galactic point listed, not placed), and the
/// set exported in another system.
#[tokio::test]
async fn ds9_region_files_over_http() {
    let Some((app, _up)) = spawn().await else {
        return;
    };
    let image = "/api/fits/up/real-world~ds9_fk4_image.fits";
    let text = std::fs::read_to_string(format!("{DATA}/real-world/ds9_frames.reg")).expect("reg");
    let import = |query: String, body: String| {
        let app = &app;
        async move {
            let res = app
                .client
                .put(app.url(&format!("/api/regions/ds9?{query}")))
                .header("content-type", "text/plain")
                .body(body)
                .send()
                .await
                .expect("import");
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.expect("JSON"))
        }
    };
    let (status, saved) = import(format!("image={}&version=0", urlencode(image)), text.clone()).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["regions"].as_array().map(Vec::len), Some(4), "{saved}");
    assert_eq!(saved["skipped"][0]["line"], 3, "{saved}");
    // astropy: the J2000 point lands at pixel (54.11300995, 103.99898222) of this FK4 image.
    let j2000 = saved["regions"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["label"] == "j2000"))
        .expect("j2000 region");
    assert!((j2000["x"].as_f64().expect("x") - 54.11300995).abs() < 1e-6, "{j2000}");
    assert!((j2000["y"].as_f64().expect("y") - 103.99898222).abs() < 1e-6, "{j2000}");

    let export = |query: String| {
        let app = &app;
        async move {
            let res = app
                .client
                .get(app.url(&format!("/api/regions/ds9?{query}")))
                .send()
                .await
                .expect("export");
            (res.status().as_u16(), res.text().await.expect("text"))
        }
    };
    let (status, fk5) = export(format!("image={}&system=fk5", urlencode(image))).await;
    assert_eq!(status, 200, "{fk5}");
    assert!(fk5.starts_with("# Region file format: DS9 version 4.1"), "{fk5}");
    let line = fk5.lines().find(|l| l.contains("text={j2000}")).expect("j2000 line");
    let args: Vec<f64> = line
        .trim_start_matches("point(")
        .split(')')
        .next()
        .expect("args")
        .split(',')
        .map(|v| v.parse().expect("number"))
        .collect();
    assert!(
        (args[0] - 185.1929715).abs() < 1e-7 && (args[1] + 5.7274012).abs() < 1e-7,
        "{line}"
    );
    let (status, native) = export(format!("image={}", urlencode(image))).await;
    assert_eq!(status, 200);
    assert!(native.contains("\nfk4\n"), "the image's own frame by default: {native}");

    let (status, body) = export(format!("image={}&system=supergalactic", urlencode(image))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("system"), "{body}");
    let (status, body) = export("image=local%20file&system=galactic".into()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("WCS"), "{body}");
    let (status, body) = import(format!("image={}", urlencode(image)), text.clone()).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("version")),
        "{body}"
    );
    let (status, body) = import(format!("image={}&version=1", urlencode(image)), "circle(1,1".into()).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| m.contains("line 1")),
        "{body}"
    );
}
