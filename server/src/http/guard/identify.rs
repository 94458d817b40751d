//! Who is calling: an API token (`Authorization: Bearer`) or the session cookies, whose
//! expired access token is rotated with the refresh token (the new cookies go out with the
//! response).

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use ch_api::{Credential, Principal};
use cookie::{Cookie, SameSite};

use super::{Refused, refuse};
use crate::auth::{Auth, Issued};
use crate::http::error::ApiError;

/// Cookie holding the access JWT.
pub const ACCESS_COOKIE: &str = "ch_access";
/// Cookie holding the refresh token (`<session id>.<secret>`).
pub const REFRESH_COOKIE: &str = "ch_refresh";

/// The caller of a request.
pub(super) struct Identified {
    pub principal: Principal,
    /// Credentials rotated for this request, to set as cookies on the response.
    pub issued: Option<Issued>,
    /// The request carried cookies that no longer sign anyone in: clear them.
    pub clear_cookies: bool,
}

impl Identified {
    /// Whether the caller signed in with a browser session (cookies), not an API token.
    pub(super) fn by_cookie(&self) -> bool {
        matches!(
            &self.principal,
            Principal::User {
                credential: Credential::Session { .. },
                ..
            }
        )
    }
}

/// Identifies the caller from `headers`; a malformed `Authorization` or a refused credential
/// is answered at once.
pub(super) async fn identify(auth: &Auth, headers: &HeaderMap) -> Result<Identified, Refused> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or("\u{0}").to_owned());
    if let Some(value) = bearer {
        let Some(token) = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")) else {
            return Err(refuse(
                StatusCode::UNAUTHORIZED,
                "Authorization must be 'Bearer <API token>'",
            ));
        };
        return match auth.authenticate_bearer(token).await {
            Ok(principal) => Ok(Identified {
                principal,
                issued: None,
                clear_cookies: false,
            }),
            Err(e) => Err(Box::new(ApiError::from(e).into_response())),
        };
    }
    let access = cookie_value(headers, ACCESS_COOKIE);
    let refresh = cookie_value(headers, REFRESH_COOKIE);
    let had_cookies = access.is_some() || refresh.is_some();
    match auth.authenticate_cookies(access.as_deref(), refresh.as_deref()).await {
        Ok((principal, issued)) => Ok(Identified {
            clear_cookies: had_cookies && principal == Principal::Anonymous,
            principal,
            issued,
        }),
        Err(e) => Err(Box::new(ApiError::from(e).into_response())),
    }
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
