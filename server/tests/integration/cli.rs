//! `cosmic-horizons fits …` against astropy's numbers for a real tile-compressed image.

use std::process::Command;

const M13: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../crates/ch-fits/tests/data/m13_gzip.fits"
);

/// Longest one CLI command may run before the test kills it and fails.
const LIMIT: std::time::Duration = std::time::Duration::from_secs(120);

fn run(args: &[&str]) -> (i32, String, String) {
    let out = crate::common::output_within(
        Command::new(env!("CARGO_BIN_EXE_cosmic-horizons")).args(args),
        None,
        LIMIT,
    );
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-300)
}

#[test]
fn stats_match_astropy() {
    let (code, out, err) = run(&["fits", "stats", M13]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let hdu = &v["hdus"][1];
    assert_eq!(hdu["shape"], serde_json::json!([300, 300]));
    assert_eq!(hdu["wcs"]["ctype"], serde_json::json!(["RA---TAN", "DEC--TAN"]));
    let s = &hdu["stats"];
    // astropy.io.fits + numpy (float64, ddof = 0)
    for (key, want) in [
        ("count", 90000.0),
        ("nan_count", 0.0),
        ("min", 109.0),
        ("max", 3618.0),
        ("mean", 147.7044111111111),
        ("std", 113.57734591452005),
        ("median", 122.0),
    ] {
        let got = s[key].as_f64().expect(key);
        assert!(close(got, want, 1e-6), "{key}: {got} vs {want}");
    }
    assert!(v["hdus"][0]["stats"].is_null());
    let (code, out, _) = run(&["fits", "stats", M13, "--hdu", "1"]);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).expect("json")["hdus"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[test]
fn pixel_world_round_trip_matches_astropy() {
    let (code, out, err) = run(&["fits", "pix2world", M13, "10", "20"]);
    assert_eq!(code, 0, "{err}");
    let v: Vec<f64> = out.split_whitespace().map(|t| t.parse().expect("number")).collect();
    // astropy WCS(h[1].header).pixel_to_world_values(10, 20); 0.01″ = 2.8e-6°
    assert!(
        (v[0] - 250.47074452).abs() < 2.8e-6 && (v[1] - 36.42422819).abs() < 2.8e-6,
        "{v:?}"
    );
    let (code, out, _) = run(&["fits", "world2pix", M13, &v[0].to_string(), &v[1].to_string()]);
    assert_eq!(code, 0);
    let p: Vec<f64> = out.split_whitespace().map(|t| t.parse().expect("number")).collect();
    assert!((p[0] - 10.0).abs() < 1e-6 && (p[1] - 20.0).abs() < 1e-6, "{p:?}");
}

const REAL_WORLD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/ch-fits/tests/data/real-world");

#[test]
fn southern_declinations_and_degrees_spelled_out() {
    let file = format!("{REAL_WORLD}/cunit_degrees.fits");
    // astropy: world_to_pixel_values(266.38, -28.88) on HDU 0 (CUNIT = 'Degrees').
    let (code, out, err) = run(&["fits", "world2pix", &file, "266.38", "-28.88", "--hdu", "0"]);
    assert_eq!(code, 0, "{err}");
    let p: Vec<f64> = out.split_whitespace().map(|t| t.parse().expect("number")).collect();
    assert!(
        (p[0] - 40.00738882215845).abs() < 1e-6 && (p[1] - 36.49887476813551).abs() < 1e-6,
        "{p:?}"
    );
    assert!(
        err.contains("CUNIT1") && err.contains("'Degrees'"),
        "the translation is reported: {err}"
    );
    let (code, out, err) = run(&["fits", "pix2world", &file, "-1.5", "-2"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.split_whitespace().count(), 2, "{out}");
}

#[test]
fn stats_report_what_was_tolerated() {
    let (code, out, err) = run(&["fits", "stats", &format!("{REAL_WORLD}/end_nul.fits")]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let hdu = &v["hdus"][0];
    assert_eq!(hdu["stats"]["count"], 108);
    assert!((hdu["stats"]["mean"].as_f64().expect("mean") - 2068.6203703703704).abs() < 1e-9);
    let warnings = hdu["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| w.as_str().is_some_and(|w| w.contains("END"))),
        "{warnings:?}"
    );
    assert!(err.contains("warning:") && err.contains("END"), "{err}");
}

#[test]
fn unreadable_input_fails_with_one_line() {
    for args in [
        vec!["fits", "stats", "/nonexistent.fits"],
        vec!["fits", "stats", concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")],
        vec![
            "fits",
            "pix2world",
            concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
            "1",
            "2",
        ],
    ] {
        let (code, out, err) = run(&args);
        assert_ne!(code, 0, "{args:?}");
        assert!(out.is_empty());
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.starts_with("error: "), "{err}");
    }
}

/// The operator commands against a server's database: create a user and a project, add the
/// user, make a token; the running server accepts the token and scopes the user to the project.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_manage_users_projects_and_tokens() {
    let Some(app) = crate::common::TestApp::spawn(crate::common::Db::Sqlite).await else {
        return;
    };
    let data = app.dir.path().join("data");
    let cli = |args: &[&str], stdin: Option<&str>| {
        let out = crate::common::output_within(
            Command::new(env!("CARGO_BIN_EXE_cosmic-horizons"))
                .args(args)
                .env("CH_DATABASE_URL", &app.database_url)
                .env("CH_DATA_DIR", &data)
                .env("CH_LOG", "warn"),
            stdin,
            LIMIT,
        );
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).trim().to_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, _, err) = cli(
        &["user", "create", "carol", "--role", "scientist", "--password-stdin"],
        Some("carol's long password\n"),
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cli(&["project", "create", "survey"], None);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cli(&["project", "add-member", "survey", "carol", "--role", "owner"], None);
    assert_eq!(code, 0, "{err}");
    let (code, token, err) = cli(
        &[
            "token",
            "create",
            "carol",
            "--scopes",
            "read,submit",
            "--project",
            "survey",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert!(token.starts_with("cht_"), "{token}");
    // Bad input is refused with a message, not a panic.
    let (code, _, err) = cli(&["user", "create", "Bad Name"], None);
    assert_ne!(code, 0);
    assert!(err.contains("username"), "{err}");
    let (code, _, err) = cli(&["user", "passwd", "carol"], Some("short\n"));
    assert_ne!(code, 0);
    assert!(err.contains("password"), "{err}");

    let carol = crate::common::client_with(&token);
    let res = carol
        .post(app.url("/api/jobs"))
        .json(&serde_json::json!({ "name": "from-cli-token", "command": "true" }))
        .send()
        .await
        .expect("submit");
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    let job: serde_json::Value = res.json().await.expect("job");
    assert_eq!(job["project"], "survey", "a project token submits into its project");
    assert_eq!(job["owner"], "carol");
    let id = token
        .trim_start_matches("cht_")
        .split('_')
        .next()
        .expect("id")
        .to_owned();
    let id = uuid::Uuid::parse_str(&id).expect("uuid").to_string();
    let (code, _, err) = cli(&["token", "revoke", &id], None);
    assert_eq!(code, 0, "{err}");
    // Another process revoked it: the server's token cache forgets within 5 s.
    tokio::time::sleep(std::time::Duration::from_millis(5200)).await;
    assert_eq!(
        carol.get(app.url("/api/jobs")).send().await.expect("list").status(),
        401
    );
    app.stop().await;
}
