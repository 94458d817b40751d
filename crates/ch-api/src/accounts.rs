//! Accounts as the API and the UI see them: API tokens, users, projects, and the
//! [`AccountService`] port the server implements.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ServiceResult;
use crate::principal::Principal;

/// An API token as listed (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    pub id: Uuid,
    pub name: String,
    /// `read`, `submit`, `admin`.
    pub scopes: Vec<String>,
    /// The one project the token may reach, if restricted.
    pub project: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new token, answered once with its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedToken {
    /// Send as `Authorization: Bearer <token>`; it is not shown again.
    pub token: String,
    #[serde(flatten)]
    pub info: TokenInfo,
}

/// Body of `POST /api/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// A label for your list: 1–64 characters, not only white space, no control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 64,
            pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
        )
    )]
    pub name: String,
    /// At least one of `read`, `submit`, `admin`.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, inline, value_type = Vec<TokenScope>))]
    pub scopes: Vec<String>,
    /// Restrict the token to one of your projects.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$"))]
    pub project: Option<String>,
    /// 1–3650; omitted = until revoked.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 3650))]
    pub expires_in_days: Option<u32>,
}

/// A scope of an API token, as the OpenAPI document names them (the server reads
/// [`TokenRequest::scopes`] as strings so that an unknown one is named in the error).
#[cfg(feature = "openapi")]
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum TokenScope {
    Read,
    Submit,
    Admin,
}

/// A user as listed to admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserInfo {
    pub username: String,
    /// `admin`, `scientist` or `viewer`.
    pub role: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// A project as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProjectInfo {
    pub name: String,
    /// Readable by every signed-in user (and anonymous visitors under `auth.public_read`).
    pub public: bool,
    pub created_at: DateTime<Utc>,
}

/// Accounts: the caller's tokens and password; users and projects for admins and owners.
#[async_trait]
pub trait AccountService: Send + Sync + 'static {
    async fn tokens(&self, caller: &Principal) -> ServiceResult<Vec<TokenInfo>>;
    async fn create_token(&self, caller: &Principal, req: TokenRequest) -> ServiceResult<CreatedToken>;
    async fn revoke_token(&self, caller: &Principal, id: Uuid) -> ServiceResult<()>;
    /// Changes the caller's password after checking the current one; signs out every
    /// session of theirs.
    async fn change_password(&self, caller: &Principal, current: &str, new: &str) -> ServiceResult<()>;
    async fn users(&self, caller: &Principal) -> ServiceResult<Vec<UserInfo>>;
    async fn create_user(
        &self,
        caller: &Principal,
        username: &str,
        password: Option<&str>,
        role: &str,
    ) -> ServiceResult<UserInfo>;
    async fn set_disabled(&self, caller: &Principal, username: &str, disabled: bool) -> ServiceResult<()>;
    /// Projects the caller may read.
    async fn projects(&self, caller: &Principal) -> ServiceResult<Vec<ProjectInfo>>;
    async fn create_project(&self, caller: &Principal, name: &str, public: bool) -> ServiceResult<ProjectInfo>;
    async fn set_member(&self, caller: &Principal, project: &str, username: &str, role: &str) -> ServiceResult<()>;
}

/// What server functions find in their context.
pub type SharedAccountService = Arc<dyn AccountService>;
