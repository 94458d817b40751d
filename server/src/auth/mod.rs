//! Accounts and credentials: who the caller is. Browser sessions (an HS256 access JWT plus a
//! rotating refresh token), API tokens, one-time login links, the first-start admin account,
//! and the sign-in lockout. What the caller may do is decided by `ch_api::authorize`.

mod accounts;
mod jwt;
pub mod password;
mod port;
mod projects;
pub mod secrets;
mod sessions;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ch_api::{Principal, ServiceError, SitePolicy, UserIdentity};
use chrono::{DateTime, Utc};
use moka::future::Cache;
use tracing::{error, info};
use uuid::Uuid;

pub use accounts::{NewToken, validate_name};
pub use jwt::Keys;
pub use projects::ProjectDirectory;
pub use sessions::{Issued, StillValid};

use crate::settings::{AuthSettings, Settings};
use crate::store::{AuthEvent, Store};

/// The auth service; cheap to clone.
#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    keys: Keys,
    settings: AuthSettings,
    /// Users with their memberships, for a few seconds: most requests need no query for them.
    identities: Cache<Uuid, Arc<UserIdentity>>,
    /// Failed sign-ins per lower-cased user name (known or not): count and lock expiry.
    failures: Cache<String, (u32, DateTime<Utc>)>,
    /// API token rows for a few seconds (a script's burst of requests needs one query);
    /// revocations on this instance invalidate at once.
    tokens: Cache<Uuid, Arc<crate::store::TokenRow>>,
    /// Tokens whose use was recorded in the last minute.
    touched: Cache<Uuid, ()>,
    /// Projects' visibility, shared with the job service.
    projects: ProjectDirectory,
}

/// How long a looked-up identity is reused; changes made on this instance invalidate it at once.
pub(crate) const IDENTITY_TTL: Duration = Duration::from_secs(5);

pub(crate) use crate::clock::now;

