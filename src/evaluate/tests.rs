//! Every rule's evaluator, one positive and one negative case each, on observations built by
//! small constructors: Ann (E1) left on 2026-03-01, Ben (E2) is still here, Cat (E3) moved from
//! Engineering to Finance; evaluation runs on 2026-06-01 with the rules shipped in this build.

use super::*;
use crate::hr::{HrStatus, PersonRecord};
use residual_scanners::facets::{CiVariable, CodeOwner, FoundSecret, Provenance};
use residual_scanners::time::parse_time;
use residual_scanners::CredentialFacets;
use std::collections::BTreeMap;

fn at(t: &str) -> DateTime<Utc> {
    parse_time(t).expect("a test time")
}

fn person(employee_id: &str, name: &str) -> Person {
    Person::new(PersonRecord {
        employee_id: employee_id.into(),
        email: format!("{name}@example.com"),
        name: None,
        status: HrStatus::Active,
        terminated_at: None,
        department: None,
        title: None,
        manager: None,
        aliases: vec![],
        github_login: Some(format!("{name}-gh")),
        gitlab_user: None,
        aws_user: Some(name.into()),
        role_changed_at: None,
        attributes: BTreeMap::new(),
    })
}

/// Ann, who left on 2026-03-01; Ben, active; Cat, who moved from Engineering to Finance on
/// `cat_moved`.
fn people(cat_moved: &str) -> Vec<Person> {
    let mut ann = person("E1", "ann");
    ann.record.status = HrStatus::Leaver;
    ann.record.terminated_at = Some(at("2026-03-01"));
    let mut cat = person("E3", "cat");
    cat.record.department = Some("Finance".into());
    cat.moved_at = Some(at(cat_moved));
    cat.previous_department = Some("Engineering".into());
    vec![ann, person("E2", "ben"), cat]
}

fn account(name: &str, kind: AccountKind, enabled: Option<bool>) -> Account {
    Account {
        name: name.into(),
        kind,
        enabled,
        created_at: None,
        last_used_at: None,
        hints: Default::default(),
        attributes: BTreeMap::new(),
    }
}

fn user(name: &str) -> Account {
    account(name, AccountKind::User, Some(true))
}

fn credential(account: &str, kind: CredentialKind, active: bool) -> Credential {
    Credential {
        account: account.into(),
        kind,
        id: format!("{}-1", kind.as_str()),
        active,
        created_at: None,
        last_used_at: None,
        hints: Default::default(),
        attributes: BTreeMap::new(),
        facets: Default::default(),
    }
}

fn grant(account: &str, kind: GrantKind, target: &str) -> Grant {
    Grant {
        account: account.into(),
        kind,
        target: target.into(),
        attributes: BTreeMap::new(),
        facets: Default::default(),
    }
}

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What one run of `system` raises, as (rule, subject), with Cat moved on 2026-04-01.
fn raised(system: &str, obs: Observations, facts: &CredentialFacts) -> Vec<(RuleId, String)> {
    raised_with(&people("2026-04-01"), system, obs, facts)
}

fn raised_with(
    people: &[Person],
    system: &str,
    obs: Observations,
    facts: &CredentialFacts,
) -> Vec<(RuleId, String)> {
    let rules = RuleSet::builtin().expect("the shipped rules load");
    let policy = Policy {
        departments: HashMap::from([
            ("Engineering".to_string(), vec!["eng-admins".to_string()]),
            ("Finance".to_string(), vec!["fin-users".to_string()]),
        ]),
        ..Policy::default()
    };
    let index = PeopleIndex::new(people);
    let now = at("2026-06-01");
    evaluate(&rules, &policy, facts, now, &index, system, &obs)
        .candidates
        .into_iter()
        .map(|c| (c.rule, c.subject))
        .collect()
}

fn obs(accounts: Vec<Account>, credentials: Vec<Credential>, grants: Vec<Grant>) -> Observations {
    Observations {
        accounts,
        credentials,
        grants,
    }
}

fn fires(found: &[(RuleId, String)], rule: RuleId) -> bool {
    found.iter().any(|(r, _)| *r == rule)
}

const IAM: &str = "aws-iam:123456789012";
const GITHUB: &str = "github:acme";

