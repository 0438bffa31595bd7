//! The scanners of `residual`: the only code that talks to the outside world.
//!
//! Every scanner translates one system (an inventory export, AWS IAM, GitHub, a git repository, CI
//! variables) into the same small vocabulary — [`Account`], [`Credential`], [`Grant`] — and returns
//! them as one [`ScanReport`] per scan run. Scanners know nothing about HR, links or findings; the
//! core (`residual` crate) decides what is residual access.
//!
//! A report carries a [`RunStatus`] and its [`coverage`]: the units it read completely and those it
//! missed, with why. A finding resolves only when a run that is not `Failed` covered its unit, so
//! a scanner that could not see everything must name what it missed rather than return less; an
//! error it cannot attribute to a unit misses [`coverage::EVERYTHING`].
//!
//! # The interface the core uses
//!
//! * [`sweep`]`(&`[`Target`]`, &dyn `[`ValueMatcher`]`) -> Result<`[`ScanReport`]`, `[`SweepError`]`>`:
//!   one system (an inventory export, an AWS account, a GitHub org, a GitLab group) swept into one
//!   report. Blocking: it builds and owns the tokio runtime, so only this crate talks to tokio.
//!   A system that could not be read is a [`RunStatus::Failed`] report; only a bad input (a bad
//!   export row) is an `Err`.
//! * [`git::scan_repository`]: one repository's history (and, through [`repo_files`], its working
//!   tree files) — its own call because it also returns the objects it read, but its report is the
//!   same [`ScanReport`].
//! * [`verify::verify_blocking`]: found secrets checked with their providers, blocking, on a
//!   runtime of its own.
//! * [`ScanReport::failed`]: the one way to build the report of a run that read nothing usable.

#![warn(unreachable_pub)]

pub mod aws_iam;
pub mod aws_sso;
mod by_account;
mod ci_variable;
mod code_host;
pub mod coverage;
pub mod entra;
pub mod facets;
pub mod git;
pub mod github;
pub mod gitlab;
mod idp;
pub mod inventory;
mod oauth;
pub mod okta;
mod prehashed;
pub mod remediate;
pub mod repo_files;
mod rest;
pub mod secrets;
mod sweep;
mod system_id;
pub mod time;
pub mod verify;

pub use by_account::{ByAccount, Walk};
pub use ci_variable::{NoMatcher, ValueMatch, ValueMatcher};
pub use facets::{CredentialFacets, GrantFacets};
pub use prehashed::Prehashed;
pub use rest::{RestError, RestPolicy};
pub use sweep::{error_chain, sweep, sweep_aws_iam_users, SweepError, Target};
pub use system_id::SystemId;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Whether a scan run saw all of its scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Every object in scope was read: absence of a subject is proof of its removal.
    Complete,
    /// Some calls failed after retries: what was seen is real, what was not seen proves nothing.
    Partial,
    /// Nothing usable was read.
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Complete => "complete",
            RunStatus::Partial => "partial",
            RunStatus::Failed => "failed",
        }
    }
}

/// What kind of identity an account is. Non-human kinds are the ones an owner hint matters for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum AccountKind {
    /// A person's own login.
    User,
    /// A service account, robot or bot user.
    Service,
    /// A standalone token account (API token, PAT) listed as an account.
    Token,
    /// A standalone key listed as an account.
    Key,
    /// An assumable role (cloud IAM role).
    Role,
    /// An installed app or integration.
    App,
}

impl AccountKind {
    pub fn is_non_human(self) -> bool {
        !matches!(self, AccountKind::User)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::User => "user",
            AccountKind::Service => "service",
            AccountKind::Token => "token",
            AccountKind::Key => "key",
            AccountKind::Role => "role",
            AccountKind::App => "app",
        }
    }

    /// Parses the names used in exports and rule examples (`bot` and `robot` are services).
    pub fn parse(s: &str) -> Option<AccountKind> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "user" | "human" | "person" => AccountKind::User,
            "service" | "service_account" | "bot" | "robot" => AccountKind::Service,
            "token" => AccountKind::Token,
            "key" => AccountKind::Key,
            "role" => AccountKind::Role,
            "app" => AccountKind::App,
            _ => return None,
        })
    }
}

/// Hints that let the core link an account (or a non-human identity) to a person. A scanner fills
/// what the system tells it and nothing else.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityHints {
    /// Emails the system associates with the account (primary first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
    /// An HR employee id the system carries (a tag, a column, a SCIM attribute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<String>,
    /// The owner of a non-human identity: an email, employee id or login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Who created the object, when the system records it (e.g. a deploy key's `added_by`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// An identity in a system: an IAM user, a GitHub login, a row of an inventory export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The account's name in its system (IAM user name, login, export `account` column).
    pub name: String,
    pub kind: AccountKind,
    /// `Some(false)` when the system says the account is disabled or suspended.
    pub enabled: Option<bool>,
    pub created_at: Option<DateTime<Utc>>,
    /// Last sign-in or last use the system reports for the account itself.
    pub last_used_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub hints: IdentityHints,
    /// System-specific facts worth showing as evidence (ARN, path, tags).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

