//! The parts of GitHub's REST payloads the scanner reads, as lenient serde structs.
//!
//! Every field the scanner does not need is ignored, every field it reads is optional unless the
//! object is useless without it, and times are kept as strings until [`time`] parses them — the
//! published examples themselves carry `failed_at: ""`, collaborators without `permissions` and a
//! variable whose `value` is `true`, and the real API is no tidier.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// Parses an optional API time; empty or malformed means unknown.
pub(crate) fn time(s: &Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .and_then(|s| crate::time::parse_time(s).ok())
}

/// A non-empty string field, trimmed.
pub(crate) fn text(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// `simple-user`, and the user objects nested in other payloads.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct User {
    pub login: String,
    #[serde(default)]
    pub id: Option<u64>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub site_admin: Option<bool>,
    #[serde(default)]
    pub email: Option<String>,
}

/// `organization-invitation` (pending and failed invitations).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Invitation {
    pub id: u64,
    #[serde(default)]
    pub login: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub failed_at: Option<String>,
    #[serde(default)]
    pub failed_reason: Option<String>,
    #[serde(default)]
    pub inviter: Option<User>,
    #[serde(default)]
    pub invitation_source: Option<String>,
}

/// `installation` of a GitHub App on the org.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Installation {
    pub id: u64,
    #[serde(default)]
    pub app_id: Option<u64>,
    #[serde(default)]
    pub app_slug: Option<String>,
    #[serde(default)]
    pub target_type: Option<String>,
    #[serde(default)]
    pub repository_selection: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub suspended_at: Option<String>,
    #[serde(default)]
    pub suspended_by: Option<User>,
}

/// The parent of a nested team (`team-simple`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TeamRef {
    pub slug: String,
}

/// `team`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Team {
    pub slug: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub parent: Option<TeamRef>,
}

/// `repository.permissions` and `collaborator.permissions`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Permissions {
    #[serde(default)]
    pub admin: bool,
    #[serde(default)]
    pub maintain: bool,
    #[serde(default)]
    pub push: bool,
    #[serde(default)]
    pub triage: bool,
}

impl Permissions {
    /// The highest permission, in GitHub's role names.
    pub(crate) fn highest(&self) -> &'static str {
        if self.admin {
            "admin"
        } else if self.maintain {
            "maintain"
        } else if self.push {
            "write"
        } else if self.triage {
            "triage"
        } else {
            "read"
        }
    }
}

/// The permission of a role: `role_name` when given, else the highest of `permissions`.
pub(crate) fn permission(role_name: &Option<String>, permissions: &Option<Permissions>) -> String {
    match (text(role_name), permissions) {
        (Some(r), _) => r.to_string(),
        (None, Some(p)) => p.highest().to_string(),
        (None, None) => "unknown".to_string(),
    }
}

/// `minimal-repository`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Repository {
    pub name: String,
    pub full_name: String,
    #[serde(default)]
    pub permissions: Option<Permissions>,
    #[serde(default)]
    pub role_name: Option<String>,
}

/// `collaborator`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Collaborator {
    pub login: String,
    #[serde(default)]
    pub permissions: Option<Permissions>,
    #[serde(default)]
    pub role_name: Option<String>,
}

/// `deploy-key`. The public key itself is not kept.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DeployKey {
    pub id: u64,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub read_only: Option<bool>,
    #[serde(default)]
    pub added_by: Option<String>,
    #[serde(default)]
    pub last_used: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub verified: Option<bool>,
}

/// An Actions, Dependabot or Codespaces secret: a name and times, never a value.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Secret {
    pub name: String,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub visibility: Option<String>,
}

/// An Actions variable. `value` is readable; it is handed to the value matcher and dropped.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Variable {
    pub name: String,
    #[serde(default)]
    pub value: Value,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    #[serde(default)]
    pub visibility: Option<String>,
}

/// `environment`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Environment {
    pub name: String,
}

/// `organization-programmatic-access-grant`: a fine-grained PAT granted to the org.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PatGrant {
    pub id: u64,
    pub owner: User,
    #[serde(default)]
    pub token_id: Option<u64>,
    #[serde(default)]
    pub token_name: Option<String>,
    #[serde(default)]
    pub token_expired: Option<bool>,
    #[serde(default)]
    pub token_expires_at: Option<String>,
    #[serde(default)]
    pub token_last_used_at: Option<String>,
    #[serde(default)]
    pub access_granted_at: Option<String>,
    #[serde(default)]
    pub repository_selection: Option<String>,
}

/// `credential-authorization` (GHEC SAML SSO).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct CredentialAuthorization {
    pub login: String,
    pub credential_id: u64,
    #[serde(default)]
    pub credential_type: Option<String>,
    #[serde(default)]
    pub token_last_eight: Option<String>,
    #[serde(default)]
    pub credential_authorized_at: Option<String>,
    #[serde(default)]
    pub credential_accessed_at: Option<String>,
    #[serde(default)]
    pub authorized_credential_expires_at: Option<String>,
    #[serde(default)]
    pub authorized_credential_title: Option<String>,
    #[serde(default)]
    pub fingerprint: Option<String>,
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

/// `org-hook` / `hook`: only what identifies it; the config may hold a secret and is not read
/// beyond the target URL's host.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Hook {
    pub id: u64,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub events: Option<Vec<String>>,
    #[serde(default)]
    pub config: Option<HookConfig>,
}

/// The part of a hook's config that is not secret.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct HookConfig {
    #[serde(default)]
    pub url: Option<String>,
}

/// `content-file` of the contents API.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ContentFile {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub encoding: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_bad_times_are_unknown() {
        assert_eq!(time(&Some(String::new())), None);
        assert_eq!(time(&Some("soon".into())), None);
        assert!(time(&Some("2016-11-30T06:46:10-08:00".into())).is_some());
    }

    #[test]
    fn permission_prefers_role_name_then_flags() {
        let p = Permissions {
            push: true,
            ..Permissions::default()
        };
        assert_eq!(permission(&None, &Some(p.clone())), "write");
        assert_eq!(permission(&Some("custom".into()), &Some(p)), "custom");
        assert_eq!(permission(&None, &None), "unknown");
    }

    #[test]
    fn the_examples_that_break_their_own_schema_still_decode() {
        let perm: serde_json::Value = serde_json::from_str(include_str!(
            "../../../fixtures/github/repo-collaborator-permission.json"
        ))
        .unwrap_or_default();
        let user: Collaborator = serde_json::from_value(perm["user"].clone())
            .unwrap_or_else(|e| panic!("collaborator without role_name: {e}"));
        assert_eq!(permission(&user.role_name, &user.permissions), "unknown");
        let teams: Vec<Team> =
            serde_json::from_str(include_str!("../../../fixtures/github/org-teams.json"))
                .unwrap_or_else(|e| panic!("team without type: {e}"));
        assert_eq!(teams[0].slug, "justice-league");
        let invitations: Vec<Invitation> = serde_json::from_str(include_str!(
            "../../../fixtures/github/org-invitations.json"
        ))
        .unwrap_or_else(|e| panic!("invitation with failed_at \"\": {e}"));
        assert_eq!(time(&invitations[0].failed_at), None);
    }
}
