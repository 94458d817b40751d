//! Users, projects and project membership.

use ch_api::{GlobalRole, Membership, ProjectRole};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use tracing::instrument;
use uuid::Uuid;

use super::{Result, Store, StoreError, from_millis, parse, to_millis};

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub user_id: Uuid,
    pub username: String,
    /// argon2id PHC string; `None` for an account that signs in only through login links.
    pub password_hash: Option<String>,
    pub role: GlobalRole,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// A stored project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRow {
    pub project_id: Uuid,
    pub name: String,
    pub public: bool,
    pub created_at: DateTime<Utc>,
}

/// A member of a project, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRow {
    pub username: String,
    pub role: ProjectRole,
}

const USER_COLUMNS: &str = "user_id, username, password_hash, role, disabled, created_at";
const PROJECT_COLUMNS: &str = "project_id, name, public, created_at";

fn user_from_row(row: &AnyRow) -> Result<UserRow> {
    let id: String = row.try_get("user_id")?;
    let role: String = row.try_get("role")?;
    Ok(UserRow {
        user_id: parse("user_id", &id)?,
        username: row.try_get("username")?,
        password_hash: row.try_get("password_hash")?,
        role: GlobalRole::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role '{role}'")))?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: from_millis(row.try_get("created_at")?)?,
    })
}

fn project_from_row(row: &AnyRow) -> Result<ProjectRow> {
    let id: String = row.try_get("project_id")?;
    Ok(ProjectRow {
        project_id: parse("project_id", &id)?,
        name: row.try_get("name")?,
        public: row.try_get::<i64, _>("public")? != 0,
        created_at: from_millis(row.try_get("created_at")?)?,
    })
}

/// Maps a unique-key violation to [`StoreError::Duplicate`] naming `what`.
pub(super) fn duplicate(what: String) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => StoreError::Duplicate(what),
        _ => StoreError::Sqlx(e),
    }
}

impl Store {
    /// Creates a user; a taken name answers [`StoreError::Duplicate`].
    #[instrument(skip(self, password_hash), err(level = "debug"))]
    pub async fn create_user(
        &self,
        username: &str,
        password_hash: Option<&str>,
        role: GlobalRole,
        now: DateTime<Utc>,
    ) -> Result<UserRow> {
        let user = UserRow {
            user_id: Uuid::now_v7(),
            username: username.to_owned(),
            password_hash: password_hash.map(str::to_owned),
            role,
            disabled: false,
            created_at: now,
        };
        sqlx::query(
            "insert into app_user (user_id, username, password_hash, role, disabled, created_at, updated_at) \
             values ($1, $2, $3, $4, 0, $5, $5)",
        )
        .bind(user.user_id.to_string())
        .bind(user.username.clone())
        .bind(user.password_hash.clone())
        .bind(role.as_str())
        .bind(to_millis(now))
        .execute(&self.pool)
        .await
        .map_err(duplicate(format!("user '{username}'")))?;
        Ok(user)
    }

    pub async fn count_users(&self) -> Result<i64> {
        Ok(sqlx::query("select count(*) as n from app_user")
            .fetch_one(&self.reader)
            .await?
            .try_get("n")?)
    }

