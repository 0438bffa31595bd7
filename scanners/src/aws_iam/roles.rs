//! IAM roles as accounts (`role/<RoleName>`), and their trust policies: each principal as a
//! `trust:*` attribute of the role, and a [`GrantKind::RoleTrust`](crate::GrantKind::RoleTrust) grant for every IAM user of
//! this account that the policy lets assume the role.

use super::config::TagKeys;
use super::sweep::to_chrono;
use super::tags::{hints_from_tags, policy_grants, present_attributes, tag_attributes};
use super::trust::{parse_trust_policy, Trust, TrustedPrincipal};
use crate::{Account, AccountKind, Grant, GrantKind, Observations};
use aws_sdk_iam::types::RoleDetail;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The account name a role is observed under: `role/<RoleName>`. IAM user and role names are
/// separate namespaces, so the prefix keeps a role from colliding with a user of the same name.
pub(crate) fn role_account_name(role_name: &str) -> String {
    format!("role/{role_name}")
}

/// Who a trust policy can name that this account knows as a user.
pub(super) struct Trusting<'a> {
    /// The account's own id: only user principals of this account get grants.
    pub(super) account_id: &'a str,
    /// Unique id (`AIDA…`) → user name, for policies that name a user by id.
    pub(super) users_by_id: &'a HashMap<&'a str, &'a str>,
}

/// One role: its account, its policy grants and the role-trust grants of the users it trusts.
pub(super) fn translate_role(
    r: &RoleDetail,
    trusting: &Trusting<'_>,
    keys: &TagKeys,
    obs: &mut Observations,
    errors: &mut Vec<String>,
) {
    let Some(role_name) = r.role_name() else {
        return;
    };
    let account_name = role_account_name(role_name);
    let tags = r.tags();
    let mut attributes = present_attributes([
        ("arn", r.arn()),
        ("path", r.path()),
        ("role_id", r.role_id()),
    ]);
    if let Some(region) = r.role_last_used().and_then(|l| l.region()) {
        attributes.insert("last_used_region".into(), region.to_string());
    }
    tag_attributes(tags, &mut attributes);
    if let Some(doc) = r.assume_role_policy_document() {
        match parse_trust_policy(doc) {
            Ok(trusts) => {
                let role = TrustedRole {
                    name: role_name,
                    arn: r.arn().unwrap_or_default(),
                };
                let principals = trust_principals(&trusts, &role, trusting, &mut obs.grants);
                for (key, values) in principals {
                    attributes.insert(
                        key.to_string(),
                        values.into_iter().collect::<Vec<_>>().join(","),
                    );
                }
            }
            Err(e) => errors.push(format!("role {role_name}: {e}")),
        }
    }
    obs.accounts.push(Account {
        name: account_name.clone(),
        kind: AccountKind::Role,
        // A role cannot be disabled; see the user case in `translate`.
        enabled: Some(true),
        created_at: r.create_date().and_then(to_chrono),
        last_used_at: r
            .role_last_used()
            .and_then(|l| l.last_used_date())
            .and_then(to_chrono),
        hints: hints_from_tags(tags, keys),
        attributes,
    });
    policy_grants(
        &account_name,
        r.attached_managed_policies(),
        r.role_policy_list(),
        &mut obs.grants,
    );
}

/// The role a trust policy belongs to.
struct TrustedRole<'a> {
    name: &'a str,
    arn: &'a str,
}

/// The policy's principals by `trust:*` attribute; pushes a role-trust grant for each user of
/// this account among them.
fn trust_principals(
    trusts: &[Trust],
    role: &TrustedRole<'_>,
    trusting: &Trusting<'_>,
    grants: &mut Vec<Grant>,
) -> BTreeMap<&'static str, BTreeSet<String>> {
    let mut by_key: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    for t in trusts {
        let (key, value) = match &t.principal {
            TrustedPrincipal::User { account, name, arn } => {
                if account == trusting.account_id {
                    grants.push(role_trust_grant(name, arn, role, t.conditional));
                    ("trust:users", arn.clone())
                } else {
                    ("trust:external_users", arn.clone())
                }
            }
            TrustedPrincipal::AccountRoot { principal, .. } => {
                ("trust:account_roots", principal.clone())
            }
            TrustedPrincipal::OtherAws(p) => match trusting.users_by_id.get(p.as_str()) {
                // A unique id that still names a live user (rare): a grant too.
                Some(user) => {
                    grants.push(role_trust_grant(user, p, role, t.conditional));
                    ("trust:users", p.clone())
                }
                None => ("trust:other_principals", p.clone()),
            },
            TrustedPrincipal::Federated(p) => ("trust:federated", p.clone()),
            TrustedPrincipal::Service(p) => ("trust:services", p.clone()),
            TrustedPrincipal::Anyone => ("trust:anyone", "*".to_string()),
        };
        by_key.entry(key).or_default().insert(value);
    }
    by_key
}

fn role_trust_grant(
    user: &str,
    principal: &str,
    role: &TrustedRole<'_>,
    conditional: bool,
) -> Grant {
    let mut attributes = BTreeMap::new();
    attributes.insert("principal".into(), principal.to_string());
    attributes.insert("role_name".into(), role.name.to_string());
    attributes.insert("conditional".into(), conditional.to_string());
    Grant {
        account: user.to_string(),
        kind: GrantKind::RoleTrust,
        target: role.arn.to_string(),
        attributes,
        facets: Default::default(),
    }
}
