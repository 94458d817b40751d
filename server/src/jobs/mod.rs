//! The job service: what the HTTP API and the UI's server functions call.

pub mod lifecycle;

use std::path::PathBuf;
use std::sync::Arc;

use app::backend::{JobService, ServiceError, ServiceResult};
use async_trait::async_trait;
use ch_domain::{Job, JobEvent, JobLogs, JobPage, JobStatus, ListQuery, SubmitJob, SystemCatalog};
use tracing::instrument;
use uuid::Uuid;

pub use lifecycle::{Change, Lifecycle};

use crate::executor::ExecutorHandle;
use crate::store::MetricSample;

/// Most log bytes returned per stream.
const LOG_TAIL_BYTES: u64 = 256 * 1024;

#[derive(Clone)]
pub struct Jobs {
    lifecycle: Lifecycle,
    catalog: Arc<SystemCatalog>,
    executor: ExecutorHandle,
    logs_dir: PathBuf,
}

impl Jobs {
    pub fn new(lifecycle: Lifecycle, catalog: SystemCatalog, executor: ExecutorHandle, logs_dir: PathBuf) -> Self {
        Self {
            lifecycle,
            catalog: Arc::new(catalog),
            executor,
            logs_dir,
        }
    }

    /// Submits with an explicit correlation id (from the request's `X-Correlation-Id`).
    #[instrument(skip_all, fields(name = %req.name), err(level = "debug"))]
    pub async fn submit_correlated(&self, req: SubmitJob, actor: &str, correlation_id: String) -> ServiceResult<Job> {
        let spec = req.validate(&self.catalog)?;
        let job = spec.into_job(Uuid::now_v7(), actor.to_owned(), correlation_id, lifecycle::now());
        self.lifecycle.create(&job, actor).await?;
        // Accepted by the scheduler at once; the executor picks it up from the queue.
        let (job, _) = self
            .lifecycle
            .apply(job.id, Change::Transition(JobStatus::Queued), "scheduler")
            .await?;
        self.executor.wake();
        Ok(job)
    }

    pub async fn metrics(&self, id: Uuid) -> ServiceResult<Vec<MetricSample>> {
        self.lifecycle.store().get_job(id).await?;
        Ok(self.lifecycle.store().metrics_for_job(id).await?)
    }

    /// Offset of the newest committed event.
    pub async fn latest_offset(&self) -> ServiceResult<i64> {
        Ok(self.lifecycle.store().latest_offset().await?)
    }

    /// Events after `after`, for the global log.
    pub async fn events_after(&self, after: i64, limit: u32) -> ServiceResult<Vec<JobEvent>> {
        Ok(self.lifecycle.store().events_after(after, limit).await?)
    }
}

async fn read_tail(path: PathBuf) -> std::io::Result<(String, bool)> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((String::new(), false)),
        Err(e) => return Err(e),
    };
    let len = file.metadata().await?.len();
    let start = len.saturating_sub(LOG_TAIL_BYTES);
    file.seek(std::io::SeekFrom::Start(start)).await?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf).await?;
    Ok((String::from_utf8_lossy(&buf).into_owned(), start > 0))
}

#[async_trait]
impl JobService for Jobs {
    async fn submit(&self, req: SubmitJob, actor: &str) -> ServiceResult<Job> {
        self.submit_correlated(req, actor, Uuid::now_v7().to_string()).await
    }

    async fn list(&self, query: ListQuery) -> ServiceResult<JobPage> {
        Ok(self.lifecycle.store().list_jobs(&query).await?)
    }

    async fn get(&self, id: Uuid) -> ServiceResult<Job> {
        Ok(self.lifecycle.store().get_job(id).await?.job)
    }

    #[instrument(skip(self), err(level = "debug"))]
    async fn cancel(&self, id: Uuid, actor: &str) -> ServiceResult<Job> {
        let (job, _) = self
            .lifecycle
            .apply(id, Change::Transition(JobStatus::Cancelled), actor)
            .await?;
        // The record says cancelled first; the process (if any) is killed after.
        self.executor.kill(id);
        Ok(job)
    }

    async fn logs(&self, id: Uuid) -> ServiceResult<JobLogs> {
        self.lifecycle.store().get_job(id).await?;
        let dir = self.logs_dir.join(id.to_string());
        let io = |e: std::io::Error| {
            tracing::error!(error = %e, "reading job log");
            ServiceError::Internal
        };
        let (stdout, t1) = read_tail(dir.join("stdout.log")).await.map_err(io)?;
        let (stderr, t2) = read_tail(dir.join("stderr.log")).await.map_err(io)?;
        Ok(JobLogs {
            stdout,
            stderr,
            truncated: t1 || t2,
        })
    }

    async fn events(&self, id: Uuid) -> ServiceResult<Vec<JobEvent>> {
        self.lifecycle.store().get_job(id).await?;
        Ok(self.lifecycle.store().events_for_job(id).await?)
    }

    fn systems(&self) -> SystemCatalog {
        (*self.catalog).clone()
    }
}
