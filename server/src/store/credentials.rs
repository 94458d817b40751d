//! Credentials: browser sessions (refresh-token families), API tokens, one-time login links,
//! and the security event log. Only SHA-256 hashes of secrets are stored.

use ch_api::Scope;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use tracing::instrument;
use uuid::Uuid;

use super::{Result, Store, StoreError, from_millis, parse, to_millis};

/// A browser session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub refresh_hash: String,
    pub previous_hash: Option<String>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An API token as stored (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub token_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub secret_hash: String,
    pub scopes: Vec<Scope>,
    pub project: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// One security event (sign-in, failed sign-in, token created, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthEvent {
    pub occurred_at: DateTime<Utc>,
    /// `login`, `login_failed`, `logout`, `token_created`, `token_revoked`, `password_changed`,
    /// `user_created`, `user_disabled`, `user_enabled`, `member_set`, `project_created`.
    pub event_type: String,
    /// The account the event is about.
    pub username: String,
    /// Who caused it (the user, an admin, `cli`).
    pub actor: String,
    /// Client address or `cli`.
    pub client: String,
    pub detail: String,
}

fn opt_time(row: &AnyRow, col: &str) -> Result<Option<DateTime<Utc>>> {
    row.try_get::<Option<i64>, _>(col)?.map(from_millis).transpose()
}

fn session_from_row(row: &AnyRow) -> Result<SessionRow> {
    let id: String = row.try_get("user_session_id")?;
    let user: String = row.try_get("user_id")?;
    Ok(SessionRow {
        session_id: parse("user_session_id", &id)?,
        user_id: parse("user_id", &user)?,
        refresh_hash: row.try_get("refresh_hash")?,
        previous_hash: row.try_get("previous_hash")?,
        rotated_at: opt_time(row, "rotated_at")?,
        expires_at: from_millis(row.try_get("expires_at")?)?,
        revoked_at: opt_time(row, "revoked_at")?,
    })
}

fn token_from_row(row: &AnyRow) -> Result<TokenRow> {
    let id: String = row.try_get("api_token_id")?;
    let user: String = row.try_get("user_id")?;
    let scopes: String = row.try_get("scopes")?;
    Ok(TokenRow {
        token_id: parse("api_token_id", &id)?,
        user_id: parse("user_id", &user)?,
        name: row.try_get("name")?,
        secret_hash: row.try_get("secret_hash")?,
        scopes: scopes
            .split(',')
            .map(|s| Scope::parse(s).ok_or_else(|| StoreError::Corrupt(format!("scope '{s}'"))))
            .collect::<Result<_>>()?,
        project: row.try_get("project")?,
        created_at: from_millis(row.try_get("created_at")?)?,
        expires_at: opt_time(row, "expires_at")?,
        last_used_at: opt_time(row, "last_used_at")?,
        revoked_at: opt_time(row, "revoked_at")?,
    })
}

const SESSION_COLUMNS: &str =
    "user_session_id, user_id, refresh_hash, previous_hash, rotated_at, expires_at, revoked_at";
const TOKEN_COLUMNS: &str = "api_token_id, user_id, name, secret_hash, scopes, project, created_at, expires_at, \
     last_used_at, revoked_at";

