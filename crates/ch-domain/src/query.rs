//! Listing jobs: filters, sort and paging shared by the HTTP API and the UI.

use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::job::Job;
use crate::status::JobStatus;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;
/// Largest `offset` accepted: SQL's `OFFSET` is a signed 64-bit integer.
pub const MAX_OFFSET: u64 = i64::MAX as u64;

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
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(default, deny_unknown_fields)]
pub struct ListQuery {
    pub status: Option<JobStatus>,
    pub owner: Option<String>,
    pub project: Option<String>,
    pub target_system: Option<String>,
    pub sort: Option<SortField>,
    pub order: Option<SortOrder>,
    /// 1 to 500 jobs per page (default 50).
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 500))]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 500))]
    pub limit: Option<u32>,
    #[cfg_attr(feature = "openapi", param(maximum = 9_223_372_036_854_775_807_u64))]
    #[cfg_attr(feature = "openapi", schema(maximum = 9_223_372_036_854_775_807_u64))]
    pub offset: Option<u64>,
}

impl ListQuery {
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }

    /// Checks what the HTTP query could not: `limit` in 1–[`MAX_LIMIT`], `offset` ≤
    /// [`MAX_OFFSET`], and no NUL in the
    /// text filters (databases cannot compare against it; PostgreSQL refuses it outright).
    ///
    /// # Errors
    /// A [`FieldError`] naming `limit`, `offset`, `owner`, `project` or `target_system`.
    pub fn validate(&self) -> Result<(), FieldError> {
        if let Some(limit) = self.limit.filter(|l| !(1..=MAX_LIMIT).contains(l)) {
            return Err(FieldError::new(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}, got {limit}"),
            ));
        }
        if let Some(offset) = self.offset.filter(|o| *o > MAX_OFFSET) {
            return Err(FieldError::new(
                "offset",
                format!("must be at most {MAX_OFFSET}, got {offset}"),
            ));
        }
        for (field, value) in [
            ("owner", &self.owner),
            ("project", &self.project),
            ("target_system", &self.target_system),
        ] {
            if value.as_deref().is_some_and(|v| v.contains('\0')) {
                return Err(FieldError::new(field, "must not contain NUL characters"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_and_nul_are_checked() {
        let q = |offset, owner: Option<&str>| ListQuery {
            offset,
            owner: owner.map(String::from),
            ..ListQuery::default()
        };
        assert!(q(Some(MAX_OFFSET), None).validate().is_ok());
        assert_eq!(
            q(Some(MAX_OFFSET + 1), None).validate().map_err(|e| e.field),
            Err("offset".into())
        );
        assert_eq!(
            q(None, Some("a\0b")).validate().map_err(|e| e.field),
            Err("owner".into())
        );
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
