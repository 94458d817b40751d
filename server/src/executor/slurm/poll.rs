//! The executor's rounds: hand queued jobs to Slurm (`sbatch`), then ask Slurm once about
//! every job it holds for us (`squeue`, then `sacct` for those the controller let go) and
//! record what changed. A controller that does not answer changes nothing: jobs keep their
//! last known state and the next round catches up.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ch_api::ServiceError;
use ch_domain::{Accounting, Job, JobStatus, Outcome};
use tracing::{debug, info, warn};
use uuid::Uuid;

use super::cli::SlurmError;
use super::state::{self, Meaning, Seen};
use super::{ACTOR, EXECUTOR_NAME, SlurmExecutor, script};
use crate::clock::now;
use crate::executor::progress;
use crate::jobs::Change;
use crate::store::{SlurmJobRow, StoreError};

/// Jobs handed to Slurm (or whose accounting is read) per round at most.
const SUBMIT_BATCH: u32 = 32;
/// How long after its end a job's accounting is looked for (slurmdbd may be down a while).
const ACCOUNTING_WAIT: Duration = Duration::from_secs(3600);

impl SlurmExecutor {
    /// Hands queued jobs to Slurm; whether any was submitted.
    pub(super) async fn submit_queued(&self) -> bool {
        let store = self.lifecycle.store();
        let jobs = match store.slurm_unsubmitted(EXECUTOR_NAME, SUBMIT_BATCH).await {
            Ok(jobs) => jobs,
            Err(e) => {
                warn!(error = %e, "reading the queue failed");
                return false;
            }
        };
        let mut any = false;
        for stored in jobs {
            any |= self.submit(stored.job).await;
        }
        any
    }

    /// Writes `job`'s directory and submits its batch script; whether Slurm took it.
    async fn submit(&self, job: Job) -> bool {
        let store = self.lifecycle.store();
        let Some(system) = self.systems.get(&job.target_system).cloned() else {
            let outcome = Outcome::Failed {
                exit_code: None,
                error_code: "unknown_system".into(),
                message: format!("system '{}' is not a Slurm system of this server", job.target_system),
                retryable: false,
            };
            self.record(job.id, Change::Finish(outcome)).await;
            return false;
        };
        // The row is the claim: another instance that inserted it first submits the job.
        if let Err(e) = store.slurm_submitting(job.id, now()).await {
            debug!(job_id = %job.id, error = %e, "not submitting (claimed elsewhere?)");
            return false;
        }
        let dir = self.job_dir(job.id);
        let written = async {
            tokio::fs::create_dir_all(dir.join("work")).await?;
            tokio::fs::write(dir.join("command.sh"), format!("{}\n", job.command)).await?;
            // Made before Slurm opens them, so a follower always finds the file.
            tokio::fs::write(dir.join("stdout.log"), "").await?;
            tokio::fs::write(dir.join("stderr.log"), "").await?;
            tokio::fs::write(dir.join("batch.sh"), script::batch_script(&job, &system, &dir)).await
        }
        .await;
        if let Err(e) = written {
            warn!(job_id = %job.id, error = %e, "writing the job's directory failed");
            let _ = store.slurm_forget(job.id).await;
            return false;
        }
        match self.cli.sbatch(&dir.join("batch.sh")).await {
            Ok(sid) => {
                info!(job_id = %job.id, slurm_job_id = sid, "submitted to Slurm");
                self.noted(job.id, Some(sid), "PENDING", "", false).await;
                true
            }
            Err(SlurmError::Failed(_, msg)) => {
                // Slurm refused the job (resources it cannot have, an account it does not
                // know): a retry would be refused again.
                warn!(job_id = %job.id, %msg, "Slurm refused the job");
                self.noted(job.id, None, "REFUSED", &msg, true).await;
                let outcome = Outcome::Failed {
                    exit_code: None,
                    error_code: "slurm_refused".into(),
                    message: format!("Slurm refused the job: {msg}"),
                    retryable: false,
                };
                self.record(job.id, Change::Finish(outcome)).await;
                false
            }
            Err(e) => {
                warn!(job_id = %job.id, error = %e, "sbatch did not answer");
                self.resolve_unanswered(job.id).await;
                false
            }
        }
    }

