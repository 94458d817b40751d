//! [`AccountService`] for the UI's server functions and the HTTP handlers, over [`Auth`].

use async_trait::async_trait;
use ch_api::{
    AccountService, CreatedToken, GlobalRole, Principal, ProjectInfo, ProjectRole, Scope, ServiceError, ServiceResult,
    TokenInfo, TokenRequest, UserInfo,
};
use ch_domain::FieldError;
use uuid::Uuid;

use super::{Auth, NewToken};
use crate::store::{ProjectRow, TokenRow, UserRow};

fn token_info(t: TokenRow) -> TokenInfo {
    TokenInfo {
        id: t.token_id,
        name: t.name,
        scopes: t.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        project: t.project,
        created_at: t.created_at,
        expires_at: t.expires_at,
        last_used_at: t.last_used_at,
        revoked_at: t.revoked_at,
    }
}

fn user_info(u: UserRow) -> UserInfo {
    UserInfo {
        username: u.username,
        role: u.role.to_string(),
        disabled: u.disabled,
        created_at: u.created_at,
    }
}

fn project_info(p: ProjectRow) -> ProjectInfo {
    ProjectInfo {
        name: p.name,
        public: p.public,
        created_at: p.created_at,
    }
}

fn parse<T>(field: &str, raw: &str, parse: fn(&str) -> Option<T>, choices: &str) -> ServiceResult<T> {
    parse(raw).ok_or_else(|| {
        ServiceError::Invalid(FieldError::new(
            field,
            format!("unknown value '{}' (one of {choices})", raw.escape_debug()),
        ))
    })
}

#[async_trait]
impl AccountService for Auth {
    async fn tokens(&self, caller: &Principal) -> ServiceResult<Vec<TokenInfo>> {
        Ok(Auth::tokens(self, caller).await?.into_iter().map(token_info).collect())
    }

    async fn create_token(&self, caller: &Principal, req: TokenRequest) -> ServiceResult<CreatedToken> {
        let scopes = req
            .scopes
            .iter()
            .map(|s| parse("scopes", s, Scope::parse, "read, submit, admin"))
            .collect::<ServiceResult<Vec<_>>>()?;
        let new = NewToken {
            name: req.name,
            scopes,
            project: req.project,
            expires_in_days: req.expires_in_days,
        };
        let (row, token) = Auth::create_token(self, caller, new).await?;
        Ok(CreatedToken {
            token,
            info: token_info(row),
        })
    }

    async fn revoke_token(&self, caller: &Principal, id: Uuid) -> ServiceResult<()> {
        Auth::revoke_token(self, caller, id).await
    }

    async fn change_password(&self, caller: &Principal, current: &str, new: &str) -> ServiceResult<()> {
        self.change_own_password(caller, current, new).await
    }

    async fn users(&self, caller: &Principal) -> ServiceResult<Vec<UserInfo>> {
        Ok(self.list_users(caller).await?.into_iter().map(user_info).collect())
    }

    async fn create_user(
        &self,
        caller: &Principal,
        username: &str,
        password: Option<&str>,
        role: &str,
    ) -> ServiceResult<UserInfo> {
        let role = parse("role", role, GlobalRole::parse, "admin, scientist, viewer")?;
        Ok(user_info(
            Auth::create_user(self, caller, username, password, role).await?,
        ))
    }

    async fn set_disabled(&self, caller: &Principal, username: &str, disabled: bool) -> ServiceResult<()> {
        Auth::set_disabled(self, caller, username, disabled).await
    }

    async fn projects(&self, caller: &Principal) -> ServiceResult<Vec<ProjectInfo>> {
        Ok(self
            .list_projects(caller)
            .await?
            .into_iter()
            .map(project_info)
            .collect())
    }

    async fn create_project(&self, caller: &Principal, name: &str, public: bool) -> ServiceResult<ProjectInfo> {
        Ok(project_info(Auth::create_project(self, caller, name, public).await?))
    }

    async fn set_member(&self, caller: &Principal, project: &str, username: &str, role: &str) -> ServiceResult<()> {
        let role = parse("role", role, ProjectRole::parse, "owner, member, viewer")?;
        Auth::set_member(self, caller, project, username, role).await
    }
}
