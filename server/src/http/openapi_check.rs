//! Structural checks of the served OpenAPI document (what an OpenAPI validator and a
//! generated client trip over first): every `$ref` resolves, operation ids are unique, path
//! templates and `in: path` parameters agree, query parameters are not declared as path ones,
//! and every error answer is documented with the `{"error": {…}}` shape the server sends.

use serde_json::Value;

fn doc() -> Value {
    super::openapi::document()
}

fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            for (k, item) in map {
                match (k.as_str(), item) {
                    ("$ref", Value::String(s)) => out.push(s),
                    _ => refs(item, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| refs(i, out)),
        _ => {}
    }
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            out.push((path.clone(), method.clone(), op));
        }
    }
    out
}

#[test]
fn every_ref_resolves() {
    let doc = doc();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    let missing: Vec<&str> = all
        .into_iter()
        .filter(|r| {
            r.strip_prefix("#/components/schemas/")
                .is_none_or(|n| !schemas.contains_key(n))
        })
        .collect();
    assert!(missing.is_empty(), "unresolved: {missing:?}");
}

#[test]
fn operation_ids_are_unique_and_parameters_match_paths() {
    let doc = doc();
    let mut ids = std::collections::BTreeSet::new();
    let mut problems = Vec::new();
    for (path, method, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap_or_default().to_owned();
        if !ids.insert(id.clone()) {
            problems.push(format!("{method} {path}: operationId '{id}' repeats"));
        }
        let in_template: Vec<&str> = path.split('{').skip(1).filter_map(|s| s.split('}').next()).collect();
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let declared: Vec<String> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str().map(String::from))
            .collect();
        for name in &in_template {
            if !declared.iter().any(|d| d == name) {
                problems.push(format!("{method} {path}: {{{name}}} is not declared"));
            }
        }
        for name in &declared {
            if !in_template.contains(&name.as_str()) {
                problems.push(format!(
                    "{method} {path}: '{name}' is declared in: path but is not in the path"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn error_answers_have_the_wrapped_shape() {
    let doc = doc();
    let mut problems = Vec::new();
    for (path, method, op) in operations(&doc) {
        for (status, response) in op["responses"].as_object().expect("responses") {
            if !(status.starts_with('4') || status.starts_with('5')) {
                continue;
            }
            let schema = &response["content"]["application/json"]["schema"]["$ref"];
            if schema != "#/components/schemas/ErrorResponse" {
                problems.push(format!("{method} {path} {status}: {schema}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let wrapper = &doc["components"]["schemas"]["ErrorResponse"];
    assert_eq!(wrapper["properties"]["error"]["$ref"], "#/components/schemas/ErrorBody");
}
