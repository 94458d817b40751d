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
use ch_domain::{EventType, Job, JobEvent, NewEvent, Notification, NotificationKind, NotificationRules};
use tracing::{debug, instrument};
use uuid::Uuid;

use crate::auth::Auth;
use crate::bus::{CommitSignal, EventSink};
use crate::store::{EMAIL, Route, Store, webhook_channel};

pub use deliver::Deliverer;
pub use inbox::Inbox;

/// The actor recorded on `notification.sent` events.
pub const ACTOR: &str = "notification-service";

/// Turns job events into notifications by each user's rules: a job's owner, and whoever
/// watches its project or the job itself (while they may read it).
pub struct Notifier {
    store: Store,
    signal: CommitSignal,
    /// Whether the site sends e-mail.
    email: bool,
    /// Rung when deliveries were queued (the delivery worker's wake-up).
    wake: Arc<tokio::sync::Notify>,
    /// Decides whether a watcher may still read a watched project.
    auth: Auth,
}

/// A user as the notifier sees them.
struct Recipient {
    user_id: Uuid,
    username: String,
    rules: NotificationRules,
    /// Deliveries beyond the inbox each of their notifications gets (e-mail's hold is set
    /// per notification).
    routes: Vec<Route>,
}

impl Notifier {
    /// `email`: whether the site has an SMTP server; `wake`: the delivery worker's wake-up.
    pub fn new(store: Store, signal: CommitSignal, email: bool, wake: Arc<tokio::sync::Notify>, auth: Auth) -> Self {
        Self {
            store,
            signal,
            email,
            wake,
            auth,
        }
    }

    /// An enabled user's rules and routes (`None` for a disabled or unknown account).
    async fn recipient(&self, user: Option<crate::store::UserRow>) -> anyhow::Result<Option<Recipient>> {
        let Some(user) = user.filter(|u| !u.disabled) else {
            return Ok(None);
        };
        let rules = self.store.notification_rules(user.user_id).await?.unwrap_or_default();
        let mut routes: Vec<Route> = rules
            .email
            .iter()
            .filter(|_| self.email)
            .map(|address| Route {
                channel: EMAIL.to_owned(),
                target: address.clone(),
                hold_until: None,
            })
            .collect();
        for hook in self.store.webhooks_of(user.user_id).await? {
            routes.push(Route {
                channel: webhook_channel(hook.id),
                target: hook.url,
                hold_until: None,
            });
        }
        Ok(Some(Recipient {
            user_id: user.user_id,
            username: user.username,
            rules,
            routes,
        }))
    }

    /// Who may hear of `job`'s events: its owner and its watchers, each once (by user id).
    async fn audience(&self, job: &Job, known: &mut Known) -> anyhow::Result<Vec<Uuid>> {
        let mut ids = Vec::new();
        if let Some(id) = known.by_name.get(&job.owner) {
            ids.extend(*id);
        } else {
            let r = self.recipient(self.store.user_by_name(&job.owner).await?).await?;
            let id = r.as_ref().map(|r| r.user_id);
            known.by_name.insert(job.owner.clone(), id);
            if let Some(r) = r {
                known.users.insert(r.user_id, Some(r));
            }
            ids.extend(id);
        }
        for watcher in self.store.watchers(&job.project, job.id).await? {
            if let std::collections::hash_map::Entry::Vacant(slot) = known.users.entry(watcher) {
                slot.insert(self.recipient(self.store.user_by_id(watcher).await?).await?);
            }
            if !ids.contains(&watcher) {
                ids.push(watcher);
            }
        }
        Ok(ids)
    }
}

/// Users looked up while handling one batch of events.
#[derive(Default)]
struct Known {
    users: HashMap<Uuid, Option<Recipient>>,
    by_name: HashMap<String, Option<Uuid>>,
}

#[async_trait]
impl EventSink for Notifier {
    fn name(&self) -> &'static str {
        ACTOR
    }

    #[instrument(skip_all, fields(events = events.len()))]
    async fn publish(&self, events: &[JobEvent]) -> anyhow::Result<()> {
        let mut known = Known::default();
        let mut items = Vec::new();
        for event in events {
            let Some((kind, job)) = NotificationKind::of_event(event) else {
                continue;
            };
            for user_id in self.audience(&job, &mut known).await? {
                let Some(Some(r)) = known.users.get(&user_id) else {
                    continue;
                };
                let is_owner = r.username == job.owner;
                let wanted = r.rules.kinds_for(&job, is_owner).is_some_and(|k| k.contains(&kind));
                if !wanted || (!r.rules.in_app && r.routes.is_empty()) {
                    continue;
                }
                // A watcher hears of a project's jobs only while they may read them.
                if !is_owner && !self.auth.may_read_project(user_id, &job.project).await? {
                    continue;
                }
                let now = crate::clock::now();
                let hold = r.rules.email_hold(now);
                let routes: Vec<Route> = r
                    .routes
                    .iter()
                    .map(|route| Route {
                        hold_until: if route.channel == EMAIL { hold } else { None },
                        ..route.clone()
                    })
                    .collect();
                let n = Notification {
                    id: Uuid::now_v7(),
                    user_id,
                    kind,
                    source_event_id: event.event_id,
                    job_id: job.id,
                    title: kind.title(&job.name),
                    body: summary(kind, &job, event),
                    created_at: now,
                    read_at: None,
                    // Delivered elsewhere only: kept (its deliveries refer to it) but out of the inbox.
                    dismissed_at: (!r.rules.in_app).then_some(now),
                };
                let sent = NewEvent::notification(
                    Uuid::now_v7(),
                    EventType::NotificationSent,
                    &n,
                    ACTOR,
                    &event.correlation_id,
                    now,
                );
                items.push((n, sent, routes));
            }
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
