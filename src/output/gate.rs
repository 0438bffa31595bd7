//! The gate's report: text for a CI log, one JSON document, or SARIF for code scanning — all
//! rendered from the same [`GateOutcome`].

use super::sarif::{self, SarifResult};
use crate::cli::GateFormat;
use crate::pipeline::gate::{GateFinding, GateOutcome};
use std::io::Write;
use std::path::Path;

/// Writes `outcome` in `format`; `repository` is the path the gate was given.
pub fn write(
    out: &mut dyn Write,
    format: GateFormat,
    outcome: &GateOutcome,
    repository: &Path,
) -> anyhow::Result<()> {
    match format {
        GateFormat::Sarif => sarif_report(out, outcome)?,
        GateFormat::Json => json_report(out, outcome, repository)?,
        GateFormat::Text => text_report(out, outcome)?,
    }
    out.flush()?;
    Ok(())
}

fn sarif_report(out: &mut dyn Write, outcome: &GateOutcome) -> anyhow::Result<()> {
    let results: Vec<SarifResult> = outcome
        .findings
        .iter()
        .map(|f| SarifResult {
            finding_id: &f.id,
            rule: &f.rule,
            severity: f.severity,
            message: message(f),
            path: f.path.as_deref(),
            line: f.line,
            suppression: suppression(f),
            properties: [
                ("residual/verified", f.verified.clone()),
                ("residual/verifiedOwner", f.verified_owner.clone()),
                ("residual/live", f.live.map(|l| l.to_string())),
                ("residual/pattern", f.pattern.clone()),
            ]
            .into_iter()
            .filter_map(|(k, v)| Some((k, v?)))
            .collect(),
        })
        .collect();
    serde_json::to_writer_pretty(
        &mut *out,
        &sarif::document(&outcome.rules, &results, &outcome.notes),
    )?;
    writeln!(out)?;
    Ok(())
}

fn json_report(
    out: &mut dyn Write,
    outcome: &GateOutcome,
    repository: &Path,
) -> anyhow::Result<()> {
    let stats = &outcome.stats;
    let doc = serde_json::json!({
        "repository": repository.display().to_string(),
        "system": outcome.system,
        "status": outcome.status.as_str(),
        "fail_on": outcome.fail_on.as_str(),
        "blocking": outcome.blocking,
        "findings": outcome.findings,
        "workflow_secrets": outcome.workflow_secrets,
        "suppressed": { "residualignore": outcome.ignored, "inline": outcome.inline },
        "stats": { "commits": stats.commits, "blobs_scanned": stats.blobs_scanned, "matches": stats.hits },
        "notes": outcome.notes,
    });
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)?;
    Ok(())
}

fn text_report(out: &mut dyn Write, outcome: &GateOutcome) -> anyhow::Result<()> {
    for f in &outcome.findings {
        let mark = if f.blocking {
            "BLOCK"
        } else if f.exception.is_some() {
            "EXCEPTED"
        } else if f.suppressed.is_some() {
            "ALLOWED"
        } else {
            "warn"
        };
        writeln!(
            out,
            "{mark:8} {:8} {}  {}",
            f.severity.as_str(),
            f.rule,
            message(f)
        )?;
    }
    for sup in &outcome.ignored {
        writeln!(
            out,
            "SUPPRESSED {} {} ({})",
            sup.pattern_id,
            sup.path.as_deref().unwrap_or("?"),
            sup.reason
        )?;
    }
    if !outcome.inline.is_empty() {
        writeln!(
            out,
            "{} match(es) suppressed inline with residual:allow",
            outcome.inline.len()
        )?;
    }
    if !outcome.workflow_secrets.is_empty() {
        let names: std::collections::BTreeSet<&str> = outcome
            .workflow_secrets
            .iter()
            .map(|w| w.name.as_str())
            .collect();
        writeln!(
            out,
            "workflow secrets used: {}",
            names.into_iter().collect::<Vec<_>>().join(", ")
        )?;
    }
    for note in &outcome.notes {
        writeln!(out, "note: {note}")?;
    }
    writeln!(
        out,
        "gate {}: {} finding(s), {} blocking at --fail-on {}",
        if outcome.blocking > 0 {
            "FAILED"
        } else {
            "passed"
        },
        outcome.findings.len(),
        outcome.blocking,
        outcome.fail_on
    )?;
    Ok(())
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
        .as_deref()
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
    let what = f
        .pattern
        .as_deref()
        .map(|p| format!(" ({p} secret)"))
        .unwrap_or_default();
    format!(
        "{place}: {}{what} by {}{who}{commit}{verified}",
        f.rule, f.account
    )
}
