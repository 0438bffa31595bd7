//! People × observations → candidate findings. Pure: no I/O, no clock (the caller passes `now`).
//!
//! Each residual-access rule is one matcher here, keyed by the id its `rules/access/*.toml` file
//! carries; the file holds its severity, remediation text, framework mapping and examples. A rule
//! whose file is not loaded does not run, so a deployment can switch rules off by removing files.

use crate::evidence_text::EvidenceText;
use crate::link::{Link, PeopleIndex};
use crate::person::Person;
use crate::rule_id::RuleId;
use crate::rules::{Rule, RuleSet};
use crate::severity::Severity;
use chrono::{DateTime, Duration, Utc};
use residual_scanners::coverage;
use residual_scanners::facets::{VerdictKind, Verification};
use residual_scanners::time::format_time;
use residual_scanners::{
    Account, AccountKind, ByAccount, Credential, CredentialKind, Grant, GrantKind, Observations,
};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;

mod ceiling;
mod codehost;
mod evidence;
pub mod examples;
mod idp;
mod sso;
#[cfg(test)]
mod tests;

/// No observations: what runs of systems that need no lookup of their own accounts index.
static EMPTY: Observations = Observations {
    accounts: Vec::new(),
    credentials: Vec::new(),
    grants: Vec::new(),
};

/// The rule raised for a live credential of a leaver, by credential kind.
fn credential_rule(kind: CredentialKind) -> Option<RuleId> {
    Some(match kind {
        CredentialKind::AccessKey => RuleId::LeaverActiveAccessKey,
        CredentialKind::ConsolePassword => RuleId::LeaverConsoleLogin,
        CredentialKind::SshKey => RuleId::LeaverSshKey,
        CredentialKind::SigningCertificate => RuleId::LeaverSigningCertificate,
        CredentialKind::ServiceCredential => RuleId::LeaverServiceCredential,
        CredentialKind::Token => RuleId::LeaverToken,
        CredentialKind::DeployKey => RuleId::LeaverDeployKey,
        CredentialKind::MfaDevice | CredentialKind::SecretInCode | CredentialKind::CiVariable => {
            return None
        }
    })
}

/// The configurable parts of evaluation.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Severity overrides by rule id.
    pub severities: HashMap<String, Severity>,
    /// Days a mover keeps old entitlements before `mover-residual-entitlement` fires.
    pub mover_grace_days: i64,
    /// Department → the groups/teams/policies that department grants.
    pub departments: HashMap<String, Vec<String>>,
    /// System kinds (`aws-iam`) where an account name equal to an email's local part links.
    pub local_part_systems: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            severities: HashMap::new(),
            mover_grace_days: 7,
            departments: HashMap::new(),
            local_part_systems: vec!["aws-iam".into()],
        }
    }
}

/// A finding as evaluation proposes it, before the lifecycle decides open/seen/excepted.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub rule: RuleId,
    pub severity: Severity,
    pub system: String,
    pub account: String,
    /// The credential or grant (or the account itself), unique within the system.
    pub subject: String,
    /// The coverage unit of the observation it is about: a run that covered this unit and no
    /// longer raises the finding resolves it (see `residual_scanners::coverage`).
    pub unit: String,
    pub employee_id: Option<String>,
    /// Whether the access is live now: true, false, or unknown.
    pub live: Option<bool>,
    /// Evidence as compact JSON text, held packed: a large run holds hundreds of thousands of
    /// candidates, and text is a fraction of the memory of a parsed tree.
    pub evidence: EvidenceText,
    /// The rule's remediation text, shared by all its candidates; see [`Candidate::remediation`].
    #[serde(skip)]
    pub remediation_template: std::sync::Arc<str>,
}

impl Candidate {
    /// Remediation text with this candidate's system and account filled in.
    pub fn remediation(&self) -> String {
        self.remediation_template
            .replace("{system}", &self.system)
            .replace("{account}", &self.account)
    }
}

