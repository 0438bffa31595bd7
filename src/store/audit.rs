//! What `audit verify` checks: the chain walked event by event (`store::events::walk`), its
//! seal, a recorded head, and the tables the chain speaks for cross-checked against it — each
//! finding's state against its last event, each exception against what the chain recorded when
//! it took effect, each snapshot and scan run against its entry, the append-only triggers — so
//! that an edit of the findings table, or a chain emptied along with its triggers, is caught
//! even though every remaining event still fits. Every problem is reported, not only the first.

use super::db::Connection;
use super::events::{self, RunEntry, SnapshotEntry};
use super::seal::{self, Seal};
use super::Result;
use crate::findings::EventKind;
use crate::keys::ChainKey;
use std::collections::{HashMap, HashSet};

/// The verdict of `audit verify`.
#[derive(Debug, Clone)]
pub struct Verification {
    pub events: i64,
    /// Events with plain SHA-256 hashes, from before the chain was keyed.
    pub plain: i64,
    /// Keyed events checked with the key.
    pub keyed: i64,
    /// Keyed events that could not be checked: no key.
    pub unchecked: i64,
    /// `(seq, hash)` of the last event; `(0, GENESIS)` for an empty chain.
    pub head: (i64, String),
    /// Everything that does not fit, each naming what and why.
    pub problems: Vec<String>,
}

/// The triggers that make the chain and its seal append-only.
const TRIGGERS: [&str; 4] = [
    "finding_events_no_update",
    "finding_events_no_delete",
    "chain_seal_no_update",
    "chain_seal_no_delete",
];

/// At most this many problems of one kind are listed one by one.
const MAX_LISTED: usize = 20;

/// Walks and cross-checks the whole chain; `key` checks the keyed hashes and the seal.
pub fn verify(conn: &Connection, key: Option<&ChainKey>) -> Result<Verification> {
    let seal = seal::read(conn)?;
    let mut problems = seal_problems(conn, seal.as_ref(), key)?;
    let walk = events::walk(conn, key, seal.as_ref().map(Seal::keyed_from))?;
    problems.extend(walk.problems);
    problems.extend(missing_triggers(conn)?);
    problems.extend(findings_against_events(conn)?);
    problems.extend(exceptions_against_events(conn)?);
    problems.extend(evidence_against_entries(conn, seal.as_ref())?);
    Ok(Verification {
        events: walk.events,
        plain: walk.plain,
        keyed: walk.keyed,
        unchecked: walk.unchecked,
        head: events::head(conn)?,
        problems,
    })
}

/// Whether the chain still holds event `seq` with `hash`: `None` when it does, else why not.
/// A head recorded elsewhere (a CI log, a ticket) that no longer fits means the chain was
/// truncated or rewritten after it was recorded.
pub fn check_head(conn: &Connection, seq: i64, hash: &str) -> Result<Option<String>> {
    let (last, _) = events::head(conn)?;
    if seq == 0 {
        return Ok((hash != events::GENESIS)
            .then(|| format!("recorded head 0:{hash} is not the empty chain's head")));
    }
    Ok(match events::hash_of(conn, seq)? {
        None if seq > last => Some(format!(
            "recorded head {seq}:{hash} is gone: the chain ends at event {last}, so it was truncated after the head was recorded"
        )),
        None => Some(format!(
            "recorded head {seq}:{hash} is gone: event {seq} was removed from the chain"
        )),
        Some(stored) if stored != hash => Some(format!(
            "recorded head {seq}:{hash} does not match: event {seq} now has hash {stored}, so the chain was rewritten after the head was recorded"
        )),
        Some(_) => None,
    })
}

fn seal_problems(
    conn: &Connection,
    seal: Option<&Seal>,
    key: Option<&ChainKey>,
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let Some(seal) = seal else {
        out.push("the chain has no seal (chain_seal is empty): it was removed, so its keyed part cannot be told from history rewritten with plain SHA-256".to_string());
        return Ok(out);
    };
    if let Some(key) = key {
        if !seal.is_authentic(key) {
            out.push(format!(
                "the chain seal does not match the chain key {}: the seal was edited, or the key is not this store's",
                key.path().display()
            ));
        }
    }
    if seal.legacy_events > 0 {
        match events::hash_of(conn, seal.legacy_events)? {
            None => out.push(format!(
                "event {} is gone: the seal says the chain held {} events, ending at it, when it was keyed",
                seal.legacy_events, seal.legacy_events
            )),
            Some(h) if h != seal.legacy_head => out.push(format!(
                "event {} does not have the hash the seal recorded when the chain was keyed: history before the key was rewritten",
                seal.legacy_events
            )),
            Some(_) => {}
        }
    }
    Ok(out)
}

