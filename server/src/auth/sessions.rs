//! Browser sessions: sign-in with a password or a one-time link, the access JWT checked
//! against its session on every request, refresh-token rotation with reuse detection, and
//! sign-out. Failed sign-ins lock the name out with exponential backoff.

use std::sync::Arc;

use ch_api::{Credential, Principal, ServiceError, UserIdentity};
use chrono::{DateTime, Utc};
use tracing::warn;
use uuid::Uuid;

use super::jwt::AccessClaims;
use super::{Auth, now, password, secrets};
use crate::store::SessionRow;

/// Failed sign-ins allowed before the name is locked; each further failure doubles the lock
/// (1 s, 2 s, 4 s, … up to 15 minutes).
const FREE_FAILURES: u32 = 5;
const MAX_LOCK_SECS: i64 = 900;
/// A refresh token replaced less than this long ago still works once more (two tabs refreshed
/// at the same time); after that, presenting it again revokes the session (token theft).
const REUSE_GRACE_SECS: i64 = 30;
/// Longest user name accepted at sign-in.
const MAX_USERNAME_CHARS: usize = 64;

/// Credentials for the browser: the access JWT and, when it changed, the refresh token.
#[derive(Debug, Clone)]
pub struct Issued {
    pub access: String,
    pub access_max_age_secs: i64,
    /// `None` when the refresh token was not rotated (reuse inside the grace period).
    pub refresh: Option<String>,
    pub refresh_max_age_secs: i64,
    pub username: String,
}

fn unauthenticated() -> ServiceError {
    ServiceError::Unauthenticated("invalid username or password".into())
}

impl Auth {
    fn access_ttl(&self) -> i64 {
        i64::try_from(self.settings().access_ttl_secs).unwrap_or(900)
    }

    fn session_ttl(&self) -> i64 {
        i64::try_from(self.settings().session_ttl_secs).unwrap_or(30 * 86_400)
    }

    fn issue(
        &self,
        user_id: Uuid,
        session_id: Uuid,
        refresh: Option<String>,
        username: String,
        expires_at: DateTime<Utc>,
    ) -> Result<Issued, ServiceError> {
        let t = now().timestamp();
        let claims = AccessClaims {
            sub: user_id,
            sid: session_id,
            iat: t,
            exp: t + self.access_ttl(),
        };
        let access = self.inner.keys.sign(&claims).map_err(|e| {
            tracing::error!(error = %e, "signing an access token");
            ServiceError::Internal
        })?;
        Ok(Issued {
            access,
            access_max_age_secs: self.access_ttl(),
            refresh: refresh.map(|secret| format!("{session_id}.{secret}")),
            refresh_max_age_secs: (expires_at.timestamp() - t).max(0),
            username,
        })
    }

    async fn start_session(&self, user_id: Uuid, username: String) -> Result<Issued, ServiceError> {
        let secret = secrets::random_secret();
        let t = now();
        let expires = t + chrono::Duration::seconds(self.session_ttl());
        let sid = self
            .store()
            .create_session(user_id, &secrets::digest(&secret), t, expires)
            .await
            .map_err(ServiceError::from)?;
        self.issue(user_id, sid, Some(secret), username, expires)
    }

