//! Job rows. Every write carries its events into the outbox in the same transaction and is
//! guarded by an optimistic `version` check, so concurrent writers never overwrite each other.

use std::sync::LazyLock;

use ch_domain::{Job, JobEvent, JobPage, JobStatus, ListQuery, NewEvent, Priority, Resources, SortOrder};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row};
use tracing::instrument;
use uuid::Uuid;

use super::{Result, Store, StoreError, from_millis, parse, to_millis};

/// Columns written from a [`Job`], in bind order.
const COLUMNS: [&str; 30] = [
    "name",
    "owner",
    "project",
    "agent",
    "executor",
    "target_system",
    "command",
    "nodes",
    "cpus",
    "memory_gb",
    "gpus",
    "max_runtime_minutes",
    "priority",
    "estimated_cost_usd",
    "status",
    "progress",
    "correlation_id",
    "submitted_at",
    "queued_at",
    "started_at",
    "finished_at",
    "updated_at",
    "exit_code",
    "error_code",
    "error_message",
    "retry_count",
    "max_retries",
    "result_location",
    "notify",
    "version",
];

/// Jobs per multi-row `insert` (31 parameters each: under SQLite's 32,766 and PostgreSQL's
/// 65,535 bind parameters per statement).
const JOBS_PER_STATEMENT: usize = 256;

/// `insert into job (…) values (…), (…)` for `rows` jobs.
fn insert_jobs_sql(store: &Store, rows: usize) -> String {
    let width = COLUMNS.len() + 1;
    let tuples: Vec<String> = (0..rows).map(|k| store.placeholders(k, width)).collect();
    format!(
        "insert into job ({}, job_id) values {}",
        COLUMNS.join(", "),
        tuples.join(", ")
    )
}

static UPDATE_SQL: LazyLock<String> = LazyLock::new(|| {
    let sets: Vec<String> = COLUMNS
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 1))
        .collect();
    let n = COLUMNS.len();
    format!(
        "update job set {} where job_id = ${} and version = ${}",
        sets.join(", "),
        n + 1,
        n + 2
    )
});

const SELECT_SQL: &str = "select * from job";

/// A job as stored, with the version a later save must match.
#[derive(Debug, Clone, PartialEq)]
pub struct JobUpdate {
    pub job: Job,
    pub version: i64,
}

fn bind_job<'q>(q: Query<'q, Any, AnyArguments<'q>>, job: &Job, version: i64) -> Query<'q, Any, AnyArguments<'q>> {
    let r = &job.resources;
    q.bind(job.name.clone())
        .bind(job.owner.clone())
        .bind(job.project.clone())
        .bind(job.agent.clone())
        .bind(job.executor.clone())
        .bind(job.target_system.clone())
        .bind(job.command.clone())
        .bind(i64::from(r.nodes))
        .bind(i64::from(r.cpus))
        .bind(r.memory_gb)
        .bind(i64::from(r.gpus))
        .bind(i64::from(r.max_runtime_minutes))
        .bind(job.priority.rank())
        .bind(job.estimated_cost_usd)
        .bind(job.status.as_str())
        .bind(i64::from(job.progress))
        .bind(job.correlation_id.clone())
        .bind(to_millis(job.submitted_at))
        .bind(job.queued_at.map(to_millis))
        .bind(job.started_at.map(to_millis))
        .bind(job.finished_at.map(to_millis))
        .bind(to_millis(job.updated_at))
        .bind(job.exit_code.map(i64::from))
        .bind(job.error_code.clone())
        .bind(job.error_message.clone())
        .bind(i64::from(job.retry_count))
        .bind(i64::from(job.max_retries))
        .bind(job.result_location.clone())
        .bind(job.notify.as_deref().map(super::notifications::kinds_json))
        .bind(version)
}

fn int<T: TryFrom<i64>>(row: &AnyRow, col: &str) -> Result<T> {
    let v: i64 = row.try_get(col)?;
    T::try_from(v).map_err(|_| StoreError::Corrupt(format!("{col} = {v}")))
}