/// What kind of thing authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum CredentialKind {
    AccessKey,
    ConsolePassword,
    SshKey,
    ServiceCredential,
    SigningCertificate,
    MfaDevice,
    Token,
    DeployKey,
    SecretInCode,
    CiVariable,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::AccessKey => "access-key",
            CredentialKind::ConsolePassword => "console-password",
            CredentialKind::SshKey => "ssh-key",
            CredentialKind::ServiceCredential => "service-credential",
            CredentialKind::SigningCertificate => "signing-certificate",
            CredentialKind::MfaDevice => "mfa-device",
            CredentialKind::Token => "token",
            CredentialKind::DeployKey => "deploy-key",
            CredentialKind::SecretInCode => "secret-in-code",
            CredentialKind::CiVariable => "ci-variable",
        }
    }
}

/// Something that authenticates, identified by a non-secret id or a keyed fingerprint — never by
/// its value.
///
/// Its serialised form is the display form: [`Credential::facets`] is left out (the attributes
/// show the same facts) and, when read back, taken from the attributes
/// ([`CredentialFacets::from_attributes`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "CredentialRecord")]
pub struct Credential {
    /// The account (by [`Account::name`]) the credential belongs to.
    pub account: String,
    pub kind: CredentialKind,
    /// A non-secret identifier (access key id, SSH key id) or a keyed fingerprint.
    pub id: String,
    /// False when the system says the credential is inactive/disabled; inactive credentials are
    /// still observed so that evidence can show them, but rules ignore them.
    pub active: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub hints: IdentityHints,
    /// System-specific facts worth showing as evidence; for display only (rules read
    /// [`Credential::facets`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// The typed facts the core decides on: a found secret, a CI variable, a verdict.
    #[serde(skip)]
    pub facets: CredentialFacets,
}

/// A [`Credential`] as serialised: its facets are read back from its attributes.
#[derive(Deserialize)]
struct CredentialRecord {
    account: String,
    kind: CredentialKind,
    id: String,
    active: bool,
    created_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    #[serde(default)]
    hints: IdentityHints,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

impl From<CredentialRecord> for Credential {
    fn from(r: CredentialRecord) -> Credential {
        Credential {
            facets: CredentialFacets::from_attributes(r.kind, &r.attributes),
            account: r.account,
            kind: r.kind,
            id: r.id,
            active: r.active,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            hints: r.hints,
            attributes: r.attributes,
        }
    }
}

/// What kind of thing authorises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum GrantKind {
    /// Membership of a group (IAM group, directory group, inventory `groups`).
    Group,
    /// Team membership on a code host.
    Team,
    /// Organisation membership.
    OrgMember,
    /// Repository collaborator, with its permission as an attribute.
    Collaborator,
    /// A pending invitation.
    Invitation,
    /// A policy attached directly to the account.
    Policy,
    /// A role whose trust policy names the account.
    RoleTrust,
    /// An assignment to an application of an identity provider (Entra app role assignment,
    /// Okta app user), with the application as the target.
    AppAssignment,
    /// An administrator role of an identity provider (Entra directory role, Okta admin role).
    AdminRole,
    /// A permission set the account may use in a cloud account (IAM Identity Center), directly
    /// or through a group: target `ACCOUNT_ID/PERMISSION_SET`, the ways in as attribute `path`.
    Assignment,
}

impl GrantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantKind::Group => "group",
            GrantKind::Team => "team",
            GrantKind::OrgMember => "org-member",
            GrantKind::Collaborator => "collaborator",
            GrantKind::Invitation => "invitation",
            GrantKind::Policy => "policy",
            GrantKind::RoleTrust => "role-trust",
            GrantKind::AppAssignment => "app-assignment",
            GrantKind::AdminRole => "admin-role",
            GrantKind::Assignment => "assignment",
        }
    }
}

/// Something that authorises an account. Serialised in its display form, as [`Credential`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "GrantRecord")]
pub struct Grant {
    /// The account (by [`Account::name`]) that holds the grant.
    pub account: String,
    pub kind: GrantKind,
    /// What is granted: group name, team slug, role ARN, policy ARN.
    pub target: String,
    /// For display only (rules read [`Grant::facets`] where one applies).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// The typed facts the core decides on: a CODEOWNERS entry.
    #[serde(skip)]
    pub facets: GrantFacets,
}