fn missing_triggers(conn: &Connection) -> Result<Vec<String>> {
    // The catalogue of each backend; PostgreSQL lists a row trigger once per table it is on.
    let mut stmt = conn.prepare(if conn.is_postgres() {
        "SELECT DISTINCT tgname::text FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'"
    } else {
        "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    })?;
    let present: HashSet<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<super::db::Result<_>>()?;
    Ok(TRIGGERS
        .iter()
        .filter(|t| !present.contains(**t))
        .map(|t| format!("trigger {t} is missing: an append-only guard was dropped"))
        .collect())
}

/// Keeps the first [`MAX_LISTED`] of `items` and says how many more there were.
fn capped(items: Vec<String>, more_of: &str) -> Vec<String> {
    let total = items.len();
    let mut out: Vec<String> = items.into_iter().take(MAX_LISTED).collect();
    if total > MAX_LISTED {
        out.push(format!("… and {} more {more_of}", total - MAX_LISTED));
    }
    out
}

/// Each finding's state against its last event; findings without events; events of findings
/// that are gone.
fn findings_against_events(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT f.id, f.state, f.exception_id, e.seq, e.event, \
           f.exception_id IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM exceptions x WHERE x.id = f.exception_id AND x.finding_id = f.id) \
         FROM findings f \
         LEFT JOIN (SELECT finding_id, MAX(seq) AS seq FROM finding_events GROUP BY finding_id) last \
           ON last.finding_id = f.id \
         LEFT JOIN finding_events e ON e.seq = last.seq \
         ORDER BY f.id",
    )?;
    let mut rows = stmt.query([])?;
    let mut without = Vec::new();
    let mut mismatched = Vec::new();
    while let Some(r) = rows.next()? {
        let (id, state, exception): (String, String, Option<String>) =
            (r.get(0)?, r.get(1)?, r.get(2)?);
        let last: Option<(i64, String)> = match r.get::<_, Option<i64>>(3)? {
            Some(seq) => Some((seq, r.get(4)?)),
            None => None,
        };
        let exception_gone: bool = r.get(5)?;
        let Some((seq, event)) = last else {
            without.push(format!(
                "finding {id} ({state}) has no event in the chain: its row was added, or its history removed"
            ));
            continue;
        };
        if let Some(after) = EventKind::state_after(&event) {
            if after.as_str() != state {
                mismatched.push(format!(
                    "finding {id} is {state}, but its last event ({seq}, {event}) leaves it {}: the findings table was edited",
                    after.as_str()
                ));
                continue;
            }
        }
        // Which exception covers an excepted finding may change without an event (a later
        // exception of the same finding takes over), so the row is held to the exceptions
        // table rather than to the id its last event names.
        if state == "excepted" && exception_gone {
            mismatched.push(format!(
                "finding {id} is excepted by {}, which is no exception of this finding in the exceptions table: the findings or exceptions table was edited",
                exception.as_deref().unwrap_or("")
            ));
        }
    }
    let mut stmt = conn.prepare(
        "SELECT DISTINCT e.finding_id FROM finding_events e \
         WHERE NOT EXISTS (SELECT 1 FROM findings f WHERE f.id = e.finding_id) ORDER BY 1",
    )?;
    let gone: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<super::db::Result<Vec<_>>>()?
        .into_iter()
        .filter(|id| !events::is_entry_id(id))
        .map(|id| {
            format!("the chain has events of finding {id}, which is not in the findings table: its row was deleted")
        })
        .collect();
    let mut out = capped(without, "findings without events");
    out.extend(capped(
        mismatched,
        "findings that do not match their last event",
    ));
    out.extend(capped(gone, "deleted findings"));
    Ok(out)
}