    /// A submission whose `sbatch` did not answer: the job is looked up by its name; found,
    /// its Slurm id is recorded, else it is submitted again in a later round.
    pub(super) async fn resolve_unanswered(&self, id: Uuid) {
        match self.cli.find_by_name(&script::job_name(id)).await {
            Ok(Some(sid)) => {
                info!(job_id = %id, slurm_job_id = sid, "found the submission in Slurm");
                self.noted(id, Some(sid), "PENDING", "", false).await;
            }
            Ok(None) => {
                if let Err(e) = self.lifecycle.store().slurm_forget(id).await {
                    warn!(job_id = %id, error = %e, "forgetting an unanswered submission");
                }
            }
            Err(e) => warn!(job_id = %id, error = %e, "looking the job up in Slurm failed"),
        }
    }

    /// One poll of every job Slurm holds for us; whether anything changed.
    pub(super) async fn poll(&self) -> bool {
        let store = self.lifecycle.store();
        let rows = match store.slurm_active().await {
            Ok(rows) => rows,
            Err(e) => {
                warn!(error = %e, "reading Slurm jobs failed");
                return false;
            }
        };
        if rows.is_empty() {
            return false;
        }
        let ids: Vec<u64> = rows.iter().filter_map(|r| r.slurm_job_id).collect();
        let queue: HashMap<u64, Seen> = match self.cli.squeue(&ids).await {
            Ok(seen) => seen.into_iter().map(|s| (s.slurm_job_id, s)).collect(),
            Err(e) => {
                warn!(error = %e, "squeue failed; jobs keep their last known state");
                return false;
            }
        };
        let mut changed = false;
        let mut ended = Vec::new();
        let mut running = Vec::new();
        for row in rows {
            let job = match store.get_job(row.job_id).await {
                Ok(stored) => stored.job,
                Err(StoreError::JobNotFound(_)) => {
                    let _ = store.slurm_forget(row.job_id).await;
                    continue;
                }
                Err(e) => {
                    warn!(job_id = %row.job_id, error = %e, "reading the job failed");
                    continue;
                }
            };
            let Some(sid) = row.slurm_job_id else {
                self.resolve_unanswered(row.job_id).await;
                continue;
            };
            let seen = queue.get(&sid);
            if job.status.is_terminal() {
                changed |= self.settle_ended_here(&job, &row, sid, seen).await;
                continue;
            }
            match seen.map(|s| (state::meaning(&s.state), s)) {
                Some((Meaning::Pending, s)) => {
                    if s.state != row.state || s.reason != row.reason {
                        debug!(job_id = %job.id, state = %s.state, reason = %s.reason, "pending in Slurm");
                        self.noted(job.id, Some(sid), &s.state, &s.reason, false).await;
                        changed = true;
                    }
                }
                Some((Meaning::Running, s)) => {
                    running.push((job.id, sid, job.started_at));
                    if job.status == JobStatus::Queued {
                        self.record(job.id, Change::Transition(JobStatus::Running)).await;
                        self.follow(job.id, progress::From::Offset(0));
                        changed = true;
                    } else if !self.followed(job.id) {
                        // A job a previous server watched: re-attached.
                        info!(job_id = %job.id, slurm_job_id = sid, "re-attached to a Slurm job");
                        self.follow(job.id, progress::From::CatchUp);
                    }
                    if s.state != row.state {
                        self.noted(job.id, Some(sid), &s.state, &s.reason, false).await;
                    }
                }
                Some((Meaning::Unknown, s)) => {
                    if s.state != row.state {
                        warn!(job_id = %job.id, state = %s.state, "a Slurm state this executor does not know");
                        self.noted(job.id, Some(sid), &s.state, &s.reason, false).await;
                    }
                }
                Some((Meaning::Ended, _)) | None => ended.push((job, sid)),
            }
        }
        self.sample(&running).await;
        changed | self.settle_ended(ended).await
    }

