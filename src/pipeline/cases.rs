//! Judge every leaver and mover case over the systems in scope, for reading (`cases`, `case`)
//! or after a write (an HR import, a scan run), when each case whose state changed gets a
//! chained event.

use super::Result;
use crate::cases::{judge, placeholder_of, CaseScope, CaseVerdict, SystemFacts};
use crate::store::cases::{self, CaseChange, CaseFacts};
use crate::store::Store;
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

/// Judges the cases `facts` holds at `now`. Each case is judged over the configured systems and
/// every system with runs, in name order.
pub fn judge_all(facts: &CaseFacts, scope: &CaseScope, now: DateTime<Utc>) -> Vec<CaseVerdict> {
    // `aws-iam:*` and the like stand for a system whose name is known only once it ran.
    let systems: BTreeSet<&str> = scope
        .systems
        .iter()
        .map(String::as_str)
        .filter(|s| !facts.runs.keys().any(|ran| placeholder_of(s, ran)))
        .chain(facts.runs.keys().map(String::as_str))
        .collect();
    let no_findings = Vec::new();
    facts
        .events
        .iter()
        .map(|event| {
            let findings = facts
                .findings
                .get(&event.employee_id)
                .unwrap_or(&no_findings);
            let per_system: Vec<SystemFacts> = systems
                .iter()
                .map(|&system| SystemFacts {
                    system,
                    runs: facts.runs.get(system).map(Vec::as_slice).unwrap_or(&[]),
                    findings: findings
                        .iter()
                        .filter(|(s, f)| s == system && event.kind.concerns(&f.rule))
                        .map(|(_, f)| f)
                        .collect(),
                    linked: facts
                        .linked
                        .contains(&(system.to_string(), event.employee_id.clone())),
                })
                .collect();
            judge(event, &per_system, &scope.policy, now)
        })
        .collect()
}

/// The cases as they stand at `now` (of one person, or all), without writing.
pub fn read(
    store: &Store,
    scope: &CaseScope,
    employee: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<CaseVerdict>> {
    let facts = cases::load(store.conn(), employee, now)?;
    Ok(judge_all(&facts, scope, now))
}

/// Judges every case after a write and records the ones whose state changed, in a transaction
/// of its own.
pub fn sync(store: &mut Store, scope: &CaseScope, now: DateTime<Utc>) -> Result<Vec<CaseChange>> {
    let started = std::time::Instant::now();
    let tx = store.transaction()?;
    let changes = cases::judge_and_record(&tx, now, |facts| judge_all(facts, scope, now))?;
    tx.commit().map_err(crate::store::StoreError::from)?;
    tracing::debug!(elapsed = ?started.elapsed(), changed = changes.len(), "cases judged");
    Ok(changes)
}

/// One line per changed case, as `scan`, `daemon` and `hr import` print them.
pub fn describe(change: &CaseChange) -> String {
    let who = change
        .name
        .as_deref()
        .map(|n| format!("{} ({n})", change.employee_id))
        .unwrap_or_else(|| change.employee_id.clone());
    match change.from {
        None => format!(
            "case {} of {who}: opened, {}",
            change.case_id,
            change.to.as_str()
        ),
        Some(from) => format!(
            "case {} of {who}: {} → {}",
            change.case_id,
            from.as_str(),
            change.to.as_str()
        ),
    }
}
