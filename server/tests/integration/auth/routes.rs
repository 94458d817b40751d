//! The route table and the authorization matrix.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Db, TestApp, client_with, token_for};

both_backends! {
    route_table_has_a_rule_for_every_route_and_refuses_anonymous_callers => route_table;
    authorization_matrix_over_http => matrix;
    a_project_restricted_token_sees_only_its_project => restricted_token_view;
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
        .timeout(crate::common::REQUEST_TIMEOUT)
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
    // The sign-in form works before (and without) hydration: the page as the server renders it
    // already carries where to go afterwards.
    let login = no_redirect
        .get(app.url("/login?next=%2Fsubmit"))
        .send()
        .await
        .expect("login")
        .text()
        .await
        .expect("html");
    assert!(
        login.contains(r#"name="next" value="/submit""#),
        "the server-rendered form lacks next: {}",
        login.split("<form").nth(1).unwrap_or_default()
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
    let settings = crate::common::settings(&app.dir, &app.database_url);
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

/// A route the table does not name is refused (deny by default), whoever asks.
#[tokio::test]
async fn a_route_without_a_rule_is_refused() {
    use axum::routing::get;
    use tower::ServiceExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let settings = crate::common::settings(&dir, &url);
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

/// Issue 27: an API token restricted to one project lists that project only, and only the
/// owner's tokens for that project; it cannot revoke the owner's other tokens.
async fn restricted_token_view(db: Db) {
    let Some(app) = TestApp::spawn(db).await else { return };
    let full = app
        .user("pia", "scientist", &[("alpha", "member"), ("beta", "member")])
        .await;
    let (status, _) = app
        .send_json("POST", "/api/projects", &json!({ "name": "open", "public": true }))
        .await;
    assert_eq!(status, 201);
    let settings = crate::common::settings(&app.dir, &app.database_url);
    let alpha_only = client_with(&token_for(&settings, "pia", &["read", "submit", "admin"], Some("alpha")).await);
    let _beta_only = token_for(&settings, "pia", &["read"], Some("beta")).await;
    let names = |v: &Value, key: &str| -> Vec<String> {
        let mut n: Vec<String> = v
            .as_array()
            .map(|a| a.iter().filter_map(|p| p[key].as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        n.sort();
        n
    };
    let get = |c: &reqwest::Client, path: &str| {
        let req = c.get(app.url(path));
        async move {
            let res = req.send().await.expect("request");
            assert_eq!(res.status(), 200);
            res.json::<Value>().await.expect("json")
        }
    };
    assert_eq!(
        names(&get(&full, "/api/projects").await, "name"),
        ["alpha", "beta", "open"]
    );
    assert_eq!(names(&get(&alpha_only, "/api/projects").await, "name"), ["alpha"]);
    let all = get(&full, "/api/tokens").await;
    assert_eq!(all.as_array().map(Vec::len), Some(3), "{all}");
    let seen = get(&alpha_only, "/api/tokens").await;
    let projects: Vec<&str> = seen
        .as_array()
        .map(|a| a.iter().map(|t| t["project"].as_str().unwrap_or("-")).collect())
        .unwrap_or_default();
    assert_eq!(projects, ["alpha"], "{seen}");
    let unrestricted = all
        .as_array()
        .and_then(|a| a.iter().find(|t| t["project"].is_null()))
        .and_then(|t| t["id"].as_str())
        .expect("the unrestricted token")
        .to_owned();
    let res = alpha_only
        .delete(app.url(&format!("/api/tokens/{unrestricted}")))
        .send()
        .await
        .expect("revoke");
    assert_eq!(res.status(), 404);
    assert_eq!(
        get(&full, "/api/tokens").await.as_array().map(Vec::len),
        Some(3),
        "still valid"
    );
    app.stop().await;
}
