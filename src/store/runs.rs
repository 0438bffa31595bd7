//! `scan_runs`: one row per execution of a scanner over its scope, with its status and counts.
//! What each run saw lives in `store::observations` (as what changed), how its accounts link to
//! people in `store::links`.

use super::Result;
use chrono::{DateTime, Utc};
use residual_scanners::time::format_time;
use residual_scanners::ScanReport;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

/// How many complete runs of a system keep their history of changes.
pub const KEEP_COMPLETE_RUNS: i64 = 2;

/// A run as listed by `scan runs`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RunInfo {
    pub id: i64,
    pub scanner: String,
    pub system: String,
    pub status: String,
    pub started_at: String,
    pub finished_at: String,
    pub accounts: i64,
    pub credentials: i64,
    pub grants: i64,
    pub calls: i64,
    pub errors: Vec<String>,
}

/// Writes the run (not what it saw) inside the caller's transaction; returns its id. `evaluated_at`
/// is the time its findings were evaluated at: the `last_seen` of every finding it saw.
pub fn insert(tx: &Transaction, report: &ScanReport, evaluated_at: DateTime<Utc>) -> Result<i64> {
    let o = &report.observations;
    tx.execute(
        "INSERT INTO scan_runs (scanner, system, status, started_at, finished_at, accounts, credentials, \
           grants, calls, errors, evaluated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            report.scanner,
            report.system,
            report.status.as_str(),
            format_time(&report.started_at),
            format_time(&report.finished_at),
            o.accounts.len() as i64,
            o.credentials.len() as i64,
            o.grants.len() as i64,
            report.calls as i64,
            serde_json::to_string(&report.errors)?,
            format_time(&evaluated_at),
        ],
    )?;
    Ok(tx.last_insert_rowid())
}

/// How many accounts the latest complete run of `system` saw, if it has one: what a new export is
/// compared with before its absences may resolve anything.
pub fn last_complete_accounts(conn: &Connection, system: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT accounts FROM scan_runs WHERE system = ?1 AND status = 'complete' \
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
            "SELECT MAX(id) FROM scan_runs WHERE system = ?1 AND status = 'complete' AND id < ?2",
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
            "SELECT id FROM scan_runs WHERE system = ?1 AND status = 'complete' ORDER BY id DESC LIMIT 1 OFFSET ?2",
            params![system, KEEP_COMPLETE_RUNS - 1],
            |r| r.get(0),
        )
        .optional()?)
}

/// Whether any run of `scanner` completed.
pub fn any_complete(conn: &Connection, scanner: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM scan_runs WHERE scanner = ?1 AND status = 'complete')",
        [scanner],
        |r| r.get(0),
    )?)
}

pub fn list_runs(conn: &Connection, limit: i64) -> Result<Vec<RunInfo>> {
    let mut stmt = conn.prepare(
        "SELECT id, scanner, system, status, started_at, finished_at, accounts, credentials, grants, calls, errors \
         FROM scan_runs ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        let errors: String = r.get(10)?;
        Ok(RunInfo {
            id: r.get(0)?,
            scanner: r.get(1)?,
            system: r.get(2)?,
            status: r.get(3)?,
            started_at: r.get(4)?,
            finished_at: r.get(5)?,
            accounts: r.get(6)?,
            credentials: r.get(7)?,
            grants: r.get(8)?,
            calls: r.get(9)?,
            errors: serde_json::from_str(&errors).unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
