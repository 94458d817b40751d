//! `/api/regions`: per-image viewer regions, against SQLite and PostgreSQL.

use crate::common::{Db, TestApp};
use serde_json::{Value, json};

both_backends! {
    regions_round_trip_and_version_on_each_save => round_trip;
    stale_saves_are_refused_naming_the_current_version => version_conflict;
    invalid_sets_and_image_keys_are_400_naming_the_field => validation;
    regions_survive_a_restart => restart;
}

async fn put(app: &TestApp, image: &str, body: &Value) -> (u16, Value) {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("image", image)
        .finish();
    app.send_json("PUT", &format!("/api/regions?{query}"), body).await
}

async fn get(app: &TestApp, image: &str) -> (u16, Value) {
    let res = app
        .client
        .get(app.url("/api/regions"))
        .query(&[("image", image)])
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn sample() -> Value {
    json!([
        { "id": "c1", "shape": "circle", "x": 10.0, "y": 12.5, "r": 3.0, "label": "core", "color": "#ff0000" },
        { "id": "p1", "shape": "polygon", "vertices": [[0.0, 0.0], [4.0, 0.0], [4.0, 3.0]] },
        { "id": "l1", "shape": "line", "x1": 0.0, "y1": 0.0, "x2": 5.0, "y2": 5.0 }
    ])
}

const IMAGE: &str = "up/vlass/T10t01/image one.fits";

async fn round_trip(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    let (status, empty) = get(&app, IMAGE).await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(
        empty,
        json!({ "image": IMAGE, "regions": [], "version": 0, "updated_at": null })
    );

    let (status, saved) = put(&app, IMAGE, &json!({ "regions": sample(), "version": 0 })).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["image"], IMAGE);
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["regions"], sample());
    assert!(saved["updated_at"].as_i64().is_some_and(|t| t > 0), "{saved}");

    let (status, loaded) = get(&app, IMAGE).await;
    assert_eq!(status, 200);
    assert_eq!(loaded, saved);

    let (status, again) = put(&app, IMAGE, &json!({ "regions": [], "version": 1 })).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["version"], 2);
    assert_eq!(again["regions"], json!([]));
    // Other images are untouched.
    let (_, other) = get(&app, "up/other.fits").await;
    assert_eq!(other["version"], 0);
    app.stop().await;
}

async fn version_conflict(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    let body = |version: i64| json!({ "regions": sample(), "version": version });
    assert_eq!(put(&app, IMAGE, &body(0)).await.0, 200);
    // A second "new" save from another tab.
    let (status, err) = put(&app, IMAGE, &body(0)).await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"]["code"], "conflict");
    assert_eq!(err["error"]["field"], "version");
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("version 1")),
        "{err}"
    );

    assert_eq!(put(&app, IMAGE, &body(1)).await.0, 200);
    let (status, err) = put(&app, IMAGE, &body(1)).await;
    assert_eq!(status, 409);
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("version 2")),
        "{err}"
    );
    // A version from the future on an image without regions.
    let (status, err) = put(&app, "up/new.fits", &body(5)).await;
    assert_eq!(status, 409);
    assert!(
        err["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("version 0")),
        "{err}"
    );
    let (_, stored) = get(&app, IMAGE).await;
    assert_eq!(stored["version"], 2);
    app.stop().await;
}

fn error(v: &Value) -> (&str, &str) {
    (
        v["error"]["field"].as_str().unwrap_or_default(),
        v["error"]["message"].as_str().unwrap_or_default(),
    )
}

async fn validation(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    // `validate` refuses a negative radius and names the region's field.
    let bad = json!({ "regions": [
        { "id": "ok", "shape": "point", "x": 1.0, "y": 1.0 },
        { "id": "c", "shape": "circle", "x": 1.0, "y": 1.0, "r": -2.0 }
    ], "version": 0 });
    let (status, err) = put(&app, IMAGE, &bad).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["error"]["code"], "invalid");
    let (field, message) = error(&err);
    assert_eq!(field, "regions[1].r", "{err}");
    assert!(message.starts_with("regions[1].r: "), "{err}");
    let dup = json!({ "regions": [
        { "id": "a", "shape": "point", "x": 1.0, "y": 1.0 },
        { "id": "a", "shape": "point", "x": 2.0, "y": 1.0 }
    ], "version": 0 });
    let (status, err) = put(&app, IMAGE, &dup).await;
    assert_eq!((status, error(&err).0), (400, "regions[1].id"), "{err}");

    // Not even a region: 400 as well, naming where serde stopped.
    let (status, err) = put(
        &app,
        IMAGE,
        &json!({ "regions": [{ "id": "h", "shape": "hexagon" }], "version": 0 }),
    )
    .await;
    assert_eq!(status, 400, "{err}");
    let (status, err) = put(&app, IMAGE, &json!({ "regions": [], "version": 0, "extra": 1 })).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(error(&err).0, "extra");
    let (status, err) = put(&app, IMAGE, &json!({ "regions": [], "version": -1 })).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(error(&err).0, "version");

    // Image keys: missing, empty, too long, control characters.
    let (status, err) = app.get_json("/api/regions").await;
    assert_eq!((status, error(&err).0), (400, "image"), "{err}");
    for key in [String::new(), "a".repeat(1025), "a\u{1}b".to_owned(), "a\nb".to_owned()] {
        let (status, err) = get(&app, &key).await;
        assert_eq!((status, error(&err).0), (400, "image"), "{key:?}: {err}");
        let (status, err) = put(&app, &key, &json!({ "regions": [], "version": 0 })).await;
        assert_eq!((status, error(&err).0), (400, "image"), "{key:?}: {err}");
    }
    assert_eq!(get(&app, &"é".repeat(1024)).await.0, 200);

    // Bodies over the limit (64 KiB in tests).
    let vertices: Vec<[f64; 2]> = (0..10_000).map(|i| [f64::from(i), 1.5]).collect();
    let huge = json!({ "regions": [{ "id": "p", "shape": "polygon", "vertices": vertices }], "version": 0 });
    let (status, err) = put(&app, IMAGE, &huge).await;
    assert_eq!(status, 413, "{err}");
    // Nothing was stored by any of these.
    assert_eq!(get(&app, IMAGE).await.1["version"], 0);
    app.stop().await;
}

async fn restart(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    let (status, saved) = put(&app, IMAGE, &json!({ "regions": sample(), "version": 0 })).await;
    assert_eq!(status, 200, "{saved}");
    let (dir, url) = app.stop().await;
    let settings = crate::common::settings(&dir, &url);
    let app = TestApp::start(dir, url, settings).await;
    let (status, loaded) = get(&app, IMAGE).await;
    assert_eq!(status, 200);
    assert_eq!(loaded, saved);
    app.stop().await;
}
