//! `cases`: what a case is judged from (person events, runs, the person's findings and links) and
//! the last judged state of each case, whose transitions are chained events under `case:<id>`.
//! The judging itself is `crate::cases` (pure).

use super::db::{params, Connection};
use super::events::EventWriter;
use super::Result;
use crate::cases::{case_id, CaseEvent, CaseKind, CaseState, CaseVerdict, FindingFact, RunFact};
use crate::findings::{EventKind, FindingState};
use chrono::{DateTime, Utc};
use residual_scanners::time::{format_time, parse_time};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Everything the cases of a store are judged from, read in a handful of queries.
#[derive(Debug, Default)]
pub struct CaseFacts {
    pub events: Vec<CaseEvent>,
    /// Runs by system, in id order.
    pub runs: BTreeMap<String, Vec<RunFact>>,
    /// The findings of each person: (system, finding).
    pub findings: HashMap<String, Vec<(String, FindingFact)>>,
    /// (system, employee id) pairs some account links.
    pub linked: HashSet<(String, String)>,
}

fn time(s: &str) -> DateTime<Utc> {
    parse_time(s).unwrap_or_default()
}

/// Reads the facts of every case (or of one person's cases) as they stand at `now`: an
/// exception that has expired by `now` counts as gone, so its finding is open.
pub fn load(conn: &Connection, employee: Option<&str>, now: DateTime<Utc>) -> Result<CaseFacts> {
    let mut facts = CaseFacts {
        events: load_events(conn, employee)?,
        runs: load_runs(conn)?,
        ..CaseFacts::default()
    };
    let people: HashSet<String> = facts.events.iter().map(|e| e.employee_id.clone()).collect();
    facts.findings = load_findings(conn, employee, now, &people)?;
    facts.linked = load_links(conn, employee, &people)?;
    Ok(facts)
}

/// The leaver and mover events (of one person, or of everyone), oldest first.
fn load_events(conn: &Connection, employee: Option<&str>) -> Result<Vec<CaseEvent>> {
    let mut events = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT pe.id, pe.employee_id, pe.kind, pe.effective_at, s.imported_at, p.name \
         FROM person_events pe JOIN snapshots s ON s.id = pe.snapshot_id \
         LEFT JOIN people p ON p.employee_id = pe.employee_id \
         WHERE pe.kind IN ('leaver', 'mover') AND (?1 IS NULL OR pe.employee_id = ?1) \
         ORDER BY pe.id",
    )?;
    let mut rows = stmt.query([employee])?;
    while let Some(r) = rows.next()? {
        let kind: String = r.get(2)?;
        let Some(kind) = CaseKind::parse(&kind) else {
            continue;
        };
        let (effective, known): (String, String) = (r.get(3)?, r.get(4)?);
        events.push(CaseEvent {
            id: r.get(0)?,
            employee_id: r.get(1)?,
            name: r.get(5)?,
            kind,
            effective_at: time(&effective),
            known_at: time(&known),
        });
    }
    Ok(events)
}

/// Every scan run per system, oldest first, with whether it looked everywhere.
fn load_runs(conn: &Connection) -> Result<BTreeMap<String, Vec<RunFact>>> {
    let mut runs: BTreeMap<String, Vec<RunFact>> = BTreeMap::new();
    let mut stmt = conn.prepare(
        "SELECT id, system, status, COALESCE(evaluated_at, started_at), coverage, targeted \
         FROM scan_runs ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (system, status, at): (String, String, String) = (r.get(1)?, r.get(2)?, r.get(3)?);
        let coverage: Option<String> = r.get(4)?;
        // A targeted run looked at a few accounts, not everywhere the person's access could be.
        let targeted: Option<String> = r.get(5)?;
        runs.entry(system).or_default().push(RunFact {
            id: r.get(0)?,
            complete: status == "complete"
                && targeted.is_none()
                && !misses_a_unit(coverage.as_deref()),
            evaluated_at: time(&at),
        });
    }
    Ok(runs)
}