/// Revokes every live session of `user_id` inside `tx` (password change, disabling).
pub(super) async fn revoke_user_sessions(
    tx: &mut Transaction<'_, Any>,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("update user_session set revoked_at = $1 where user_id = $2 and revoked_at is null")
        .bind(to_millis(now))
        .bind(user_id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// Starts a session whose refresh token hashes to `refresh_hash`.
    #[instrument(skip(self, refresh_hash), err)]
    pub async fn create_session(
        &self,
        user_id: Uuid,
        refresh_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Uuid> {
        let id = Uuid::now_v7();
        sqlx::query(
            "insert into user_session (user_session_id, user_id, refresh_hash, created_at, expires_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(id.to_string())
        .bind(user_id.to_string())
        .bind(refresh_hash.to_owned())
        .bind(to_millis(now))
        .bind(to_millis(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    pub async fn session(&self, session_id: Uuid) -> Result<Option<SessionRow>> {
        let row = sqlx::query(&format!(
            "select {SESSION_COLUMNS} from user_session where user_session_id = $1"
        ))
        .bind(session_id.to_string())
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// The session whose current or previous refresh token hashes to `hash`.
    pub async fn session_by_refresh(&self, hash: &str) -> Result<Option<SessionRow>> {
        let row = sqlx::query(&format!(
            "select {SESSION_COLUMNS} from user_session where refresh_hash = $1 or previous_hash = $1"
        ))
        .bind(hash.to_owned())
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// Replaces the refresh token `old_hash` by `new_hash`; `false` when another request
    /// rotated it first.
    #[instrument(skip_all, err)]
    pub async fn rotate_session(
        &self,
        session_id: Uuid,
        old_hash: &str,
        new_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "update user_session set refresh_hash = $1, previous_hash = $2, rotated_at = $3 \
             where user_session_id = $4 and refresh_hash = $2 and revoked_at is null",
        )
        .bind(new_hash.to_owned())
        .bind(old_hash.to_owned())
        .bind(to_millis(now))
        .bind(session_id.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    #[instrument(skip(self), err)]
    pub async fn revoke_session(&self, session_id: Uuid, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("update user_session set revoked_at = $1 where user_session_id = $2 and revoked_at is null")
            .bind(to_millis(now))
            .bind(session_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a new API token (its secret only as a hash).
    #[instrument(skip(self, token), fields(token_id = %token.token_id), err)]
    pub async fn create_token(&self, token: &TokenRow) -> Result<()> {
        let scopes: Vec<&str> = token.scopes.iter().map(|s| s.as_str()).collect();
        sqlx::query(
            "insert into api_token (api_token_id, user_id, name, secret_hash, scopes, project, created_at, expires_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(token.token_id.to_string())
        .bind(token.user_id.to_string())
        .bind(token.name.clone())
        .bind(token.secret_hash.clone())
        .bind(scopes.join(","))
        .bind(token.project.clone())
        .bind(to_millis(token.created_at))
        .bind(token.expires_at.map(to_millis))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn token(&self, token_id: Uuid) -> Result<Option<TokenRow>> {
        let row = sqlx::query(&format!(
            "select {TOKEN_COLUMNS} from api_token where api_token_id = $1"
        ))
        .bind(token_id.to_string())
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// A user's tokens, newest first (revoked ones included, for the record).
    pub async fn tokens_of(&self, user_id: Uuid) -> Result<Vec<TokenRow>> {
        let rows = sqlx::query(&format!(
            "select {TOKEN_COLUMNS} from api_token where user_id = $1 order by created_at desc"
        ))
        .bind(user_id.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Revokes a token; `false` when it was already revoked or does not exist.
    #[instrument(skip(self), err)]
    pub async fn revoke_token(&self, token_id: Uuid, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query("update api_token set revoked_at = $1 where api_token_id = $2 and revoked_at is null")
            .bind(to_millis(now))
            .bind(token_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn touch_token(&self, token_id: Uuid, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("update api_token set last_used_at = $1 where api_token_id = $2")
            .bind(to_millis(now))
            .bind(token_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Stores a one-time login link for `user_id`.
    pub async fn create_login_link(
        &self,
        user_id: Uuid,
        secret_hash: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Uuid> {
        let id = Uuid::now_v7();
        sqlx::query(
            "insert into login_link (login_link_id, user_id, secret_hash, created_at, expires_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(id.to_string())
        .bind(user_id.to_string())
        .bind(secret_hash.to_owned())
        .bind(to_millis(now))
        .bind(to_millis(expires_at))
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Uses the link `id` if its secret hashes to `secret_hash`, it is unused and not expired;
    /// returns its user. A link works once, however many requests race for it.
    #[instrument(skip(self, secret_hash), err)]
    pub async fn use_login_link(&self, id: Uuid, secret_hash: &str, now: DateTime<Utc>) -> Result<Option<Uuid>> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "update login_link set used_at = $1 where login_link_id = $2 and secret_hash = $3 \
             and used_at is null and expires_at > $1",
        )
        .bind(to_millis(now))
        .bind(id.to_string())
        .bind(secret_hash.to_owned())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() != 1 {
            return Ok(None);
        }
        let row = sqlx::query("select user_id from login_link where login_link_id = $1")
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        let user: String = row.try_get("user_id")?;
        Ok(Some(parse("user_id", &user)?))
    }

    /// Appends a security event.
    pub async fn record_auth_event(&self, e: &AuthEvent) -> Result<()> {
        sqlx::query(
            "insert into auth_event (occurred_at, event_type, username, actor, client, detail) \
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(to_millis(e.occurred_at))
        .bind(e.event_type.clone())
        .bind(e.username.clone())
        .bind(e.actor.clone())
        .bind(e.client.clone())
        .bind(e.detail.clone())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The newest security events, newest first.
    pub async fn auth_events(&self, limit: u32) -> Result<Vec<AuthEvent>> {
        let rows = sqlx::query(
            "select occurred_at, event_type, username, actor, client, detail from auth_event \
             order by auth_event_id desc limit $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuthEvent {
                    occurred_at: from_millis(r.try_get("occurred_at")?)?,
                    event_type: r.try_get("event_type")?,
                    username: r.try_get("username")?,
                    actor: r.try_get("actor")?,
                    client: r.try_get("client")?,
                    detail: r.try_get("detail")?,
                })
            })
            .collect()
    }
}
