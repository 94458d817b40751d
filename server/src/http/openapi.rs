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
