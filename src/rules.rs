//! Residual-access rules as data: `rules/access/*.toml`.
//!
//! A rule file gives the stable id, title, description, default severity, remediation text,
//! framework mapping and its own examples. The condition itself is code in [`crate::evaluate`],
//! keyed by id; [`check`] runs every example through that code so that a rule cannot silently rot,
//! and refuses a rule file without a matcher (or a matcher without a rule file).

use crate::evaluate::{self, Policy};
use crate::hr::{HrStatus, PersonRecord};
use crate::person::Person;
use crate::severity::Severity;
use chrono::{DateTime, Utc};
use residual_scanners::{Account, Credential, Grant, Observations};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The rule files shipped inside the binary, so it works from any directory.
const BUILTIN: &[(&str, &str)] = &[
    (
        "leaver-active-account.toml",
        include_str!("../rules/access/leaver-active-account.toml"),
    ),
    (
        "credential-used-after-departure.toml",
        include_str!("../rules/access/credential-used-after-departure.toml"),
    ),
    (
        "leaver-owned-nhi.toml",
        include_str!("../rules/access/leaver-owned-nhi.toml"),
    ),
    (
        "mover-residual-entitlement.toml",
        include_str!("../rules/access/mover-residual-entitlement.toml"),
    ),
    (
        "orphan-account.toml",
        include_str!("../rules/access/orphan-account.toml"),
    ),
    (
        "leaver-credentials.toml",
        include_str!("../rules/access/leaver-credentials.toml"),
    ),
    (
        "leaver-can-assume-role.toml",
        include_str!("../rules/access/leaver-can-assume-role.toml"),
    ),
    (
        "leaver-secret-in-git.toml",
        include_str!("../rules/access/leaver-secret-in-git.toml"),
    ),
    (
        "leaver-org-member.toml",
        include_str!("../rules/access/leaver-org-member.toml"),
    ),
    (
        "leaver-outside-collaborator.toml",
        include_str!("../rules/access/leaver-outside-collaborator.toml"),
    ),
    (
        "leaver-pending-invitation.toml",
        include_str!("../rules/access/leaver-pending-invitation.toml"),
    ),
    (
        "leaver-codeowner.toml",
        include_str!("../rules/access/leaver-codeowner.toml"),
    ),
    (
        "shared-secret-needs-rotation.toml",
        include_str!("../rules/access/shared-secret-needs-rotation.toml"),
    ),
    (
        "leaver-credential-in-ci.toml",
        include_str!("../rules/access/leaver-credential-in-ci.toml"),
    ),
];

/// A rule file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{file}: cannot read")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("{file}: rule `{id}`: {message}")]
    Invalid {
        file: String,
        id: String,
        message: String,
    },
}

/// One residual-access rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    pub remediation: String,
    /// Control mappings, e.g. `NIST SP 800-53 PS-4`, `SOC 2 CC6.2`, `OWASP NHI1:2025`.
    pub frameworks: Vec<String>,
    #[serde(default, skip_serializing)]
    pub examples: Vec<Example>,
}

/// A rule file may hold one rule (top-level keys) or several (`[[rule]]`).
#[derive(Deserialize)]
#[serde(untagged)]
enum RuleFile {
    Many { rule: Vec<Rule> },
    One(Box<Rule>),
}

/// A person in an example, with just the fields rules look at.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExamplePerson {
    pub employee_id: String,
    pub email: String,
    #[serde(default = "active")]
    pub status: String,
    pub terminated_at: Option<DateTime<Utc>>,
    pub department: Option<String>,
    pub moved_at: Option<DateTime<Utc>>,
    pub previous_department: Option<String>,
    pub aws_user: Option<String>,
    pub github_login: Option<String>,
    pub gitlab_user: Option<String>,
    #[serde(default = "yes")]
    pub present: bool,
}

fn active() -> String {
    "active".into()
}

fn yes() -> bool {
    true
}

/// A scenario and whether the rule must match it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub name: String,
    /// True: the rule must raise at least one finding; false: it must raise none.
    pub matches: bool,
    /// Evaluation time; defaults to 2026-06-01T00:00:00Z.
    pub now: Option<DateTime<Utc>>,
    #[serde(default = "example_system")]
    pub system: String,
    #[serde(default)]
    pub people: Vec<ExamplePerson>,
    #[serde(default)]
    pub accounts: Vec<Account>,
    #[serde(default)]
    pub credentials: Vec<Credential>,
    #[serde(default)]
    pub grants: Vec<Grant>,
    /// Department → entitlements mapping for mover rules.
    #[serde(default)]
    pub departments: BTreeMap<String, Vec<String>>,
    /// What other scanners know of credentials, by non-secret id.
    #[serde(default)]
    pub facts: BTreeMap<String, ExampleFact>,
}

