//! The notifications port: a signed-in user's inbox (read, unread, dismissed) and their rules.
//! Only the user themself reads or changes their notifications; an API token needs the
//! `read` scope to read and `submit` to change them. The server implements
//! [`NotificationService`]; the HTTP handlers and the UI's server functions call it.

use std::sync::Arc;

use async_trait::async_trait;
use ch_domain::{Notification, NotificationRules};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ServiceError, ServiceResult};
use crate::policy::{Action, Resource, SitePolicy, authorize};
use crate::principal::{Principal, UserIdentity};

/// Largest inbox page.
pub const MAX_PAGE: u32 = 200;
/// Most notification ids one mark request names.
pub const MAX_MARK_IDS: usize = 500;

/// A page of the caller's inbox, newest first (dismissed notifications are not listed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxPage {
    pub items: Vec<Notification>,
    /// Unread notifications in the whole inbox (the badge's number).
    pub unread: i64,
    /// Older notifications follow; ask again with `before` = the last item's id.
    pub more: bool,
}

/// What a mark request changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Marked {
    /// The notifications that changed, as they now are (already-read ones marked read again,
    /// and ids that are not the caller's, are left out).
    pub changed: Vec<Notification>,
    /// Unread notifications left in the inbox.
    pub unread: i64,
}

/// The badge's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UnreadCount {
    pub unread: i64,
}

/// A webhook of the caller's: each of their notifications is POSTed to `url`, signed per the
/// Standard Webhooks specification (`webhook-id`, `webhook-timestamp`, `webhook-signature:
/// v1,<base64 HMAC-SHA256 of "id.timestamp.body">` with `secret`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    /// `whsec_<base64 of 24 random bytes>`: the key the receiver verifies signatures with.
    pub secret: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A webhook to add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `https://…` (or `http://`), at most 2,048 characters; addresses on this host or a
    /// private network are refused unless the site allows them.
    pub url: String,
    /// What it is for (at most 200 characters).
    #[serde(default)]
    pub description: String,
}

/// One delivery of a notification to a webhook, as its log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryRecord {
    pub id: Uuid,
    pub notification_id: Uuid,
    /// `pending` (waiting for its next attempt), `sent` or `dead` (given up: send it again
    /// with `POST /api/notifications/deliveries/{id}/retry`).
    pub status: String,
    pub attempts: u32,
    /// The receiver's HTTP status on the last attempt (none when it did not answer).
    pub response_status: Option<u16>,
    /// From the notification to the receiver's answer, in milliseconds (once sent).
    pub latency_ms: Option<i64>,
    pub last_error: Option<String>,
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What to do to notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MarkAction {
    Read,
    Unread,
    Dismiss,
}

/// A mark request: these notifications, or (`ids` absent) every unread one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MarkRequest {
    pub action: MarkAction,
    /// Up to 500 notification ids; absent = all unread ones (for `read` and `dismiss`; at
    /// most 1,000 per call).
    #[serde(default)]
    pub ids: Option<Vec<Uuid>>,
}

impl MarkRequest {
    /// # Errors
    /// [`ServiceError::Invalid`] on `ids` when more than [`MAX_MARK_IDS`] are named, or on
    /// `action` for `unread` without ids.
    pub fn validate(&self) -> ServiceResult<()> {
        match &self.ids {
            Some(ids) if ids.len() > MAX_MARK_IDS => Err(ServiceError::Invalid(ch_domain::FieldError::new(
                "ids",
                format!("at most {MAX_MARK_IDS} ids per request ({} given)", ids.len()),
            ))),
            None if self.action == MarkAction::Unread => Err(ServiceError::Invalid(ch_domain::FieldError::new(
                "action",
                "'unread' needs the ids of the notifications to mark",
            ))),
            _ => Ok(()),
        }
    }
}

/// The signed-in user a notification call acts for: their own account, as the one policy
/// decides ([`crate::authorize`] on [`Resource::Account`]; `Read` needs a token's `read` scope,
/// `Write` its `submit` scope).
///
/// # Errors
/// 401 for anonymous callers; 403 for a token without the scope.
pub fn recipient(caller: &Principal, action: Action) -> ServiceResult<&UserIdentity> {
    let user = caller
        .user()
        .ok_or_else(|| ServiceError::Unauthenticated("sign in to read your notifications".into()))?;
    let own = Resource::Account {
        username: &user.username,
    };
    authorize(SitePolicy::default(), caller, action, own).map_err(|d| ServiceError::denied(d, "notifications"))?;
    Ok(user)
}

