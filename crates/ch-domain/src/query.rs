//! Listing jobs: filters, sort and paging shared by the HTTP API and the UI.

use serde::{Deserialize, Serialize};

use crate::job::Job;
use crate::status::JobStatus;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SortField {
    #[default]
    SubmittedAt,
    UpdatedAt,
    Priority,
    Name,
    Status,
}

impl SortField {
    /// Column name; a closed set, so safe to splice into SQL.
    pub fn column(self) -> &'static str {
        match self {
            SortField::SubmittedAt => "submitted_at",
            SortField::UpdatedAt => "updated_at",
            SortField::Priority => "priority",
            SortField::Name => "name",
            SortField::Status => "status",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

/// Query of `GET /api/jobs`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[serde(default, deny_unknown_fields)]
pub struct ListQuery {
    pub status: Option<JobStatus>,
    pub owner: Option<String>,
    pub project: Option<String>,
    pub target_system: Option<String>,
    pub sort: Option<SortField>,
    pub order: Option<SortOrder>,
    pub limit: Option<u32>,
    pub offset: Option<u64>,
}

impl ListQuery {
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }
}

/// One page of jobs and the total matching the filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JobPage {
    pub jobs: Vec<Job>,
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
}
