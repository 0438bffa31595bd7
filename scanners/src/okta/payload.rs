//! Okta Management API payloads, as far as the sweep reads them. Unknown fields are ignored;
//! fields Okta may omit are optional. API token values are never part of any answer.

use serde::Deserialize;
use std::collections::BTreeMap;

/// Items of `GET /api/v1/users` and `GET /api/v1/groups/{id}/users`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct User {
    pub(super) id: String,
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) created: Option<String>,
    #[serde(default)]
    pub(super) last_login: Option<String>,
    #[serde(default)]
    pub(super) status_changed: Option<String>,
    #[serde(default)]
    pub(super) profile: Profile,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Profile {
    #[serde(default)]
    pub(super) login: Option<String>,
    #[serde(default)]
    pub(super) email: Option<String>,
    #[serde(default)]
    pub(super) second_email: Option<String>,
    #[serde(default)]
    pub(super) employee_number: Option<String>,
}

/// Items of `GET /api/v1/groups`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Group {
    pub(super) id: String,
    #[serde(default)]
    pub(super) profile: BTreeMap<String, serde_json::Value>,
}

/// Items of `GET /api/v1/apps`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct App {
    pub(super) id: String,
    #[serde(default)]
    pub(super) label: Option<String>,
    #[serde(default)]
    pub(super) status: Option<String>,
}

/// Items of `GET /api/v1/apps/{id}/users`: the id is the Okta user's.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AppUser {
    pub(super) id: String,
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) scope: Option<String>,
    #[serde(default)]
    pub(super) created: Option<String>,
}

/// Items of `GET /api/v1/iam/assignees/users`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Assignee {
    pub(super) id: String,
}

/// Items of `GET /api/v1/users/{id}/roles`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Role {
    pub(super) id: String,
    #[serde(default)]
    pub(super) label: Option<String>,
    #[serde(default, rename = "type")]
    pub(super) kind: Option<String>,
    #[serde(default)]
    pub(super) status: Option<String>,
}

/// Items of `GET /api/v1/api-tokens`: metadata only.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ApiToken {
    pub(super) id: String,
    #[serde(default)]
    pub(super) name: Option<String>,
    pub(super) user_id: String,
    #[serde(default)]
    pub(super) client_name: Option<String>,
    #[serde(default)]
    pub(super) created: Option<String>,
    #[serde(default)]
    pub(super) expires_at: Option<String>,
    #[serde(default)]
    pub(super) token_window: Option<String>,
}
