//! Record a scan run: evaluate its report against the people in the store and write the run, its
//! links and the finding lifecycle in one transaction — an interrupted run leaves the store as it
//! was, and a run that is not complete resolves nothing.

use super::{Context, Result};
use crate::evaluate;
use crate::findings::Outcome;
use crate::link::PeopleIndex;
use crate::rules::RuleSet;
use crate::store::{people, Store};
use residual_scanners::{RunStatus, ScanReport};

/// A recorded run, as the command's summary needs it.
pub struct Recorded {
    pub system: String,
    pub status: RunStatus,
    /// The leaver and mover cases whose state the run changed.
    pub cases: Vec<crate::store::cases::CaseChange>,
}

/// Evaluates a report against the people in the store and writes run, links and findings in one
/// transaction.
///
/// Longer than most functions here: it is the one transaction of a run, and its phases are
/// timed at debug level one after another; splitting it would scatter that sequence.
pub fn record(cx: &Context, store: &mut Store, report: ScanReport) -> Result<Recorded> {
    let started = std::time::Instant::now();
    let rules = RuleSet::builtin()?;
    let policy = &cx.policy;
    let known = people::load_all(store.conn())?;
    if known.is_empty() {
        cx.progress.say("warning: no HR snapshot imported yet; every account is an orphan (run `residual hr import FILE`)");
    }
    let index = PeopleIndex::new(known.values());
    tracing::debug!(elapsed = ?started.elapsed(), peak_kib = peak_rss_kib(), "people loaded");
    let facts = crate::facts::for_observations(store, &report.observations)?;
    let evaluation = evaluate::evaluate(
        &rules,
        policy,
        &facts,
        cx.now,
        &index,
        &report.system,
        &report.observations,
    );
    let synced = crate::exceptions::sync(store, &cx.exceptions, cx.now)?;
    for (path, line, id) in synced.held {
        cx.progress.say(format!(
            "warning: {}:{line}: exception {id} was revoked with `exceptions revoke`; this entry stays revoked until it changes (remove it, or renew it with a new expiry)",
            path.display()
        ));
    }
    tracing::debug!(elapsed = ?started.elapsed(), peak_kib = peak_rss_kib(), candidates = evaluation.candidates.len(), "evaluated");
    let recorded = crate::store::record::scan_run(
        store,
        &report,
        &evaluation.links,
        &evaluation.candidates,
        cx.now,
    )?;
    tracing::debug!(elapsed = ?started.elapsed(), peak_kib = peak_rss_kib(), "recorded");
    let (run_id, outcome) = (recorded.run_id, recorded.outcome);
    let seen = Seen {
        accounts: report.observations.accounts.len(),
        credentials: report.observations.credentials.len(),
        grants: report.observations.grants.len(),
        linked: evaluation.links.len(),
    };
    say_recorded(cx, &report, run_id, &seen, &outcome, started);
    // Cases are judged after the run's own transaction: the run stands even if this fails, and
    // the next write catches up, since a case's state is derived from what the store holds.
    let cases = super::cases::sync(store, &cx.cases, cx.now)?;
    Ok(Recorded {
        system: report.system,
        status: report.status,
        cases,
    })
}

/// What a run saw, counted before its observations are freed.
struct Seen {
    accounts: usize,
    credentials: usize,
    grants: usize,
    linked: usize,
}

fn say_recorded(
    cx: &Context,
    report: &ScanReport,
    run_id: i64,
    seen: &Seen,
    outcome: &Outcome,
    started: std::time::Instant,
) {
    cx.progress.say(format!(
        "scan {}: run {run_id} {}: {} accounts, {} credentials, {} grants, {} linked; findings: {} new, {} reopened, {} still open, {} resolved, {} excepted ({:.2}s)",
        report.system,
        report.status.as_str(),
        seen.accounts,
        seen.credentials,
        seen.grants,
        seen.linked,
        outcome.opened,
        outcome.reopened,
        outcome.seen,
        outcome.resolved,
        outcome.excepted,
        started.elapsed().as_secs_f64(),
    ));
    for e in &report.errors {
        cx.progress.say(format!("scan {}: {e}", report.system));
    }
    if report.status != RunStatus::Complete {
        cx.progress.say(format!(
            "scan {}: run {run_id} is {}: nothing was resolved",
            report.system,
            report.status.as_str()
        ));
    }
}

/// The process's peak resident memory in KiB (Linux), for the phase timings at debug level.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
