//! Okta objects for the fake, each built from the first item of a response example of Okta's own
//! OpenAPI description (`fixtures/okta`, extracted by `fixtures/okta/extract.py`) with only the
//! fields a test cares about set.

use crate::fake_host::{fixture, with};
use serde_json::{json, Value};

/// The first item of a fixture's list (bare, or under `value`).
pub fn template(name: &str) -> Value {
    let v = fixture("okta", &format!("{name}.json"));
    let list = v.get("value").unwrap_or(&v);
    list.get(0).cloned().unwrap_or(v)
}

/// A user (`GET /api/v1/users`).
pub fn user(
    id: &str,
    login: &str,
    status: &str,
    last_login: Option<&str>,
    employee_number: Option<&str>,
) -> Value {
    let mut profile = template("users")["profile"].clone();
    profile["login"] = json!(login);
    profile["email"] = json!(login);
    if let Some(n) = employee_number {
        profile["employeeNumber"] = json!(n);
    }
    with(
        &template("users"),
        json!({ "id": id, "status": status, "lastLogin": last_login, "profile": profile }),
    )
}

/// A group (`GET /api/v1/groups`).
pub fn group(id: &str, name: &str) -> Value {
    let mut profile = template("groups")["profile"].clone();
    profile["name"] = json!(name);
    with(&template("groups"), json!({ "id": id, "profile": profile }))
}

/// An app (`GET /api/v1/apps`).
pub fn app(id: &str, label: &str) -> Value {
    with(
        &template("apps"),
        json!({ "id": id, "label": label, "status": "ACTIVE" }),
    )
}

/// An app user (`GET /api/v1/apps/{id}/users`): the assignment of user `user_id`.
pub fn app_user(user_id: &str) -> Value {
    with(
        &template("app-users"),
        json!({ "id": user_id, "status": "PROVISIONED" }),
    )
}

/// A role assignee (`GET /api/v1/iam/assignees/users`).
pub fn assignee(user_id: &str) -> Value {
    with(&template("role-assignees"), json!({ "id": user_id }))
}

/// A standard admin role (`GET /api/v1/users/{id}/roles`; also what a test serves at
/// `GET /api/v1/groups/{id}/roles`, whose answer is the same `Role` schema in Okta's description).
pub fn role(id: &str, kind: &str, label: &str) -> Value {
    with(
        &template("user-roles"),
        json!({ "id": id, "type": kind, "label": label }),
    )
}

/// An API token's metadata (`GET /api/v1/api-tokens`), owned by `user_id`.
pub fn api_token(id: &str, name: &str, user_id: &str, created: &str, expires_at: &str) -> Value {
    with(
        &template("api-tokens"),
        json!({ "id": id, "name": name, "userId": user_id, "created": created, "expiresAt": expires_at }),
    )
}