fn opt_time(row: &AnyRow, col: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>> {
    row.try_get::<Option<i64>, _>(col)?.map(from_millis).transpose()
}

pub(super) fn job_from_row(row: &AnyRow) -> Result<JobUpdate> {
    let id: String = row.try_get("job_id")?;
    let status: String = row.try_get("status")?;
    let priority: i64 = row.try_get("priority")?;
    let job = Job {
        id: parse("job_id", &id)?,
        name: row.try_get("name")?,
        owner: row.try_get("owner")?,
        project: row.try_get("project")?,
        agent: row.try_get("agent")?,
        executor: row.try_get("executor")?,
        target_system: row.try_get("target_system")?,
        command: row.try_get("command")?,
        resources: Resources {
            nodes: int(row, "nodes")?,
            cpus: int(row, "cpus")?,
            memory_gb: row.try_get("memory_gb")?,
            gpus: int(row, "gpus")?,
            max_runtime_minutes: int(row, "max_runtime_minutes")?,
        },
        priority: Priority::from_rank(priority).ok_or_else(|| StoreError::Corrupt(format!("priority {priority}")))?,
        estimated_cost_usd: row.try_get("estimated_cost_usd")?,
        status: parse("status", &status)?,
        progress: int(row, "progress")?,
        correlation_id: row.try_get("correlation_id")?,
        submitted_at: from_millis(row.try_get("submitted_at")?)?,
        queued_at: opt_time(row, "queued_at")?,
        started_at: opt_time(row, "started_at")?,
        finished_at: opt_time(row, "finished_at")?,
        updated_at: from_millis(row.try_get("updated_at")?)?,
        exit_code: row
            .try_get::<Option<i64>, _>("exit_code")?
            .map(|v| i32::try_from(v).map_err(|_| StoreError::Corrupt(format!("exit_code {v}"))))
            .transpose()?,
        error_code: row.try_get("error_code")?,
        error_message: row.try_get("error_message")?,
        retry_count: int(row, "retry_count")?,
        max_retries: int(row, "max_retries")?,
        result_location: row.try_get("result_location")?,
        notify: row
            .try_get::<Option<String>, _>("notify")?
            .map(|text| super::notifications::kinds_from(&text))
            .transpose()?,
    };
    Ok(JobUpdate {
        job,
        version: row.try_get("version")?,
    })
}

impl Store {
    /// Inserts a new job and its first event atomically.
    #[instrument(skip_all, fields(job_id = %job.id), err)]
    pub async fn create_job(&self, job: &Job, event: NewEvent) -> Result<JobEvent> {
        let mut events = self.create_jobs(&[(job.clone(), vec![event])]).await?;
        events
            .pop()
            .ok_or_else(|| StoreError::Corrupt("event not returned".into()))
    }

    /// Inserts new jobs, each with its first events, in one transaction: all of them or none.
    /// Rows go in multi-row statements ([`JOBS_PER_STATEMENT`] jobs each), so a group of a
    /// thousand jobs costs a handful of round trips. Returns the committed events in offset
    /// order (the order given).
    #[instrument(skip_all, fields(jobs = jobs.len()), err)]
    pub async fn create_jobs(&self, jobs: &[(Job, Vec<NewEvent>)]) -> Result<Vec<JobEvent>> {
        let mut tx = self.pool.begin().await?;
        let committed = self.insert_jobs(&mut tx, jobs).await?;
        tx.commit().await?;
        Ok(committed)
    }

    /// Inserts `jobs` (multi-row statements) and appends their events inside `tx`.
    pub(super) async fn insert_jobs(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        jobs: &[(Job, Vec<NewEvent>)],
    ) -> Result<Vec<JobEvent>> {
        for chunk in jobs.chunks(JOBS_PER_STATEMENT) {
            let sql = insert_jobs_sql(self, chunk.len());
            let mut q = sqlx::query(&sql);
            for (job, _) in chunk {
                q = bind_job(q, job, 1).bind(job.id.to_string());
            }
            q.execute(&mut **tx).await?;
        }
        let events = jobs.iter().flat_map(|(_, events)| events.iter().cloned()).collect();
        self.append_events(tx, events).await
    }

    /// Saves `job` if it is still at `expected_version`, with its events, atomically.
    #[instrument(skip_all, fields(job_id = %job.id, status = %job.status), err)]
    pub async fn save_job(&self, job: &Job, expected_version: i64, events: Vec<NewEvent>) -> Result<Vec<JobEvent>> {
        let mut tx = self.pool.begin().await?;
        let done = bind_job(sqlx::query(&UPDATE_SQL), job, expected_version + 1)
            .bind(job.id.to_string())
            .bind(expected_version)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Err(StoreError::Conflict(job.id));
        }
        let events = self.append_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(events)
    }

    #[instrument(skip(self), err)]
    pub async fn get_job(&self, id: Uuid) -> Result<JobUpdate> {
        let row = sqlx::query(&format!("{SELECT_SQL} where job_id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?
            .ok_or(StoreError::JobNotFound(id))?;
        job_from_row(&row)
    }

    /// Jobs in `status`, oldest first (used by recovery and the dispatcher).
    pub async fn jobs_in_status(&self, status: JobStatus) -> Result<Vec<JobUpdate>> {
        let rows = sqlx::query(&format!("{SELECT_SQL} where status = $1 order by submitted_at"))
            .bind(status.as_str())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// Next queued jobs for an executor: highest priority first, FIFO within a priority.
    pub async fn next_queued(&self, executor: &str, limit: u32) -> Result<Vec<JobUpdate>> {
        let rows = sqlx::query(&format!(
            "{SELECT_SQL} where status = 'queued' and executor = $1 order by priority desc, queued_at, submitted_at limit $2"
        ))
        .bind(executor.to_owned())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// One page of jobs matching `q`; `visible` = `Some(projects)` limits the page (and the
    /// total) to those projects, `None` = every project (site admins).
    #[instrument(skip(self), err)]
    pub async fn list_jobs(&self, q: &ListQuery, visible: Option<&[String]>) -> Result<JobPage> {
        let mut clauses = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        let mut filter = |col: &str, v: Option<String>| {
            if let Some(v) = v {
                binds.push(v);
                clauses.push(format!("{col} = ${}", binds.len()));
            }
        };
        filter("status", q.status.map(|s| s.as_str().to_owned()));
        filter("owner", q.owner.clone());
        filter("project", q.project.clone());
        filter("target_system", q.target_system.clone());
        if let Some(projects) = visible {
            clauses.push(super::in_list("project", projects, &mut binds));
        }
        let where_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!(" where {}", clauses.join(" and "))
        };
        let sort = q.sort.unwrap_or_default().column();
        let order = match q.order.unwrap_or_default() {
            SortOrder::Asc => "asc",
            SortOrder::Desc => "desc",
        };
        let limit = q.limit();
        let offset = q.offset.unwrap_or(0);
        let n = binds.len();
        let page_sql = format!(
            "{SELECT_SQL}{where_sql} order by {sort} {order}, job_id {order} limit ${} offset ${}",
            n + 1,
            n + 2
        );
        let mut page = sqlx::query(&page_sql);
        let count_sql = format!("select count(*) as n from job{where_sql}");
        let mut count = sqlx::query(&count_sql);
        for b in &binds {
            page = page.bind(b.clone());
            count = count.bind(b.clone());
        }
        let offset_i64 = i64::try_from(offset).map_err(|_| StoreError::Corrupt("offset".into()))?;
        let rows = page
            .bind(i64::from(limit))
            .bind(offset_i64)
            .fetch_all(&self.reader)
            .await?;
        let total: i64 = count.fetch_one(&self.reader).await?.try_get("n")?;
        Ok(JobPage {
            jobs: rows
                .iter()
                .map(|r| job_from_row(r).map(|u| u.job))
                .collect::<Result<_>>()?,
            total: u64::try_from(total).unwrap_or(0),
            limit,
            offset,
        })
    }
}
