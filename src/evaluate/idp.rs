//! Identity-provider rules (`entra:<tenant>`, `okta:<org>`): a leaver's IdP account still
//! enabled, used after the departure, with sessions never revoked, still assigned to apps or
//! holding admin roles; and applications, service principals and API tokens owned by a leaver
//! that still hold a valid credential.
//!
//! These replace the generic per-account rules for these systems: an IdP account that is
//! enabled is `leaver-idp-account-enabled` (not `leaver-active-account`), and an owned NHI
//! matters only while one of its credentials is still valid (its secrets were known to the
//! leaver), with every owner considered, not only the first.

use super::{
    account_evidence, credential_evidence, grant_subject, login_used_after_departure, mover_rules,
    person_evidence, time, Ctx,
};
use crate::link::{Link, PeopleIndex};
use crate::person::Person;
use crate::rule_id::RuleId;
use chrono::{DateTime, Utc};
use residual_scanners::coverage;
use residual_scanners::entra::{OWNERS, SESSIONS_VALID_FROM};
use residual_scanners::time::parse_time;
use residual_scanners::{Account, AccountKind, Credential, Grant, GrantKind, Observations};
use serde_json::json;
use std::collections::HashMap;

/// The user accounts of one IdP run by name: an owner is named by a UPN or login, and is
/// linked the way its own account links (by the employee id or email the IdP gives for it),
/// which a UPN that differs from the HR email would not.
pub(super) struct Owners<'o> {
    by_name: HashMap<&'o str, &'o Account>,
    columns: Vec<String>,
}

impl<'o> Owners<'o> {
    pub(super) fn new(system: &str, obs: &'o Observations) -> Owners<'o> {
        Owners {
            by_name: obs
                .accounts
                .iter()
                .filter(|a| a.kind == AccountKind::User)
                .map(|a| (a.name.as_str(), a))
                .collect(),
            columns: PeopleIndex::columns_for(system),
        }
    }

    /// The person an owner name stands for, with a link of method `owner`.
    fn link<'p>(&self, people: &PeopleIndex<'p>, owner: &str) -> Option<(Link, &'p Person)> {
        let by_account = self
            .by_name
            .get(owner)
            .and_then(|a| people.link_account(&self.columns, a, false))
            .map(|l| Link {
                method: crate::link::LinkMethod::Owner,
                ..l
            });
        let link = by_account.or_else(|| people.link_owner(owner))?;
        let person = people.person(&link.employee_id)?;
        Some((link, person))
    }
}

/// Whether `system` is an identity provider's.
pub(super) fn is_idp(system: &str) -> bool {
    matches!(system.split(':').next(), Some("entra" | "okta"))
}

/// The rules of one IdP account: its own (a user linked to `holder`) or, for a non-human
/// account, those of its owners.
pub(super) fn account(
    ctx: &mut Ctx,
    people: &PeopleIndex,
    owners: &Owners,
    a: &Account,
    creds: &[&Credential],
    held: &[&Grant],
    holder: Option<&(Link, &Person)>,
) {
    if a.kind.is_non_human() {
        owned(ctx, people, owners, a, creds);
        return;
    }
    match holder {
        Some((link, person)) if person.is_leaver(ctx.now) => leaver(ctx, a, held, person, link),
        Some((link, person)) if person.is_mover(ctx.now) => mover_rules(ctx, a, held, person, link),
        Some(_) => {}
        None if a.enabled != Some(false) => {
            let evidence = json!({
                "account": account_evidence(a),
                "hints": a.hints,
                "reason": "no HR column, email, employee id or login links this account to a person",
            });
            ctx.raise(
                RuleId::OrphanAccount,
                coverage::account_unit(ctx.system, a),
                &a.name,
                a.name.clone(),
                None,
                a.enabled,
                evidence,
            );
        }
        None => {}
    }
}

fn leaver(ctx: &mut Ctx, a: &Account, held: &[&Grant], person: &Person, link: &Link) {
    let departed = person.departed_at();
    let who = person_evidence(person, link, ctx.now);
    let unit = coverage::account_unit(ctx.system, a);
    let used_after = matches!((a.last_used_at, departed), (Some(t), Some(d)) if t > d);
    if a.enabled != Some(false) {
        let evidence = json!({ "person": who, "account": account_evidence(a) });
        ctx.raise(
            RuleId::LeaverIdpAccountEnabled,
            unit.clone(),
            &a.name,
            a.name.clone(),
            Some(person),
            Some(true),
            evidence,
        );
    }
    if used_after {
        login_used_after_departure(ctx, a, person, &who, departed);
    }
    sessions(ctx, a, person, link, departed, used_after);
    for g in held {
        for &rule in grant_rules(ctx.system, g.kind) {
            let evidence = json!({
                "person": who,
                "account": a.name,
                "grant": { "kind": g.kind.as_str(), "target": g.target, "attributes": g.attributes },
            });
            ctx.raise(
                rule,
                coverage::grant_unit(ctx.system, g),
                &a.name,
                grant_subject(g),
                Some(person),
                Some(true),
                evidence,
            );
        }
    }
}

