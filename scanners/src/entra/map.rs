//! Graph objects → observations: a user is an account (named by its UPN), an owned application
//! or service principal is a non-human account whose owners are named in `owners`, its client
//! secrets and certificates are credentials (ids, hints and dates only), and group memberships,
//! app role assignments and directory roles are grants.

use super::payload::{App, AppRoleAssignment, KeyCredential, PasswordCredential, User};
use crate::code_host::attrs;
use crate::coverage::IDP_LISTING_ATTRIBUTE;
use crate::idp::time;
use crate::{Account, AccountKind, Credential, CredentialKind, Grant, GrantKind, IdentityHints};
use chrono::{DateTime, Utc};

/// The attribute a user account carries with `signInSessionsValidFromDateTime`: sessions and
/// refresh tokens issued before it are revoked.
pub const SESSIONS_VALID_FROM: &str = "sessions_valid_from";

/// The attribute a non-human account carries with the UPNs of its owners, comma-separated.
pub const OWNERS: &str = "owners";

pub(super) fn user_account(u: &User) -> Account {
    let last = u.sign_in_activity.as_ref().and_then(|s| {
        let a = time(s.last_sign_in_date_time.as_deref());
        let b = time(s.last_non_interactive_sign_in_date_time.as_deref());
        a.max(b)
    });
    let mut attributes = attrs([
        ("id", u.id.clone()),
        ("display_name", u.display_name.clone().unwrap_or_default()),
        (
            "on_premises_immutable_id",
            u.on_premises_immutable_id.clone().unwrap_or_default(),
        ),
        (
            SESSIONS_VALID_FROM,
            u.sign_in_sessions_valid_from_date_time
                .clone()
                .unwrap_or_default(),
        ),
    ]);
    attributes.insert(IDP_LISTING_ATTRIBUTE.into(), "users".into());
    Account {
        name: u.user_principal_name.clone(),
        kind: AccountKind::User,
        enabled: u.account_enabled,
        created_at: time(u.created_date_time.as_deref()),
        last_used_at: last,
        hints: IdentityHints {
            emails: u.mail.iter().filter(|m| !m.is_empty()).cloned().collect(),
            employee_id: u.employee_id.clone().filter(|e| !e.trim().is_empty()),
            owner: None,
            created_by: None,
        },
        attributes,
    }
}

/// An application or service principal that has at least one user owner, with its credentials.
/// `listing` is `applications` or `service-principals`. Apps without a user owner are not
/// observed: nobody's departure makes their secrets residual.
pub(super) fn owned_app(
    app: &App,
    listing: &str,
    now: DateTime<Utc>,
) -> Option<(Account, Vec<Credential>)> {
    let owners = user_owners(app);
    if owners.is_empty() {
        return None;
    }
    let account = app_account(app, listing, &owners);
    let mut creds: Vec<Credential> = app
        .password_credentials
        .iter()
        .map(|p| client_secret(&account.name, p, listing, now))
        .collect();
    creds.extend(
        app.key_credentials
            .iter()
            .map(|k| certificate(&account.name, k, listing, now)),
    );
    Some((account, creds))
}

/// The UPNs of the owners that are users (not service principals).
fn user_owners(app: &App) -> Vec<&str> {
    app.owners
        .iter()
        .filter(|o| {
            o.odata_type
                .as_deref()
                .is_none_or(|t| t == "#microsoft.graph.user")
        })
        .filter_map(|o| o.user_principal_name.as_deref())
        .collect()
}

/// The app as a non-human account named `application/<appId>` or `service-principal/<appId>`,
/// its owners in [`OWNERS`].
fn app_account(app: &App, listing: &str, owners: &[&str]) -> Account {
    let prefix = if listing == "applications" {
        "application"
    } else {
        "service-principal"
    };
    let name = format!("{prefix}/{}", app.app_id.as_deref().unwrap_or(&app.id));
    let mut attributes = attrs([
        ("id", app.id.clone()),
        ("display_name", app.display_name.clone().unwrap_or_default()),
        (OWNERS, owners.join(",")),
        (IDP_LISTING_ATTRIBUTE, listing.to_string()),
    ]);
    if let Some(app_id) = &app.app_id {
        attributes.insert("app_id".into(), app_id.clone());
    }
    Account {
        name,
        kind: AccountKind::App,
        enabled: app.account_enabled.or(Some(true)),
        created_at: time(app.created_date_time.as_deref()),
        last_used_at: None,
        hints: IdentityHints {
            owner: owners.first().map(|o| o.to_string()),
            ..IdentityHints::default()
        },
        attributes,
    }
}

/// A client secret's metadata as a credential of `account`: active until it ends.
fn client_secret(
    account: &str,
    p: &PasswordCredential,
    listing: &str,
    now: DateTime<Utc>,
) -> Credential {
    let end = time(p.end_date_time.as_deref());
    Credential {
        account: account.to_string(),
        kind: CredentialKind::ServiceCredential,
        id: p.key_id.clone(),
        active: end.is_none_or(|e| e > now),
        created_at: time(p.start_date_time.as_deref()),
        last_used_at: None,
        hints: IdentityHints::default(),
        attributes: attrs([
            ("type", "client-secret".to_string()),
            ("hint", p.hint.clone().unwrap_or_default()),
            ("display_name", p.display_name.clone().unwrap_or_default()),
            ("expires_at", p.end_date_time.clone().unwrap_or_default()),
            (IDP_LISTING_ATTRIBUTE, listing.to_string()),
        ]),
        facets: Default::default(),
    }
}

