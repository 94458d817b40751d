//! The job service: what the HTTP API and the UI's server functions call.

pub mod cancel;
pub mod executor;
pub mod group_commit;
mod idempotency;
pub mod lifecycle;
mod targets;
pub mod time_limit;

use std::sync::Arc;

use async_trait::async_trait;
use ch_api::{
    Action, JobService, Principal, Resource, ServiceError, ServiceResult, SitePolicy, TemplateCatalog, authorize,
};
use ch_domain::{
    Job, JobEvent, JobLogs, JobPage, JobStatus, ListQuery, MetricSample, QueueInsight, ResourceRequest,
    SchedulerRecord, SubmitJob, SystemCatalog,
};
use tracing::instrument;
use uuid::Uuid;

pub use executor::{Executor, ExecutorError, Executors};
pub use idempotency::{IDEMPOTENCY_HEADER, Submission, Submitted};
pub use lifecycle::{Change, Lifecycle};

use crate::auth::ProjectDirectory;

/// The project jobs go to when a submission names none.
pub const DEFAULT_PROJECT: &str = "default";

#[derive(Clone)]
pub struct Jobs {
    lifecycle: Lifecycle,
    catalog: Arc<SystemCatalog>,
    executors: Executors,
    site: SitePolicy,
    templates: Arc<TemplateCatalog>,
    projects: ProjectDirectory,
}

impl Jobs {
    pub fn new(
        lifecycle: Lifecycle,
        catalog: SystemCatalog,
        executors: Executors,
        site: SitePolicy,
        templates: TemplateCatalog,
        projects: ProjectDirectory,
    ) -> Self {
        Self {
            lifecycle,
            catalog: Arc::new(catalog),
            executors,
            site,
            templates: Arc::new(templates),
            projects,
        }
    }

    /// The site-wide policy switches.
    pub fn site(&self) -> SitePolicy {
        self.site
    }

    /// Decides `action` on project `name` for `caller`; a project without a row (older data)
    /// counts as private. `what` names the thing hidden behind a 404.
    pub async fn authorize_project(
        &self,
        caller: &Principal,
        action: Action,
        name: &str,
        what: &str,
    ) -> ServiceResult<()> {
        self.project_decision(caller, action, name, what, false).await
    }