/// What IAM knows of the example key: ann's (E1), live or not.
fn anns_key_in_iam(live: bool) -> CredentialFacts {
    CredentialFacts {
        by_id: HashMap::from([(
            "AKIAEXAMPLEKEY".to_string(),
            CredentialFact {
                live: Some(live),
                system: Some(IAM.into()),
                account: Some("ann".into()),
                employee_id: Some("E1".into()),
            },
        )]),
        ..Default::default()
    }
}

#[test]
fn an_enabled_account_of_a_leaver_is_leaver_active_account_and_a_disabled_one_is_not() {
    let found = raised(
        IAM,
        obs(vec![user("ann")], vec![], vec![]),
        &Default::default(),
    );
    assert!(fires(&found, RuleId::LeaverActiveAccount), "{found:?}");
    let disabled = account("ann", AccountKind::User, Some(false));
    let found = raised(
        IAM,
        obs(vec![disabled], vec![], vec![]),
        &Default::default(),
    );
    assert!(!fires(&found, RuleId::LeaverActiveAccount), "{found:?}");
}

#[test]
fn a_credential_used_after_the_departure_is_raised_and_one_last_used_before_is_not() {
    let mut used = credential("ann", CredentialKind::AccessKey, false);
    used.last_used_at = Some(at("2026-04-02"));
    let found = raised(
        IAM,
        obs(vec![user("ann")], vec![used.clone()], vec![]),
        &Default::default(),
    );
    assert!(
        fires(&found, RuleId::CredentialUsedAfterDeparture),
        "{found:?}"
    );
    used.last_used_at = Some(at("2026-02-27"));
    let found = raised(
        IAM,
        obs(vec![user("ann")], vec![used], vec![]),
        &Default::default(),
    );
    assert!(
        !fires(&found, RuleId::CredentialUsedAfterDeparture),
        "{found:?}"
    );
}

#[test]
fn a_service_account_owned_by_a_leaver_is_leaver_owned_nhi_and_one_owned_by_an_employee_is_not() {
    let owned_by = |owner: &str| {
        let mut svc = account("svc-ci", AccountKind::Service, Some(true));
        svc.hints.owner = Some(owner.into());
        obs(vec![svc], vec![], vec![])
    };
    let found = raised(IAM, owned_by("ann@example.com"), &Default::default());
    assert!(fires(&found, RuleId::LeaverOwnedNhi), "{found:?}");
    let found = raised(IAM, owned_by("ben@example.com"), &Default::default());
    assert!(!fires(&found, RuleId::LeaverOwnedNhi), "{found:?}");
}

#[test]
fn an_unlinked_user_with_an_owner_tag_is_a_non_human_identity_of_its_owner() {
    let tagged = |name: &str| {
        let mut u = account(name, AccountKind::User, Some(true));
        u.hints.owner = Some("ann@example.com".into());
        obs(vec![u], vec![], vec![])
    };
    let found = raised(IAM, tagged("deploy-bot"), &Default::default());
    assert!(fires(&found, RuleId::LeaverOwnedNhi), "{found:?}");
    assert!(!fires(&found, RuleId::OrphanAccount), "{found:?}");
    // A user who is a person (here Ben, by name) is theirs, not an NHI of the owner tag.
    let found = raised(IAM, tagged("ben"), &Default::default());
    assert!(!fires(&found, RuleId::LeaverOwnedNhi), "{found:?}");
}

#[test]
fn a_movers_old_department_group_is_raised_after_the_grace_period_and_not_within_it() {
    let held = || {
        obs(
            vec![user("cat")],
            vec![],
            vec![grant("cat", GrantKind::Group, "eng-admins")],
        )
    };
    let found = raised(IAM, held(), &Default::default());
    assert!(fires(&found, RuleId::MoverResidualEntitlement), "{found:?}");
    let found = raised_with(&people("2026-05-30"), IAM, held(), &Default::default());
    assert!(
        !fires(&found, RuleId::MoverResidualEntitlement),
        "{found:?}"
    );
}

