//! What remediation reads and writes: the latest run of each system (the partial-run guard), the
//! person of a case, and one audit-chain event per action outcome, all in one transaction, under
//! the id of each finding the action served (so that `audit log --finding` and the case timeline
//! show it).

use super::db::{Connection, OptionalExtension};
use super::events::EventWriter;
use super::{Result, Store};
use crate::findings::EventKind;
use crate::remediate::plan::LatestRun;
use std::collections::HashMap;

/// The latest full run of each of `systems` (systems without one are absent). A targeted run
/// looked at a few users only, so it says nothing of whether the system's findings came from a
/// partial sweep.
pub fn latest_runs(conn: &Connection, systems: &[String]) -> Result<HashMap<String, LatestRun>> {
    let mut stmt = conn.prepare(
        "SELECT id, status FROM scan_runs WHERE system = ?1 AND targeted IS NULL \
         ORDER BY id DESC LIMIT 1",
    )?;
    let mut out = HashMap::new();
    for system in systems {
        let run = stmt
            .query_row([system], |r| {
                Ok(LatestRun {
                    id: r.get(0)?,
                    status: r.get(1)?,
                })
            })
            .optional()?;
        if let Some(run) = run {
            out.insert(system.clone(), run);
        }
    }
    Ok(out)
}

/// The employee of case `id` (a leaver or mover event), if there is such a case.
pub fn case_employee(conn: &Connection, id: i64) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT employee_id FROM person_events WHERE id = ?1 AND kind IN ('leaver', 'mover')",
            [id],
            |r| r.get(0),
        )
        .optional()?)
}

/// One chained event: the finding it belongs to, its kind and its detail.
pub struct ActionEvent {
    pub finding_id: String,
    pub kind: EventKind,
    pub detail: serde_json::Value,
}

/// Appends `events`, dated `at`, in one transaction.
pub fn record(store: &mut Store, at: &str, events: &[ActionEvent]) -> Result<()> {
    let tx = store.transaction()?;
    {
        let mut writer = EventWriter::new(&tx)?;
        for e in events {
            writer.append(&e.finding_id, e.kind, at, None, &e.detail)?;
        }
    }
    tx.commit()?;
    Ok(())
}
