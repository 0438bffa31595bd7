//! Gate a repository: observe it (history, or the commits not reachable from a pull request's
//! base, with the index and working tree, CODEOWNERS and workflow files), evaluate the rules
//! against HR, and say which findings block at the threshold and which an exception or a
//! suppression covers. It writes nothing anywhere: HR from a file is read into memory, the store
//! (when one is used) is only read, exceptions are matched in memory, and a pull request's
//! partial view never resolves anything.

use super::repository::{self, InlineAllow, RepositoryPlan, Suppressed};
use super::{hr_import, Context, Error, Result};
use crate::evaluate::{self, Candidate, CredentialFacts};
use crate::exceptions::{self, Covering};
use crate::findings::finding_id;
use crate::hr::HrFormat;
use crate::keys::FingerprintKey;
use crate::link::PeopleIndex;
use crate::person::Person;
use crate::rule_id::RuleId;
use crate::rules::RuleSet;
use crate::severity::Severity;
use crate::store::exceptions::Exception;
use crate::store::{exceptions as stored_exceptions, people, Store};
use residual_scanners::facets::CodeOwner;
use residual_scanners::git::{self, GitStats, KnownObjects};
use residual_scanners::repo_files::WorkflowSecret;
use residual_scanners::verify::VerifyConfig;
use residual_scanners::{Credential, Grant, Observations, RunStatus};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Where the gate's people come from.
pub enum HrSource<'a> {
    /// The store's people, its exceptions and what its sweeps know about credentials; the store
    /// was opened read-only.
    Store(&'a Store),
    /// An HR snapshot file, read into memory; no store is used.
    File {
        path: &'a Path,
        format: Option<HrFormat>,
    },
}

/// One gate of one repository.
pub struct GatePlan<'a> {
    pub path: &'a Path,
    /// Read only commits not reachable from this revision.
    pub since: Option<&'a str>,
    pub fail_on: Severity,
    pub hr: HrSource<'a>,
    pub verify: Option<VerifyConfig>,
}

/// What the gate decided.
pub struct GateOutcome {
    pub system: String,
    pub status: RunStatus,
    pub fail_on: Severity,
    /// Findings in the order evaluation raised them, then those the suppressions hid.
    pub findings: Vec<GateFinding>,
    pub blocking: usize,
    pub ignored: Vec<Suppressed>,
    pub inline: Vec<InlineAllow>,
    pub workflow_secrets: Vec<WorkflowSecret>,
    pub stats: GitStats,
    /// The rules evaluated, for outputs that describe them (SARIF).
    pub rules: RuleSet,
    /// What the reader must know about how complete the look was (a shallow clone, a `--since`
    /// that could not be used): stderr, JSON `notes` and SARIF tool notifications.
    pub notes: Vec<String>,
}

/// A finding as the gate reports it.
#[derive(Debug, Clone, Serialize)]
pub struct GateFinding {
    pub id: String,
    pub rule: String,
    pub severity: Severity,
    pub employee_id: Option<String>,
    pub account: String,
    pub subject: String,
    pub path: Option<String>,
    pub line: Option<u64>,
    pub commit: Option<String>,
    pub live: Option<bool>,
    /// The secret pattern that matched (its id, e.g. `aws-access-key-id`), for secret findings.
    pub pattern: Option<String>,
    /// `--verify`'s verdict on the secret (`live`, `revoked`, `error`), when it was checked.
    pub verified: Option<String>,
    /// Whom the provider says the secret acts as (IAM user ARN, GitHub login).
    pub verified_owner: Option<String>,
    pub blocking: bool,
    pub exception: Option<String>,
    /// Why a `.residualignore` rule or an inline `residual:allow` hides the secret behind the
    /// finding: reported, never blocking.
    pub suppressed: Option<String>,
    /// How the suppression is placed: `inSource` (inline) or `external`.
    #[serde(skip)]
    pub suppression_kind: &'static str,
    pub remediation: String,
}