#[test]
fn an_enabled_account_nobody_links_is_an_orphan_and_a_disabled_one_is_not() {
    let found = raised(
        IAM,
        obs(vec![user("ghost")], vec![], vec![]),
        &Default::default(),
    );
    assert!(fires(&found, RuleId::OrphanAccount), "{found:?}");
    let disabled = account("ghost", AccountKind::User, Some(false));
    let found = raised(
        IAM,
        obs(vec![disabled], vec![], vec![]),
        &Default::default(),
    );
    assert!(!fires(&found, RuleId::OrphanAccount), "{found:?}");
}

#[test]
fn each_active_credential_of_a_leaver_raises_the_rule_of_its_kind_and_an_inactive_one_does_not() {
    let kinds = [
        (CredentialKind::AccessKey, RuleId::LeaverActiveAccessKey),
        (CredentialKind::ConsolePassword, RuleId::LeaverConsoleLogin),
        (CredentialKind::SshKey, RuleId::LeaverSshKey),
        (
            CredentialKind::SigningCertificate,
            RuleId::LeaverSigningCertificate,
        ),
        (
            CredentialKind::ServiceCredential,
            RuleId::LeaverServiceCredential,
        ),
        (CredentialKind::Token, RuleId::LeaverToken),
        (CredentialKind::DeployKey, RuleId::LeaverDeployKey),
    ];
    for (kind, rule) in kinds {
        let live = credential("ann", kind, true);
        let found = raised(
            IAM,
            obs(vec![user("ann")], vec![live], vec![]),
            &Default::default(),
        );
        assert!(fires(&found, rule), "{rule}: {found:?}");
        let inactive = credential("ann", kind, false);
        let found = raised(
            IAM,
            obs(vec![user("ann")], vec![inactive], vec![]),
            &Default::default(),
        );
        assert!(!fires(&found, rule), "{rule}: {found:?}");
    }
}

#[test]
fn a_deploy_key_a_leaver_added_to_a_repository_is_leaver_deploy_key_and_an_employees_is_not() {
    let added_by = |who: &str| {
        let mut key = credential("acme/app", CredentialKind::DeployKey, true);
        key.hints.created_by = Some(who.into());
        obs(vec![], vec![key], vec![])
    };
    let found = raised(GITHUB, added_by("ann-gh"), &Default::default());
    assert!(fires(&found, RuleId::LeaverDeployKey), "{found:?}");
    let found = raised(GITHUB, added_by("ben-gh"), &Default::default());
    assert!(!fires(&found, RuleId::LeaverDeployKey), "{found:?}");
}

#[test]
fn a_role_trusting_a_leaver_is_leaver_can_assume_role_and_one_trusting_an_employee_is_not() {
    let trusted = |who: &str| {
        obs(
            vec![user(who)],
            vec![],
            vec![grant(who, GrantKind::RoleTrust, "deploy")],
        )
    };
    let found = raised(IAM, trusted("ann"), &Default::default());
    assert!(fires(&found, RuleId::LeaverCanAssumeRole), "{found:?}");
    let found = raised(IAM, trusted("ben"), &Default::default());
    assert!(!fires(&found, RuleId::LeaverCanAssumeRole), "{found:?}");
}

#[test]
fn a_secret_a_leaver_committed_is_leaver_secret_in_git_unless_it_was_seen_dead() {
    let committed = || {
        let mut secret = credential("ann@example.com", CredentialKind::SecretInCode, true);
        secret.facets.secret = Some(Box::new(FoundSecret {
            key_id: Some("AKIAEXAMPLEKEY".into()),
            ..FoundSecret::default()
        }));
        obs(vec![user("ann@example.com")], vec![secret], vec![])
    };
    let found = raised("git:repo", committed(), &Default::default());
    assert!(fires(&found, RuleId::LeaverSecretInGit), "{found:?}");
    let dead = anns_key_in_iam(false);
    let found = raised("git:repo", committed(), &dead);
    assert!(!fires(&found, RuleId::LeaverSecretInGit), "{found:?}");
}

#[test]
fn org_membership_of_a_leaver_is_leaver_org_member_and_of_an_employee_is_not() {
    let member = |login: &str| {
        obs(
            vec![],
            vec![],
            vec![grant(login, GrantKind::OrgMember, "acme")],
        )
    };
    let found = raised(GITHUB, member("ann-gh"), &Default::default());
    assert!(fires(&found, RuleId::LeaverOrgMember), "{found:?}");
    let found = raised(GITHUB, member("ben-gh"), &Default::default());
    assert!(!fires(&found, RuleId::LeaverOrgMember), "{found:?}");
}

