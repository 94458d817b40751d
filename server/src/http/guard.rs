//! The request guard, in front of every route: answers only configured host names (DNS
//! rebinding), identifies the caller (API token or session cookies, rotating an expired
//! session's credentials), applies the route table's rule (deny by default), refuses
//! cross-site writes (foreign `Origin`, form bodies on cookie-authenticated writes), limits
//! writes per user or token and sign-ins per address, and sets the security headers.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use ch_api::{Credential, Principal, ServiceError};
use cookie::{Cookie, SameSite};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tracing::{error, warn};

use super::error::ApiError;
use super::routes::{RouteRules, Rule};
use crate::auth::{Auth, Issued};

/// Cookie holding the access JWT.
pub const ACCESS_COOKIE: &str = "ch_access";
/// Cookie holding the refresh token (`<session id>.<secret>`).
pub const REFRESH_COOKIE: &str = "ch_refresh";

/// Content-Security-Policy of every response: same-origin everything; WebAssembly may
/// compile (`wasm-unsafe-eval`); inline scripts only with this response's nonce (the
/// hydration bootstrap carries it); inline styles (components set `style` attributes); blobs
/// and data URLs for local files, thumbnails and workers; no framing, no plugins.
pub fn csp(nonce: Option<&str>) -> String {
    let scripts = nonce.map_or_else(String::new, |n| format!(" 'nonce-{n}'"));
    format!(
        "default-src 'self'; script-src 'self'{scripts} 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; \
         base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The CSP nonce of a page request, for the server-side renderer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspNonce(pub String);

/// The client's address, for audit records and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Shared state of the guard.
#[derive(Clone)]
pub struct Guard {
    auth: Auth,
    rules: RouteRules,
    hosts: Arc<Vec<String>>,
    writes: Arc<DefaultKeyedRateLimiter<String>>,
    logins: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    /// Made once: building a quanta clock calibrates it (CPUID), which cost a quarter of the
    /// CPU of every request when done per request.
    clock: DefaultClock,
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    let per = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per).allow_burst(burst)
}

/// The host part of a `Host` value or an authority, lower-cased, without port or brackets.
fn host_name(authority: &str) -> String {
    let a = authority.trim().to_ascii_lowercase();
    if let Some(rest) = a.strip_prefix('[') {
        return rest.split(']').next().unwrap_or_default().to_owned();
    }
    a.rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(a.clone(), |(h, _)| h.to_owned())
}

impl Guard {
    /// `listen` is the bound address: its host is allowed besides the configured names.
    pub fn new(auth: Auth, rules: RouteRules, listen: SocketAddr) -> Self {
        let s = auth.settings();
        let mut hosts: Vec<String> = s.allowed_hosts.iter().map(|h| host_name(h)).collect();
        if hosts.is_empty() {
            hosts = vec![
                "localhost".into(),
                "127.0.0.1".into(),
                "::1".into(),
                listen.ip().to_string(),
            ];
        }
        let writes = RateLimiter::keyed(quota(s.writes_per_minute, s.write_burst));
        let logins = RateLimiter::keyed(quota(s.logins_per_minute, s.logins_per_minute.div_ceil(3)));
        Self {
            rules,
            hosts: Arc::new(hosts),
            writes: Arc::new(writes),
            logins: Arc::new(logins),
            clock: DefaultClock::default(),
            auth,
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host);
        self.hosts.iter().any(|h| h == "*" || *h == name)
    }
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    ApiError::Status {
        status,
        field: None,
        message: message.into(),
    }
    .into_response()
}

fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the request comes from a page of this site (or from no page at all).
fn same_origin(headers: &HeaderMap, host: &str) -> Result<(), String> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("null");
        let authority = origin.split_once("://").map(|(_, a)| a).unwrap_or_default();
        if authority.is_empty() || !authority.eq_ignore_ascii_case(host) {
            return Err(format!("cross-site request refused (Origin {origin} is not this site)"));
        }
        return Ok(());
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("cross-site" | "same-site") => Err("cross-site request refused".into()),
        _ => Ok(()),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<mime::Mime>().ok())
        .is_some_and(|m| {
            m.type_() == mime::APPLICATION && (m.subtype() == mime::JSON || m.suffix() == Some(mime::JSON))
        })
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// `Set-Cookie` values for issued credentials (or, with `None`, clearing both cookies).
pub fn session_cookies(issued: Option<&Issued>, secure: bool) -> Vec<HeaderValue> {
    let make = |name: &'static str, value: String, max_age: i64, site: SameSite| {
        Cookie::build((name, value))
            .http_only(true)
            .secure(secure)
            .same_site(site)
            .path("/")
            .max_age(cookie::time::Duration::seconds(max_age))
            .build()
            .to_string()
    };
    let mut out = Vec::new();
    match issued {
        Some(i) => {
            out.push(make(
                ACCESS_COOKIE,
                i.access.clone(),
                i.access_max_age_secs,
                SameSite::Lax,
            ));
            if let Some(r) = &i.refresh {
                out.push(make(REFRESH_COOKIE, r.clone(), i.refresh_max_age_secs, SameSite::Lax));
            }
        }
        None => {
            out.push(make(ACCESS_COOKIE, String::new(), 0, SameSite::Lax));
            out.push(make(REFRESH_COOKIE, String::new(), 0, SameSite::Lax));
        }
    }
    out.into_iter().filter_map(|c| HeaderValue::from_str(&c).ok()).collect()
}

