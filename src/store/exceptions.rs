//! `exceptions`: documented, approved, expiring decisions to accept a finding.

use super::Result;
use chrono::{DateTime, Utc};
use residual_scanners::time::format_time;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Exception {
    pub id: String,
    pub finding_id: String,
    pub reason: String,
    pub approver: String,
    pub expires_at: String,
    pub created_at: String,
    /// `cli`, or `file:<path>` for entries of an exceptions file.
    pub source: String,
}

/// Inserts an exception unless one with the same id exists; returns whether it was new.
pub fn upsert(tx: &Transaction, e: &Exception) -> Result<bool> {
    let n = tx.execute(
        "INSERT OR IGNORE INTO exceptions (id, finding_id, reason, approver, expires_at, created_at, source) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![e.id, e.finding_id, e.reason, e.approver, e.expires_at, e.created_at, e.source],
    )?;
    Ok(n > 0)
}

/// The exception covering `finding_id` at `now`: the one that expires last, if it has not.
pub fn active_for(
    conn: &Connection,
    finding_id: &str,
    now: DateTime<Utc>,
) -> Result<Option<Exception>> {
    Ok(conn
        .query_row(
            "SELECT id, finding_id, reason, approver, expires_at, created_at, source FROM exceptions \
             WHERE finding_id = ?1 AND expires_at > ?2 ORDER BY expires_at DESC LIMIT 1",
            params![finding_id, format_time(&now)],
            from_row,
        )
        .optional()?)
}

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Exception> {
    Ok(Exception {
        id: r.get(0)?,
        finding_id: r.get(1)?,
        reason: r.get(2)?,
        approver: r.get(3)?,
        expires_at: r.get(4)?,
        created_at: r.get(5)?,
        source: r.get(6)?,
    })
}

pub fn list(conn: &Connection) -> Result<Vec<Exception>> {
    let mut stmt = conn.prepare(
        "SELECT id, finding_id, reason, approver, expires_at, created_at, source FROM exceptions ORDER BY created_at, id",
    )?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every finding id with an exception live at `now`.
pub fn active_ids(
    conn: &Connection,
    now: DateTime<Utc>,
) -> Result<std::collections::HashMap<String, String>> {
    let mut stmt = conn.prepare(
        "SELECT finding_id, id FROM exceptions WHERE expires_at > ?1 ORDER BY expires_at",
    )?;
    let rows = stmt.query_map([format_time(&now)], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Every exception as the lifecycle plans with it: which finding it covers, until when.
pub fn covers(conn: &Connection) -> Result<Vec<crate::findings::Cover>> {
    let mut stmt = conn.prepare("SELECT id, finding_id, expires_at FROM exceptions")?;
    let rows = stmt.query_map([], |r| {
        Ok(crate::findings::Cover {
            exception_id: r.get(0)?,
            finding_id: r.get(1)?,
            expires_at: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
