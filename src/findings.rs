//! The finding lifecycle, exactly as DESIGN.md states it:
//!
//! 1. A rule matches → the finding is `open`, or `excepted` where a live exception covers it.
//! 2. Each later run that still sees it updates `last_seen`.
//! 3. A *complete* run of the same system that no longer sees it → `resolved`, with that run as the
//!    proof of removal. A partial or failed run never resolves anything.
//! 4. Seen again after resolution → reopened, and the history shows it.
//! 5. An exception that expires turns its findings back to `open`.
//!
//! Every state change is an event in the hash-chained `finding_events`.

use crate::evaluate::Candidate;
use crate::store::events::EventWriter;
use crate::store::{exceptions, findings as table, Result};
use chrono::{DateTime, Utc};
use residual_scanners::time::format_time;
use rusqlite::{params, Transaction};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// The stable id of a finding: the same rule, system and subject always give the same id.
pub fn finding_id(rule: &str, system: &str, subject: &str) -> String {
    let mut h = Sha256::new();
    for part in [rule, system, subject] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..10])
}

/// What applying one run changed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Outcome {
    pub opened: usize,
    pub reopened: usize,
    pub seen: usize,
    pub excepted: usize,
    pub resolved: usize,
}

/// Applies one scan run's candidates to the findings of `system`.
pub fn apply_run(
    tx: &Transaction,
    run_id: i64,
    system: &str,
    complete: bool,
    candidates: &[Candidate],
    now: DateTime<Utc>,
) -> Result<Outcome> {
    let at = format_time(&now);
    let existing = table::current_for_system(tx, system)?;
    let excepted_ids = exceptions::active_ids(tx, now)?;
    let mut events = EventWriter::new(tx)?;
    let mut out = Outcome::default();
    let mut seen = HashSet::with_capacity(candidates.len());
    let mut insert = tx.prepare(
        "INSERT INTO findings (id, rule, severity, state, system, account, subject, employee_id, live, first_seen, \
           last_seen, last_run, exception_id, evidence, remediation) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12, ?13, ?14)",
    )?;
    let mut update = tx.prepare(
        "UPDATE findings SET severity = ?2, state = ?3, employee_id = ?4, live = ?5, last_seen = ?6, last_run = ?7, \
           exception_id = ?8, evidence = ?9, remediation = ?10, \
           resolved_at = CASE WHEN ?3 = 'resolved' THEN resolved_at ELSE NULL END, \
           resolved_by_run = CASE WHEN ?3 = 'resolved' THEN resolved_by_run ELSE NULL END \
         WHERE id = ?1",
    )?;
    for c in candidates {
        let id = finding_id(c.rule.as_str(), &c.system, &c.subject);
        if !seen.insert(id.clone()) {
            continue;
        }
        let exception = excepted_ids.get(&id);
        let evidence = &c.evidence;
        let live = c.live.map(i64::from);
        match existing.get(&id) {
            None => {
                let state = if exception.is_some() {
                    "excepted"
                } else {
                    "open"
                };
                insert.execute(params![
                    id,
                    c.rule.as_str(),
                    c.severity.as_str(),
                    state,
                    c.system,
                    c.account,
                    c.subject,
                    c.employee_id,
                    live,
                    at,
                    run_id,
                    exception,
                    evidence,
                    c.remediation()
                ])?;
                events.append(
                    &id,
                    "opened",
                    &at,
                    Some(run_id),
                    &json!({"rule": c.rule, "severity": c.severity, "subject": c.subject}),
                )?;
                if let Some(e) = exception {
                    events.append(&id, "excepted", &at, Some(run_id), &json!({"exception": e}))?;
                    out.excepted += 1;
                }
                out.opened += 1;
            }
            Some(cur) => {
                let state = if exception.is_some() {
                    "excepted"
                } else {
                    "open"
                };
                update.execute(params![
                    id,
                    c.severity.as_str(),
                    state,
                    c.employee_id,
                    live,
                    at,
                    run_id,
                    exception,
                    evidence,
                    c.remediation()
                ])?;
                if cur.state == "resolved" {
                    events.append(
                        &id,
                        "reopened",
                        &at,
                        Some(run_id),
                        &json!({"subject": c.subject}),
                    )?;
                    out.reopened += 1;
                } else {
                    out.seen += 1;
                }
                if cur.state != "excepted" && exception.is_some() {
                    events.append(
                        &id,
                        "excepted",
                        &at,
                        Some(run_id),
                        &json!({"exception": exception}),
                    )?;
                    out.excepted += 1;
                } else if cur.state == "excepted" && exception.is_none() {
                    events.append(
                        &id,
                        "exception_expired",
                        &at,
                        Some(run_id),
                        &json!({"exception": cur.exception_id}),
                    )?;
                }
            }
        }
    }
    if complete {
        let mut resolve = tx.prepare(
            "UPDATE findings SET state = 'resolved', resolved_at = ?2, resolved_by_run = ?3, live = 0 WHERE id = ?1",
        )?;
        for (id, cur) in &existing {
            if cur.state != "resolved" && !seen.contains(id) {
                resolve.execute(params![id, at, run_id])?;
                events.append(
                    id,
                    "resolved",
                    &at,
                    Some(run_id),
                    &json!({"proof": {"scan_run": run_id, "status": "complete"}}),
                )?;
                out.resolved += 1;
            }
        }
    }
    Ok(out)
}

/// Turns excepted findings whose exception has expired back to `open`, and open findings that a
/// new exception covers to `excepted`. Returns how many changed.
pub fn apply_exceptions(tx: &Transaction, now: DateTime<Utc>) -> Result<usize> {
    let at = format_time(&now);
    let active = exceptions::active_ids(tx, now)?;
    let mut events = EventWriter::new(tx)?;
    let mut changed = 0;
    for (id, exception_id) in table::excepted(tx)? {
        if !active.contains_key(&id) {
            tx.execute(
                "UPDATE findings SET state = 'open', exception_id = NULL WHERE id = ?1",
                [&id],
            )?;
            events.append(
                &id,
                "exception_expired",
                &at,
                None,
                &json!({"exception": exception_id}),
            )?;
            changed += 1;
        }
    }
    for (finding, exception_id) in &active {
        let n = tx.execute(
            "UPDATE findings SET state = 'excepted', exception_id = ?2 WHERE id = ?1 AND state = 'open'",
            params![finding, exception_id],
        )?;
        if n > 0 {
            events.append(
                finding,
                "excepted",
                &at,
                None,
                &json!({"exception": exception_id}),
            )?;
            changed += 1;
        }
    }
    Ok(changed)
}