/// A credential fact in an example (see [`evaluate::CredentialFact`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleFact {
    pub live: Option<bool>,
    /// The IAM user that holds it.
    pub account: Option<String>,
    /// The person that account links to.
    pub employee_id: Option<String>,
}

impl From<ExampleFact> for evaluate::CredentialFact {
    fn from(f: ExampleFact) -> Self {
        evaluate::CredentialFact {
            live: f.live,
            system: Some("aws-iam:123456789012".into()),
            account: f.account,
            employee_id: f.employee_id,
        }
    }
}

fn example_system() -> String {
    "inventory:example".into()
}

impl ExamplePerson {
    fn to_person(&self) -> Person {
        let status = HrStatus::parse(&self.status).unwrap_or(HrStatus::Active);
        let mut p = Person::new(PersonRecord {
            employee_id: self.employee_id.clone(),
            email: self.email.to_lowercase(),
            name: None,
            status,
            terminated_at: self.terminated_at,
            department: self.department.clone(),
            title: None,
            manager: None,
            aliases: vec![],
            github_login: self.github_login.clone(),
            gitlab_user: self.gitlab_user.clone(),
            aws_user: self.aws_user.clone(),
            role_changed_at: None,
            attributes: BTreeMap::new(),
        });
        p.present = self.present;
        p.moved_at = self.moved_at;
        p.previous_department = self.previous_department.clone();
        p
    }
}

/// The loaded rules, by id.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: BTreeMap<String, Rule>,
}

impl RuleSet {
    /// The rules shipped with this build.
    pub fn builtin() -> Result<RuleSet, RuleError> {
        let mut rules = BTreeMap::new();
        for (file, text) in BUILTIN {
            for rule in parse_file(file, text)? {
                insert(&mut rules, file, rule)?;
            }
        }
        Ok(RuleSet { rules })
    }

    /// Every `*.toml` in `dir`.
    pub fn load_dir(dir: &Path) -> Result<RuleSet, RuleError> {
        let io = |source| RuleError::Io {
            file: dir.to_path_buf(),
            source,
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        files.sort();
        let mut rules = BTreeMap::new();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|source| RuleError::Io {
                file: path.clone(),
                source,
            })?;
            let name = path.display().to_string();
            for rule in parse_file(&name, &text)? {
                insert(&mut rules, &name, rule)?;
            }
        }
        Ok(RuleSet { rules })
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.get(id)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.rules.contains_key(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.rules.values()
    }

    /// A set holding only `id`, for running one rule's examples.
    fn only(&self, id: &str) -> RuleSet {
        RuleSet {
            rules: self
                .rules
                .get(id)
                .map(|r| (id.to_string(), r.clone()))
                .into_iter()
                .collect(),
        }
    }
}

fn parse_file(file: &str, text: &str) -> Result<Vec<Rule>, RuleError> {
    let parsed: RuleFile = toml::from_str(text).map_err(|e| RuleError::Parse {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    Ok(match parsed {
        RuleFile::Many { rule } => rule,
        RuleFile::One(r) => vec![*r],
    })
}

fn insert(rules: &mut BTreeMap<String, Rule>, file: &str, rule: Rule) -> Result<(), RuleError> {
    let invalid = |message: &str| RuleError::Invalid {
        file: file.to_string(),
        id: rule.id.clone(),
        message: message.to_string(),
    };
    if !evaluate::MATCHERS.contains(&rule.id.as_str()) {
        return Err(invalid("no matcher in this build has this id"));
    }
    if rule.frameworks.is_empty() {
        return Err(invalid(
            "`frameworks` is empty; map the rule to at least one control",
        ));
    }
    if !rule.examples.iter().any(|e| e.matches) || !rule.examples.iter().any(|e| !e.matches) {
        return Err(invalid(
            "needs at least one matching and one non-matching example",
        ));
    }
    if rules.contains_key(&rule.id) {
        return Err(invalid("defined twice"));
    }
    rules.insert(rule.id.clone(), rule);
    Ok(())
}

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
            let people: Vec<Person> = ex.people.iter().map(ExamplePerson::to_person).collect();
            let now = ex.now.unwrap_or_else(|| {
                residual_scanners::time::parse_time("2026-06-01").unwrap_or_default()
            });
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
            let index = crate::link::PeopleIndex::new(&people);
            let facts = evaluate::CredentialFacts {
                by_id: ex
                    .facts
                    .clone()
                    .into_iter()
                    .map(|(k, v)| (k, v.into()))
                    .collect(),
                ..Default::default()
            };
            let result = evaluate::evaluate(&only, &policy, &facts, now, &index, &ex.system, &obs);
            let n = result
                .candidates
                .iter()
                .filter(|c| c.rule == rule.id)
                .count();
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
    let unmapped_matchers = evaluate::MATCHERS
        .iter()
        .filter(|m| !set.contains(m))
        .map(|m| m.to_string())
        .collect();
    CheckReport {
        rules: set.rules.len(),
        examples,
        failures,
        unmapped_matchers,
    }
}
