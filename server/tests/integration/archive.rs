//! The FITS archive proxy against a local upstream archive server.

use std::sync::Arc;
use std::time::Duration;

use crate::common::upstream::Upstream;
use crate::common::{Db, TestApp};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
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

/// Speed of light (m/s).
const C: f64 = 299_792_458.0;

/// A BITPIX -32 RA/DEC/FREQ cube, `nx × ny × nz`, with value `100 k + 10 y + x`: channel k is at
/// 1.400 + 0.001 k GHz; the spectral cards are `spectral` (e.g. a velocity axis instead).
fn cube(nx: usize, ny: usize, nz: usize, spectral: &[&str]) -> Vec<u8> {
    let mut cards = vec![
        "SIMPLE  =                    T".to_owned(),
        "BITPIX  =                  -32".to_owned(),
        "NAXIS   =                    3".to_owned(),
        format!("NAXIS1  = {nx:>20}"),
        format!("NAXIS2  = {ny:>20}"),
        format!("NAXIS3  = {nz:>20}"),
        "CTYPE1  = 'RA---TAN'".to_owned(),
        "CRVAL1  =                150.0".to_owned(),
        "CDELT1  =             -0.00100".to_owned(),
        "CRPIX1  =                 10.0".to_owned(),
        "CTYPE2  = 'DEC--TAN'".to_owned(),
        "CRVAL2  =                  2.0".to_owned(),
        "CDELT2  =              0.00100".to_owned(),
        "CRPIX2  =                  8.0".to_owned(),
        "RADESYS = 'ICRS    '".to_owned(),
    ];
    cards.extend(spectral.iter().map(|c| (*c).to_owned()));
    cards.push("END".to_owned());
    let mut out: Vec<u8> = cards.iter().flat_map(|c| format!("{c:<80}").into_bytes()).collect();
    out.resize(out.len().div_ceil(2880) * 2880, b' ');
    for k in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                out.extend_from_slice(&((100 * k + 10 * y + x) as f32).to_be_bytes());
            }
        }
    }
    out.resize(out.len().div_ceil(2880) * 2880, 0);
    out
}

const FREQ_AXIS: [&str; 5] = [
    "CTYPE3  = 'FREQ    '",
    "CRVAL3  =           1.4000E+09",
    "CDELT3  =           1.0000E+06",
    "CRPIX3  =                  1.0",
    "CUNIT3  = 'Hz      '",
];

const VRAD_AXIS: [&str; 5] = [
    "CTYPE3  = 'VRAD    '",
    "CRVAL3  =                  0.0",
    "CDELT3  =              -2000.0",
    "CRPIX3  =                  1.0",
    "CUNIT3  = 'm/s     '",
];

