//! The IAM Identity Center (`aws-sso:*` systems) part of evaluation: how its users link to people,
//! and the leaver rules `leaver-sso-user-active` (one finding per enabled user) and
//! `leaver-sso-assignment` (one per account × permission set the user reaches, with its paths).
//! Movers and owners of permission sets go through the common rules (`mover-residual-entitlement`
//! by permission set name, `leaver-owned-nhi` by owner tag).

use super::{account_evidence, grant_subject, person_evidence, Ctx};
use crate::link::{Link, PeopleIndex};
use crate::person::Person;
use crate::rule_id::RuleId;
use residual_scanners::coverage;
use residual_scanners::{Account, AccountKind, Grant, GrantKind};
use serde_json::json;

/// Whether a system kind is Identity Center's.
pub(super) fn is_sso(system_kind: &str) -> bool {
    system_kind == residual_scanners::aws_sso::SCANNER
}

/// A user links by email, user name, then external id ([`PeopleIndex::link_sso_user`]); a
/// permission set is nobody's account (its owner tag is an owner hint).
pub(super) fn link(people: &PeopleIndex, a: &Account, by_local_part: bool) -> Option<Link> {
    (a.kind == AccountKind::User)
        .then(|| people.link_sso_user(a, by_local_part))
        .flatten()
}

/// A leaver's user that is not disabled, and each account × permission set it reaches. A
/// disabled user's assignments are not raised: nobody can sign in to use them (the user finding
/// is gone too, so re-enabling the user raises them again).
pub(super) fn leaver_rules(
    ctx: &mut Ctx,
    a: &Account,
    held: &[&Grant],
    person: &Person,
    link: &Link,
) {
    if a.kind != AccountKind::User || a.enabled == Some(false) {
        return;
    }
    let who = person_evidence(person, link, ctx.now);
    let groups: Vec<&str> = held
        .iter()
        .filter(|g| g.kind == GrantKind::Group)
        .map(|g| g.target.as_str())
        .collect();
    let evidence = json!({ "person": who, "account": account_evidence(a), "groups": groups });
    ctx.raise(
        RuleId::LeaverSsoUserActive,
        coverage::account_unit(ctx.system, a),
        &a.name,
        a.name.clone(),
        Some(person),
        Some(true),
        evidence,
    );
    for g in held.iter().filter(|g| g.kind == GrantKind::Assignment) {
        let attr = |k: &str| g.attributes.get(k).map(String::as_str);
        let evidence = json!({
            "person": who,
            "account": a.name,
            "aws_account": { "id": attr("account_id"), "name": attr("account_name") },
            "permission_set": { "name": attr("permission_set"), "arn": attr("permission_set_arn") },
            "admin_like": attr("admin_like").map(|v| v == "true"),
            "path": attr("path"),
        });
        ctx.raise(
            RuleId::LeaverSsoAssignment,
            coverage::grant_unit(ctx.system, g),
            &a.name,
            grant_subject(g),
            Some(person),
            Some(true),
            evidence,
        );
    }
}
