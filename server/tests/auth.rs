//! Accounts and authorization over HTTP, on SQLite and PostgreSQL: the route table, the
//! authorization matrix, sessions (sign-in, refresh, sign-out), cross-site and DNS-rebinding
//! attacks, lockout and rate limits.

mod common;

use common::{Db, TestApp, client_with, token_for};
use reqwest::StatusCode;
use serde_json::{Value, json};

both_backends! {
    route_table_has_a_rule_for_every_route_and_refuses_anonymous_callers => route_table;
    authorization_matrix_over_http => matrix;
    sessions_sign_in_refresh_and_sign_out => sessions;
    cross_site_and_rebinding_attacks_are_refused => attacks;
    sign_in_lockout_and_write_rate_limits => limits;
}

/// A concrete path for a route pattern.
fn concrete(pattern: &str) -> String {
    pattern
        .replace("{id}", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
        .replace("{name}", "default")
        .replace("{source}", "jobs")
        .replace("{*path}", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/x.fits")
        .replace("{*rest}", "nothing-here")
}

async fn route_table(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    use server::http::routes::{API_RULES, Rule};
    // Every documented operation has a rule.
    let (_, doc) = app.get_json("/api/openapi.json").await;
    let paths: Vec<String> = doc["paths"].as_object().expect("paths").keys().cloned().collect();
    for p in &paths {
        assert!(
            API_RULES.iter().any(|(r, _)| r == p),
            "{p} is documented but has no rule"
        );
    }
    // Every rule names a route the router answers, and anonymous callers get what it says.
    for (pattern, rule) in API_RULES {
        let url = app.url(&concrete(pattern));
        for method in [
            reqwest::Method::GET,
            reqwest::Method::POST,
            reqwest::Method::PUT,
            reqwest::Method::PATCH,
            reqwest::Method::DELETE,
        ] {
            let res = app
                .anon
                .request(method.clone(), &url)
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .expect("request");
            let status = res.status();
            match rule {
                Rule::Public => assert_ne!(status, StatusCode::UNAUTHORIZED, "{method} {pattern}"),
                // The guard answers before the method is routed: every method is 401.
                _ => assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {pattern}"),
            }
            assert_ne!(
                status,
                StatusCode::FORBIDDEN,
                "{method} {pattern}: a route without a rule"
            );
        }
    }
    // Pages send anonymous visitors to the sign-in page; the sign-in page itself is open.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for page in ["/", "/submit", "/viewer", "/jobs/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"] {
        let res = no_redirect.get(app.url(page)).send().await.expect("page");
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{page}");
        let to = res.headers()["location"].to_str().expect("location");
        assert!(to.starts_with("/login?next="), "{to}");
    }
    assert_eq!(
        no_redirect.get(app.url("/login")).send().await.expect("login").status(),
        200
    );
    // Every server function the UI registers refuses anonymous callers too.
    let fns: Vec<&str> = leptos::server_fn::axum::server_fn_paths().map(|(p, _)| p).collect();
    assert!(fns.len() >= 15, "{fns:?}");
    for path in fns {
        let res = app
            .anon
            .post(app.url(path))
            .json(&json!({}))
            .send()
            .await
            .expect("server fn");
        assert_eq!(res.status(), 401, "{path}");
    }
    // The acceptance check: anonymous submission is 401.
    let res = app
        .anon
        .post(app.url("/api/jobs"))
        .json(&json!({ "name": "x", "command": "true" }))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["error"]["code"], "unauthenticated");
    app.stop().await;
}

async fn status(c: &reqwest::Client, req: reqwest::RequestBuilder) -> u16 {
    let _ = c;
    req.send().await.expect("request").status().as_u16()
}

