//! Notifications (issue 31): what users hear about their jobs.
//!
//! The [`Notifier`] is a sink of the event bus with a cursor saved in the database
//! (`notification-service`): it reads every committed job event once, in order, even those
//! committed while the server was down, and turns the ones its users' rules ask for into
//! notifications. Each notification is saved with its `notification.sent` event in one
//! transaction, at most once per user and job event (a unique key), so an event offered again
//! after a crash has no second effect. The gateway carries `notification.*` events on the
//! recipient's `user:{id}:notifications` channel alone — the in-app badge is live.
//!
//! A notification is queued in the same transaction for e-mail (when its user gave an address
//! and the site has an SMTP server, `[notify.smtp]`) and for each of its user's webhooks; the
//! [`Deliverer`] sends them ([`deliver`], [`email`], [`webhook`]).
//!
//! [`Inbox`] is the service behind `/api/notifications` (list, unread count, mark read,
//! unread or dismissed, rules, unsubscribe links).

pub mod deliver;
pub mod email;
mod inbox;
pub mod webhook;

use std::collections::HashMap;

use std::sync::Arc;

use async_trait::async_trait;
use ch_domain::notification::summary;
use ch_domain::{EventType, JobEvent, NewEvent, Notification, NotificationKind, NotificationRules};
use tracing::{debug, instrument};
use uuid::Uuid;

use crate::bus::{CommitSignal, EventSink};
use crate::store::{EMAIL, Route, Store, webhook_channel};

pub use deliver::Deliverer;
pub use inbox::Inbox;

/// The actor recorded on `notification.sent` events.
pub const ACTOR: &str = "notification-service";

/// Turns job events into notifications by each job owner's rules.
pub struct Notifier {
    store: Store,
    signal: CommitSignal,
    /// Whether the site sends e-mail.
    email: bool,
    /// Rung when deliveries were queued (the delivery worker's wake-up).
    wake: Arc<tokio::sync::Notify>,
}

/// A job owner as the notifier sees them.
struct Recipient {
    user_id: Uuid,
    rules: NotificationRules,
    /// Deliveries beyond the inbox each of their notifications gets.
    routes: Vec<Route>,
}

impl Notifier {
    /// `email`: whether the site has an SMTP server; `wake`: the delivery worker's wake-up.
    pub fn new(store: Store, signal: CommitSignal, email: bool, wake: Arc<tokio::sync::Notify>) -> Self {
        Self {
            store,
            signal,
            email,
            wake,
        }
    }

    /// The user a job's notifications go to (its owner, when an enabled account of that name
    /// exists), their rules and routes.
    async fn recipient(&self, owner: &str) -> anyhow::Result<Option<Recipient>> {
        let Some(user) = self.store.user_by_name(owner).await? else {
            return Ok(None);
        };
        if user.disabled {
            return Ok(None);
        }
        let rules = self.store.notification_rules(user.user_id).await?.unwrap_or_default();
        let mut routes: Vec<Route> = rules
            .email
            .iter()
            .filter(|_| self.email)
            .map(|address| Route {
                channel: EMAIL.to_owned(),
                target: address.clone(),
            })
            .collect();
        for hook in self.store.webhooks_of(user.user_id).await? {
            routes.push(Route {
                channel: webhook_channel(hook.id),
                target: hook.url,
            });
        }
        Ok(Some(Recipient {
            user_id: user.user_id,
            rules,
            routes,
        }))
    }
}

#[async_trait]
impl EventSink for Notifier {
    fn name(&self) -> &'static str {
        ACTOR
    }

    #[instrument(skip_all, fields(events = events.len()))]
    async fn publish(&self, events: &[JobEvent]) -> anyhow::Result<()> {
        let mut recipients: HashMap<String, Option<Recipient>> = HashMap::new();
        let mut items = Vec::new();
        for event in events {
            let Some((kind, job)) = NotificationKind::of_event(event) else {
                continue;
            };
            if !recipients.contains_key(&job.owner) {
                let r = self.recipient(&job.owner).await?;
                recipients.insert(job.owner.clone(), r);
            }
            let Some(Some(Recipient { user_id, rules, routes })) = recipients.get(&job.owner) else {
                continue;
            };
            // The job's own choice at submit (`notify`, as `--mail-type`) comes before the rules'.
            let wanted = job
                .notify
                .as_ref()
                .map_or_else(|| rules.wants(kind), |k| k.contains(&kind));
            if !wanted || (!rules.in_app && routes.is_empty()) {
                continue;
            }
            let now = crate::clock::now();
            let n = Notification {
                id: Uuid::now_v7(),
                user_id: *user_id,
                kind,
                source_event_id: event.event_id,
                job_id: job.id,
                title: kind.title(&job.name),
                body: summary(kind, &job),
                created_at: now,
                read_at: None,
                // Delivered elsewhere only: kept (its deliveries refer to it) but out of the inbox.
                dismissed_at: (!rules.in_app).then_some(now),
            };
            let sent = NewEvent::notification(
                Uuid::now_v7(),
                EventType::NotificationSent,
                &n,
                ACTOR,
                &event.correlation_id,
                now,
            );
            items.push((n, sent, routes.clone()));
        }
        let deliveries = items.iter().any(|(_, _, r)| !r.is_empty());
        let committed = self.store.record_notifications(items).await?;
        if !committed.is_empty() {
            debug!(sent = committed.len(), "notifications sent");
            self.signal.committed();
            if deliveries {
                self.wake.notify_one();
            }
        }
        Ok(())
    }
}
