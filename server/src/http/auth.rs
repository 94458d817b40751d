//! `/api/auth/*`: sign-in (JSON for scripts, a form post for the login page), one-time
//! sign-in links, sign-out, the current user, and password changes.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use ch_api::Principal;
use serde::{Deserialize, Serialize};
use tracing::instrument;

use super::error::{ApiError, ErrorResponse};
use super::extract::{ApiJson, ApiQuery};
use super::guard::{ClientAddr, secure_cookies, session_cookies};
use crate::auth::{Auth, Issued};

/// The caller, as the guard identified them (anonymous when nothing was presented).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller(
            parts
                .extensions
                .get::<Principal>()
                .cloned()
                .unwrap_or(Principal::Anonymous),
        ))
    }
}

/// The client address the guard recorded.
pub fn client(addr: Option<&ClientAddr>) -> String {
    addr.map_or_else(|| "-".to_owned(), |a| a.0.to_string())
}

/// Sign-in request.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// Form posts only: where to go after signing in (a path on this site).
    #[serde(default)]
    pub next: Option<String>,
}

/// The signed-in user.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Me {
    /// The user's id (their notifications' channel is `user:{user_id}:notifications`).
    pub user_id: uuid::Uuid,
    pub username: String,
    /// `admin`, `scientist` or `viewer`.
    pub role: String,
    /// Projects and the role in each.
    #[schema(value_type = Vec<Object>)]
    pub projects: Vec<serde_json::Value>,
    /// `session` or `token`.
    pub credential: String,
}

/// `GET /api/auth/me` body: the user, or `null` for anonymous callers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MeResponse {
    pub user: Option<Me>,
    /// Whether anonymous visitors may read public projects.
    pub public_read: bool,
}

/// A local path to return to: must start with one `/` (no scheme, no other host).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn with_cookies(mut res: Response, issued: Option<&Issued>, secure: bool) -> Response {
    for c in session_cookies(issued, secure) {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}

fn me(p: &Principal) -> Option<Me> {
    let u = p.user()?;
    Some(Me {
        user_id: u.user_id,
        username: u.username.clone(),
        role: u.role.to_string(),
        projects: u
            .memberships
            .iter()
            .map(|m| serde_json::json!({ "project": m.project, "role": m.role.as_str() }))
            .collect(),
        credential: match p {
            Principal::User {
                credential: ch_api::Credential::Token { .. },
                ..
            } => "token".into(),
            _ => "session".into(),
        },
    })
}

/// Sign in with a password: JSON (`{"username","password"}`, answers 200 + cookies or 401) or
/// the login page's form (answers 303 to `next`, or back to the login page with an error).
#[utoipa::path(post, path = "/api/auth/login", request_body = LoginRequest, tag = "auth",
    responses((status = 200, body = MeResponse), (status = 303), (status = 400, body = ErrorResponse),
        (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse)))]
#[instrument(skip_all, err(level = "debug"))]
pub async fn login(State(auth): State<Auth>, req: Request) -> Result<Response, ApiError> {
    let headers = req.headers().clone();
    let addr = req.extensions().get::<ClientAddr>().copied();
    let client = client(addr.as_ref());
    let secure = secure_cookies(&auth, &headers);
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form {
        let axum::Form(body) = axum::Form::<LoginRequest>::from_request(req, &())
            .await
            .map_err(|e| ApiError::bad_request(None, e.body_text()))?;
        let next = safe_next(body.next.as_deref());
        return Ok(match auth.login(&body.username, &body.password, &client).await {
            Ok(issued) => with_cookies(Redirect::to(&next).into_response(), Some(&issued), secure),
            Err(e) => {
                let q = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("error", &e.to_string())
                    .append_pair("next", &next)
                    .finish();
                Redirect::to(&format!("/login?{q}")).into_response()
            }
        });
    }
    let ApiJson(body) = ApiJson::<LoginRequest>::from_request(req, &()).await?;
    let issued = auth.login(&body.username, &body.password, &client).await?;
    let (principal, _) = auth
        .authenticate_cookies(Some(&issued.access), None)
        .await
        .map_err(ApiError::from)?;
    let body = MeResponse {
        user: me(&principal),
        public_read: auth.settings().public_read,
    };
    Ok(with_cookies(Json(body).into_response(), Some(&issued), secure))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// The one-time link's token (`<id>.<secret>`).
    pub token: Option<String>,
}

/// Follow a one-time sign-in link: sets the session cookies and goes to the dashboard.
#[utoipa::path(get, path = "/api/auth/link", params(LinkQuery), tag = "auth",
    responses((status = 303, description = "to the dashboard, or to the login page with an error")))]
pub async fn link(
    State(auth): State<Auth>,
    headers: HeaderMap,
    addr: Option<axum::Extension<ClientAddr>>,
    ApiQuery(q): ApiQuery<LinkQuery>,
) -> Response {
    let client = client(addr.as_ref().map(|a| &a.0));
    let secure = secure_cookies(&auth, &headers);
    match auth
        .login_with_link(q.token.as_deref().unwrap_or_default(), &client)
        .await
    {
        Ok(issued) => with_cookies(Redirect::to("/").into_response(), Some(&issued), secure),
        Err(e) => {
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("error", &e.to_string())
                .finish();
            Redirect::to(&format!("/login?{q}")).into_response()
        }
    }
}

/// Sign out: the session stops working at once (its cookies too) and the cookies are cleared.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", responses((status = 204)))]
pub async fn logout(
    State(auth): State<Auth>,
    Caller(caller): Caller,
    headers: HeaderMap,
    addr: Option<axum::Extension<ClientAddr>>,
) -> Result<Response, ApiError> {
    let client = client(addr.as_ref().map(|a| &a.0));
    auth.logout(&caller, &client).await?;
    let secure = secure_cookies(&auth, &headers);
    Ok(with_cookies(StatusCode::NO_CONTENT.into_response(), None, secure))
}

/// The caller: the signed-in user with role and projects, or `null`.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth", responses((status = 200, body = MeResponse)))]
pub async fn current(State(auth): State<Auth>, Caller(caller): Caller) -> Json<MeResponse> {
    Json(MeResponse {
        user: me(&caller),
        public_read: auth.settings().public_read,
    })
}

/// A password change.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// 10–256 characters, no control characters.
    #[schema(min_length = 10, max_length = 256, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub new_password: String,
}

/// Change your password; every session of yours (this one too) is signed out.
#[utoipa::path(post, path = "/api/auth/password", request_body = PasswordChange, tag = "auth",
    responses((status = 204), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn password(
    State(auth): State<Auth>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    auth.change_own_password(&caller, &body.current_password, &body.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/jobs/1?x=2")), "/jobs/1?x=2");
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil",
            "javascript:x",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