/// The names of the missed units in a run's stored coverage (JSON), in stored order; `None`
/// when the column holds something that is not a list of units.
fn missed_units(coverage: Option<&str>) -> Option<Vec<String>> {
    let units: Vec<residual_scanners::coverage::Unit> = match coverage {
        None => Vec::new(),
        Some(c) => serde_json::from_str(c).ok()?,
    };
    Some(
        units
            .into_iter()
            .filter(|u| !u.is_covered())
            .map(|u| u.name)
            .collect(),
    )
}

/// Each exception against what the chain recorded of it when it took effect (its expiry and
/// approver, recorded in `excepted` events): an exception extended in the table afterwards is
/// named. Exceptions the chain has no record of are not checked here.
fn exceptions_against_events(conn: &Connection) -> Result<Vec<String>> {
    // The details are read as JSON here rather than in SQL: one query for both backends, and
    // PostgreSQL before 16 cannot test a text for JSON without failing the whole query (a detail
    // that is not JSON is the chain's problem, reported by the chain's own check).
    let mut stmt = conn.prepare(
        "SELECT seq, detail FROM finding_events WHERE detail LIKE '%\"expires_at\"%' ORDER BY seq",
    )?;
    let mut recorded: HashMap<String, (String, Option<String>, i64)> = HashMap::new();
    for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
        let (seq, detail) = row?;
        if let Some((id, expires, approver)) =
            exception_record(&super::events::detail_json(&detail))
        {
            recorded.insert(id, (expires, approver, seq));
        }
    }
    let mut stmt = conn.prepare("SELECT id, expires_at, approver FROM exceptions ORDER BY id")?;
    let mut out = Vec::new();
    for row in stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })? {
        let (id, expires, approver) = row?;
        if let Some((was_expires, was_approver, seq)) = recorded.get(&id) {
            if *was_expires != expires || was_approver.as_ref().is_some_and(|a| *a != approver) {
                out.push(format!(
                    "exception {id} expires {expires} (approver {approver}), but the chain recorded expiry {was_expires}{} when it took effect (event {seq}): the exceptions table was edited",
                    was_approver
                        .as_ref()
                        .map(|a| format!(", approver {a}"))
                        .unwrap_or_default()
                ));
            }
        }
    }
    Ok(capped(out, "edited exceptions"))
}

/// The exception id, expiry and approver an event's detail records, when it is a JSON object
/// whose `exception` and `expires_at` are strings (the approver when it is one).
fn exception_record(detail: &str) -> Option<(String, String, Option<String>)> {
    let value: serde_json::Value = serde_json::from_str(detail).ok()?;
    let text = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_string);
    Some((text("exception")?, text("expires_at")?, text("approver")))
}

/// Each snapshot and scan run against its entry in the chain: an entry whose row is gone or
/// says otherwise, and a row the chain has no entry of (after the seal: older ones came before
/// the chain covered them).
fn evidence_against_entries(conn: &Connection, seal: Option<&Seal>) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let (snapshots, runs) = chained_entries(conn, &mut out)?;
    snapshots_against_entries(conn, &snapshots, seal, &mut out)?;
    runs_against_entries(conn, &runs, seal, &mut out)?;
    Ok(capped(
        out,
        "snapshots and runs that do not match the chain",
    ))
}

/// The chain's entries of snapshots and runs, by snapshot and run id, each with its event's seq.
type ChainedEntries = (
    HashMap<i64, (i64, SnapshotEntry)>,
    HashMap<i64, (i64, RunEntry)>,
);

