//! The delivery worker: sends the queued deliveries (`notification_delivery`, written with
//! their notifications) by e-mail and to webhooks, each lane's — an address, one webhook — in
//! the order they were queued.
//!
//! A delivery is claimed before it is sent (a lease, so several instances share the queue), and
//! marked sent once the SMTP server accepted it or the webhook's receiver answered 2xx: a crash
//! in between sends it again, with the same `Message-ID` / `webhook-id` (at least once). A
//! refusal or silence is retried after a doubling pause with jitter (`retry_base_ms` … 1 h)
//! until `max_attempts`, then the delivery is `dead` (its owner may send it again). While a
//! target's oldest delivery waits for its retry, its later ones wait too (order is kept).
//! A user who was sent `max_per_user_per_hour` e-mails in the last hour gets the rest of the
//! hour's notifications in one digest when the hour ends. The worker never blocks job
//! processing: the queue is a table, and a dead SMTP server only grows it. Targets are served
//! concurrently (up to 16, one task each), so a slow or hanging receiver delays only its own
//! deliveries.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, instrument, warn};

use super::email::Mailer;
use crate::settings::{SmtpSettings, WebhookSettings};
use crate::store::{Delivery, DeliveryStatus, EMAIL, Store};

/// Deliveries read per round.
const ROUND: u32 = 200;
/// Targets served at once.
const PARALLEL: usize = 16;
/// Deliveries one task sends to its target in a row before the target goes back to the queue.
const FOLLOW_ON: usize = 50;

/// The lanes — (channel, target): an address, or one webhook — a task is serving now.
type Busy = Arc<std::sync::Mutex<std::collections::HashSet<(String, String)>>>;

/// The lane of `d`: deliveries in one lane go in order, lanes independently (two users'
/// webhooks to one URL are two lanes; e-mail to one address is one).
fn lane(d: &Delivery) -> (String, String) {
    (d.channel.clone(), d.target.clone())
}
/// Longest sleep between rounds (a commit on another instance wakes nobody here).
const POLL: Duration = Duration::from_secs(2);
/// Longest pause between retries.
const MAX_RETRY: Duration = Duration::from_secs(3600);

/// Sends queued deliveries until `shutdown`.
pub struct Deliverer {
    pub store: Store,
    /// The mailer and its server's settings, when the site sends e-mail.
    pub email: Option<(Arc<Mailer>, SmtpSettings)>,
    pub webhooks: WebhookSettings,
    /// Rung after a notification with deliveries is committed on this instance.
    pub wake: Arc<Notify>,
    /// Where jobs' logs are read from (the last lines go into e-mails about a job's end).
    pub executors: crate::jobs::Executors,
}

/// How one attempt went: the receiver's status (webhooks), and the error if it failed
/// (`retryable`: whether trying later may work).
struct Attempt {
    status: Option<u16>,
    error: Option<(String, bool)>,
}

/// Work for one target, run in a task of its own.
enum Work {
    One(Delivery),
    Digest(Vec<Delivery>),
}

impl Deliverer {
    /// Sends until `shutdown`. Targets are independent: up to [`PARALLEL`] are served at
    /// once, each by one task, so a slow or hanging receiver holds up its own deliveries only.
    pub async fn run(self, shutdown: CancellationToken) {
        info!(email = self.email.is_some(), "notification delivery started");
        let this = Arc::new(self);
        let busy: Busy = Arc::default();
        let permits = Arc::new(Semaphore::new(PARALLEL));
        // Sends in flight; aborted at shutdown (their claims lapse, and whichever instance
        // runs next sends them again).
        let mut sending = tokio::task::JoinSet::new();
        loop {
            while sending.try_join_next().is_some() {}
            let woken = this.wake.notified();
            let next = match this.round(&busy).await {
                Ok((next, work)) => {
                    for w in work {
                        sending.spawn(this.clone().serve(w, busy.clone(), permits.clone()));
                    }
                    next
                }
                Err(e) => {
                    warn!(error = %e, "reading the delivery queue failed");
                    None
                }
            };
            let pause = next
                .map(|t| (t - crate::clock::now()).to_std().unwrap_or_default())
                .unwrap_or(POLL)
                .min(POLL);
            tokio::select! {
                () = woken => {}
                () = tokio::time::sleep(pause) => {}
                () = shutdown.cancelled() => {
                    sending.shutdown().await;
                    return;
                }
            }
        }
    }

