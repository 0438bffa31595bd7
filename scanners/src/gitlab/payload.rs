//! GitLab API payloads, as far as the sweep reads them: groups, projects, members and CI/CD
//! variables. Unknown fields are ignored; fields GitLab may omit are optional.

use serde::Deserialize;
use serde_json::Value;

/// `GET /groups/:id` and the items of `descendant_groups`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Group {
    pub(super) id: u64,
    pub(super) full_path: String,
}

/// Items of `GET /groups/:id/projects`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Project {
    pub(super) id: u64,
    pub(super) path_with_namespace: String,
    #[serde(default)]
    pub(super) archived: Option<bool>,
}

/// Items of `GET /groups/:id/members`.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Member {
    pub(super) id: u64,
    pub(super) username: String,
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    pub(super) state: Option<String>,
    #[serde(default)]
    pub(super) created_at: Option<String>,
    #[serde(default)]
    pub(super) expires_at: Option<String>,
    pub(super) access_level: u32,
    #[serde(default)]
    pub(super) email: Option<String>,
    #[serde(default)]
    pub(super) public_email: Option<String>,
    #[serde(default)]
    pub(super) bot: Option<bool>,
    #[serde(default)]
    pub(super) membership_state: Option<String>,
    #[serde(default)]
    pub(super) created_by: Option<Creator>,
    #[serde(default)]
    pub(super) group_saml_identity: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct Creator {
    pub(super) username: String,
}

/// Items of the three variables lists.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct CiVariable {
    pub(super) key: String,
    #[serde(default)]
    pub(super) value: Value,
    #[serde(default)]
    pub(super) variable_type: Option<String>,
    #[serde(default)]
    pub(super) protected: Option<bool>,
    #[serde(default)]
    pub(super) masked: Option<bool>,
    #[serde(default)]
    pub(super) hidden: Option<bool>,
    #[serde(default)]
    pub(super) raw: Option<bool>,
    #[serde(default)]
    pub(super) environment_scope: Option<String>,
}
