//! Cross-site requests, DNS rebinding, security headers and malformed credentials.

use crate::auth::sign_in;
use crate::common::{Db, TestApp};

both_backends! {
    cross_site_and_rebinding_attacks_are_refused => attacks;
}

async fn attacks(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    app.user("mia", "scientist", &[("alpha", "member")]).await;
    let cookie = sign_in(&app, "mia", "a long test password").await;
    // A cross-site form post (url-encoded body, foreign Origin) to the submit route and to a
    // server function.
    for path in ["/api/jobs", "/api/post_job"] {
        let res = app
            .anon
            .post(app.url(path))
            .header("cookie", &cookie)
            .header("origin", "http://evil.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .body("name=x&command=id")
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 403, "{path}");
    }
    // Same origin but a form body on a cookie-authenticated write: refused too.
    let res = app
        .anon
        .post(app.url("/api/jobs"))
        .header("cookie", &cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("name=x&command=id")
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 415);
    // WebSocket from a foreign page.
    let res = app
        .anon
        .get(app.url("/api/realtime/ws"))
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .expect("ws");
    assert_eq!(res.status(), 403);
    // DNS rebinding: a foreign Host name.
    let res = app
        .client
        .get(app.url("/api/jobs"))
        .header("host", "rebind.evil.example")
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), 421);
    // Security headers.
    let res = app.anon.get(app.url("/login")).send().await.expect("login page");
    let h = res.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().expect("csp").to_owned();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(
        !csp.contains("'unsafe-inline'; style"),
        "inline scripts need the nonce: {csp}"
    );
    // The page's inline scripts carry this response's nonce, and only this one.
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .expect("nonce")
        .to_owned();
    let html = res.text().await.expect("html");
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "hydration script lacks the nonce"
    );
    let again = app.anon.get(app.url("/login")).send().await.expect("page");
    let other = again.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert_ne!(other, csp, "a nonce is used once");
    // Malformed credentials are a 401 that names the problem, never a 500.
    for value in [
        "Basic abc",
        "Bearer ",
        "Bearer cht_x",
        &format!("Bearer {}", "a".repeat(10_000)),
    ] {
        let res = app
            .anon
            .get(app.url("/api/jobs"))
            .header("authorization", value)
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), 401, "{}", &value[..value.len().min(20)]);
    }
    app.stop().await;
}