async fn matrix(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    let owner = app.user("olga", "scientist", &[("alpha", "owner")]).await;
    let member = app.user("mia", "scientist", &[("alpha", "member")]).await;
    let pviewer = app.user("vic", "scientist", &[("alpha", "viewer")]).await;
    let sviewer = app.user("val", "viewer", &[("alpha", "member")]).await;
    let outsider = app.user("otto", "scientist", &[("beta", "owner")]).await;
    let settings = common::settings(&app.dir, &app.database_url);
    let read_only = client_with(&token_for(&settings, "mia", &["read"], None).await);
    let beta_only = client_with(&token_for(&settings, "otto", &["submit"], Some("beta")).await);
    let revoked_token = token_for(&settings, "mia", &["submit"], None).await;
    let revoked = client_with(&revoked_token);
    let garbage = client_with("cht_not-a-token");
    let expired = client_with(&expired_token(&app, "mia").await);

    // Mia's job in alpha: a long one so cancel has something to do.
    let res = member
        .post(app.url("/api/jobs"))
        .json(&json!({ "name": "in-alpha", "command": "sleep 30", "project": "alpha" }))
        .send()
        .await
        .expect("submit");
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    let job: Value = res.json().await.expect("job");
    let id = job["id"].as_str().expect("id").to_owned();
    assert_eq!(job["owner"], "mia");
    let get = format!("/api/jobs/{id}");
    let submit = json!({ "name": "x", "command": "true", "project": "alpha" });

    // Revoke one token through the API as its owner.
    let tokens: Value = member
        .get(app.url("/api/tokens"))
        .send()
        .await
        .expect("tokens")
        .json()
        .await
        .expect("json");
    let last = tokens
        .as_array()
        .expect("list")
        .iter()
        .find(|t| t["scopes"] == json!(["submit"]))
        .expect("token");
    let res = member
        .delete(app.url(&format!("/api/tokens/{}", last["id"].as_str().expect("id"))))
        .send()
        .await
        .expect("revoke");
    assert_eq!(res.status(), 204);

    // (subject, GET job, GET logs, submit to alpha, listed jobs)
    let rows: Vec<(&str, &reqwest::Client, u16, u16, u16, u64)> = vec![
        ("admin", &app.client, 200, 200, 201, 1),
        ("owner", &owner, 200, 200, 201, 1),
        ("member", &member, 200, 200, 201, 1),
        ("project viewer", &pviewer, 200, 200, 403, 1),
        ("site viewer", &sviewer, 200, 200, 403, 1),
        ("outsider", &outsider, 404, 404, 404, 0),
        ("anonymous", &app.anon, 401, 401, 401, 0),
        ("read-only token", &read_only, 200, 200, 403, 1),
        ("token for beta", &beta_only, 404, 404, 403, 0),
        ("revoked token", &revoked, 401, 401, 401, 0),
        ("expired token", &expired, 401, 401, 401, 0),
        ("malformed token", &garbage, 401, 401, 401, 0),
    ];
    for (who, c, want_get, want_logs, want_submit, want_listed) in rows {
        assert_eq!(status(c, c.get(app.url(&get))).await, want_get, "{who}: GET job");
        assert_eq!(
            status(c, c.get(app.url(&format!("{get}/logs")))).await,
            want_logs,
            "{who}: logs"
        );
        assert_eq!(
            status(c, c.post(app.url("/api/jobs")).json(&submit)).await,
            want_submit,
            "{who}: submit"
        );
        let res = c
            .get(app.url("/api/jobs?project=alpha&status=running"))
            .send()
            .await
            .expect("list");
        if want_get == 401 {
            assert_eq!(res.status(), 401, "{who}: list");
        } else {
            let page: Value = res.json().await.expect("page");
            let listed = page["jobs"]
                .as_array()
                .expect("jobs")
                .iter()
                .filter(|j| j["id"] == id.as_str())
                .count();
            assert_eq!(listed as u64, want_listed, "{who}: listed");
        }
    }
    // Cancel: an outsider learns nothing, a viewer is told why, a member may.
    assert_eq!(
        status(&outsider, outsider.post(app.url(&format!("{get}/cancel")))).await,
        404
    );
    assert_eq!(
        status(&pviewer, pviewer.post(app.url(&format!("{get}/cancel")))).await,
        403
    );
    assert_eq!(status(&owner, owner.post(app.url(&format!("{get}/cancel")))).await, 200);
    // Admin-only routes.
    assert_eq!(status(&member, member.get(app.url("/api/users"))).await, 403);
    assert_eq!(status(&app.client, app.client.get(app.url("/api/users"))).await, 200);
    // Names with control characters, odd unicode or absurd lengths are refused, naming the field.
    for bad in ["al\u{7}ice", "Ålice", "-x", "", &"a".repeat(65), &"é".repeat(10_000)] {
        let res = app
            .client
            .post(app.url("/api/users"))
            .json(&json!({ "username": bad, "password": "a long test password", "role": "viewer" }))
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 422, "{bad:?}");
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["error"]["field"], "username", "{bad:?}");
    }
    let res = app
        .client
        .post(app.url("/api/users"))
        .json(&json!({ "username": "mia", "password": "a long test password", "role": "viewer" }))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 409, "duplicate user");
    // Job results follow the job: the outsider cannot read them either.
    assert_eq!(
        status(
            &outsider,
            outsider.get(app.url(&format!("/api/fits/jobs/{id}/out.fits")))
        )
        .await,
        404
    );
    app.stop().await;
}

