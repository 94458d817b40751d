//! The Slurm executor's records (table `slurm_job`): which Slurm job runs each of our jobs,
//! the last state and reason Slurm gave for it, and what its accounting recorded once it ended.

use ch_domain::Accounting;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use tracing::instrument;
use uuid::Uuid;

use super::jobs::{JobUpdate, job_from_row};
use super::{Result, Store, StoreError, to_millis};

/// What the Slurm executor knows of one of our jobs in Slurm.
#[derive(Debug, Clone, PartialEq)]
pub struct SlurmJobRow {
    pub job_id: Uuid,
    /// Slurm's job id (`sbatch --parsable`); `None` while `sbatch` has not answered.
    pub slurm_job_id: Option<u64>,
    /// The last Slurm state seen (`PENDING`, `RUNNING`, `COMPLETED`, …; `SUBMITTING` before
    /// `sbatch` answered).
    pub state: String,
    /// The reason Slurm gave with it (squeue's `%r`, e.g. `Priority`, `Resources`; sacct's
    /// `Reason`); empty when none.
    pub reason: String,
    /// Slurm is done with the job (a final state was recorded, or it was cancelled).
    pub finished: bool,
    /// What `sacct` recorded once the job ended; `None` until read.
    pub accounting: Option<Accounting>,
}

fn row_of(row: &AnyRow) -> Result<SlurmJobRow> {
    let id: String = row.try_get("job_id")?;
    let slurm: Option<i64> = row.try_get("slurm_job_id")?;
    Ok(SlurmJobRow {
        job_id: Uuid::parse_str(&id).map_err(|e| StoreError::Corrupt(format!("slurm_job.job_id {id}: {e}")))?,
        slurm_job_id: slurm.and_then(|s| u64::try_from(s).ok()),
        state: row.try_get("slurm_state")?,
        reason: row.try_get("slurm_reason")?,
        finished: row.try_get::<i64, _>("finished")? != 0,
        accounting: row
            .try_get::<Option<String>, _>("accounting")?
            .map(|a| serde_json::from_str(&a))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("slurm_job.accounting of {id}: {e}")))?,
    })
}

fn slurm_id(id: u64) -> Result<i64> {
    i64::try_from(id).map_err(|_| StoreError::Corrupt(format!("Slurm job id {id} out of range")))
}

impl Store {
    /// Queued jobs of executor `executor` not yet handed to Slurm, highest priority first and
    /// FIFO within a priority.
    #[instrument(skip(self), err)]
    pub async fn slurm_unsubmitted(&self, executor: &str, limit: u32) -> Result<Vec<JobUpdate>> {
        let rows = sqlx::query(
            "select * from job where status = 'queued' and executor = $1 \
             and not exists (select 1 from slurm_job s where s.job_id = job.job_id) \
             order by priority desc, queued_at, submitted_at limit $2",
        )
        .bind(executor.to_owned())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Notes that job `job_id` is being handed to Slurm (before `sbatch` runs).
    #[instrument(skip(self), err)]
    pub async fn slurm_submitting(&self, job_id: Uuid, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "insert into slurm_job (job_id, slurm_job_id, slurm_state, slurm_reason, finished, created_at, updated_at) \
             values ($1, null, 'SUBMITTING', '', 0, $2, $2)",
        )
        .bind(job_id.to_string())
        .bind(to_millis(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Records Slurm's answer for job `job_id`: its Slurm id (once known), state and reason,
    /// and whether Slurm is done with it.
    #[instrument(skip(self), err)]
    pub async fn slurm_update(
        &self,
        job_id: Uuid,
        slurm_job_id: Option<u64>,
        state: &str,
        reason: &str,
        finished: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "update slurm_job set slurm_job_id = coalesce($2, slurm_job_id), slurm_state = $3, slurm_reason = $4, \
             finished = $5, updated_at = $6 where job_id = $1",
        )
        .bind(job_id.to_string())
        .bind(slurm_job_id.map(slurm_id).transpose()?)
        .bind(state.to_owned())
        .bind(reason.to_owned())
        .bind(i64::from(finished))
        .bind(to_millis(now))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Forgets job `job_id`'s Slurm job (a retry submits it again).
    #[instrument(skip(self), err)]
    pub async fn slurm_forget(&self, job_id: Uuid) -> Result<()> {
        sqlx::query("delete from slurm_job where job_id = $1")
            .bind(job_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The Slurm record of job `job_id`, if it was handed to Slurm.
    #[instrument(skip(self), err)]
    pub async fn slurm_job(&self, job_id: Uuid) -> Result<Option<SlurmJobRow>> {
        let row = sqlx::query("select * from slurm_job where job_id = $1")
            .bind(job_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(row_of).transpose()
    }

    /// Every job Slurm is not done with, oldest first.
    #[instrument(skip(self), err)]
    pub async fn slurm_active(&self) -> Result<Vec<SlurmJobRow>> {
        let rows = sqlx::query("select * from slurm_job where finished = 0 order by created_at")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_of).collect()
    }

    /// Saves what Slurm's accounting recorded of job `job_id`.
    #[instrument(skip(self, accounting), err)]
    pub async fn slurm_account(&self, job_id: Uuid, accounting: &Accounting, now: DateTime<Utc>) -> Result<()> {
        let json = serde_json::to_string(accounting).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query("update slurm_job set accounting = $2, updated_at = $3 where job_id = $1")
            .bind(job_id.to_string())
            .bind(json)
            .bind(to_millis(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Jobs Slurm is done with whose accounting has not been read, last changed after
    /// `since` (older ones are given up on), oldest first, at most `limit`; not those Slurm
    /// lost (accounting does not know them).
    #[instrument(skip(self), err)]
    pub async fn slurm_unaccounted(&self, since: DateTime<Utc>, limit: u32) -> Result<Vec<SlurmJobRow>> {
        let rows = sqlx::query(
            "select * from slurm_job where finished = 1 and accounting is null and slurm_job_id is not null \
             and slurm_state <> 'LOST' and updated_at >= $1 order by updated_at limit $2",
        )
        .bind(to_millis(since))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_of).collect()
    }
}
