//! The OpenAPI document's shared answers, added to every operation from what the router and
//! the guard in front of it do, so a route added later is documented the same way without
//! anyone remembering to: 401 (no or bad credentials), 404 (not found or hidden), 400/413/415/422
//! for request bodies and query parameters, 403 and 429 for writes (cross-site refusals, rate
//! limits). Each uses the
//! `{"error": {…}}` shape ([`super::error::ErrorResponse`]).

use utoipa::Modify;
use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// Paths anyone may call, without credentials.
const PUBLIC: &[&str] = &["/api/openapi.json", "/healthz", "/readyz"];

/// Adds the shared error answers (see the module documentation).
pub struct SharedResponses;

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            let public = PUBLIC.contains(&path.as_str());
            let reads = [&mut item.get].into_iter().flatten().map(|op| (op, false));
            let writes = [&mut item.post, &mut item.put, &mut item.patch, &mut item.delete]
                .into_iter()
                .flatten()
                .map(|op| (op, true));
            for (op, write) in reads.chain(writes) {
                add_shared(op, public, write);
            }
        }
    }
}

fn add_shared(op: &mut Operation, public: bool, write: bool) {
    let has_body = op.request_body.is_some();
    let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| error(description));
    };
    if !public {
        add("401", "No credentials, or expired or revoked ones");
        // Resources the caller may not see answer as if they did not exist (a job, project,
        // user or token named by the path or the body).
        add("404", "Not found, or not visible to this caller");
    }
    if has_body || has_params {
        add(
            "400",
            "A malformed body or parameter (e.g. a NUL character, a number out of range)",
        );
    }
    if has_body {
        add("413", "The body is larger than the configured limit");
        add("415", "The body is not of the documented content type");
        add("422", "The body is well-formed but a field is invalid");
    }
    if write && !public {
        add("403", "Not allowed for this caller, or a cross-site request");
        add("429", "Too many writes; retry after `Retry-After` seconds");
    }
}

fn error(description: &str) -> RefOr<utoipa::openapi::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorResponse")))
                    .build(),
            )
            .build(),
    )
}

/// Regex of a string without NUL: the server refuses U+0000 in every string and object key
/// (PostgreSQL cannot store it), and the document says so wherever nothing stricter is stated.
const NO_NUL: &str = r"^[^\x00]*$";

/// The served document: [`super::ApiDoc`] with the shared answers, plus what the server
/// enforces everywhere and the derive cannot state — no NUL in any string or object key, and
/// `PATCH /api/users/{name}` taking exactly `{"disabled": bool}`.
pub fn document() -> serde_json::Value {
    use utoipa::OpenApi as _;
    let mut doc = serde_json::to_value(super::ApiDoc::openapi()).unwrap_or_default();
    // Error answers quote what was sent, NUL included: their strings stay unconstrained.
    let errors = doc
        .pointer_mut("/components/schemas")
        .and_then(|s| s.as_object_mut())
        .and_then(|s| s.remove("ErrorBody"));
    forbid_nul(&mut doc);
    if let (Some(body), Some(schemas)) = (
        errors,
        doc.pointer_mut("/components/schemas").and_then(|s| s.as_object_mut()),
    ) {
        schemas.insert("ErrorBody".into(), body);
    }
    if let Some(change) = doc.pointer_mut("/components/schemas/UserChange")
        && let Some(map) = change.as_object_mut()
    {
        map.insert("additionalProperties".into(), serde_json::Value::Bool(false));
    }
    doc
}

/// Adds [`NO_NUL`] as the `pattern` of every string schema that has no pattern, format, enum
/// or const, and as the `propertyNames` of every object schema open to other keys.
fn forbid_nul(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let has_type = |t: &str| match map.get("type") {
                Some(Value::String(s)) => s == t,
                Some(Value::Array(ts)) => ts.iter().any(|x| x == t),
                _ => false,
            };
            let (string, object) = (has_type("string"), has_type("object"));
            let stated = ["pattern", "format", "enum", "const"]
                .iter()
                .any(|k| map.contains_key(*k));
            if string && !stated {
                map.insert("pattern".into(), Value::String(NO_NUL.into()));
            }
            let closed = map.get("additionalProperties") == Some(&Value::Bool(false));
            if object && !closed && !map.contains_key("propertyNames") {
                map.insert("propertyNames".into(), serde_json::json!({ "pattern": NO_NUL }));
            }
            for (key, child) in map.iter_mut() {
                if !matches!(key.as_str(), "example" | "examples" | "default") {
                    forbid_nul(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(forbid_nul),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_open_string_and_object_forbids_nul() {
        let mut v = serde_json::json!({
            "a": { "type": "string" },
            "b": { "type": "string", "format": "uuid" },
            "c": { "type": ["string", "null"], "pattern": "^x$" },
            "d": { "type": "object", "additionalProperties": {} },
            "e": { "type": "object", "additionalProperties": false },
            "f": { "example": { "type": "string" } }
        });
        forbid_nul(&mut v);
        assert_eq!(v["a"]["pattern"], NO_NUL);
        assert!(v["b"].get("pattern").is_none());
        assert_eq!(v["c"]["pattern"], "^x$");
        assert_eq!(v["d"]["propertyNames"]["pattern"], NO_NUL);
        assert!(v["e"].get("propertyNames").is_none());
        assert!(v["f"]["example"].get("pattern").is_none());
        let doc = document();
        assert_eq!(
            doc["components"]["schemas"]["UserChange"]["additionalProperties"],
            false
        );
    }
}