/// What other scanners know about a credential found elsewhere, by its non-secret id (an AWS
/// access key id found in git or a CI variable): whether it is live, and whose it is. Built by
/// the caller from the store, so evaluation stays free of I/O.
#[derive(Debug, Clone, Default)]
pub struct CredentialFacts {
    pub by_id: HashMap<String, CredentialFact>,
    /// How the aws-iam sweep linked the IAM users `--verify` named as owners: principal ARN →
    /// (employee id, link confidence). Preferred over linking the user name again here, since the
    /// sweep also saw the user's tags.
    pub owners: HashMap<String, (String, f64)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialFact {
    /// True: seen active; false: seen inactive, or absent from a complete run; None: unknown.
    pub live: Option<bool>,
    /// The system and account that hold it (`aws-iam:123…`, the IAM user), when seen.
    pub system: Option<String>,
    pub account: Option<String>,
    /// The person that account links to, when it does.
    pub employee_id: Option<String>,
}

/// What evaluating one run produced.
pub struct Evaluation {
    pub candidates: Vec<Candidate>,
    /// How each account was linked, by index into the run's accounts (accounts that link to
    /// nobody are absent).
    pub links: Vec<(usize, Link)>,
}

struct Ctx<'r> {
    rules: &'r RuleSet,
    policy: &'r Policy,
    system: &'r str,
    now: DateTime<Utc>,
    out: Vec<Candidate>,
    remediations: HashMap<String, std::sync::Arc<str>>,
}

impl Ctx<'_> {
    #[allow(clippy::too_many_arguments)]
    fn raise(
        &mut self,
        rule_id: RuleId,
        unit: String,
        account: &str,
        subject: String,
        person: Option<&Person>,
        live: Option<bool>,
        evidence: impl Serialize,
    ) {
        let Some(rule) = self.rules.get(rule_id.as_str()) else {
            return;
        };
        let severity = self
            .policy
            .severities
            .get(rule_id.as_str())
            .copied()
            .unwrap_or(rule.severity);
        // Cannot fail: evidence is maps with string keys and plain values, written to memory.
        let json = serde_json::to_string(&evidence).unwrap_or_default();
        // Held packed: a large export keeps hundreds of thousands of candidates until its
        // lifecycle is planned (~40 MB less on the foundation benchmark).
        let evidence = EvidenceText::from_json(&json);
        self.out.push(Candidate {
            rule: rule_id,
            severity,
            system: self.system.to_string(),
            account: account.to_string(),
            subject,
            unit,
            employee_id: person.map(|p| p.employee_id().to_string()),
            live,
            evidence,
            remediation_template: remediation(&mut self.remediations, rule),
        });
    }
}

fn remediation(
    cache: &mut HashMap<String, std::sync::Arc<str>>,
    rule: &Rule,
) -> std::sync::Arc<str> {
    // Looked up before inserting: an entry would copy the rule id for every candidate.
    if let Some(text) = cache.get(&rule.id) {
        return text.clone();
    }
    let text: std::sync::Arc<str> = std::sync::Arc::from(rule.remediation.trim());
    cache.insert(rule.id.clone(), text.clone());
    text
}

/// `credential-used-after-departure` for an account's login: it was used after `departed`.
fn login_used_after_departure(
    ctx: &mut Ctx,
    a: &Account,
    person: &Person,
    who: &impl Serialize,
    departed: Option<DateTime<Utc>>,
) {
    let evidence = evidence::LoginUsed {
        account: evidence::AccountEvidence::new(a),
        departed_at: evidence::Time(departed),
        person: who,
        used_at: evidence::Time(a.last_used_at),
    };
    ctx.raise(
        RuleId::CredentialUsedAfterDeparture,
        coverage::account_last_used_unit(ctx.system, a),
        &a.name,
        format!("{}/login", a.name),
        Some(person),
        a.enabled,
        evidence,
    );
}

fn time(t: Option<DateTime<Utc>>) -> Value {
    t.map(|t| Value::String(format_time(&t)))
        .unwrap_or(Value::Null)
}

fn person_evidence(p: &Person, link: &Link, now: DateTime<Utc>) -> Value {
    json!({
        "employee_id": p.employee_id(),
        "email": p.record.email,
        "status": p.status_at(now).as_str(),
        "departed_at": time(p.departed_at()),
        "link": { "method": link.method.as_str(), "confidence": link.confidence },
    })
}

fn account_evidence(a: &Account) -> Value {
    json!({
        "name": a.name,
        "kind": a.kind.as_str(),
        "enabled": a.enabled,
        "created_at": time(a.created_at),
        "last_used_at": time(a.last_used_at),
        "attributes": a.attributes,
    })
}

