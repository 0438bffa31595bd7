//! Record a scan run: evaluate its report against the people in the store and write the run, its
//! links and the finding lifecycle in one transaction — an interrupted run leaves the store as it
//! was, and a run that is not complete resolves nothing.

use super::{Context, Result};
use crate::evaluate;
use crate::findings::Outcome;
use crate::link::PeopleIndex;
use crate::progress::count;
use crate::rules::RuleSet;
use crate::store::{people, runs, Store};
use residual_scanners::coverage::{Miss, MissClass};
use residual_scanners::{coverage, inventory, Observations, RunStatus, ScanReport};

/// A recorded run, as the command's summary needs it.
pub struct Recorded {
    pub system: String,
    pub status: RunStatus,
    /// The leaver and mover cases whose state the run changed.
    pub cases: Vec<crate::store::cases::CaseChange>,
    /// The run could not cover something it was asked to: it failed, or missed a unit for any
    /// reason but a kind switched off in the configuration (exit 3).
    pub could_not_cover: bool,
}

/// Whether `report` could not cover what it was asked to: it is not complete (a unit switched
/// off in the configuration leaves a run complete; see `residual_scanners::coverage::status_of`).
fn could_not_cover(report: &ScanReport) -> bool {
    report.status != RunStatus::Complete
}

/// A scan run whose row is committed as `started` (see [`start`]) and the report its scanner
/// returned, ready to [`record`]; or, for an export, the report as known before reading it (its
/// digest) and the export, read batch by batch as the run is recorded.
pub struct Swept {
    pub run: i64,
    pub report: ScanReport,
    /// The export whose accounts are the run's observations, read while recording (the report
    /// then holds none).
    pub export: Option<Export>,
}

/// An export to read while its run is recorded.
#[derive(Debug, Clone)]
pub struct Export {
    pub file: std::path::PathBuf,
    pub guard: ExportGuard,
}

/// When an export that looks cut short may still resolve findings.
#[derive(Debug, Clone, Copy)]
pub struct ExportGuard {
    /// `--allow-empty`: an export with no accounts is the truth (the system was emptied).
    pub allow_empty: bool,
    /// `--allow-drop`: a large drop in accounts is real.
    pub allow_drop: bool,
    /// The share of the last complete run's accounts an export may lose before it counts as
    /// cut short (`policy.max_account_drop`).
    pub max_drop: f64,
}

/// Why an export of `accounts` accounts looks cut short after a complete run that saw
/// `previous`, unless `guard` says it is real. A failed export job often leaves a header-only or
/// half-written file behind; taken at its word it would resolve every finding of the system.
pub fn cut_short(accounts: usize, previous: Option<i64>, guard: ExportGuard) -> Option<String> {
    if accounts == 0 && !guard.allow_empty {
        return Some(
            "the export holds no accounts: taken as cut short, so nothing is resolved \
             (if the system really has no accounts, run with --allow-empty)"
                .into(),
        );
    }
    let previous = usize::try_from(previous?).ok()?;
    let kept = previous as f64 * (1.0 - guard.max_drop);
    if accounts > 0 && (accounts as f64) < kept && !guard.allow_drop {
        return Some(format!(
            "the export holds {accounts} accounts where the last complete run saw {previous} \
             (more than {:.0}% fewer, `policy.max_account_drop`): taken as cut short, so \
             nothing is resolved (if the drop is real, run with --allow-drop)",
            guard.max_drop * 100.0
        ));
    }
    None
}

/// The failed run of an export of `system` that could not be read (`e`, with its causes).
pub fn unreadable_export(
    system: &str,
    started_at: chrono::DateTime<chrono::Utc>,
    e: &dyn std::error::Error,
) -> ScanReport {
    let text = residual_scanners::error_chain(e);
    ScanReport::failed(
        inventory::SCANNER,
        format!("{}:{system}", inventory::SCANNER),
        started_at,
        vec![text],
        0,
    )
}

/// Commits the row of a run of `scanner` over `system` as `started`, before the scanner works:
/// a run killed from here on shows as `interrupted` in `residual runs`.
pub fn start(cx: &Context, store: &Store, scanner: &str, system: &str) -> Result<i64> {
    let at = if cx.live_clock {
        chrono::Utc::now()
    } else {
        cx.now
    };
    let run = runs::start(store.conn(), scanner, system, at)?;
    // Under a lease on the unit (its id is the system a run starts under), the lease names the
    // run, so whoever takes the lease after this process died marks it `interrupted`.
    crate::store::leases::attach(store.conn(), system, run)?;
    Ok(run)
}

