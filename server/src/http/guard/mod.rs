//! The request guard, in front of every route. In order: answers only configured host names
//! ([`hosts`], against DNS rebinding), takes the route table's rule ([`rules`], deny by
//! default), refuses cross-site writes ([`cross_site`]), identifies the caller — API token or
//! session cookies, rotating an expired session's credentials ([`identify`]) — admits the
//! caller to the route, limits writes per user or token and sign-ins per address ([`limits`]),
//! and sets the security headers on every answer ([`headers`]).

mod cross_site;
mod headers;
mod hosts;
mod identify;
mod limits;
mod rules;

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::warn;

pub use headers::{CspNonce, csp};
pub use identify::{ACCESS_COOKIE, REFRESH_COOKIE, secure_cookies, session_cookies};

use super::error::ApiError;
use super::routes::{RouteRules, Rule};
use crate::auth::Auth;

/// The client's address, for audit records and limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Shared state of the guard; cheap to clone.
#[derive(Clone)]
pub struct Guard {
    auth: Auth,
    rules: RouteRules,
    hosts: hosts::Hosts,
    limits: limits::Limits,
}

impl Guard {
    /// `listen` is the bound address: its host is allowed besides the configured names.
    pub fn new(auth: Auth, rules: RouteRules, listen: SocketAddr) -> Self {
        let s = auth.settings();
        Self {
            rules,
            hosts: hosts::Hosts::new(&s.allowed_hosts, listen),
            limits: limits::Limits::new(s),
            auth,
        }
    }
}

/// The answer to a refused request (boxed: a response is large, and refusals are rare).
type Refused = Box<Response>;

/// A refusal in the API's JSON error shape.
fn refuse(status: StatusCode, message: impl Into<String>) -> Refused {
    Box::new(
        ApiError::Status {
            status,
            field: None,
            message: message.into(),
        }
        .into_response(),
    )
}

/// The middleware; see the module docs for the order of checks.
pub async fn guard(State(g): State<Guard>, mut req: Request, next: Next) -> Response {
    // Pages get a fresh nonce for their inline scripts; API answers and files need none.
    let page = req.extensions().get::<MatchedPath>().is_some() && !req.uri().path().starts_with("/api/");
    let nonce = page.then(|| hex::encode(rand::random::<[u8; 16]>()));
    if let Some(n) = &nonce {
        req.extensions_mut().insert(CspNonce(n.clone()));
    }
    let mut res = match check(&g, req).await {
        Ok((req, caller)) => respond(&g, req, caller, next).await,
        Err(refused) => *refused,
    };
    headers::security_headers(&mut res, nonce.as_deref());
    res
}

/// Every check before the route runs; the request (with its [`ClientAddr`]) and its caller,
/// or the answer that refuses it.
async fn check(g: &Guard, mut req: Request) -> Result<(Request, identify::Identified), Refused> {
    let headers = req.headers().clone();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
        .unwrap_or_default();
    if !g.hosts.allows(&host) {
        return Err(refuse(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "host '{}' is not served here (see auth.allowed_hosts)",
                host.escape_debug()
            ),
        ));
    }
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    req.extensions_mut().insert(ClientAddr(client));
    let method = req.method().clone();
    let pattern = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let rule = rules::rule_for(&g.rules, pattern.as_deref())?;
    cross_site::check_origin(&method, &headers, &host).map_err(|(refused, why)| {
        warn!(%client, route = ?pattern, "{why}");
        refused
    })?;
    let caller = identify::identify(&g.auth, &headers).await?;
    let anonymous = caller.principal.user().is_none();
    rules::admit(rule, anonymous, g.auth.settings().public_read, &method, req.uri())?;
    if rule != Rule::Public {
        cross_site::check_body(caller.by_cookie(), &method, &headers)?;
    }
    // Server functions are all POSTs; by this code base's convention the reading ones are
    // named `get_*` and are not counted as writes.
    let reading_fn = rule == Rule::ServerFn && req.uri().path().starts_with("/api/get_");
    g.limits.check(&limits::Request {
        method: &method,
        pattern: pattern.as_deref(),
        counted: rule != Rule::Public && !reading_fn,
        principal: &caller.principal,
        client,
    })?;
    Ok((req, caller))
}

/// Runs the route as `caller`; sets the cookies of rotated (or cleared) credentials.
async fn respond(g: &Guard, mut req: Request, caller: identify::Identified, next: Next) -> Response {
    let secure = secure_cookies(&g.auth, req.headers());
    req.extensions_mut().insert(caller.principal);
    let mut res = next.run(req).await;
    let cookies = match (&caller.issued, caller.clear_cookies) {
        (Some(i), _) => session_cookies(Some(i), secure),
        (None, true) if !res.headers().contains_key(header::SET_COOKIE) => session_cookies(None, secure),
        _ => Vec::new(),
    };
    for c in cookies {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}
