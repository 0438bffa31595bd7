//! Observe a repository: the one step `scan git` and `gate` share, so both see the same things.
//! Its history (all of it, or the objects the plan does not know), the index and working tree
//! where asked, the owners CODEOWNERS names, the secrets workflow files read, the repository's
//! `.residualignore` and inline `residual:allow` suppressions, and — opt-in — each verifiable
//! secret checked with its provider.

use super::{secret_matcher, Error, Progress, Result};
use crate::keys::FingerprintKey;
use crate::verification::Verifier;
use residual_scanners::git::{self, GitScan, GitScanOptions, KnownObjects};
use residual_scanners::repo_files::{self, WorkflowSecret};
use residual_scanners::verify::VerifyConfig;
use residual_scanners::{Credential, Observations};
use serde::Serialize;
use std::path::Path;

/// What to observe of one repository.
pub struct RepositoryPlan<'a> {
    pub path: &'a Path,
    /// The system its findings are filed under (`git:NAME`, see [`system_name`]).
    pub system: String,
    /// Objects not to read again (earlier runs' objects, or a pull request's base).
    pub known: KnownObjects,
    /// Also read the index and the working tree.
    pub include_worktree: bool,
    /// Verify found secrets with their providers.
    pub verify: Option<VerifyConfig>,
}

/// What one repository holds.
pub struct RepositoryObservation {
    /// The scan; its report's observations are the secrets no suppression covers (verified when
    /// asked), their authors, and the owners CODEOWNERS names with their grants.
    pub scan: GitScan,
    /// Secrets a `.residualignore` rule took out.
    pub ignored: Vec<Suppressed>,
    /// The credentials the suppressions hid (`.residualignore` and inline), each with a
    /// `suppressed` attribute giving the reason: what they would have raised is reported as
    /// suppressed, never blocking.
    pub hidden: Vec<Credential>,
    /// Matches an inline `residual:allow` covered.
    pub inline: Vec<InlineAllow>,
    /// The secrets the workflow files read.
    pub workflow_secrets: Vec<WorkflowSecret>,
    /// A shallow clone: the history read stops at the shallow boundary.
    pub shallow: bool,
}

/// What to say about a shallow clone, in every place a scan of one is reported.
pub const SHALLOW_NOTE: &str = "shallow clone: commits before the shallow boundary are not \
    visible, so this is not a complete look at history (fetch it whole with `git fetch \
    --unshallow`, or `fetch-depth: 0` in actions/checkout)";

/// A secret a `.residualignore` rule suppressed: still reported, never silently dropped.
#[derive(Debug, Clone, Serialize)]
pub struct Suppressed {
    pub credential: String,
    pub pattern_id: String,
    pub path: Option<String>,
    pub reason: String,
}

/// A match an inline `residual:allow` covered.
#[derive(Debug, Clone, Serialize)]
pub struct InlineAllow {
    pub pattern_id: String,
    pub fingerprint: String,
    pub path: Option<String>,
    pub line: usize,
    pub reason: &'static str,
}

/// The system a repository's findings are filed under: `git:NAME`, NAME given or the
/// directory's name (without `.git`).
pub fn system_name(path: &Path, name: Option<&str>) -> String {
    let name = name.map(str::to_string).unwrap_or_else(|| {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let base = canonical
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        base.strip_suffix(".git")
            .map(str::to_string)
            .unwrap_or(base)
    });
    format!("git:{name}")
}

/// Observes one repository as `plan` says, with secrets fingerprinted under `key`.
pub fn observe(
    plan: RepositoryPlan,
    key: &FingerprintKey,
    progress: &Progress,
) -> Result<RepositoryObservation> {
    let path = plan.path;
    let repo_name = plan.system.trim_start_matches("git:").to_string();
    let verifier = plan.verify.map(Verifier::new);
    let mut matcher = secret_matcher(key)?;
    if let Some(v) = &verifier {
        matcher = v.attach(matcher);
    }
    let options = GitScanOptions {
        include_worktree: plan.include_worktree,
        known: plan.known,
        name: Some(repo_name.clone()),
        progress: git_progress(progress, &plan.system),
        ..GitScanOptions::default()
    };
    let mut scan = git::scan_repository(path, &options, &matcher)?;
    let shallow = git::is_shallow(path)?;
    let removed = apply_ignore(path, &mut scan.report.observations)?;
    let hidden = hidden_credentials(&scan, &removed);
    let ignored = removed.into_iter().map(|(s, _)| s).collect();
    let inline = inline_allows(&scan);
    let owners = repo_files::codeowners(path, &repo_name)
        .map_err(|e| Error::Input(format!("{}: reading CODEOWNERS: {e}", path.display())))?;
    scan.report.observations.accounts.extend(owners.accounts);
    scan.report.observations.grants.extend(owners.grants);
    let workflow_secrets = repo_files::workflow_secrets(path)
        .map_err(|e| Error::Input(format!("{}: reading workflow files: {e}", path.display())))?;
    if let Some(v) = &verifier {
        v.verify_into(progress, &plan.system, &mut scan.report.observations)?;
    }
    Ok(RepositoryObservation {
        scan,
        ignored,
        hidden,
        inline,
        workflow_secrets,
        shallow,
    })
}