#[test]
fn a_leaver_collaborating_from_outside_is_raised_but_not_when_they_are_also_a_member() {
    let collaborator = grant("ann-gh", GrantKind::Collaborator, "acme/app");
    let found = raised(
        GITHUB,
        obs(vec![], vec![], vec![collaborator.clone()]),
        &Default::default(),
    );
    assert!(
        fires(&found, RuleId::LeaverOutsideCollaborator),
        "{found:?}"
    );
    let member = grant("ann-gh", GrantKind::OrgMember, "acme");
    let found = raised(
        GITHUB,
        obs(vec![], vec![], vec![member, collaborator]),
        &Default::default(),
    );
    assert!(
        !fires(&found, RuleId::LeaverOutsideCollaborator),
        "{found:?}"
    );
}

#[test]
fn a_pending_invitation_of_a_leaver_is_raised_and_a_failed_one_is_not() {
    let mut invitation = grant("ann-gh", GrantKind::Invitation, "acme");
    let found = raised(
        GITHUB,
        obs(vec![], vec![], vec![invitation.clone()]),
        &Default::default(),
    );
    assert!(fires(&found, RuleId::LeaverPendingInvitation), "{found:?}");
    invitation.attributes = attrs(&[("state", "failed")]);
    let found = raised(
        GITHUB,
        obs(vec![], vec![], vec![invitation]),
        &Default::default(),
    );
    assert!(!fires(&found, RuleId::LeaverPendingInvitation), "{found:?}");
}

#[test]
fn a_codeowners_entry_naming_a_leaver_is_leaver_codeowner_and_one_naming_an_employee_is_not() {
    let owner = |login: &str| {
        let mut entry = grant(login, GrantKind::Collaborator, "acme/app");
        entry.facets.codeowner = Some(Box::new(CodeOwner::default()));
        obs(vec![], vec![], vec![entry])
    };
    let found = raised(GITHUB, owner("ann-gh"), &Default::default());
    assert!(fires(&found, RuleId::LeaverCodeowner), "{found:?}");
    let found = raised(GITHUB, owner("ben-gh"), &Default::default());
    assert!(!fires(&found, RuleId::LeaverCodeowner), "{found:?}");
}

#[test]
fn a_ci_secret_a_leaver_could_read_needs_rotation_unless_it_changed_after_they_left() {
    let secret_changed = |updated_at: &str| {
        let mut writer = grant("ann-gh", GrantKind::Collaborator, "acme/app");
        writer.attributes = attrs(&[("permission", "write")]);
        let mut secret = credential("acme/app", CredentialKind::CiVariable, true);
        secret.facets.ci_variable = Some(Box::new(CiVariable {
            store: "actions".into(),
            scope: "repo:acme/app".into(),
            updated_at: Some(at(updated_at)),
            ..CiVariable::default()
        }));
        obs(vec![], vec![secret], vec![writer])
    };
    let found = raised(
        GITHUB,
        secret_changed("2026-01-10T00:00:00Z"),
        &Default::default(),
    );
    assert!(
        fires(&found, RuleId::SharedSecretNeedsRotation),
        "{found:?}"
    );
    let found = raised(
        GITHUB,
        secret_changed("2026-04-10T00:00:00Z"),
        &Default::default(),
    );
    assert!(
        !fires(&found, RuleId::SharedSecretNeedsRotation),
        "{found:?}"
    );
}

#[test]
fn a_ci_variable_holding_a_leavers_key_is_raised_and_one_holding_an_employees_is_not() {
    let held_by = |employee_id: &str| CredentialFacts {
        by_id: HashMap::from([(
            "AKIAEXAMPLEKEY".to_string(),
            CredentialFact {
                live: Some(true),
                system: Some(IAM.into()),
                account: Some("someone".into()),
                employee_id: Some(employee_id.into()),
            },
        )]),
        ..Default::default()
    };
    let variable = || {
        let mut v = credential("acme/app", CredentialKind::CiVariable, true);
        v.facets.secret = Some(Box::new(FoundSecret {
            key_id: Some("AKIAEXAMPLEKEY".into()),
            ..FoundSecret::default()
        }));
        obs(vec![], vec![v], vec![])
    };
    let found = raised(GITHUB, variable(), &held_by("E1"));
    assert!(fires(&found, RuleId::LeaverCredentialInCi), "{found:?}");
    let found = raised(GITHUB, variable(), &held_by("E2"));
    assert!(!fires(&found, RuleId::LeaverCredentialInCi), "{found:?}");
}