/// The findings of `people`, by person, as (system, finding); an exception that has expired by
/// `now` counts as gone, so its finding is open.
fn load_findings(
    conn: &Connection,
    employee: Option<&str>,
    now: DateTime<Utc>,
    people: &HashSet<String>,
) -> Result<HashMap<String, Vec<(String, FindingFact)>>> {
    let expired: HashSet<String> = {
        let mut stmt = conn.prepare("SELECT id FROM exceptions WHERE expires_at <= ?1")?;
        let ids = stmt.query_map([format_time(&now)], |r| r.get::<_, String>(0))?;
        ids.collect::<super::db::Result<_>>()?
    };
    let mut findings: HashMap<String, Vec<(String, FindingFact)>> = HashMap::new();
    let mut stmt = conn.prepare(
        "SELECT id, system, rule, state, resolved_by_run, exception_id, employee_id FROM findings \
         WHERE employee_id IS NOT NULL AND (?1 IS NULL OR employee_id = ?1)",
    )?;
    let mut rows = stmt.query([employee])?;
    while let Some(r) = rows.next()? {
        let employee: String = r.get(6)?;
        if !people.contains(&employee) {
            continue;
        }
        let state: String = r.get(3)?;
        let exception: Option<String> = r.get(5)?;
        let mut state = FindingState::parse(&state).unwrap_or(FindingState::Open);
        if state == FindingState::Excepted && exception.is_some_and(|e| expired.contains(&e)) {
            state = FindingState::Open;
        }
        let finding = FindingFact {
            id: r.get(0)?,
            rule: r.get(2)?,
            state,
            resolved_by_run: r.get(4)?,
        };
        findings
            .entry(employee)
            .or_default()
            .push((r.get(1)?, finding));
    }
    Ok(findings)
}

/// The (system, person) pairs the links table joins, for `people` only.
///
/// Every link is read and the few of `people` kept here: SQL's `DISTINCT` over a million links
/// sorted them all first (1.3 s of every scan's case judgement), for the ~10,000 people with a
/// case; links have no index by person (their key is the account).
fn load_links(
    conn: &Connection,
    employee: Option<&str>,
    people: &HashSet<String>,
) -> Result<HashSet<(String, String)>> {
    let mut linked = HashSet::new();
    let mut stmt = conn.prepare(
        "SELECT s.name, l.employee_id FROM links l JOIN systems s ON s.id = l.system \
             WHERE ?1 IS NULL OR l.employee_id = ?1",
    )?;
    let mut rows = stmt.query([employee])?;
    while let Some(r) = rows.next()? {
        let employee = r.get_ref(1)?.as_str()?;
        if people.contains(employee) {
            linked.insert((r.get_ref(0)?.as_str()?.to_string(), employee.to_string()));
        }
    }
    Ok(linked)
}

/// Loads the facts of every case inside the caller's write transaction, judges them with
/// `judge`, and records the changes (see [`record`]).
pub fn judge_and_record(
    tx: &super::Tx,
    now: DateTime<Utc>,
    judge: impl FnOnce(&CaseFacts) -> Vec<CaseVerdict>,
) -> Result<Vec<CaseChange>> {
    let facts = load(tx, None, now)?;
    let verdicts = judge(&facts);
    record(tx, &verdicts, &format_time(&now))
}

/// Whether a run's stored coverage (JSON) names a unit it did not cover, a kind switched off in
/// the configuration included: such a run is complete for its findings, but it did not look
/// everywhere a person's access could be. Unreadable coverage counts as a miss.
fn misses_a_unit(coverage: Option<&str>) -> bool {
    let Some(coverage) = coverage else {
        return false;
    };
    match serde_json::from_str::<Vec<residual_scanners::coverage::Unit>>(coverage) {
        Ok(units) => units.iter().any(|u| !u.is_covered()),
        Err(_) => true,
    }
}

/// A case whose judged state changed with a write.
#[derive(Debug, Clone)]
pub struct CaseChange {
    pub case_id: String,
    pub employee_id: String,
    pub name: Option<String>,
    pub from: Option<CaseState>,
    pub to: CaseState,
}

