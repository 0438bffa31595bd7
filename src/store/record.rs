//! One scan run, written in one transaction: the run and its entry in the audit chain, what
//! changed in what its system holds, how its accounts link to people, and the finding
//! lifecycle's transitions with their events. An interrupted run leaves the store as it was.

use super::events::{EventWriter, RunEntry};
use super::findings::Source;
use super::observations::Changes;
use super::{exceptions, findings, links, observations, runs, Result, Store, Tx};
use crate::evaluate::Candidate;
use crate::findings::{plan_run, Outcome, RunRef};
use crate::link::Link;
use chrono::{DateTime, Utc};
use residual_scanners::time::format_time;
use residual_scanners::{coverage, Observations, ScanReport};

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
    let counts = runs::Counts::of(report);
    let run_id = runs::finish_counted(&tx, started_run, report, counts, now)?;
    let at = format_time(&now);
    // The run's entry comes before the events it proves (a resolution names its run).
    EventWriter::new(&tx)?.append_run(&run_entry(run_id, report, counts), &at)?;
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
    let basis = link_basis(&facts, linked_by);
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
    let outcome = findings_of_run(&tx, report, run_id, candidates, now, &at)?;
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

/// Plans the finding transitions of run `run_id` (of `report`, whose status is final) from its
/// candidates and writes them with their events.
fn findings_of_run(
    tx: &Tx,
    report: &ScanReport,
    run_id: i64,
    candidates: &[Candidate],
    now: DateTime<Utc>,
    at: &str,
) -> Result<Outcome> {
    let started = std::time::Instant::now();
    let current = findings::current_for_system(tx, &report.system)?;
    let covers = exceptions::covers(tx)?;
    let run = RunRef {
        id: run_id,
        status: report.status,
        coverage: &report.coverage,
    };
    let transitions = plan_run(&current, candidates, &covers, run, now);
    let outcome = Outcome::of(&transitions);
    tracing::debug!(elapsed = ?started.elapsed(), transitions = transitions.len(), "findings planned");
    let targeted = !coverage::targeted_accounts(&report.coverage).is_empty();
    findings::apply(
        tx,
        Source::Run {
            id: run_id,
            status: report.status,
            targeted,
        },
        &current,
        &transitions,
        at,
    )?;
    Ok(outcome)
}

/// A scan run recorded batch by batch, in one transaction as [`scan_run`] records one: a large
/// export's accounts are read, evaluated and written a batch at a time, so that the run never
/// holds them all (a million accounts with their grants are ~600 MiB in memory). [`begin`]
/// opens the transaction, each [`batch`] writes what appeared or changed among its
/// observations and keeps its links compactly, and [`finish`], once the run's status and
/// candidates are known, writes the run row and its chain entry, marks what a complete run no
/// longer saw as gone, writes the links and the finding lifecycle, and commits. Dropped before
/// [`finish`] (a bad row further down the export), it leaves the store as it was.
///
/// [`begin`]: BatchedRun::begin
/// [`batch`]: BatchedRun::batch
/// [`finish`]: BatchedRun::finish
pub struct BatchedRun<'s> {
    tx: Tx<'s>,
    run_id: i64,
    system: String,
    linked_by: String,
    observations: observations::Comparison,
    /// The run's links; `None` when the system's links were last recorded from the very input,
    /// people and policy this run links with (see [`links::record_from`]): nothing to compare.
    links: Option<links::Pending>,
    counts: runs::Counts,
    started: std::time::Instant,
}