/// Runs `scan` as the started run `run`: a scan refused as bad input takes its row back (bad
/// input changes nothing).
pub fn started<T>(store: &Store, run: i64, scan: impl FnOnce() -> Result<T>) -> Result<T> {
    scan().inspect_err(|_| {
        if let Err(e) = runs::abandon(store.conn(), run) {
            tracing::warn!("scan run {run}: cannot take back its started row: {e}");
        }
    })
}

/// Evaluates a swept report against the people in the store and writes run, links and findings
/// in one transaction; a run that cannot be recorded takes its started row back.
pub fn record(cx: &Context, store: &mut Store, swept: Swept) -> Result<Recorded> {
    let Swept {
        run,
        mut report,
        export,
    } = swept;
    let recorded = match &export {
        Some(export) => record_live(cx, store, |cx, store| {
            record_export(cx, store, run, &report, export)
        }),
        None => record_live(cx, store, |cx, store| {
            record_run(cx, store, run, &mut report)
        }),
    };
    if recorded.is_err() {
        if let Err(e) = runs::abandon(store.conn(), run) {
            tracing::warn!("scan run {run}: cannot take back its started row: {e}");
        }
    }
    recorded
}

/// Records a run (`write`), dated by the clock at the time of writing under a live clock:
/// another worker sharing the store may have chained events after this job started, and events
/// are never dated before the chain's last one. Should one commit between reading the clock and
/// writing (the evaluation takes a moment), nothing was written, and the run is evaluated again.
///
/// A retry still has the report's observations: the run's transaction holds the write lock from
/// its start, so the chain's clock can only be behind at the run's first event, before
/// `store::record::scan_run` frees them (an export recorded batch by batch is read again).
fn record_live(
    cx: &Context,
    store: &mut Store,
    mut write: impl FnMut(&Context, &mut Store) -> Result<Recorded>,
) -> Result<Recorded> {
    if !cx.live_clock {
        return write(cx, store);
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        let cx = Context {
            now: chrono::Utc::now(),
            ..cx.clone()
        };
        match write(&cx, store) {
            Err(super::Error::Store(crate::store::StoreError::ClockBehind { .. }))
                if attempt < 3 =>
            {
                continue
            }
            other => return other,
        }
    }
}

/// How many accounts of an export are read, evaluated and written at a time: below the size at
/// which `evaluate` splits a run over two threads (the batch's own thread is the second), and
/// small enough that the few batches in flight (one parsed, one evaluated, one written) are a
/// few tens of MB.
const EXPORT_BATCH: usize = 10_000;

