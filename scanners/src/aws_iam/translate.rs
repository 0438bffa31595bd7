//! Translation of the bulk inventory into observations: IAM users into accounts with their tags
//! as identity hints, group memberships and policies into grants. Roles and their trust are in
//! [`super::roles`]; credentials come from the per-user phase.

use super::config::{AwsScanConfig, TagKeys};
use super::details::AuthDetails;
use super::report::ReportRow;
use super::roles;
use super::sweep::to_chrono;
use super::tags::{hints_from_tags, policy_grants, present_attributes, tag_attributes, tag_value};
use crate::{Account, AccountKind, Grant, GrantKind, Observations};
use aws_sdk_iam::types::{AttachedPolicy, GroupDetail, PolicyDetail, UserDetail};
use std::collections::{BTreeMap, HashMap};

/// Turns the bulk data into accounts and grants; a trust policy that cannot be read is an error
/// of the run (its role is still observed).
pub(super) fn translate_inventory(
    details: &AuthDetails,
    rows: &HashMap<String, ReportRow>,
    config: &AwsScanConfig,
    account_id: &str,
    obs: &mut Observations,
    errors: &mut Vec<String>,
) {
    let groups: HashMap<&str, &GroupDetail> = details
        .groups
        .iter()
        .filter_map(|g| g.group_name().map(|n| (n, g)))
        .collect();
    for u in &details.users {
        let Some(name) = u.user_name() else { continue };
        obs.accounts
            .push(user_account(u, name, rows.get(name), &config.tag_keys));
        for group_name in u.group_list() {
            obs.grants.push(group_grant(
                name,
                group_name,
                groups.get(group_name.as_str()),
            ));
        }
        policy_grants(
            name,
            u.attached_managed_policies(),
            u.user_policy_list(),
            &mut obs.grants,
        );
    }
    let users_by_id: HashMap<&str, &str> = details
        .users
        .iter()
        .filter_map(|u| Some((u.user_id()?, u.user_name()?)))
        .collect();
    let trusting = roles::Trusting {
        account_id,
        users_by_id: &users_by_id,
    };
    for r in &details.roles {
        roles::translate_role(r, &trusting, &config.tag_keys, obs, errors);
    }
}

/// An IAM user as an account: a service account when its kind tag says so.
fn user_account(u: &UserDetail, name: &str, row: Option<&ReportRow>, keys: &TagKeys) -> Account {
    let tags = u.tags();
    let kind = match tag_value(tags, &keys.kind).and_then(AccountKind::parse) {
        Some(AccountKind::User) | None => AccountKind::User,
        Some(_) => AccountKind::Service,
    };
    let mut attributes = present_attributes([
        ("arn", u.arn()),
        ("path", u.path()),
        ("user_id", u.user_id()),
    ]);
    if let Some(b) = u
        .permissions_boundary()
        .and_then(|b| b.permissions_boundary_arn())
    {
        attributes.insert("permissions_boundary".into(), b.to_string());
    }
    tag_attributes(tags, &mut attributes);
    Account {
        name: name.to_string(),
        kind,
        // IAM has no "disabled" state for a user: one that exists can sign in with any
        // credential it holds, and anyone allowed iam:CreateAccessKey can give it one. So an
        // existing user is always enabled; whether it can authenticate *now* is told by its
        // credentials, which are observed one by one (and rules look at those).
        enabled: Some(true),
        created_at: u.create_date().and_then(to_chrono),
        last_used_at: row.and_then(|r| r.password_last_used),
        hints: hints_from_tags(tags, keys),
        attributes,
    }
}

/// Membership of a group, with what the group grants as attributes.
fn group_grant(user: &str, group_name: &str, group: Option<&&GroupDetail>) -> Grant {
    let mut attributes = BTreeMap::new();
    if let Some(g) = group {
        if let Some(arn) = g.arn() {
            attributes.insert("group_arn".into(), arn.to_string());
        }
        if let Some(path) = g.path() {
            attributes.insert("group_path".into(), path.to_string());
        }
        let attached: Vec<&str> = g
            .attached_managed_policies()
            .iter()
            .filter_map(AttachedPolicy::policy_arn)
            .collect();
        if !attached.is_empty() {
            attributes.insert("attached_policies".into(), attached.join(","));
        }
        let inline: Vec<&str> = g
            .group_policy_list()
            .iter()
            .filter_map(PolicyDetail::policy_name)
            .collect();
        if !inline.is_empty() {
            attributes.insert("inline_policies".into(), inline.join(","));
        }
    }
    Grant {
        account: user.to_string(),
        kind: GrantKind::Group,
        target: group_name.to_string(),
        attributes,
        facets: Default::default(),
    }
}
