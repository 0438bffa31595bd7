//! `scan_runs`: one row per execution of a scanner over its scope, with its status, counts and
//! coverage (the units it covered and those it missed, with why). What each run saw lives in
//! `store::observations` (as what changed), how its accounts link to people in `store::links`.
//!
//! A run is written twice: [`start`] commits a row with status `started` (and the process id)
//! before the scanner works, and [`finish`] fills it in the run's transaction. A row left
//! `started` by a process that is gone (killed, crashed) is listed as `interrupted`; such a row
//! is never `complete`, so it resolves nothing and is never the latest complete run. A worker
//! that takes the lease of a dead one (`store::leases`) writes `interrupted` into the row itself
//! ([`mark_interrupted`]): across machines no process id can tell.
//!
//! A *targeted* run (`targeted` lists the accounts it looked at) is complete for those accounts
//! only: it is never "the latest complete run" of its system (what `last_seen`, liveness, history
//! pruning and the export guard are measured against) and proves no case.

use super::db::{params, Connection, OptionalExtension, Transaction};
use super::Result;
use chrono::{DateTime, Utc};
use residual_scanners::coverage::{self, Miss, Unit};
use residual_scanners::time::format_time;
use residual_scanners::ScanReport;

/// How many complete runs of a system keep their history of changes.
pub const KEEP_COMPLETE_RUNS: i64 = 2;

/// The status of a run row that was started and not yet finished.
pub const STARTED: &str = "started";
/// How a `started` row whose process is gone is listed.
pub const INTERRUPTED: &str = "interrupted";

/// A run as listed by `scan runs`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunInfo {
    pub id: i64,
    pub scanner: String,
    pub system: String,
    /// `complete`, `partial`, `failed`, `started` (running now) or `interrupted`.
    pub status: String,
    pub started_at: String,
    pub finished_at: String,
    pub accounts: i64,
    pub credentials: i64,
    pub grants: i64,
    pub calls: i64,
    pub errors: Vec<String>,
    /// The accounts a targeted run looked at; `None` for a full sweep.
    pub targeted: Option<Vec<String>>,
    /// The units the run covered completely.
    pub covered: Vec<String>,
    /// The units it missed, each with its class and reason (and the action to grant when
    /// access was denied).
    pub missed: Vec<Miss>,
}

/// Records that a run of `scanner` over `system` (as far as it is known before the scanner
/// works) starts now, in its own statement, committed at once: a run killed from here on leaves
/// a `started` row, listed as `interrupted`. Returns the run's id for [`finish`].
pub fn start(conn: &Connection, scanner: &str, system: &str, at: DateTime<Utc>) -> Result<i64> {
    let at = format_time(&at);
    // Bookkeeping: taken back if the input is refused, so not yet a change of the store.
    // `RETURNING` rather than the last insert's rowid: the same statement on both backends.
    Ok(super::bookkeeping(|| {
        conn.query_row(
            "INSERT INTO scan_runs (scanner, system, status, started_at, finished_at, accounts, credentials, \
               grants, calls, errors, pid) VALUES (?1, ?2, ?3, ?4, ?4, 0, 0, 0, 0, '[]', ?5) RETURNING id",
            params![scanner, system, STARTED, at, i64::from(std::process::id())],
            |r| r.get(0),
        )
    })?)
}

/// The run a recording writes under: `run_id` when its row is still `started` (as [`start`]
/// committed it), else a new row (the row was finished or taken back meanwhile), as [`finish`]
/// would do. A run recorded batch by batch needs its id before its first batch.
pub fn claim(tx: &Transaction, run_id: Option<i64>, report: &ScanReport) -> Result<i64> {
    if let Some(id) = run_id {
        let started: Option<i64> = tx
            .query_row(
                "SELECT id FROM scan_runs WHERE id = ?1 AND status = 'started'",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(id) = started {
            return Ok(id);
        }
    }
    start(tx, &report.scanner, &report.system, report.started_at)
}

/// Takes back a run [`start`]ed that will not be recorded because its input was refused (a bad
/// export row, a missing repository): such a run changed nothing, so it leaves no row either.
pub fn abandon(conn: &Connection, run_id: i64) -> Result<()> {
    super::bookkeeping(|| {
        conn.execute(
            "DELETE FROM scan_runs WHERE id = ?1 AND status = 'started'",
            [run_id],
        )
    })?;
    Ok(())
}

/// Fills the started run `run_id` with `report` inside the caller's transaction; without a
/// started row (`None`) the run is written whole here. Returns the run's id. `evaluated_at` is the
/// time its findings were evaluated at: the `last_seen` of every finding it saw.
pub fn finish(
    tx: &Transaction,
    run_id: Option<i64>,
    report: &ScanReport,
    evaluated_at: DateTime<Utc>,
) -> Result<i64> {
    finish_counted(tx, run_id, report, Counts::of(report), evaluated_at)
}

/// How many accounts, credentials and grants a run saw: what its report holds, or what a run
/// handed over in batches counted (its report holds none of them by the end).
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub accounts: usize,
    pub credentials: usize,
    pub grants: usize,
}

impl Counts {
    pub fn of(report: &ScanReport) -> Counts {
        let o = &report.observations;
        Counts {
            accounts: o.accounts.len(),
            credentials: o.credentials.len(),
            grants: o.grants.len(),
        }
    }
}