/// [`record`] of the started run `run` over `export`, whose report as known before reading is
/// `header`: the export is read a batch of accounts at a time, each batch evaluated and its
/// observations and links written, inside the run's one transaction (a bad row further down
/// takes it all back); the candidates are kept, and the finding lifecycle planned from them once
/// the export is read whole. An export that cannot be read to its end after all is a failed run.
///
/// Longer than most functions here, as [`record_run`] is: the phases of the one transaction,
/// timed at debug level one after another.
fn record_export(
    cx: &Context,
    store: &mut Store,
    run: i64,
    header: &ScanReport,
    export: &Export,
) -> Result<Recorded> {
    let started = std::time::Instant::now();
    let mut report = header.clone();
    let rules = RuleSet::builtin()?;
    let policy = &cx.policy;
    let known = people::load_all(store.conn())?;
    let linked_by = linked_by(store, cx)?;
    if known.is_empty() {
        cx.progress.say("warning: no HR snapshot imported yet; every account is an orphan (run `residual hr import FILE`)");
    }
    let index = PeopleIndex::new(known.values());
    tracing::debug!(elapsed = ?started.elapsed(), people = known.len(), peak_kib = peak_rss_kib(), "people loaded");
    // An export holds accounts and their grants, no credentials: no credential facts to ask.
    let facts = evaluate::CredentialFacts::default();
    let mut candidates = Vec::new();
    let mut linked = 0;
    let mut writing =
        crate::store::record::BatchedRun::begin(store, Some(run), &report, &linked_by)?;
    // Each batch is evaluated on a thread of its own while this one parses the next (and the
    // export's reader reads ahead): the three keep two cores busy. Evaluated batches come back
    // here, in order, to be written in the run's transaction.
    let read = std::thread::scope(|s| {
        let (to_evaluate, batches) = std::sync::mpsc::sync_channel::<Observations>(1);
        let (to_write, evaluated) = std::sync::mpsc::channel();
        let (rules, facts, index, system) = (&rules, &facts, &index, report.system.as_str());
        let evaluating = s.spawn(move || {
            for obs in batches {
                let evaluation =
                    evaluate::evaluate(rules, policy, facts, cx.now, index, system, &obs);
                if to_write.send((obs, evaluation)).is_err() {
                    break;
                }
            }
        });
        let mut write = |(obs, evaluation): (Observations, evaluate::Evaluation)| -> Result<()> {
            candidates.extend(evaluation.candidates);
            linked += evaluation.links.len();
            writing.batch(&obs, &evaluation.links)?;
            Ok(())
        };
        let read = inventory::read_in_batches(&export.file, EXPORT_BATCH, |obs| -> Result<()> {
            while let Ok(done) = evaluated.try_recv() {
                write(done)?;
            }
            // Cannot fail while the evaluating thread runs; it stops only when this side does.
            to_evaluate.send(obs).map_err(|_| {
                super::Error::Input("the evaluation of the export's batches stopped".into())
            })?;
            Ok(())
        });
        drop(to_evaluate);
        let mut read = read;
        for done in evaluated.iter() {
            if read.is_ok() {
                read = write(done).map(|()| String::new()).and(read);
            }
        }
        if let Err(panic) = evaluating.join() {
            std::panic::resume_unwind(panic);
        }
        read
    });
    let digest = match read {
        Ok(digest) => digest,
        Err(super::Error::Inventory(e @ inventory::InventoryError::Io { .. })) => {
            drop(writing);
            let mut failed = unreadable_export(short_system(&report.system), report.started_at, &e);
            return record_run(cx, store, run, &mut failed);
        }
        Err(e) => return Err(e),
    };
    if Some(&digest) != report.input_digest.as_ref() {
        // Changed between its digest and its reading: what the batches compared against may not
        // be this export. Not tonight's export, then.
        drop(writing);
        let changed = std::io::Error::other("the export changed while it was read");
        let e = inventory::InventoryError::Io {
            file: export.file.clone(),
            source: changed,
        };
        let mut failed = unreadable_export(short_system(&report.system), report.started_at, &e);
        return record_run(cx, store, run, &mut failed);
    }
    let counts = writing.counts();
    report.finished_at = chrono::Utc::now();
    report.calls = counts.accounts as u64;
    tracing::debug!(elapsed = ?started.elapsed(), peak_kib = peak_rss_kib(), candidates = candidates.len(), "export read and evaluated");
    drop(index);
    drop(known);
    if report.status == RunStatus::Complete {
        let previous = runs::last_complete_accounts(writing.tx(), &report.system)?;
        if let Some(why) = cut_short(counts.accounts, previous, export.guard) {
            report.miss(Miss::new(inventory::UNIT, MissClass::Error, why));
        }
    }
    let synced = crate::exceptions::sync_in(writing.tx(), &cx.exceptions, cx.now)?;
    say_held(cx, synced);
    let recorded = writing.finish(&report, &candidates, cx.now)?;
    drop(candidates);
    tracing::debug!(elapsed = ?started.elapsed(), peak_kib = peak_rss_kib(), "recorded");
    let seen = Seen {
        accounts: counts.accounts,
        credentials: counts.credentials,
        grants: counts.grants,
        linked,
    };
    say_recorded(
        cx,
        &report,
        recorded.run_id,
        &seen,
        &recorded.outcome,
        started,
    );
    let cases = super::cases::sync(store, &cx.cases, cx.now)?;
    Ok(Recorded {
        could_not_cover: could_not_cover(&report),
        system: report.system.clone(),
        status: report.status,
        cases,
    })
}

/// `crm` of `inventory:crm`.
fn short_system(system: &str) -> &str {
    system.split_once(':').map_or(system, |(_, s)| s)
}

/// What linking uses besides the accounts: a run of the same export against the same people
/// and policy links them as the last did (the store then need not compare its links).
fn linked_by(store: &Store, cx: &Context) -> Result<String> {
    Ok(format!(
        "snapshot {}; local part in {:?}",
        people::latest_snapshot(store.conn())?.map_or(0, |s| s.id),
        cx.policy.local_part_systems
    ))
}

