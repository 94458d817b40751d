//! `/api/notifications`: the caller's inbox (newest first, live on their
//! `user:{id}:notifications` channel), marking read/unread/dismissed, and their rules. Thin:
//! the notification service decides and stores.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ch_api::{
    DeliveryRecord, InboxPage, MarkRequest, Marked, NewWebhook, SharedNotificationService, UnreadCount, Webhook,
};
use ch_domain::NotificationRules;
use serde::Deserialize;
use uuid::Uuid;

use super::auth::Caller;
use super::error::{ApiError, ErrorResponse, path_id};
use super::extract::{ApiJson, ApiQuery};

/// Which page of the inbox.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default, deny_unknown_fields)]
pub struct InboxQuery {
    /// Only unread notifications.
    pub unread: Option<bool>,
    /// Notifications older than this one (the last id of the previous page).
    pub before: Option<Uuid>,
    /// Page size, 1 to 200 (50 by default).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// The caller's notifications, newest first (dismissed ones are not listed), with the unread
/// count of the whole inbox.
#[utoipa::path(get, path = "/api/notifications", operation_id = "list_notifications", params(InboxQuery),
    tag = "notifications",
    responses((status = 200, body = InboxPage), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse)))]
pub async fn list(
    State(notifications): State<SharedNotificationService>,
    Caller(caller): Caller,
    ApiQuery(q): ApiQuery<InboxQuery>,
) -> Result<Json<InboxPage>, ApiError> {
    // Out of range (negative, past u32) reads as 0: the service refuses it by name.
    let limit = q.limit.map_or(50, |n| u32::try_from(n).unwrap_or(0));
    Ok(Json(
        notifications
            .inbox(&caller, q.unread.unwrap_or(false), q.before, limit)
            .await?,
    ))
}

/// How many of the caller's notifications are unread (the badge).
#[utoipa::path(get, path = "/api/notifications/unread", operation_id = "unread_notifications",
    tag = "notifications",
    responses((status = 200, body = UnreadCount), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn unread(
    State(notifications): State<SharedNotificationService>,
    Caller(caller): Caller,
) -> Result<Json<UnreadCount>, ApiError> {
    Ok(Json(notifications.unread(&caller).await?))
}

/// Marks notifications read, unread or dismissed: those named by `ids`, or every unread one
/// when `ids` is absent (`read`, `dismiss`). Each change is a `notification.*` event on the
/// caller's channel, so their other tabs follow.
#[utoipa::path(post, path = "/api/notifications/mark", operation_id = "mark_notifications",
    request_body = MarkRequest, tag = "notifications",
    responses((status = 200, body = Marked), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 413, body = ErrorResponse), (status = 415, body = ErrorResponse),
        (status = 422, body = ErrorResponse)))]
pub async fn mark(
    State(notifications): State<SharedNotificationService>,
    Caller(caller): Caller,
    ApiJson(req): ApiJson<MarkRequest>,
) -> Result<Json<Marked>, ApiError> {
    Ok(Json(notifications.mark(&caller, req).await?))
}

/// The caller's notification rules (the defaults — failures, time-outs and completions of
/// their own jobs, in-app — until they save their own).
#[utoipa::path(get, path = "/api/notifications/rules", operation_id = "get_notification_rules",
    tag = "notifications",
    responses((status = 200, body = NotificationRules), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn rules(
    State(notifications): State<SharedNotificationService>,
    Caller(caller): Caller,
) -> Result<Json<NotificationRules>, ApiError> {
    Ok(Json(notifications.rules(&caller).await?))
}

/// Replaces the caller's notification rules; 422 naming the field that is wrong.
#[utoipa::path(put, path = "/api/notifications/rules", operation_id = "save_notification_rules",
    request_body = NotificationRules, tag = "notifications",
    responses((status = 200, body = NotificationRules), (status = 400, body = ErrorResponse),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 413, body = ErrorResponse),
        (status = 415, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn save_rules(
    State(notifications): State<SharedNotificationService>,
    Caller(caller): Caller,
    ApiJson(rules): ApiJson<NotificationRules>,
) -> Result<Json<NotificationRules>, ApiError> {
    Ok(Json(notifications.save_rules(&caller, rules).await?))
}

/// The token of an e-mail's unsubscribe link.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnsubscribeQuery {
    /// As the link carries it.
    #[param(required = true, max_length = 4096)]
    pub token: Option<String>,
}

fn unsubscribe_token(q: &UnsubscribeQuery) -> Result<&str, ApiError> {
    q.token
        .as_deref()
        .filter(|t| !t.is_empty() && t.len() <= 4096)
        .ok_or_else(|| ch_api::ServiceError::malformed("token", "the link's token is missing").into())
}

/// An e-mail's unsubscribe link, opened in a browser: no more e-mail to the address it was sent
/// to (no sign-in needed). Answers a short HTML page saying so; 400 for a link that is not valid.
#[utoipa::path(get, path = "/api/notifications/unsubscribe", operation_id = "unsubscribe_page",
    params(UnsubscribeQuery), tag = "notifications",
    responses((status = 200, description = "HTML page confirming it", content_type = "text/html"),
        (status = 400, body = ErrorResponse)))]