    /// Sends `w` (one target's), then frees its target and rings for the next round.
    async fn serve(self: Arc<Self>, w: Work, busy: Busy, permits: Arc<Semaphore>) {
        let (channel, target) = match &w {
            Work::One(d) => lane(d),
            Work::Digest(batch) => batch.first().map(lane).unwrap_or_default(),
        };
        let _permit = permits.acquire_owned().await;
        let mut w = w;
        for _ in 0..FOLLOW_ON {
            let result = match &w {
                Work::One(d) => self.one(d).await,
                Work::Digest(batch) => self.digest(&batch.iter().collect::<Vec<_>>()).await,
            };
            if let Err(e) = result {
                warn!(error = %e, %target, "a delivery could not be recorded");
                break;
            }
            // The target's next one, when it is plainly pending and due, goes at once (a
            // delivery that failed is its own next, not due yet: the order is kept).
            let Work::One(sent) = &w else { break };
            match self.store.next_delivery_on(&channel, &target).await {
                Ok(Some(n))
                    if n.id != sent.id
                        && n.status == DeliveryStatus::Pending
                        && n.next_attempt_at <= crate::clock::now() =>
                {
                    w = Work::One(n);
                }
                _ => break,
            }
        }
        if let Ok(mut b) = busy.lock() {
            b.remove(&(channel, target));
        }
        // Its next delivery (or its retry) is for the next round.
        self.wake.notify_one();
    }

    /// The work due: for each target whose oldest delivery is due and that no task serves,
    /// marked busy; and when the next delivery not yet due is (a finished task rings the
    /// wake-up).
    #[instrument(skip_all, err)]
    async fn round(&self, busy: &Busy) -> anyhow::Result<(Option<DateTime<Utc>>, Vec<Work>)> {
        let open = self.store.open_deliveries(ROUND).await?;
        let now = crate::clock::now();
        let mut next: Option<DateTime<Utc>> = None;
        let mut heads: HashMap<(&str, &str), &Delivery> = HashMap::new();
        let mut work = Vec::new();
        for d in &open {
            // Only each address's oldest is sent; the rest wait their turn — or, behind a
            // digest that waits for its time, join it.
            if let Some(head) = heads.get(&(d.channel.as_str(), d.target.as_str())) {
                if head.status == DeliveryStatus::Digest && d.status == DeliveryStatus::Pending {
                    self.store.delivery_held(d.id, head.next_attempt_at).await?;
                }
                continue;
            }
            heads.insert((&d.channel, &d.target), d);
            if d.next_attempt_at > now {
                next = Some(next.map_or(d.next_attempt_at, |n| n.min(d.next_attempt_at)));
                continue;
            }
            match busy.lock() {
                Ok(b) if !b.contains(&lane(d)) => {}
                _ => continue,
            }
            work.push(match d.status {
                DeliveryStatus::Digest => Work::Digest(
                    open.iter()
                        .filter(|x| {
                            lane(x) == lane(d) && x.status == DeliveryStatus::Digest && x.next_attempt_at <= now
                        })
                        .cloned()
                        .collect(),
                ),
                _ => Work::One(d.clone()),
            });
        }
        if let Ok(mut b) = busy.lock() {
            for w in &work {
                match w {
                    Work::One(d) => b.insert(lane(d)),
                    Work::Digest(batch) => batch.first().is_some_and(|d| b.insert(lane(d))),
                };
            }
        }
        Ok((next, work))
    }

    /// The first retry pause (ms) and the attempts allowed along `channel`: the SMTP server's
    /// settings for e-mail, the webhooks' otherwise.
    fn retry_policy(&self, channel: &str) -> (u64, u32) {
        match (&self.email, channel == EMAIL) {
            (Some((_, smtp)), true) => (smtp.retry_base_ms, smtp.max_attempts),
            _ => (self.webhooks.retry_base_ms, self.webhooks.max_attempts),
        }
    }

    /// The pause before attempt `attempts + 1` of a delivery along `channel`:
    /// `retry_base_ms · 2^attempts`, at most an hour, drawn uniformly from its upper half
    /// (jitter, so retries after an outage spread out).
    fn backoff(&self, channel: &str, attempts: u32) -> Duration {
        let (base_ms, _) = self.retry_policy(channel);
        let full = Duration::from_millis(base_ms.max(1))
            .saturating_mul(1 << attempts.min(20))
            .min(MAX_RETRY);
        let half = full / 2;
        half + Duration::from_millis(rand::rng().random_range(0..=u64::try_from(half.as_millis()).unwrap_or(0)))
    }

    /// How long a claim holds a delivery: twice the longest send deadline and 5 s, so a claim
    /// outlives any attempt, and a crashed instance's claim lapses soon (its delivery is then
    /// sent again, by whichever instance runs).
    fn lease_ms(&self) -> i64 {
        let smtp = self.email.as_ref().map_or(0, |(_, s)| s.timeout_secs);
        let longest = smtp.max(self.webhooks.timeout_secs).max(1);
        i64::try_from(longest.saturating_mul(2000).saturating_add(5000)).unwrap_or(i64::MAX)
    }