fn credential_evidence(c: &Credential) -> Value {
    json!({
        "kind": c.kind.as_str(),
        "id": c.id,
        "active": c.active,
        "created_at": time(c.created_at),
        "last_used_at": time(c.last_used_at),
        "attributes": c.attributes,
    })
}

/// The subject of a credential: unique within its system.
pub fn credential_subject(c: &Credential) -> String {
    format!("{}/{}/{}", c.account, c.kind.as_str(), c.id)
}

/// The subject of a grant: unique within its system.
pub fn grant_subject(g: &Grant) -> String {
    format!("{}/{}/{}", g.account, g.kind.as_str(), g.target)
}

/// Evaluates every loaded rule over one run's observations of `system`.
pub fn evaluate(
    rules: &RuleSet,
    policy: &Policy,
    facts: &CredentialFacts,
    now: DateTime<Utc>,
    people: &PeopleIndex,
    system: &str,
    obs: &Observations,
) -> Evaluation {
    let mut ctx = Ctx {
        rules,
        policy,
        system,
        now,
        out: Vec::new(),
        remediations: HashMap::new(),
    };
    let system_kind = system.split(':').next().unwrap_or(system);
    let identity_provider = idp::is_idp(system);
    let scope = AccountScope {
        people,
        facts,
        system_kind,
        by_local_part: policy.local_part_systems.iter().any(|s| s == system_kind),
        columns: PeopleIndex::columns_for(system),
        // In git, accounts are commit authors: what they hold is authorship, not a login.
        authorship: system_kind == "git",
        identity_provider,
        owners: idp::Owners::new(system, if identity_provider { obs } else { &EMPTY }),
        credentials: ByAccount::new(&obs.credentials, |c: &Credential| c.account.as_str()),
        grants: ByAccount::new(&obs.grants, |g: &Grant| g.account.as_str()),
    };
    let authorship = scope.authorship;
    let links = accounts_in_parallel(&mut ctx, &scope, &obs.accounts);
    if authorship {
        secrets_owned_by_leavers(&mut ctx, people, facts, obs);
    }
    codehost::evaluate(&mut ctx, people, obs, facts);
    Evaluation {
        candidates: ctx.out,
        links,
    }
}

/// What the rules of each account read, shared by the threads that evaluate accounts.
struct AccountScope<'s, 'p> {
    people: &'s PeopleIndex<'p>,
    facts: &'s CredentialFacts,
    system_kind: &'s str,
    by_local_part: bool,
    columns: Vec<String>,
    authorship: bool,
    identity_provider: bool,
    owners: idp::Owners<'s>,
    credentials: ByAccount<'s, Credential>,
    grants: ByAccount<'s, Grant>,
}

/// Below this many accounts, one thread evaluates them all (a thread costs more than it saves).
const PARALLEL_ACCOUNTS: usize = 20_000;

/// Evaluates the rules of each account, on up to two threads over consecutive halves of
/// `accounts` for a large run (each account's rules read only that account and what it holds);
/// candidates and links come out in account order either way, as one thread would give them.
/// Returns the links by index into `accounts`.
fn accounts_in_parallel(
    ctx: &mut Ctx,
    scope: &AccountScope,
    accounts: &[Account],
) -> Vec<(usize, Link)> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    if threads < 2 || accounts.len() < PARALLEL_ACCOUNTS {
        return accounts_in_range(ctx, scope, accounts, 0);
    }
    let half = accounts.len() / 2;
    let (first, second) = accounts.split_at(half);
    let mut other = Ctx {
        rules: ctx.rules,
        policy: ctx.policy,
        system: ctx.system,
        now: ctx.now,
        out: Vec::new(),
        remediations: HashMap::new(),
    };
    let (mut links, later) = std::thread::scope(|s| {
        let second = s.spawn(|| accounts_in_range(&mut other, scope, second, half));
        let links = accounts_in_range(ctx, scope, first, 0);
        (links, second.join())
    });
    match later {
        Ok(later) => {
            links.extend(later);
            ctx.out.append(&mut other.out);
        }
        Err(panic) => std::panic::resume_unwind(panic),
    }
    links
}