    /// Our job ended here (a user cancelled it; or its outcome is recorded): a Slurm job still
    /// held is cancelled, and the row is closed.
    async fn settle_ended_here(&self, job: &Job, row: &SlurmJobRow, sid: u64, seen: Option<&Seen>) -> bool {
        let active = seen.is_some_and(|s| matches!(state::meaning(&s.state), Meaning::Pending | Meaning::Running));
        if active && job.status == JobStatus::Cancelled {
            if let Err(e) = self.cli.scancel(sid).await {
                warn!(job_id = %job.id, error = %e, "scancel failed; trying again next round");
                return false;
            }
            info!(job_id = %job.id, slurm_job_id = sid, "cancelled in Slurm");
        }
        self.unfollow(job.id).await;
        let state = seen.map_or(row.state.as_str(), |s| s.state.as_str());
        self.noted(job.id, None, if active { "CANCELLED" } else { state }, "", true)
            .await;
        true
    }

    /// Jobs the controller no longer holds as pending or running: their end from `sacct`.
    async fn settle_ended(&self, ended: Vec<(Job, u64)>) -> bool {
        if ended.is_empty() {
            return false;
        }
        let ids: Vec<u64> = ended.iter().map(|(_, sid)| *sid).collect();
        let (acct, used): (HashMap<u64, Seen>, _) = match self.cli.sacct(&ids).await {
            Ok((seen, used)) => (seen.into_iter().map(|s| (s.slurm_job_id, s)).collect(), used),
            Err(e) => {
                warn!(error = %e, "sacct failed; trying again next round");
                return false;
            }
        };
        let mut changed = false;
        for (job, sid) in ended {
            match acct.get(&sid) {
                Some(seen) if state::meaning(&seen.state) == Meaning::Ended => {
                    self.finish(&job, seen, used.get(&sid)).await;
                    changed = true;
                }
                // Accounting trails the controller: the end shows in a later round.
                Some(_) => {}
                None => changed |= self.unseen_for_long(&job, sid).await,
            }
        }
        changed
    }

    /// Records how `job` ended in Slurm (`seen`, from `sacct`) and what it used; a job to be
    /// retried goes back to the queue and is submitted again.
    async fn finish(&self, job: &Job, seen: &Seen, used: Option<&Accounting>) {
        self.unfollow(job.id).await;
        if let Ok(mut u) = self.unseen.lock() {
            u.remove(&job.id);
        }
        if job.status == JobStatus::Queued {
            // It ran between two polls.
            self.record(job.id, Change::Transition(JobStatus::Running)).await;
        }
        let outcome = state::outcome(seen, job.resources.max_runtime_minutes);
        info!(job_id = %job.id, slurm_job_id = seen.slurm_job_id, state = %seen.state, ?outcome, "Slurm job ended");
        self.noted(job.id, None, &seen.state, &seen.reason, true).await;
        if let Some(used) = used {
            self.accounted(job.id, used).await;
        }
        self.record(job.id, Change::Finish(outcome)).await;
    }

    /// Reads the accounting of jobs Slurm is done with that have none yet (cancelled here, or
    /// ended before accounting had their figures): one `sacct` for all; whether any was read.
    /// Jobs whose accounting has not appeared within [`ACCOUNTING_WAIT`] are given up on.
    pub(super) async fn account_finished(&self) -> bool {
        let store = self.lifecycle.store();
        let since = now() - chrono::Duration::from_std(ACCOUNTING_WAIT).unwrap_or_default();
        let rows = match store.slurm_unaccounted(since, SUBMIT_BATCH).await {
            Ok(rows) if rows.is_empty() => return false,
            Ok(rows) => rows,
            Err(e) => {
                warn!(error = %e, "reading unaccounted Slurm jobs failed");
                return false;
            }
        };
        let ids: Vec<u64> = rows.iter().filter_map(|r| r.slurm_job_id).collect();
        let (seen, used) = match self.cli.sacct(&ids).await {
            Ok(answer) => answer,
            Err(e) => {
                debug!(error = %e, "sacct failed; accounting read in a later round");
                return false;
            }
        };
        let mut any = false;
        for row in rows {
            let Some(sid) = row.slurm_job_id else { continue };
            // Figures are final once accounting holds the allocation's end.
            let ended = seen
                .iter()
                .any(|s| s.slurm_job_id == sid && state::meaning(&s.state) == Meaning::Ended);
            if let (true, Some(used)) = (ended, used.get(&sid)) {
                self.accounted(row.job_id, used).await;
                any = true;
            }
        }
        any
    }