/// Warns of exceptions file entries kept out because they were revoked.
fn say_held(cx: &Context, synced: crate::exceptions::Synced) {
    for (path, line, id) in synced.held {
        cx.progress.say(format!(
            "warning: {}:{line}: exception {id} was revoked with `exceptions revoke`; this entry stays revoked until it changes (remove it, or renew it with a new expiry)",
            path.display()
        ));
    }
}

/// [`record`] of the started run `run`.
///
/// Longer than most functions here: it is the one transaction of a run, and its phases are
/// timed at debug level one after another; splitting it would scatter that sequence.
fn record_run(
    cx: &Context,
    store: &mut Store,
    run: i64,
    report: &mut ScanReport,
) -> Result<Recorded> {
    let started = std::time::Instant::now();
    let rules = RuleSet::builtin()?;
    let policy = &cx.policy;
    tracing::debug!(elapsed = ?started.elapsed(), "rules loaded");
    let known = people::load_all(store.conn())?;
    let linked_by = linked_by(store, cx)?;
    tracing::debug!(elapsed = ?started.elapsed(), people = known.len(), "people read");
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
    say_held(cx, synced);
    tracing::debug!(elapsed = ?started.elapsed(), peak_kib = peak_rss_kib(), candidates = evaluation.candidates.len(), "evaluated");
    // The people and their index are not needed past evaluation (candidates own what they
    // keep): free them before the store's phase, where memory peaks.
    drop(index);
    drop(known);
    drop(facts);
    let seen = Seen {
        accounts: report.observations.accounts.len(),
        credentials: report.observations.credentials.len(),
        grants: report.observations.grants.len(),
        linked: evaluation.links.len(),
    };
    let recorded = crate::store::record::scan_run(
        store,
        Some(run),
        report,
        &evaluation.links,
        &evaluation.candidates,
        &linked_by,
        cx.now,
    )?;
    tracing::debug!(elapsed = ?started.elapsed(), peak_kib = peak_rss_kib(), "recorded");
    let (run_id, outcome) = (recorded.run_id, recorded.outcome);
    say_recorded(cx, report, run_id, &seen, &outcome, started);
    // Cases are judged after the run's own transaction: the run stands even if this fails, and
    // the next write catches up, since a case's state is derived from what the store holds.
    let cases = super::cases::sync(store, &cx.cases, cx.now)?;
    Ok(Recorded {
        could_not_cover: could_not_cover(report),
        system: report.system.clone(),
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
        "scan {}: run {run_id} {}: {}, {}, {}, {} linked; findings: {} new, {} reopened, {} still open, {} resolved, {} excepted ({:.2}s)",
        report.system,
        report.status.as_str(),
        count(seen.accounts as u64, "account", "accounts"),
        count(seen.credentials as u64, "credential", "credentials"),
        count(seen.grants as u64, "grant", "grants"),
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
    let off: Vec<&str> = report
        .coverage
        .iter()
        .filter(|u| {
            // The unit switched off itself, not each unit below it (a targeted run's per-user
            // units).
            u.missed
                .as_ref()
                .is_some_and(|m| m.class == coverage::MissClass::Disabled && m.unit == u.name)
        })
        .map(|u| u.name.as_str())
        .collect();
    if report.status == RunStatus::Complete && !off.is_empty() {
        cx.progress.say(format!(
            "scan {}: run {run_id} did not read {} (switched off): findings there stay as they were",
            report.system,
            off.join(", ")
        ));
    }
    match report.status {
        RunStatus::Complete => {}
        RunStatus::Failed => cx.progress.say(format!(
            "scan {}: run {run_id} is failed: nothing was resolved",
            report.system
        )),
        RunStatus::Partial => {
            let missed: Vec<&str> = report
                .coverage
                .iter()
                .filter(|u| !u.is_covered())
                .map(|u| u.name.as_str())
                .collect();
            let covered = report.coverage.iter().any(|u| u.is_covered());
            let units = if !covered || missed.contains(&coverage::EVERYTHING) {
                format!("nothing was resolved (not covered: {})", missed.join(", "))
            } else {
                format!(
                    "units not covered: {}; findings there were not resolved, findings of the units it covered were",
                    missed.join(", ")
                )
            };
            cx.progress.say(format!(
                "scan {}: run {run_id} is partial: {units}",
                report.system
            ));
        }
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
