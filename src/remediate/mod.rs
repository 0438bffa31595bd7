//! Remediation plans: for each selected open finding, the exact changes that remove or downgrade
//! the access (in order, with the API call, the target, whether it can be undone, and the command
//! a person could run instead), or a task text where no change can be automated.
//!
//! This module only decides. [`plan::plan`] is a pure function from findings, rules, people,
//! observations and the policy to a [`Plan`]; `scanners::remediate` carries the changes out;
//! `store::remediation` records each outcome in the audit chain; `commands::remediate` wires them
//! and re-sweeps the touched systems, so that a finding resolves only through a complete run —
//! never through an API's answer.

pub mod actions;
pub mod allow;
pub mod command;
pub mod plan;
pub mod script;

use residual_scanners::remediate::{AwsChange, GithubChange, GitlabChange};
use serde::Serialize;

/// The change an action makes, in the terms the scanner that carries it out takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "system_kind", rename_all = "kebab-case")]
pub enum Change {
    /// A change to IAM in one AWS account.
    AwsIam { account: String, change: AwsChange },
    /// A change to one GitHub organisation.
    Github { org: String, change: GithubChange },
    /// A change to one GitLab group tree (the top-level group's system).
    Gitlab { group: String, change: GitlabChange },
}

impl Change {
    /// The API call, as the provider names it (`iam:UpdateAccessKey`).
    pub fn api_call(&self) -> String {
        match self {
            Change::AwsIam { change, .. } => change.api_call().to_string(),
            Change::Github { change, .. } => change.api_call().to_string(),
            Change::Gitlab { change, .. } => change.api_call().to_string(),
        }
    }
}

/// One planned change and why it is there.
#[derive(Debug, Clone, Serialize)]
pub struct Action {
    /// `SYSTEM_KIND:ACTION`, what `[policy.remediate] allow` matches (`aws-iam:deactivate-access-key`).
    pub kind: String,
    /// The findings this action remediates (one change can serve several rules' findings).
    pub finding_ids: Vec<String>,
    pub rules: Vec<String>,
    pub system: String,
    pub employee_id: Option<String>,
    /// What is changed, in words (`access key AKIA… of user ann`).
    pub target: String,
    /// The API call (`iam:UpdateAccessKey`).
    pub call: String,
    /// Whether the change can be undone (a deactivated key can be reactivated; a deleted login
    /// profile cannot be restored).
    pub reversible: bool,
    /// Deletes something: applied only with `--allow-delete`.
    pub delete: bool,
    /// The command a person could run instead (no credentials in it).
    pub command: String,
    /// Why `--apply` will not carry this action out (not allowed by policy, needs
    /// `--allow-delete`); `None` when it will.
    pub blocked: Option<String>,
    #[serde(skip)]
    pub change: Change,
}

/// A finding no change can remediate automatically: what a person must do, with what they need.
#[derive(Debug, Clone, Serialize)]
pub struct Task {
    pub finding_id: String,
    pub rule: String,
    pub system: String,
    pub employee_id: Option<String>,
    pub text: String,
}

/// A selected finding the guard rails keep out of the plan, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Refusal {
    pub finding_id: String,
    pub rule: String,
    pub system: String,
    pub employee_id: Option<String>,
    pub reason: String,
}

/// Everything `residual remediate` would do for the selected findings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// In the order they are applied: reversible changes first, deletions last.
    pub actions: Vec<Action>,
    pub tasks: Vec<Task>,
    pub refused: Vec<Refusal>,
}

impl Plan {
    /// The actions `--apply` carries out.
    pub fn applicable(&self) -> impl Iterator<Item = &Action> {
        self.actions.iter().filter(|a| a.blocked.is_none())
    }
}
