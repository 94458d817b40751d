//! Account administration (users, projects, members) and API tokens. Every operation takes
//! the caller and asks `ch_api::authorize` first; the CLI acts as [`Auth::operator`].

use ch_api::{
    Action, Credential, GlobalRole, Principal, ProjectRole, Resource, Scope, ServiceError, UserIdentity, authorize,
};
use ch_domain::FieldError;
use chrono::Utc;
use uuid::Uuid;

use super::{Auth, now, password, secrets};
use crate::store::{ProjectRow, TokenRow, UserRow};

/// Longest user, project and token name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest API token lifetime.
pub const MAX_TOKEN_DAYS: u32 = 3650;

/// Checks a user or project name: 1–64 characters of `a-z 0-9 . _ -`, starting with a letter
/// or digit (safe in URLs, file names and Slurm account names).
pub fn validate_name(field: &str, raw: &str) -> Result<String, ServiceError> {
    let bad = |m: String| ServiceError::Invalid(FieldError::new(field, m));
    if raw.is_empty() {
        return Err(bad("must not be empty".into()));
    }
    if raw.chars().count() > MAX_NAME_CHARS {
        return Err(bad(format!("must be at most {MAX_NAME_CHARS} characters")));
    }
    let first_ok = raw
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok = raw
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !first_ok || !rest_ok {
        return Err(bad(format!(
            "'{}' is not a valid name: use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit",
            raw.escape_debug()
        )));
    }
    Ok(raw.to_owned())
}

/// A token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// A label for the owner's list (1–64 characters, no control characters).
    pub name: String,
    pub scopes: Vec<Scope>,
    /// Restrict the token to one project the owner belongs to.
    pub project: Option<String>,
    /// Lifetime in days (1–3650); `None` = until revoked.
    pub expires_in_days: Option<u32>,
}

fn denied(d: ch_api::Denied, what: &str) -> ServiceError {
    ServiceError::denied(d, what)
}

impl Auth {
    /// The local operator running the CLI: a site admin named `cli`.
    pub fn operator() -> Principal {
        Principal::User {
            user: UserIdentity {
                user_id: Uuid::nil(),
                username: "cli".into(),
                role: GlobalRole::Admin,
                memberships: Vec::new(),
            },
            credential: Credential::Session {
                session_id: Uuid::nil(),
            },
        }
    }

    fn admin_only(&self, caller: &Principal) -> Result<(), ServiceError> {
        authorize(self.site(), caller, Action::Administer, Resource::Site).map_err(|d| denied(d, "site"))
    }

    async fn user_named(&self, username: &str) -> Result<UserRow, ServiceError> {
        self.store()
            .user_by_name(username)
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(|| ServiceError::NotFound(format!("user '{username}'")))
    }

    async fn project_named(&self, name: &str) -> Result<ProjectRow, ServiceError> {
        self.store()
            .project_by_name(name)
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(|| ServiceError::NotFound(format!("project '{name}'")))
    }

    /// Creates a user (admins only). Without a password the user signs in through links.
    pub async fn create_user(
        &self,
        caller: &Principal,
        username: &str,
        password: Option<&str>,
        role: GlobalRole,
    ) -> Result<UserRow, ServiceError> {
        self.admin_only(caller)?;
        let username = validate_name("username", username)?;
        let hash = match password {
            Some(p) => Some(hash_password(p).await?),
            None => None,
        };
        let user = self
            .store()
            .create_user(&username, hash.as_deref(), role, now())
            .await
            .map_err(ServiceError::from)?;
        self.record("user_created", &username, caller.actor(), "-", format!("role {role}"))
            .await;
        Ok(user)
    }

    /// Sets a user's password (the user themself, or an admin); revokes their sessions.
    pub async fn set_password(&self, caller: &Principal, username: &str, new: &str) -> Result<(), ServiceError> {
        authorize(self.site(), caller, Action::Administer, Resource::Account { username })
            .map_err(|d| denied(d, &format!("user '{username}'")))?;
        let user = self.user_named(username).await?;
        let hash = hash_password(new).await?;
        self.store()
            .set_password(user.user_id, &hash, now())
            .await
            .map_err(ServiceError::from)?;
        self.record("password_changed", username, caller.actor(), "-", String::new())
            .await;
        Ok(())
    }

