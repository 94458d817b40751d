//! Applies domain changes to stored jobs: load, change, save with its event in one
//! transaction (optimistic, retried on conflict), then wake the relays of the event bus.

use ch_api::{ServiceError, ServiceResult};
use ch_domain::{DomainError, EventType, Job, JobEvent, JobStatus, NewEvent, Outcome};
use chrono::{DateTime, SubsecRound, Utc};
use tracing::{error, instrument};
use uuid::Uuid;

use super::group_commit::{GroupCommit, GroupCommitError};
use crate::bus::CommitSignal;
use crate::clock::now;
use crate::store::{Store, StoreError};

const MAX_ATTEMPTS: usize = 5;

/// A change to a job, validated by the domain before anything is written.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Transition(JobStatus),
    Finish(Outcome),
    /// An outcome learnt after the fact: the job ended at `.1` while no server watched it
    /// (a restart). The job's end time is `.1`, kept between its start and now.
    FinishedAt(Outcome, DateTime<Utc>),
    Progress(u8),
    /// The running job has used `elapsed` of its time `limit` (seconds): a
    /// `job.time_limit.near` event, at most once per run (nothing when the job no longer runs
    /// or this run was warned already).
    TimeLimitNear {
        elapsed: u64,
        limit: u64,
    },
    /// The batch scheduler's word on the job changed: what it says now (recorded as an event;
    /// the job's status is unchanged).
    Scheduler(serde_json::Value),
}

fn domain_error(e: DomainError) -> ServiceError {
    match e {
        DomainError::Invalid(f) => ServiceError::Invalid(f),
        other => ServiceError::Conflict(other.to_string()),
    }
}

#[derive(Debug, Clone)]
pub struct Lifecycle {
    store: Store,
    signal: CommitSignal,
    writer: GroupCommit,
}

impl Lifecycle {
    /// Starts the group-commit writer for new jobs on the current Tokio runtime.
    pub fn new(store: Store, signal: CommitSignal) -> Self {
        let writer = GroupCommit::start(store.clone());
        Self { store, signal, writer }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Creates jobs the scheduler accepts at once: each gets its `submitted` and `queued`
    /// events in the same transaction (one commit instead of two), and the batch commits
    /// whole or not at all — in a transaction shared with concurrent submissions
    /// ([`GroupCommit`]).
    pub async fn create_queued(&self, jobs: Vec<Job>, actor: &str) -> ServiceResult<Vec<Job>> {
        self.create_queued_keyed(jobs, actor, None).await
    }

    /// As [`Lifecycle::create_queued`]; with `keyed` (owner, idempotency key, request hash)
    /// the answer — the created jobs as JSON — is stored in the same transaction, outside the
    /// group commit. A key already used answers `Conflict` and creates nothing.
    pub async fn create_queued_keyed(
        &self,
        jobs: Vec<Job>,
        actor: &str,
        keyed: Option<(String, String, String)>,
    ) -> ServiceResult<Vec<Job>> {
        let mut rows = Vec::with_capacity(jobs.len());
        for mut job in jobs {
            let submitted = NewEvent::submitted(Uuid::now_v7(), &job, actor);
            let from = job.transition(JobStatus::Queued, now()).map_err(domain_error)?;
            let queued = NewEvent::transition(Uuid::now_v7(), &job, from, "scheduler", None);
            rows.push((job, vec![submitted, queued]));
        }
        let jobs: Vec<Job> = rows.iter().map(|(job, _)| job.clone()).collect();
        if let Some((owner, key, request_hash)) = keyed {
            let record = crate::store::SubmissionRecord {
                owner,
                key,
                request_hash,
                response: serde_json::to_string(&jobs).map_err(|e| {
                    error!(error = %e, "jobs do not serialize");
                    ServiceError::Internal
                })?,
                created_at: now(),
            };
            self.store.create_jobs_keyed(&rows, &record).await?;
            self.signal.committed();
            return Ok(jobs);
        }
        self.writer.write(rows).await.map_err(|e| match e {
            GroupCommitError::Store(e) => ServiceError::from(e),
            GroupCommitError::Stopped => {
                error!("the job writer has stopped");
                ServiceError::Internal
            }
        })?;
        self.signal.committed();
        Ok(jobs)
    }

    /// Applies `change` to job `id`. Returns the saved job and its events (none when a progress
    /// report did not change anything).
    #[instrument(skip(self), err(level = "debug"))]
    pub async fn apply(&self, id: Uuid, change: Change, actor: &str) -> ServiceResult<(Job, Vec<JobEvent>)> {
        for _ in 0..MAX_ATTEMPTS {
            let stored = self.store.get_job(id).await?;
            let mut job = stored.job.clone();
            let now = now();
            let event = match &change {
                Change::Transition(to) => {
                    let from = job.transition(*to, now).map_err(domain_error)?;
                    Some(NewEvent::transition(Uuid::now_v7(), &job, from, actor, None))
                }
                Change::Finish(outcome) | Change::FinishedAt(outcome, _) => {
                    let ended = match &change {
                        Change::FinishedAt(_, at) => at.trunc_subsecs(3).min(now).max(job.started_at.unwrap_or(now)),
                        _ => now,
                    };
                    let from = job.finish(outcome.clone(), ended).map_err(domain_error)?;
                    // The record was changed now, whenever the job ended.
                    job.updated_at = now;
                    Some(NewEvent::transition(Uuid::now_v7(), &job, from, actor, None))
                }
                // A job that has ended has nothing more to hear from its scheduler.
                Change::Scheduler(_) if job.status.is_terminal() => None,
                Change::Scheduler(said) => {
                    job.updated_at = now;
                    Some(NewEvent::scheduler(Uuid::now_v7(), &job, actor, said.clone()))
                }
                Change::TimeLimitNear { elapsed, limit } => match job.started_at {
                    Some(started)
                        if job.status == JobStatus::Running
                            && !self
                                .store
                                .has_event_since(id, EventType::JobTimeLimitNear, started)
                                .await? =>
                    {
                        job.updated_at = now;
                        Some(NewEvent::time_limit_near(Uuid::now_v7(), &job, *elapsed, *limit, actor))
                    }
                    _ => None,
                },
                Change::Progress(p) => {
                    let before = job.progress;
                    job.set_progress(*p, now).map_err(domain_error)?;
                    (job.progress != before).then(|| NewEvent::progress(Uuid::now_v7(), &job, before, actor))
                }
            };
            let Some(event) = event else {
                return Ok((stored.job, Vec::new()));
            };
            match self.store.save_job(&job, stored.version, vec![event]).await {
                Ok(events) => {
                    self.signal.committed();
                    return Ok((job, events));
                }
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Conflict(id).into())
    }
}
