//! What a starting server does with the jobs a previous server process left (a restart, a
//! deploy, a crash): every local job it finds `running` is re-attached to, settled from the
//! exit status its recorder wrote, or — launcher gone — failed as lost, its leftover
//! processes killed first so a job reported failed is not still running.

use std::path::Path;

use ch_domain::JobStatus;
use tracing::{info, warn};
use uuid::Uuid;

use super::launched::{self, ProcessId};
use super::outcome::{Ended, blame_process_limit, outcome_of};
use super::{EXECUTOR_NAME, LocalExecutor, cgroup, leftovers};
use crate::jobs::{Change, ExecutorError};
use crate::store::StoreError;

impl LocalExecutor {
    pub(super) async fn recover_jobs(&self) -> Result<(), ExecutorError> {
        let store = self.lifecycle.store();
        let failed = |e: StoreError| ExecutorError::Failed(format!("reading jobs: {e}"));
        let mut adopted = Vec::new();
        for stale in store.jobs_in_status(JobStatus::Running).await.map_err(failed)? {
            let job = stale.job;
            if job.executor != EXECUTOR_NAME || !self.ran_here(job.id) {
                continue;
            }
            let dir = self.job_dir(job.id);
            if let Some(launcher) = ProcessId::saved(&dir).filter(ProcessId::alive) {
                adopted.push((job, launcher));
                continue;
            }
            let pids = self.pids_parent.as_deref().and_then(|p| cgroup::leftover(p, job.id));
            let change = match launched::exit_status(&dir) {
                Some((exit, at)) => {
                    info!(job_id = %job.id, ?exit, %at, "a job ended while no server watched it");
                    let mut outcome = outcome_of(&self.settings, Ended::Exited(exit), 0);
                    if let Some(p) = &pids {
                        blame_process_limit(&self.settings, &mut outcome, p);
                    }
                    outcome.map(|o| Change::FinishedAt(o, at))
                }
                None => {
                    let killed = leftovers::kill_leftovers(job.id);
                    warn!(job_id = %job.id, killed, "a job's launcher is gone; the job is lost");
                    let detail = if killed == 0 {
                        "the server stopped while this job was running and its launcher is gone; its process was lost"
                            .to_owned()
                    } else {
                        format!(
                            "the server stopped while this job was running and its launcher is gone; its {killed} leftover process(es) were killed"
                        )
                    };
                    outcome_of(&self.settings, Ended::Lost(detail), 0).map(Change::Finish)
                }
            };
            if let Some(p) = pids {
                p.remove().await;
            }
            launched::forget(&dir);
            if let Some(change) = change {
                self.record(job.id, change).await;
            }
        }
        let adopted_ids: Vec<Uuid> = adopted.iter().map(|(j, _)| j.id).collect();
        if let Ok(mut a) = self.adopted.lock() {
            *a = adopted;
        }
        self.stop_strays(&adopted_ids).await?;
        for status in [JobStatus::Submitted, JobStatus::Retrying] {
            for stale in store.jobs_in_status(status).await.map_err(failed)? {
                self.lifecycle
                    .apply(stale.job.id, Change::Transition(JobStatus::Queued), "recovery")
                    .await
                    .map_err(|e| ExecutorError::Failed(format!("re-queueing job {}: {e}", stale.job.id)))?;
            }
        }
        Ok(())
    }

    /// Stops the launchers still noted for jobs that no longer run — cancelled while no server
    /// of this data directory watched them.
    async fn stop_strays(&self, adopted: &[Uuid]) -> Result<(), ExecutorError> {
        for id in launched_jobs(&self.logs_dir) {
            if adopted.contains(&id) {
                continue;
            }
            let running = match self.lifecycle.store().get_job(id).await {
                Ok(stored) => stored.job.status == JobStatus::Running,
                Err(StoreError::JobNotFound(_)) => false,
                Err(e) => return Err(ExecutorError::Failed(format!("reading job {id}: {e}"))),
            };
            if running {
                continue;
            }
            let killed = leftovers::kill_leftovers(id);
            info!(job_id = %id, killed, "stopped a job that no longer runs");
            if let Some(p) = self.pids_parent.as_deref().and_then(|p| cgroup::leftover(p, id)) {
                p.remove().await;
            }
            launched::forget(&self.job_dir(id));
        }
        Ok(())
    }
}

/// The jobs under `logs_dir` whose launcher is noted (started, outcome not yet recorded).
fn launched_jobs(logs_dir: &Path) -> Vec<Uuid> {
    let Ok(entries) = std::fs::read_dir(logs_dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.path().join(launched::LAUNCHER_PID).exists())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect()
}

/// Kills every job started from `logs_dir` (`<data dir>/jobs`) that may still run — jobs
/// outlive the server that started them — with its process group. For retiring a data
/// directory, and for tests that discard theirs. Returns how many processes were found.
pub fn kill_jobs_in(logs_dir: &Path) -> usize {
    launched_jobs(logs_dir)
        .into_iter()
        .map(|id| {
            let killed = leftovers::kill_leftovers(id);
            launched::forget(&logs_dir.join(id.to_string()));
            killed
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_directories_with_a_noted_launcher_are_jobs_to_stop() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        for id in [a, b] {
            std::fs::create_dir(dir.path().join(id.to_string())).expect("mkdir");
        }
        std::fs::create_dir(dir.path().join("not-a-job")).expect("mkdir");
        std::fs::write(dir.path().join("not-a-job").join(launched::LAUNCHER_PID), "1 1").expect("write");
        std::fs::write(dir.path().join(a.to_string()).join(launched::LAUNCHER_PID), "1 1").expect("write");
        assert_eq!(launched_jobs(dir.path()), vec![a]);
        assert_eq!(kill_jobs_in(dir.path()), 0);
        assert!(launched_jobs(dir.path()).is_empty());
        assert!(launched_jobs(&dir.path().join("missing")).is_empty());
    }
}
