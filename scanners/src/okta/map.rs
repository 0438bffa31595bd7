//! Okta objects → observations: a user is an account (named by its login) that is enabled
//! unless SUSPENDED or DEPROVISIONED; an API token is a non-human account owned by the user who
//! created it, holding itself as its one credential; groups, app assignments and admin roles are
//! grants.

use super::payload::{ApiToken, AppUser, Role, User};
use crate::code_host::attrs;
use crate::coverage::IDP_LISTING_ATTRIBUTE;
use crate::idp::time;
use crate::{Account, AccountKind, Credential, CredentialKind, Grant, GrantKind, IdentityHints};
use chrono::{DateTime, Utc};

/// Okta user statuses in which the account can still sign in or be recovered into use.
/// `STAGED` users were never activated; `SUSPENDED` and `DEPROVISIONED` cannot sign in.
const ENABLED: &[&str] = &[
    "ACTIVE",
    "PROVISIONED",
    "RECOVERY",
    "LOCKED_OUT",
    "PASSWORD_EXPIRED",
];

/// Whether a user status is one in which the account is enabled.
pub(super) fn is_enabled(status: Option<&str>) -> Option<bool> {
    status.map(|s| ENABLED.contains(&s))
}

/// The account name of a user: its login, else its id.
pub(super) fn login(u: &User) -> String {
    u.profile.login.clone().unwrap_or_else(|| u.id.clone())
}

pub(super) fn user_account(u: &User) -> Account {
    let mut emails: Vec<String> = Vec::new();
    for e in [&u.profile.email, &u.profile.second_email]
        .into_iter()
        .flatten()
    {
        if !e.is_empty() && !emails.contains(e) {
            emails.push(e.clone());
        }
    }
    Account {
        name: login(u),
        kind: AccountKind::User,
        enabled: is_enabled(u.status.as_deref()),
        created_at: time(u.created.as_deref()),
        last_used_at: time(u.last_login.as_deref()),
        hints: IdentityHints {
            emails,
            employee_id: u
                .profile
                .employee_number
                .clone()
                .filter(|e| !e.trim().is_empty()),
            owner: None,
            created_by: None,
        },
        attributes: attrs([
            ("id", u.id.clone()),
            ("status", u.status.clone().unwrap_or_default()),
            (
                "status_changed",
                u.status_changed.clone().unwrap_or_default(),
            ),
            (IDP_LISTING_ATTRIBUTE, "users".to_string()),
        ]),
    }
}

/// An API token as a non-human account of its owner (`owner` is the owner's login), and the
/// token itself as its credential: active until it expires.
pub(super) fn api_token(t: &ApiToken, owner: &str, now: DateTime<Utc>) -> (Account, Credential) {
    let name = format!("api-token/{}", t.id);
    let expires = time(t.expires_at.as_deref());
    let active = expires.is_none_or(|e| e > now);
    let attributes = attrs([
        ("token_name", t.name.clone().unwrap_or_default()),
        ("client_name", t.client_name.clone().unwrap_or_default()),
        ("owner_id", t.user_id.clone()),
        ("expires_at", t.expires_at.clone().unwrap_or_default()),
        ("token_window", t.token_window.clone().unwrap_or_default()),
        (IDP_LISTING_ATTRIBUTE, "api-tokens".to_string()),
    ]);
    let account = Account {
        name: name.clone(),
        kind: AccountKind::Token,
        enabled: Some(active),
        created_at: time(t.created.as_deref()),
        last_used_at: None,
        hints: IdentityHints {
            owner: Some(owner.to_string()),
            created_by: Some(owner.to_string()),
            ..IdentityHints::default()
        },
        attributes: attributes.clone(),
    };
    let credential = Credential {
        account: name,
        kind: CredentialKind::Token,
        id: t.id.clone(),
        active,
        created_at: time(t.created.as_deref()),
        last_used_at: None,
        hints: IdentityHints::default(),
        attributes,
        facets: Default::default(),
    };
    (account, credential)
}

pub(super) fn group_grant(login: &str, group_id: &str, name: &str) -> Grant {
    Grant {
        account: login.to_string(),
        kind: GrantKind::Group,
        target: name.to_string(),
        attributes: attrs([("group_id", group_id.to_string())]),
        facets: Default::default(),
    }
}

pub(super) fn app_grant(login: &str, app_id: &str, label: &str, au: &AppUser) -> Grant {
    Grant {
        account: login.to_string(),
        kind: GrantKind::AppAssignment,
        target: label.to_string(),
        attributes: attrs([
            ("app_id", app_id.to_string()),
            ("status", au.status.clone().unwrap_or_default()),
            ("scope", au.scope.clone().unwrap_or_default()),
            ("assigned_at", au.created.clone().unwrap_or_default()),
        ]),
        facets: Default::default(),
    }
}

pub(super) fn role_grant(login: &str, r: &Role) -> Grant {
    Grant {
        account: login.to_string(),
        kind: GrantKind::AdminRole,
        target: r
            .kind
            .clone()
            .or_else(|| r.label.clone())
            .unwrap_or_else(|| r.id.clone()),
        attributes: attrs([
            ("role_id", r.id.clone()),
            ("label", r.label.clone().unwrap_or_default()),
            ("status", r.status.clone().unwrap_or_default()),
        ]),
        facets: Default::default(),
    }
}

/// An admin role granted to group `group`, held by its member `login`.
pub(super) fn group_role_grant(login: &str, r: &Role, group: &str) -> Grant {
    let mut g = role_grant(login, r);
    g.attributes.insert("via_group".into(), group.to_string());
    g
}