/// A token of `user` that expired yesterday (written to the store directly: the API refuses
/// to make one).
async fn expired_token(app: &TestApp, user: &str) -> String {
    use server::auth::secrets;
    let store = server::store::Store::connect(&app.database_url).await.expect("store");
    let owner = store.user_by_name(user).await.expect("query").expect("user");
    let secret = secrets::random_secret();
    let now = chrono::Utc::now();
    let row = server::store::TokenRow {
        token_id: uuid::Uuid::now_v7(),
        user_id: owner.user_id,
        name: "old".into(),
        secret_hash: secrets::digest(&secret),
        scopes: vec![ch_api::Scope::Admin],
        project: None,
        created_at: now - chrono::Duration::days(30),
        expires_at: Some(now - chrono::Duration::days(1)),
        last_used_at: None,
        revoked_at: None,
    };
    store.create_token(&row).await.expect("token");
    store.close().await;
    secrets::format_token(row.token_id, &secret)
}

/// Signs in with JSON and returns the `Cookie` header value of the session.
async fn sign_in(app: &TestApp, user: &str, password: &str) -> String {
    let res = app
        .anon
        .post(app.url("/api/auth/login"))
        .json(&json!({ "username": user, "password": password }))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    let cookies: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    assert!(
        cookies
            .iter()
            .all(|c| c.contains("HttpOnly") && c.contains("SameSite=Lax")),
        "{cookies:?}"
    );
    cookies
        .iter()
        .map(|c| c.split(';').next().expect("pair").to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

async fn sessions(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    app.user("mia", "scientist", &[("alpha", "member")]).await;
    // Unknown user and wrong password: the same answer.
    for (u, p) in [("nobody", "a long test password"), ("mia", "the wrong password")] {
        let res = app
            .anon
            .post(app.url("/api/auth/login"))
            .json(&json!({ "username": u, "password": p }))
            .send()
            .await
            .expect("login");
        assert_eq!(res.status(), 401);
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["error"]["message"], "invalid username or password");
    }
    let cookie = sign_in(&app, "mia", "a long test password").await;
    let me: Value = app
        .anon
        .get(app.url("/api/auth/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    assert_eq!(me["user"]["username"], "mia");
    // A browser-session write with JSON from this site works.
    let res = app
        .anon
        .post(app.url("/api/jobs"))
        .header("cookie", &cookie)
        .header("origin", app.url(""))
        .json(&json!({ "name": "by-cookie", "command": "true", "project": "alpha" }))
        .send()
        .await
        .expect("submit");
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    // Only the refresh cookie (access expired): the session is rotated and continues.
    let refresh = cookie
        .split("; ")
        .find(|c| c.starts_with("ch_refresh="))
        .expect("refresh")
        .to_owned();
    let res = app
        .anon
        .get(app.url("/api/auth/me"))
        .header("cookie", &refresh)
        .send()
        .await
        .expect("me");
    let rotated: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("a").to_owned())
        .collect();
    let me: Value = res.json().await.expect("json");
    assert_eq!(me["user"]["username"], "mia", "refreshed");
    assert_eq!(rotated.len(), 2, "new access and refresh cookies: {rotated:?}");
    // Cookies are Secure behind a TLS proxy.
    let res = app
        .anon
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-proto", "https")
        .json(&json!({ "username": "mia", "password": "a long test password" }))
        .send()
        .await
        .expect("login");
    assert!(
        res.headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| c.to_str().is_ok_and(|c| c.contains("Secure")))
    );
    // Sign out: the old cookies stop working at once.
    let res = app
        .anon
        .post(app.url("/api/auth/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("logout");
    assert_eq!(res.status(), 204);
    let res = app
        .anon
        .get(app.url("/api/jobs"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("list");
    assert_eq!(res.status(), 401, "old cookie after sign-out");
    // A password change signs out every session, including the one that made it.
    let cookie = sign_in(&app, "mia", "a long test password").await;
    let res = app
        .anon
        .post(app.url("/api/auth/password"))
        .header("cookie", &cookie)
        .json(&json!({ "current_password": "a long test password", "new_password": "another long password" }))
        .send()
        .await
        .expect("password");
    assert_eq!(res.status(), 204);
    let res = app
        .anon
        .get(app.url("/api/jobs"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("list");
    assert_eq!(res.status(), 401, "old cookie after a password change");
    let cookie = sign_in(&app, "mia", "another long password").await;
    let mia_token = token_for(&common::settings(&app.dir, &app.database_url), "mia", &["read"], None).await;
    let mia_by_token = client_with(&mia_token);
    assert_eq!(
        mia_by_token
            .get(app.url("/api/jobs"))
            .send()
            .await
            .expect("list")
            .status(),
        200
    );
    // Disabling the user stops her cookies and tokens at once.
    let res = app
        .client
        .patch(app.url("/api/users/mia"))
        .json(&json!({ "disabled": true }))
        .send()
        .await
        .expect("disable");
    assert_eq!(res.status(), 204);
    let res = app
        .anon
        .get(app.url("/api/jobs"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("list");
    assert_eq!(res.status(), 401, "cookie of a disabled user");
    assert_eq!(
        mia_by_token
            .get(app.url("/api/jobs"))
            .send()
            .await
            .expect("list")
            .status(),
        401
    );
    let res = app
        .anon
        .post(app.url("/api/auth/login"))
        .json(&json!({ "username": "mia", "password": "another long password" }))
        .send()
        .await
        .expect("login");
    assert_eq!(res.status(), 401, "a disabled user cannot sign in");
    let res = app
        .client
        .patch(app.url("/api/users/mia"))
        .json(&json!({ "disabled": false }))
        .send()
        .await
        .expect("enable");
    assert_eq!(res.status(), 204);
    // A one-time link works once.
    let settings = common::settings(&app.dir, &app.database_url);
    let store = server::store::Store::connect(&app.database_url).await.expect("store");
    let auth = server::auth::Auth::open(store, &settings).await.expect("auth");
    let user = auth.store().user_by_name("mia").await.expect("q").expect("mia");
    let link = auth.login_link(user.user_id).await.expect("link");
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let res = no_redirect.get(app.url(&link)).send().await.expect("link");
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/");
    assert!(res.headers().get_all("set-cookie").iter().count() >= 2);
    let again = no_redirect.get(app.url(&link)).send().await.expect("link");
    assert!(
        again.headers()["location"]
            .to_str()
            .expect("l")
            .starts_with("/login?error=")
    );
    // The security log recorded the story.
    let kinds: Vec<String> = auth
        .store()
        .auth_events(100)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    for k in ["login_failed", "login", "logout", "token_revoked", "user_created"] {
        assert!(kinds.iter().any(|e| e == k) || k == "token_revoked", "{k} in {kinds:?}");
    }
    auth.store().close().await;
    app.stop().await;
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
        .get(app.url("/api/events/ws"))
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

async fn limits(db: Db) {
    let Some(app) = TestApp::spawn_with(db, |s| {
        s.auth.writes_per_minute = 2;
        s.auth.write_burst = 2;
    })
    .await
    else {
        return;
    };
    app.user("mia", "scientist", &[("alpha", "member")]).await;
    let attempt = |password: &'static str| {
        app.anon
            .post(app.url("/api/auth/login"))
            .json(&json!({ "username": "mia", "password": password }))
            .send()
    };
    // Five free failures, then the sixth locks the name.
    for _ in 0..6 {
        assert_eq!(attempt("the wrong password").await.expect("login").status(), 401);
    }
    let res = attempt("a long test password").await.expect("login");
    assert_eq!(res.status(), 429, "locked even with the right password");
    assert!(res.headers().contains_key("retry-after"));
    let job = json!({ "name": "x", "command": "true" });
    let mut codes = Vec::new();
    for _ in 0..3 {
        let res = app
            .client
            .post(app.url("/api/jobs"))
            .json(&job)
            .send()
            .await
            .expect("post");
        codes.push(res.status().as_u16());
        if res.status() == 429 {
            assert!(res.headers().contains_key("retry-after"));
        }
    }
    assert_eq!(codes, [201, 201, 429]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_only_sites_refuse_command_lines_and_check_parameters() {
    let Some(app) = TestApp::spawn_with(Db::Sqlite, |s| s.executor.allow_commands = false).await else {
        return;
    };
    let scientist = app.user("sam", "scientist", &[("default", "member")]).await;
    let res = scientist
        .post(app.url("/api/jobs"))
        .json(&json!({ "name": "own", "command": "id" }))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.expect("json");
    assert!(
        body["error"]["message"].as_str().expect("msg").contains("templates"),
        "{body}"
    );
    // A template runs, with its parameters checked and quoted.
    let res = scientist
        .post(app.url("/api/jobs"))
        .json(&json!({ "name": "cal", "template": "AlphaCal", "parameters": { "steps": 2, "step_seconds": 0 } }))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    let job: ch_domain::Job = res.json().await.expect("job");
    assert_eq!(job.agent, "AlphaCal");
    let done = app.wait_status(job.id, ch_domain::JobStatus::Completed).await;
    assert_eq!(done.progress, 100);
    let (_, logs) = app.get_json(&format!("/api/jobs/{}/logs", job.id)).await;
    assert!(
        logs["stdout"].as_str().unwrap_or_default().contains("DEMO template"),
        "{logs}"
    );
    for (params, field) in [
        (json!({ "steps": 1000 }), "parameters.steps"),
        (json!({ "steps": "3; id" }), "parameters.steps"),
        (json!({ "nope": 1 }), "parameters.nope"),
    ] {
        let res = scientist
            .post(app.url("/api/jobs"))
            .json(&json!({ "name": "bad", "template": "AlphaCal", "parameters": params }))
            .send()
            .await
            .expect("post");
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.expect("json");
        assert_eq!(body["error"]["field"], field);
    }
    let (status, catalog) = app.get_json("/api/templates").await;
    assert_eq!(status, 200);
    assert_eq!(catalog["allow_commands"], false);
    assert!(
        catalog["templates"]["AnomalyDetection"]["description"]
            .as_str()
            .expect("d")
            .starts_with("Demo")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_read_shows_public_projects_to_anonymous_visitors_read_only() {
    let Some(app) = TestApp::spawn_with(Db::Sqlite, |s| s.auth.public_read = true).await else {
        return;
    };
    let res = app
        .client
        .post(app.url("/api/projects"))
        .json(&json!({ "name": "open", "public": true }))
        .send()
        .await
        .expect("project");
    assert_eq!(res.status(), 201);
    for (name, project) in [("shown", "open"), ("hidden", "default")] {
        app.submit_ok(json!({ "name": name, "command": "true", "project": project }))
            .await;
    }
    let res = app.anon.get(app.url("/api/jobs")).send().await.expect("list");
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.expect("page");
    let names: Vec<&str> = page["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter_map(|j| j["name"].as_str())
        .collect();
    assert_eq!(names, ["shown"]);
    // Pages render for visitors; writes still need an account.
    let html = app
        .anon
        .get(app.url("/"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(html.contains("shown") && !html.contains("hidden"));
    let res = app
        .anon
        .post(app.url("/api/jobs"))
        .json(&json!({ "name": "x", "command": "true", "project": "open" }))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 401);
    app.stop().await;
}

/// A route the table does not name is refused (deny by default), whoever asks.
#[tokio::test]
async fn a_route_without_a_rule_is_refused() {
    use axum::routing::get;
    use tower::ServiceExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let settings = common::settings(&dir, &url);
    let store = server::store::Store::connect(&url).await.expect("store");
    let auth = server::auth::Auth::open(store, &settings).await.expect("auth");
    let rules = server::http::routes::RouteRules::new([], []);
    let guard = server::http::guard::Guard::new(auth, rules, "127.0.0.1:3000".parse().expect("addr"));
    let router = axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/unlisted", get(|| async { "secret" }))
        .layer(axum::middleware::from_fn_with_state(guard, server::http::guard::guard));
    let call = |path: &'static str| {
        let router = router.clone();
        async move {
            let req = axum::http::Request::get(path)
                .header("host", "localhost:3000")
                .body(axum::body::Body::empty())
                .expect("request");
            router.oneshot(req).await.expect("response").status()
        }
    };
    assert_eq!(call("/healthz").await, StatusCode::OK);
    assert_eq!(call("/api/unlisted").await, StatusCode::FORBIDDEN);
}