pub async fn unsubscribe_page(
    State(notifications): State<SharedNotificationService>,
    ApiQuery(q): ApiQuery<UnsubscribeQuery>,
) -> Result<axum::response::Html<String>, ApiError> {
    let address = notifications.unsubscribe(unsubscribe_token(&q)?).await?;
    let address = crate::html::escape(&address);
    Ok(axum::response::Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Unsubscribed</title></head>\
         <body><h1>Unsubscribed</h1><p>Cosmic Horizons sends no more e-mail to {address}. \
         Your notifications stay in your <a href=\"/notifications\">inbox</a>, where you can also \
         turn e-mail on again.</p></body></html>"
    )))
}

/// What a one-click unsubscribe answers.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Unsubscribed {
    /// The address that gets no more e-mail.
    pub email: String,
}

/// One-click unsubscribe (RFC 8058): the POST a mail client sends for the message's
/// `List-Unsubscribe-Post` header. Same effect as the page.
#[utoipa::path(post, path = "/api/notifications/unsubscribe", operation_id = "unsubscribe_one_click",
    params(UnsubscribeQuery), tag = "notifications",
    responses((status = 200, body = Unsubscribed), (status = 400, body = ErrorResponse)))]
pub async fn unsubscribe_one_click(
    State(notifications): State<SharedNotificationService>,
    ApiQuery(q): ApiQuery<UnsubscribeQuery>,
) -> Result<Json<Unsubscribed>, ApiError> {
    let email = notifications.unsubscribe(unsubscribe_token(&q)?).await?;
    Ok(Json(Unsubscribed { email }))
}

/// Your webhooks (each with its signing secret).
#[utoipa::path(get, path = "/api/notifications/webhooks", operation_id = "list_webhooks", tag = "notifications",
    responses((status = 200, body = Vec<Webhook>), (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse)))]
pub async fn webhooks(
    State(notifications): State<SharedNotificationService>,
    Caller(caller): Caller,
) -> Result<Json<Vec<Webhook>>, ApiError> {
    Ok(Json(notifications.webhooks(&caller).await?))
}

/// Adds a webhook: each of your notifications is POSTed to it, signed per Standard Webhooks
/// with the `secret` in the answer. 422 naming `url` for a URL that is malformed, not http(s),
/// or (unless the site allows it) on this host or a private network; 409 past 10 webhooks.
#[utoipa::path(post, path = "/api/notifications/webhooks", operation_id = "create_webhook",
    request_body = NewWebhook, tag = "notifications",
    responses((status = 201, body = Webhook), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 413, body = ErrorResponse),
        (status = 415, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
pub async fn create_webhook(
    State(notifications): State<SharedNotificationService>,
    Caller(caller): Caller,
    ApiJson(new): ApiJson<NewWebhook>,
) -> Result<(StatusCode, Json<Webhook>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(notifications.create_webhook(&caller, new).await?),
    ))
}

/// Removes one of your webhooks; what was still to be sent to it is given up.
#[utoipa::path(delete, path = "/api/notifications/webhooks/{id}", operation_id = "delete_webhook",
    params(("id" = Uuid, Path, description = "webhook id")), tag = "notifications",
    responses((status = 204), (status = 400, body = ErrorResponse), (status = 401, body = ErrorResponse),
        (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn delete_webhook(
    State(notifications): State<SharedNotificationService>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    notifications.delete_webhook(&caller, path_id(&id, "webhook")?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The delivery log of one of your webhooks: its newest 100 deliveries with the receiver's
/// status, latency, attempts and last error.
#[utoipa::path(get, path = "/api/notifications/webhooks/{id}/deliveries", operation_id = "webhook_deliveries",
    params(("id" = Uuid, Path, description = "webhook id")), tag = "notifications",
    responses((status = 200, body = Vec<DeliveryRecord>), (status = 400, body = ErrorResponse),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse)))]
pub async fn webhook_deliveries(
    State(notifications): State<SharedNotificationService>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<DeliveryRecord>>, ApiError> {
    Ok(Json(
        notifications
            .webhook_deliveries(&caller, path_id(&id, "webhook")?)
            .await?,
    ))
}

/// Sends a given-up (`dead`) delivery of yours again, attempts from zero; 409 when it is not
/// dead.
#[utoipa::path(post, path = "/api/notifications/deliveries/{id}/retry", operation_id = "retry_delivery",
    params(("id" = Uuid, Path, description = "delivery id")), tag = "notifications",
    responses((status = 200, body = DeliveryRecord), (status = 400, body = ErrorResponse),
        (status = 401, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 404, body = ErrorResponse),
        (status = 409, body = ErrorResponse)))]
pub async fn retry_delivery(
    State(notifications): State<SharedNotificationService>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> Result<Json<DeliveryRecord>, ApiError> {
    Ok(Json(
        notifications.retry_delivery(&caller, path_id(&id, "delivery")?).await?,
    ))
}