/// A [`Grant`] as serialised: its facets are read back from its attributes.
#[derive(Deserialize)]
struct GrantRecord {
    account: String,
    kind: GrantKind,
    target: String,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

impl From<GrantRecord> for Grant {
    fn from(r: GrantRecord) -> Grant {
        Grant {
            facets: GrantFacets::from_attributes(r.kind, &r.attributes),
            account: r.account,
            kind: r.kind,
            target: r.target,
            attributes: r.attributes,
        }
    }
}

/// Everything one scan run saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observations {
    pub accounts: Vec<Account>,
    pub credentials: Vec<Credential>,
    pub grants: Vec<Grant>,
}

/// The result of one scan run of one scanner over one scope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScanReport {
    /// The scanner kind: `inventory`, `aws-iam`, `github`, `gitlab`, `git`.
    pub scanner: String,
    /// The system findings are filed under, e.g. `inventory:crm`, `aws-iam:123456789012`. Only a
    /// complete run of the same system resolves its findings.
    pub system: String,
    /// What the run read, for the audit chain: the export's SHA-256 (inventory), a digest of the
    /// ref tips (git), the account and caller (AWS). `None` when the scanner cannot vouch for it.
    pub input_digest: Option<String>,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub observations: Observations,
    /// Why the run is partial or failed; also non-fatal warnings.
    pub errors: Vec<String>,
    /// The units of the scope, each covered or missed with why (see [`coverage`]). Empty in a
    /// report from before coverage existed: then only a complete run vouches for anything.
    #[serde(default)]
    pub coverage: Vec<coverage::Unit>,
    /// How many calls or reads the scanner made (API calls, blobs), for progress and benchmarks.
    pub calls: u64,
}

impl ScanReport {
    /// The report of a run that read nothing usable (unreachable system, no credentials, an
    /// export that did not arrive): no observations, status [`RunStatus::Failed`], finished now.
    /// Such a run is recorded like any other, so that coverage shows the gap, and resolves nothing.
    /// Its coverage is one missed [`coverage::EVERYTHING`] with the first error as the reason.
    pub fn failed(
        scanner: &str,
        system: impl Into<String>,
        started_at: DateTime<Utc>,
        errors: Vec<String>,
        calls: u64,
    ) -> ScanReport {
        ScanReport {
            scanner: scanner.to_string(),
            system: system.into(),
            input_digest: None,
            status: RunStatus::Failed,
            started_at,
            finished_at: Utc::now(),
            observations: Observations::default(),
            coverage: vec![coverage::Unit {
                name: coverage::EVERYTHING.into(),
                missed: Some(coverage::Miss::unattributed(
                    errors
                        .first()
                        .cloned()
                        .unwrap_or_else(|| "nothing was read".into()),
                )),
            }],
            errors,
            calls,
        }
    }

    /// Settles a run that read something: the units `expected` with `misses` and, for every
    /// error in [`ScanReport::errors`] not already told by a miss, a miss of
    /// [`coverage::EVERYTHING`] (an error no unit is named for resolves nothing); the status
    /// follows (complete iff every unit is covered or switched off) unless the run already
    /// `Failed`. Each miss but a unit switched off is also told in the errors.
    pub fn settle(&mut self, expected: &[String], mut misses: Vec<coverage::Miss>) {
        let unattributed: Vec<coverage::Miss> = std::mem::take(&mut self.errors)
            .into_iter()
            .map(coverage::Miss::unattributed)
            .collect();
        misses.extend(unattributed);
        // A unit switched off is the configuration's choice, not an error: coverage tells it.
        self.errors = misses
            .iter()
            .filter(|m| m.class != coverage::MissClass::Disabled)
            .map(coverage::Miss::describe)
            .collect();
        self.coverage = coverage::units(expected, &misses);
        if self.status != RunStatus::Failed {
            self.status = coverage::status_of(&self.coverage);
        }
    }

    /// Records one more missed unit (a guard of the core: an export cut short, a shallow
    /// clone): the units it contains are missed too, the miss is told in the errors, and a run
    /// that had not failed becomes partial.
    pub fn miss(&mut self, m: coverage::Miss) {
        if m.class != coverage::MissClass::Disabled {
            self.errors.push(m.describe());
        }
        for u in self.coverage.iter_mut() {
            if u.missed.is_none() && coverage::contains(&m.unit, &u.name) {
                u.missed = Some(m.clone());
            }
        }
        if !self.coverage.iter().any(|u| u.name == m.unit) {
            self.coverage.push(coverage::Unit {
                name: m.unit.clone(),
                missed: Some(m),
            });
            self.coverage.sort_by(|a, b| a.name.cmp(&b.name));
        }
        if self.status != RunStatus::Failed {
            self.status = coverage::status_of(&self.coverage);
        }
    }
}
