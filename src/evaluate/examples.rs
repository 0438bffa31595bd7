//! `rules check`: every rule file's examples run through the evaluator, one rule at a time, so a
//! rule cannot silently rot; and every matcher of this build must have a rule file.
//!
//! It lives beside the evaluator because it depends on both the rule files ([`crate::rules`]) and
//! the evaluator, while the rule files depend on neither.

use super::{evaluate, CredentialFact, CredentialFacts, Policy};
use crate::hr::{HrStatus, PersonRecord};
use crate::link::PeopleIndex;
use crate::person::Person;
use crate::rule_id::RuleId;
use crate::rules::{Example, ExampleFact, ExamplePerson, RuleSet};
use residual_scanners::Observations;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// An example whose outcome was not what its rule file says.
#[derive(Debug, Clone, Serialize)]
pub struct ExampleFailure {
    pub rule: String,
    pub example: String,
    pub expected_match: bool,
    pub findings: usize,
}

/// Outcome of `rules check`.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub rules: usize,
    pub examples: usize,
    pub failures: Vec<ExampleFailure>,
    /// Matcher ids with no rule file.
    pub unmapped_matchers: Vec<String>,
}

/// Runs every example of every rule through the evaluator, one rule at a time.
pub fn check(set: &RuleSet) -> CheckReport {
    let mut failures = Vec::new();
    let mut examples = 0;
    for rule in set.iter() {
        let only = set.only(&rule.id);
        for ex in &rule.examples {
            examples += 1;
            let n = findings_of(&only, &rule.id, ex);
            if (n > 0) != ex.matches {
                failures.push(ExampleFailure {
                    rule: rule.id.clone(),
                    example: ex.name.clone(),
                    expected_match: ex.matches,
                    findings: n,
                });
            }
        }
    }
    let unmapped_matchers = RuleId::ALL
        .iter()
        .filter(|m| !set.contains(m.as_str()))
        .map(|m| m.to_string())
        .collect();
    CheckReport {
        rules: set.len(),
        examples,
        failures,
        unmapped_matchers,
    }
}

/// How many candidates of rule `id` one example raises, evaluated with only that rule loaded.
fn findings_of(only: &RuleSet, id: &str, ex: &Example) -> usize {
    let people: Vec<Person> = ex.people.iter().map(to_person).collect();
    let now = ex
        .now
        .unwrap_or_else(|| residual_scanners::time::parse_time("2026-06-01").unwrap_or_default());
    let policy = Policy {
        departments: ex
            .departments
            .clone()
            .into_iter()
            .collect::<HashMap<_, _>>(),
        ..Policy::default()
    };
    let obs = Observations {
        accounts: ex.accounts.clone(),
        credentials: ex.credentials.clone(),
        grants: ex.grants.clone(),
    };
    let index = PeopleIndex::new(&people);
    let facts = CredentialFacts {
        by_id: ex
            .facts
            .clone()
            .into_iter()
            .map(|(k, v)| (k, to_fact(v)))
            .collect(),
        ..Default::default()
    };
    let result = evaluate(only, &policy, &facts, now, &index, &ex.system, &obs);
    result
        .candidates
        .iter()
        .filter(|c| c.rule.as_str() == id)
        .count()
}

/// A credential fact of an example, as the aws-iam sweep of the example account would give it.
fn to_fact(f: ExampleFact) -> CredentialFact {
    CredentialFact {
        live: f.live,
        system: Some("aws-iam:123456789012".into()),
        account: f.account,
        employee_id: f.employee_id,
    }
}

/// A person of an example, with the HR fields rules do not look at left empty.
fn to_person(p: &ExamplePerson) -> Person {
    let status = HrStatus::parse(&p.status).unwrap_or(HrStatus::Active);
    let mut person = Person::new(PersonRecord {
        employee_id: p.employee_id.clone(),
        email: p.email.to_lowercase(),
        name: None,
        status,
        terminated_at: p.terminated_at,
        department: p.department.clone(),
        title: None,
        manager: None,
        aliases: vec![],
        github_login: p.github_login.clone(),
        gitlab_user: p.gitlab_user.clone(),
        aws_user: p.aws_user.clone(),
        role_changed_at: None,
        attributes: BTreeMap::new(),
    });
    person.present = p.present;
    person.moved_at = p.moved_at;
    person.previous_department = p.previous_department.clone();
    person
}
