//! Job templates: named commands with typed parameters, for sites that switch arbitrary
//! commands off (`executor.allow_commands = false`, as on the hosted demo). A submission
//! names a template and its parameters; each value is checked against its parameter's type and
//! bounds, then substituted shell-quoted into the template's command, so no value can change
//! the command's structure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::FieldError;

/// Longest text parameter value, in characters.
pub const MAX_TEXT_CHARS: usize = 256;

/// The type and bounds of one parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ParamKind {
    /// A whole number in `min..=max`.
    Integer { min: i64, max: i64 },
    /// A finite number in `min..=max`.
    Number { min: f64, max: f64 },
    /// One of `options`.
    Choice { options: Vec<String> },
    /// A word or relative path: letters, digits, `. _ / -`, not starting with `-` or `/`,
    /// no `..`, at most 256 characters.
    Text,
}

/// One parameter of a template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateParam {
    pub description: String,
    #[serde(flatten)]
    pub kind: ParamKind,
    /// Used when the submission omits the parameter; without one the parameter is required.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<serde_json::Value>))]
    pub default: Option<serde_json::Value>,
}

/// A named command with typed parameters. `command` names parameters as `{name}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct JobTemplate {
    pub description: String,
    pub command: String,
    #[serde(default)]
    pub parameters: BTreeMap<String, TemplateParam>,
}

fn field(name: &str) -> String {
    format!("parameters.{name}")
}

/// Single-quotes `s` for `sh` (POSIX: `'` inside becomes `'\''`).
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl TemplateParam {
    /// The checked value as it goes into the command.
    fn check(&self, name: &str, value: &serde_json::Value) -> Result<String, FieldError> {
        let bad = |m: String| FieldError::new(field(name), m);
        match &self.kind {
            ParamKind::Integer { min, max } => {
                let v = value
                    .as_i64()
                    .ok_or_else(|| bad(format!("must be a whole number, got {value}")))?;
                if v < *min || v > *max {
                    return Err(bad(format!("must be between {min} and {max}, got {v}")));
                }
                Ok(v.to_string())
            }
            ParamKind::Number { min, max } => {
                let v = value
                    .as_f64()
                    .ok_or_else(|| bad(format!("must be a number, got {value}")))?;
                if !v.is_finite() || v < *min || v > *max {
                    return Err(bad(format!("must be between {min} and {max}, got {v}")));
                }
                Ok(v.to_string())
            }
            ParamKind::Choice { options } => {
                let v = value
                    .as_str()
                    .ok_or_else(|| bad(format!("must be a string, got {value}")))?;
                if !options.iter().any(|o| o == v) {
                    return Err(bad(format!("must be one of {}", options.join(", "))));
                }
                Ok(v.to_owned())
            }
            ParamKind::Text => {
                let v = value
                    .as_str()
                    .ok_or_else(|| bad(format!("must be a string, got {value}")))?;
                let ok_chars = v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'));
                if v.is_empty() || v.chars().count() > MAX_TEXT_CHARS || !ok_chars {
                    return Err(bad(format!(
                        "must be 1–{MAX_TEXT_CHARS} characters of letters, digits, '.', '_', '/', '-'"
                    )));
                }
                if v.starts_with(['-', '/']) || v.split('/').any(|part| part == "..") {
                    return Err(bad(
                        "must be a relative path without '..' that does not start with '-'".into()
                    ));
                }
                Ok(v.to_owned())
            }
        }
    }
}

