//! `exceptions`: documented, approved, expiring decisions to accept a finding. Rows are never
//! deleted: a revoked exception keeps its row with when, why, by whom and how it was revoked,
//! and covers nothing from then on.

use super::db::{params, Connection, OptionalExtension, Transaction};
use super::Result;
use crate::findings::Cover;
use chrono::{DateTime, Utc};
use residual_scanners::time::parse_time;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exception {
    pub id: String,
    pub finding_id: String,
    pub reason: String,
    pub approver: String,
    pub expires_at: String,
    pub created_at: String,
    /// `cli`, or `file:<path>` for entries of an exceptions file.
    pub source: String,
    /// Set once the exception is revoked; a revoked exception covers nothing.
    pub revoked: Option<Revocation>,
}

impl Exception {
    /// Whether the exceptions file made it (and so the file decides whether it stays).
    pub fn from_file(&self) -> bool {
        self.source.starts_with("file:")
    }

    /// The expiry as a time. A stored value that does not parse (a store written by a build that
    /// accepted `+10000-01-01`) counts as already expired: an unreadable expiry must not cover.
    pub fn expires(&self) -> DateTime<Utc> {
        parse_time(&self.expires_at).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// Whether it covers its finding at `now`: not revoked and not expired.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked.is_none() && self.expires() > now
    }
}

/// How an exception was revoked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revocation {
    pub at: String,
    pub reason: String,
    /// Who revoked it: a person for `exceptions revoke`, the file for an entry removed from it.
    pub by: String,
    /// `file` (the entry left the exceptions file) or `cli` (`exceptions revoke`).
    pub via: String,
}

const COLUMNS: &str = "id, finding_id, reason, approver, expires_at, created_at, source, \
    revoked_at, revoked_reason, revoked_by, revoked_via";

/// Inserts a new exception; returns whether it was new (an exception with the same id is kept).
pub fn insert(tx: &Transaction, e: &Exception) -> Result<bool> {
    let n = tx.execute(
        "INSERT OR IGNORE INTO exceptions (id, finding_id, reason, approver, expires_at, created_at, source) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![e.id, e.finding_id, e.reason, e.approver, e.expires_at, e.created_at, e.source],
    )?;
    Ok(n > 0)
}

/// Rewrites what an exception says (reason, approver, expiry, the file it comes from); its id,
/// finding and creation time stay.
pub fn update_terms(tx: &Transaction, e: &Exception) -> Result<()> {
    tx.execute(
        "UPDATE exceptions SET reason = ?2, approver = ?3, expires_at = ?4, source = ?5 WHERE id = ?1",
        params![e.id, e.reason, e.approver, e.expires_at, e.source],
    )?;
    Ok(())
}

/// Marks an exception revoked (once: a revoked row keeps its first revocation).
pub fn revoke(tx: &Transaction, id: &str, r: &Revocation) -> Result<()> {
    tx.execute(
        "UPDATE exceptions SET revoked_at = ?2, revoked_reason = ?3, revoked_by = ?4, revoked_via = ?5 \
         WHERE id = ?1 AND revoked_at IS NULL",
        params![id, r.at, r.reason, r.by, r.via],
    )?;
    Ok(())
}

fn from_row(r: &super::db::Row) -> super::db::Result<Exception> {
    let revoked_at: Option<String> = r.get(7)?;
    let revoked = match revoked_at {
        Some(at) => Some(Revocation {
            at,
            reason: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
            by: r.get::<_, Option<String>>(9)?.unwrap_or_default(),
            via: r.get::<_, Option<String>>(10)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Exception {
        id: r.get(0)?,
        finding_id: r.get(1)?,
        reason: r.get(2)?,
        approver: r.get(3)?,
        expires_at: r.get(4)?,
        created_at: r.get(5)?,
        source: r.get(6)?,
        revoked,
    })
}

/// Every exception, revoked ones included, oldest first.
pub fn list(conn: &Connection) -> Result<Vec<Exception>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM exceptions ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

/// One exception by id, revoked or not.
pub fn get(conn: &Connection, id: &str) -> Result<Option<Exception>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM exceptions WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// Whether an exception with this id exists (revoked or not).
pub fn exists(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .query_row("SELECT 1 FROM exceptions WHERE id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Every exception that is not revoked, as the lifecycle plans with it: which finding it covers,
/// until when (compared as times; see [`Exception::expires`]).
pub fn covers(conn: &Connection) -> Result<Vec<Cover>> {
    Ok(covers_of(
        list(conn)?.iter().filter(|e| e.revoked.is_none()),
    ))
}

/// The covers of `exceptions` (revoked ones are the caller's to leave out).
pub fn covers_of<'e>(exceptions: impl IntoIterator<Item = &'e Exception>) -> Vec<Cover> {
    exceptions
        .into_iter()
        .map(|e| Cover {
            exception_id: e.id.clone(),
            finding_id: e.finding_id.clone(),
            expires_at: e.expires(),
        })
        .collect()
}