/// Reads the chain's snapshot and run entries; an entry that is not one of its kind goes to `out`.
fn chained_entries(conn: &Connection, out: &mut Vec<String>) -> Result<ChainedEntries> {
    let mut stmt = conn.prepare(
        "SELECT seq, event, detail FROM finding_events WHERE event IN ('hr_snapshot', 'scan_run') ORDER BY seq",
    )?;
    let mut snapshots: HashMap<i64, (i64, SnapshotEntry)> = HashMap::new();
    let mut runs: HashMap<i64, (i64, RunEntry)> = HashMap::new();
    for row in stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })? {
        let (seq, event, stored) = row?;
        let detail = super::events::detail_json(&stored);
        let parsed = if event == EventKind::HrSnapshot.as_str() {
            serde_json::from_str::<SnapshotEntry>(&detail)
                .map(|e| drop(snapshots.insert(e.snapshot_id, (seq, e))))
        } else {
            serde_json::from_str::<RunEntry>(&detail).map(|e| drop(runs.insert(e.run_id, (seq, e))))
        };
        if parsed.is_err() {
            out.push(format!(
                "event {seq} ({event}): its detail is not an entry of its kind"
            ));
        }
    }
    Ok((snapshots, runs))
}

/// Each snapshot row against its entry in the chain.
fn snapshots_against_entries(
    conn: &Connection,
    snapshots: &HashMap<i64, (i64, SnapshotEntry)>,
    seal: Option<&Seal>,
    out: &mut Vec<String>,
) -> Result<()> {
    let mut stmt = conn.prepare("SELECT id, digest, people FROM snapshots ORDER BY id")?;
    let mut seen = HashSet::new();
    let legacy_snapshots = seal.map_or(i64::MAX, |s| s.legacy_snapshots);
    for row in stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })? {
        let (id, digest, people) = row?;
        seen.insert(id);
        match snapshots.get(&id) {
            Some((seq, e)) if e.digest != digest || e.people != people => out.push(format!(
                "snapshot {id} has digest {digest} and {people} people, but the chain recorded {} and {} (event {seq}): the snapshots table was edited",
                e.digest, e.people
            )),
            None if id > legacy_snapshots => out.push(format!(
                "snapshot {id} has no entry in the chain: it was added to the snapshots table afterwards"
            )),
            _ => {}
        }
    }
    for (id, (seq, _)) in snapshots {
        if !seen.contains(id) {
            out.push(format!(
                "snapshot {id} is in the chain (event {seq}) but not in the snapshots table: it was deleted"
            ));
        }
    }
    Ok(())
}

/// Each scan run row against its entry in the chain.
fn runs_against_entries(
    conn: &Connection,
    runs: &HashMap<i64, (i64, RunEntry)>,
    seal: Option<&Seal>,
    out: &mut Vec<String>,
) -> Result<()> {
    let mut stmt =
        conn.prepare("SELECT id, system, status, coverage FROM scan_runs ORDER BY id")?;
    let mut seen = HashSet::new();
    let legacy_runs = seal.map_or(i64::MAX, |s| s.legacy_runs);
    for row in stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })? {
        let (id, system, status, coverage) = row?;
        seen.insert(id);
        let Some(missed) = missed_units(coverage.as_deref()) else {
            out.push(format!(
                "run {id} ({system}): its stored coverage is not a list of units: the scan_runs table was edited"
            ));
            continue;
        };
        match runs.get(&id) {
            // What a run vouched for decided which findings it resolved: a unit moved from
            // missed to covered in the table afterwards is an edit.
            Some((seq, e))
                if e.system == system
                    && e.status == status
                    && (!e.covered.is_empty() || !e.missed.is_empty())
                    && e.missed != missed =>
            {
                out.push(format!(
                    "run {id} of {system} missed [{}], but the chain recorded that it missed [{}] (event {seq}): the scan_runs table was edited",
                    missed.join(", "),
                    e.missed.join(", ")
                ))
            }
            Some((seq, e)) if e.system != system || e.status != status => out.push(format!(
                "run {id} is a {status} run of {system}, but the chain recorded a {} run of {} (event {seq}): the scan_runs table was edited",
                e.status, e.system
            )),
            // A run still under way, or one that was killed, has no entry: its transaction never
            // committed.
            None if id > legacy_runs && !matches!(status.as_str(), "started" | "interrupted") => {
                out.push(format!(
                    "run {id} ({status}, {system}) has no entry in the chain: it was added to the scan_runs table afterwards"
                ))
            }
            _ => {}
        }
    }
    for (id, (seq, _)) in runs {
        if !seen.contains(id) {
            out.push(format!(
                "run {id} is in the chain (event {seq}) but not in the scan_runs table: it was deleted"
            ));
        }
    }
    Ok(())
}