async fn serve_file(State(up): State<Upstream>, Path(name): Path<String>, headers: HeaderMap) -> Response {
    up.hit(&name);
    match name.as_str() {
        "cube.fits" => cube(20, 16, 12, &FREQ_AXIS).into_response(),
        "vrad.fits" => cube(4, 4, 6, &VRAD_AXIS).into_response(),
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
    crate::common::upstream::start(serve_file).await
}

fn with_upstream(base: String) -> impl FnOnce(&mut Settings) {
    crate::common::upstream::source(base, 2)
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
            .all(|r| r.source == "up" && r.path == "a.fits" && r.principal.starts_with("admin@"))
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
    let mut settings = crate::common::settings(&dir, &url);
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

/// The status and the error body of a SODA request.
async fn soda_error(app: &TestApp, query: &str) -> (u16, serde_json::Value) {
    let res = get(app, &format!("/api/soda/up/sync?{query}"), &[]).await;
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or_default())
}

fn band(lo: f64, hi: f64) -> String {
    let text = |v: f64| match v {
        f64::INFINITY => "%2BInf".to_owned(),
        f64::NEG_INFINITY => "-Inf".to_owned(),
        v => format!("{v:e}"),
    };
    format!("BAND={}%20{}", text(lo), text(hi))
}

#[tokio::test]
async fn soda_band_cuts_the_channels_of_a_cube() {
    let (base, _up) = upstream().await;
    let Some(app) = TestApp::spawn_with(Db::Sqlite, with_upstream(base)).await else {
        return;
    };
    let source = ch_fits::Fits::from_vec(cube(20, 16, 12, &FREQ_AXIS)).expect("cube");
    let source_wcs = ch_wcs::Wcs::from_cards(source.hdu(0).expect("hdu").header().cards()).expect("wcs");
    let source_spec = source_wcs.spectral().expect("spectral axis");

    // 1.4025–1.4065 GHz as vacuum wavelengths: channels 3–6.
    let query = format!("ID=cube.fits&{}", band(C / 1.4065e9, C / 1.4025e9));
    let res = get(&app, &format!("/api/soda/up/sync?{query}"), &[]).await;
    assert_eq!(res.status(), 200, "{query}");
    assert_eq!(res.headers()["content-type"], "application/fits");
    let cut = ch_fits::Fits::from_vec(res.bytes().await.expect("body").to_vec()).expect("cutout is FITS");
    let hdu = cut.hdu(0).expect("hdu");
    assert_eq!(hdu.shape(), &[4, 16, 20]);
    let wcs = ch_wcs::Wcs::from_cards(hdu.header().cards()).expect("wcs");
    let spec = wcs.spectral().expect("spectral axis kept");
    for k in 0..4 {
        let got = spec.pixel_to_world(k as f64).expect("frequency");
        let want = source_spec.pixel_to_world((k + 3) as f64).expect("frequency");
        assert!((got - want).abs() < 1e-3, "channel {k}: {got} vs {want}");
    }
    let plane = cut.image_f32(0, 1).expect("plane 1");
    assert_eq!(plane.get(5, 2), Some(425.0), "plane 1 is source channel 4");
    // The sky is kept as well.
    assert_eq!(wcs.pixel_to_world(3.0, 4.0), source_wcs.pixel_to_world(3.0, 4.0));

    // BAND with POS and CHANNEL: the channels both select, in the region's pixels.
    let (ra, dec) = source_wcs.pixel_to_world(12.0, 9.0).expect("world");
    let query = format!(
        "ID=cube.fits&POS=CIRCLE%20{ra}%20{dec}%200.0025&{}&CHANNEL=5%2011",
        band(f64::NEG_INFINITY, C / 1.4035e9)
    );
    let res = get(&app, &format!("/api/soda/up/sync?{query}"), &[]).await;
    assert_eq!(res.status(), 200, "{query}");
    let cut = ch_fits::Fits::from_vec(res.bytes().await.expect("body").to_vec()).expect("cutout is FITS");
    let hdu = cut.hdu(0).expect("hdu");
    assert_eq!(hdu.shape()[0], 7, "channels 5–11");
    assert!(hdu.shape()[1] < 16 && hdu.shape()[2] < 20, "{:?}", hdu.shape());
    let wcs = ch_wcs::Wcs::from_cards(hdu.header().cards()).expect("wcs");
    let f0 = wcs.spectral().and_then(|s| s.pixel_to_world(0.0)).expect("frequency");
    assert!((f0 - 1.405e9).abs() < 1e-3, "{f0}");
    let (x, y) = wcs.world_to_pixel(ra, dec).expect("pixel");
    let img = cut.image_f32(0, 0).expect("plane");
    assert_eq!(img.get(x.round() as usize, y.round() as usize), Some(602.0));

    for (query, status, field, says) in [
        (
            format!("ID=cube.fits&{}", band(0.3, f64::INFINITY)),
            422,
            None,
            "no overlap",
        ),
        (
            format!("ID=cube.fits&{}&CHANNEL=0%202", band(C / 1.4065e9, C / 1.4025e9)),
            422,
            None,
            "no overlap",
        ),
        ("ID=cube.fits&BAND=0.2".to_owned(), 400, Some("BAND"), "BAND"),
        ("ID=cube.fits&BAND=0.22%200.21".to_owned(), 400, Some("BAND"), "BAND"),
        ("ID=cube.fits&BAND=short%20long".to_owned(), 400, Some("BAND"), "BAND"),
        (
            "ID=cube.fits&BAND=0.2%200.3&BAND=0.2%200.3".to_owned(),
            400,
            Some("BAND"),
            "one BAND",
        ),
        ("ID=vrad.fits&BAND=0.2%200.3".to_owned(), 422, None, "RESTFRQ"),
        (
            "ID=flat.fits&BAND=0.2%200.3".to_owned(),
            400,
            Some("BAND"),
            "spectral axis",
        ),
    ] {
        let (got, body) = soda_error(&app, &query).await;
        assert_eq!(got, status, "{query}: {body}");
        if let Some(f) = field {
            assert_eq!(body["error"]["field"], f, "{query}: {body}");
        }
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{query}: {body}");
    }
}

/// A source restricted to projects: members read it, outsiders get 404 (it is hidden),
/// anonymous callers 401; the same file of a public source is readable by every user.
#[tokio::test]
async fn restricted_sources_are_read_by_their_projects_only() {
    let (base, _up) = upstream().await;
    let Some(app) = TestApp::spawn_with(Db::Sqlite, |s| {
        with_upstream(base)(s);
        if let Some(src) = s.archive.sources.get_mut("up") {
            src.projects = Some(vec!["alpha".into()]);
        }
    })
    .await
    else {
        return;
    };
    let member = app.user("mia", "viewer", &[("alpha", "viewer")]).await;
    let outsider = app.user("otto", "scientist", &[("beta", "owner")]).await;
    let status = |c: &reqwest::Client| c.get(app.url("/api/fits/up/a.fits")).send();
    assert_eq!(status(&member).await.expect("get").status(), 200);
    assert_eq!(status(&outsider).await.expect("get").status(), 404);
    assert_eq!(status(&app.anon).await.expect("get").status(), 401);
    let view = outsider
        .get(app.url("/api/fits/up/a.fits?view=header"))
        .send()
        .await
        .expect("view");
    assert_eq!(view.status(), 404, "metadata views follow the file");
    let soda = outsider
        .get(app.url("/api/soda/up/sync?ID=a.fits&CIRCLE=0+0+1"))
        .send()
        .await
        .expect("soda");
    assert_eq!(soda.status(), 404, "cutouts follow the file");

    // Issue 27: the regions of a restricted source's image follow the source too — hidden
    // from outsiders (whatever form the key takes), read by members, saved by scientists
    // among them.
    let sam = app.user("sam", "scientist", &[("alpha", "member")]).await;
    let regions = |c: &reqwest::Client, image: &str, save: bool| {
        let url = app.url("/api/regions");
        let req = if save {
            c.put(url).json(&serde_json::json!({ "regions": [], "version": 0 }))
        } else {
            c.get(url)
        };
        let req = req.query(&[("image", image)]);
        async move { req.send().await.expect("regions").status().as_u16() }
    };
    for image in [
        "/api/fits/up/a.fits",
        "https://ch.example/api/fits/up/a.fits",
        "/api/soda/up/sync?ID=a.fits&CIRCLE=0+0+1",
    ] {
        assert_eq!(regions(&outsider, image, false).await, 404, "{image}");
        assert_eq!(regions(&outsider, image, true).await, 404, "{image}");
        assert_eq!(regions(&app.anon, image, false).await, 401, "{image}");
        assert_eq!(regions(&member, image, false).await, 200, "{image}");
        assert_eq!(regions(&member, image, true).await, 403, "a viewer: {image}");
        assert_eq!(regions(&sam, image, true).await, 200, "{image}");
    }
    // Images of no configured source stay shared annotations.
    assert_eq!(regions(&outsider, "/samples/m31.fits", true).await, 200);
    app.stop().await;
}

/// Issue 27: a job keeps swapping its result between a real FITS file and a symlink to the
/// server's sign-in key while its owner downloads it for 10 s: every answer is the job's own
/// file or a refusal, never the key (before the fix: the key in 37 of 1,207 answers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_swapped_for_a_symlink_never_serves_what_it_points_to() {
    let Some(app) = TestApp::spawn(Db::Sqlite).await else {
        return;
    };
    let key = app.dir.path().join("data/auth/jwt.key");
    let secret = std::fs::read(&key).expect("the server's signing key exists");
    // The job's own copy of a FITS file, then a loop that swaps x.fits between the copy and a
    // link to the key (rename is atomic, so x.fits is always one or the other).
    let swap = format!(
        "printf 'SIMPLE  =                    T' > real.fits; head -c 2850 /dev/zero | tr '\\0' ' ' >> real.fits; \
         ln -s '{key}' link.fits; cp real.fits x.fits; end=$(( $(date +%s) + 14 )); \
         while [ $(date +%s) -lt $end ]; do cp real.fits tmp.fits; mv tmp.fits x.fits; ln -sf '{key}' tmp.lnk; mv -T tmp.lnk x.fits; done",
        key = key.display()
    );
    let job = app
        .submit_ok(serde_json::json!({ "name": "swapper", "command": swap }))
        .await;
    app.wait_status(job.id, ch_domain::JobStatus::Running).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let url = format!("/api/fits/jobs/{}/x.fits", job.id);
    let until = std::time::Instant::now() + Duration::from_secs(10);
    let (mut served, mut refused, mut total) = (0, 0, 0);
    while std::time::Instant::now() < until {
        let res = get(&app, &url, &[]).await;
        let status = res.status().as_u16();
        let body = res.bytes().await.expect("body");
        total += 1;
        assert!(
            !body
                .windows(secret.len().min(16))
                .any(|w| w == &secret[..secret.len().min(16)]),
            "answer {total} ({status}) carried the key"
        );
        match status {
            200 => {
                assert!(body.starts_with(b"SIMPLE  ="), "a 200 is the job's own FITS file");
                served += 1;
            }
            400 | 404 => refused += 1,
            // The FITS routes' rate limit per address (`archive.rate_limit_per_second`).
            429 => tokio::time::sleep(Duration::from_millis(100)).await,
            other => panic!("unexpected {other}: {:?}", String::from_utf8_lossy(&body)),
        }
    }
    eprintln!("{total} answers: {served} served the job's file, {refused} refused");
    assert!(
        served > 0 && refused > 0,
        "both sides of the swap were seen: {served}/{refused}"
    );
    app.post_empty(&format!("/api/jobs/{}/cancel", job.id)).await;
    app.stop().await;
}
