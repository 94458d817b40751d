//! The FITS archive proxy against a local upstream archive server.

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use common::upstream::Upstream;
use common::{Db, TestApp};
use futures::StreamExt;
use server::settings::Settings;

/// A minimal valid FITS file: a byte image of `n` pixels filled with `fill`.
fn fits(n: usize, fill: u8) -> Vec<u8> {
    let mut h = String::new();
    for card in [
        "SIMPLE  =                    T".to_owned(),
        "BITPIX  =                    8".to_owned(),
        "NAXIS   =                    1".to_owned(),
        format!("NAXIS1  = {n:>20}"),
        "END".to_owned(),
    ] {
        h.push_str(&format!("{card:<80}"));
    }
    let mut out = h.into_bytes();
    out.resize(2880, b' ');
    out.extend(std::iter::repeat_n(fill, n));
    out.resize(out.len().div_ceil(2880) * 2880, 0);
    out
}

async fn serve_file(State(up): State<Upstream>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    up.hit(&name);
    match name.as_str() {
        "missing.fits" => StatusCode::NOT_FOUND.into_response(),
        "page.fits" => ([(header::CONTENT_TYPE, "text/html")], "<html>maintenance</html>").into_response(),
        "slow.fits" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            fits(10, 1).into_response()
        }
        "broken.fits" => {
            let body = fits(20_000, 7);
            if let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
                let start: usize = range
                    .trim_start_matches("bytes=")
                    .trim_end_matches('-')
                    .parse()
                    .unwrap_or(0);
                let total = body.len();
                return (
                    StatusCode::PARTIAL_CONTENT,
                    [
                        (header::CONTENT_RANGE, format!("bytes {start}-{}/{total}", total - 1)),
                        (header::ACCEPT_RANGES, "bytes".to_owned()),
                    ],
                    body[start..].to_vec(),
                )
                    .into_response();
            }
            // First attempt: half the file, then the connection breaks.
            let half = body[..body.len() / 2].to_vec();
            let stream = futures::stream::iter(vec![
                Ok::<_, std::io::Error>(half),
                Err(std::io::Error::other("connection reset")),
            ])
            .then(|item| async move {
                // Let the client see the headers and the first half before the break.
                tokio::time::sleep(Duration::from_millis(100)).await;
                item
            });
            Response::builder()
                .header(header::ACCEPT_RANGES, "bytes")
                .header(header::CONTENT_LENGTH, body.len())
                .body(Body::from_stream(stream))
                .unwrap_or_default()
        }
        "delayed.fits" => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            fits(5000, 3).into_response()
        }
        other => fits(4000 + other.len(), other.len() as u8).into_response(),
    }
}

async fn upstream() -> (String, Upstream) {
    common::upstream::start(serve_file).await
}

fn with_upstream(base: String) -> impl FnOnce(&mut Settings) {
    common::upstream::source(base, 2)
}

async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = app.client.get(app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.expect("request")
}

#[tokio::test]
async fn caches_serves_ranges_and_revalidates() {
    let (base, up) = upstream().await;
    let Some(app) = TestApp::spawn_with(Db::Sqlite, with_upstream(base)).await else {
        return;
    };
    let want = fits(4000 + "a.fits".len(), 6);

    let res = get(&app, "/api/fits/up/a.fits", &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/fits");
    assert_eq!(res.headers()["x-cache"], "MISS");
    assert!(res.headers().contains_key("last-modified"));
    let etag = res.headers()["etag"].to_str().expect("etag").to_owned();
    assert_eq!(res.bytes().await.expect("body").to_vec(), want);

    let res = get(&app, "/api/fits/up/a.fits", &[]).await;
    assert_eq!(res.headers()["x-cache"], "HIT");
    assert_eq!(res.bytes().await.expect("body").to_vec(), want);
    assert_eq!(up.hits("a.fits"), 1);

    let res = get(&app, "/api/fits/up/a.fits", &[("range", "bytes=0-79")]).await;
    assert_eq!(res.status(), 206);
    assert_eq!(res.headers()["content-range"], format!("bytes 0-79/{}", want.len()));
    assert_eq!(res.bytes().await.expect("body").to_vec(), want[..80].to_vec());

    let res = get(&app, "/api/fits/up/a.fits", &[("range", "bytes=-100")]).await;
    assert_eq!(
        res.bytes().await.expect("body").to_vec(),
        want[want.len() - 100..].to_vec()
    );

    let res = get(&app, "/api/fits/up/a.fits", &[("if-none-match", &etag)]).await;
    assert_eq!(res.status(), 304);
    let res = get(&app, "/api/fits/up/a.fits", &[("if-none-match", "\"other\"")]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(up.hits("a.fits"), 1);

    // Every request above left an audit record.
    let (dir, url) = app.stop().await;
    let store = server::store::Store::connect(&url).await.expect("store");
    let audit = store.recent_access(100).await.expect("audit");
    assert_eq!(audit.len(), 6);
    assert!(
        audit
            .iter()
            .all(|r| r.source == "up" && r.path == "a.fits" && r.principal.starts_with("anonymous@"))
    );
    assert_eq!(audit.iter().filter(|r| r.cache.as_deref() == Some("MISS")).count(), 1);
    drop(dir);
}

#[tokio::test]
async fn concurrent_misses_fetch_once() {
    let (base, up) = upstream().await;
    let Some(app) = TestApp::spawn_with(Db::Sqlite, with_upstream(base)).await else {
        return;
    };
    let app = Arc::new(app);
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let res = get(&app, "/api/fits/up/delayed.fits", &[]).await;
            (res.status().as_u16(), res.bytes().await.map(|b| b.len()).unwrap_or(0))
        }));
    }
    for t in tasks {
        let (status, len) = t.await.expect("task");
        assert_eq!((status, len), (200, fits(5000, 3).len()));
    }
    assert_eq!(up.hits("delayed.fits"), 1, "single-flight broken");
}

