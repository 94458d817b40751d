//! The inbox service ([`NotificationService`]): a user's own notifications and rules.

use async_trait::async_trait;
use ch_api::notifications::{MAX_PAGE, recipient};
use ch_api::{
    Action, DeliveryRecord, InboxPage, MarkRequest, Marked, NewWebhook, NotificationService, Principal, ServiceError,
    ServiceResult, UnreadCount, Webhook,
};
use ch_domain::{FieldError, NewEvent, NotificationRules};
use tracing::instrument;
use uuid::Uuid;

use crate::auth::Auth;
use crate::bus::CommitSignal;
use crate::store::{Delivery, Store, webhook_channel};

/// The inbox service; cheap to clone.
#[derive(Clone)]
pub struct Inbox {
    store: Store,
    signal: CommitSignal,
    /// Verifies unsubscribe links.
    auth: Auth,
    email: bool,
    /// Whether webhooks may point at private networks (`notify.webhooks.allow_private`).
    allow_private: bool,
}

/// Most webhooks one user may have.
pub const MAX_WEBHOOKS: usize = 10;
/// Longest webhook description, in characters.
const MAX_DESCRIPTION: usize = 200;

impl Inbox {
    /// `email`: whether the site has an SMTP server; `allow_private`: whether webhooks may
    /// point at this host or a private network.
    pub fn new(store: Store, signal: CommitSignal, auth: Auth, email: bool, allow_private: bool) -> Self {
        Self {
            store,
            signal,
            auth,
            email,
            allow_private,
        }
    }

    /// Every watched project and job must be one `user_id` may read (422 naming the watch;
    /// the same answer for one that does not exist).
    async fn check_watches(&self, user_id: Uuid, rules: &NotificationRules) -> ServiceResult<()> {
        for (i, w) in rules.watches.iter().enumerate() {
            let (field, project) = match (&w.project, w.job_id) {
                (Some(p), _) => (format!("watches[{i}].project"), Some(p.clone())),
                (None, Some(id)) => (
                    format!("watches[{i}].job_id"),
                    match self.store.get_job(id).await {
                        Ok(u) => Some(u.job.project),
                        Err(crate::store::StoreError::JobNotFound(_)) => None,
                        Err(e) => return Err(e.into()),
                    },
                ),
                (None, None) => continue,
            };
            let readable = match &project {
                Some(p) => self.auth.may_read_project(user_id, p).await?,
                None => false,
            };
            if !readable {
                let what = w.project.as_ref().map_or_else(
                    || format!("job {}", w.job_id.unwrap_or_default()),
                    |p| format!("project '{}'", p.escape_debug()),
                );
                return Err(FieldError::new(field, format!("there is no {what} that you may read")).into());
            }
        }
        Ok(())
    }

    /// `user_id`'s webhook `id`, or 404.
    async fn own_webhook(&self, user_id: Uuid, id: Uuid) -> ServiceResult<Webhook> {
        match self.store.webhook(id).await? {
            Some((owner, hook)) if owner == user_id => Ok(hook),
            _ => Err(ServiceError::NotFound(format!("webhook {id}"))),
        }
    }
}

fn record(d: Delivery) -> DeliveryRecord {
    DeliveryRecord {
        id: d.id,
        notification_id: d.notification_id,
        status: d.status.as_str().to_owned(),
        attempts: d.attempts,
        response_status: d.response_status,
        latency_ms: d.latency_ms,
        last_error: d.last_error,
        next_attempt_at: d.next_attempt_at,
        sent_at: d.sent_at,
    }
}

