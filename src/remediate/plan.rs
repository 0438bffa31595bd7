//! Planning (pure): selected open findings → a [`Plan`] of ordered actions, task texts, and the
//! findings the guard rails refuse.
//!
//! Which actions a finding may get is data: the `remediate.actions` of its rule file. Which of
//! those fit a finding is decided here, from the finding's system and subject (`user/kind/id`):
//! `aws-iam:deactivate-access-key` fits an access key of an `aws-iam:ACCOUNT` finding, and an
//! account-level finding (`leaver-active-account`) gets one action per group membership and
//! managed policy the latest complete run saw on the account. A finding no listed action fits
//! gets a task (the rule's `remediate.task`, else its remediation text); so does every finding
//! of a rule with `remediate.task_always`, whose actions downgrade but cannot end the access.
//!
//! Guard rails (each a [`Refusal`] with the reason): the person must be a leaver, or a mover past
//! the grace period (and then only for the old role's entitlements), in the latest snapshot; the
//! latest run of the finding's system must be complete (a partial run's view may be stale).

use super::{command, Action, Change, Plan, Refusal, Task};
use crate::person::Person;
use crate::rules::RuleSet;
use crate::store::findings::Finding;
use chrono::{DateTime, Duration, Utc};
use residual_scanners::remediate::{AwsChange, GithubChange, GitlabChange};
use residual_scanners::{GrantKind, Observations};
use std::collections::HashMap;

/// The latest run of a system, as the partial-run guard needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestRun {
    pub id: i64,
    pub status: String,
}

/// Everything planning reads; nothing here touches the store or the network.
pub struct Inputs<'a> {
    /// The selected findings (open ones; others are ignored).
    pub findings: &'a [Finding],
    pub rules: &'a RuleSet,
    pub people: &'a HashMap<String, Person>,
    /// The latest run of each system the findings are in.
    pub latest_runs: &'a HashMap<String, LatestRun>,
    /// What the latest complete run of each AWS and GitLab system saw: the grants behind an
    /// account-level finding, a GitLab user's numeric id.
    pub observed: &'a HashMap<String, Observations>,
    pub now: DateTime<Utc>,
    pub mover_grace_days: i64,
    /// `[policy.remediate] allow`.
    pub allow: &'a [String],
    /// `--allow-delete`.
    pub allow_delete: bool,
}

/// One change a finding calls for, before merging and ordering.
struct Planned {
    kind: &'static str,
    change: Change,
    target: String,
    reversible: bool,
    delete: bool,
    command: String,
}

/// The plan for `inputs.findings`.
pub fn plan(inputs: &Inputs) -> Plan {
    let mut plan = Plan::default();
    for f in inputs
        .findings
        .iter()
        .filter(|f| f.state.as_str() == "open")
    {
        if let Some(reason) = refusal(inputs, f) {
            plan.refused.push(Refusal {
                finding_id: f.id.clone(),
                rule: f.rule.clone(),
                system: f.system.clone(),
                employee_id: f.employee_id.clone(),
                reason,
            });
            continue;
        }
        let section = inputs.rules.get(&f.rule).and_then(|r| r.remediate.as_ref());
        let kinds = section.map(|s| s.actions.as_slice()).unwrap_or_default();
        let planned: Vec<Planned> = kinds
            .iter()
            .flat_map(|k| changes_for(k, f, inputs.observed))
            .collect();
        if planned.is_empty() || section.is_some_and(|s| s.task_always) {
            let text = section
                .and_then(|s| s.task.as_deref())
                .map(|t| fill(t, f))
                .unwrap_or_else(|| f.remediation.trim().to_string());
            plan.tasks.push(Task {
                finding_id: f.id.clone(),
                rule: f.rule.clone(),
                system: f.system.clone(),
                employee_id: f.employee_id.clone(),
                text: format!("{text} (subject: {})", f.subject),
            });
        }
        for p in planned {
            merge(&mut plan.actions, inputs, f, p);
        }
    }
    // Reversible changes first, then the irreversible ones that delete nothing the person could
    // not be given again (a login profile), deletions last; the order within each is the
    // findings' order (stable sort).
    plan.actions.sort_by_key(|a| (a.delete, !a.reversible));
    plan
}