/// Progress lines for a long scan: nothing during its first seconds (most scans are over by
/// then), then the phases and every few seconds the blobs read.
fn git_progress(progress: &Progress, system: &str) -> Option<git::Progress> {
    if !progress.is_on() {
        return None;
    }
    let progress = progress.clone();
    let system = system.to_string();
    let started = std::time::Instant::now();
    Some(git::Progress::new(
        std::time::Duration::from_secs(5),
        move |p| {
            if started.elapsed() < std::time::Duration::from_secs(2) {
                return;
            }
            progress.say(match p {
                git::GitProgress::Walked { commits } => {
                    format!("scan {system}: {commits} commits walked; finding what each introduced")
                }
                git::GitProgress::Attributed { blobs } => {
                    format!("scan {system}: {blobs} blobs to read")
                }
                git::GitProgress::Reading { done, total, bytes } => format!(
                    "scan {system}: {done}/{total} blobs read ({} MiB scanned, {:.0} s)",
                    bytes >> 20,
                    started.elapsed().as_secs_f64()
                ),
            })
        },
    ))
}

/// Applies the repository's `.residualignore` to a scan's secrets: covered credentials are taken
/// out of the observations and returned with the suppression that covered them.
fn apply_ignore(dir: &Path, obs: &mut Observations) -> Result<Vec<(Suppressed, Credential)>> {
    let rules = repo_files::ignore_file(dir)
        .map_err(|e| Error::Input(format!("{}: reading .residualignore: {e}", dir.display())))?;
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    let mut removed = Vec::new();
    let mut kept = Vec::with_capacity(obs.credentials.len());
    for c in std::mem::take(&mut obs.credentials) {
        let secret = c.facets.secret.as_ref();
        let pattern = secret.map_or("", |s| s.pattern_id.as_str());
        let path = secret
            .and_then(|s| s.provenance.as_ref())
            .and_then(|p| p.path.as_deref());
        match rules.iter().find(|r| r.covers(pattern, &c.id, path)) {
            Some(rule) => {
                let suppressed = Suppressed {
                    credential: c.id.clone(),
                    pattern_id: pattern.to_string(),
                    path: path.map(str::to_string),
                    reason: rule.describe(),
                };
                removed.push((suppressed, c));
            }
            None => kept.push(c),
        }
    }
    obs.credentials = kept;
    Ok(removed)
}

/// The credentials the repository's suppressions hid: those a `.residualignore` rule took out
/// (attribute `suppressed` = the rule) and those an inline `residual:allow` covered.
fn hidden_credentials(scan: &GitScan, ignored: &[(Suppressed, Credential)]) -> Vec<Credential> {
    let mut hidden: Vec<Credential> = ignored
        .iter()
        .map(|(rule, c)| {
            let mut c = c.clone();
            c.attributes
                .insert("suppressed".into(), rule.reason.clone());
            c
        })
        .collect();
    hidden.extend(scan.suppressed_credentials().into_iter().map(|mut c| {
        let provenance = c.facets.secret.as_ref().and_then(|s| s.provenance.as_ref());
        let place = match provenance.map(|p| (&p.path, p.line)) {
            Some((Some(p), Some(l))) => format!(" at {p}:{l}"),
            _ => String::new(),
        };
        c.attributes
            .insert("suppressed".into(), format!("inline residual:allow{place}"));
        c
    }));
    hidden
}

fn inline_allows(scan: &GitScan) -> Vec<InlineAllow> {
    scan.hits
        .iter()
        .filter(|h| h.secret.suppressed.is_some())
        .map(|h| InlineAllow {
            pattern_id: h.secret.pattern_id.clone(),
            fingerprint: h.secret.fingerprint.clone(),
            path: h.provenance.first().and_then(|p| p.path.clone()),
            line: h.secret.line,
            reason: "inline residual:allow",
        })
        .collect()
}
