//! The real-time gateway (docs/realtime.md): authorized channels over one WebSocket (or
//! Server-Sent Events), every message positioned by (epoch, offset) in the event log, resume
//! without gaps or repeats, bounded memory per connection.
//!
//! Layout: `channel` (names, which channels an event is on), `protocol` (frames), `hub`
//! (subscriptions and fan-out, fed by its own relay of the event bus), `limits` (connections per
//! credential/address), `socket` (one WebSocket connection), `sse` (the same stream as SSE).

pub mod channel;
pub mod hub;
pub mod limits;
pub mod protocol;
pub mod socket;
pub mod sse;

use std::sync::Arc;

use ch_api::{Action, JobService, Principal, ServiceError, ServiceResult};
use ch_domain::JobEvent;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use uuid::Uuid;

use self::channel::Channel;
use self::hub::{Hub, HubSink};
use self::limits::ConnectionLimits;
use crate::auth::Auth;
use crate::bus::{CommitSignal, Cursor, run_relay};
use crate::jobs::Jobs;
use crate::store::Store;

pub use crate::settings::GatewaySettings;

/// The monotonic instant of a credential's wall-clock expiry (now, if already past).
pub fn deadline(at: Option<chrono::DateTime<chrono::Utc>>) -> Option<tokio::time::Instant> {
    let left = at? - chrono::Utc::now();
    Some(tokio::time::Instant::now() + left.to_std().unwrap_or(std::time::Duration::ZERO))
}

/// Resolves at `deadline`; never without one.
pub async fn expired(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Events read per page when a subscription recovers from the log.
const BACKLOG_PAGE: u32 = 1000;

/// What a subscription may recover from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backlog {
    /// Events of jobs in this project.
    Project(String),
    /// Events of this job.
    Job(Uuid),
    /// Notification events addressed to this user.
    User(Uuid),
    /// Nothing is kept in the log for this channel (metrics, alerts).
    None,
}

/// What a stream's channels cover together in the log ([`Gateway::backlog_scope`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BacklogScope {
    /// Projects whose job events the channels carry.
    pub projects: Vec<String>,
    /// The user whose notification events the channels carry.
    pub recipient: Option<Uuid>,
}

/// The gateway; cheap to clone.
#[derive(Clone)]
pub struct Gateway {
    inner: Arc<Inner>,
}

struct Inner {
    hub: Arc<Hub>,
    jobs: Jobs,
    auth: Auth,
    store: Store,
    settings: GatewaySettings,
    limits: ConnectionLimits,
    shutdown: CancellationToken,
}

impl Gateway {
    /// Opens the gateway and starts its relay (from the log's newest offset: connections
    /// recover older events from the log themselves).
    pub async fn start(
        store: Store,
        jobs: Jobs,
        auth: Auth,
        settings: GatewaySettings,
        signal: CommitSignal,
        tasks: &TaskTracker,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        let epoch = store.stream_epoch().await?;
        let start = store.latest_offset().await?;
        let hub = Arc::new(Hub::new(epoch, start));
        tasks.spawn(run_relay(
            store.clone(),
            Arc::new(HubSink(hub.clone())),
            signal,
            // Clients resume from the log by offset themselves: the hub starts at the newest.
            Cursor::From(start),
            shutdown.clone(),
        ));
        let limits = ConnectionLimits::new(
            settings.max_connections_per_credential,
            settings.max_connections_per_user,
            settings.max_connections_per_address,
            settings.max_connections,
        );
        Ok(Self {
            inner: Arc::new(Inner {
                hub,
                jobs,
                auth,
                store,
                settings,
                limits,
                shutdown,
            }),
        })
    }

    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    pub fn settings(&self) -> &GatewaySettings {
        &self.inner.settings
    }

    pub fn limits(&self) -> &ConnectionLimits {
        &self.inner.limits
    }

    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    pub fn shutdown(&self) -> &CancellationToken {
        &self.inner.shutdown
    }

    /// Newest committed offset.
    pub async fn latest_offset(&self) -> ServiceResult<i64> {
        self.inner.jobs.latest_offset().await
    }

