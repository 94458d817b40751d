//! The submit request as it arrives (loosely typed, so every problem can be named) and the
//! validated [`JobSpec`] made from it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cost::{SystemCatalog, SystemInfo};
use crate::error::FieldError;
use crate::job::{Job, Priority, Resources};
use crate::notification_kind::NotificationKind;
use crate::status::JobStatus;

pub const MAX_NAME_LEN: usize = 200;
pub const MAX_COMMAND_LEN: usize = 64 * 1024;
pub const MAX_RETRIES: i64 = 10;
pub const MAX_RUNTIME_MINUTES: i64 = 7 * 24 * 60;
/// The agent of a job that runs a command line of its own and names no agent (a template's
/// job is labelled with the template's name).
pub const CUSTOM_AGENT: &str = "custom";

/// Resource request as submitted; omitted fields take [`Resources::default`] values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ResourceRequest {
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100_000))]
    pub nodes: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100_000))]
    pub cpus: Option<i64>,
    /// GB per node, 0.001 (1 MB) to 1,000,000.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.001, maximum = 1_000_000.0))]
    pub memory_gb: Option<f64>,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1024))]
    pub gpus: Option<i64>,
    /// 1 to 10,080 (a week).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10_080))]
    pub max_runtime_minutes: Option<i64>,
}

// Here rather than in `cost`, which `submit` builds on: a system admits a request.
impl SystemInfo {
    /// The resources `req` asks for, as a job of this system (named `name`) would get them:
    /// checked against the domain's bounds, then against this system's limits.
    ///
    /// # Errors
    /// The first field out of bounds or beyond a limit, named (`resources.gpus`, …).
    pub fn admit(&self, name: &str, req: &ResourceRequest) -> Result<Resources, FieldError> {
        let resources = req.validate()?;
        self.limits.check(name, &resources)?;
        Ok(resources)
    }
}

/// Body of `POST /api/jobs` and of the submit form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SubmitJob {
    /// 1–200 characters, not only white space, no control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            min_length = 1,
            max_length = 200,
            pattern = r"^[^\x00-\x1F\x7F-\x9F]*[^\s\x00-\x1F\x7F-\x9F][^\x00-\x1F\x7F-\x9F]*$"
        )
    )]
    pub name: String,
    /// The command line (at most 65,536 characters, no NUL); leave empty when naming a
    /// `template`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 65_536))]
    pub command: String,
    /// A job template of the site (see `GET /api/templates`), instead of a command.
    #[serde(default)]
    pub template: Option<String>,
    /// The template's parameters by name.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub parameters: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    /// What runs, as the job list shows it; default `custom`. A template's job is labelled with
    /// the template's name instead.
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default)]
    pub target_system: Option<String>,
    #[serde(default)]
    pub resources: Option<ResourceRequest>,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub project: Option<String>,
    /// 0–10 automatic retries of a failed run (default 0).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 10))]
    pub max_retries: Option<i64>,
    /// What to tell the owner about for this job (as Slurm's `--mail-type`), in place of the
    /// kinds in their notification rules (their channels still apply): e.g. `["failed",
    /// "timed_out"]`; `[]` for nothing. Absent: their rules decide.
    #[serde(default)]
    pub notify: Option<Vec<NotificationKind>>,
}

/// A submit request that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub name: String,
    pub command: String,
    pub agent: String,
    pub target_system: String,
    pub executor: String,
    pub resources: Resources,
    pub priority: Priority,
    pub project: String,
    pub max_retries: u32,
    pub estimated_cost_usd: f64,
    /// Sorted, without repeats.
    pub notify: Option<Vec<NotificationKind>>,
}

fn bounded(field: &str, value: Option<i64>, default: u32, min: i64, max: i64) -> Result<u32, FieldError> {
    let v = value.unwrap_or(i64::from(default));
    if v < min || v > max {
        return Err(FieldError::new(
            field,
            format!("must be between {min} and {max}, got {v}"),
        ));
    }
    u32::try_from(v).map_err(|_| FieldError::new(field, format!("out of range: {v}")))
}