#[tokio::test]
async fn upstream_failures_are_clear_and_not_cached() {
    let (base, up) = upstream().await;
    let Some(app) = TestApp::spawn_with(Db::Sqlite, with_upstream(base)).await else {
        return;
    };
    let error = |res: reqwest::Response| async move {
        let status = res.status().as_u16();
        let body: serde_json::Value = res.json().await.expect("json");
        (status, body["error"]["message"].as_str().unwrap_or_default().to_owned())
    };
    let (status, msg) = error(get(&app, "/api/fits/up/missing.fits", &[]).await).await;
    assert_eq!(status, 502);
    assert!(msg.contains("404"), "{msg}");
    let (status, msg) = error(get(&app, "/api/fits/up/page.fits", &[]).await).await;
    assert_eq!(status, 502);
    assert!(msg.contains("not a FITS"), "{msg}");
    get(&app, "/api/fits/up/page.fits", &[]).await;
    assert_eq!(up.hits("page.fits"), 2, "a non-FITS answer was cached");
    let (status, msg) = error(get(&app, "/api/fits/up/slow.fits", &[]).await).await;
    assert_eq!(status, 504, "{msg}");
    let (status, msg) = error(get(&app, "/api/fits/nowhere/a.fits", &[]).await).await;
    assert_eq!(status, 404);
    assert!(msg.contains("configured: jobs, up"), "{msg}");
    let (status, _) = error(get(&app, "/api/fits/up/a%2F..%2F..%2Fsecret.fits", &[]).await).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn broken_transfers_resume_with_a_range_request() {
    let (base, up) = upstream().await;
    let Some(app) = TestApp::spawn_with(Db::Sqlite, with_upstream(base)).await else {
        return;
    };
    let res = get(&app, "/api/fits/up/broken.fits", &[]).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    assert_eq!(res.bytes().await.expect("body").to_vec(), fits(20_000, 7));
    assert_eq!(up.hits("broken.fits"), 2);
}

#[tokio::test]
async fn cache_survives_restart() {
    let (base, up) = upstream().await;
    let Some(app) = TestApp::spawn_with(Db::Sqlite, with_upstream(base.clone())).await else {
        return;
    };
    assert_eq!(
        get(&app, "/api/fits/up/keep.fits", &[]).await.headers()["x-cache"],
        "MISS"
    );
    let (dir, url) = app.stop().await;
    let mut settings = common::settings(&dir, &url);
    with_upstream(base)(&mut settings);
    let app = TestApp::start(dir, url, settings).await;
    let res = get(&app, "/api/fits/up/keep.fits", &[]).await;
    assert_eq!(res.headers()["x-cache"], "HIT");
    assert_eq!(res.bytes().await.expect("body").to_vec(), fits(4000 + 9, 9));
    assert_eq!(up.hits("keep.fits"), 1);
}

#[tokio::test]
async fn clients_are_rate_limited() {
    let (base, _up) = upstream().await;
    let Some(app) = TestApp::spawn_with(Db::Sqlite, |s| {
        with_upstream(base)(s);
        s.archive.rate_limit_per_second = 1;
        s.archive.rate_limit_burst = 2;
    })
    .await
    else {
        return;
    };
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(get(&app, "/api/fits/up/r.fits", &[]).await.status().as_u16());
    }
    assert_eq!(&statuses[..2], &[200, 200]);
    assert!(statuses[2..].contains(&429), "{statuses:?}");
}

#[tokio::test]
async fn job_results_are_served_when_they_are_fits() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    let script = "printf 'SIMPLE  =                    T' > out.fits; head -c 2850 /dev/zero | tr '\\0' ' ' >> out.fits; echo hello > notes.txt";
    let job = app
        .submit_ok(serde_json::json!({ "name": "writer", "command": script }))
        .await;
    app.wait_status(job.id, ch_domain::JobStatus::Completed).await;
    let res = get(&app, &format!("/api/fits/jobs/{}/out.fits", job.id), &[]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.bytes().await.expect("body").len(), 2880);
    assert_eq!(
        get(&app, &format!("/api/fits/jobs/{}/notes.txt", job.id), &[])
            .await
            .status(),
        422
    );
    assert_eq!(
        get(&app, &format!("/api/fits/jobs/{}/nope.fits", job.id), &[])
            .await
            .status(),
        404
    );
    assert_eq!(get(&app, "/api/fits/jobs/not-a-job/out.fits", &[]).await.status(), 400);
}