impl Auth {
    /// Opens the auth service: the JWT key comes from `auth.jwt_secret`, or from
    /// `data_dir/auth/jwt.key` (created with 32 random bytes on first start).
    pub async fn open(store: Store, settings: &Settings) -> anyhow::Result<Self> {
        let secret = match &settings.auth.jwt_secret {
            Some(s) => s.expose().as_bytes().to_vec(),
            None => {
                let dir = settings.data_dir.join("auth");
                let path = dir.join("jwt.key");
                match tokio::fs::read(&path).await {
                    Ok(k) if k.len() >= 32 => k,
                    _ => {
                        tokio::fs::create_dir_all(&dir)
                            .await
                            .context("creating data_dir/auth")?;
                        let key = secrets::random_secret().into_bytes();
                        write_private(&path, &key).await?;
                        key
                    }
                }
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                projects: ProjectDirectory::new(store.clone()),
                store,
                keys: Keys::new(&secret),
                settings: settings.auth.clone(),
                identities: Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(IDENTITY_TTL)
                    .build(),
                failures: Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(Duration::from_secs(3600))
                    .build(),
                tokens: Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(IDENTITY_TTL)
                    .build(),
                touched: Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(Duration::from_secs(60))
                    .build(),
            }),
        })
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.inner.settings
    }

    pub fn site(&self) -> SitePolicy {
        SitePolicy {
            public_read: self.inner.settings.public_read,
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// A single-purpose link token for `user_id` (see [`jwt::LinkClaims`]): `purpose` names
    /// what it does, `subject` what it applies to; valid for `ttl`.
    pub fn sign_link(&self, user_id: Uuid, purpose: &str, subject: &str, ttl: Duration) -> Option<String> {
        let exp = now().timestamp() + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = jwt::LinkClaims {
            sub: user_id,
            purpose: purpose.to_owned(),
            subject: subject.to_owned(),
            exp,
        };
        self.inner
            .keys
            .sign_link(&claims)
            .map_err(|e| tracing::error!(error = %e, "signing a link"))
            .ok()
    }

    /// The (user, subject) a link token made by [`Auth::sign_link`] for `purpose` names;
    /// `None` when it is forged, expired or made for something else.
    pub fn verify_link(&self, token: &str, purpose: &str) -> Option<(Uuid, String)> {
        self.inner
            .keys
            .verify_link(token, purpose)
            .ok()
            .map(|c| (c.sub, c.subject))
    }

    /// The user with their memberships (cached for a few seconds); `None` when the user does
    /// not exist or is disabled.
    pub async fn identity(&self, user_id: Uuid) -> Result<Option<Arc<UserIdentity>>, ServiceError> {
        if let Some(id) = self.inner.identities.get(&user_id).await {
            return Ok(Some(id));
        }
        let Some(user) = self.store().user_by_id(user_id).await.map_err(ServiceError::from)? else {
            return Ok(None);
        };
        if user.disabled {
            return Ok(None);
        }
        let memberships = self.store().memberships(user_id).await.map_err(ServiceError::from)?;
        let identity = Arc::new(UserIdentity {
            user_id,
            username: user.username,
            role: user.role,
            memberships,
        });
        self.inner.identities.insert(user_id, identity.clone()).await;
        Ok(Some(identity))
    }

    /// Forgets cached identities and tokens after a change of users, roles, memberships or
    /// tokens.
    pub fn forget_identities(&self) {
        self.inner.identities.invalidate_all();
        self.inner.tokens.invalidate_all();
        self.inner.projects.forget();
    }

    /// Whether user `user_id` (an enabled account) may read project `name` with their own
    /// rights, as when signed in — for work done on their behalf with no request in hand (the
    /// notifications of a project they watch). A project without a row counts as private.
    ///
    /// # Errors
    /// When the accounts or projects cannot be read.
    pub async fn may_read_project(&self, user_id: Uuid, name: &str) -> Result<bool, ServiceError> {
        let Some(user) = self.identity(user_id).await? else {
            return Ok(false);
        };
        // The user's own full rights: no token narrows them here.
        let principal = Principal::User {
            user: (*user).clone(),
            credential: ch_api::Credential::Session {
                session_id: Uuid::nil(),
            },
        };
        let (_, decision) = self
            .projects()
            .decide(self.site(), &principal, ch_api::Action::Read, name)
            .await
            .map_err(ServiceError::from)?;
        Ok(decision.is_ok())
    }

    /// Projects' visibility (cached; invalidated with the identities).
    pub fn projects(&self) -> &ProjectDirectory {
        &self.inner.projects
    }

    /// The caller behind `Authorization: Bearer <token>`.
    pub async fn authenticate_bearer(&self, raw: &str) -> Result<Principal, ServiceError> {
        let invalid = || ServiceError::Unauthenticated("invalid, expired or revoked API token".into());
        let (token_id, secret) = secrets::parse_token(raw.trim())
            .ok_or_else(|| ServiceError::Unauthenticated("malformed API token (expected cht_<id>_<secret>)".into()))?;
        let token = match self.inner.tokens.get(&token_id).await {
            Some(t) => t,
            None => {
                let Some(row) = self.store().token(token_id).await.map_err(ServiceError::from)? else {
                    return Err(invalid());
                };
                let row = Arc::new(row);
                self.inner.tokens.insert(token_id, row.clone()).await;
                row
            }
        };
        let now = now();
        let live = token.revoked_at.is_none() && token.expires_at.is_none_or(|e| e > now);
        if !live || !secrets::same(&token.secret_hash, &secrets::digest(secret)) {
            return Err(invalid());
        }
        let Some(user) = self.identity(token.user_id).await? else {
            return Err(invalid());
        };
        // Recorded at most once a minute per token, not on every request.
        if !self.inner.touched.contains_key(&token_id) {
            self.inner.touched.insert(token_id, ()).await;
            if let Err(e) = self.store().touch_token(token_id, now).await {
                error!(error = %e, "recording token use");
            }
        }
        Ok(Principal::User {
            user: (*user).clone(),
            credential: ch_api::Credential::Token {
                token_id,
                scopes: token.scopes.clone(),
                project: token.project.clone(),
            },
        })
    }

    /// Appends a security event; a failure to record is logged, never fatal.
    pub async fn record(&self, event_type: &str, username: &str, actor: &str, client: &str, detail: String) {
        let e = AuthEvent {
            occurred_at: now(),
            event_type: event_type.to_owned(),
            username: username.to_owned(),
            actor: actor.to_owned(),
            client: client.to_owned(),
            detail,
        };
        info!(event_type, username, actor, client, detail = %e.detail, "auth event");
        if let Err(err) = self.store().record_auth_event(&e).await {
            error!(error = %err, "recording auth event");
        }
    }

    /// First start: with no accounts, creates `admin` (site admin, owner of project
    /// `default`) and returns a one-time sign-in link path for it; `None` when accounts exist.
    pub async fn first_start(&self) -> anyhow::Result<Option<String>> {
        if self.store().count_users().await? > 0 {
            return Ok(None);
        }
        let t = now();
        let admin = self
            .store()
            .create_user("admin", None, ch_api::GlobalRole::Admin, t)
            .await
            .context("creating the admin account")?;
        let project = match self.store().project_by_name("default").await? {
            Some(p) => p,
            None => self.store().create_project("default", false, t).await?,
        };
        self.store()
            .set_member(project.project_id, admin.user_id, ch_api::ProjectRole::Owner, t)
            .await?;
        self.record("user_created", "admin", "first-start", "local", "role admin".into())
            .await;
        let link = self
            .login_link(admin.user_id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Some(link))
    }

    /// A new one-time sign-in link path (`/api/auth/link?token=…`) for `user_id`.
    pub async fn login_link(&self, user_id: Uuid) -> Result<String, ServiceError> {
        let secret = secrets::random_secret();
        let t = now();
        let ttl = chrono::Duration::seconds(i64::try_from(self.inner.settings.login_link_ttl_secs).unwrap_or(86_400));
        let id = self
            .store()
            .create_login_link(user_id, &secrets::digest(&secret), t, t + ttl)
            .await
            .map_err(ServiceError::from)?;
        Ok(format!("/api/auth/link?token={id}.{secret}"))
    }
}

async fn write_private(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = path.to_owned();
    let bytes = bytes.to_vec();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        f.write_all(&bytes).context("writing the JWT key")
    })
    .await
    .context("writing the JWT key")?
}
