//! Server functions for the account and admin pages: thin calls into `AccountService`.

use ch_api::{CreatedToken, ProjectInfo, TokenInfo, TokenRequest, UserInfo};
use leptos::prelude::*;
use uuid::Uuid;

use super::UiError;

#[cfg(feature = "ssr")]
fn accounts() -> Result<ch_api::SharedAccountService, UiError> {
    use_context::<ch_api::SharedAccountService>().ok_or_else(|| UiError::Message("account service unavailable".into()))
}

#[cfg(feature = "ssr")]
use super::caller;

#[server(input = server_fn::codec::Json)]
pub async fn get_tokens() -> Result<Vec<TokenInfo>, UiError> {
    Ok(accounts()?.tokens(&caller()).await?)
}

#[server(input = server_fn::codec::Json)]
pub async fn post_token(req: TokenRequest) -> Result<CreatedToken, UiError> {
    Ok(accounts()?.create_token(&caller(), req).await?)
}

#[server(input = server_fn::codec::Json)]
pub async fn post_revoke_token(id: Uuid) -> Result<(), UiError> {
    Ok(accounts()?.revoke_token(&caller(), id).await?)
}

#[server(input = server_fn::codec::Json)]
pub async fn post_password(current: String, new: String) -> Result<(), UiError> {
    Ok(accounts()?.change_password(&caller(), &current, &new).await?)
}

#[server(input = server_fn::codec::Json)]
pub async fn get_users() -> Result<Vec<UserInfo>, UiError> {
    Ok(accounts()?.users(&caller()).await?)
}

#[server(input = server_fn::codec::Json)]
pub async fn post_user(username: String, password: Option<String>, role: String) -> Result<UserInfo, UiError> {
    let password = password.filter(|p| !p.is_empty());
    Ok(accounts()?
        .create_user(&caller(), &username, password.as_deref(), &role)
        .await?)
}

#[server(input = server_fn::codec::Json)]
pub async fn post_user_disabled(username: String, disabled: bool) -> Result<(), UiError> {
    Ok(accounts()?.set_disabled(&caller(), &username, disabled).await?)
}

#[server(input = server_fn::codec::Json)]
pub async fn get_projects() -> Result<Vec<ProjectInfo>, UiError> {
    Ok(accounts()?.projects(&caller()).await?)
}

#[server(input = server_fn::codec::Json)]
pub async fn post_project(name: String, public: bool) -> Result<ProjectInfo, UiError> {
    Ok(accounts()?.create_project(&caller(), &name, public).await?)
}

#[server(input = server_fn::codec::Json)]
pub async fn post_member(project: String, username: String, role: String) -> Result<(), UiError> {
    Ok(accounts()?.set_member(&caller(), &project, &username, &role).await?)
}