/// The rules a leaver's grant raises. An app assignment is `leaver-idp-app-access`; an Okta
/// admin role is `leaver-admin-role`. An Entra directory role is both: issue 17 names it under
/// `leaver-idp-app-access` (what the leaver's account still reaches, the list an access review
/// of the tenant reads), and it is also `leaver-admin-role` (critical), because whoever holds it
/// can re-enable the account and undo the deprovisioning, exactly as with an Okta admin role; one
/// removal resolves both, since they share the grant's coverage unit.
fn grant_rules(system: &str, kind: GrantKind) -> &'static [RuleId] {
    let entra = system.starts_with("entra:");
    match kind {
        GrantKind::AppAssignment => &[RuleId::LeaverIdpAppAccess],
        GrantKind::AdminRole if entra => &[RuleId::LeaverIdpAppAccess, RuleId::LeaverAdminRole],
        GrantKind::AdminRole => &[RuleId::LeaverAdminRole],
        _ => &[],
    }
}

/// `leaver-idp-sessions-not-revoked`: Entra sessions valid from before the departure, on an
/// account that is still enabled or that signed in after the departure.
fn sessions(
    ctx: &mut Ctx,
    a: &Account,
    person: &Person,
    link: &Link,
    departed: Option<DateTime<Utc>>,
    used_after: bool,
) {
    let Some(departed) = departed else {
        return;
    };
    // Only Entra tells when sessions were last revoked; without the field nothing is known.
    let Some(valid_from) = a.attributes.get(SESSIONS_VALID_FROM) else {
        return;
    };
    let Ok(valid_from) = parse_time(valid_from) else {
        return;
    };
    if valid_from >= departed || (a.enabled == Some(false) && !used_after) {
        return;
    }
    let evidence = json!({
        "person": person_evidence(person, link, ctx.now),
        "account": account_evidence(a),
        "sessions_valid_from": time(Some(valid_from)),
        "departed_at": time(Some(departed)),
        "note": "sessions and refresh tokens issued before the departure are still accepted",
    });
    ctx.raise(
        RuleId::LeaverIdpSessionsNotRevoked,
        coverage::account_unit(ctx.system, a),
        &a.name,
        format!("{}/sessions", a.name),
        Some(person),
        a.enabled.or(Some(true)),
        evidence,
    );
}

/// `leaver-owned-nhi` for an application, service principal or API token: one finding per
/// owner who is a leaver, while the identity is enabled and holds a credential still valid.
fn owned(ctx: &mut Ctx, people: &PeopleIndex, known: &Owners, a: &Account, creds: &[&Credential]) {
    if a.enabled == Some(false) || a.kind == AccountKind::Role {
        return;
    }
    let valid: Vec<&&Credential> = creds.iter().filter(|c| c.active).collect();
    if valid.is_empty() {
        return;
    }
    let owners: Vec<String> = match a.attributes.get(OWNERS) {
        Some(list) => list.split(',').map(str::trim).map(str::to_string).collect(),
        None => a.hints.owner.iter().cloned().collect(),
    };
    for owner in owners.iter().filter(|o| !o.is_empty()) {
        let Some((link, person)) = known.link(people, owner) else {
            continue;
        };
        if !person.is_leaver(ctx.now) {
            continue;
        }
        let evidence = json!({
            "owner": person_evidence(person, &link, ctx.now),
            "owner_account": owner,
            "account": account_evidence(a),
            "credentials_to_rotate": valid.iter().map(|c| credential_evidence(c)).collect::<Vec<_>>(),
            "note": "every credential of this identity that is still valid was known to its owner and needs rotation",
        });
        let subject = if owners.len() > 1 {
            format!("{}/owner/{owner}", a.name)
        } else {
            a.name.clone()
        };
        ctx.raise(
            RuleId::LeaverOwnedNhi,
            coverage::account_unit(ctx.system, a),
            &a.name,
            subject,
            Some(person),
            Some(true),
            evidence,
        );
    }
}
