//! Server functions for the inbox and the bell: thin calls into `NotificationService`.

use ch_api::{DeliveryRecord, InboxPage, MarkAction, Marked, Webhook};
use ch_domain::NotificationRules;
use leptos::prelude::*;
use uuid::Uuid;

use super::UiError;

#[cfg(feature = "ssr")]
fn notifications() -> Result<ch_api::SharedNotificationService, UiError> {
    use_context::<ch_api::SharedNotificationService>()
        .ok_or_else(|| UiError::Message("notification service unavailable".into()))
}

#[cfg(feature = "ssr")]
use super::caller;

/// A page of the caller's inbox (50 at a time), newest first.
#[server(input = server_fn::codec::Json)]
pub async fn get_inbox(unread_only: bool, before: Option<Uuid>) -> Result<InboxPage, UiError> {
    Ok(notifications()?.inbox(&caller(), unread_only, before, 50).await?)
}

/// The caller's unread count (the bell's badge); `None` for an anonymous visitor, who has no
/// inbox (the bell is not shown).
#[server(input = server_fn::codec::Json)]
pub async fn get_unread() -> Result<Option<i64>, UiError> {
    let who = caller();
    if who.user().is_none() {
        return Ok(None);
    }
    Ok(Some(notifications()?.unread(&who).await?.unread))
}

/// Marks notifications (`ids` = `None`: every unread one).
#[server(input = server_fn::codec::Json)]
pub async fn post_mark(action: MarkAction, ids: Option<Vec<Uuid>>) -> Result<Marked, UiError> {
    Ok(notifications()?
        .mark(&caller(), ch_api::MarkRequest { action, ids })
        .await?)
}

/// The caller's rules, and whether this site sends e-mail at all.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RulesView {
    pub rules: NotificationRules,
    /// The site has an SMTP server (`[notify.smtp]`); without one no e-mail is sent.
    pub email_available: bool,
}

#[server(input = server_fn::codec::Json)]
pub async fn get_rules() -> Result<RulesView, UiError> {
    let svc = notifications()?;
    Ok(RulesView {
        rules: svc.rules(&caller()).await?,
        email_available: svc.email_available(),
    })
}

#[server(input = server_fn::codec::Json)]
pub async fn post_rules(rules: NotificationRules) -> Result<NotificationRules, UiError> {
    Ok(notifications()?.save_rules(&caller(), rules).await?)
}

#[server(input = server_fn::codec::Json)]
pub async fn get_webhooks() -> Result<Vec<Webhook>, UiError> {
    Ok(notifications()?.webhooks(&caller()).await?)
}

#[server(input = server_fn::codec::Json)]
pub async fn post_webhook(url: String, description: String) -> Result<Webhook, UiError> {
    Ok(notifications()?
        .create_webhook(&caller(), ch_api::NewWebhook { url, description })
        .await?)
}

#[server(input = server_fn::codec::Json)]
pub async fn post_delete_webhook(id: Uuid) -> Result<(), UiError> {
    Ok(notifications()?.delete_webhook(&caller(), id).await?)
}

/// A webhook's delivery log, newest first.
#[server(input = server_fn::codec::Json)]
pub async fn get_webhook_deliveries(id: Uuid) -> Result<Vec<DeliveryRecord>, UiError> {
    Ok(notifications()?.webhook_deliveries(&caller(), id).await?)
}

/// Sends a given-up delivery again.
#[server(input = server_fn::codec::Json)]
pub async fn post_retry_delivery(id: Uuid) -> Result<DeliveryRecord, UiError> {
    Ok(notifications()?.retry_delivery(&caller(), id).await?)
}