/// Gates one repository, secrets fingerprinted under `key`.
pub fn gate(cx: &Context, plan: GatePlan, key: &FingerprintKey) -> Result<GateOutcome> {
    let known_people = people_of(cx, &plan.hr)?;
    let covering = Covering::at(exceptions_of(cx, &plan.hr)?, cx.now);
    let path = plan.path;
    let mut notes = Vec::new();
    let known = since_base(path, plan.since, &mut notes)?;
    if let Some(rev) = plan.since.filter(|_| !known.commits.is_empty()) {
        notes.extend(ignore_file_changed(path, rev.trim()));
    }
    let system = repository::system_name(path, None);
    let seen = repository::observe(
        RepositoryPlan {
            path,
            system: system.clone(),
            known,
            include_worktree: true,
            verify: plan.verify,
        },
        key,
        &cx.progress,
    )?;
    if seen.shallow {
        notes.push(repository::SHALLOW_NOTE.to_string());
    }
    let obs = &seen.scan.report.observations;
    let rules = RuleSet::builtin()?;
    let facts = match &plan.hr {
        HrSource::Store(store) => crate::facts::for_observations(store, obs)?,
        HrSource::File { .. } => CredentialFacts::default(),
    };
    let index = PeopleIndex::new(known_people.values());
    let evaluate = |obs: &Observations| {
        evaluate::evaluate(&rules, &cx.policy, &facts, cx.now, &index, &system, obs)
    };
    let evaluation = evaluate(obs);
    let mut findings = decide(
        &evaluation.candidates,
        &Subjects::of(&obs.credentials, &obs.grants),
        &covering,
        plan.fail_on,
    );
    // What the suppressions hide, evaluated the same way: findings that would have been raised
    // without them are reported as suppressed results (SARIF `suppressions`) and never block.
    let hidden_obs = Observations {
        accounts: obs.accounts.clone(),
        credentials: seen.hidden,
        grants: Vec::new(),
    };
    let hidden_evaluation = evaluate(&hidden_obs);
    findings.extend(suppressed(
        &hidden_evaluation.candidates,
        &Subjects::of(&hidden_obs.credentials, &[]),
        &hidden_obs.credentials,
        &findings,
    ));
    let blocking = findings.iter().filter(|f| f.blocking).count();
    Ok(GateOutcome {
        system,
        status: seen.scan.report.status,
        fail_on: plan.fail_on,
        findings,
        blocking,
        ignored: seen.ignored,
        inline: seen.inline,
        workflow_secrets: seen.workflow_secrets,
        stats: seen.scan.stats,
        rules,
        notes,
    })
}

/// The commits `--since` says are already checked. The value CI passes is not always usable:
/// empty (a push event without a `before`), the all-zero id (the first push of a branch), or a
/// revision this clone does not have (a force-push, a shallow clone). Each falls back to the
/// whole history with a note instead of failing the build on a technicality.
fn since_base(path: &Path, since: Option<&str>, notes: &mut Vec<String>) -> Result<KnownObjects> {
    let Some(rev) = since.map(str::trim) else {
        return Ok(KnownObjects::default());
    };
    let fallback = |why: String, notes: &mut Vec<String>| {
        notes.push(format!("{why}: scanning the whole history instead"));
        Ok(KnownObjects::default())
    };
    if rev.is_empty() {
        return fallback("--since is empty".into(), notes);
    }
    if rev.bytes().all(|b| b == b'0') {
        return fallback(
            format!("--since {rev} is the all-zero id (the first push of a new branch)"),
            notes,
        );
    }
    match git::commits_reachable(path, rev) {
        Ok(commits) => Ok(KnownObjects {
            commits,
            blobs: Default::default(),
        }),
        Err(git::GitError::Object { .. }) => fallback(
            format!("--since {rev} is not a commit of this repository (force-pushed, or outside a shallow clone)"),
            notes,
        ),
        Err(e) => Err(e.into()),
    }
}

/// A note when `.residualignore` was added, changed or removed since `rev` (untracked or
/// modified in this pull request): it could hide the pull request's own secret from the gate.
fn ignore_file_changed(path: &Path, rev: &str) -> Option<String> {
    let changed = git::file_differs_from(path, rev, ".residualignore").unwrap_or(true);
    changed.then(|| {
        format!(
            ".residualignore differs from --since {rev} (untracked or changed here): review it, \
             it can hide this change's own secrets"
        )
    })
}

fn people_of(cx: &Context, hr: &HrSource) -> Result<HashMap<String, Person>> {
    let (known, place) = match hr {
        HrSource::Store(store) => (
            people::load_all(store.conn())?,
            store.path().display().to_string(),
        ),
        HrSource::File { path, format } => (
            hr_import::people_in_memory(path, *format, cx.now, &cx.progress)?,
            path.display().to_string(),
        ),
    };
    if known.is_empty() {
        return Err(Error::Input(format!(
            "no HR snapshot in {place}: run `residual hr import FILE` or pass --hr FILE"
        )));
    }
    Ok(known)
}

/// The exceptions that may cover the gate's findings: the store's (when one is used) and the
/// configured file's, read and never written.
fn exceptions_of(cx: &Context, hr: &HrSource) -> Result<Vec<Exception>> {
    let stored = match hr {
        HrSource::Store(store) => stored_exceptions::list(store.conn())?,
        HrSource::File { .. } => Vec::new(),
    };
    Ok(exceptions::as_they_stand(&stored, &cx.exceptions, cx.now)?)
}

