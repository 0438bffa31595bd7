//! `residual gate`: the CI gate of one repository. It scans history (all of it, or the commits
//! not reachable from `--since`), the index and working tree, CODEOWNERS and workflow files,
//! evaluates the rules against the HR snapshot, and fails the build when a finding at or above
//! `--fail-on` is not covered by a documented exception. It writes nothing to the store: a gate
//! is a read, and a pull request's partial view must never resolve anything.

use super::{Context, Exit, UsageError};
use crate::cli::{GateCommand, GateFormat};
use crate::evaluate::{self, Candidate};
use crate::findings::finding_id;
use crate::link::PeopleIndex;
use crate::output::sarif::{self, SarifResult};
use crate::rules::RuleSet;
use crate::store::{exceptions, people};
use residual_scanners::git::{self, GitScanOptions, KnownObjects};
use residual_scanners::{repo_files, RunStatus};
use serde::Serialize;
use std::io::Write;
use std::path::PathBuf;

/// A finding as the gate reports it.
#[derive(Serialize)]
struct GateFinding<'a> {
    id: String,
    rule: &'a str,
    severity: &'a str,
    employee_id: Option<&'a str>,
    account: &'a str,
    subject: &'a str,
    path: Option<String>,
    line: Option<u64>,
    commit: Option<String>,
    live: Option<bool>,
    /// `--verify`'s verdict on the secret (`live`, `revoked`, `error`), when it was checked.
    verified: Option<String>,
    /// Whom the provider says the secret acts as (IAM user ARN, GitHub login).
    verified_owner: Option<String>,
    blocking: bool,
    exception: Option<String>,
    /// Why a `.residualignore` rule or an inline `residual:allow` hides the secret behind the
    /// finding: reported, never blocking.
    suppressed: Option<String>,
    #[serde(skip)]
    suppression_kind: &'static str,
    remediation: String,
}

/// A throwaway store for `--hr`, removed when dropped.
struct TempStore(PathBuf);

