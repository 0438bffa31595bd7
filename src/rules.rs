//! Residual-access rules as data: `rules/access/*.toml`.
//!
//! A rule file gives the stable id, title, description, default severity, remediation text,
//! framework mapping and its own examples. The condition itself is code in [`crate::evaluate`],
//! keyed by a [`RuleId`]; loading refuses a rule file whose id no matcher has.
//! [`crate::evaluate::examples::check`] runs every example through that code so that a rule
//! cannot silently rot (and reports a matcher without a rule file). This module knows nothing of
//! the evaluator, so the evaluator can read rules without a circle.

use crate::rule_id::RuleId;
use crate::severity::Severity;
use chrono::{DateTime, Utc};
use residual_scanners::{Account, Credential, Grant};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
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
    (
        "leaver-idp-account-enabled.toml",
        include_str!("../rules/access/leaver-idp-account-enabled.toml"),
    ),
    (
        "leaver-idp-sessions-not-revoked.toml",
        include_str!("../rules/access/leaver-idp-sessions-not-revoked.toml"),
    ),
    (
        "leaver-idp-app-access.toml",
        include_str!("../rules/access/leaver-idp-app-access.toml"),
    ),
    (
        "leaver-admin-role.toml",
        include_str!("../rules/access/leaver-admin-role.toml"),
    ),
    (
        "leaver-sso.toml",
        include_str!("../rules/access/leaver-sso.toml"),
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
    /// What `residual remediate` may do about a finding of this rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remediate: Option<RemediateSection>,
}

/// A rule's `remediate` section: the action kinds (`SYSTEM_KIND:ACTION`) that may remediate its
/// findings, tried in order (those that fit a finding are planned), and the task text for a
/// finding none fits (or for every finding, with `task_always`) (`{account}`, `{system}` and `{subject}` are filled in).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediateSection {
    #[serde(default)]
    pub actions: Vec<String>,
    pub task: Option<String>,
    /// Give the task even when actions were planned: the actions downgrade the access but cannot
    /// end it (an IAM user keeps existing after its groups are removed).
    #[serde(default)]
    pub task_always: bool,
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

/// A credential fact in an example (see [`crate::evaluate::CredentialFact`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleFact {
    pub live: Option<bool>,
    /// The IAM user that holds it.
    pub account: Option<String>,
    /// The person that account links to.
    pub employee_id: Option<String>,
}

fn example_system() -> String {
    "inventory:example".into()
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

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// A set holding only `id`, for running one rule's examples.
    pub fn only(&self, id: &str) -> RuleSet {
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
    if rule.id.parse::<RuleId>().is_err() {
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
    let unknown = rule
        .remediate
        .iter()
        .flat_map(|r| &r.actions)
        .find(|a| !crate::remediate::actions::KNOWN_ACTIONS.contains(&a.as_str()));
    if let Some(a) = unknown {
        return Err(invalid(&format!(
            "remediate.actions: `{a}` is no action kind of this build (known: {})",
            crate::remediate::actions::KNOWN_ACTIONS.join(", ")
        )));
    }
    if rules.contains_key(&rule.id) {
        return Err(invalid("defined twice"));
    }
    rules.insert(rule.id.clone(), rule);
    Ok(())
}