/// The gate's findings from evaluation's candidates: blocking at or above `fail_on` unless an
/// exception covers them.
fn decide(
    candidates: &[Candidate],
    subjects: &Subjects,
    covering: &Covering,
    fail_on: Severity,
) -> Vec<GateFinding> {
    // One result per finding: the same candidate can be raised twice (a committer whose email
    // CODEOWNERS also names links twice), as a run counts it once.
    let mut seen = HashSet::new();
    candidates
        .iter()
        .filter(|c| seen.insert(finding_id(c.rule.as_str(), &c.system, &c.subject)))
        .map(|c| {
            let id = finding_id(c.rule.as_str(), &c.system, &c.subject);
            let exception = covering.get(&id);
            let blocks = exception.is_none() && c.severity >= fail_on;
            gate_finding(c, subjects, id, blocks, exception)
        })
        .collect()
}

/// The findings only the hidden (suppressed) credentials raise, each carrying its suppression.
fn suppressed(
    candidates: &[Candidate],
    subjects: &Subjects,
    hidden: &[Credential],
    reported: &[GateFinding],
) -> Vec<GateFinding> {
    let reported: HashSet<&str> = reported.iter().map(|f| f.id.as_str()).collect();
    let mut out = Vec::new();
    for c in candidates {
        let id = finding_id(c.rule.as_str(), &c.system, &c.subject);
        if reported.contains(id.as_str()) {
            continue;
        }
        let Some(cred) = hidden
            .iter()
            .find(|h| evaluate::credential_subject(h) == c.subject)
        else {
            continue;
        };
        let mut finding = gate_finding(c, subjects, id, false, None);
        let reason = cred
            .attributes
            .get("suppressed")
            .cloned()
            .unwrap_or_default();
        finding.suppression_kind = if reason.starts_with("inline") {
            "inSource"
        } else {
            "external"
        };
        finding.suppressed = Some(reason);
        out.push(finding);
    }
    out
}

/// The observations the gate's findings are about, by subject: the secret behind a
/// `leaver-secret-in-git` finding, the CODEOWNERS entry behind a `leaver-codeowner` one. Their
/// facets say where the finding is (file, line, commit) and what verification said.
struct Subjects<'a> {
    credentials: HashMap<String, &'a Credential>,
    codeowners: HashMap<String, &'a Grant>,
}

impl<'a> Subjects<'a> {
    fn of(credentials: &'a [Credential], grants: &'a [Grant]) -> Subjects<'a> {
        Subjects {
            credentials: credentials
                .iter()
                .filter(|c| c.facets.secret.is_some())
                .map(|c| (evaluate::credential_subject(c), c))
                .collect(),
            codeowners: grants
                .iter()
                .filter(|g| g.facets.codeowner.is_some())
                .map(|g| (evaluate::grant_subject(g), g))
                .collect(),
        }
    }

    /// The secret a finding is about, for the rules whose evidence shows it.
    fn secret(&self, c: &Candidate) -> Option<&'a Credential> {
        let subject = match c.rule {
            RuleId::LeaverSecretInGit => c.subject.as_str(),
            // One finding per secret and leaver: `<credential subject>/for:<employee id>`.
            RuleId::SharedSecretNeedsRotation => c.subject.rsplit_once("/for:")?.0,
            _ => return None,
        };
        self.credentials.get(subject).copied()
    }

    fn codeowner(&self, c: &Candidate) -> Option<&'a CodeOwner> {
        if c.rule != RuleId::LeaverCodeowner {
            return None;
        }
        self.codeowners.get(&c.subject)?.facets.codeowner.as_deref()
    }
}

fn gate_finding(
    c: &Candidate,
    subjects: &Subjects,
    id: String,
    blocking: bool,
    exception: Option<&Exception>,
) -> GateFinding {
    let secret = subjects.secret(c);
    let found = secret.and_then(|s| s.facets.secret.as_ref());
    let provenance = found.and_then(|f| f.provenance.as_ref());
    let verification = secret.and_then(|s| s.facets.verification.as_ref());
    let codeowner = subjects.codeowner(c);
    // A CODEOWNERS finding is on the first line of its file that names the leaver.
    let path = provenance
        .and_then(|p| p.path.clone())
        .or_else(|| codeowner.map(|o| o.file.clone()));
    let line = provenance
        .and_then(|p| p.line)
        .or_else(|| codeowner.and_then(|o| o.lines.first().copied()));
    GateFinding {
        id,
        rule: c.rule.as_str().to_string(),
        severity: c.severity,
        employee_id: c.employee_id.clone(),
        account: c.account.clone(),
        subject: c.subject.clone(),
        path,
        line,
        pattern: found
            .map(|f| f.pattern_id.clone())
            .filter(|p| !p.is_empty()),
        commit: provenance.and_then(|p| p.commit.clone()),
        live: c.live,
        verified: verification.map(|v| v.verdict.as_str().to_string()),
        verified_owner: verification.and_then(|v| v.owner.clone()),
        blocking,
        suppressed: None,
        suppression_kind: "external",
        exception: exception.map(|e| {
            format!(
                "{} (approved by {}, until {}): {}",
                e.id, e.approver, e.expires_at, e.reason
            )
        }),
        remediation: c.remediation(),
    }
}
