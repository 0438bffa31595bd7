//! GitLab state for the fake: items built from the hand-written documentation examples in
//! `fixtures/gitlab/`.

use super::{fixture, with};
use serde_json::{json, Value};

fn first(name: &str) -> Value {
    let v = fixture("gitlab", name);
    match v {
        Value::Array(items) => items.into_iter().next().unwrap_or(Value::Null),
        other => other,
    }
}

/// `GET /groups/:id`.
pub fn group(id: u64, full_path: &str) -> Value {
    with(
        &first("group.json"),
        json!({"id": id, "full_path": full_path, "path": full_path.rsplit('/').next()}),
    )
}

/// An item of `descendant_groups`.
pub fn subgroup(id: u64, full_path: &str) -> Value {
    with(
        &first("descendant-groups.json"),
        json!({"id": id, "full_path": full_path}),
    )
}

/// An item of `GET /groups/:id/projects`.
pub fn project(id: u64, path_with_namespace: &str) -> Value {
    with(
        &first("group-projects.json"),
        json!({"id": id, "path_with_namespace": path_with_namespace}),
    )
}

/// A group member (the example's second member carries `email` and a SAML identity).
pub fn member(id: u64, username: &str, access_level: u32, email: Option<&str>) -> Value {
    let base = fixture("gitlab", "group-members.json");
    let template = base.get(1).cloned().unwrap_or(Value::Null);
    let mut m = with(
        &template,
        json!({"id": id, "username": username, "name": username, "access_level": access_level}),
    );
    if let Some(o) = m.as_object_mut() {
        match email {
            Some(e) => {
                o.insert("email".into(), json!(e));
            }
            None => {
                o.remove("email");
            }
        }
    }
    m
}

/// A project/group CI/CD variable.
pub fn variable(key: &str, value: Value, masked: bool, environment_scope: &str) -> Value {
    with(
        &first("project-variables.json"),
        json!({"key": key, "value": value, "masked": masked, "environment_scope": environment_scope}),
    )
}
