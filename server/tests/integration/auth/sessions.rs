//! Sessions: sign-in, refresh, sign-out, password changes, disabling, links; lockout and
//! write limits.

use serde_json::{Value, json};

use crate::auth::sign_in;
use crate::common::{Db, TestApp, client_with, token_for};

both_backends! {
    sessions_sign_in_refresh_and_sign_out => sessions;
    sign_in_lockout_and_write_rate_limits => limits;
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
    let mia_token = token_for(
        &crate::common::settings(&app.dir, &app.database_url),
        "mia",
        &["read"],
        None,
    )
    .await;
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
    // An admin cannot lock themselves out.
    let res = app
        .client
        .patch(app.url("/api/users/admin"))
        .json(&json!({ "disabled": true }))
        .send()
        .await
        .expect("disable self");
    assert_eq!(res.status(), 409, "disabling your own account");
    // Issue 27: an unknown user is 404, and only the documented object is read.
    let (status, body) = app
        .send_json("PATCH", "/api/users/nobody", &json!({ "disabled": true }))
        .await;
    assert_eq!(status, 404, "{body}");
    for (bad, says) in [
        (json!({}), "missing field `disabled`"),
        (json!([true]), "invalid type"),
        (json!({ "disabled": "yes" }), "must be true or false"),
        (json!({ "disabled": true, "role": "admin" }), "unknown field `role`"),
    ] {
        let (status, body) = app.send_json("PATCH", "/api/users/mia", &bad).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert!(body.to_string().contains(says), "{bad}: {body}");
    }
    let (_, users) = app.get_json("/api/users").await;
    assert!(
        users
            .as_array()
            .is_some_and(|u| u.iter().all(|u| u["disabled"] != true)),
        "no refused body disabled anyone: {users}"
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
    let settings = crate::common::settings(&app.dir, &app.database_url);
    let store = server::store::Store::connect(&app.database_url).await.expect("store");
    let auth = server::auth::Auth::open(store, &settings).await.expect("auth");
    let user = auth.store().user_by_name("mia").await.expect("q").expect("mia");
    let link = auth.login_link(user.user_id).await.expect("link");
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(crate::common::REQUEST_TIMEOUT)
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
    // An account made for links only (as the first-start admin) sets its first password from
    // the session the link opened, without a current one.
    let lina = auth
        .create_user(
            &server::auth::Auth::operator(),
            "lina",
            None,
            ch_api::GlobalRole::Scientist,
        )
        .await
        .expect("lina");
    let link = auth.login_link(lina.user_id).await.expect("link");
    let res = no_redirect.get(app.url(&link)).send().await.expect("link");
    let cookie: Vec<String> = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|c| c.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect();
    let res = app
        .anon
        .post(app.url("/api/auth/password"))
        .header("cookie", cookie.join("; "))
        .json(&json!({ "current_password": "", "new_password": "lina's first password" }))
        .send()
        .await
        .expect("password");
    assert_eq!(res.status(), 204);
    sign_in(&app, "lina", "lina's first password").await;
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