#[async_trait]
pub trait NotificationService: Send + Sync + 'static {
    /// A page of the caller's inbox: at most `limit` (1–200) items older than `before`.
    async fn inbox(
        &self,
        caller: &Principal,
        unread_only: bool,
        before: Option<Uuid>,
        limit: u32,
    ) -> ServiceResult<InboxPage>;
    /// The caller's unread count.
    async fn unread(&self, caller: &Principal) -> ServiceResult<UnreadCount>;
    /// Marks the caller's notifications read, unread or dismissed.
    async fn mark(&self, caller: &Principal, req: MarkRequest) -> ServiceResult<Marked>;
    /// The caller's rules (the defaults until they save their own).
    async fn rules(&self, caller: &Principal) -> ServiceResult<NotificationRules>;
    /// Saves the caller's rules; 422 naming the field that is wrong.
    async fn save_rules(&self, caller: &Principal, rules: NotificationRules) -> ServiceResult<NotificationRules>;
    /// Whether this site sends e-mail (it has an SMTP server); without one, an address in the
    /// rules is kept but nothing is sent.
    fn email_available(&self) -> bool;
    /// Follows an e-mail's unsubscribe link (no sign-in: the token is signed for this purpose
    /// and address): no more e-mail goes to that address. Returns the address.
    ///
    /// # Errors
    /// 400 naming `token` when it is forged, expired or for another purpose.
    async fn unsubscribe(&self, token: &str) -> ServiceResult<String>;
    /// The caller's active webhooks.
    async fn webhooks(&self, caller: &Principal) -> ServiceResult<Vec<Webhook>>;
    /// Adds a webhook (at most 10 per user); 422 naming `url` for one that is malformed, not
    /// http(s), or on this host or a private network where the site forbids that.
    async fn create_webhook(&self, caller: &Principal, new: NewWebhook) -> ServiceResult<Webhook>;
    /// Removes one of the caller's webhooks (its pending deliveries are given up).
    async fn delete_webhook(&self, caller: &Principal, id: Uuid) -> ServiceResult<()>;
    /// The newest 100 deliveries to one of the caller's webhooks.
    async fn webhook_deliveries(&self, caller: &Principal, id: Uuid) -> ServiceResult<Vec<DeliveryRecord>>;
    /// Sends a dead delivery of the caller's again (attempts start afresh); 409 when it is
    /// not dead.
    async fn retry_delivery(&self, caller: &Principal, id: Uuid) -> ServiceResult<DeliveryRecord>;
}

pub type SharedNotificationService = Arc<dyn NotificationService>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::{Credential, GlobalRole, Scope};

    #[test]
    fn marks_are_bounded_and_unread_needs_ids() {
        let many = MarkRequest {
            action: MarkAction::Read,
            ids: Some(vec![Uuid::nil(); MAX_MARK_IDS + 1]),
        };
        assert_eq!(
            many.validate().map_err(|e| e.field().map(str::to_owned)),
            Err(Some("ids".into()))
        );
        let unread_all = MarkRequest {
            action: MarkAction::Unread,
            ids: None,
        };
        assert_eq!(unread_all.validate().map_err(|e| e.status()), Err(422));
        let all_read = MarkRequest {
            action: MarkAction::Read,
            ids: None,
        };
        assert_eq!(all_read.validate(), Ok(()));
    }

    #[test]
    fn only_signed_in_users_with_the_scope_have_an_inbox() {
        assert_eq!(
            recipient(&Principal::Anonymous, Action::Read).map_err(|e| e.status()),
            Err(401)
        );
        let user = UserIdentity {
            user_id: Uuid::nil(),
            username: "ada".into(),
            role: GlobalRole::Scientist,
            memberships: Vec::new(),
        };
        let token = Principal::User {
            user: user.clone(),
            credential: Credential::Token {
                token_id: Uuid::nil(),
                scopes: vec![Scope::Read],
                project: None,
            },
        };
        assert!(recipient(&token, Action::Read).is_ok());
        assert_eq!(recipient(&token, Action::Write).map_err(|e| e.status()), Err(403));
    }
}