/// A run large enough to be evaluated on two threads gives the candidates and links one thread
/// gives, in the same order.
#[test]
fn a_large_run_on_two_threads_gives_what_one_thread_gives() {
    let people = people("2026-01-01");
    let index = PeopleIndex::new(people.iter());
    let names = ["ann", "ben", "cat", "nobody"];
    let accounts: Vec<Account> = (0..PARALLEL_ACCOUNTS + 7)
        .map(|i| {
            let mut a = user(&format!("acct-{i}"));
            a.hints.emails = vec![format!("{}@example.com", names[i % names.len()])];
            a.enabled = Some(i % 5 != 0);
            a
        })
        .collect();
    let grants = accounts
        .iter()
        .step_by(3)
        .map(|a| grant(&a.name, GrantKind::Group, "Engineering"))
        .collect();
    let obs = Observations {
        accounts,
        credentials: Vec::new(),
        grants,
    };
    let rules = RuleSet::builtin().expect("rules");
    let mut policy = Policy::default();
    policy
        .departments
        .insert("Engineering".into(), vec!["Engineering".into()]);
    let facts = CredentialFacts::default();
    let now = at("2026-06-01");
    let system = "inventory:crm";
    let both = evaluate(&rules, &policy, &facts, now, &index, system, &obs);

    let mut one = Ctx {
        rules: &rules,
        policy: &policy,
        system,
        now,
        out: Vec::new(),
        remediations: HashMap::new(),
    };
    let scope = AccountScope {
        people: &index,
        facts: &facts,
        system_kind: "inventory",
        by_local_part: false,
        columns: PeopleIndex::columns_for(system),
        authorship: false,
        identity_provider: false,
        owners: idp::Owners::new(system, &EMPTY),
        credentials: ByAccount::new(&obs.credentials, |c: &Credential| c.account.as_str()),
        grants: ByAccount::new(&obs.grants, |g: &Grant| g.account.as_str()),
    };
    let links = accounts_in_range(&mut one, &scope, &obs.accounts, 0);
    codehost::evaluate(&mut one, &index, &obs, &facts);
    assert!(both.candidates.len() > 1000, "{}", both.candidates.len());
    let text = |c: &[Candidate]| serde_json::to_string(c).expect("json");
    assert_eq!(text(&both.candidates), text(&one.out));
    assert_eq!(both.links, links);
}

/// The typed evidence of `evidence.rs` is the text the `Value` trees gave, byte for byte: a
/// finding's stored evidence is compared with the next run's.
#[test]
fn typed_evidence_is_the_text_the_json_trees_gave() {
    let ann = &people("2026-01-01")[0];
    let link = Link {
        employee_id: "E1".into(),
        method: crate::link::LinkMethod::Email,
        confidence: 0.9,
    };
    let now = at("2026-06-01");
    let mut a = user("ann-crm");
    a.created_at = Some(at("2024-01-01"));
    a.last_used_at = Some(at("2026-04-02T08:00:00Z"));
    a.attributes.insert("region".into(), "eu \"west\"".into());
    a.attributes.insert("arn".into(), "arn:x".into());
    let mut bare = account("svc", AccountKind::Service, None);
    bare.hints.owner = Some("ann@example.com".into());
    let mut hinted = user("x");
    hinted.hints = residual_scanners::IdentityHints {
        emails: vec!["X@Example.com".into(), "y@example.com".into()],
        employee_id: Some("E9".into()),
        owner: Some("o".into()),
        created_by: Some("c".into()),
    };
    let who = person_evidence(ann, &link, now);
    let typed_who = evidence::PersonEvidence::new(ann, &link, now);
    let key = credential("svc", CredentialKind::AccessKey, true);
    for a in [&a, &bare, &hinted] {
        assert_eq!(
            text(&evidence::LeaverAccount {
                account: evidence::AccountEvidence::new(a),
                person: typed_who,
            }),
            json!({ "person": who, "account": account_evidence(a) }).to_string()
        );
        assert_eq!(
            text(&evidence::Orphan {
                account: evidence::AccountEvidence::new(a),
                hints: evidence::HintsEvidence::new(&a.hints),
                reason: "r",
            }),
            json!({ "account": account_evidence(a), "hints": a.hints, "reason": "r" }).to_string()
        );
        assert_eq!(
            text(&evidence::LoginUsed {
                account: evidence::AccountEvidence::new(a),
                departed_at: evidence::Time(ann.departed_at()),
                person: &typed_who,
                used_at: evidence::Time(a.last_used_at),
            }),
            json!({
                "person": who,
                "account": account_evidence(a),
                "used_at": time(a.last_used_at),
                "departed_at": time(ann.departed_at()),
            })
            .to_string()
        );
        for rotate in [vec![], vec![credential_evidence(&key)]] {
            assert_eq!(
                text(&evidence::OwnedNhi {
                    account: evidence::AccountEvidence::new(a),
                    credentials_to_rotate: rotate.clone(),
                    note: "n",
                    owner: typed_who,
                }),
                json!({
                    "owner": who,
                    "account": account_evidence(a),
                    "credentials_to_rotate": rotate,
                    "note": "n",
                })
                .to_string()
            );
        }
    }
}