    #[instrument(skip(self), err(level = "debug"))]
    pub async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>> {
        let row = sqlx::query(&format!("select {USER_COLUMNS} from app_user where username = $1"))
            .bind(username.to_owned())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn user_by_id(&self, user_id: Uuid) -> Result<Option<UserRow>> {
        let row = sqlx::query(&format!("select {USER_COLUMNS} from app_user where user_id = $1"))
            .bind(user_id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn list_users(&self) -> Result<Vec<UserRow>> {
        let rows = sqlx::query(&format!("select {USER_COLUMNS} from app_user order by username"))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Replaces the password hash and revokes every session of the user, atomically.
    #[instrument(skip(self, password_hash), err)]
    pub async fn set_password(&self, user_id: Uuid, password_hash: &str, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("update app_user set password_hash = $1, updated_at = $2 where user_id = $3")
            .bind(password_hash.to_owned())
            .bind(to_millis(now))
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::NotFound(format!("user {user_id}")));
        }
        super::credentials::revoke_user_sessions(&mut tx, user_id, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Disables (or re-enables) a user; disabling revokes their sessions and API tokens.
    #[instrument(skip(self), err)]
    pub async fn set_disabled(&self, user_id: Uuid, disabled: bool, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("update app_user set disabled = $1, updated_at = $2 where user_id = $3")
            .bind(i64::from(disabled))
            .bind(to_millis(now))
            .bind(user_id.to_string())
            .execute(&mut *tx)
            .await?;
        if disabled {
            super::credentials::revoke_user_sessions(&mut tx, user_id, now).await?;
            sqlx::query("update api_token set revoked_at = $1 where user_id = $2 and revoked_at is null")
                .bind(to_millis(now))
                .bind(user_id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_role(&self, user_id: Uuid, role: GlobalRole, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("update app_user set role = $1, updated_at = $2 where user_id = $3")
            .bind(role.as_str())
            .bind(to_millis(now))
            .bind(user_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The projects a user belongs to, by name.
    pub async fn memberships(&self, user_id: Uuid) -> Result<Vec<Membership>> {
        let rows = sqlx::query(
            "select p.name as name, m.role as role from project_member m \
             join project p on p.project_id = m.project_id where m.user_id = $1 order by p.name",
        )
        .bind(user_id.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("role")?;
                Ok(Membership {
                    project: r.try_get("name")?,
                    role: ProjectRole::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role '{role}'")))?,
                })
            })
            .collect()
    }

    /// Creates a project; a taken name answers [`StoreError::Duplicate`].
    #[instrument(skip(self), err(level = "debug"))]
    pub async fn create_project(&self, name: &str, public: bool, now: DateTime<Utc>) -> Result<ProjectRow> {
        let project = ProjectRow {
            project_id: Uuid::now_v7(),
            name: name.to_owned(),
            public,
            created_at: now,
        };
        sqlx::query(
            "insert into project (project_id, name, public, created_at, updated_at) values ($1, $2, $3, $4, $4)",
        )
        .bind(project.project_id.to_string())
        .bind(name.to_owned())
        .bind(i64::from(public))
        .bind(to_millis(now))
        .execute(&self.pool)
        .await
        .map_err(duplicate(format!("project '{name}'")))?;
        Ok(project)
    }

    pub async fn project_by_name(&self, name: &str) -> Result<Option<ProjectRow>> {
        let row = sqlx::query(&format!("select {PROJECT_COLUMNS} from project where name = $1"))
            .bind(name.to_owned())
            .fetch_optional(&self.reader)
            .await?;
        row.as_ref().map(project_from_row).transpose()
    }

    pub async fn list_projects(&self) -> Result<Vec<ProjectRow>> {
        let rows = sqlx::query(&format!("select {PROJECT_COLUMNS} from project order by name"))
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(project_from_row).collect()
    }

    pub async fn set_project_public(&self, project_id: Uuid, public: bool, now: DateTime<Utc>) -> Result<()> {
        sqlx::query("update project set public = $1, updated_at = $2 where project_id = $3")
            .bind(i64::from(public))
            .bind(to_millis(now))
            .bind(project_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Adds a member or changes their role.
    #[instrument(skip(self), err)]
    pub async fn set_member(
        &self,
        project_id: Uuid,
        user_id: Uuid,
        role: ProjectRole,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "insert into project_member (project_id, user_id, role, created_at) values ($1, $2, $3, $4) \
             on conflict (project_id, user_id) do update set role = excluded.role",
        )
        .bind(project_id.to_string())
        .bind(user_id.to_string())
        .bind(role.as_str())
        .bind(to_millis(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn remove_member(&self, project_id: Uuid, user_id: Uuid) -> Result<bool> {
        let done = sqlx::query("delete from project_member where project_id = $1 and user_id = $2")
            .bind(project_id.to_string())
            .bind(user_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn members(&self, project_id: Uuid) -> Result<Vec<MemberRow>> {
        let rows = sqlx::query(
            "select u.username as username, m.role as role from project_member m \
             join app_user u on u.user_id = m.user_id where m.project_id = $1 order by u.username",
        )
        .bind(project_id.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get("role")?;
                Ok(MemberRow {
                    username: r.try_get("username")?,
                    role: ProjectRole::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("role '{role}'")))?,
                })
            })
            .collect()
    }

    /// Names of projects marked public.
    pub async fn public_projects(&self) -> Result<Vec<String>> {
        let rows = sqlx::query("select name from project where public = 1 order by name")
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("name")?)).collect()
    }
}
