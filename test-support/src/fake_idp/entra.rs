//! Microsoft Graph objects for the fake, each built from the first item of a response example of
//! Graph's own documentation (`fixtures/entra`, extracted by `fixtures/entra/extract.py`) with
//! only the fields a test cares about set.

use crate::fake_host::{fixture, with};
use serde_json::{json, Value};

/// The first item of a fixture's `value` list, or the fixture itself when it is one object.
pub fn template(name: &str) -> Value {
    let v = fixture("entra", &format!("{name}.json"));
    match v.get("value").and_then(|l| l.get(0)) {
        Some(first) => first.clone(),
        None => v,
    }
}

/// A user (`GET /users`), from the documented user, with the fields the sweep selects.
#[allow(clippy::too_many_arguments)]
pub fn user(
    id: &str,
    upn: &str,
    mail: Option<&str>,
    enabled: bool,
    employee_id: Option<&str>,
    sessions_valid_from: &str,
    last_sign_in: Option<&str>,
) -> Value {
    with(
        &template("users"),
        json!({
            "id": id,
            "userPrincipalName": upn,
            "displayName": upn.split('@').next().unwrap_or(upn),
            "mail": mail,
            "accountEnabled": enabled,
            "employeeId": employee_id,
            "onPremisesImmutableId": null,
            "createdDateTime": "2024-01-10T09:00:00Z",
            "signInSessionsValidFromDateTime": sessions_valid_from,
            "signInActivity": {
                "lastSignInDateTime": last_sign_in,
                "lastNonInteractiveSignInDateTime": null
            }
        }),
    )
}

/// A member or owner (`directoryObject`) that is a user.
pub fn user_ref(id: &str, upn: &str) -> Value {
    json!({ "@odata.type": "#microsoft.graph.user", "id": id, "userPrincipalName": upn })
}

/// A group or directory role (`GET /groups`, `GET /directoryRoles`).
pub fn named(id: &str, name: &str) -> Value {
    with(
        &template("directory-roles"),
        json!({ "id": id, "displayName": name }),
    )
}

/// A client secret's metadata (from the documented `addPassword` answer, `secretText` removed
/// by the extraction), valid until `end`.
pub fn secret(key_id: &str, hint: &str, start: &str, end: &str) -> Value {
    with(
        &template("password-credential"),
        json!({ "keyId": key_id, "hint": hint, "startDateTime": start, "endDateTime": end }),
    )
}

/// An application or service principal with its owners and client secrets.
pub fn app(id: &str, app_id: &str, name: &str, owners: Vec<Value>, secrets: Vec<Value>) -> Value {
    with(
        &template("applications"),
        json!({
            "id": id,
            "appId": app_id,
            "displayName": name,
            "createdDateTime": "2025-06-01T12:00:00Z",
            "passwordCredentials": secrets,
            "keyCredentials": [],
            "owners": owners
        }),
    )
}

/// An app role assignment of user `principal_id` to the service principal `resource`.
pub fn assignment(id: &str, principal_id: &str, resource_id: &str, resource: &str) -> Value {
    with(
        &template("app-role-assigned-to"),
        json!({
            "id": id,
            "principalId": principal_id,
            "principalType": "User",
            "resourceId": resource_id,
            "resourceDisplayName": resource
        }),
    )
}