/// Evidence as the text `Ctx::raise` stores.
fn text(evidence: &impl Serialize) -> String {
    serde_json::to_string(evidence).expect("evidence serialises")
}

// Evidence of the rules that read found secrets, CI variables, verification verdicts and
// CODEOWNERS entries, byte for byte: a finding's stored evidence is compared with the next
// run's, and outputs show it. These strings were taken from the evaluator as it was before
// those facts became typed facets, and must not change. The observations are built as the
// scanners (and `--verify`) build them: the typed facet the rule reads, and the display
// attributes evidence shows.

/// The evidence `rule` raises on one run of `system`, as stored.
fn evidence_of(
    system: &str,
    obs: Observations,
    facts: &CredentialFacts,
    rule: RuleId,
) -> Vec<String> {
    let rules = RuleSet::builtin().expect("the shipped rules load");
    let people = people("2026-04-01");
    let index = PeopleIndex::new(&people);
    evaluate(
        &rules,
        &Policy::default(),
        facts,
        at("2026-06-01"),
        &index,
        system,
        &obs,
    )
    .candidates
    .into_iter()
    .filter(|c| c.rule == rule)
    .map(|c| c.evidence.json().into_owned())
    .collect()
}

/// A secret Ann committed, as the git scanner shows it.
fn committed_secret(account: &str) -> Credential {
    let mut c = credential(account, CredentialKind::SecretInCode, true);
    c.id = "fp-3f2a".into();
    c.created_at = Some(at("2026-01-05T10:00:00Z"));
    c.attributes = attrs(&[
        ("pattern_id", "aws-secret-access-key"),
        ("key_id", "AKIAEXAMPLEKEY"),
        ("path", "deploy.sh"),
        ("line", "3"),
        ("commit", "0123abcd"),
        ("preview", "wJal…"),
    ]);
    c.facets.secret = Some(Box::new(FoundSecret {
        pattern_id: "aws-secret-access-key".into(),
        key_id: Some("AKIAEXAMPLEKEY".into()),
        provenance: Some(Provenance {
            commit: Some("0123abcd".into()),
            path: Some("deploy.sh".into()),
            line: Some(3),
        }),
    }));
    c
}

/// What `--verify` writes onto a secret: the verdict, shown as its attributes.
fn verified(c: &mut Credential, verdict: VerdictKind, owner_or_reason: Option<&str>) {
    let (owner, reason) = match verdict {
        VerdictKind::Live => (owner_or_reason.map(str::to_string), None),
        _ => (None, owner_or_reason.map(str::to_string)),
    };
    let v = Verification {
        verdict,
        provider: "aws".into(),
        owner,
        reason,
        checked_at: Some(at("2026-05-31T12:00:00Z")),
    };
    v.display_into(&mut c.attributes);
    c.facets.verification = Some(Box::new(v));
}

