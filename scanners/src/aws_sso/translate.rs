//! An Identity Center [`Directory`] as observations, without I/O.
//!
//! * user → [`Account`] (kind user) named by its user name, with its emails as hints and its
//!   external ids (the IdP's SCIM ids) as the `external_ids` attribute (`issuer:id`, comma-joined);
//! * group membership → [`GrantKind::Group`] grant (target = group display name);
//! * a user's effective access → one [`GrantKind::Assignment`] grant per account × permission set
//!   the user can reach (target `ACCOUNT_ID/PERMISSION_SET_NAME`), however many ways: its `path`
//!   attribute lists them (`direct`, `group:NAME`, …), so that a finding is one per thing to
//!   remove and its evidence says where to remove it;
//! * permission set → [`Account`] (kind role) named `permission-set/NAME`, its owner tag as the
//!   owner hint (a non-human identity someone is accountable for).
//!
//! Assignments to groups are expanded through the memberships read: the number of grants grows
//! with users × their assignments, never with users × accounts.

use super::directory::{Directory, PermissionSet, Principal, User};
use crate::aws_iam::TagKeys;
use crate::{Account, AccountKind, Grant, GrantKind, IdentityHints, Observations};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The prefix of a permission set's account name.
pub const PERMISSION_SET_PREFIX: &str = "permission-set/";

/// Everything the directory says, as observations (sorted: runs compare stably).
pub(super) fn observations(dir: &Directory, keys: &TagKeys) -> Observations {
    let mut obs = Observations::default();
    let users: HashMap<&str, &User> = dir.users.iter().map(|u| (u.id.as_str(), u)).collect();
    for u in &dir.users {
        obs.accounts.push(user_account(u, &dir.identity_store_id));
    }
    for ps in &dir.permission_sets {
        obs.accounts.push(permission_set_account(ps, keys));
    }
    obs.grants.extend(group_grants(dir, &users));
    obs.grants.extend(assignment_grants(dir, &users));
    sort(&mut obs);
    obs
}

/// One group grant per (member, group).
fn group_grants(dir: &Directory, users: &HashMap<&str, &User>) -> Vec<Grant> {
    let mut grants = Vec::new();
    for g in &dir.groups {
        for member in dir.memberships.get(&g.id).into_iter().flatten() {
            let Some(u) = users.get(member.as_str()) else {
                continue;
            };
            let mut attributes = BTreeMap::new();
            attributes.insert("group_id".to_string(), g.id.clone());
            grants.push(Grant {
                account: u.name().to_string(),
                kind: GrantKind::Group,
                target: g.name().to_string(),
                attributes,
                facets: Default::default(),
            });
        }
    }
    grants
}

/// (user id, account id, permission set arn) → the paths that reach it (`direct`,
/// `group:NAME`).
fn reach<'d>(
    dir: &'d Directory,
    users: &HashMap<&str, &'d User>,
) -> BTreeMap<(&'d str, &'d str, &'d str), BTreeSet<String>> {
    let group_names: HashMap<&str, &str> = dir
        .groups
        .iter()
        .map(|g| (g.id.as_str(), g.name()))
        .collect();
    let mut reach: BTreeMap<(&str, &str, &str), BTreeSet<String>> = BTreeMap::new();
    for a in &dir.assignments {
        let ps = a.permission_set_arn.as_str();
        match &a.principal {
            Principal::User(id) => {
                if let Some(u) = users.get(id.as_str()) {
                    reach
                        .entry((u.id.as_str(), a.account_id.as_str(), ps))
                        .or_default()
                        .insert("direct".into());
                }
            }
            Principal::Group(gid) => {
                let name = group_names.get(gid.as_str()).copied().unwrap_or(gid);
                for member in dir.memberships.get(gid).into_iter().flatten() {
                    if let Some(u) = users.get(member.as_str()) {
                        reach
                            .entry((u.id.as_str(), a.account_id.as_str(), ps))
                            .or_default()
                            .insert(format!("group:{name}"));
                    }
                }
            }
        }
    }
    reach
}