/// The rules of each of `accounts` (the run's accounts from index `offset`); returns their
/// links by index into the run's accounts.
fn accounts_in_range(
    ctx: &mut Ctx,
    scope: &AccountScope,
    accounts: &[Account],
    offset: usize,
) -> Vec<(usize, Link)> {
    let mut links = Vec::new();
    // What each account holds, in lists reused from one account to the next (a million accounts
    // would otherwise allocate two lists each).
    let mut creds: Vec<&Credential> = Vec::new();
    let mut held: Vec<&Grant> = Vec::new();
    // Accounts come in the order scanners list what they hold: each lookup starts where the last
    // ended (a search per account was most of evaluation's time on a million accounts).
    let mut credentials = scope.credentials.walk();
    let mut grants = scope.grants.walk();
    for (i, a) in accounts.iter().enumerate() {
        creds.clear();
        creds.extend(credentials.get(&a.name));
        held.clear();
        held.extend(grants.get(&a.name));
        if let Some(link) = account_rules(ctx, scope, a, &creds, &held) {
            links.push((offset + i, link));
        }
    }
    links
}

/// The rules of one account; returns how it links to its holder, when it does.
fn account_rules(
    ctx: &mut Ctx,
    scope: &AccountScope,
    a: &Account,
    creds: &[&Credential],
    held: &[&Grant],
) -> Option<Link> {
    let now = ctx.now;
    let people = scope.people;
    let holder = holder_of(
        people,
        &scope.columns,
        scope.system_kind,
        scope.by_local_part,
        a,
    );
    if scope.identity_provider {
        idp::account(ctx, people, &scope.owners, a, creds, held, holder.as_ref());
        return holder.map(|(link, _)| link);
    }
    let owner = owner_of(people, a);
    if let Some((link, person)) = &holder {
        if scope.authorship && person.is_leaver(now) {
            for c in creds
                .iter()
                .filter(|c| c.kind == CredentialKind::SecretInCode)
            {
                secret_in_git(ctx, scope.facts, c, person, link);
            }
        } else if person.is_leaver(now) && sso::is_sso(scope.system_kind) {
            sso::leaver_rules(ctx, a, held, person, link);
        } else if person.is_leaver(now) {
            leaver_rules(ctx, a, creds, held, person, link);
        } else if person.is_mover(now) {
            mover_rules(ctx, a, held, person, link);
        }
    }
    if let Some((link, person)) = &owner {
        // An account that is not itself a person's but names an owner (an IAM user with an
        // owner tag, say) is a non-human identity, whatever kind its system calls it.
        let non_human = a.kind.is_non_human() || holder.is_none();
        if non_human && person.is_leaver(now) && a.enabled != Some(false) {
            owned_nhi(ctx, a, creds, person, link);
        }
    }
    // A git author is an identity, not access: unlinked authors matter only when they
    // committed secrets.
    if holder.is_none() && owner.is_none() && (!scope.authorship || !creds.is_empty()) {
        orphan_account(ctx, a);
    }
    holder.map(|(link, _)| link)
}

/// The person an account is (by the system's HR columns, email, aliases, employee id; Identity
/// Center users by email, user name, then external id), with how it was linked.
fn holder_of<'p>(
    people: &PeopleIndex<'p>,
    columns: &[String],
    system_kind: &str,
    by_local_part: bool,
    a: &Account,
) -> Option<(Link, &'p Person)> {
    if sso::is_sso(system_kind) {
        let linked = sso::link(people, a, by_local_part);
        return linked.and_then(|l| people.person(&l.employee_id).map(|p| (l, p)));
    }
    people.account_holder(columns, a, by_local_part)
}

/// The person an account's owner hint names (an owner tag), with how it was linked.
fn owner_of<'p>(people: &PeopleIndex<'p>, a: &Account) -> Option<(Link, &'p Person)> {
    a.hints
        .owner
        .as_deref()
        .and_then(|o| people.link_owner(o))
        .and_then(|l| people.person(&l.employee_id).map(|p| (l, p)))
}