#[test]
fn a_committed_secrets_evidence_is_as_it_was_before_typed_facets() {
    let mut secret = committed_secret("ann@example.com");
    verified(&mut secret, VerdictKind::Error, Some("sts: HTTP 500"));
    let found = evidence_of(
        "git:repo",
        obs(vec![user("ann@example.com")], vec![secret], vec![]),
        &Default::default(),
        RuleId::LeaverSecretInGit,
    );
    assert_eq!(found, vec![r#"{"liveness":{"live":null,"verified":{"at":"2026-05-31T12:00:00Z","owner":null,"provider":"aws","reason":"sts: HTTP 500","result":"error"}},"person":{"departed_at":"2026-03-01T00:00:00Z","email":"ann@example.com","employee_id":"E1","link":{"confidence":0.9,"method":"email"},"status":"leaver"},"secret":{"active":true,"attributes":{"commit":"0123abcd","key_id":"AKIAEXAMPLEKEY","line":"3","path":"deploy.sh","pattern_id":"aws-secret-access-key","preview":"wJal…","verified":"error","verified_at":"2026-05-31T12:00:00Z","verified_provider":"aws","verified_reason":"sts: HTTP 500"},"created_at":"2026-01-05T10:00:00Z","id":"fp-3f2a","kind":"secret-in-code","last_used_at":null}}"#.to_string()]);
}

#[test]
fn a_verified_secrets_evidence_is_as_it_was_before_typed_facets() {
    let mut secret = committed_secret("ben@example.com");
    verified(
        &mut secret,
        VerdictKind::Live,
        Some("arn:aws:iam::123456789012:user/ann"),
    );
    let facts = anns_key_in_iam(true);
    let found = evidence_of(
        "git:repo",
        obs(vec![user("ben@example.com")], vec![secret], vec![]),
        &facts,
        RuleId::LeaverSecretInGit,
    );
    assert_eq!(found, vec![r#"{"attributed_by":"verification","committed_by":"ben@example.com","liveness":{"held_by":"ann","live":true,"seen_in":"aws-iam:123456789012","verified":{"at":"2026-05-31T12:00:00Z","owner":"arn:aws:iam::123456789012:user/ann","provider":"aws","reason":null,"result":"live"}},"owner":{"linked_by":"hr-column","provider":"aws","verified_owner":"arn:aws:iam::123456789012:user/ann"},"person":{"departed_at":"2026-03-01T00:00:00Z","email":"ann@example.com","employee_id":"E1","link":{"confidence":1.0,"method":"verification"},"status":"leaver"},"secret":{"active":true,"attributes":{"commit":"0123abcd","key_id":"AKIAEXAMPLEKEY","line":"3","path":"deploy.sh","pattern_id":"aws-secret-access-key","preview":"wJal…","verified":"live","verified_at":"2026-05-31T12:00:00Z","verified_owner":"arn:aws:iam::123456789012:user/ann","verified_provider":"aws"},"created_at":"2026-01-05T10:00:00Z","id":"fp-3f2a","kind":"secret-in-code","last_used_at":null}}"#.to_string()]);
}

#[test]
fn a_shared_ci_secrets_evidence_is_as_it_was_before_typed_facets() {
    let mut writer = grant("ann-gh", GrantKind::Collaborator, "acme/app");
    writer.attributes = attrs(&[("permission", "write")]);
    let mut secret = credential("org:acme", CredentialKind::CiVariable, true);
    secret.id = "actions:org:NPM_TOKEN".into();
    secret.attributes = attrs(&[
        ("store", "actions"),
        ("scope", "org"),
        ("name", "NPM_TOKEN"),
        ("visibility", "selected"),
        ("repositories", "acme/other,acme/app"),
        ("updated_at", "2026-01-10T00:00:00Z"),
    ]);
    secret.facets.ci_variable = Some(Box::new(CiVariable {
        store: "actions".into(),
        scope: "org".into(),
        repositories: Some(vec!["acme/other".into(), "acme/app".into()]),
        updated_at: Some(at("2026-01-10T00:00:00Z")),
        ..CiVariable::default()
    }));
    let found = evidence_of(
        GITHUB,
        obs(vec![], vec![secret], vec![writer]),
        &Default::default(),
        RuleId::SharedSecretNeedsRotation,
    );
    assert_eq!(found, vec![r#"{"changed_at":"2026-01-10T00:00:00Z","departed_at":"2026-03-01T00:00:00Z","note":"last changed before the departure of someone who could read it","person":{"departed_at":"2026-03-01T00:00:00Z","email":"ann@example.com","employee_id":"E1","link":{"confidence":1.0,"method":"hr-column"},"status":"leaver"},"reach":"acme/app: collaborator (write)","secret":{"active":true,"attributes":{"name":"NPM_TOKEN","repositories":"acme/other,acme/app","scope":"org","store":"actions","updated_at":"2026-01-10T00:00:00Z","visibility":"selected"},"created_at":null,"id":"actions:org:NPM_TOKEN","kind":"ci-variable","last_used_at":null}}"#.to_string()]);
}

#[test]
fn a_ci_variable_holding_a_leavers_key_has_the_evidence_it_had_before_typed_facets() {
    let mut v = credential("repo:acme/app", CredentialKind::CiVariable, true);
    v.id = "actions-variable:repo:acme/app:AWS#aws-access-key-id:f00d".into();
    v.attributes = attrs(&[
        ("store", "actions-variable"),
        ("scope", "repo:acme/app"),
        ("value_matched", "true"),
        ("pattern_id", "aws-access-key-id"),
        ("fingerprint", "f00d"),
        ("key_id", "AKIAEXAMPLEKEY"),
    ]);
    v.facets = CredentialFacets {
        secret: Some(Box::new(FoundSecret {
            pattern_id: "aws-access-key-id".into(),
            key_id: Some("AKIAEXAMPLEKEY".into()),
            provenance: None,
        })),
        ci_variable: Some(Box::new(CiVariable {
            store: "actions-variable".into(),
            scope: "repo:acme/app".into(),
            ..CiVariable::default()
        })),
        verification: None,
    };
    let facts = anns_key_in_iam(true);
    let found = evidence_of(
        GITHUB,
        obs(vec![], vec![v], vec![]),
        &facts,
        RuleId::LeaverCredentialInCi,
    );
    assert_eq!(found, vec![r#"{"credential":{"held_by":"ann","live":true,"seen_in":"aws-iam:123456789012"},"person":{"departed_at":"2026-03-01T00:00:00Z","email":"ann@example.com","employee_id":"E1","status":"leaver"},"variable":{"active":true,"attributes":{"fingerprint":"f00d","key_id":"AKIAEXAMPLEKEY","pattern_id":"aws-access-key-id","scope":"repo:acme/app","store":"actions-variable","value_matched":"true"},"created_at":null,"id":"actions-variable:repo:acme/app:AWS#aws-access-key-id:f00d","kind":"ci-variable","last_used_at":null}}"#.to_string()]);
}

#[test]
fn a_codeowners_entrys_evidence_is_as_it_was_before_typed_facets() {
    let mut entry = grant(
        "ann-gh",
        GrantKind::Collaborator,
        "acme/app/.github/CODEOWNERS",
    );
    entry.attributes = attrs(&[
        ("codeowner", "true"),
        ("repo", "acme/app"),
        ("file", ".github/CODEOWNERS"),
        ("pattern", "/infra/ *.tf"),
        ("lines", "3,7"),
    ]);
    entry.facets.codeowner = Some(Box::new(CodeOwner {
        repo: "acme/app".into(),
        file: ".github/CODEOWNERS".into(),
        patterns: vec!["/infra/".into(), "*.tf".into()],
        lines: vec![3, 7],
    }));
    let found = evidence_of(
        GITHUB,
        obs(vec![], vec![], vec![entry]),
        &Default::default(),
        RuleId::LeaverCodeowner,
    );
    assert_eq!(found, vec![r#"{"account":"ann-gh","grant":{"attributes":{"codeowner":"true","file":".github/CODEOWNERS","lines":"3,7","pattern":"/infra/ *.tf","repo":"acme/app"},"kind":"collaborator","target":"acme/app/.github/CODEOWNERS"},"person":{"departed_at":"2026-03-01T00:00:00Z","email":"ann@example.com","employee_id":"E1","link":{"confidence":1.0,"method":"hr-column"},"status":"leaver"}}"#.to_string()]);
}
