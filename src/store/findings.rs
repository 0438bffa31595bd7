//! `findings`: one row per finding with its current state; history lives in `finding_events`.

use super::Result;
use rusqlite::{params, Connection, Transaction};
use serde::Serialize;
use std::collections::HashMap;

/// A finding as every output shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub id: String,
    pub rule: String,
    pub severity: String,
    pub state: String,
    pub employee_id: Option<String>,
    pub system: String,
    pub account: String,
    pub subject: String,
    pub live: Option<bool>,
    pub first_seen: String,
    pub last_seen: String,
    pub resolved_at: Option<String>,
    pub resolved_by_run: Option<i64>,
    pub exception_id: Option<String>,
    pub evidence: serde_json::Value,
    pub remediation: String,
}

/// What the lifecycle needs to know of a stored finding.
#[derive(Debug, Clone)]
pub struct Current {
    pub state: String,
    pub exception_id: Option<String>,
}

/// The findings of `system` (every state), by id.
pub fn current_for_system(tx: &Transaction, system: &str) -> Result<HashMap<String, Current>> {
    let mut stmt = tx.prepare("SELECT id, state, exception_id FROM findings WHERE system = ?1")?;
    let rows = stmt.query_map([system], |r| {
        Ok((
            r.get::<_, String>(0)?,
            Current {
                state: r.get(1)?,
                exception_id: r.get(2)?,
            },
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

const COLUMNS: &str =
    "id, rule, severity, state, employee_id, system, account, subject, live, first_seen, \
    last_seen, resolved_at, resolved_by_run, exception_id, evidence, remediation";

fn from_row(r: &rusqlite::Row) -> rusqlite::Result<Finding> {
    let evidence: String = r.get(14)?;
    Ok(Finding {
        id: r.get(0)?,
        rule: r.get(1)?,
        severity: r.get(2)?,
        state: r.get(3)?,
        employee_id: r.get(4)?,
        system: r.get(5)?,
        account: r.get(6)?,
        subject: r.get(7)?,
        live: r.get::<_, Option<i64>>(8)?.map(|v| v != 0),
        first_seen: r.get(9)?,
        last_seen: r.get(10)?,
        resolved_at: r.get(11)?,
        resolved_by_run: r.get(12)?,
        exception_id: r.get(13)?,
        evidence: serde_json::from_str(&evidence).unwrap_or(serde_json::Value::Null),
        remediation: r.get(15)?,
    })
}

/// Filters for listing findings; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<String>,
    pub system: Option<String>,
    pub rule: Option<String>,
    pub employee_id: Option<String>,
}

pub fn list(conn: &Connection, f: &Filter) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    for_each(conn, f, |finding| {
        out.push(finding);
        Ok(())
    })?;
    Ok(out)
}

/// Calls `each` for every finding that `f` selects, in listing order, one row in memory at a
/// time (a large store's findings do not fit comfortably in memory as one list).
pub fn for_each(
    conn: &Connection,
    f: &Filter,
    mut each: impl FnMut(Finding) -> std::result::Result<(), super::StoreError>,
) -> Result<()> {
    let sql = format!(
        "SELECT {COLUMNS} FROM findings WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR system = ?2) \
         AND (?3 IS NULL OR rule = ?3) AND (?4 IS NULL OR employee_id = ?4) \
         ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, \
         system, account, rule, subject"
    );
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![f.state, f.system, f.rule, f.employee_id], from_row)?;
    for row in rows {
        each(row?)?;
    }
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<Finding>> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM findings WHERE id = ?1"),
            [id],
            from_row,
        )
        .optional()?)
}

/// Ids and exception ids of excepted findings, for expiry checks.
pub fn excepted(conn: &Connection) -> Result<Vec<(String, Option<String>)>> {
    let mut stmt =
        conn.prepare("SELECT id, exception_id FROM findings WHERE state = 'excepted'")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Open findings counted by severity, rule and system.
#[derive(Debug, Clone, Serialize)]
pub struct OpenCount {
    pub severity: String,
    pub rule: String,
    pub system: String,
    pub count: i64,
}

/// Counts of open findings in `systems`, most severe first.
pub fn open_summary(conn: &Connection, systems: &[String]) -> Result<Vec<OpenCount>> {
    let mut stmt = conn.prepare(
        "SELECT severity, rule, system, COUNT(*) FROM findings WHERE state = 'open' AND system = ?1 \
         GROUP BY severity, rule, system \
         ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, rule",
    )?;
    let mut out = Vec::new();
    for system in systems {
        let rows = stmt.query_map([system], |r| {
            Ok(OpenCount {
                severity: r.get(0)?,
                rule: r.get(1)?,
                system: r.get(2)?,
                count: r.get(3)?,
            })
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}
