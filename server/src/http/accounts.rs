//! `/api/tokens`, `/api/users`, `/api/projects`: API tokens of the caller, and the site's
//! users and projects (administration). Thin: each handler calls [`AccountService`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use ch_api::{AccountService, CreatedToken, ProjectInfo, TokenInfo, TokenRequest, UserInfo};
use serde::Deserialize;

use super::auth::Caller;
use super::error::{ApiError, ErrorResponse};
use super::extract::ApiJson;
use crate::auth::Auth;

/// Your API tokens, newest first.
#[utoipa::path(get, path = "/api/tokens", tag = "accounts",
    responses((status = 200, body = Vec<TokenInfo>), (status = 401, body = ErrorResponse)))]
pub async fn list_tokens(State(auth): State<Auth>, Caller(caller): Caller) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    Ok(Json(AccountService::tokens(&auth, &caller).await?))
}

/// Create an API token for your account (answers the secret once).
#[utoipa::path(post, path = "/api/tokens", request_body = TokenRequest, tag = "accounts",
    responses((status = 201, body = CreatedToken), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn create_token(
    State(auth): State<Auth>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let created = AccountService::create_token(&auth, &caller, body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Revoke one of your tokens.
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "accounts",
    params(("id" = uuid::Uuid, Path, description = "token id")),
    responses((status = 204), (status = 400, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn revoke_token(
    State(auth): State<Auth>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = id
        .parse()
        .map_err(|_| ApiError::bad_request(Some("id"), "not a valid token id (expected a UUID)"))?;
    AccountService::revoke_token(&auth, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /api/users`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// 1–64 of `a-z 0-9 . _ -`, starting with a letter or digit.
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub username: String,
    /// Omitted: the user signs in through a link (`cosmic-horizons user login-link`).
    /// 10–256 characters, no control characters.
    #[serde(default)]
    #[schema(min_length = 10, max_length = 256, pattern = r"^[^\x00-\x1F\x7F-\x9F]*$")]
    pub password: Option<String>,
    /// `admin`, `scientist` or `viewer`.
    #[schema(pattern = "^(admin|scientist|viewer)$")]
    pub role: String,
}

/// Body of `PATCH /api/users/{name}`: a JSON object `{"disabled": true|false}`. Anything
/// else (`{}`, an array such as `[true]`, other keys) is refused with 422 naming the problem.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(try_from = "serde_json::Map<String, serde_json::Value>")]
pub struct UserChange {
    /// Disable (`true`: signed out, tokens revoked) or re-enable (`false`) the account.
    pub disabled: bool,
}

impl TryFrom<serde_json::Map<String, serde_json::Value>> for UserChange {
    type Error = String;

    /// Only an object with exactly the documented keys: serde's derived form would also read
    /// `[true]` as `{"disabled": true}`.
    fn try_from(map: serde_json::Map<String, serde_json::Value>) -> Result<Self, String> {
        if let Some(other) = map.keys().find(|k| k.as_str() != "disabled") {
            return Err(format!("unknown field `{other}`, expected `disabled`"));
        }
        match map.get("disabled") {
            Some(serde_json::Value::Bool(disabled)) => Ok(Self { disabled: *disabled }),
            Some(other) => Err(format!("`disabled` must be true or false, not {other}")),
            None => Err("missing field `disabled`".into()),
        }
    }
}

/// Users of the site (admins only).
#[utoipa::path(get, path = "/api/users", tag = "accounts",
    responses((status = 200, body = Vec<UserInfo>), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn list_users(State(auth): State<Auth>, Caller(caller): Caller) -> Result<Json<Vec<UserInfo>>, ApiError> {
    Ok(Json(AccountService::users(&auth, &caller).await?))
}

/// Create a user (admins only).
#[utoipa::path(post, path = "/api/users", request_body = NewUser, tag = "accounts",
    responses((status = 201, body = UserInfo), (status = 400, body = ErrorResponse), (status = 403, body = ErrorResponse),
        (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn create_user(
    State(auth): State<Auth>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewUser>,
) -> Result<impl IntoResponse, ApiError> {
    let user =
        AccountService::create_user(&auth, &caller, &body.username, body.password.as_deref(), &body.role).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Disable or re-enable a user (admins only); disabling signs them out and revokes tokens.
/// An admin cannot disable their own account (409).
#[utoipa::path(patch, path = "/api/users/{name}", request_body = UserChange, tag = "accounts",
    params(("name" = String, Path, description = "user name", pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")),
    responses((status = 204), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse),
        (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn change_user(
    State(auth): State<Auth>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<UserChange>,
) -> Result<StatusCode, ApiError> {
    AccountService::set_disabled(&auth, &caller, &name, body.disabled).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /api/projects`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    /// 1–64 of `a-z 0-9 . _ -`, starting with a letter or digit.
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub name: String,
    #[serde(default)]
    pub public: bool,
}

/// Body of `PUT /api/projects/{name}/members`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberChange {
    #[schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")]
    pub username: String,
    /// `owner`, `member` or `viewer`.
    #[schema(pattern = "^(owner|member|viewer)$")]
    pub role: String,
}

/// Projects you may read.
#[utoipa::path(get, path = "/api/projects", tag = "accounts",
    responses((status = 200, body = Vec<ProjectInfo>), (status = 401, body = ErrorResponse)))]
pub async fn list_projects(
    State(auth): State<Auth>,
    Caller(caller): Caller,
) -> Result<Json<Vec<ProjectInfo>>, ApiError> {
    Ok(Json(AccountService::projects(&auth, &caller).await?))
}

/// Create a project (admins only).
#[utoipa::path(post, path = "/api/projects", request_body = NewProject, tag = "accounts",
    responses((status = 201, body = ProjectInfo), (status = 403, body = ErrorResponse), (status = 409, body = ErrorResponse),
        (status = 422, body = ErrorResponse)))]
pub async fn create_project(
    State(auth): State<Auth>,
    Caller(caller): Caller,
    ApiJson(body): ApiJson<NewProject>,
) -> Result<impl IntoResponse, ApiError> {
    let p = AccountService::create_project(&auth, &caller, &body.name, body.public).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// Add a member or change their role (project owners and admins).
#[utoipa::path(put, path = "/api/projects/{name}/members", request_body = MemberChange, tag = "accounts",
    params(("name" = String, Path, description = "project name", pattern = "^[a-z0-9][a-z0-9._-]{0,63}$")),
    responses((status = 204), (status = 400, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn set_member(
    State(auth): State<Auth>,
    Caller(caller): Caller,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<MemberChange>,
) -> Result<StatusCode, ApiError> {
    AccountService::set_member(&auth, &caller, &name, &body.username, &body.role).await?;
    Ok(StatusCode::NO_CONTENT)
}
