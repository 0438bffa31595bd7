//! Running the git scanner for `scan git` and `gate`: the secrets matcher with the store's
//! fingerprint key, incremental runs from the objects the store remembers, and turning an
//! incremental report (new objects only) into a complete one by adding the previous complete
//! run's observations — so a run that reads nothing new still proves every earlier finding is
//! still there, and only a full run (`--full`) can drop a secret that left history.

use super::{fingerprint, Context, UsageError};
use crate::store::{git as git_store, observations, Store};
use residual_scanners::git::{self, GitScan, GitScanOptions};
use residual_scanners::secrets::{self, Matcher};
use residual_scanners::{Observations, RunStatus};
use std::collections::HashSet;
use std::path::Path;

/// The built-in secret patterns with this store's fingerprint key.
pub fn matcher(ctx: &Context) -> anyhow::Result<Matcher> {
    let patterns = secrets::builtin()?;
    Ok(Matcher::new(patterns, &fingerprint::fingerprint_key(ctx)?)?)
}

/// The system a repository's findings are filed under.
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

/// Progress lines on stderr for a long scan: nothing during its first seconds (most scans are
/// over by then), then the phases and every few seconds the blobs read.
pub fn progress(ctx: &Context, system: &str) -> Option<git::Progress> {
    if ctx.quiet {
        return None;
    }
    let system = system.to_string();
    let started = std::time::Instant::now();
    Some(git::Progress::new(
        std::time::Duration::from_secs(5),
        move |p| {
            if started.elapsed() < std::time::Duration::from_secs(2) {
                return;
            }
            match p {
                git::GitProgress::Walked { commits } => {
                    eprintln!(
                        "scan {system}: {commits} commits walked; finding what each introduced"
                    )
                }
                git::GitProgress::Attributed { blobs } => {
                    eprintln!("scan {system}: {blobs} blobs to read")
                }
                git::GitProgress::Reading { done, total, bytes } => eprintln!(
                    "scan {system}: {done}/{total} blobs read ({} MiB scanned, {:.0} s)",
                    bytes >> 20,
                    started.elapsed().as_secs_f64()
                ),
            }
        },
    ))
}

/// Scans one repository for `scan git`: incremental unless `full`, then completed with the
/// previous complete run's observations.
pub fn scan_for_store(
    ctx: &Context,
    store: &Store,
    path: &Path,
    name: Option<&str>,
    full: bool,
    matcher: &Matcher,
) -> anyhow::Result<GitScan> {
    if !path.exists() {
        return Err(UsageError(format!("{}: no such repository", path.display())).into());
    }
    let system = system_name(path, name);
    let known = if full {
        Default::default()
    } else {
        git_store::known(store.conn(), &system)?
    };
    let options = GitScanOptions {
        known,
        name: Some(system.trim_start_matches("git:").to_string()),
        progress: progress(ctx, &system),
        ..GitScanOptions::default()
    };
    ctx.progress(format!(
        "scan {system}: reading {} ({})",
        path.display(),
        if options.known.is_empty() {
            "full history"
        } else {
            "new objects only"
        }
    ));
    let mut scan = git::scan_repository(path, &options, matcher)?;
    let suppressed = apply_ignore(path, &mut scan.report.observations)?;
    if !suppressed.is_empty() {
        ctx.progress(format!(
            "scan {system}: {} secret(s) suppressed by .residualignore",
            suppressed.len()
        ));
    }
    if scan.incremental {
        match observations::latest_complete(store.conn(), &system)? {
            Some(previous) => merge(&mut scan.report.observations, previous),
            // The previous observations were pruned or never stored: only a full run is complete.
            None => {
                scan.report.status = RunStatus::Partial;
                scan.report.errors.push(
                    "incremental run without a previous complete run to add to; run with --full"
                        .into(),
                );
            }
        }
    }
    let s = &scan.stats;
    ctx.progress(format!(
        "scan {system}: {} commits, {} blobs scanned ({} MiB), {} known, {} binary and {} large skipped, {} matches",
        s.commits,
        s.blobs_scanned,
        s.bytes_scanned / (1 << 20),
        s.blobs_known,
        s.skipped_binary,
        s.skipped_large,
        s.hits
    ));
    Ok(scan)
}

/// Adds what the previous complete run saw to an incremental run's new observations.
fn merge(new: &mut Observations, previous: Observations) {
    let mut accounts: HashSet<String> = new.accounts.iter().map(|a| a.name.clone()).collect();
    for a in previous.accounts {
        if accounts.insert(a.name.clone()) {
            new.accounts.push(a);
        }
    }
    let mut creds: HashSet<String> = new.credentials.iter().map(|c| c.id.clone()).collect();
    for c in previous.credentials {
        if creds.insert(c.id.clone()) {
            new.credentials.push(c);
        }
    }
    new.grants.extend(previous.grants);
}

/// Remembers the objects a complete run read.
pub fn remember(store: &mut Store, system: &str, scan: &GitScan, full: bool) -> anyhow::Result<()> {
    if scan.report.status != RunStatus::Complete {
        return Ok(());
    }
    let tx = store.transaction()?;
    if full {
        git_store::forget(&tx, system)?;
    }
    git_store::remember(&tx, system, &scan.new_commits, &scan.new_blobs)?;
    tx.commit()?;
    Ok(())
}

/// A secret a `.residualignore` rule suppressed: still reported, never silently dropped.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Suppressed {
    pub credential: String,
    pub pattern_id: String,
    pub path: Option<String>,
    pub reason: String,
}

/// Applies the repository's `.residualignore` to a scan's secrets: covered credentials are taken
/// out of the observations and returned as suppressions.
pub fn apply_ignore(dir: &Path, obs: &mut Observations) -> anyhow::Result<Vec<Suppressed>> {
    let rules = residual_scanners::repo_files::ignore_file(dir)
        .map_err(|e| UsageError(format!("{}: reading .residualignore: {e}", dir.display())))?;
    if rules.is_empty() {
        return Ok(Vec::new());
    }
    let mut suppressed = Vec::new();
    obs.credentials.retain(|c| {
        let pattern = c
            .attributes
            .get("pattern_id")
            .map(String::as_str)
            .unwrap_or("");
        let path = c.attributes.get("path").map(String::as_str);
        match rules.iter().find(|r| r.covers(pattern, &c.id, path)) {
            Some(rule) => {
                suppressed.push(Suppressed {
                    credential: c.id.clone(),
                    pattern_id: pattern.to_string(),
                    path: path.map(str::to_string),
                    reason: rule.describe(),
                });
                false
            }
            None => true,
        }
    });
    Ok(suppressed)
}