    async fn one(&self, d: &Delivery) -> anyhow::Result<()> {
        let now = crate::clock::now();
        if !self.store.claim_delivery(d.id, now, self.lease_ms()).await? {
            return Ok(());
        }
        let Some(n) = self.store.notification(d.notification_id).await? else {
            self.store
                .delivery_failed(d.id, "the notification is gone", None, None)
                .await?;
            return Ok(());
        };
        let job = self.store.get_job(n.job_id).await.ok().map(|u| u.job);
        let attempt = if d.channel == EMAIL {
            let Some((mailer, smtp)) = &self.email else {
                self.store
                    .delivery_failed(d.id, "this site no longer sends e-mail", None, None)
                    .await?;
                return Ok(());
            };
            let hour_ago = now - chrono::Duration::hours(1);
            let sent = self.store.emails_sent_since(d.user_id, hour_ago).await?;
            if sent.len() >= smtp.max_per_user_per_hour as usize
                && let Some(oldest) = sent.first()
            {
                let until = *oldest + chrono::Duration::hours(1);
                debug!(delivery = %d.id, %until, "hourly limit reached; held for the digest");
                self.store.delivery_held(d.id, until).await?;
                return Ok(());
            }
            let logs = match &job {
                Some(j) if n.kind.is_end() => self.logs(j).await,
                _ => None,
            };
            let result = match mailer.compose(&d.target, &n, job.as_ref(), logs.as_ref()) {
                Ok(m) => mailer.send(m).await,
                Err(e) => Err(e),
            };
            Attempt {
                status: None,
                error: result.err().map(|e| (e.to_string(), e.retryable())),
            }
        } else {
            let Some((_, hook)) = (match d.webhook() {
                Some(id) => self.store.webhook(id).await?,
                None => None,
            }) else {
                self.store
                    .delivery_failed(d.id, "the webhook was removed", None, None)
                    .await?;
                return Ok(());
            };
            let body = serde_json::json!({
                "type": "notification.sent",
                "timestamp": n.created_at,
                "data": { "notification": n, "job": job },
            });
            let body = serde_json::to_vec(&body)?;
            let timeout = Duration::from_secs(self.webhooks.timeout_secs.max(1));
            match super::webhook::send(
                &d.target,
                &hook.secret,
                &d.id.to_string(),
                body,
                self.webhooks.allow_private,
                timeout,
            )
            .await
            {
                Ok(status) => Attempt {
                    status: Some(status),
                    error: None,
                },
                Err(e) => Attempt {
                    status: e.status,
                    error: Some((e.message, true)),
                },
            }
        };
        self.settle(&[d], attempt, n.created_at).await
    }

    /// The job's logs when this instance runs its executor and they can be read (an e-mail
    /// goes without them otherwise).
    async fn logs(&self, job: &ch_domain::Job) -> Option<ch_domain::JobLogs> {
        let executor = self.executors.get(&job.executor)?;
        match executor.logs(job).await {
            Ok(logs) => Some(logs),
            Err(e) => {
                debug!(job = %job.id, error = %e, "no logs for the e-mail");
                None
            }
        }
    }

    async fn digest(&self, batch: &[&Delivery]) -> anyhow::Result<()> {
        let now = crate::clock::now();
        let mut claimed = Vec::new();
        let mut items = Vec::new();
        for d in batch {
            if self.store.claim_delivery(d.id, now, self.lease_ms()).await?
                && let Some(n) = self.store.notification(d.notification_id).await?
            {
                claimed.push(*d);
                items.push(n);
            }
        }
        let (Some(first), Some(target)) = (items.first(), claimed.first().map(|d| d.target.clone())) else {
            return Ok(());
        };
        let created = first.created_at;
        let Some((mailer, _)) = &self.email else {
            return Ok(());
        };
        let rules = self.store.notification_rules(first.user_id).await?.unwrap_or_default();
        let result = match mailer.compose_digest(&target, &items, super::email::digest_intro(&rules)) {
            Ok(m) => mailer.send(m).await,
            Err(e) => Err(e),
        };
        let attempt = Attempt {
            status: None,
            error: result.err().map(|e| (e.to_string(), e.retryable())),
        };
        self.settle(&claimed, attempt, created).await
    }

    /// Records how sending `deliveries` (one message) went.
    async fn settle(&self, deliveries: &[&Delivery], attempt: Attempt, created: DateTime<Utc>) -> anyhow::Result<()> {
        let now = crate::clock::now();
        match attempt.error {
            None => {
                let ids: Vec<_> = deliveries.iter().map(|d| d.id).collect();
                let latency = (now - created).num_milliseconds().max(0);
                self.store.deliveries_sent(&ids, now, latency, attempt.status).await?;
                debug!(n = ids.len(), latency_ms = latency, "notification delivered");
            }
            Some((error, retryable)) => {
                for d in deliveries {
                    let attempts = d.attempts + 1;
                    let retry_at = (retryable && attempts < self.retry_policy(&d.channel).1).then(|| {
                        now + chrono::Duration::from_std(self.backoff(&d.channel, d.attempts))
                            .unwrap_or_else(|_| chrono::Duration::hours(1))
                    });
                    if retry_at.is_none() {
                        warn!(delivery = %d.id, channel = %d.channel, %error, attempts, "delivery given up");
                    } else {
                        debug!(delivery = %d.id, channel = %d.channel, %error, attempts, "delivery failed; retrying");
                    }
                    self.store
                        .delivery_failed(d.id, &error, attempt.status, retry_at)
                        .await?;
                }
            }
        }
        Ok(())
    }
}
