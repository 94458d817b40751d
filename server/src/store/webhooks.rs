//! Users' webhooks (migration 0014).

use ch_api::Webhook;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use tracing::instrument;
use uuid::Uuid;

use super::{Result, Store, from_millis, parse, to_millis};

const COLUMNS: &str = "notification_webhook_id, user_id, url, secret, description, created_at";

fn from_row(row: &AnyRow) -> Result<(Uuid, Webhook)> {
    Ok((
        parse("user_id", &row.try_get::<String, _>("user_id")?)?,
        Webhook {
            id: parse(
                "notification_webhook_id",
                &row.try_get::<String, _>("notification_webhook_id")?,
            )?,
            url: row.try_get("url")?,
            secret: row.try_get("secret")?,
            description: row.try_get("description")?,
            created_at: from_millis(row.try_get("created_at")?)?,
        },
    ))
}

impl Store {
    /// Saves a webhook of `user_id`.
    #[instrument(skip(self, hook), fields(id = %hook.id), err)]
    pub async fn create_webhook(&self, user_id: Uuid, hook: &Webhook) -> Result<()> {
        sqlx::query(&format!(
            "insert into notification_webhook ({COLUMNS}) values ($1, $2, $3, $4, $5, $6)"
        ))
        .bind(hook.id.to_string())
        .bind(user_id.to_string())
        .bind(hook.url.clone())
        .bind(hook.secret.clone())
        .bind(hook.description.clone())
        .bind(to_millis(hook.created_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// `user_id`'s active webhooks, oldest first.
    pub async fn webhooks_of(&self, user_id: Uuid) -> Result<Vec<Webhook>> {
        let rows = sqlx::query(&format!(
            "select {COLUMNS} from notification_webhook where user_id = $1 and disabled_at is null \
             order by created_at, notification_webhook_id"
        ))
        .bind(user_id.to_string())
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(|r| from_row(r).map(|(_, w)| w)).collect()
    }

    /// An active webhook and its owner.
    pub async fn webhook(&self, id: Uuid) -> Result<Option<(Uuid, Webhook)>> {
        let row = sqlx::query(&format!(
            "select {COLUMNS} from notification_webhook where notification_webhook_id = $1 and disabled_at is null"
        ))
        .bind(id.to_string())
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Turns `user_id`'s webhook `id` off; `false` when they have no such active webhook.
    pub async fn disable_webhook(&self, user_id: Uuid, id: Uuid, now: DateTime<Utc>) -> Result<bool> {
        let n = sqlx::query(
            "update notification_webhook set disabled_at = $1 where notification_webhook_id = $2 \
             and user_id = $3 and disabled_at is null",
        )
        .bind(to_millis(now))
        .bind(id.to_string())
        .bind(user_id.to_string())
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }
}