    /// Signs in with a password. Unknown names, wrong passwords and disabled accounts get the
    /// same answer after the same work; repeated failures lock the name (429 + retry time).
    pub async fn login(&self, username: &str, password: &str, client: &str) -> Result<Issued, ServiceError> {
        if username.chars().count() > MAX_USERNAME_CHARS {
            return Err(ServiceError::Invalid(ch_domain::FieldError::new(
                "username",
                format!("must be at most {MAX_USERNAME_CHARS} characters"),
            )));
        }
        if password.chars().count() > password::MAX_CHARS {
            return Err(ServiceError::Invalid(ch_domain::FieldError::new(
                "password",
                format!("must be at most {} characters", password::MAX_CHARS),
            )));
        }
        let key = username.to_lowercase();
        if let Some((_, until)) = self.inner.failures.get(&key).await {
            let wait_ms = (until - now()).num_milliseconds();
            if wait_ms > 0 {
                let wait = u64::try_from(wait_ms).unwrap_or(1000).div_ceil(1000);
                return Err(ServiceError::RateLimited {
                    message: format!("too many failed sign-ins; try again in {wait} s"),
                    retry_after_secs: wait,
                });
            }
        }
        let user = self.store().user_by_name(username).await.map_err(ServiceError::from)?;
        let stored = user.as_ref().and_then(|u| u.password_hash.clone());
        let attempt = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || password::verify(stored.as_deref(), &attempt))
            .await
            .unwrap_or(false);
        match user {
            Some(u) if matches && !u.disabled => {
                self.inner.failures.invalidate(&key).await;
                let issued = self.start_session(u.user_id, u.username.clone()).await?;
                self.record("login", &u.username, &u.username, client, "password".into())
                    .await;
                Ok(issued)
            }
            _ => {
                let (count, _) = self.inner.failures.get(&key).await.unwrap_or((0, now()));
                let count = count + 1;
                let lock = if count > FREE_FAILURES {
                    (1i64 << (count - FREE_FAILURES - 1).min(20)).min(MAX_LOCK_SECS)
                } else {
                    0
                };
                self.inner
                    .failures
                    .insert(key, (count, now() + chrono::Duration::seconds(lock)))
                    .await;
                self.record("login_failed", username, username, client, format!("failure {count}"))
                    .await;
                Err(unauthenticated())
            }
        }
    }

    /// Signs in through a one-time link (`<link id>.<secret>`).
    pub async fn login_with_link(&self, raw: &str, client: &str) -> Result<Issued, ServiceError> {
        let refused = || ServiceError::Unauthenticated("this sign-in link is invalid, used or expired".into());
        let (id, secret) = secrets::parse_pair(raw).ok_or_else(refused)?;
        let user_id = self
            .store()
            .use_login_link(id, &secrets::digest(secret), now())
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(refused)?;
        let user = self.identity(user_id).await?.ok_or_else(refused)?;
        let issued = self.start_session(user_id, user.username.clone()).await?;
        self.record("login", &user.username, &user.username, client, "login link".into())
            .await;
        Ok(issued)
    }

    async fn live_session(&self, session_id: Uuid) -> Result<Option<SessionRow>, ServiceError> {
        let s = self.store().session(session_id).await.map_err(ServiceError::from)?;
        Ok(s.filter(|s| s.revoked_at.is_none() && s.expires_at > now()))
    }

    fn principal(user: &UserIdentity, session_id: Uuid) -> Principal {
        Principal::User {
            user: user.clone(),
            credential: Credential::Session { session_id },
        }
    }

    /// The caller behind the session cookies: a valid access token of a live session, or
    /// else a refresh token, which is rotated (new credentials are returned to be set as
    /// cookies). No valid cookie: anonymous.
    pub async fn authenticate_cookies(
        &self,
        access: Option<&str>,
        refresh: Option<&str>,
    ) -> Result<(Principal, Option<Issued>), ServiceError> {
        if let Some(claims) = access
            .filter(|a| a.len() <= secrets::MAX_CREDENTIAL_LEN)
            .and_then(|a| self.inner.keys.verify(a).ok())
            && self.live_session(claims.sid).await?.is_some()
            && let Some(user) = self.identity(claims.sub).await?
        {
            return Ok((Self::principal(&user, claims.sid), None));
        }
        let Some((sid, secret)) = refresh.and_then(secrets::parse_pair) else {
            return Ok((Principal::Anonymous, None));
        };
        let Some(session) = self.live_session(sid).await? else {
            return Ok((Principal::Anonymous, None));
        };
        let Some(user) = self.identity(session.user_id).await? else {
            return Ok((Principal::Anonymous, None));
        };
        let presented = secrets::digest(secret);
        if secrets::same(&session.refresh_hash, &presented) {
            let next = secrets::random_secret();
            if self
                .store()
                .rotate_session(sid, &presented, &secrets::digest(&next), now())
                .await
                .map_err(ServiceError::from)?
            {
                let issued = self.issue(user.user_id, sid, Some(next), user.username.clone(), session.expires_at)?;
                return Ok((Self::principal(&user, sid), Some(issued)));
            }
            // Another request rotated it a moment ago: same as a reuse inside the grace period.
        }
        let recent = session
            .rotated_at
            .is_some_and(|r| (now() - r).num_seconds() <= REUSE_GRACE_SECS);
        let previous = session
            .previous_hash
            .as_deref()
            .is_some_and(|p| secrets::same(p, &presented));
        if previous && recent {
            let issued = self.issue(user.user_id, sid, None, user.username.clone(), session.expires_at)?;
            return Ok((Self::principal(&user, sid), Some(issued)));
        }
        if previous {
            warn!(session = %sid, user = %user.username, "refresh token reused; revoking the session");
            self.store()
                .revoke_session(sid, now())
                .await
                .map_err(ServiceError::from)?;
            self.record(
                "session_revoked",
                &user.username,
                "server",
                "-",
                "refresh token reuse".into(),
            )
            .await;
        }
        Ok((Principal::Anonymous, None))
    }

    /// Signs out: the session (and so every cookie of it) stops working at once.
    pub async fn logout(&self, caller: &Principal, client: &str) -> Result<(), ServiceError> {
        if let Principal::User {
            user,
            credential: Credential::Session { session_id },
        } = caller
        {
            self.store()
                .revoke_session(*session_id, now())
                .await
                .map_err(ServiceError::from)?;
            self.record("logout", &user.username, &user.username, client, String::new())
                .await;
        }
        Ok(())
    }

    /// The signed-in user's identity for a session cookie, for pages.
    pub async fn session_user(&self, caller: &Principal) -> Option<Arc<UserIdentity>> {
        let user = caller.user()?;
        self.identity(user.user_id).await.ok().flatten()
    }
}