    /// Whether `caller` may subscribe to `channel` — the same decisions as the HTTP routes
    /// that read the same things (`ch_api::authorize` through the job service).
    pub async fn authorize(&self, caller: &Principal, channel: &Channel) -> ServiceResult<Backlog> {
        let signed_in = || match caller.user() {
            Some(u) => Ok(u),
            None => Err(ServiceError::Unauthenticated(
                "sign in to subscribe to this channel".into(),
            )),
        };
        match channel {
            Channel::ProjectJobs(p) => {
                if caller.user().is_none() && !self.inner.jobs.site().public_read {
                    return Err(ServiceError::Unauthenticated("sign in to continue".into()));
                }
                self.inner
                    .jobs
                    .authorize_project(caller, Action::Read, p, &format!("project {p}"))
                    .await?;
                Ok(Backlog::Project(p.clone()))
            }
            Channel::JobStatus(id) => {
                self.inner.jobs.get(caller, *id).await?;
                Ok(Backlog::Job(*id))
            }
            Channel::JobMetrics(id) => {
                self.inner.jobs.get(caller, *id).await?;
                Ok(Backlog::None)
            }
            Channel::UserNotifications(id) => {
                if signed_in()?.user_id == *id {
                    Ok(Backlog::User(*id))
                } else {
                    Err(ServiceError::Forbidden(
                        "only a user themself may read their notifications".into(),
                    ))
                }
            }
            Channel::SystemAlerts => signed_in().map(|_| Backlog::None),
        }
    }

    /// One page of `backlog`'s events after `after`, in offset order (empty at the end).
    pub async fn backlog_after(&self, backlog: &Backlog, after: i64) -> ServiceResult<Vec<JobEvent>> {
        let events = match backlog {
            Backlog::Project(p) => {
                self.inner
                    .store
                    .events_after_visible(after, BACKLOG_PAGE, Some(std::slice::from_ref(p)))
                    .await
            }
            Backlog::Job(id) => self
                .inner
                .store
                .events_for_job(*id)
                .await
                .map(|evs| evs.into_iter().filter(|e| e.offset > after).collect()),
            Backlog::User(id) => self.inner.store.events_for_recipient(*id, after, BACKLOG_PAGE).await,
            Backlog::None => Ok(Vec::new()),
        };
        events.map_err(|e| {
            tracing::error!(error = %e, "reading the event log for a subscription");
            ServiceError::Internal
        })
    }

    /// What `backlogs` cover together — the projects of their job events (a job channel
    /// counts as its job's project) and the user whose notifications they carry; read once per
    /// stream, not per page.
    pub async fn backlog_scope(&self, backlogs: &[Backlog]) -> ServiceResult<BacklogScope> {
        let mut scope = BacklogScope::default();
        for b in backlogs {
            match b {
                Backlog::Project(p) => scope.projects.push(p.clone()),
                Backlog::Job(id) => {
                    let job = self.inner.store.get_job(*id).await.map_err(|e| {
                        tracing::error!(error = %e, "reading a job for a subscription");
                        ServiceError::Internal
                    })?;
                    scope.projects.push(job.job.project);
                }
                Backlog::User(id) => scope.recipient = Some(*id),
                Backlog::None => {}
            }
        }
        scope.projects.sort();
        scope.projects.dedup();
        Ok(scope)
    }

    /// Events of `scope` after `after`, in offset order (one page; for SSE, whose resume point
    /// is one offset across all its channels). The caller keeps those of its channels.
    pub async fn merged_backlog_after(&self, scope: &BacklogScope, after: i64) -> ServiceResult<Vec<JobEvent>> {
        if scope.projects.is_empty() && scope.recipient.is_none() {
            return Ok(Vec::new());
        }
        let page = self
            .inner
            .store
            .events_after_in_scope(after, BACKLOG_PAGE, &scope.projects, scope.recipient)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "reading the event log for a subscription");
                ServiceError::Internal
            })?;
        Ok(page)
    }
}