/// Stores the judged state of every case and chains one event per case whose state changed
/// (opened, verified, excepted, re-opened), inside the caller's transaction.
pub fn record(tx: &super::Tx, verdicts: &[CaseVerdict], at: &str) -> Result<Vec<CaseChange>> {
    let stored: HashMap<i64, String> = {
        let mut stmt = tx.prepare("SELECT id, state FROM cases")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<super::db::Result<_>>()?
    };
    let mut events = EventWriter::new(tx)?;
    let mut upsert = tx.prepare(
        "INSERT INTO cases (id, employee_id, kind, state, verified_at, changed_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT(id) DO UPDATE SET state = excluded.state, verified_at = excluded.verified_at, \
           changed_at = excluded.changed_at",
    )?;
    let mut changes = Vec::new();
    for v in verdicts {
        let before = stored.get(&v.event.id).and_then(|s| CaseState::parse(s));
        if before == Some(v.state) {
            continue;
        }
        let verified_at = v.verified_at.map(|t| format_time(&t));
        upsert.execute(params![
            v.event.id,
            v.event.employee_id,
            v.event.kind.as_str(),
            v.state.as_str(),
            verified_at,
            at
        ])?;
        let subject = format!("case:{}", v.event.id);
        let detail = json!({
            "case": case_id(v.event.id),
            "employee_id": v.event.employee_id,
            "event": v.event.kind.as_str(),
            "state": v.state.as_str(),
            "verified_at": verified_at,
            "systems": v.systems.iter().map(|s| json!({
                "system": s.system, "state": s.state.as_str(), "proving_run": s.proving_run,
            })).collect::<Vec<_>>(),
        });
        let mut kinds = Vec::new();
        if before.is_none() {
            kinds.push(EventKind::CaseOpened);
        }
        match v.state {
            CaseState::Verified => kinds.push(EventKind::CaseVerified),
            CaseState::Excepted => kinds.push(EventKind::CaseExcepted),
            CaseState::Open if before.is_some() => kinds.push(EventKind::CaseReopened),
            CaseState::Open => {}
        }
        for kind in kinds {
            events.append(&subject, kind, at, None, &detail)?;
        }
        changes.push(CaseChange {
            case_id: case_id(v.event.id),
            employee_id: v.event.employee_id.clone(),
            name: v.event.name.clone(),
            from: before,
            to: v.state,
        });
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::{load, misses_a_unit};
    use crate::store::runs;
    use residual_scanners::{coverage, Observations, RunStatus, ScanReport};

    fn report(coverage: Vec<coverage::Unit>) -> ScanReport {
        let now = chrono::Utc::now();
        ScanReport {
            scanner: "aws-iam".into(),
            system: "aws-iam:1".into(),
            input_digest: None,
            status: RunStatus::Complete,
            started_at: now,
            finished_at: now,
            observations: Observations::default(),
            errors: Vec::new(),
            coverage,
            calls: 0,
        }
    }

    #[test]
    fn a_targeted_run_never_proves_a_case() {
        for (_dir, mut store) in crate::store::testing::stores() {
            let now = chrono::Utc::now();
            let tx = store.transaction().expect("tx");
            let targeted = coverage::units(&coverage::iam_user_units("dan"), &[]);
            runs::finish(&tx, None, &report(targeted), now).expect("targeted run");
            let full = coverage::units(&["users".to_string()], &[]);
            runs::finish(&tx, None, &report(full), now).expect("full run");
            tx.commit().expect("commit");
            let facts = load(store.conn(), None, now).expect("facts");
            let complete: Vec<bool> = facts.runs["aws-iam:1"].iter().map(|r| r.complete).collect();
            assert_eq!(complete, [false, true]);
        }
    }

    #[test]
    fn a_unit_switched_off_or_missed_keeps_a_run_from_proving_a_case() {
        let covered = r#"[{"name":"users"},{"name":"users:access-keys"}]"#;
        let disabled = r#"[{"name":"users"},{"name":"users:service-credentials","missed":{"unit":"users:service-credentials","class":"disabled","reason":"switched off"}}]"#;
        assert!(
            !misses_a_unit(None),
            "a run from before coverage: its status decides"
        );
        assert!(!misses_a_unit(Some(covered)));
        assert!(misses_a_unit(Some(disabled)));
        assert!(misses_a_unit(Some("not json")));
    }
}