fn label(field: &str, value: Option<&str>, default: &str) -> Result<String, FieldError> {
    let raw = value.unwrap_or(default);
    let v = raw.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    // Counted as sent (as the OpenAPI `maxLength`), surrounding white space included.
    if raw.chars().count() > MAX_NAME_LEN {
        return Err(FieldError::new(
            field,
            format!("must be at most {MAX_NAME_LEN} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(FieldError::new(field, "must not contain control characters"));
    }
    Ok(v.to_owned())
}

/// Smallest memory request, in GB (1 MB).
pub const MIN_MEMORY_GB: f64 = 0.001;

impl ResourceRequest {
    pub fn validate(&self) -> Result<Resources, FieldError> {
        let d = Resources::default();
        let memory_gb = self.memory_gb.unwrap_or(d.memory_gb);
        // 1 MB is the smallest request any scheduler can honour (Slurm's --mem is in MB), and it
        // keeps subnormal values such as 1e-320 out.
        if !memory_gb.is_finite() || !(MIN_MEMORY_GB..=1_000_000.0).contains(&memory_gb) {
            return Err(FieldError::new(
                "resources.memory_gb",
                format!("must be between {MIN_MEMORY_GB} and 1000000 GB, got {memory_gb}"),
            ));
        }
        Ok(Resources {
            nodes: bounded("resources.nodes", self.nodes, d.nodes, 1, 100_000)?,
            cpus: bounded("resources.cpus", self.cpus, d.cpus, 1, 100_000)?,
            memory_gb,
            gpus: bounded("resources.gpus", self.gpus, d.gpus, 0, 1_024)?,
            max_runtime_minutes: bounded(
                "resources.max_runtime_minutes",
                self.max_runtime_minutes,
                d.max_runtime_minutes,
                1,
                MAX_RUNTIME_MINUTES,
            )?,
        })
    }
}

impl SubmitJob {
    /// Replaces a template reference by its rendered command (agent = the template's name).
    /// A request with a command and no template is returned as it is.
    pub fn resolve_template(
        mut self,
        templates: &std::collections::BTreeMap<String, crate::template::JobTemplate>,
    ) -> Result<SubmitJob, FieldError> {
        let Some(name) = self.template.take() else {
            if self.parameters.is_some() {
                return Err(FieldError::new("parameters", "parameters need a template"));
            }
            return Ok(self);
        };
        if !self.command.trim().is_empty() {
            return Err(FieldError::new(
                "command",
                "give either a command or a template, not both",
            ));
        }
        let template = templates.get(&name).ok_or_else(|| {
            FieldError::new(
                "template",
                format!(
                    "unknown template '{}' (available: {})",
                    name.escape_debug(),
                    templates.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        self.command = template.render(&self.parameters.take().unwrap_or_default())?;
        self.agent = Some(name);
        Ok(self)
    }

    /// Checks every field against the domain rules and the server's system catalog.
    pub fn validate(&self, catalog: &SystemCatalog) -> Result<JobSpec, FieldError> {
        let name = label("name", Some(&self.name), "")?;
        if self.command.trim().is_empty() {
            return Err(FieldError::new("command", "must not be empty"));
        }
        // In characters, as the OpenAPI `maxLength` counts.
        if self.command.chars().count() > MAX_COMMAND_LEN {
            return Err(FieldError::new(
                "command",
                format!("must be at most {MAX_COMMAND_LEN} characters"),
            ));
        }
        if self.command.contains('\0') {
            return Err(FieldError::new("command", "must not contain NUL bytes"));
        }
        let agent = label("agent", self.agent.as_deref(), CUSTOM_AGENT)?;
        let project = label("project", self.project.as_deref(), "default")?;
        let target_system = self.target_system.as_deref().unwrap_or("local").trim().to_owned();
        let system = catalog.get(&target_system).ok_or_else(|| {
            FieldError::new(
                "target_system",
                format!(
                    "unknown system '{target_system}' (known: {})",
                    catalog.names().join(", ")
                ),
            )
        })?;
        let executor = system.executor.clone().ok_or_else(|| {
            FieldError::new(
                "target_system",
                format!(
                    "no executor is configured for '{target_system}' on this server (runnable: {})",
                    catalog.runnable_names().join(", ")
                ),
            )
        })?;
        let resources = system.admit(&target_system, &self.resources.clone().unwrap_or_default())?;
        let max_retries = bounded("max_retries", self.max_retries, 0, 0, MAX_RETRIES)?;
        Ok(JobSpec {
            estimated_cost_usd: system.rates.estimate(&resources),
            name,
            command: self.command.clone(),
            agent,
            target_system,
            executor,
            resources,
            priority: self.priority.unwrap_or_default(),
            project,
            max_retries,
            notify: self.notify.clone().map(|mut k| {
                k.sort();
                k.dedup();
                k
            }),
        })
    }
}

impl JobSpec {
    pub fn into_job(self, id: Uuid, owner: String, correlation_id: String, now: DateTime<Utc>) -> Job {
        Job {
            id,
            name: self.name,
            owner,
            project: self.project,
            agent: self.agent,
            executor: self.executor,
            target_system: self.target_system,
            command: self.command,
            resources: self.resources,
            priority: self.priority,
            estimated_cost_usd: self.estimated_cost_usd,
            status: JobStatus::Submitted,
            progress: 0,
            correlation_id,
            submitted_at: now,
            queued_at: None,
            started_at: None,
            finished_at: None,
            updated_at: now,
            exit_code: None,
            error_code: None,
            error_message: None,
            retry_count: 0,
            max_retries: self.max_retries,
            result_location: None,
            notify: self.notify,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submit(json: &str) -> Result<JobSpec, String> {
        let req: SubmitJob = serde_json::from_str(json).map_err(|e| e.to_string())?;
        req.validate(&SystemCatalog::default()).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_fill_omitted_fields() {
        let spec = submit(r#"{"name":"a","command":"true"}"#).expect("valid");
        assert_eq!(spec.target_system, "local");
        assert_eq!(spec.resources, Resources::default());
        assert_eq!(spec.priority, Priority::Normal);
        assert_eq!(spec.project, "default");
        assert_eq!(
            spec.agent, CUSTOM_AGENT,
            "a command line of one's own is labelled custom"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (
                r#"{"name":"a","command":"true","resources":{"cpus":-1}}"#,
                "resources.cpus",
            ),
            (
                r#"{"name":"a","command":"true","resources":{"memory_gb":0}}"#,
                "resources.memory_gb",
            ),
            (r#"{"name":"","command":"true"}"#, "name"),
            (r#"{"name":"a","command":"  "}"#, "command"),
            (r#"{"name":"a","command":"x","target_system":"mars"}"#, "target_system"),
            (r#"{"name":"a","command":"x","bogus":1}"#, "bogus"),
        ];
        for (json, field) in cases {
            let err = submit(json).expect_err(json);
            assert!(err.contains(field), "{json}: {err}");
        }
    }

    #[test]
    fn known_system_without_executor_is_refused() {
        let err = submit(r#"{"name":"a","command":"x","target_system":"frontera"}"#).expect_err("no executor");
        assert!(err.contains("no executor"), "{err}");
    }
}