impl JobTemplate {
    /// The command with every `{name}` replaced by the checked, shell-quoted value. Unknown
    /// parameters, missing required ones and values out of bounds are refused, naming the
    /// parameter (`parameters.<name>`).
    pub fn render(&self, values: &BTreeMap<String, serde_json::Value>) -> Result<String, FieldError> {
        if let Some(unknown) = values.keys().find(|k| !self.parameters.contains_key(*k)) {
            return Err(FieldError::new(
                field(unknown),
                format!(
                    "unknown parameter (this template takes: {})",
                    self.parameters.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let mut command = self.command.clone();
        for (name, param) in &self.parameters {
            let value = values
                .get(name)
                .or(param.default.as_ref())
                .ok_or_else(|| FieldError::new(field(name), "is required"))?;
            let checked = param.check(name, value)?;
            command = command.replace(&format!("{{{name}}}"), &shell_quote(&checked));
        }
        Ok(command)
    }
}

/// Templates every site starts with. They are demonstrations — they simulate the work of the
/// agents they are named after with timed progress, and say so in their description and
/// output; a site replaces them with its real pipelines in `executor.templates`.
pub fn demo_templates() -> BTreeMap<String, JobTemplate> {
    let steps = |description: &str, default: i64| TemplateParam {
        description: description.into(),
        kind: ParamKind::Integer { min: 1, max: 100 },
        default: Some(serde_json::json!(default)),
    };
    let seconds = TemplateParam {
        description: "seconds per step".into(),
        kind: ParamKind::Number { min: 0.0, max: 60.0 },
        default: Some(serde_json::json!(0.5)),
    };
    let script = |what: &str, unit: &str| {
        format!(
            "echo 'DEMO template: simulates {what}; no data is processed'; n={{steps}}; i=0; \
             while [ $i -lt $n ]; do i=$((i+1)); sleep {{step_seconds}}; echo \"{unit} $i of $n\"; \
             echo PROGRESS $((i*100/n)); done"
        )
    };
    BTreeMap::from([
        (
            "AlphaCal".to_owned(),
            JobTemplate {
                description: "Demo: simulates gain calibration of a measurement set (timed steps, no data)".into(),
                command: script("AlphaCal calibration", "solution interval"),
                parameters: BTreeMap::from([
                    ("steps".to_owned(), steps("solution intervals", 10)),
                    ("step_seconds".to_owned(), seconds.clone()),
                ]),
            },
        ),
        (
            "ImageReconstruction".to_owned(),
            JobTemplate {
                description: "Demo: simulates CLEAN major cycles of an imaging run (timed steps, no data)".into(),
                command: script("image reconstruction", "major cycle"),
                parameters: BTreeMap::from([
                    ("steps".to_owned(), steps("major cycles", 5)),
                    ("step_seconds".to_owned(), seconds.clone()),
                ]),
            },
        ),
        (
            "AnomalyDetection".to_owned(),
            JobTemplate {
                description: "Demo: simulates an anomaly scan over image tiles (timed steps, no data)".into(),
                command: script("anomaly detection", "tile"),
                parameters: BTreeMap::from([
                    ("steps".to_owned(), steps("tiles", 8)),
                    ("step_seconds".to_owned(), seconds),
                ]),
            },
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(json: serde_json::Value) -> BTreeMap<String, serde_json::Value> {
        serde_json::from_value(json).expect("map")
    }

    #[test]
    fn renders_quoted_values_and_defaults() {
        let t = &demo_templates()["AlphaCal"];
        let cmd = t.render(&values(serde_json::json!({ "steps": 3 }))).expect("render");
        assert!(cmd.contains("n='3'") && cmd.contains("sleep '0.5'"), "{cmd}");
    }

    #[test]
    fn refuses_unknown_missing_and_out_of_bounds_values() {
        let t = JobTemplate {
            description: "t".into(),
            command: "run {input} {mode}".into(),
            parameters: BTreeMap::from([
                (
                    "input".to_owned(),
                    TemplateParam {
                        description: "file".into(),
                        kind: ParamKind::Text,
                        default: None,
                    },
                ),
                (
                    "mode".to_owned(),
                    TemplateParam {
                        description: "mode".into(),
                        kind: ParamKind::Choice {
                            options: vec!["fast".into(), "deep".into()],
                        },
                        default: Some(serde_json::json!("fast")),
                    },
                ),
            ]),
        };
        let ok = t.render(&values(serde_json::json!({ "input": "a/b.ms" }))).expect("ok");
        assert_eq!(ok, "run 'a/b.ms' 'fast'");
        for (v, field) in [
            (serde_json::json!({}), "parameters.input"),
            (serde_json::json!({ "input": "x", "evil": 1 }), "parameters.evil"),
            (serde_json::json!({ "input": "x'; rm -rf /; '" }), "parameters.input"),
            (serde_json::json!({ "input": "../etc/passwd" }), "parameters.input"),
            (serde_json::json!({ "input": "-rf" }), "parameters.input"),
            (serde_json::json!({ "input": "x", "mode": "slow" }), "parameters.mode"),
            (serde_json::json!({ "input": 5 }), "parameters.input"),
        ] {
            let err = t.render(&values(v.clone())).expect_err(&v.to_string());
            assert_eq!(err.field, field, "{v}");
        }
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
