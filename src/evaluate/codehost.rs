//! Code-host and CI rules: membership, outside collaborators, invitations and CODEOWNERS entries
//! of leavers (`github:<org>`, `gitlab:<group>`), shared CI secrets a leaver could read and that
//! were not changed since they left, CI variables holding a credential of a leaver, and
//! credentials attributed to a leaver by who created or owns them rather than by their account.
//!
//! Unlike the per-account rules in the parent module, these look at grants and credentials
//! directly: an invitation or a CODEOWNERS line names a login or an email that need not be a
//! listed account, and a shared secret is judged against the grants of everyone in the run.

use super::{
    account_evidence, credential_evidence, credential_rule, credential_subject, grant_subject,
    person_evidence, time, CredentialFacts, Ctx,
};
use crate::link::{Link, PeopleIndex};
use crate::person::Person;
use crate::rule_id::RuleId;
use chrono::{DateTime, Utc};
use residual_scanners::coverage;
use residual_scanners::{
    Account, Credential, CredentialKind, Grant, GrantKind, Observations, SystemId,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// GitHub permissions that can change a repository (and so read its secrets through a workflow).
const WRITE_PERMISSIONS: &[&str] = &["write", "push", "maintain", "admin"];

/// GitLab's developer access level: can run pipelines that read the group's variables.
const GITLAB_WRITE_LEVEL: u32 = 30;

/// Secret stores whose entries are secrets whatever their value.
const SECRET_STORES: &[&str] = &["actions", "dependabot", "codespaces"];

/// An account the scanner did not list as a member but only saw named by a credential, grant,
/// invitation or CODEOWNERS line: it is not an active account of the system.
pub(super) fn is_reference_only(a: &Account) -> bool {
    a.enabled.is_none()
        && matches!(
            a.attributes.get("membership").map(String::as_str),
            Some("none" | "invited")
        )
}

/// A pseudo-account (an org, repository or group holding secrets), not an identity.
pub(super) fn is_pseudo(a: &Account) -> bool {
    a.attributes.get("pseudo").map(String::as_str) == Some("true")
}

/// Account names → the person they link to, for listed and unlisted names alike.
struct Holders<'p, 'o> {
    people: &'p PeopleIndex<'p>,
    columns: Vec<String>,
    by_local_part: bool,
    obs: &'o Observations,
    /// Built on first use: most runs (inventory, IAM) never ask, and a million-account run
    /// should not pay for the map.
    listed: Option<HashMap<&'o str, &'o Account>>,
    cache: HashMap<String, Option<(Link, &'p Person)>>,
}

impl<'p, 'o> Holders<'p, 'o> {
    fn new(ctx: &Ctx, people: &'p PeopleIndex<'p>, obs: &'o Observations) -> Holders<'p, 'o> {
        let kind = ctx.system.split(':').next().unwrap_or(ctx.system);
        Holders {
            people,
            columns: PeopleIndex::columns_for(ctx.system),
            by_local_part: ctx.policy.local_part_systems.iter().any(|s| s == kind),
            obs,
            listed: None,
            cache: HashMap::new(),
        }
    }

    fn get(&mut self, name: &str) -> Option<(Link, &'p Person)> {
        if let Some(hit) = self.cache.get(name) {
            return hit.clone();
        }
        let obs = self.obs;
        let listed = self
            .listed
            .get_or_insert_with(|| obs.accounts.iter().map(|a| (a.name.as_str(), a)).collect());
        let found = match listed.get(name) {
            Some(a) => self
                .people
                .link_account(&self.columns, a, self.by_local_part),
            None => {
                // Named but not listed: a login, or an email (invitations, CODEOWNERS).
                let a = Account {
                    name: name.to_string(),
                    kind: residual_scanners::AccountKind::User,
                    enabled: None,
                    created_at: None,
                    last_used_at: None,
                    hints: residual_scanners::IdentityHints {
                        emails: if name.contains('@') {
                            vec![name.to_string()]
                        } else {
                            Vec::new()
                        },
                        ..Default::default()
                    },
                    attributes: BTreeMap::new(),
                };
                self.people
                    .link_account(&self.columns, &a, self.by_local_part)
            }
        }
        .and_then(|l| self.people.person(&l.employee_id).map(|p| (l, p)));
        self.cache.insert(name.to_string(), found.clone());
        found
    }

    fn is_listed(&mut self, name: &str) -> bool {
        let obs = self.obs;
        self.listed
            .get_or_insert_with(|| obs.accounts.iter().map(|a| (a.name.as_str(), a)).collect())
            .contains_key(name)
    }
}

/// Runs the code-host and CI rules over one run.
pub(super) fn evaluate(
    ctx: &mut Ctx,
    people: &PeopleIndex,
    obs: &Observations,
    facts: &CredentialFacts,
) {
    let mut holders = Holders::new(ctx, people, obs);
    membership(ctx, &mut holders, obs);
    shared_secrets(ctx, &mut holders, obs);
    credentials_in_ci(ctx, people, obs, facts);
    attributed_credentials(ctx, &mut holders, people, obs);
}

fn is_gitlab(system: &str) -> bool {
    SystemId::parse(system).kind == "gitlab"
}

/// `leaver-org-member`, `leaver-outside-collaborator`, `leaver-pending-invitation`,
/// `leaver-codeowner`.
fn membership(ctx: &mut Ctx, holders: &mut Holders, obs: &Observations) {
    let now = ctx.now;
    let members: BTreeSet<&str> = obs
        .grants
        .iter()
        .filter(|g| g.kind == GrantKind::OrgMember)
        .map(|g| g.account.as_str())
        .collect();
    let mut collaborating: BTreeSet<&str> = BTreeSet::new();
    for g in &obs.grants {
        let codeowner = g.facets.codeowner.is_some();
        let rule = match g.kind {
            GrantKind::OrgMember => RuleId::LeaverOrgMember,
            GrantKind::Group if is_gitlab(ctx.system) => RuleId::LeaverOrgMember,
            GrantKind::Invitation => {
                if g.attributes.get("state").map(String::as_str) == Some("failed") {
                    continue;
                }
                RuleId::LeaverPendingInvitation
            }
            GrantKind::Collaborator if codeowner => RuleId::LeaverCodeowner,
            GrantKind::Collaborator => {
                collaborating.insert(g.account.as_str());
                if members.contains(g.account.as_str()) {
                    // A member's direct access goes with the membership (leaver-org-member).
                    continue;
                }
                RuleId::LeaverOutsideCollaborator
            }
            _ => continue,
        };
        let mut holder = holders.get(&g.account);
        if holder.is_none() && g.kind == GrantKind::Invitation {
            holder = g
                .attributes
                .get("email")
                .and_then(|e| holders.people.link_email(&e.to_lowercase()))
                .and_then(|l| holders.people.person(&l.employee_id).map(|p| (l, p)));
        }
        let Some((link, person)) = holder else {
            continue;
        };
        if !person.is_leaver(now) {
            continue;
        }
        let evidence = json!({
            "person": person_evidence(person, &link, now),
            "account": g.account,
            "grant": { "kind": g.kind.as_str(), "target": g.target, "attributes": g.attributes },
        });
        ctx.raise(
            rule,
            coverage::grant_unit(ctx.system, g),
            &g.account,
            grant_subject(g),
            Some(person),
            Some(true),
            evidence,
        );
    }
    outside_collaborators(ctx, holders, obs, &members, &collaborating);
}

/// Outside collaborators GitHub lists without a direct collaborator grant we saw (access
/// through a team or a fork): the account itself is the finding.
fn outside_collaborators(
    ctx: &mut Ctx,
    holders: &mut Holders,
    obs: &Observations,
    members: &BTreeSet<&str>,
    collaborating: &BTreeSet<&str>,
) {
    let now = ctx.now;
    for a in &obs.accounts {
        let outside = a.attributes.get("outside_collaborator").map(String::as_str) == Some("true");
        if !outside || collaborating.contains(a.name.as_str()) || members.contains(a.name.as_str())
        {
            continue;
        }
        let Some((link, person)) = holders.get(&a.name) else {
            continue;
        };
        if !person.is_leaver(now) {
            continue;
        }
        let org = match SystemId::parse(ctx.system) {
            SystemId { scope: "", kind } => kind,
            SystemId { scope, .. } => scope,
        };
        let evidence = json!({
            "person": person_evidence(person, &link, now),
            "account": account_evidence(a),
        });
        ctx.raise(
            RuleId::LeaverOutsideCollaborator,
            coverage::account_unit(ctx.system, a),
            &a.name,
            format!("{}/outside-collaborator/{org}", a.name),
            Some(person),
            Some(true),
            evidence,
        );
    }
}

/// Where a leaver could read or change CI secrets, from the grants of this run.
#[derive(Default)]
struct Reach {
    /// Org owner (GitHub): every secret of the org.
    org_admin: bool,
    /// Repositories with write access or more (GitHub), `owner/repo` → how.
    repos: BTreeMap<String, String>,
    /// Groups with developer access or more (GitLab), full path → access level.
    groups: BTreeMap<String, u32>,
}

impl Reach {
    fn add(&mut self, g: &Grant) {
        match g.kind {
            GrantKind::OrgMember
                if g.attributes.get("role").map(String::as_str) == Some("admin") =>
            {
                self.org_admin = true;
            }
            GrantKind::Team => {
                for (k, perm) in &g.attributes {
                    if let Some(repo) = k.strip_prefix("repo:") {
                        if WRITE_PERMISSIONS.contains(&perm.as_str()) {
                            self.repos
                                .insert(repo.to_string(), format!("team {} ({perm})", g.target));
                        }
                    }
                }
            }
            GrantKind::Collaborator => {
                let perm = g.attributes.get("permission").map(String::as_str);
                if g.facets.codeowner.is_none()
                    && perm.is_some_and(|p| WRITE_PERMISSIONS.contains(&p))
                {
                    self.repos.insert(
                        g.target.clone(),
                        format!("collaborator ({})", perm.unwrap_or_default()),
                    );
                }
            }
            GrantKind::Group => {
                let level = g
                    .attributes
                    .get("access_level")
                    .and_then(|l| l.parse::<u32>().ok())
                    .unwrap_or(0);
                if level >= GITLAB_WRITE_LEVEL {
                    let cur = self.groups.entry(g.target.clone()).or_insert(level);
                    *cur = (*cur).max(level);
                }
            }
            _ => {}
        }
    }

    /// How the leaver could reach a secret of `scope` (`org`, `repo:o/r`, `env:o/r:e`,
    /// `group:a/b`, `project:a/b/c`), or `None`.
    fn reaches(&self, scope: &str, selected: Option<&[String]>) -> Option<String> {
        if let Some(path) = scope
            .strip_prefix("group:")
            .or_else(|| scope.strip_prefix("project:"))
        {
            // GitLab membership is inherited by subgroups and projects: the group itself (for a
            // group variable) or any ancestor.
            let is_project = scope.starts_with("project:");
            let mut cur = Some(path);
            let mut first = true;
            while let Some(p) = cur {
                if !(first && is_project) {
                    if let Some(level) = self.groups.get(p) {
                        return Some(format!("group {p} access level {level}"));
                    }
                }
                first = false;
                cur = p.rsplit_once('/').map(|x| x.0);
            }
            return None;
        }
        if self.org_admin {
            return Some("org owner".into());
        }
        if scope == "org" {
            return match selected {
                Some(list) => list
                    .iter()
                    .find_map(|r| self.repos.get(r).map(|how| format!("{r}: {how}"))),
                None => self
                    .repos
                    .iter()
                    .next()
                    .map(|(r, how)| format!("{r}: {how}")),
            };
        }
        let repo = scope.strip_prefix("repo:").or_else(|| {
            scope
                .strip_prefix("env:")
                .and_then(|s| s.rsplit_once(':').map(|x| x.0))
        })?;
        self.repos.get(repo).map(|how| format!("{repo}: {how}"))
    }
}

/// Whether a CI variable is a secret: any Actions/Dependabot/Codespaces secret, a masked or
/// hidden GitLab variable, or any variable whose value a secret pattern recognised.
fn is_shared_secret(c: &Credential) -> bool {
    let Some(v) = c.facets.ci_variable.as_ref() else {
        return false;
    };
    c.kind == CredentialKind::CiVariable
        && c.active
        && (SECRET_STORES.contains(&v.store.as_str())
            || c.facets.secret.is_some()
            || v.masked == Some(true)
            || v.hidden == Some(true))
}

/// When the secret last changed, as far as the system says.
fn changed_at(c: &Credential) -> Option<DateTime<Utc>> {
    c.facets
        .ci_variable
        .as_ref()
        .and_then(|v| v.updated_at)
        .or(c.created_at)
}

/// `shared-secret-needs-rotation`: one finding per secret per leaver who could read it.
fn shared_secrets(ctx: &mut Ctx, holders: &mut Holders, obs: &Observations) {
    let now = ctx.now;
    // Who reaches what is worth working out only when the run holds shared secrets (an
    // inventory or IAM run of a million grants holds none).
    if !obs.credentials.iter().any(is_shared_secret) {
        return;
    }
    let mut reach: BTreeMap<String, (Reach, Link, &Person)> = BTreeMap::new();
    for g in &obs.grants {
        let Some((link, person)) = holders.get(&g.account) else {
            continue;
        };
        if !person.is_leaver(now) {
            continue;
        }
        reach
            .entry(person.employee_id().to_string())
            .or_insert_with(|| (Reach::default(), link, person))
            .0
            .add(g);
    }
    if reach.is_empty() {
        return;
    }
    for c in obs.credentials.iter().filter(|c| is_shared_secret(c)) {
        let Some(v) = c
            .facets
            .ci_variable
            .as_ref()
            .filter(|v| !v.scope.is_empty())
        else {
            continue;
        };
        let (scope, selected) = (&v.scope, v.repositories.as_deref());
        let changed = changed_at(c);
        for (employee_id, (r, link, person)) in &reach {
            let Some(how) = r.reaches(scope, selected) else {
                continue;
            };
            let departed = person.departed_at();
            let stale = match (changed, departed) {
                (Some(c), Some(d)) => Some(c <= d),
                _ => None,
            };
            if stale == Some(false) {
                continue;
            }
            let evidence = json!({
                "person": person_evidence(person, link, now),
                "secret": credential_evidence(c),
                "changed_at": time(changed),
                "departed_at": time(departed),
                "reach": how,
                "note": if stale.is_none() {
                    "the system does not say when this secret last changed: rotate it unless you know it changed after the departure"
                } else {
                    "last changed before the departure of someone who could read it"
                },
            });
            ctx.raise(
                RuleId::SharedSecretNeedsRotation,
                coverage::credential_unit(ctx.system, c),
                &c.account,
                format!("{}/for:{employee_id}", credential_subject(c)),
                Some(person),
                stale,
                evidence,
            );
        }
    }
}

/// `leaver-credential-in-ci`: a CI variable's value holds a credential that another scanner saw
/// on the account of a leaver (the caller looked it up: [`CredentialFacts`]).
fn credentials_in_ci(
    ctx: &mut Ctx,
    people: &PeopleIndex,
    obs: &Observations,
    facts: &CredentialFacts,
) {
    if facts.by_id.is_empty() {
        return;
    }
    let now = ctx.now;
    for c in &obs.credentials {
        if c.kind != CredentialKind::CiVariable {
            continue;
        }
        let key_id = c.facets.secret.as_ref().and_then(|s| s.key_id.as_ref());
        let Some(fact) = key_id.and_then(|k| facts.by_id.get(k)) else {
            continue;
        };
        let Some(person) = fact.employee_id.as_deref().and_then(|e| people.person(e)) else {
            continue;
        };
        if !person.is_leaver(now) {
            continue;
        }
        let evidence = json!({
            "person": {
                "employee_id": person.employee_id(),
                "email": person.record.email,
                "status": person.status_at(now).as_str(),
                "departed_at": time(person.departed_at()),
            },
            "variable": credential_evidence(c),
            "credential": { "live": fact.live, "seen_in": fact.system, "held_by": fact.account },
        });
        ctx.raise(
            RuleId::LeaverCredentialInCi,
            coverage::credential_unit(ctx.system, c),
            &c.account,
            credential_subject(c),
            Some(person),
            fact.live,
            evidence,
        );
    }
}

/// Live credentials whose account links to no leaver (a repository's deploy key, an unlisted
/// login) but whose creator or owner is a leaver: the per-credential rule of its kind.
fn attributed_credentials(
    ctx: &mut Ctx,
    holders: &mut Holders,
    people: &PeopleIndex,
    obs: &Observations,
) {
    let now = ctx.now;
    for c in obs.credentials.iter().filter(|c| c.active) {
        let Some(rule) = credential_rule(c.kind) else {
            continue;
        };
        let holder = holders.get(&c.account);
        let holder_left = holder.as_ref().is_some_and(|(_, p)| p.is_leaver(now));
        if holder_left && holders.is_listed(&c.account) {
            continue; // the per-account rules raised it
        }
        let attributed: Option<(Link, &Person, &str)> = if holder_left {
            holder.map(|(l, p)| (l, p, "account"))
        } else {
            [
                (c.hints.created_by.as_deref(), "created_by"),
                (c.hints.owner.as_deref(), "owner"),
            ]
            .into_iter()
            .find_map(|(who, how)| {
                let l = people.link_owner(who?)?;
                let p = people.person(&l.employee_id)?;
                p.is_leaver(now).then_some((l, p, how))
            })
        };
        let Some((link, person, how)) = attributed else {
            continue;
        };
        let evidence: Value = json!({
            "person": person_evidence(person, &link, now),
            "account": c.account,
            "attributed_by": how,
            "credential": credential_evidence(c),
        });
        ctx.raise(
            rule,
            coverage::credential_unit(ctx.system, c),
            &c.account,
            credential_subject(c),
            Some(person),
            Some(true),
            evidence,
        );
    }
}