/// Why the guard rails keep `f` out of the plan, if they do.
fn refusal(inputs: &Inputs, f: &Finding) -> Option<String> {
    let Some(employee) = f.employee_id.as_deref() else {
        return Some(
            "the finding is linked to no person: remediation acts only on leavers and movers"
                .into(),
        );
    };
    let Some(person) = inputs.people.get(employee) else {
        return Some(format!("{employee} is not in the HR snapshots"));
    };
    let mover_rule = f.rule == "mover-residual-entitlement";
    if person.is_leaver(inputs.now) {
        if mover_rule {
            return Some(format!(
                "{employee} is now a leaver: this mover finding gives way to the leaver's own findings"
            ));
        }
    } else if person.is_mover(inputs.now) {
        if !mover_rule {
            return Some(format!(
                "{employee} is a mover, not a leaver: only the previous role's entitlements (mover-residual-entitlement) are removed"
            ));
        }
        let grace = Duration::days(inputs.mover_grace_days);
        if let Some(moved) = person.moved_at {
            if inputs.now < moved + grace {
                return Some(format!(
                    "{employee} moved on {} and is within the {}-day grace period",
                    moved.format("%Y-%m-%d"),
                    inputs.mover_grace_days
                ));
            }
        }
    } else {
        return Some(format!(
            "{employee} is neither a leaver nor a mover in the latest HR snapshot"
        ));
    }
    match inputs.latest_runs.get(&f.system) {
        None => Some(format!("{} has no scan run", f.system)),
        Some(run) if run.status != "complete" => Some(format!(
            "the latest run of {} (run {}) is {}: act only on what a complete run saw; sweep it again first",
            f.system, run.id, run.status
        )),
        Some(_) => None,
    }
}

/// Adds `p` to `actions`, or the finding to the action that already makes the same change.
fn merge(actions: &mut Vec<Action>, inputs: &Inputs, f: &Finding, p: Planned) {
    if let Some(a) = actions.iter_mut().find(|a| a.change == p.change) {
        if !a.finding_ids.contains(&f.id) {
            a.finding_ids.push(f.id.clone());
            a.rules.push(f.rule.clone());
        }
        return;
    }
    let blocked = if !super::allow::allows(inputs.allow, p.kind) {
        Some(format!(
            "`{}` is not in [policy.remediate] allow of the configuration",
            p.kind
        ))
    } else if p.delete && !inputs.allow_delete {
        Some("deletes: applied only with --allow-delete".into())
    } else {
        None
    };
    actions.push(Action {
        kind: p.kind.to_string(),
        finding_ids: vec![f.id.clone()],
        rules: vec![f.rule.clone()],
        system: f.system.clone(),
        employee_id: f.employee_id.clone(),
        target: p.target,
        call: p.change.api_call(),
        reversible: p.reversible,
        delete: p.delete,
        command: p.command,
        blocked,
        change: p.change,
    });
}

/// A rule's task text with the finding's `{account}`, `{system}` and `{subject}` filled in, and
/// `{evidence:/json/pointer}` with that field of the finding's evidence (a role's name and the
/// principal to remove from its trust policy): what a person needs to do the task by hand.
fn fill(text: &str, f: &Finding) -> String {
    let mut out = text
        .trim()
        .replace("{account}", &f.account)
        .replace("{system}", &f.system)
        .replace("{subject}", &f.subject);
    // Scanning on past each filled value: a value that itself holds `{evidence:` is left as is.
    let mut from = 0;
    while let Some(found) = out[from..].find("{evidence:") {
        let start = from + found;
        let Some(len) = out[start..].find('}') else {
            break;
        };
        let pointer = &out[start + "{evidence:".len()..start + len];
        let value = match f.evidence.pointer(pointer) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => "(not recorded)".to_string(),
            Some(other) => other.to_string(),
        };
        out.replace_range(start..start + len + 1, &value);
        from = start + value.len();
    }
    out
}

/// `user/kind/id` (ids may hold `/`, as policy ARNs do); `user` alone for account findings.
fn split_subject(subject: &str) -> (&str, Option<&str>, Option<&str>) {
    let mut parts = subject.splitn(3, '/');
    let user = parts.next().unwrap_or_default();
    (user, parts.next(), parts.next())
}