/// Whether cookies should be `Secure` for this request.
pub fn secure_cookies(auth: &Auth, headers: &HeaderMap) -> bool {
    auth.settings().secure_cookies.unwrap_or_else(|| {
        headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
    })
}

fn security_headers(res: &mut Response, nonce: Option<&str>) {
    let h = res.headers_mut();
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Ok(v) = HeaderValue::from_str(&csp(nonce)) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
}

/// The middleware; see the module docs for the order of checks.
pub async fn guard(State(g): State<Guard>, mut req: Request, next: Next) -> Response {
    // Pages get a fresh nonce for their inline scripts; API answers and files need none.
    let page = req.extensions().get::<MatchedPath>().is_some() && !req.uri().path().starts_with("/api/");
    let nonce = page.then(|| hex::encode(rand::random::<[u8; 16]>()));
    if let Some(n) = &nonce {
        req.extensions_mut().insert(CspNonce(n.clone()));
    }
    let mut res = check(g, req, next).await;
    security_headers(&mut res, nonce.as_deref());
    res
}

async fn check(g: Guard, mut req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default();
    if !g.host_allowed(&host) {
        return refuse(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "host '{}' is not served here (see auth.allowed_hosts)",
                host.escape_debug()
            ),
        );
    }
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    req.extensions_mut().insert(ClientAddr(client));
    let method = req.method().clone();
    let pattern = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let rule = match &pattern {
        // No route matched: the static files of the site root.
        None => Rule::Public,
        Some(p) => match g.rules.get(p) {
            Some(r) => r,
            None => {
                error!(route = %p, "route has no authorization rule; refused");
                return refuse(StatusCode::FORBIDDEN, "this route has no authorization rule");
            }
        },
    };
    let websocket = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if (is_write(&method) || websocket)
        && let Err(why) = same_origin(&headers, &host)
    {
        warn!(%client, route = ?pattern, "{why}");
        return refuse(StatusCode::FORBIDDEN, why);
    }

    // Who is calling.
    let bearer = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}").to_owned());
    let mut issued = None;
    let mut clear_cookies = false;
    let principal = match bearer {
        Some(value) => {
            let Some(token) = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")) else {
                return refuse(StatusCode::UNAUTHORIZED, "Authorization must be 'Bearer <API token>'");
            };
            match g.auth.authenticate_bearer(token).await {
                Ok(p) => p,
                Err(e) => return ApiError::from(e).into_response(),
            }
        }
        None => {
            let access = cookie_value(&headers, ACCESS_COOKIE);
            let refresh = cookie_value(&headers, REFRESH_COOKIE);
            let had_cookies = access.is_some() || refresh.is_some();
            match g.auth.authenticate_cookies(access.as_deref(), refresh.as_deref()).await {
                Ok((p, i)) => {
                    issued = i;
                    clear_cookies = had_cookies && p == Principal::Anonymous;
                    p
                }
                Err(e) => return ApiError::from(e).into_response(),
            }
        }
    };
    let by_cookie = matches!(
        &principal,
        Principal::User {
            credential: Credential::Session { .. },
            ..
        }
    );

    // The route's rule.
    let anonymous = principal.user().is_none();
    let public_read = g.auth.settings().public_read;
    match rule {
        Rule::Public => {}
        Rule::SignedIn if anonymous => return refuse(StatusCode::UNAUTHORIZED, "sign in to continue"),
        Rule::Authorized if anonymous && (!public_read || is_write(&method)) => {
            return refuse(StatusCode::UNAUTHORIZED, "sign in to continue");
        }
        Rule::ServerFn if anonymous && !public_read => {
            return refuse(StatusCode::UNAUTHORIZED, "sign in to continue");
        }
        Rule::Page if anonymous && !public_read => {
            if method == Method::GET {
                let next_path = req.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned();
                let target = format!(
                    "/login?next={}",
                    url::form_urlencoded::byte_serialize(next_path.as_bytes()).collect::<String>()
                );
                return Redirect::to(&target).into_response();
            }
            return refuse(StatusCode::UNAUTHORIZED, "sign in to continue");
        }
        _ => {}
    }

    // Cookie-authenticated writes must be JSON (a cross-site form cannot send that).
    if by_cookie && is_write(&method) && rule != Rule::Public && !is_json(&headers) {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "writes from a browser session must send Content-Type: application/json",
        );
    }

    // Limits.
    let clock = &g.clock;
    if is_write(&method)
        && pattern.as_deref() == Some("/api/auth/login")
        && let Err(not_until) = g.logins.check_key(&client)
    {
        let wait = not_until.wait_time_from(clock.now()).as_secs().max(1);
        return ApiError::from(ServiceError::RateLimited {
            message: format!("too many sign-in attempts from this address; retry in {wait} s"),
            retry_after_secs: wait,
        })
        .into_response();
    }
    // Server functions are all POSTs; by this code base's convention the reading ones are
    // named `get_*` and are not counted as writes.
    let reading_fn = rule == Rule::ServerFn && req.uri().path().starts_with("/api/get_");
    if is_write(&method) && rule != Rule::Public && !reading_fn {
        let key = match &principal {
            Principal::User {
                credential: Credential::Token { token_id, .. },
                ..
            } => Some(format!("token:{token_id}")),
            Principal::User { user, .. } => Some(format!("user:{}", user.user_id)),
            Principal::Anonymous => None,
        };
        if let Some(key) = key
            && let Err(not_until) = g.writes.check_key(&key)
        {
            let wait = not_until.wait_time_from(clock.now()).as_secs().max(1);
            return ApiError::from(ServiceError::RateLimited {
                message: format!("too many writes; retry in {wait} s"),
                retry_after_secs: wait,
            })
            .into_response();
        }
    }

    req.extensions_mut().insert(principal);
    let secure = secure_cookies(&g.auth, &headers);
    let mut res = next.run(req).await;
    let cookies = match (&issued, clear_cookies) {
        (Some(i), _) => session_cookies(Some(i), secure),
        (None, true) if !res.headers().contains_key(header::SET_COOKIE) => session_cookies(None, secure),
        _ => Vec::new(),
    };
    for c in cookies {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_drop_ports_and_brackets() {
        assert_eq!(host_name("LocalHost:3000"), "localhost");
        assert_eq!(host_name("[::1]:8080"), "::1");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
        assert_eq!(host_name("evil.example"), "evil.example");
    }

    #[test]
    fn origins_must_match_the_host() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h, "127.0.0.1:3000").is_ok());
        h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:3000"));
        assert!(same_origin(&h, "127.0.0.1:3000").is_ok());
        assert!(same_origin(&h, "127.0.0.1:3001").is_err());
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(same_origin(&h, "127.0.0.1:3000").is_err());
        let mut h = HeaderMap::new();
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(same_origin(&h, "x").is_err());
    }

    #[test]
    fn json_content_types() {
        let mut h = HeaderMap::new();
        assert!(!is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        assert!(is_json(&h));
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        assert!(!is_json(&h));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert!(!is_json(&h));
    }
}
