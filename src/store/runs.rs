//! Scan runs and what each saw: `scan_runs`, `observations` and the `links` the core made for the
//! run's accounts. Observations of old runs are pruned: only the latest complete runs of a system
//! are kept, which is what liveness lookups and evidence need.

use super::Result;
use crate::link::Link;
use chrono::{DateTime, Utc};
use residual_scanners::time::format_time;
use residual_scanners::{Account, ByAccount, Credential, CredentialKind, Grant, ScanReport};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::HashSet;

/// How many complete runs of a system keep their observations.
const KEEP_COMPLETE_RUNS: i64 = 2;

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

/// An account as stored, with the grants it holds.
#[derive(serde::Serialize)]
struct AccountRow<'a> {
    #[serde(flatten)]
    account: &'a Account,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    grants: Vec<&'a Grant>,
}

/// Writes the run and its observations inside the caller's transaction; returns the run id.
pub fn record_run(tx: &Transaction, report: &ScanReport) -> Result<i64> {
    let o = &report.observations;
    tx.execute(
        "INSERT INTO scan_runs (scanner, system, status, started_at, finished_at, accounts, credentials, \
           grants, calls, errors) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
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
        ],
    )?;
    let run_id = tx.last_insert_rowid();
    let mut insert = tx.prepare(
        "INSERT INTO observations (run_id, type, account, subject, kind, active, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let grants_of = ByAccount::new(&o.grants, |g: &Grant| g.account.as_str());
    for a in &o.accounts {
        let grants: Vec<&Grant> = grants_of.get(&a.name).collect();
        let data = serde_json::to_string(&AccountRow { account: a, grants })?;
        insert.execute(params![
            run_id,
            "account",
            a.name,
            a.name,
            a.kind.as_str(),
            a.enabled.map(i64::from),
            data
        ])?;
    }
    for c in &o.credentials {
        let data = serde_json::to_string(c)?;
        insert.execute(params![
            run_id,
            "credential",
            c.account,
            c.id,
            c.kind.as_str(),
            c.active as i64,
            data
        ])?;
    }
    let listed: HashSet<&str> = o.accounts.iter().map(|a| a.name.as_str()).collect();
    for g in grants_of.orphans(&listed) {
        let data = serde_json::to_string(g)?;
        insert.execute(params![
            run_id,
            "grant",
            g.account,
            g.target,
            g.kind.as_str(),
            Option::<i64>::None,
            data
        ])?;
    }
    Ok(run_id)
}

/// Records how each account of the run was linked to a person.
pub fn record_links(
    tx: &Transaction,
    report: &ScanReport,
    run_id: i64,
    links: &[(usize, Link)],
) -> Result<()> {
    let system = &report.system;
    let mut upsert = tx.prepare(
        "INSERT INTO links (system, account, employee_id, method, confidence, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT(system, account) DO UPDATE SET employee_id = excluded.employee_id, method = excluded.method, \
           confidence = excluded.confidence, run_id = excluded.run_id",
    )?;
    for (index, link) in links {
        let account = &report.observations.accounts[*index].name;
        upsert.execute(params![
            system,
            account,
            link.employee_id,
            link.method.as_str(),
            link.confidence,
            run_id
        ])?;
    }
    Ok(())
}

/// Drops observations of runs older than the latest complete runs of `system`.
pub fn prune_observations(tx: &Transaction, system: &str) -> Result<()> {
    let cutoff: Option<i64> = tx
        .query_row(
            "SELECT id FROM scan_runs WHERE system = ?1 AND status = 'complete' ORDER BY id DESC LIMIT 1 OFFSET ?2",
            params![system, KEEP_COMPLETE_RUNS - 1],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(cutoff) = cutoff {
        tx.execute(
            "DELETE FROM observations WHERE run_id IN (SELECT id FROM scan_runs WHERE system = ?1 AND id < ?2)",
            params![system, cutoff],
        )?;
    }
    Ok(())
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

/// Credentials of `kind` with id `id` seen by the latest complete run of each system of `scanner`:
/// what liveness checks (is this leaked key still active?) are answered from.
pub fn latest_credentials(
    conn: &Connection,
    scanner: &str,
    kind: CredentialKind,
    id: &str,
) -> Result<Vec<(String, DateTime<Utc>, Credential)>> {
    let mut stmt = conn.prepare(
        "SELECT r.system, r.finished_at, o.data FROM observations o JOIN scan_runs r ON r.id = o.run_id \
         WHERE o.type = 'credential' AND o.kind = ?2 AND o.subject = ?3 AND r.id IN \
           (SELECT MAX(id) FROM scan_runs WHERE scanner = ?1 AND status = 'complete' GROUP BY system)",
    )?;
    let rows = stmt.query_map(params![scanner, kind.as_str(), id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (system, finished, data) = row?;
        let finished = residual_scanners::time::parse_time(&finished).unwrap_or_default();
        out.push((system, finished, serde_json::from_str(&data)?));
    }
    Ok(out)
}

/// An account row as stored: the account with its grants folded in.
#[derive(serde::Deserialize)]
struct StoredAccount {
    #[serde(flatten)]
    account: Account,
    #[serde(default)]
    grants: Vec<Grant>,
}

/// The observations of the latest complete run of `system`, if its rows are still kept: what an
/// incremental run (which reads only new objects) adds to.
pub fn latest_complete_observations(
    conn: &Connection,
    system: &str,
) -> Result<Option<residual_scanners::Observations>> {
    let run: Option<i64> = conn
        .query_row(
            "SELECT id FROM scan_runs WHERE system = ?1 AND status = 'complete' ORDER BY id DESC LIMIT 1",
            [system],
            |r| r.get(0),
        )
        .optional()?;
    let Some(run) = run else { return Ok(None) };
    let mut stmt = conn.prepare("SELECT type, data FROM observations WHERE run_id = ?1")?;
    let mut rows = stmt.query([run])?;
    let mut obs = residual_scanners::Observations::default();
    while let Some(r) = rows.next()? {
        let kind: String = r.get(0)?;
        let data: String = r.get(1)?;
        match kind.as_str() {
            "account" => {
                let a: StoredAccount = serde_json::from_str(&data)?;
                obs.grants.extend(a.grants);
                obs.accounts.push(a.account);
            }
            "credential" => obs.credentials.push(serde_json::from_str(&data)?),
            _ => obs.grants.push(serde_json::from_str(&data)?),
        }
    }
    Ok(Some(obs))
}
