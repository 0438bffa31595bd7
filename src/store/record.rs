//! One scan run, written in one transaction: the run and its entry in the audit chain, what
//! changed in what its system holds, how its accounts link to people, and the finding
//! lifecycle's transitions with their events. An interrupted run leaves the store as it was.

use super::events::{EventWriter, RunEntry};
use super::findings::Source;
use super::observations::Changes;
use super::{exceptions, findings, links, observations, runs, Result, Store};
use crate::evaluate::Candidate;
use crate::findings::{plan_run, Outcome, RunRef};
use crate::link::Link;
use chrono::{DateTime, Utc};
use residual_scanners::time::format_time;
use residual_scanners::{coverage, ScanReport};

/// What recording one run wrote.
#[derive(Debug, Clone)]
pub struct RecordedRun {
    pub run_id: i64,
    /// What happened to findings.
    pub outcome: Outcome,
    /// What changed in what the system holds.
    pub changes: Changes,
}

/// Records `report` with the links and candidates its evaluation at `now` produced (`linked_by`
/// says what linking used besides the accounts: the HR snapshot and the policy): the run row
/// (the one [`runs::start`] committed as `started`, when given), its observations as changes, its
/// links, then the planned finding transitions and their events; old history of the system is
/// pruned in the same transaction. The report's observations are freed once written (the
/// findings' phase needs only the candidates, and a million accounts hold hundreds of MB).
pub fn scan_run(
    store: &mut Store,
    started_run: Option<i64>,
    report: &mut ScanReport,
    links: &[(usize, Link)],
    candidates: &[Candidate],
    linked_by: &str,
    now: DateTime<Utc>,
) -> Result<RecordedRun> {
    let started = std::time::Instant::now();
    let system = report.system.as_str();
    let tx = store.transaction()?;
    let run_id = runs::finish(&tx, started_run, report, now)?;
    let at = format_time(&now);
    // The run's entry comes before the events it proves (a resolution names its run).
    EventWriter::new(&tx)?.append_run(&run_entry(run_id, report), &at)?;
    let previous = runs::previous_complete(&tx, system, run_id)?;
    let targeted = coverage::targeted_accounts(&report.coverage);
    let facts = observations::RunFacts {
        run_id,
        status: report.status,
        previous_complete: previous,
        targeted: &targeted,
        input: report.input_digest.as_deref(),
    };
    let changes = observations::record(&tx, system, &facts, &report.observations)?;
    tracing::debug!(elapsed = ?started.elapsed(), ?changes, "observations written");
    let basis = observations::input_key(&facts).map(|input| format!("{input}; {linked_by}"));
    links::record_from(
        &tx,
        system,
        run_id,
        &report.observations.accounts,
        links,
        basis.as_deref(),
    )?;
    drop(std::mem::take(&mut report.observations));
    tracing::debug!(elapsed = ?started.elapsed(), "links written");
    let current = findings::current_for_system(&tx, system)?;
    let covers = exceptions::covers(&tx)?;
    let run = RunRef {
        id: run_id,
        status: report.status,
        coverage: &report.coverage,
    };
    let transitions = plan_run(&current, candidates, &covers, run, now);
    let outcome = Outcome::of(&transitions);
    tracing::debug!(elapsed = ?started.elapsed(), transitions = transitions.len(), "findings planned");
    findings::apply(
        &tx,
        Source::Run {
            id: run_id,
            status: report.status,
            targeted: !targeted.is_empty(),
        },
        &current,
        &transitions,
        &at,
    )?;
    drop(transitions);
    drop(current);
    tracing::debug!(elapsed = ?started.elapsed(), "findings applied");
    if let Some(cutoff) = runs::history_cutoff(&tx, system)? {
        observations::prune(&tx, system, cutoff)?;
    }
    tx.commit()?;
    tracing::debug!(elapsed = ?started.elapsed(), "committed");
    Ok(RecordedRun {
        run_id,
        outcome,
        changes,
    })
}

/// What the audit chain says of the run: enough to tell a later edit of its row (its status
/// above all: only a complete run resolves) and what it read.
fn run_entry(run_id: i64, report: &ScanReport) -> RunEntry {
    let o = &report.observations;
    RunEntry {
        run_id,
        scanner: report.scanner.clone(),
        system: report.system.clone(),
        status: report.status.as_str().to_string(),
        input_digest: report.input_digest.clone(),
        accounts: o.accounts.len() as i64,
        credentials: o.credentials.len() as i64,
        grants: o.grants.len() as i64,
        errors: report.errors.len() as i64,
        covered: units(report, true),
        missed: units(report, false),
    }
}

/// The names of the run's units that were (`covered`) or were not covered.
fn units(report: &ScanReport, covered: bool) -> Vec<String> {
    report
        .coverage
        .iter()
        .filter(|u| u.is_covered() == covered)
        .map(|u| u.name.clone())
        .collect()
}
