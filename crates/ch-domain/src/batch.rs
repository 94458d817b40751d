//! Submitting many jobs in one request: a list of submissions, or a parameter sweep over one
//! template (the cartesian product of each parameter's values). Either way the request is
//! all or nothing: one invalid job refuses the batch, naming it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;
use crate::submit::SubmitJob;

/// Most jobs one batch may create.
pub const MAX_BATCH: usize = 1000;

/// Body of `POST /api/jobs/batch`: exactly one of `jobs` and `sweep`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BatchSubmit {
    /// Submissions as for `POST /api/jobs` (1 to 1000).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 1000))]
    pub jobs: Option<Vec<SubmitJob>>,
    #[serde(default)]
    pub sweep: Option<Sweep>,
}

/// One job per combination of `values` (the cartesian product, in key order, the last key
/// varying fastest), each a copy of `job` with those template parameters set and
/// `" [k=v, …]"` appended to its name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    pub job: SubmitJob,
    /// Parameter name → the values it takes.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub values: BTreeMap<String, Vec<serde_json::Value>>,
}

impl BatchSubmit {
    /// The submissions this batch stands for, at most [`MAX_BATCH`].
    ///
    /// # Errors
    /// A [`FieldError`] on `jobs`/`sweep` (neither or both given, empty, too many) or on
    /// `sweep.values.<name>` (no values).
    pub fn expand(self) -> Result<Vec<SubmitJob>, FieldError> {
        match (self.jobs, self.sweep) {
            (Some(jobs), None) => {
                if jobs.is_empty() || jobs.len() > MAX_BATCH {
                    return Err(FieldError::new(
                        "jobs",
                        format!("must hold 1 to {MAX_BATCH} jobs, got {}", jobs.len()),
                    ));
                }
                Ok(jobs)
            }
            (None, Some(sweep)) => sweep.expand(),
            _ => Err(FieldError::new(
                "jobs",
                "give either `jobs` (a list) or `sweep`, not both or neither",
            )),
        }
    }
}

impl Sweep {
    fn expand(self) -> Result<Vec<SubmitJob>, FieldError> {
        if self.job.template.is_none() {
            return Err(FieldError::new("sweep.job.template", "a sweep runs a template"));
        }
        let mut total: usize = 1;
        for (name, values) in &self.values {
            if values.is_empty() {
                return Err(FieldError::new(
                    format!("sweep.values.{name}"),
                    "needs at least one value",
                ));
            }
            total = total.saturating_mul(values.len());
        }
        if self.values.is_empty() || total > MAX_BATCH {
            return Err(FieldError::new(
                "sweep.values",
                format!("must make 1 to {MAX_BATCH} combinations, got {total}"),
            ));
        }
        let mut combos: Vec<Vec<(&String, &serde_json::Value)>> = vec![Vec::new()];
        for (name, values) in &self.values {
            combos = combos
                .into_iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut next = c.clone();
                        next.push((name, v));
                        next
                    })
                })
                .collect();
        }
        Ok(combos
            .into_iter()
            .map(|combo| {
                let mut job = self.job.clone();
                let params = job.parameters.get_or_insert_with(BTreeMap::new);
                let mut label = Vec::with_capacity(combo.len());
                for (name, value) in combo {
                    params.insert(name.clone(), value.clone());
                    label.push(format!("{name}={value}"));
                }
                job.name = format!("{} [{}]", job.name, label.join(", "));
                job
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sweep_is_the_cartesian_product() {
        let sweep = BatchSubmit {
            jobs: None,
            sweep: Some(Sweep {
                job: SubmitJob {
                    name: "cal".into(),
                    template: Some("AlphaCal".into()),
                    ..SubmitJob::default()
                },
                values: BTreeMap::from([
                    ("a".into(), vec![serde_json::json!(1), serde_json::json!(2)]),
                    (
                        "b".into(),
                        vec![serde_json::json!("x"), serde_json::json!("y"), serde_json::json!("z")],
                    ),
                ]),
            }),
        };
        let jobs = sweep.expand().expect("valid");
        assert_eq!(jobs.len(), 6);
        assert_eq!(jobs[1].name, "cal [a=1, b=\"y\"]");
        assert_eq!(
            jobs[5].parameters.as_ref().and_then(|p| p.get("a")),
            Some(&serde_json::json!(2))
        );
    }

    #[test]
    fn empty_both_or_too_many_are_named() {
        let field = |b: BatchSubmit| b.expand().map_err(|e| e.field).err();
        assert_eq!(field(BatchSubmit::default()), Some("jobs".into()));
        let many = BatchSubmit {
            jobs: Some(vec![SubmitJob::default(); MAX_BATCH + 1]),
            sweep: None,
        };
        assert_eq!(field(many), Some("jobs".into()));
        let no_template = BatchSubmit {
            jobs: None,
            sweep: Some(Sweep::default()),
        };
        assert_eq!(field(no_template), Some("sweep.job.template".into()));
    }
}
