//! Accounts and authorization over HTTP, on SQLite and PostgreSQL: the route table and the
//! authorization matrix (`routes`), sessions, lockout and limits (`sessions`), cross-site and
//! DNS-rebinding attacks (`attacks`), template-only and public-read sites (`sites`).

mod attacks;
mod routes;
mod server_fns;
mod sessions;
mod sites;

use crate::common::TestApp;
use serde_json::json;

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