/// A credential that still holds, with the caller's current memberships.
#[derive(Debug, Clone)]
pub struct StillValid {
    pub caller: Principal,
    /// When the credential stops working on its own (token or session expiry).
    pub expires_at: Option<DateTime<Utc>>,
}

impl Auth {
    /// Checks that `caller`'s credential still holds, for connections that outlive requests
    /// (the real-time gateway): the API token not revoked or expired, the session not signed
    /// out or expired, the user still enabled. `None`: it no longer holds. Anonymous callers
    /// always hold (what they may read is decided per channel).
    pub async fn revalidate(&self, caller: &Principal) -> Result<Option<StillValid>, ServiceError> {
        let (user_id, expires_at) = match caller {
            Principal::Anonymous => {
                return Ok(Some(StillValid {
                    caller: Principal::Anonymous,
                    expires_at: None,
                }));
            }
            Principal::User {
                user,
                credential: Credential::Session { session_id },
            } => match self.live_session(*session_id).await? {
                Some(s) => (user.user_id, Some(s.expires_at)),
                None => return Ok(None),
            },
            Principal::User {
                user,
                credential: Credential::Token { token_id, .. },
            } => {
                let row = match self.inner.tokens.get(token_id).await {
                    Some(t) => t,
                    None => match self.store().token(*token_id).await.map_err(ServiceError::from)? {
                        Some(row) => Arc::new(row),
                        None => return Ok(None),
                    },
                };
                if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= now()) {
                    return Ok(None);
                }
                (user.user_id, row.expires_at)
            }
        };
        let Some(fresh) = self.identity(user_id).await? else {
            return Ok(None);
        };
        let mut caller = caller.clone();
        if let Principal::User { user, .. } = &mut caller {
            *user = (*fresh).clone();
        }
        Ok(Some(StillValid { caller, expires_at }))
    }
}