/// The changes action kind `kind` makes for `f` (none when it does not fit the finding).
fn changes_for(kind: &str, f: &Finding, observed: &HashMap<String, Observations>) -> Vec<Planned> {
    if let Some(org) = f.system.strip_prefix("github:") {
        return github_changes(kind, f, org).into_iter().collect();
    }
    if let Some(group) = f.system.strip_prefix("gitlab:") {
        return gitlab_changes(kind, f, group, observed)
            .into_iter()
            .collect();
    }
    match f.system.strip_prefix("aws-iam:") {
        Some(account) => aws_changes(kind, f, account, observed),
        None => Vec::new(),
    }
}

/// One planned change to an IAM user of `account`.
fn aws_planned(
    account: &str,
    kind: &'static str,
    change: AwsChange,
    target: String,
    reversible: bool,
    delete: bool,
) -> Planned {
    Planned {
        kind,
        command: command::aws(&change),
        change: Change::AwsIam {
            account: account.to_string(),
            change,
        },
        target,
        reversible,
        delete,
    }
}

/// The IAM change `kind` makes for `f` in `account`: subjects are `user/access-key/ID`,
/// `user/console-password`, `user/ssh-key/ID`, `user/group/NAME`, `user/policy/ARN`, … or the
/// bare user name for an account finding.
fn aws_changes(
    kind: &str,
    f: &Finding,
    account: &str,
    observed: &HashMap<String, Observations>,
) -> Vec<Planned> {
    let (user, what, id) = split_subject(&f.subject);
    let user = user.to_string();
    let aws = |kind, change, target, reversible, delete| {
        aws_planned(account, kind, change, target, reversible, delete)
    };
    let id = id.map(str::to_string);
    match (kind, what, id) {
        ("aws-iam:deactivate-access-key", Some("access-key"), Some(key_id)) => vec![aws(
            "aws-iam:deactivate-access-key",
            AwsChange::DeactivateAccessKey {
                user: user.clone(),
                key_id: key_id.clone(),
            },
            format!("access key {key_id} of user {user}"),
            true,
            false,
        )],
        ("aws-iam:delete-access-key", Some("access-key"), Some(key_id)) => vec![aws(
            "aws-iam:delete-access-key",
            AwsChange::DeleteAccessKey {
                user: user.clone(),
                key_id: key_id.clone(),
            },
            format!("access key {key_id} of user {user}"),
            false,
            true,
        )],
        ("aws-iam:delete-login-profile", Some("console-password" | "login"), _) => vec![aws(
            "aws-iam:delete-login-profile",
            AwsChange::DeleteLoginProfile { user: user.clone() },
            format!("console password (login profile) of user {user}"),
            false,
            false,
        )],
        ("aws-iam:deactivate-ssh-key", Some("ssh-key"), Some(key_id)) => vec![aws(
            "aws-iam:deactivate-ssh-key",
            AwsChange::DeactivateSshKey {
                user: user.clone(),
                key_id: key_id.clone(),
            },
            format!("SSH public key {key_id} of user {user}"),
            true,
            false,
        )],
        ("aws-iam:deactivate-signing-certificate", Some("signing-certificate"), Some(cert)) => {
            vec![aws(
                "aws-iam:deactivate-signing-certificate",
                AwsChange::DeactivateSigningCertificate {
                    user: user.clone(),
                    certificate_id: cert.clone(),
                },
                format!("signing certificate {cert} of user {user}"),
                true,
                false,
            )]
        }
        ("aws-iam:deactivate-service-credential", Some("service-credential"), Some(cred)) => {
            vec![aws(
                "aws-iam:deactivate-service-credential",
                AwsChange::DeactivateServiceCredential {
                    user: user.clone(),
                    credential_id: cred.clone(),
                },
                format!("service-specific credential {cred} of user {user}"),
                true,
                false,
            )]
        }
        ("aws-iam:remove-from-group" | "aws-iam:detach-user-policy", what, id) => {
            aws_grant_changes(kind, f, account, &user, what, id, observed)
        }
        _ => Vec::new(),
    }
}