/// [`finish`] of a run that saw `o` (see [`Counts`]).
pub fn finish_counted(
    tx: &Transaction,
    run_id: Option<i64>,
    report: &ScanReport,
    o: Counts,
    evaluated_at: DateTime<Utc>,
) -> Result<i64> {
    let id = match run_id {
        Some(id) => id,
        None => start(tx, &report.scanner, &report.system, report.started_at)?,
    };
    let updated = tx.execute(
        "UPDATE scan_runs SET scanner = ?1, system = ?2, status = ?3, started_at = ?4, finished_at = ?5, \
           accounts = ?6, credentials = ?7, grants = ?8, calls = ?9, errors = ?10, evaluated_at = ?11, \
           coverage = ?12, targeted = ?14 WHERE id = ?13 AND status = 'started'",
        params![
            report.scanner,
            report.system,
            report.status.as_str(),
            format_time(&report.started_at),
            format_time(&report.finished_at),
            o.accounts as i64,
            o.credentials as i64,
            o.grants as i64,
            report.calls as i64,
            serde_json::to_string(&report.errors)?,
            format_time(&evaluated_at),
            serde_json::to_string(&report.coverage)?,
            id,
            targeted_of(report)?,
        ],
    )?;
    if updated != 1 {
        // Not started, or already finished: record the run afresh rather than lose it.
        return finish_counted(tx, None, report, o, evaluated_at);
    }
    Ok(id)
}

/// The accounts a targeted report looked at, as stored (a JSON array); `None` for a full sweep.
fn targeted_of(report: &ScanReport) -> Result<Option<String>> {
    let accounts = coverage::targeted_accounts(&report.coverage);
    if accounts.is_empty() {
        return Ok(None);
    }
    Ok(Some(serde_json::to_string(&accounts)?))
}

/// How many accounts the latest complete run of `system` saw, if it has one: what a new export is
/// compared with before its absences may resolve anything.
pub fn last_complete_accounts(conn: &Connection, system: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT accounts FROM scan_runs WHERE system = ?1 AND status = 'complete' AND targeted IS NULL \
             ORDER BY id DESC LIMIT 1",
            [system],
            |r| r.get(0),
        )
        .optional()?)
}

/// The latest complete run of `system` before run `before`, if there is one.
pub fn previous_complete(conn: &Connection, system: &str, before: i64) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT MAX(id) FROM scan_runs WHERE system = ?1 AND status = 'complete' AND targeted IS NULL AND id < ?2",
            params![system, before],
            |r| r.get(0),
        )
        .optional()?
        .flatten())
}

/// The oldest run of `system` whose history is kept: the `KEEP_COMPLETE_RUNS`-th latest complete
/// run, once there are that many.
pub fn history_cutoff(conn: &Connection, system: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT id FROM scan_runs WHERE system = ?1 AND status = 'complete' AND targeted IS NULL ORDER BY id DESC LIMIT 1 OFFSET ?2",
            params![system, KEEP_COMPLETE_RUNS - 1],
            |r| r.get(0),
        )
        .optional()?)
}

/// Whether any run of `scanner` completed.
pub fn any_complete(conn: &Connection, scanner: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM scan_runs WHERE scanner = ?1 AND status = 'complete' AND targeted IS NULL)",
        [scanner],
        |r| r.get(0),
    )?)
}

/// The runs, newest first; a `started` row whose process is gone, or that a later finished run
/// of its system overtook, reads as `interrupted` (derived here: reading never writes).
pub fn list_runs(conn: &Connection, limit: i64) -> Result<Vec<RunInfo>> {
    let mut stmt = conn.prepare(
        "SELECT id, scanner, system, status, started_at, finished_at, accounts, credentials, grants, calls, errors, \
           coverage, pid, targeted, \
           EXISTS (SELECT 1 FROM scan_runs later WHERE later.system = r.system AND later.id > r.id \
                   AND later.status != 'started') \
         FROM scan_runs r ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        let errors: String = r.get(10)?;
        let coverage: Option<String> = r.get(11)?;
        let pid: Option<i64> = r.get(12)?;
        let targeted: Option<String> = r.get(13)?;
        let overtaken: bool = r.get(14)?;
        let mut status: String = r.get(3)?;
        if status == STARTED && (overtaken || !process_alive(pid)) {
            status = INTERRUPTED.to_string();
        }
        let units: Vec<Unit> = coverage
            .and_then(|c| serde_json::from_str(&c).ok())
            .unwrap_or_default();
        Ok(RunInfo {
            id: r.get(0)?,
            scanner: r.get(1)?,
            system: r.get(2)?,
            status,
            started_at: r.get(4)?,
            finished_at: r.get(5)?,
            accounts: r.get(6)?,
            credentials: r.get(7)?,
            grants: r.get(8)?,
            calls: r.get(9)?,
            errors: serde_json::from_str(&errors).unwrap_or_default(),
            targeted: targeted.and_then(|t| serde_json::from_str(&t).ok()),
            covered: units
                .iter()
                .filter(|u| u.is_covered())
                .map(|u| u.name.clone())
                .collect(),
            missed: missed_once(units),
        })
    })?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

/// Each miss once: the units below a missed unit carry its miss too (a targeted run's per-user
/// units below a kind switched off, say), and the listing names the miss, not every unit.
fn missed_once(units: Vec<Unit>) -> Vec<Miss> {
    let mut out: Vec<Miss> = Vec::new();
    for m in units.into_iter().filter_map(|u| u.missed) {
        if !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

/// Marks the run `run_id` `interrupted` when it is still `started`: the worker that started it
/// is known to be gone (its lease died, see `store::leases`). Returns whether it was.
pub fn mark_interrupted(conn: &Connection, run_id: i64) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE scan_runs SET status = ?1 WHERE id = ?2 AND status = ?3",
        params![INTERRUPTED, run_id, STARTED],
    )? == 1)
}

/// Whether the process that started a run still runs. Only Linux is asked (through `/proc`);
/// elsewhere a started run reads as running until a later run of its system finishes.
fn process_alive(pid: Option<i64>) -> bool {
    let Some(pid) = pid else { return false };
    if !cfg!(target_os = "linux") {
        return true;
    }
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