/// `orphan-account`: an account no person and no owner links to, unless it is a role, disabled
/// or a code host's pseudo-account.
fn orphan_account(ctx: &mut Ctx, a: &Account) {
    if a.kind == AccountKind::Role || a.enabled == Some(false) || codehost::is_pseudo(a) {
        return;
    }
    let evidence = evidence::Orphan {
        account: evidence::AccountEvidence::new(a),
        hints: evidence::HintsEvidence::new(&a.hints),
        reason: "no HR column, email, alias, employee id or owner links this account to a person",
    };
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

fn leaver_rules(
    ctx: &mut Ctx,
    a: &Account,
    creds: &[&Credential],
    held: &[&Grant],
    person: &Person,
    link: &Link,
) {
    let now = ctx.now;
    let departed = person.departed_at();
    let who = evidence::PersonEvidence::new(person, link, now);
    if a.enabled != Some(false) && a.kind != AccountKind::Role && !codehost::is_reference_only(a) {
        let evidence = evidence::LeaverAccount {
            account: evidence::AccountEvidence::new(a),
            person: who,
        };
        ctx.raise(
            RuleId::LeaverActiveAccount,
            coverage::account_unit(ctx.system, a),
            &a.name,
            a.name.clone(),
            Some(person),
            a.enabled.or(Some(true)),
            evidence,
        );
    }
    if used_after(a.last_used_at, departed) {
        login_used_after_departure(ctx, a, person, &who, departed);
    }
    for c in creds {
        leaver_credential(ctx, a, c, person, &who);
    }
    for g in held.iter().filter(|g| g.kind == GrantKind::RoleTrust) {
        let evidence =
            json!({ "person": who, "account": a.name, "role": g.target, "trust": g.attributes });
        ctx.raise(
            RuleId::LeaverCanAssumeRole,
            coverage::grant_unit(ctx.system, g),
            &a.name,
            grant_subject(g),
            Some(person),
            Some(true),
            evidence,
        );
    }
}

/// Whether a use at `t` came after the departure at `departed` (both known).
fn used_after(t: Option<DateTime<Utc>>, departed: Option<DateTime<Utc>>) -> bool {
    matches!((t, departed), (Some(t), Some(d)) if t > d)
}

/// The rules of one credential of a leaver's account: used after departure, and still active.
fn leaver_credential(
    ctx: &mut Ctx,
    a: &Account,
    c: &Credential,
    person: &Person,
    who: &evidence::PersonEvidence,
) {
    let departed = person.departed_at();
    if used_after(c.last_used_at, departed) {
        let evidence = json!({
            "person": who,
            "credential": credential_evidence(c),
            "used_at": time(c.last_used_at),
            "departed_at": time(departed),
        });
        ctx.raise(
            RuleId::CredentialUsedAfterDeparture,
            coverage::last_used_unit(ctx.system, c),
            &a.name,
            credential_subject(c),
            Some(person),
            Some(c.active),
            evidence,
        );
    }
    if !c.active {
        return;
    }
    if let Some(rule) = credential_rule(c.kind) {
        let evidence =
            json!({ "person": who, "account": a.name, "credential": credential_evidence(c) });
        ctx.raise(
            rule,
            coverage::credential_unit(ctx.system, c),
            &a.name,
            credential_subject(c),
            Some(person),
            Some(true),
            evidence,
        );
    }
}

fn mover_rules(ctx: &mut Ctx, a: &Account, held: &[&Grant], person: &Person, link: &Link) {
    let (Some(moved_at), Some(previous)) = (person.moved_at, person.previous_department.as_deref())
    else {
        return;
    };
    let grace = Duration::days(ctx.policy.mover_grace_days);
    if ctx.now < moved_at + grace {
        return;
    }
    let old = ctx
        .policy
        .departments
        .get(previous)
        .cloned()
        .unwrap_or_default();
    let new = person
        .record
        .department
        .as_deref()
        .and_then(|d| ctx.policy.departments.get(d))
        .cloned()
        .unwrap_or_default();
    let grant_kinds = [
        GrantKind::Group,
        GrantKind::Team,
        GrantKind::Policy,
        GrantKind::Assignment,
    ];
    for g in held.iter().filter(|g| grant_kinds.contains(&g.kind)) {
        // An Identity Center assignment is an entitlement by its permission set, in any account.
        let entitlement = match g.kind {
            GrantKind::Assignment => g.attributes.get("permission_set").unwrap_or(&g.target),
            _ => &g.target,
        };
        if old.contains(entitlement) && !new.contains(entitlement) {
            let evidence = json!({
                "person": person_evidence(person, link, ctx.now),
                "account": a.name,
                "grant": { "kind": g.kind.as_str(), "target": g.target, "attributes": g.attributes },
                "previous_department": previous,
                "department": person.record.department,
                "moved_at": time(Some(moved_at)),
                "grace_days": ctx.policy.mover_grace_days,
            });
            ctx.raise(
                RuleId::MoverResidualEntitlement,
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

fn owned_nhi(ctx: &mut Ctx, a: &Account, creds: &[&Credential], owner: &Person, link: &Link) {
    let departed = owner.departed_at();
    let rotate: Vec<Value> = creds
        .iter()
        .filter(|c| c.active && matches!((c.created_at, departed), (Some(c), Some(d)) if c <= d))
        .map(|c| credential_evidence(c))
        .collect();
    let evidence = evidence::OwnedNhi {
        account: evidence::AccountEvidence::new(a),
        credentials_to_rotate: rotate,
        note: "every credential of this identity created before its owner left was known to them and needs rotation",
        owner: evidence::PersonEvidence::new(owner, link, ctx.now),
    };
    ctx.raise(
        RuleId::LeaverOwnedNhi,
        coverage::account_unit(ctx.system, a),
        &a.name,
        a.name.clone(),
        Some(owner),
        a.enabled.or(Some(true)),
        evidence,
    );
}

/// Whether a secret found in git is live: what the aws-iam sweep saw of its key id wins; then
/// `--verify`'s verdict (live, revoked; an error is unknown); then absence from a complete sweep
/// (dead); else unknown.
fn secret_liveness<'f>(
    facts: &'f CredentialFacts,
    c: &Credential,
) -> (Option<bool>, Option<&'f CredentialFact>) {
    let fact = c
        .facets
        .secret
        .as_ref()
        .and_then(|s| s.key_id.as_ref())
        .and_then(|k| facts.by_id.get(k));
    let verified = c
        .facets
        .verification
        .as_ref()
        .and_then(|v| v.verdict.live());
    let live = match fact {
        Some(f) if f.system.is_some() => f.live,
        _ => verified.or(fact.and_then(|f| f.live)),
    };
    (live, fact)
}

/// The liveness evidence of a secret found in git.
fn liveness_evidence(c: &Credential, live: Option<bool>, fact: Option<&CredentialFact>) -> Value {
    let verified = c.facets.verification.as_deref().map(verification_evidence);
    match (fact, verified) {
        (Some(f), verified) => {
            json!({"live": live, "seen_in": f.system, "held_by": f.account, "verified": verified})
        }
        (None, Some(verified)) => json!({"live": live, "verified": verified}),
        (None, None) => {
            json!({"live": null, "reason": "no scanner has seen this credential; verify it (--verify) or rotate it"})
        }
    }
}

/// A verification verdict as evidence shows it (`liveness.verified`): the values of the display
/// attributes it has always been built from, `null` where there is none.
fn verification_evidence(v: &Verification) -> Value {
    json!({
        "result": v.verdict.as_str(),
        "provider": Some(&v.provider).filter(|p| !p.is_empty()),
        "owner": v.owner,
        "at": v.checked_at.as_ref().map(format_time),
        "reason": v.reason,
    })
}

/// `leaver-secret-in-git`: a secret a leaver committed. Critical when another scanner saw the
/// credential live or verification found it live, medium when nobody knows, nothing when it was
/// seen dead or verification found it revoked.
fn secret_in_git(
    ctx: &mut Ctx,
    facts: &CredentialFacts,
    c: &Credential,
    person: &Person,
    link: &Link,
) {
    let (live, fact) = secret_liveness(facts, c);
    if live == Some(false) {
        return;
    }
    let evidence = json!({
        "person": person_evidence(person, link, ctx.now),
        "secret": credential_evidence(c),
        "liveness": liveness_evidence(c, live, fact),
    });
    let before = ctx.out.len();
    ctx.raise(
        RuleId::LeaverSecretInGit,
        coverage::credential_unit(ctx.system, c),
        &c.account,
        credential_subject(c),
        Some(person),
        live,
        evidence,
    );
    if let Some(candidate) = ctx.out.get_mut(before) {
        if live.is_none() {
            candidate.severity = candidate.severity.min(Severity::Medium);
        }
        cap_by_pattern(candidate, c);
    }
}

/// Lowers a secret's finding to its pattern's `max_severity` (an encrypted key: low).
fn cap_by_pattern(candidate: &mut Candidate, c: &Credential) {
    if let Some(secret) = c
        .facets
        .secret
        .as_ref()
        .filter(|s| !s.pattern_id.is_empty())
    {
        candidate.severity = ceiling::cap(candidate.severity, &secret.pattern_id);
    }
}

/// The person a verification revealed as a secret's owner: an IAM user (by ARN) linked like the
/// aws-iam scanner's accounts (HR `aws_user`, then the email local part where configured), or a
/// GitHub login by the HR `github_login` column. The link's method is `verification`; its
/// confidence is that of the column or name match behind it.
fn verified_owner<'p>(
    ctx: &Ctx,
    people: &PeopleIndex<'p>,
    facts: &CredentialFacts,
    c: &Credential,
) -> Option<(Link, &'p Person, &'static str)> {
    let verification = c.facets.verification.as_ref()?;
    let owner = verification.owner.as_ref()?;
    let provider = Some(&verification.provider).filter(|p| !p.is_empty())?;
    if let Some((employee_id, confidence)) = facts.owners.get(owner) {
        if let Some(person) = people.person(employee_id) {
            let link = Link {
                employee_id: employee_id.clone(),
                method: crate::link::LinkMethod::Verification,
                confidence: *confidence,
            };
            return Some((link, person, "aws-iam-link"));
        }
    }
    let (name, columns, by_local_part) = match provider.as_str() {
        "aws" => {
            let (_, user) = residual_scanners::verify::iam_user_of_arn(owner)?;
            let local = ctx.policy.local_part_systems.iter().any(|s| s == "aws-iam");
            (user, PeopleIndex::columns_for("aws-iam"), local)
        }
        "github" => (owner.as_str(), PeopleIndex::columns_for("github"), false),
        _ => return None,
    };
    let account = Account {
        name: name.to_string(),
        kind: AccountKind::User,
        enabled: None,
        created_at: None,
        last_used_at: None,
        hints: Default::default(),
        attributes: Default::default(),
    };
    let by = people.link_account(&columns, &account, by_local_part)?;
    let person = people.person(&by.employee_id)?;
    let link = Link {
        employee_id: by.employee_id.clone(),
        method: crate::link::LinkMethod::Verification,
        confidence: by.confidence,
    };
    Some((link, person, by.method.as_str()))
}

/// `leaver-secret-in-git` for live secrets whose owner, as verification revealed it, is a leaver
/// — whoever committed them. Secrets already raised for their leaver committer are skipped.
fn secrets_owned_by_leavers(
    ctx: &mut Ctx,
    people: &PeopleIndex,
    facts: &CredentialFacts,
    obs: &Observations,
) {
    let raised: std::collections::HashSet<String> = ctx
        .out
        .iter()
        .filter(|c| c.rule == RuleId::LeaverSecretInGit)
        .map(|c| c.subject.clone())
        .collect();
    for c in obs.credentials.iter().filter(|c| {
        c.kind == CredentialKind::SecretInCode
            && c.facets
                .verification
                .as_ref()
                .is_some_and(|v| v.verdict == VerdictKind::Live)
    }) {
        let subject = credential_subject(c);
        if raised.contains(&subject) {
            continue;
        }
        let (live, fact) = secret_liveness(facts, c);
        if live != Some(true) {
            continue;
        }
        let Some((link, person, by)) = verified_owner(ctx, people, facts, c) else {
            continue;
        };
        if !person.is_leaver(ctx.now) {
            continue;
        }
        let evidence = json!({
            "person": person_evidence(person, &link, ctx.now),
            "attributed_by": "verification",
            "owner": {
                "verified_owner": c.facets.verification.as_ref().and_then(|v| v.owner.as_ref()),
                "provider": c.facets.verification.as_ref().map(|v| &v.provider).filter(|p| !p.is_empty()),
                "linked_by": by,
            },
            "committed_by": c.account,
            "secret": credential_evidence(c),
            "liveness": liveness_evidence(c, live, fact),
        });
        let before = ctx.out.len();
        ctx.raise(
            RuleId::LeaverSecretInGit,
            coverage::credential_unit(ctx.system, c),
            &c.account,
            subject,
            Some(person),
            live,
            evidence,
        );
        if let Some(candidate) = ctx.out.get_mut(before) {
            cap_by_pattern(candidate, c);
        }
    }
}