impl Drop for TempStore {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn run(ctx: &Context, args: GateCommand) -> anyhow::Result<Exit> {
    let mut temp = None;
    let gate_ctx;
    let ctx = match &args.hr {
        Some(hr) => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            let dir =
                std::env::temp_dir().join(format!("residual-gate-{}-{nanos}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            let db = dir.join("gate.db");
            temp = Some(TempStore(db.clone()));
            gate_ctx = Context {
                db,
                config: ctx.config.clone(),
                now: ctx.now,
                quiet: ctx.quiet,
            };
            super::hr::import(&gate_ctx, hr, None, ctx.now, false)?;
            &gate_ctx
        }
        None => ctx,
    };
    let mut store = ctx.open_store()?;
    let known_people = people::load_all(store.conn())?;
    if known_people.is_empty() {
        return Err(UsageError(format!(
            "no HR snapshot in {}: run `residual hr import FILE` or pass --hr FILE",
            ctx.db.display()
        ))
        .into());
    }
    super::exceptions::sync(ctx, &mut store)?;

    let path = &args.path;
    let known = match &args.since {
        Some(rev) => KnownObjects {
            commits: git::commits_reachable(path, rev)?,
            blobs: Default::default(),
        },
        None => KnownObjects::default(),
    };
    let system = super::git::system_name(path, None);
    let options = GitScanOptions {
        include_worktree: true,
        known,
        name: Some(system.trim_start_matches("git:").to_string()),
        progress: super::git::progress(ctx, &system),
        ..GitScanOptions::default()
    };
    let verifier = args
        .verify
        .verify
        .then(|| super::verify::Verifier::new(super::verify::settings(ctx, &args.verify)));
    let mut matcher = super::git::matcher(ctx)?;
    if let Some(v) = &verifier {
        matcher = v.attach(matcher);
    }
    let scan = git::scan_repository(path, &options, &matcher)?;
    let mut obs = scan.report.observations.clone();
    let suppressed = super::git::apply_ignore(path, &mut obs)?;
    let hidden = hidden_credentials(&scan, &suppressed);
    if let Some(v) = &verifier {
        v.verify_into(ctx, &system, &mut obs)?;
    }
    let inline: Vec<serde_json::Value> = scan
        .hits
        .iter()
        .filter(|h| h.secret.suppressed.is_some())
        .map(|h| {
            serde_json::json!({
                "pattern_id": h.secret.pattern_id,
                "fingerprint": h.secret.fingerprint,
                "path": h.provenance.first().and_then(|p| p.path.clone()),
                "line": h.secret.line,
                "reason": "inline residual:allow",
            })
        })
        .collect();
    let repo_name = system.trim_start_matches("git:").to_string();
    let owners = repo_files::codeowners(path, &repo_name)
        .map_err(|e| UsageError(format!("{}: reading CODEOWNERS: {e}", path.display())))?;
    obs.accounts.extend(owners.accounts);
    obs.grants.extend(owners.grants);
    let workflow_secrets = repo_files::workflow_secrets(path)
        .map_err(|e| UsageError(format!("{}: reading workflow files: {e}", path.display())))?;

    let rules = RuleSet::builtin()?;
    let facts = crate::facts::for_observations(&store, &obs)?;
    let index = PeopleIndex::new(known_people.values());
    let policy = ctx.config.policy();
    let evaluate = |obs| evaluate::evaluate(&rules, &policy, &facts, ctx.now, &index, &system, obs);
    let evaluation = evaluate(&obs);
    // What the suppressions hide, evaluated the same way: findings that would have been raised
    // without them are reported as suppressed results (SARIF `suppressions`) and never block.
    let hidden_obs = residual_scanners::Observations {
        accounts: obs.accounts.clone(),
        credentials: hidden,
        grants: Vec::new(),
    };
    let hidden_evaluation = evaluate(&hidden_obs);
    let active = exceptions::active_ids(store.conn(), ctx.now)?;
    let all_exceptions = exceptions::list(store.conn())?;

    let mut findings = Vec::new();
    let mut blocking = 0;
    for c in &evaluation.candidates {
        let id = finding_id(&c.rule, &c.system, &c.subject);
        let exception = active
            .get(&id)
            .and_then(|eid| all_exceptions.iter().find(|e| &e.id == eid));
        let blocks = exception.is_none() && c.severity >= args.fail_on;
        blocking += usize::from(blocks);
        findings.push(gate_finding(c, id, blocks, exception));
    }
    let mut candidates: Vec<&Candidate> = evaluation.candidates.iter().collect();
    let reported: std::collections::HashSet<String> =
        findings.iter().map(|f| f.id.clone()).collect();
    for c in &hidden_evaluation.candidates {
        let id = finding_id(&c.rule, &c.system, &c.subject);
        if reported.contains(&id) {
            continue;
        }
        let Some(cred) = hidden_obs
            .credentials
            .iter()
            .find(|h| evaluate::credential_subject(h) == c.subject)
        else {
            continue;
        };
        let mut finding = gate_finding(c, id, false, None);
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
        findings.push(finding);
        candidates.push(c);
    }
    drop(temp);

    let mut out: Box<dyn Write> = match &args.output {
        Some(file) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(file)
                .map_err(|e| UsageError(format!("{}: {e}", file.display())))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    match args.format {
        GateFormat::Sarif => {
            let results: Vec<SarifResult> = findings
                .iter()
                .zip(&candidates)
                .map(|(f, c)| SarifResult {
                    finding_id: &f.id,
                    rule: f.rule,
                    severity: c.severity,
                    message: message(f),
                    path: f.path.as_deref(),
                    line: f.line,
                    suppression: suppression(f),
                    properties: [
                        ("residual/verified", f.verified.clone()),
                        ("residual/verifiedOwner", f.verified_owner.clone()),
                        ("residual/live", f.live.map(|l| l.to_string())),
                    ]
                    .into_iter()
                    .filter_map(|(k, v)| Some((k, v?)))
                    .collect(),
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &sarif::document(&rules, &results))?;
            writeln!(out)?;
        }
        GateFormat::Json => {
            let doc = serde_json::json!({
                "repository": path.display().to_string(),
                "system": system,
                "status": scan.report.status.as_str(),
                "fail_on": args.fail_on.as_str(),
                "blocking": blocking,
                "findings": findings,
                "workflow_secrets": workflow_secrets,
                "suppressed": { "residualignore": suppressed, "inline": inline },
                "stats": { "commits": scan.stats.commits, "blobs_scanned": scan.stats.blobs_scanned, "matches": scan.stats.hits },
            });
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
        GateFormat::Text => {
            for f in &findings {
                let mark = if f.blocking {
                    "BLOCK"
                } else if f.exception.is_some() {
                    "EXCEPTED"
                } else if f.suppressed.is_some() {
                    "ALLOWED"
                } else {
                    "warn"
                };
                writeln!(out, "{mark:8} {:8} {}  {}", f.severity, f.rule, message(f))?;
            }
            for sup in &suppressed {
                writeln!(
                    out,
                    "SUPPRESSED {} {} ({})",
                    sup.pattern_id,
                    sup.path.as_deref().unwrap_or("?"),
                    sup.reason
                )?;
            }
            if !inline.is_empty() {
                writeln!(
                    out,
                    "{} match(es) suppressed inline with residual:allow",
                    inline.len()
                )?;
            }
            if !workflow_secrets.is_empty() {
                let names: std::collections::BTreeSet<&str> =
                    workflow_secrets.iter().map(|w| w.name.as_str()).collect();
                writeln!(
                    out,
                    "workflow secrets used: {}",
                    names.into_iter().collect::<Vec<_>>().join(", ")
                )?;
            }
            writeln!(
                out,
                "gate {}: {} finding(s), {} blocking at --fail-on {}",
                if blocking > 0 { "FAILED" } else { "passed" },
                findings.len(),
                blocking,
                args.fail_on
            )?;
        }
    }
    out.flush()?;
    if scan.report.status != RunStatus::Complete {
        return Ok(Exit::Scanner);
    }
    Ok(if blocking > 0 {
        Exit::Findings
    } else {
        Exit::Ok
    })
}

fn gate_finding<'a>(
    c: &'a Candidate,
    id: String,
    blocking: bool,
    exception: Option<&exceptions::Exception>,
) -> GateFinding<'a> {
    let evidence: serde_json::Value = serde_json::from_str(&c.evidence).unwrap_or_default();
    let attr = |k: &str| -> Option<String> {
        Some(
            evidence
                .pointer(&format!("/secret/attributes/{k}"))?
                .as_str()?
                .to_string(),
        )
    };
    // A CODEOWNERS finding's subject ends in the file (`owner/collaborator/<repo>/<file>`).
    let codeowner_file = || {
        let file = c.subject.split_once("/collaborator/")?.1;
        Some(file.split_once('/').map_or(file, |(_, f)| f).to_string())
    };
    let path = attr("path").or_else(|| {
        if c.rule == "leaver-codeowner" {
            codeowner_file()
        } else {
            None
        }
    });
    GateFinding {
        id,
        rule: &c.rule,
        severity: c.severity.as_str(),
        employee_id: c.employee_id.as_deref(),
        account: &c.account,
        subject: &c.subject,
        path,
        line: attr("line").and_then(|l| l.parse().ok()),
        commit: attr("commit"),
        live: c.live,
        verified: attr("verified"),
        verified_owner: attr("verified_owner"),
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

/// The credentials the repository's suppressions hid: those a `.residualignore` rule took out
/// (attribute `suppressed` = the rule) and those an inline `residual:allow` covered.
fn hidden_credentials(
    scan: &git::GitScan,
    ignored: &[super::git::Suppressed],
) -> Vec<residual_scanners::Credential> {
    let mut hidden: Vec<residual_scanners::Credential> = scan
        .report
        .observations
        .credentials
        .iter()
        .filter_map(|c| {
            let rule = ignored.iter().find(|s| s.credential == c.id)?;
            let mut c = c.clone();
            c.attributes
                .insert("suppressed".into(), rule.reason.clone());
            Some(c)
        })
        .collect();
    hidden.extend(scan.suppressed_credentials().into_iter().map(|mut c| {
        let place = match (c.attributes.get("path"), c.attributes.get("line")) {
            (Some(p), Some(l)) => format!(" at {p}:{l}"),
            _ => String::new(),
        };
        c.attributes
            .insert("suppressed".into(), format!("inline residual:allow{place}"));
        c
    }));
    hidden
}

/// The SARIF suppression of a finding: a documented exception or a repository suppression.
fn suppression(f: &GateFinding) -> Option<sarif::Suppression> {
    if let Some(exception) = &f.exception {
        return Some(sarif::Suppression {
            kind: "external",
            justification: exception.clone(),
        });
    }
    f.suppressed.as_ref().map(|reason| sarif::Suppression {
        kind: f.suppression_kind,
        justification: reason.clone(),
    })
}

fn message(f: &GateFinding) -> String {
    let place = match (f.path.as_deref(), f.line) {
        (Some(p), Some(l)) => format!("{p}:{l}"),
        (Some(p), None) => p.to_string(),
        _ => "repository".into(),
    };
    let who = f
        .employee_id
        .map(|e| format!(" (person {e})"))
        .unwrap_or_default();
    let commit = f
        .commit
        .as_deref()
        .map(|c| format!(" in commit {}", &c[..c.len().min(12)]))
        .unwrap_or_default();
    let verified = match (f.verified.as_deref(), f.verified_owner.as_deref()) {
        (Some(v), Some(owner)) => format!(" [verified {v}: {owner}]"),
        (Some(v), None) => format!(" [verified {v}]"),
        _ => String::new(),
    };
    format!(
        "{place}: {} by {}{who}{commit}{verified}",
        f.rule, f.account
    )
}
