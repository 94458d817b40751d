//! The inbox service ([`NotificationService`]): a user's own notifications and rules.

use async_trait::async_trait;
use ch_api::notifications::{MAX_PAGE, recipient};
use ch_api::{
    InboxPage, MarkAction, MarkRequest, Marked, NotificationService, Principal, Scope, ServiceError, ServiceResult,
    UnreadCount,
};
use ch_domain::{NewEvent, NotificationRules};
use tracing::instrument;
use uuid::Uuid;

use crate::auth::Auth;
use crate::bus::CommitSignal;
use crate::store::{Mark, Store};

/// The inbox service; cheap to clone.
#[derive(Clone)]
pub struct Inbox {
    store: Store,
    signal: CommitSignal,
    /// Verifies unsubscribe links.
    auth: Auth,
    email: bool,
}

impl Inbox {
    /// `email`: whether the site has an SMTP server.
    pub fn new(store: Store, signal: CommitSignal, auth: Auth, email: bool) -> Self {
        Self {
            store,
            signal,
            auth,
            email,
        }
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
        let user = recipient(caller, Scope::Read)?;
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
        let user = recipient(caller, Scope::Read)?;
        Ok(UnreadCount {
            unread: self.store.unread_notifications(user.user_id).await?,
        })
    }

    #[instrument(skip(self, caller), err(level = "debug"))]
    async fn mark(&self, caller: &Principal, req: MarkRequest) -> ServiceResult<Marked> {
        let user = recipient(caller, Scope::Submit)?;
        req.validate()?;
        let mark = match req.action {
            MarkAction::Read => Mark::Read,
            MarkAction::Unread => Mark::Unread,
            MarkAction::Dismiss => Mark::Dismiss,
        };
        let now = crate::clock::now();
        let actor = user.username.clone();
        let (changed, events) = self
            .store
            .mark_notifications(user.user_id, req.ids.as_deref(), mark, now, |n, t| {
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
        let user = recipient(caller, Scope::Read)?;
        Ok(self.store.notification_rules(user.user_id).await?.unwrap_or_default())
    }

    #[instrument(skip(self, caller), err(level = "debug"))]
    async fn save_rules(&self, caller: &Principal, rules: NotificationRules) -> ServiceResult<NotificationRules> {
        let user = recipient(caller, Scope::Submit)?;
        let rules = rules.validate()?;
        self.store
            .save_notification_rules(user.user_id, &rules, crate::clock::now())
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
}