    /// Saves Slurm's accounting of job `id`.
    async fn accounted(&self, id: Uuid, used: &Accounting) {
        debug!(job_id = %id, ?used, "Slurm accounting");
        if let Err(e) = self.lifecycle.store().slurm_account(id, used, now()).await {
            warn!(job_id = %id, error = %e, "recording Slurm's accounting failed");
        }
    }

    /// A job neither `squeue` nor `sacct` knows: failed as lost after
    /// `slurm.lost_after_minutes`; whether it was.
    async fn unseen_for_long(&self, job: &Job, sid: u64) -> bool {
        let since = self
            .unseen
            .lock()
            .map(|mut u| *u.entry(job.id).or_insert_with(Instant::now))
            .unwrap_or_else(|_| Instant::now());
        if since.elapsed() < Duration::from_secs(self.settings.lost_after_minutes * 60) {
            return false;
        }
        if let Ok(mut u) = self.unseen.lock() {
            u.remove(&job.id);
        }
        warn!(job_id = %job.id, slurm_job_id = sid, "Slurm no longer knows the job");
        self.unfollow(job.id).await;
        self.noted(job.id, None, "LOST", "", true).await;
        let outcome = Outcome::Failed {
            exit_code: None,
            error_code: "executor_lost".into(),
            message: format!("Slurm job {sid} is known neither to squeue nor to sacct"),
            retryable: false,
        };
        if job.status == JobStatus::Queued {
            self.record(job.id, Change::Transition(JobStatus::Running)).await;
        }
        self.record(job.id, Change::Finish(outcome)).await;
        true
    }

    /// Saves Slurm's word on job `id` in the executor's table; while Slurm still holds the
    /// job, also in its events (`job.scheduler.changed`), so that pages showing it hear why it
    /// waits. (Its end is told by the job's own final event.)
    async fn noted(&self, id: Uuid, sid: Option<u64>, state: &str, reason: &str, finished: bool) {
        if let Err(e) = self
            .lifecycle
            .store()
            .slurm_update(id, sid, state, reason, finished, now())
            .await
        {
            warn!(job_id = %id, error = %e, "recording Slurm's state failed");
            return;
        }
        if finished {
            return;
        }
        let said = serde_json::json!({
            "scheduler": EXECUTOR_NAME,
            "scheduler_job_id": sid.map(|s| s.to_string()),
            "state": state,
            "reason": reason,
        });
        match self.lifecycle.apply(id, Change::Scheduler(said), ACTOR).await {
            Ok(_) | Err(ServiceError::Conflict(_)) => {}
            Err(e) => warn!(job_id = %id, error = %e, "recording Slurm's word as an event failed"),
        }
    }

    /// Applies `change` to job `id`; a job to be retried is queued again (its Slurm record
    /// forgotten, so the next round submits it anew).
    async fn record(&self, id: Uuid, change: Change) {
        match self.lifecycle.apply(id, change, ACTOR).await {
            Ok((job, _)) if job.status == JobStatus::Retrying => {
                if let Err(e) = self.lifecycle.store().slurm_forget(id).await {
                    warn!(job_id = %id, error = %e, "forgetting the failed attempt");
                }
                if let Err(e) = self
                    .lifecycle
                    .apply(id, Change::Transition(JobStatus::Queued), ACTOR)
                    .await
                {
                    warn!(job_id = %id, error = %e, "re-queueing failed");
                }
                self.wake.notify_one();
            }
            Ok(_) => {}
            // Cancelled meanwhile: the record stays cancelled.
            Err(ServiceError::Conflict(msg)) => debug!(job_id = %id, %msg, "change not recorded"),
            Err(e) => warn!(job_id = %id, error = %e, "recording a change failed"),
        }
    }
}