impl<'s> BatchedRun<'s> {
    /// Opens the run's transaction for `report` (the run's report as known before its first
    /// batch: system, input digest, status so far), under the run `started_run` committed as
    /// `started` when given.
    pub fn begin(
        store: &'s mut Store,
        started_run: Option<i64>,
        report: &ScanReport,
        linked_by: &str,
    ) -> Result<BatchedRun<'s>> {
        let tx = store.transaction()?;
        let run_id = runs::claim(&tx, started_run, report)?;
        let targeted = coverage::targeted_accounts(&report.coverage);
        let facts = observations::RunFacts {
            run_id,
            status: report.status,
            previous_complete: None,
            targeted: &targeted,
            input: report.input_digest.as_deref(),
        };
        let comparison = observations::Comparison::begin(&tx, &report.system, &facts)?;
        let basis = link_basis(&facts, linked_by);
        let links = if links::recorded_from(&tx, &report.system, basis.as_deref())? {
            None
        } else {
            Some(links::Pending::default())
        };
        Ok(BatchedRun {
            tx,
            run_id,
            system: report.system.clone(),
            linked_by: linked_by.to_string(),
            observations: comparison,
            links,
            counts: runs::Counts::default(),
            started: std::time::Instant::now(),
        })
    }

    /// Writes the next batch of the run's observations and keeps its links (by index into
    /// `obs.accounts`).
    pub fn batch(&mut self, obs: &Observations, links: &[(usize, Link)]) -> Result<()> {
        self.observations.batch(&self.tx, obs)?;
        if let Some(pending) = self.links.as_mut() {
            for (index, link) in links {
                if let Some(a) = obs.accounts.get(*index) {
                    pending.add(&a.name, link);
                }
            }
        }
        self.counts.accounts += obs.accounts.len();
        self.counts.credentials += obs.credentials.len();
        self.counts.grants += obs.grants.len();
        Ok(())
    }

    /// What the batches so far held.
    pub fn counts(&self) -> runs::Counts {
        self.counts
    }

    /// The run's transaction, for what must be written in it before the run's own entry (the
    /// exceptions file's sync, whose events come before the run's in the chain).
    pub fn tx(&self) -> &Tx<'s> {
        &self.tx
    }

    /// Ends the run: `report` is its final report (status and coverage settled; its
    /// observations were the batches), `candidates` what evaluating the batches at `now` raised.
    pub fn finish(
        self,
        report: &ScanReport,
        candidates: &[Candidate],
        now: DateTime<Utc>,
    ) -> Result<RecordedRun> {
        let BatchedRun {
            tx,
            run_id,
            system,
            linked_by,
            observations: comparison,
            links: pending,
            counts,
            started,
        } = self;
        tracing::debug!(elapsed = ?started.elapsed(), "batches written");
        let run_id = runs::finish_counted(&tx, Some(run_id), report, counts, now)?;
        let at = format_time(&now);
        EventWriter::new(&tx)?.append_run(&run_entry(run_id, report, counts), &at)?;
        let previous = runs::previous_complete(&tx, &system, run_id)?;
        let targeted = coverage::targeted_accounts(&report.coverage);
        let facts = observations::RunFacts {
            run_id,
            status: report.status,
            previous_complete: previous,
            targeted: &targeted,
            input: report.input_digest.as_deref(),
        };
        let changes = comparison.finish(&tx, &facts)?;
        tracing::debug!(elapsed = ?started.elapsed(), ?changes, "observations finished");
        let basis = link_basis(&facts, &linked_by);
        let pending = pending.unwrap_or_default();
        links::record_pending(&tx, &system, run_id, &pending, basis.as_deref())?;
        drop(pending);
        tracing::debug!(elapsed = ?started.elapsed(), "links written");
        let outcome = findings_of_run(&tx, report, run_id, candidates, now, &at)?;
        tracing::debug!(elapsed = ?started.elapsed(), "findings applied");
        if let Some(cutoff) = runs::history_cutoff(&tx, &system)? {
            observations::prune(&tx, &system, cutoff)?;
        }
        tx.commit()?;
        tracing::debug!(elapsed = ?started.elapsed(), "committed");
        Ok(RecordedRun {
            run_id,
            outcome,
            changes,
        })
    }
}

/// What the audit chain says of the run: enough to tell a later edit of its row (its status
/// above all: only a complete run resolves) and what it read.
fn run_entry(run_id: i64, report: &ScanReport, o: runs::Counts) -> RunEntry {
    RunEntry {
        run_id,
        scanner: report.scanner.clone(),
        system: report.system.clone(),
        status: report.status.as_str().to_string(),
        input_digest: report.input_digest.clone(),
        accounts: o.accounts as i64,
        credentials: o.credentials as i64,
        grants: o.grants as i64,
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

/// What a run's links were made from, as `link_inputs` remembers it: the input its observations
/// came from and what linking used (`linked_by`: HR snapshot and policy); `None` when the run
/// read no input whole. The same basis again means the same links.
fn link_basis(facts: &observations::RunFacts, linked_by: &str) -> Option<String> {
    observations::input_key(facts).map(|input| format!("{input}; {linked_by}"))
}
