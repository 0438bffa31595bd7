//! GitLab payloads → observations: members as accounts and group grants with their access level,
//! CI/CD variables as credentials (values shown to the matcher and dropped). No I/O.

use super::payload::{CiVariable, Member};
use crate::ci_variable::{variable_credentials, ReadableVariable, ValueMatcher};
use crate::code_host::attrs;
use crate::facets;
use crate::{Account, AccountKind, Credential, Grant, GrantKind, IdentityHints};
use serde_json::Value;

/// GitLab's name for an access level number.
pub(crate) fn access_level_name(level: u32) -> &'static str {
    match level {
        0 => "no_access",
        5 => "minimal_access",
        10 => "guest",
        15 => "planner",
        20 => "reporter",
        30 => "developer",
        40 => "maintainer",
        50 => "owner",
        _ => "custom",
    }
}

pub(super) fn member_account(m: &Member) -> Account {
    let mut emails = Vec::new();
    for e in [&m.email, &m.public_email].into_iter().flatten() {
        let e = e.trim();
        if !e.is_empty() && !emails.iter().any(|x: &String| x.eq_ignore_ascii_case(e)) {
            emails.push(e.to_string());
        }
    }
    let kind = if m.bot == Some(true)
        || (m.username.starts_with("project_") && m.username.contains("_bot"))
    {
        AccountKind::Service
    } else {
        AccountKind::User
    };
    let mut attributes = attrs([
        ("id", m.id.to_string()),
        ("name", m.name.clone().unwrap_or_default()),
        ("state", m.state.clone().unwrap_or_default()),
    ]);
    if let Some(uid) = m
        .group_saml_identity
        .as_ref()
        .and_then(|s| s.get("extern_uid"))
        .and_then(Value::as_str)
    {
        attributes.insert("saml_extern_uid".into(), uid.to_string());
    }
    Account {
        name: m.username.clone(),
        kind,
        enabled: m.state.as_deref().map(|s| s == "active"),
        created_at: None,
        last_used_at: None,
        hints: IdentityHints {
            emails,
            ..IdentityHints::default()
        },
        attributes,
    }
}

pub(super) fn member_grant(m: &Member, group_path: &str) -> Grant {
    let mut attributes = attrs([
        ("access_level", m.access_level.to_string()),
        ("role", access_level_name(m.access_level).to_string()),
        (
            "membership_state",
            m.membership_state.clone().unwrap_or_default(),
        ),
        ("expires_at", m.expires_at.clone().unwrap_or_default()),
        (
            "added_by",
            m.created_by
                .as_ref()
                .map(|c| c.username.clone())
                .unwrap_or_default(),
        ),
    ]);
    if let Some(t) = m
        .created_at
        .as_deref()
        .and_then(|s| crate::time::parse_time(s).ok())
    {
        attributes.insert("created_at".into(), crate::time::format_time(&t));
    }
    Grant {
        account: m.username.clone(),
        kind: GrantKind::Group,
        target: group_path.to_string(),
        attributes,
        facets: Default::default(),
    }
}

pub(super) fn variable_observation(
    scope: &str,
    level: &str,
    v: &CiVariable,
    matcher: &dyn ValueMatcher,
) -> Vec<Credential> {
    let bool_attr = |b: Option<bool>| b.map(|b| b.to_string()).unwrap_or_default();
    let env = v.environment_scope.clone().unwrap_or_else(|| "*".into());
    let attributes = attrs([
        ("store", "gitlab-ci".into()),
        ("scope", scope.to_string()),
        ("level", level.to_string()),
        ("name", v.key.clone()),
        ("variable_type", v.variable_type.clone().unwrap_or_default()),
        ("protected", bool_attr(v.protected)),
        ("masked", bool_attr(v.masked)),
        ("hidden", bool_attr(v.hidden)),
        ("raw", bool_attr(v.raw)),
        ("environment_scope", env.clone()),
    ]);
    variable_credentials(
        ReadableVariable {
            account: scope.to_string(),
            id: format!("gitlab-variable:{scope}:{}:{env}", v.key),
            // Hidden variables come back with `value: null`.
            value: v.value.as_str(),
            created_at: None,
            attributes,
            variable: facets::CiVariable {
                store: "gitlab-ci".into(),
                scope: scope.to_string(),
                masked: v.masked,
                hidden: v.hidden,
                protected: v.protected,
                ..facets::CiVariable::default()
            },
        },
        matcher,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_access_levels() {
        assert_eq!(access_level_name(30), "developer");
        assert_eq!(access_level_name(50), "owner");
        assert_eq!(access_level_name(7), "custom");
    }
}