    async fn project_decision(
        &self,
        caller: &Principal,
        action: Action,
        name: &str,
        what: &str,
        must_exist: bool,
    ) -> ServiceResult<()> {
        let (exists, decision) = match self.projects.decide(self.site, caller, action, name).await {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(error = %e, "project lookup");
                return Err(ServiceError::Internal);
            }
        };
        if must_exist && !exists {
            return Err(ServiceError::NotFound(what.to_owned()));
        }
        decision.map_err(|d| ServiceError::denied(d, what))
    }

    /// Loads a job the caller may do `action` on; others' private jobs are "not found".
    async fn job_for(&self, caller: &Principal, id: Uuid, action: Action) -> ServiceResult<Job> {
        // Anonymous callers learn nothing (not even "not found") without public read.
        if caller.user().is_none() && !self.site.public_read {
            return Err(ServiceError::Unauthenticated("sign in to continue".into()));
        }
        let job = self.lifecycle.store().get_job(id).await?.job;
        let what = format!("job {id}");
        if action != Action::Read {
            // Readers who may not write learn why; others learn nothing.
            self.authorize_project(caller, Action::Read, &job.project, &what)
                .await?;
        }
        self.authorize_project(caller, action, &job.project, &what).await?;
        Ok(job)
    }

    /// Projects whose jobs `caller` may list: `None` = all (site admins).
    pub async fn visible_projects(&self, caller: &Principal) -> ServiceResult<Option<Vec<String>>> {
        let only = caller.token_project().map(str::to_owned);
        if caller.is_admin() && only.is_none() {
            return Ok(None);
        }
        let public = if caller.user().is_some() || self.site.public_read {
            self.projects.public_names().await?.as_ref().clone()
        } else {
            Vec::new()
        };
        let mut names: Vec<String> = caller
            .user()
            .map(|u| u.memberships.iter().map(|m| m.project.clone()).collect())
            .unwrap_or_default();
        names.extend(public);
        if let Some(only) = only {
            names.retain(|n| *n == only);
            if caller.is_admin() {
                names = vec![only];
            }
        }
        names.sort();
        names.dedup();
        Ok(Some(names))
    }

    /// Submits with an explicit correlation id (from the request's `X-Correlation-Id`).
    #[instrument(skip_all, fields(name = %req.name, caller = %caller), err(level = "debug"))]
    pub async fn submit_correlated(
        &self,
        caller: &Principal,
        req: SubmitJob,
        correlation_id: String,
    ) -> ServiceResult<Job> {
        let job = self.prepare(caller, req, correlation_id).await?;
        let mut created = self.lifecycle.create_queued(vec![job], caller.actor()).await?;
        // Accepted by the scheduler at once; the executor picks it up from the queue.
        self.executors.wake_for(&created);
        created.pop().ok_or(ServiceError::Internal)
    }

    /// Submits every job of `batch` (a list, or a sweep over a template) in one transaction:
    /// all are created, or — when one is invalid or not allowed — none, with the error naming
    /// it (`jobs[3].resources.cpus`).
    #[instrument(skip_all, fields(%caller), err(level = "debug"))]
    pub async fn submit_batch(
        &self,
        caller: &Principal,
        batch: ch_domain::BatchSubmit,
        correlation_id: String,
    ) -> ServiceResult<Vec<Job>> {
        let jobs = self.prepare_batch(caller, batch, correlation_id).await?;
        let created = self.lifecycle.create_queued(jobs, caller.actor()).await?;
        self.executors.wake_for(&created);
        Ok(created)
    }

    /// Validates and authorizes every job of `batch`, naming the first bad one
    /// (`jobs[3].resources.cpus`).
    async fn prepare_batch(
        &self,
        caller: &Principal,
        batch: ch_domain::BatchSubmit,
        correlation_id: String,
    ) -> ServiceResult<Vec<Job>> {
        let requests = batch.expand()?;
        let mut jobs = Vec::with_capacity(requests.len());
        for (i, req) in requests.into_iter().enumerate() {
            let job = self
                .prepare(caller, req, correlation_id.clone())
                .await
                .map_err(|e| match e {
                    ServiceError::Invalid(f) => {
                        ServiceError::Invalid(ch_domain::FieldError::new(format!("jobs[{i}].{}", f.field), f.message))
                    }
                    other => other,
                })?;
            jobs.push(job);
        }
        Ok(jobs)
    }

    /// Validates and authorizes one submission and makes its job (not yet stored).
    async fn prepare(&self, caller: &Principal, mut req: SubmitJob, correlation_id: String) -> ServiceResult<Job> {
        if caller.user().is_none() {
            return Err(ServiceError::Unauthenticated("sign in to submit jobs".into()));
        }
        let project = req
            .project
            .clone()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .or_else(|| caller.token_project().map(str::to_owned))
            .unwrap_or_else(|| DEFAULT_PROJECT.to_owned());
        req.project = Some(project.clone());
        // A template runs the site's command (write access is enough); a command line of the
        // caller's own needs the scientist role, and the site must allow it.
        let action = if req.template.is_some() {
            Action::Write
        } else if self.templates.allow_commands {
            Action::RunCommand
        } else {
            return Err(ServiceError::Forbidden(format!(
                "this site runs only job templates ({}); arbitrary commands are switched off",
                self.templates.templates.keys().cloned().collect::<Vec<_>>().join(", ")
            )));
        };
        let req = req.resolve_template(&self.templates.templates)?;
        let spec = req.validate(&self.catalog)?;
        self.project_decision(caller, action, &project, &format!("project '{project}'"), true)
            .await?;
        let actor = caller.actor().to_owned();
        Ok(spec.into_job(Uuid::now_v7(), actor, correlation_id, crate::clock::now()))
    }

    pub async fn metrics(&self, caller: &Principal, id: Uuid) -> ServiceResult<Vec<MetricSample>> {
        self.job_for(caller, id, Action::Read).await?;
        Ok(self.lifecycle.store().metrics_for_job(id).await?)
    }

    /// Offset of the newest committed event.
    pub async fn latest_offset(&self) -> ServiceResult<i64> {
        Ok(self.lifecycle.store().latest_offset().await?)
    }

    /// Events after `after` of the jobs in `visible` projects (`None` = all), for the global log.
    pub async fn events_after(
        &self,
        after: i64,
        limit: u32,
        visible: Option<&[String]>,
    ) -> ServiceResult<Vec<JobEvent>> {
        Ok(self
            .lifecycle
            .store()
            .events_after_visible(after, limit, visible)
            .await?)
    }
}