/// Group removals and managed-policy detachments for `user`: a grant finding names one grant;
/// an account finding stands for every grant the last sweep saw.
fn aws_grant_changes(
    kind: &str,
    f: &Finding,
    account: &str,
    user: &str,
    what: Option<&str>,
    id: Option<String>,
    observed: &HashMap<String, Observations>,
) -> Vec<Planned> {
    // A grant finding names one grant; an account finding stands for all of them.
    let held: Vec<(GrantKind, String)> = match (what, id) {
        (Some("group"), Some(g)) => vec![(GrantKind::Group, g)],
        (Some("policy"), Some(p)) => vec![(GrantKind::Policy, p)],
        (None, _) => observed
            .get(&f.system)
            .into_iter()
            .flat_map(|o| &o.grants)
            .filter(|g| g.account == user)
            .map(|g| (g.kind, g.target.clone()))
            .collect(),
        _ => Vec::new(),
    };
    held.into_iter()
        .filter_map(|(grant_kind, target)| match (kind, grant_kind) {
            ("aws-iam:remove-from-group", GrantKind::Group) => Some(aws_planned(
                account,
                "aws-iam:remove-from-group",
                AwsChange::RemoveFromGroup {
                    user: user.to_string(),
                    group: target.clone(),
                },
                format!("membership of user {user} in group {target}"),
                true,
                false,
            )),
            // Inline policies (`inline:NAME`) can only be deleted: left to a task.
            ("aws-iam:detach-user-policy", GrantKind::Policy) if target.starts_with("arn:") => {
                Some(aws_planned(
                    account,
                    "aws-iam:detach-user-policy",
                    AwsChange::DetachUserPolicy {
                        user: user.to_string(),
                        policy_arn: target.clone(),
                    },
                    format!("managed policy {target} attached to user {user}"),
                    true,
                    false,
                ))
            }
            _ => None,
        })
        .collect()
}

/// The GitHub change `kind` makes for `f` in `org`: subjects are `login/org-member/ORG`,
/// `login/collaborator/OWNER/REPO`, `login-or-email/invitation/ORG` (the invitation id is in the
/// evidence), `adder/deploy-key/OWNER/REPO#ID`, `login/token/pat:ID` (a fine-grained token's
/// grant) and `login/token/sso:ID` or `login/ssh-key/sso:ID` (an SSO authorization).
///
/// Long by design: one match arm per change kind, each the whole mapping for that kind, so the
/// table reads best in one place.
fn github_changes(kind: &str, f: &Finding, org: &str) -> Option<Planned> {
    let (who, what, id) = split_subject(&f.subject);
    let planned =
        |kind: &'static str, change: GithubChange, target: String, reversible, delete| Planned {
            kind,
            command: command::github(&change),
            change: Change::Github {
                org: org.to_string(),
                change,
            },
            target,
            reversible,
            delete,
        };
    match (kind, what, id) {
        ("github:remove-member", Some("org-member"), Some(o)) if o == org => Some(planned(
            "github:remove-member",
            GithubChange::RemoveMember {
                org: org.to_string(),
                login: who.to_string(),
            },
            format!("membership of {who} in the {org} organisation"),
            false,
            false,
        )),
        ("github:remove-collaborator", Some("collaborator"), Some(repo)) if repo.contains('/') => {
            Some(planned(
                "github:remove-collaborator",
                GithubChange::RemoveCollaborator {
                    repo: repo.to_string(),
                    login: who.to_string(),
                },
                format!("collaborator access of {who} to {repo}"),
                false,
                false,
            ))
        }
        ("github:cancel-invitation", Some("invitation"), Some(o)) if o == org => {
            let id = f
                .evidence
                .pointer("/grant/attributes/invitation_id")
                .and_then(|v| v.as_str())
                .and_then(|v| v.parse::<u64>().ok())?;
            Some(planned(
                "github:cancel-invitation",
                GithubChange::CancelInvitation {
                    org: org.to_string(),
                    invitation_id: id,
                },
                format!("invitation {id} of {who} to the {org} organisation"),
                false,
                false,
            ))
        }
        ("github:delete-deploy-key", Some("deploy-key"), Some(key)) => {
            let (repo, id) = key.rsplit_once('#')?;
            let key_id = id.parse::<u64>().ok()?;
            Some(planned(
                "github:delete-deploy-key",
                GithubChange::DeleteDeployKey {
                    repo: repo.to_string(),
                    key_id,
                },
                format!("deploy key {key_id} of {repo} (added by {who})"),
                false,
                true,
            ))
        }
        ("github:revoke-pat", Some("token"), Some(id)) => {
            let pat_id = id.strip_prefix("pat:")?.parse::<u64>().ok()?;
            Some(planned(
                "github:revoke-pat",
                GithubChange::RevokePat {
                    org: org.to_string(),
                    pat_id,
                },
                format!("fine-grained token grant {pat_id} of {who} on the {org} organisation"),
                false,
                false,
            ))
        }
        ("github:revoke-sso-authorization", Some("token" | "ssh-key"), Some(id)) => {
            let credential_id = id.strip_prefix("sso:")?.parse::<u64>().ok()?;
            Some(planned(
                "github:revoke-sso-authorization",
                GithubChange::RevokeSsoAuthorization {
                    org: org.to_string(),
                    credential_id,
                },
                format!("SAML SSO authorization {credential_id} of a credential of {who} on {org}"),
                false,
                false,
            ))
        }
        _ => None,
    }
}