/// One assignment grant per (user, account, permission set), with every path that reaches it.
fn assignment_grants(dir: &Directory, users: &HashMap<&str, &User>) -> Vec<Grant> {
    let sets: HashMap<&str, &PermissionSet> = dir
        .permission_sets
        .iter()
        .map(|p| (p.arn.as_str(), p))
        .collect();
    let account_names: HashMap<&str, Option<&str>> = dir
        .accounts
        .iter()
        .map(|(id, name)| (id.as_str(), name.as_deref()))
        .collect();
    let mut grants = Vec::new();
    for ((user_id, account_id, ps_arn), paths) in reach(dir, users) {
        let Some(u) = users.get(user_id) else {
            continue;
        };
        let ps = sets.get(ps_arn).copied();
        let ps_name = ps.map_or(ps_arn, |p| p.name.as_str());
        let mut attributes = BTreeMap::new();
        attributes.insert("account_id".to_string(), account_id.to_string());
        if let Some(Some(name)) = account_names.get(account_id) {
            attributes.insert("account_name".into(), name.to_string());
        }
        attributes.insert("permission_set".into(), ps_name.to_string());
        attributes.insert("permission_set_arn".into(), ps_arn.to_string());
        attributes.insert(
            "path".into(),
            paths.into_iter().collect::<Vec<_>>().join(", "),
        );
        if let Some(ps) = ps {
            attributes.insert("admin_like".into(), is_admin_like(ps).to_string());
        }
        grants.push(Grant {
            account: u.name().to_string(),
            kind: GrantKind::Assignment,
            target: format!("{account_id}/{ps_name}"),
            attributes,
            facets: Default::default(),
        });
    }
    grants
}

fn user_account(u: &User, identity_store_id: &str) -> Account {
    let mut attributes = BTreeMap::new();
    attributes.insert("user_id".to_string(), u.id.clone());
    attributes.insert("identity_store_id".into(), identity_store_id.to_string());
    if let Some(d) = &u.display_name {
        attributes.insert("display_name".into(), d.clone());
    }
    if !u.external_ids.is_empty() {
        let ids: Vec<String> = u
            .external_ids
            .iter()
            .map(|(issuer, id)| format!("{issuer}:{id}"))
            .collect();
        attributes.insert("external_ids".into(), ids.join(","));
    }
    Account {
        name: u.name().to_string(),
        kind: AccountKind::User,
        enabled: u.enabled,
        created_at: u.created_at,
        last_used_at: None,
        hints: IdentityHints {
            emails: u.emails.clone(),
            ..IdentityHints::default()
        },
        attributes,
    }
}

fn permission_set_account(ps: &PermissionSet, keys: &TagKeys) -> Account {
    let tag = |wanted: &[String]| {
        wanted.iter().find_map(|k| {
            ps.tags
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty())
        })
    };
    let mut attributes = BTreeMap::new();
    attributes.insert("arn".to_string(), ps.arn.clone());
    attributes.insert("admin_like".into(), is_admin_like(ps).to_string());
    if !ps.managed_policies.is_empty() {
        attributes.insert("managed_policies".into(), ps.managed_policies.join(","));
    }
    if !ps.customer_policies.is_empty() {
        attributes.insert("customer_policies".into(), ps.customer_policies.join(","));
    }
    if ps.inline_policy.is_some() {
        attributes.insert("inline_policy".into(), "true".into());
    }
    for (k, v) in &ps.tags {
        attributes.insert(format!("tag:{k}"), v.clone());
    }
    Account {
        name: format!("{PERMISSION_SET_PREFIX}{}", ps.name),
        kind: AccountKind::Role,
        enabled: Some(true),
        created_at: ps.created_at,
        last_used_at: None,
        hints: IdentityHints {
            owner: tag(&keys.owner),
            ..IdentityHints::default()
        },
        attributes,
    }
}

/// AWS managed policies that give (nearly) everything.
const ADMIN_POLICIES: [&str; 3] = ["AdministratorAccess", "PowerUserAccess", "IAMFullAccess"];

/// Whether a permission set gives (nearly) everything: an admin-like AWS managed policy, or an
/// inline statement that allows every action.
pub(super) fn is_admin_like(ps: &PermissionSet) -> bool {
    let managed = ps.managed_policies.iter().any(|arn| {
        let name = arn.rsplit('/').next().unwrap_or(arn);
        ADMIN_POLICIES.contains(&name)
    });
    managed || ps.inline_policy.as_deref().is_some_and(allows_everything)
}

/// Whether a policy document has an `Allow` statement whose `Action` is `*`.
fn allows_everything(document: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(document) else {
        return false;
    };
    let statements = match &doc["Statement"] {
        serde_json::Value::Array(v) => v.clone(),
        s @ serde_json::Value::Object(_) => vec![s.clone()],
        _ => return false,
    };
    statements.iter().any(|s| {
        let allow = s["Effect"].as_str() == Some("Allow");
        let star = |v: &serde_json::Value| v.as_str() == Some("*");
        let action = match &s["Action"] {
            serde_json::Value::Array(v) => v.iter().any(star),
            other => star(other),
        };
        allow && action
    })
}