    /// Changes the caller's own password after checking the current one. An account that has
    /// none yet (made for sign-in links, like the first-start `admin`) sets its first one from a
    /// browser session without it; an API token never can.
    pub async fn change_own_password(&self, caller: &Principal, current: &str, new: &str) -> Result<(), ServiceError> {
        let user = caller
            .user()
            .ok_or_else(|| ServiceError::Unauthenticated("sign in to continue".into()))?;
        let row = self.user_named(&user.username).await?;
        let first = row.password_hash.is_none()
            && matches!(
                caller,
                Principal::User {
                    credential: Credential::Session { .. },
                    ..
                }
            );
        let stored = row.password_hash.clone();
        let attempt = current.to_owned();
        let ok = first
            || tokio::task::spawn_blocking(move || password::verify(stored.as_deref(), &attempt))
                .await
                .unwrap_or(false);
        if !ok {
            return Err(ServiceError::Invalid(FieldError::new(
                "current_password",
                "is not your current password",
            )));
        }
        self.set_password(caller, &user.username, new).await
    }

    /// Disables or re-enables a user (admins only); disabling revokes sessions and tokens.
    pub async fn set_disabled(&self, caller: &Principal, username: &str, disabled: bool) -> Result<(), ServiceError> {
        self.admin_only(caller)?;
        let user = self.user_named(username).await?;
        // An admin who disables their own account locks the site out of administration.
        if disabled && caller.user().is_some_and(|u| u.username == user.username) {
            return Err(ServiceError::Conflict(
                "you cannot disable your own account; ask another admin".into(),
            ));
        }
        self.store()
            .set_disabled(user.user_id, disabled, now())
            .await
            .map_err(ServiceError::from)?;
        self.forget_identities();
        let kind = if disabled { "user_disabled" } else { "user_enabled" };
        self.record(kind, username, caller.actor(), "-", String::new()).await;
        Ok(())
    }

    pub async fn list_users(&self, caller: &Principal) -> Result<Vec<UserRow>, ServiceError> {
        self.admin_only(caller)?;
        self.store().list_users().await.map_err(ServiceError::from)
    }

    /// Creates a project (admins only).
    pub async fn create_project(
        &self,
        caller: &Principal,
        name: &str,
        public: bool,
    ) -> Result<ProjectRow, ServiceError> {
        self.admin_only(caller)?;
        let name = validate_name("name", name)?;
        let p = self
            .store()
            .create_project(&name, public, now())
            .await
            .map_err(ServiceError::from)?;
        self.projects().forget();
        self.record(
            "project_created",
            "-",
            caller.actor(),
            "-",
            format!("project {name} public {public}"),
        )
        .await;
        Ok(p)
    }

    /// Projects the caller may read (all for admins).
    /// The projects `caller` may read; an API token restricted to a project sees that one only
    /// (public projects elsewhere included: the token was made for one project).
    pub async fn list_projects(&self, caller: &Principal) -> Result<Vec<ProjectRow>, ServiceError> {
        let all = self.store().list_projects().await.map_err(ServiceError::from)?;
        let only = caller.token_project();
        Ok(all
            .into_iter()
            .filter(|p| only.is_none_or(|only| p.name == only))
            .filter(|p| {
                let r = ch_api::ProjectRef {
                    name: &p.name,
                    public: p.public,
                };
                authorize(self.site(), caller, Action::Read, Resource::Project(r)).is_ok()
            })
            .collect())
    }

    /// Adds a member to a project or changes their role (project owners and admins).
    pub async fn set_member(
        &self,
        caller: &Principal,
        project: &str,
        username: &str,
        role: ProjectRole,
    ) -> Result<(), ServiceError> {
        let p = self.project_named(project).await?;
        let r = ch_api::ProjectRef {
            name: &p.name,
            public: p.public,
        };
        authorize(self.site(), caller, Action::ManageProject, Resource::Project(r))
            .map_err(|d| denied(d, &format!("project '{project}'")))?;
        let user = self.user_named(username).await?;
        self.store()
            .set_member(p.project_id, user.user_id, role, now())
            .await
            .map_err(ServiceError::from)?;
        self.forget_identities();
        self.record(
            "member_set",
            username,
            caller.actor(),
            "-",
            format!("project {project} role {role}"),
        )
        .await;
        Ok(())
    }