#[async_trait]
impl JobService for Jobs {
    async fn log_offset(&self, _caller: &Principal) -> ServiceResult<i64> {
        // An offset says nothing about any job: anyone may know it.
        self.latest_offset().await
    }

    async fn submit(&self, caller: &Principal, req: SubmitJob) -> ServiceResult<Job> {
        self.submit_correlated(caller, req, Uuid::now_v7().to_string()).await
    }

    async fn list(&self, caller: &Principal, query: ListQuery) -> ServiceResult<JobPage> {
        if caller.user().is_none() && !self.site.public_read {
            return Err(ServiceError::Unauthenticated("sign in to continue".into()));
        }
        query.validate()?;
        let visible = self.visible_projects(caller).await?;
        Ok(self.lifecycle.store().list_jobs(&query, visible.as_deref()).await?)
    }

    async fn get(&self, caller: &Principal, id: Uuid) -> ServiceResult<Job> {
        self.job_for(caller, id, Action::Read).await
    }

    #[instrument(skip(self, caller), fields(%caller), err(level = "debug"))]
    async fn cancel(&self, caller: &Principal, id: Uuid) -> ServiceResult<Job> {
        self.job_for(caller, id, Action::Write).await?;
        let (job, _) = self
            .lifecycle
            .apply(id, Change::Transition(JobStatus::Cancelled), caller.actor())
            .await?;
        // The record says cancelled; the executor running the job stops it when the
        // `job.cancelled` event reaches its instance ([`cancel::CancelSink`]).
        Ok(job)
    }

    async fn logs(&self, caller: &Principal, id: Uuid) -> ServiceResult<JobLogs> {
        let job = self.job_for(caller, id, Action::Read).await?;
        let Some(executor) = self.executors.get(&job.executor) else {
            return Err(ServiceError::Conflict(format!(
                "the logs of job {id} are kept by executor '{}', which this server does not run",
                job.executor
            )));
        };
        Ok(executor.logs(&job).await?)
    }

    async fn scheduler(&self, caller: &Principal, id: Uuid) -> ServiceResult<Option<SchedulerRecord>> {
        let job = self.job_for(caller, id, Action::Read).await?;
        match self.executors.get(&job.executor) {
            Some(executor) => Ok(executor.scheduler(&job).await?),
            None => Ok(None),
        }
    }

    async fn events(&self, caller: &Principal, id: Uuid) -> ServiceResult<Vec<JobEvent>> {
        self.job_for(caller, id, Action::Read).await?;
        Ok(self.lifecycle.store().events_for_job(id).await?)
    }

    fn templates(&self, caller: &Principal) -> ServiceResult<TemplateCatalog> {
        authorize(self.site, caller, Action::Read, Resource::Site).map_err(|d| ServiceError::denied(d, "templates"))?;
        Ok((*self.templates).clone())
    }

    async fn submit_targets(&self, caller: &Principal) -> ServiceResult<ch_api::SubmitTargets> {
        self.targets(caller).await
    }

    async fn queue(&self, caller: &Principal, system: &str, resources: ResourceRequest) -> ServiceResult<QueueInsight> {
        authorize(self.site, caller, Action::Read, Resource::Site).map_err(|d| ServiceError::denied(d, "systems"))?;
        let Some(info) = self.catalog.get(system) else {
            return Err(ServiceError::NotFound(format!("system '{system}'")));
        };
        let r = info.admit(system, &resources)?;
        let executor = info.executor.as_deref().unwrap_or("none");
        let queue = match self.executors.get(executor) {
            Some(e) => e.queue(system, &r).await?,
            None => None,
        };
        queue.ok_or_else(|| {
            ServiceError::NotFound(format!(
                "a batch scheduler queue of system '{system}' (executor '{executor}')"
            ))
        })
    }

    fn systems(&self, caller: &Principal) -> ServiceResult<SystemCatalog> {
        authorize(self.site, caller, Action::Read, Resource::Site).map_err(|d| ServiceError::denied(d, "systems"))?;
        Ok((*self.catalog).clone())
    }
}
