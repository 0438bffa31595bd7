//! Import HR: one snapshot file into the store (the snapshot, people and their leaver/mover
//! events, in one transaction), or into memory for a run that writes nothing (the gate's `--hr`).

use super::{Progress, Result};
use crate::cases::CaseScope;
use crate::hr::{self, diff, HrFormat};
use crate::person::Person;
use crate::progress::count;
use crate::store::events::{EventWriter, SnapshotEntry};
use crate::store::{people, Store};
use chrono::{DateTime, Utc};
use residual_scanners::time::format_time;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

/// One snapshot to import.
pub struct ImportPlan<'a> {
    pub file: &'a Path,
    /// Format; `None` recognises it from the extension and the content.
    pub format: Option<HrFormat>,
    /// The time the snapshot describes.
    pub as_of: DateTime<Utc>,
    /// A file identical to the last imported one is not imported again (nightly runs re-read
    /// the same export).
    pub skip_unchanged: bool,
    /// Departures the snapshot may cause (`hr.max_departures`); `None` for the default.
    pub max_departures: Option<usize>,
    /// `--allow-mass-departure`: import even when more people leave than `max_departures`.
    pub allow_mass_departure: bool,
    /// What the cases the snapshot opens (a leaver or mover each) are judged with.
    pub cases: &'a CaseScope,
}

/// A snapshot file read and validated, not yet imported.
pub struct ReadSnapshot {
    digest: String,
    parsed: hr::ParsedSnapshot,
    started: std::time::Instant,
}

/// Reads and validates the plan's file before anything is opened: bad input changes nothing.
pub fn read_snapshot(plan: &ImportPlan) -> Result<ReadSnapshot> {
    let started = std::time::Instant::now();
    let bytes = read(plan.file)?;
    let digest = hex::encode(Sha256::digest(&bytes));
    let parsed = hr::parse_snapshot(plan.file, bytes, plan.format)?;
    Ok(ReadSnapshot {
        digest,
        parsed,
        started,
    })
}

/// Imports one snapshot read by [`read_snapshot`] in one transaction; `None` when it was
/// skipped as unchanged.
pub fn import(
    store: &mut Store,
    plan: &ImportPlan,
    snapshot: ReadSnapshot,
    now: DateTime<Utc>,
    progress: &Progress,
) -> Result<Option<people::ImportSummary>> {
    let ReadSnapshot {
        digest,
        parsed,
        started,
    } = snapshot;
    let file = plan.file;
    // The diff is computed inside the write transaction: two imports at once then write the
    // history one sequential order gives, never two diffs against the same old state.
    let tx = store.transaction()?;
    if plan.skip_unchanged {
        if let Some(last) = people::latest_snapshot(&tx)? {
            if last.digest == digest {
                progress.say(format!(
                    "hr: {} unchanged since snapshot {}; not re-imported",
                    file.display(),
                    last.id
                ));
                return Ok(None);
            }
        }
    }
    let known = people::load_all(&tx)?;
    let size = parsed.people.len();
    let changes = diff::apply_snapshot(&known, parsed.people, plan.as_of);
    check_departures(plan, &known, &changes)?;
    let summary = people::write_snapshot(
        &tx,
        &file.display().to_string(),
        parsed.format.as_str(),
        &digest,
        plan.as_of,
        now,
        size,
        &changes,
    )?;
    // The snapshot's entry in the audit chain, in the same transaction: findings rest on it.
    let entry = SnapshotEntry {
        snapshot_id: summary.snapshot_id,
        digest: digest.clone(),
        people: size as i64,
        as_of: format_time(&plan.as_of),
        source: file.display().to_string(),
        format: parsed.format.as_str().to_string(),
    };
    EventWriter::new(&tx)?.append_snapshot(&entry, &format_time(&now))?;
    // Each leaver and mover event opens its case, chained, in the snapshot's transaction.
    let case_changes = crate::store::cases::judge_and_record(&tx, now, |facts| {
        super::cases::judge_all(facts, plan.cases, now)
    })?;
    tx.commit().map_err(crate::store::StoreError::from)?;
    say_imported(progress, plan, parsed.format.as_str(), &summary, started);
    for change in &case_changes {
        progress.say(super::cases::describe(change));
    }
    Ok(Some(summary))
}

/// Refuses a snapshot that would make more people leavers at once than the plan allows: a
/// truncated or failed export looks like that.
fn check_departures(
    plan: &ImportPlan,
    known: &HashMap<String, Person>,
    changes: &diff::SnapshotChanges,
) -> Result<()> {
    let departures = diff::departures(known, changes, plan.as_of);
    let limit = diff::departure_limit(known, plan.max_departures, plan.as_of);
    if departures > limit && !plan.allow_mass_departure {
        return Err(super::Error::Input(format!(
            "hr: {} would make {departures} people leavers at once (the limit is {limit}: \
             `hr.max_departures`, by default a tenth of the people employed, at least 5); a \
             truncated or failed export looks like this, so nothing was imported. If the \
             departures are real, run again with --allow-mass-departure",
            plan.file.display()
        )));
    }
    Ok(())
}

/// The one line an import says about the snapshot it wrote.
fn say_imported(
    progress: &Progress,
    plan: &ImportPlan,
    format: &str,
    summary: &people::ImportSummary,
    started: std::time::Instant,
) {
    progress.say(format!(
        "hr: snapshot {} as of {} from {} ({}): {}, {} joined, {}, {} ({:.2}s)",
        summary.snapshot_id,
        format_time(&plan.as_of),
        plan.file.display(),
        format,
        count(summary.people as u64, "person", "people"),
        summary.joined,
        count(summary.leavers as u64, "leaver", "leavers"),
        count(summary.movers as u64, "mover", "movers"),
        started.elapsed().as_secs_f64()
    ));
}

/// The people of one snapshot file as of `as_of`, as a first import would leave them in a store,
/// held in memory only.
pub fn people_in_memory(
    file: &Path,
    format: Option<HrFormat>,
    as_of: DateTime<Utc>,
    progress: &Progress,
) -> Result<HashMap<String, Person>> {
    let parsed = hr::parse_snapshot(file, read(file)?, format)?;
    // The store keeps times to the second; so does this, so both give the same people.
    let as_of = DateTime::from_timestamp(as_of.timestamp(), 0).unwrap_or(as_of);
    let changes = diff::apply_snapshot(&HashMap::new(), parsed.people, as_of);
    let events = |k| changes.events.iter().filter(|e| e.kind == k).count();
    progress.say(format!(
        "hr: {} ({}) as of {}: {}, {}, {} (read for this run only)",
        file.display(),
        parsed.format.as_str(),
        format_time(&as_of),
        count(changes.people.len() as u64, "person", "people"),
        count(events(diff::EventKind::Leaver) as u64, "leaver", "leavers"),
        count(events(diff::EventKind::Mover) as u64, "mover", "movers"),
    ));
    Ok(changes
        .people
        .into_iter()
        .map(|p| (p.record.employee_id.clone(), p))
        .collect())
}

fn read(file: &Path) -> Result<Vec<u8>> {
    Ok(std::fs::read(file).map_err(|source| hr::HrError::Io {
        file: file.to_path_buf(),
        source,
    })?)
}