#[async_trait]
impl NotificationService for Inbox {
    #[instrument(skip(self, caller), err(level = "debug"))]
    async fn inbox(
        &self,
        caller: &Principal,
        unread_only: bool,
        before: Option<Uuid>,
        limit: u32,
    ) -> ServiceResult<InboxPage> {
        let user = recipient(caller, Action::Read)?;
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ServiceError::malformed(
                "limit",
                format!("limit must be 1 to {MAX_PAGE}"),
            ));
        }
        let page = self.store.inbox(user.user_id, unread_only, before, limit).await?;
        let unread = self.store.unread_notifications(user.user_id).await?;
        Ok(InboxPage {
            items: page.items,
            unread,
            more: page.more,
        })
    }

    async fn unread(&self, caller: &Principal) -> ServiceResult<UnreadCount> {
        let user = recipient(caller, Action::Read)?;
        Ok(UnreadCount {
            unread: self.store.unread_notifications(user.user_id).await?,
        })
    }

    #[instrument(skip(self, caller), err(level = "debug"))]
    async fn mark(&self, caller: &Principal, req: MarkRequest) -> ServiceResult<Marked> {
        let user = recipient(caller, Action::Write)?;
        req.validate()?;
        let now = crate::clock::now();
        let actor = user.username.clone();
        let (changed, events) = self
            .store
            .mark_notifications(user.user_id, req.ids.as_deref(), req.action, now, |n, t| {
                NewEvent::notification(Uuid::now_v7(), t, n, &actor, &n.id.to_string(), now)
            })
            .await?;
        if !events.is_empty() {
            self.signal.committed();
        }
        Ok(Marked {
            changed,
            unread: self.store.unread_notifications(user.user_id).await?,
        })
    }

    async fn rules(&self, caller: &Principal) -> ServiceResult<NotificationRules> {
        let user = recipient(caller, Action::Read)?;
        Ok(self.store.notification_rules(user.user_id).await?.unwrap_or_default())
    }

    #[instrument(skip(self, caller), err(level = "debug"))]
    async fn save_rules(&self, caller: &Principal, rules: NotificationRules) -> ServiceResult<NotificationRules> {
        let user = recipient(caller, Action::Write)?;
        let rules = rules.validate()?;
        self.check_watches(user.user_id, &rules).await?;
        let now = crate::clock::now();
        self.store.save_notification_rules(user.user_id, &rules, now).await?;
        // E-mail held under the old rules goes when the new ones say (now, without a digest
        // or quiet hours).
        self.store
            .retime_held_email(user.user_id, rules.email_hold(now).unwrap_or(now))
            .await?;
        Ok(rules)
    }

    fn email_available(&self) -> bool {
        self.email
    }

    #[instrument(skip_all, err(level = "debug"))]
    async fn unsubscribe(&self, token: &str) -> ServiceResult<String> {
        let Some((user_id, address)) = self.auth.verify_link(token, super::email::UNSUBSCRIBE) else {
            return Err(ServiceError::malformed(
                "token",
                "this unsubscribe link is not valid (altered or expired); sign in and change your notification rules instead",
            ));
        };
        // Only the address the link was sent to: a newer address the user chose stays.
        if let Some(mut rules) = self.store.notification_rules(user_id).await?
            && rules.email.as_deref() == Some(address.as_str())
        {
            rules.email = None;
            self.store
                .save_notification_rules(user_id, &rules, crate::clock::now())
                .await?;
            tracing::info!(%user_id, "unsubscribed from e-mail through a link");
        }
        Ok(address)
    }

    async fn webhooks(&self, caller: &Principal) -> ServiceResult<Vec<Webhook>> {
        let user = recipient(caller, Action::Read)?;
        Ok(self.store.webhooks_of(user.user_id).await?)
    }

    #[instrument(skip(self, caller), err(level = "debug"))]
    async fn create_webhook(&self, caller: &Principal, new: NewWebhook) -> ServiceResult<Webhook> {
        let user = recipient(caller, Action::Write)?;
        let description = new.description.trim().to_owned();
        if description.chars().count() > MAX_DESCRIPTION || description.chars().any(char::is_control) {
            return Err(FieldError::new(
                "description",
                format!("at most {MAX_DESCRIPTION} characters, no control characters"),
            )
            .into());
        }
        let url = new.url.trim().to_owned();
        super::webhook::check_url(&url, self.allow_private)
            .await
            .map_err(|why| {
                FieldError::new(
                    "url",
                    format!("cannot send webhooks to '{}': {why}", url.escape_debug()),
                )
            })?;
        if self.store.webhooks_of(user.user_id).await?.len() >= MAX_WEBHOOKS {
            return Err(ServiceError::Conflict(format!(
                "you have {MAX_WEBHOOKS} webhooks already; remove one first"
            )));
        }
        let hook = Webhook {
            id: Uuid::now_v7(),
            url,
            description,
            secret: super::webhook::new_secret(),
            created_at: crate::clock::now(),
        };
        self.store.create_webhook(user.user_id, &hook).await?;
        Ok(hook)
    }

    async fn delete_webhook(&self, caller: &Principal, id: Uuid) -> ServiceResult<()> {
        let user = recipient(caller, Action::Write)?;
        if !self
            .store
            .disable_webhook(user.user_id, id, crate::clock::now())
            .await?
        {
            return Err(ServiceError::NotFound(format!("webhook {id}")));
        }
        self.store
            .abandon_deliveries(&webhook_channel(id), "the webhook was removed")
            .await?;
        Ok(())
    }

    async fn webhook_deliveries(&self, caller: &Principal, id: Uuid) -> ServiceResult<Vec<DeliveryRecord>> {
        let user = recipient(caller, Action::Read)?;
        self.own_webhook(user.user_id, id).await?;
        let log = self.store.deliveries_on(&webhook_channel(id), 100).await?;
        Ok(log.into_iter().map(record).collect())
    }

    async fn retry_delivery(&self, caller: &Principal, id: Uuid) -> ServiceResult<DeliveryRecord> {
        let user = recipient(caller, Action::Write)?;
        let not_found = || ServiceError::NotFound(format!("delivery {id}"));
        let d = self.store.delivery(id).await?.ok_or_else(not_found)?;
        if d.user_id != user.user_id {
            return Err(not_found());
        }
        if !self.store.revive_delivery(id, crate::clock::now()).await? {
            return Err(ServiceError::Conflict(format!(
                "delivery {id} is {}, not dead: only a given-up delivery is sent again",
                d.status.as_str()
            )));
        }
        let d = self.store.delivery(id).await?.ok_or_else(not_found)?;
        Ok(record(d))
    }
}