/// The GitLab change `kind` makes for `f` (subject `username/group/FULL_PATH`); the user's
/// numeric id, which the API needs, is the `id` the latest complete run recorded for the account.
fn gitlab_changes(
    kind: &str,
    f: &Finding,
    top: &str,
    observed: &HashMap<String, Observations>,
) -> Option<Planned> {
    let (who, what, group) = split_subject(&f.subject);
    if kind != "gitlab:remove-member" || what != Some("group") {
        return None;
    }
    let group = group?;
    let user_id = observed
        .get(&f.system)?
        .accounts
        .iter()
        .find(|a| a.name == who)?
        .attributes
        .get("id")?
        .parse::<u64>()
        .ok()?;
    let change = GitlabChange::RemoveGroupMember {
        group: group.to_string(),
        user_id,
        username: who.to_string(),
    };
    Some(Planned {
        kind: "gitlab:remove-member",
        command: command::gitlab(&change),
        change: Change::Gitlab {
            group: top.to_string(),
            change,
        },
        target: format!("membership of {who} (user {user_id}) in group {group}"),
        reversible: false,
        delete: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::FindingState;
    use crate::hr::{HrStatus, PersonRecord};

    const NOW: &str = "2026-06-01T00:00:00Z";

    fn t(s: &str) -> DateTime<Utc> {
        residual_scanners::time::parse_time(s).expect("time")
    }

    fn person(id: &str, leaver: bool, moved_at: Option<&str>) -> Person {
        let mut p = Person::new(PersonRecord {
            employee_id: id.into(),
            email: format!("{id}@example.com"),
            name: None,
            status: if leaver {
                HrStatus::Leaver
            } else {
                HrStatus::Active
            },
            terminated_at: leaver.then(|| t("2026-03-01")),
            department: Some("Finance".into()),
            title: None,
            manager: None,
            aliases: Vec::new(),
            github_login: None,
            gitlab_user: None,
            aws_user: None,
            role_changed_at: None,
            attributes: Default::default(),
        });
        p.moved_at = moved_at.map(t);
        p.previous_department = moved_at.map(|_| "Engineering".into());
        p
    }

    fn finding(id: &str, rule: &str, employee: &str, subject: &str) -> Finding {
        Finding {
            id: id.into(),
            rule: rule.into(),
            severity: "high".into(),
            state: FindingState::Open,
            employee_id: Some(employee.into()),
            system: "aws-iam:111122223333".into(),
            account: subject.split('/').next().unwrap_or_default().into(),
            subject: subject.into(),
            live: Some(true),
            first_seen: NOW.into(),
            last_seen: NOW.into(),
            resolved_at: None,
            resolved_by_run: None,
            exception_id: None,
            evidence: serde_json::Value::Null,
            remediation: "by hand".into(),
            unit: None,
        }
    }

    fn plan_of(findings: &[Finding], people: &[Person], allow: &[&str], delete: bool) -> Plan {
        let rules = RuleSet::builtin().expect("rules");
        let people: HashMap<String, Person> = people
            .iter()
            .map(|p| (p.employee_id().to_string(), p.clone()))
            .collect();
        let runs: HashMap<String, LatestRun> = [(
            "aws-iam:111122223333".to_string(),
            LatestRun {
                id: 1,
                status: "complete".into(),
            },
        )]
        .into();
        let allow: Vec<String> = allow.iter().map(|s| s.to_string()).collect();
        plan(&Inputs {
            findings,
            rules: &rules,
            people: &people,
            latest_runs: &runs,
            observed: &HashMap::new(),
            now: t(NOW),
            mover_grace_days: 7,
            allow: &allow,
            allow_delete: delete,
        })
    }

    #[test]
    fn a_task_names_the_role_and_the_principal_to_remove_from_its_trust_policy() {
        let mut f = finding(
            "f",
            "leaver-can-assume-role",
            "E1",
            "ann/role-trust/arn:aws:iam::111122223333:role/deploy",
        );
        f.evidence = serde_json::json!({"role": "arn:aws:iam::111122223333:role/deploy",
            "trust": {"principal": "arn:aws:iam::111122223333:user/ann", "role_name": "deploy"}});
        let p = plan_of(&[f], &[person("E1", true, None)], &["*"], false);
        assert!(p.actions.is_empty());
        let text = &p.tasks[0].text;
        assert!(text.contains("--role-name deploy"), "{text}");
        assert!(
            text.contains("arn:aws:iam::111122223333:user/ann"),
            "{text}"
        );
    }

    #[test]
    fn a_mover_loses_the_old_roles_grant_only_past_the_grace_period() {
        let grant = |e: &str| finding("f", "mover-residual-entitlement", e, "bo/group/eng-admins");
        let past = plan_of(
            &[grant("E2")],
            &[person("E2", false, Some("2026-05-01"))],
            &["*"],
            false,
        );
        assert_eq!(past.actions.len(), 1, "{past:?}");
        assert_eq!(past.actions[0].kind, "aws-iam:remove-from-group");
        assert!(past.actions[0].blocked.is_none());

        let within = plan_of(
            &[grant("E2")],
            &[person("E2", false, Some("2026-05-28"))],
            &["*"],
            false,
        );
        assert!(within.actions.is_empty());
        assert!(
            within.refused[0].reason.contains("grace period"),
            "{within:?}"
        );
    }

    #[test]
    fn a_mover_keeps_access_no_mover_rule_names_and_an_employee_keeps_everything() {
        let key = |e: &str| finding("f", "leaver-active-access-key", e, "bo/access-key/AKIA1");
        let mover = plan_of(
            &[key("E2")],
            &[person("E2", false, Some("2026-05-01"))],
            &["*"],
            false,
        );
        assert!(mover.actions.is_empty() && mover.refused[0].reason.contains("mover"));
        let active = plan_of(&[key("E3")], &[person("E3", false, None)], &["*"], false);
        assert!(active.actions.is_empty());
        assert!(active.refused[0]
            .reason
            .contains("neither a leaver nor a mover"));
    }

    #[test]
    fn actions_are_ordered_reversible_first_deletions_last_and_shared_changes_merged() {
        let findings = [
            finding(
                "f1",
                "leaver-console-login",
                "E1",
                "ann/console-password/login-profile:ann",
            ),
            finding(
                "f2",
                "leaver-active-access-key",
                "E1",
                "ann/access-key/AKIA1",
            ),
            finding(
                "f3",
                "credential-used-after-departure",
                "E1",
                "ann/access-key/AKIA1",
            ),
        ];
        let p = plan_of(
            &findings,
            &[person("E1", true, None)],
            &["aws-iam:*"],
            false,
        );
        let kinds: Vec<&str> = p.actions.iter().map(|a| a.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "aws-iam:deactivate-access-key",
                "aws-iam:delete-login-profile",
                "aws-iam:delete-access-key"
            ]
        );
        assert_eq!(
            p.actions[0].finding_ids,
            ["f2", "f3"],
            "one change, two findings"
        );
        assert!(p.actions[2]
            .blocked
            .as_deref()
            .unwrap()
            .contains("--allow-delete"));
        let with_delete = plan_of(&findings, &[person("E1", true, None)], &["aws-iam:*"], true);
        assert!(with_delete.actions.iter().all(|a| a.blocked.is_none()));
        let not_allowed = plan_of(&findings, &[person("E1", true, None)], &[], true);
        assert!(not_allowed.actions.iter().all(|a| a
            .blocked
            .as_deref()
            .unwrap()
            .contains("[policy.remediate] allow")));
    }
}
