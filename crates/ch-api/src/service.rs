//! Service traits: what the UI's server functions and the HTTP handlers call. Every method
//! takes the caller and authorizes through [`crate::authorize`] before it reads or writes.

use std::sync::Arc;

use async_trait::async_trait;
use ch_domain::{
    Job, JobEvent, JobLogs, JobPage, ListQuery, QueueInsight, ResourceRequest, SchedulerRecord, SubmitJob,
    SystemCatalog,
};
use uuid::Uuid;

use crate::error::ServiceResult;
use crate::principal::Principal;

/// Jobs: submit, list, read, cancel. Reads of a job the caller may not see answer
/// `NotFound`, exactly as for a job that does not exist.
#[async_trait]
pub trait JobService: Send + Sync + 'static {
    /// Submits into `req.project` (default `default`); needs write access there, and the
    /// `scientist` role for an arbitrary command.
    async fn submit(&self, caller: &Principal, req: SubmitJob) -> ServiceResult<Job>;
    /// Jobs of the projects the caller may read, filtered, sorted and paged by `query`.
    async fn list(&self, caller: &Principal, query: ListQuery) -> ServiceResult<JobPage>;
    async fn get(&self, caller: &Principal, id: Uuid) -> ServiceResult<Job>;
    /// Cancels a job that has not finished (409 otherwise); needs write access.
    async fn cancel(&self, caller: &Principal, id: Uuid) -> ServiceResult<Job>;
    /// The tail of the job's stdout and stderr.
    async fn logs(&self, caller: &Principal, id: Uuid) -> ServiceResult<JobLogs>;
    /// Every event of the job, in offset order.
    async fn events(&self, caller: &Principal, id: Uuid) -> ServiceResult<Vec<JobEvent>>;
    /// The job's record at its batch scheduler (Slurm job id, state, pending reason,
    /// accounting with actual cost and efficiency); `None` for a job whose executor has no
    /// scheduler (local) or that was not handed to it yet.
    async fn scheduler(&self, caller: &Principal, id: Uuid) -> ServiceResult<Option<SchedulerRecord>>;
    /// The newest offset of the event log: a view read after asking reflects at least this
    /// much of the log, and a live subscription from it misses nothing the view lacks.
    async fn log_offset(&self, caller: &Principal) -> ServiceResult<i64>;
    /// Target systems with their executors and rates.
    fn systems(&self, caller: &Principal) -> ServiceResult<SystemCatalog>;
    /// The queue of `system` at its batch scheduler for a job asking for `resources` (checked
    /// as a submission's are: 422 naming the field): pending and running jobs and the expected
    /// start. `NotFound` for an unknown system or one whose executor has no queue (local).
    async fn queue(&self, caller: &Principal, system: &str, resources: ResourceRequest) -> ServiceResult<QueueInsight>;
    /// The site's job templates, and whether arbitrary commands may be submitted.
    fn templates(&self, caller: &Principal) -> ServiceResult<TemplateCatalog>;
    /// The projects the caller may submit into, and the one a submit form starts with.
    async fn submit_targets(&self, caller: &Principal) -> ServiceResult<SubmitTargets>;
}

/// Where the caller may submit jobs: what the submit form offers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmitTargets {
    /// The projects the caller may write to (all of them for a site admin), sorted. Empty when
    /// the caller may submit nowhere.
    pub projects: Vec<String>,
    /// The project to start with: the one of the caller's newest job among `projects`, else
    /// their only project, else `default` when it is among them; `None` when they must choose.
    pub default: Option<String>,
}

/// `GET /api/templates`: what the submit form offers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateCatalog {
    /// Whether `scientist`s may submit arbitrary command lines on this site.
    pub allow_commands: bool,
    pub templates: std::collections::BTreeMap<String, ch_domain::JobTemplate>,
}

/// What server functions find in their context.
pub type SharedJobService = Arc<dyn JobService>;