    /// Creates an API token for the caller's own account; returns it with its secret, which
    /// is shown once and stored only as a hash.
    pub async fn create_token(&self, caller: &Principal, req: NewToken) -> Result<(TokenRow, String), ServiceError> {
        let user = caller
            .user()
            .ok_or_else(|| ServiceError::Unauthenticated("sign in to continue".into()))?;
        authorize(
            self.site(),
            caller,
            Action::Administer,
            Resource::Account {
                username: &user.username,
            },
        )
        .map_err(|d| denied(d, "account"))?;
        let bad = |f: &str, m: &str| ServiceError::Invalid(FieldError::new(f, m));
        let name = req.name.trim();
        // Length as sent (the OpenAPI `maxLength`), emptiness after trimming.
        if name.is_empty() || req.name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
            return Err(bad("name", "must be 1–64 characters without control characters"));
        }
        if req.scopes.is_empty() {
            return Err(bad("scopes", "name at least one of read, submit, admin"));
        }
        if let Some(days) = req.expires_in_days
            && (days == 0 || days > MAX_TOKEN_DAYS)
        {
            return Err(bad("expires_in_days", "must be between 1 and 3650"));
        }
        if let Some(p) = &req.project {
            validate_name("project", p)?;
        }
        if let Some(p) = &req.project
            && user.role != GlobalRole::Admin
            && user.project_role(p).is_none()
        {
            return Err(bad("project", "you are not a member of this project"));
        }
        let secret = secrets::random_secret();
        let t = now();
        let row = TokenRow {
            token_id: Uuid::now_v7(),
            user_id: user.user_id,
            name: name.to_owned(),
            secret_hash: secrets::digest(&secret),
            scopes: req.scopes,
            project: req.project,
            created_at: t,
            expires_at: req.expires_in_days.map(|d| t + chrono::Duration::days(i64::from(d))),
            last_used_at: None,
            revoked_at: None,
        };
        self.store().create_token(&row).await.map_err(ServiceError::from)?;
        self.record(
            "token_created",
            &user.username,
            caller.actor(),
            "-",
            format!("token {} '{}'", row.token_id, row.name),
        )
        .await;
        let token = secrets::format_token(row.token_id, &secret);
        Ok((row, token))
    }

    /// Creates a token for `username` from the CLI.
    pub async fn create_token_for(&self, username: &str, req: NewToken) -> Result<(TokenRow, String), ServiceError> {
        let user = self.user_named(username).await?;
        let identity = self
            .identity(user.user_id)
            .await?
            .ok_or_else(|| ServiceError::Conflict(format!("user '{username}' is disabled")))?;
        let caller = Principal::User {
            user: (*identity).clone(),
            credential: Credential::Session {
                session_id: Uuid::nil(),
            },
        };
        self.create_token(&caller, req).await
    }

    /// The caller's tokens (no secrets).
    pub async fn tokens(&self, caller: &Principal) -> Result<Vec<TokenRow>, ServiceError> {
        let user = caller
            .user()
            .ok_or_else(|| ServiceError::Unauthenticated("sign in to continue".into()))?;
        let tokens = self.store().tokens_of(user.user_id).await.map_err(ServiceError::from)?;
        // A token restricted to a project sees the tokens of that project only, not the
        // owner's unrestricted ones.
        Ok(match caller.token_project() {
            Some(only) => tokens
                .into_iter()
                .filter(|t| t.project.as_deref() == Some(only))
                .collect(),
            None => tokens,
        })
    }

    /// Revokes one of the caller's tokens (admins: anyone's). Unknown and foreign ids are 404.
    pub async fn revoke_token(&self, caller: &Principal, token_id: Uuid) -> Result<(), ServiceError> {
        let not_found = || ServiceError::NotFound(format!("token {token_id}"));
        let token = self
            .store()
            .token(token_id)
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(not_found)?;
        let owner = self
            .store()
            .user_by_id(token.user_id)
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(not_found)?;
        authorize(
            self.site(),
            caller,
            Action::Administer,
            Resource::Account {
                username: &owner.username,
            },
        )
        .map_err(|d| match d {
            ch_api::Denied::Unauthenticated => ServiceError::denied(d, ""),
            _ => not_found(),
        })?;
        if caller
            .token_project()
            .is_some_and(|only| token.project.as_deref() != Some(only))
        {
            return Err(not_found());
        }
        if token.revoked_at.is_some() {
            return Ok(());
        }
        self.store()
            .revoke_token(token_id, Utc::now())
            .await
            .map_err(ServiceError::from)?;
        self.forget_identities();
        self.record(
            "token_revoked",
            &owner.username,
            caller.actor(),
            "-",
            format!("token {token_id}"),
        )
        .await;
        Ok(())
    }
}

/// Checks and hashes a password off the async runtime.
async fn hash_password(p: &str) -> Result<String, ServiceError> {
    password::check(p).map_err(|m| ServiceError::Invalid(FieldError::new("password", m)))?;
    let p = p.to_owned();
    tokio::task::spawn_blocking(move || password::hash(&p))
        .await
        .map_err(|_| ServiceError::Internal)?
        .map_err(|e| {
            tracing::error!(error = %e, "hashing a password");
            ServiceError::Internal
        })
}
