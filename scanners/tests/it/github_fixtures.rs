//! Each GitHub fixture is checked against the response schema of the operation it claims to come
//! from (`fixtures/github/manifest.json`); the examples known to break their own schema must break
//! it exactly as recorded in `known-violations.json`.

use serde_json::Value;
use std::collections::BTreeMap;

fn read(name: &str) -> Value {
    let path = format!("{}/../fixtures/github/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_ok(want: &str, v: &Value) -> bool {
    let got = type_name(v);
    got == want || (want == "number" && got == "integer")
}

/// Required properties, types, `nullable`, `date-time` format, recursively.
fn check(v: &Value, s: &Value, path: &str, errs: &mut Vec<String>) {
    let Some(schema) = s.as_object() else { return };
    if schema.is_empty() {
        return;
    }
    if v.is_null() {
        let nullable = schema.get("nullable").and_then(Value::as_bool) == Some(true);
        if !nullable && schema.get("type").is_some() {
            errs.push(format!("{path}: null not allowed"));
        }
        return;
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            let any = branches.iter().any(|b| {
                let mut e = Vec::new();
                check(v, b, path, &mut e);
                e.is_empty()
            });
            if !any {
                errs.push(format!("{path}: matches no branch of {key}"));
            }
            return;
        }
    }
    match schema.get("type") {
        Some(Value::String(t)) if !type_ok(t, v) => {
            errs.push(format!("{path}: expected {t}, got {}", type_name(v)));
            return;
        }
        Some(Value::Array(ts)) if !ts.iter().filter_map(Value::as_str).any(|t| type_ok(t, v)) => {
            errs.push(format!("{path}: type {} not allowed", type_name(v)));
            return;
        }
        _ => {}
    }
    if schema.get("format").and_then(Value::as_str) == Some("date-time") {
        if let Some(text) = v.as_str() {
            if chrono::DateTime::parse_from_rfc3339(text).is_err() {
                errs.push(format!("{path}: not a date-time: {text:?}"));
            }
        }
    }
    if let Some(obj) = v.as_object() {
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(r) = r.as_str() {
                if !obj.contains_key(r) {
                    errs.push(format!("{path}: missing required `{r}`"));
                }
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (k, sub) in props {
                if let Some(x) = obj.get(k) {
                    check(x, sub, &format!("{path}/{k}"), errs);
                }
            }
        }
    }
    if let (Some(items), Some(schema_items)) = (v.as_array(), schema.get("items")) {
        for (i, x) in items.iter().enumerate() {
            check(x, schema_items, &format!("{path}/{i}"), errs);
        }
    }
}

#[test]
fn every_fixture_matches_the_schema_of_its_operation_except_the_known_breaks() {
    let manifest = read("manifest.json");
    let known = read("known-violations.json");
    let entries = manifest.as_array().expect("manifest is a list");
    assert!(entries.len() >= 25, "the manifest lists the fixtures");
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in entries {
        let fixture = e["fixture"].as_str().expect("fixture name");
        let schema = e["schema"].as_str().expect("schema name");
        assert!(e["operation"].as_str().is_some() && e["example"].as_str().is_some());
        let mut errs = Vec::new();
        check(&read(fixture), &read(schema), "", &mut errs);
        if !errs.is_empty() {
            found.insert(fixture.to_string(), errs);
        }
    }
    let expected: BTreeMap<String, Vec<String>> = known
        .as_object()
        .expect("known violations")
        .iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .map(|(k, v)| {
            let list = v
                .as_array()
                .expect("list")
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect();
            (k.clone(), list)
        })
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn the_checker_catches_a_missing_required_property_and_a_wrong_type() {
    let schema: Value = serde_json::json!({"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}, "at": {"type": "string", "format": "date-time", "nullable": true}}});
    let mut errs = Vec::new();
    check(&serde_json::json!({"at": ""}), &schema, "", &mut errs);
    check(
        &serde_json::json!({"id": "1", "at": null}),
        &schema,
        "",
        &mut errs,
    );
    assert_eq!(
        errs,
        vec![
            ": missing required `id`".to_string(),
            "/at: not a date-time: \"\"".into(),
            "/id: expected integer, got string".into()
        ]
    );
}