fn sort(obs: &mut Observations) {
    obs.accounts.sort_by(|a, b| a.name.cmp(&b.name));
    obs.grants.sort_by(|a, b| {
        (a.account.as_str(), a.kind, a.target.as_str()).cmp(&(
            b.account.as_str(),
            b.kind,
            b.target.as_str(),
        ))
    });
}

#[cfg(test)]
mod tests {
    use super::super::directory::{Assignment, Group};
    use super::*;

    fn directory() -> Directory {
        let user = |id: &str, name: &str| User {
            id: id.into(),
            user_name: Some(name.into()),
            emails: vec![format!("{name}@example.com")],
            ..User::default()
        };
        let ps = |arn: &str, name: &str, managed: &[&str]| PermissionSet {
            arn: arn.into(),
            name: name.into(),
            managed_policies: managed.iter().map(|s| s.to_string()).collect(),
            tags: vec![("Owner".into(), "ann@example.com".into())],
            ..PermissionSet::default()
        };
        let assign = |acct: &str, ps: &str, p: Principal| Assignment {
            account_id: acct.into(),
            permission_set_arn: ps.into(),
            principal: p,
        };
        Directory {
            identity_store_id: "d-1".into(),
            users: vec![user("u1", "ann"), user("u2", "ben")],
            groups: vec![Group {
                id: "g1".into(),
                display_name: Some("Engineers".into()),
            }],
            memberships: HashMap::from([("g1".to_string(), vec!["u1".to_string()])]),
            permission_sets: vec![
                ps(
                    "ps-admin",
                    "Admin",
                    &["arn:aws:iam::aws:policy/AdministratorAccess"],
                ),
                ps(
                    "ps-ro",
                    "ReadOnly",
                    &["arn:aws:iam::aws:policy/ReadOnlyAccess"],
                ),
            ],
            accounts: vec![("111".into(), Some("prod".into())), ("222".into(), None)],
            assignments: vec![
                assign("111", "ps-admin", Principal::User("u1".into())),
                assign("222", "ps-ro", Principal::Group("g1".into())),
                assign("111", "ps-admin", Principal::Group("g1".into())),
            ],
        }
    }

    fn assignments(obs: &Observations) -> Vec<(&str, &str, &str)> {
        obs.grants
            .iter()
            .filter(|g| g.kind == GrantKind::Assignment)
            .map(|g| {
                (
                    g.account.as_str(),
                    g.target.as_str(),
                    g.attributes["path"].as_str(),
                )
            })
            .collect()
    }

    #[test]
    fn direct_and_group_assignments_are_one_grant_per_account_and_permission_set_with_every_path() {
        let obs = observations(&directory(), &TagKeys::default());
        assert_eq!(
            assignments(&obs),
            [
                ("ann", "111/Admin", "direct, group:Engineers"),
                ("ann", "222/ReadOnly", "group:Engineers"),
            ]
        );
        let admin = obs.grants.iter().find(|g| g.target == "111/Admin").unwrap();
        assert_eq!(admin.attributes["account_name"], "prod");
        assert_eq!(admin.attributes["admin_like"], "true");
    }

    #[test]
    fn a_member_of_no_assigned_group_reaches_nothing() {
        let obs = observations(&directory(), &TagKeys::default());
        assert!(!obs.grants.iter().any(|g| g.account == "ben"));
        assert!(obs.accounts.iter().any(|a| a.name == "ben"));
    }

    #[test]
    fn a_permission_set_is_a_role_whose_owner_tag_is_its_owner_hint() {
        let obs = observations(&directory(), &TagKeys::default());
        let ps = obs
            .accounts
            .iter()
            .find(|a| a.name == "permission-set/ReadOnly")
            .unwrap();
        assert_eq!(ps.kind, AccountKind::Role);
        assert_eq!(ps.hints.owner.as_deref(), Some("ann@example.com"));
        assert_eq!(ps.attributes["admin_like"], "false");
    }

    #[test]
    fn an_inline_policy_allowing_every_action_is_admin_like() {
        let mut ps = PermissionSet {
            inline_policy: Some(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
                    .into(),
            ),
            ..PermissionSet::default()
        };
        assert!(is_admin_like(&ps));
        ps.inline_policy =
            Some(r#"{"Statement":{"Effect":"Allow","Action":["s3:Get*"],"Resource":"*"}}"#.into());
        assert!(!is_admin_like(&ps));
    }
}
