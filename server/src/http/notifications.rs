//! `/api/notifications`: the caller's inbox (newest first, live on their
//! `user:{id}:notifications` channel), marking read/unread/dismissed, and their rules. Thin:
//! the notification service decides and stores.

use axum::Json;
use axum::extract::State;
use ch_api::notifications::MAX_PAGE;
use ch_api::{InboxPage, MarkRequest, Marked, SharedNotificationService, UnreadCount};
use ch_domain::NotificationRules;
use serde::Deserialize;
use uuid::Uuid;

use super::auth::Caller;
use super::error::{ApiError, ErrorResponse};
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
    let limit = match q.limit {
        None => 50,
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| ch_api::ServiceError::malformed("limit", format!("limit must be 1 to {MAX_PAGE}")))?,
    };
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