/// A certificate credential's metadata as a credential of `account`: active until it ends.
fn certificate(account: &str, k: &KeyCredential, listing: &str, now: DateTime<Utc>) -> Credential {
    let end = time(k.end_date_time.as_deref());
    Credential {
        account: account.to_string(),
        kind: CredentialKind::SigningCertificate,
        id: k.key_id.clone(),
        active: end.is_none_or(|e| e > now),
        created_at: time(k.start_date_time.as_deref()),
        last_used_at: None,
        hints: IdentityHints::default(),
        attributes: attrs([
            (
                "type",
                k.kind.clone().unwrap_or_else(|| "certificate".into()),
            ),
            ("usage", k.usage.clone().unwrap_or_default()),
            ("display_name", k.display_name.clone().unwrap_or_default()),
            ("expires_at", k.end_date_time.clone().unwrap_or_default()),
            (IDP_LISTING_ATTRIBUTE, listing.to_string()),
        ]),
        facets: Default::default(),
    }
}

/// A group membership (transitive) of the user `upn`.
pub(super) fn group_grant(upn: &str, group_id: &str, group_name: &str) -> Grant {
    Grant {
        account: upn.to_string(),
        kind: GrantKind::Group,
        target: group_name.to_string(),
        attributes: attrs([("group_id", group_id.to_string())]),
        facets: Default::default(),
    }
}

/// A directory role held by the user `upn`.
pub(super) fn role_grant(upn: &str, role_id: &str, role_name: &str) -> Grant {
    Grant {
        account: upn.to_string(),
        kind: GrantKind::AdminRole,
        target: role_name.to_string(),
        attributes: attrs([("role_id", role_id.to_string())]),
        facets: Default::default(),
    }
}

/// An app role assignment of the user `upn` to a service principal's application.
pub(super) fn assignment_grant(upn: &str, sp_name: &str, a: &AppRoleAssignment) -> Grant {
    Grant {
        account: upn.to_string(),
        kind: GrantKind::AppAssignment,
        target: a
            .resource_display_name
            .clone()
            .unwrap_or_else(|| sp_name.to_string()),
        attributes: attrs([
            ("assignment_id", a.id.clone()),
            ("app_role_id", a.app_role_id.clone().unwrap_or_default()),
            (
                "assigned_at",
                a.created_date_time.clone().unwrap_or_default(),
            ),
        ]),
        facets: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entra::payload::{App, DirectoryObject, PasswordCredential};

    fn owner(upn: &str, kind: &str) -> DirectoryObject {
        DirectoryObject {
            id: format!("id-{upn}"),
            odata_type: Some(kind.to_string()),
            user_principal_name: Some(upn.to_string()),
        }
    }

    fn secret(id: &str, end: &str) -> PasswordCredential {
        PasswordCredential {
            key_id: id.into(),
            display_name: None,
            hint: Some("abc".into()),
            start_date_time: Some("2025-01-01T00:00:00Z".into()),
            end_date_time: Some(end.into()),
        }
    }

    fn app(owners: Vec<DirectoryObject>) -> App {
        App {
            id: "obj-1".into(),
            app_id: Some("app-1".into()),
            display_name: Some("Payroll".into()),
            account_enabled: None,
            created_date_time: None,
            password_credentials: vec![
                secret("live", "2099-01-01T00:00:00Z"),
                secret("expired", "2025-06-01T00:00:00Z"),
            ],
            key_credentials: vec![],
            owners,
        }
    }

    fn now() -> DateTime<Utc> {
        crate::time::parse_time("2026-06-01").unwrap_or_default()
    }

    #[test]
    fn an_app_without_a_user_owner_is_not_observed() {
        let sp_owner = owner("robot", "#microsoft.graph.servicePrincipal");
        assert!(owned_app(&app(vec![]), "applications", now()).is_none());
        assert!(owned_app(&app(vec![sp_owner]), "applications", now()).is_none());
    }

    #[test]
    fn an_owned_apps_secrets_are_active_until_they_end_and_carry_no_value() {
        let owners = vec![
            owner("ann@contoso.com", "#microsoft.graph.user"),
            owner("ben@contoso.com", "#microsoft.graph.user"),
        ];
        let (account, creds) = owned_app(&app(owners), "applications", now()).expect("owned");
        assert_eq!(account.name, "application/app-1");
        assert_eq!(
            account.attributes[OWNERS],
            "ann@contoso.com,ben@contoso.com"
        );
        assert_eq!(account.attributes[IDP_LISTING_ATTRIBUTE], "applications");
        let active: Vec<(&str, bool)> = creds.iter().map(|c| (c.id.as_str(), c.active)).collect();
        assert_eq!(active, [("live", true), ("expired", false)]);
        assert!(creds.iter().all(|c| c.attributes["hint"] == "abc"));
    }
}
