//! The exceptions file against the store, decided without I/O: which file entries are new, which
//! changed, which stored exceptions the file no longer holds. The store writes the result
//! ([`super::sync`]); reads use the same answer to show exceptions as the next write will record
//! them.
//!
//! **Identity.** A file-made exception is identified by the finding its entry names: the file
//! holds one entry per finding, and the stored exception that is live (not revoked) with
//! `source = file:…` for that finding *is* that entry. Editing its `expires`, `reason` or
//! `approver` changes that exception (same id, `exception_changed`); removing the entry revokes
//! it (`exception_revoked`); an entry for a finding with no live file-made exception is new. The
//! id a new entry gets (a hash of finding, reason, approver and expiry, as before) is only its
//! name. Moving the file keeps identities. CLI-made exceptions are never touched by the file.
//!
//! A file-made exception revoked with `exceptions revoke` stays revoked while the file keeps the
//! same entry (same reason, approver and expiry): the sync reports that entry instead of
//! re-creating it. Editing the entry (a new approval) makes it a new exception.
//!
//! The cap `policy.max_exception_days` counts from the exception's creation, so extending an
//! entry's expiry again and again cannot keep it alive for longer than the cap.

use super::expiry;
use super::file::{ExceptionsFile, FileEntry};
use super::{exception_id, ExceptionsError};
use crate::findings::{EventKind, ExceptionChange};
use crate::store::exceptions::{Exception, Revocation};
use chrono::{DateTime, Utc};
use residual_scanners::time::{format_time, parse_time};
use serde_json::json;
use std::collections::HashSet;

/// What the exceptions file changes in the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    /// New exceptions to insert.
    pub added: Vec<Exception>,
    /// Exceptions whose terms change, with their new terms.
    pub changed: Vec<Exception>,
    /// Exceptions to mark revoked.
    pub revoked: Vec<(String, Revocation)>,
    /// What each finding's chain records, in order.
    pub events: Vec<ExceptionChange>,
    /// Every exception as it stands after the plan (revoked ones included, marked).
    pub after: Vec<Exception>,
    /// File entries kept out because `exceptions revoke` revoked the same terms: line and id.
    pub held: Vec<(usize, String)>,
}

/// Plans the file `file` against `stored` (every stored exception, revoked ones included) at
/// `now`. Without a configured file nothing changes. An entry whose expiry is more than
/// `max_days` after its exception's creation is an error naming file:line.
pub fn plan(
    stored: &[Exception],
    file: Option<&ExceptionsFile>,
    max_days: i64,
    now: DateTime<Utc>,
) -> Result<Plan, ExceptionsError> {
    let mut out = Plan {
        after: stored.to_vec(),
        ..Plan::default()
    };
    let Some(file) = file else {
        return Ok(out);
    };
    let source = file.source();
    let mut taken: HashSet<String> = stored.iter().map(|e| e.id.clone()).collect();
    let mut matched: HashSet<String> = HashSet::new();
    for entry in &file.entries {
        let live: Vec<&Exception> = stored
            .iter()
            .filter(|e| e.from_file() && e.revoked.is_none() && e.finding_id == entry.finding)
            .collect();
        // Of several (stores from before identity was the finding), the one with the same
        // terms, else the newest; the others are superseded.
        let keep = live
            .iter()
            .find(|e| same_terms(e, entry))
            .or(live.last())
            .copied();
        let Some(keep) = keep else {
            add_entry(stored, file, entry, &mut taken, now, max_days, &mut out)?;
            continue;
        };
        matched.insert(keep.id.clone());
        for other in live.iter().filter(|e| e.id != keep.id) {
            matched.insert(other.id.clone());
            let why = format!(
                "superseded by the entry at {}:{}",
                file.path.display(),
                entry.line
            );
            revoke(&mut out, other, &why, &source, "file", now);
        }
        let created = parse_time(&keep.created_at).unwrap_or(now);
        check_cap(file, entry, created, max_days)?;
        if !same_terms(keep, entry) || keep.source != source {
            let new = Exception {
                reason: entry.reason.clone(),
                approver: entry.approver.clone(),
                expires_at: format_time(&entry.expires),
                source: source.clone(),
                ..(*keep).clone()
            };
            if !same_terms(keep, entry) {
                out.events.push(ExceptionChange {
                    exception_id: keep.id.clone(),
                    finding_id: keep.finding_id.clone(),
                    event: EventKind::ExceptionChanged,
                    detail: changed_detail(keep, &new, file, entry.line),
                });
            }
            out.changed.push(new);
        }
    }
    let gone: Vec<&Exception> = stored
        .iter()
        .filter(|e| e.from_file() && e.revoked.is_none() && !matched.contains(&e.id))
        .collect();
    for e in gone {
        let why = format!("its entry was removed from {}", file.path.display());
        revoke(&mut out, e, &why, &source, "file", now);
    }
    settle(&mut out);
    Ok(out)
}

/// A file entry no stored exception matches: a new exception, unless `exceptions revoke`
/// revoked the same terms (then it is held back).
fn add_entry(
    stored: &[Exception],
    file: &ExceptionsFile,
    entry: &FileEntry,
    taken: &mut HashSet<String>,
    now: DateTime<Utc>,
    max_days: i64,
    out: &mut Plan,
) -> Result<(), ExceptionsError> {
    if let Some(revoked) = held_by_cli(stored, entry) {
        out.held.push((entry.line, revoked.id.clone()));
        return Ok(());
    }
    check_cap(file, entry, now, max_days)?;
    let id = fresh_id(taken, entry);
    out.added.push(Exception {
        id,
        finding_id: entry.finding.clone(),
        reason: entry.reason.clone(),
        approver: entry.approver.clone(),
        expires_at: format_time(&entry.expires),
        created_at: format_time(&now),
        source: file.source(),
        revoked: None,
    });
    Ok(())
}

/// Brings `out.after` to the plan's outcome: changed terms, revocations and new exceptions.
fn settle(out: &mut Plan) {
    for new in &out.changed {
        if let Some(e) = out.after.iter_mut().find(|e| e.id == new.id) {
            *e = new.clone();
        }
    }
    for (id, r) in &out.revoked {
        if let Some(e) = out.after.iter_mut().find(|e| &e.id == id) {
            e.revoked = Some(r.clone());
        }
    }
    out.after.extend(out.added.iter().cloned());
}

/// The revocation of one exception and the event its finding's chain records.
pub fn revocation(
    e: &Exception,
    reason: &str,
    by: &str,
    via: &str,
    now: DateTime<Utc>,
) -> (Revocation, ExceptionChange) {
    let r = Revocation {
        at: format_time(&now),
        reason: reason.to_string(),
        by: by.to_string(),
        via: via.to_string(),
    };
    let change = ExceptionChange {
        exception_id: e.id.clone(),
        finding_id: e.finding_id.clone(),
        event: EventKind::ExceptionRevoked,
        detail: json!({
            "exception": e.id,
            "reason": r.reason,
            "by": r.by,
            "via": r.via,
            "source": e.source,
        }),
    };
    (r, change)
}

fn revoke(out: &mut Plan, e: &Exception, reason: &str, by: &str, via: &str, now: DateTime<Utc>) {
    let (r, change) = revocation(e, reason, by, via, now);
    out.revoked.push((e.id.clone(), r));
    out.events.push(change);
}

fn same_terms(e: &Exception, entry: &FileEntry) -> bool {
    e.reason == entry.reason
        && e.approver == entry.approver
        && parse_time(&e.expires_at).ok() == Some(entry.expires)
}

/// A file-made exception of this finding that `exceptions revoke` revoked with the entry's terms.
fn held_by_cli<'s>(stored: &'s [Exception], entry: &FileEntry) -> Option<&'s Exception> {
    stored.iter().rev().find(|e| {
        e.from_file()
            && e.finding_id == entry.finding
            && e.revoked.as_ref().is_some_and(|r| r.via == "cli")
            && same_terms(e, entry)
    })
}

fn check_cap(
    file: &ExceptionsFile,
    entry: &FileEntry,
    created: DateTime<Utc>,
    max_days: i64,
) -> Result<(), ExceptionsError> {
    expiry::check_cap(entry.expires, created, max_days).map_err(|message| ExceptionsError::Entry {
        path: file.path.clone(),
        line: entry.expires_line,
        field: "expires",
        message,
    })
}

/// The id of a new exception for `entry`: the hash of its terms, suffixed when a revoked
/// exception already has that id (the same entry removed and added back).
fn fresh_id(taken: &mut HashSet<String>, entry: &FileEntry) -> String {
    let base = exception_id(
        &entry.finding,
        &entry.reason,
        &entry.approver,
        &format_time(&entry.expires),
    );
    let mut id = base.clone();
    let mut n = 2;
    while taken.contains(&id) {
        id = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(id.clone());
    id
}

fn changed_detail(
    old: &Exception,
    new: &Exception,
    file: &ExceptionsFile,
    line: usize,
) -> serde_json::Value {
    let mut changed = serde_json::Map::new();
    for (field, from, to) in [
        ("expires_at", &old.expires_at, &new.expires_at),
        ("reason", &old.reason, &new.reason),
        ("approver", &old.approver, &new.approver),
    ] {
        if from != to {
            changed.insert(field.into(), json!({"from": from, "to": to}));
        }
    }
    json!({
        "exception": old.id,
        "changed": changed,
        "source": format!("{}:{line}", file.path.display()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn now() -> DateTime<Utc> {
        parse_time("2026-06-01T00:00:00Z").expect("time")
    }

    fn entry(finding: &str, expires: &str, line: usize) -> FileEntry {
        FileEntry {
            finding: finding.into(),
            reason: "batch job".into(),
            approver: "ciso".into(),
            expires: parse_time(expires).expect("time"),
            line,
            expires_line: line,
        }
    }

    fn file(entries: Vec<FileEntry>) -> ExceptionsFile {
        ExceptionsFile {
            path: PathBuf::from("exceptions.toml"),
            entries,
        }
    }

    fn stored(id: &str, finding: &str, expires: &str, source: &str) -> Exception {
        Exception {
            id: id.into(),
            finding_id: finding.into(),
            reason: "batch job".into(),
            approver: "ciso".into(),
            expires_at: expires.into(),
            created_at: "2026-05-01T00:00:00Z".into(),
            source: source.into(),
            revoked: None,
        }
    }

    const FILE: &str = "file:exceptions.toml";

    #[test]
    fn a_new_entry_is_added_with_now_as_its_creation() {
        let f = file(vec![entry("f1", "2026-07-01", 3)]);
        let p = plan(&[], Some(&f), 365, now()).expect("plan");
        assert_eq!(p.added.len(), 1);
        assert_eq!(p.added[0].created_at, "2026-06-01T00:00:00Z");
        assert_eq!(p.added[0].source, FILE);
        assert!(p.events.is_empty());
    }

    #[test]
    fn an_unchanged_entry_changes_nothing() {
        let s = [stored("EXC-1", "f1", "2026-07-01T00:00:00Z", FILE)];
        let f = file(vec![entry("f1", "2026-07-01", 3)]);
        let p = plan(&s, Some(&f), 365, now()).expect("plan");
        assert_eq!(
            p.added.len() + p.changed.len() + p.revoked.len(),
            0,
            "{p:?}"
        );
        assert_eq!(p.after, s);
    }

    #[test]
    fn a_removed_entry_revokes_its_exception_and_leaves_cli_ones_alone() {
        let s = [
            stored("EXC-1", "f1", "2026-07-01T00:00:00Z", FILE),
            stored("EXC-2", "f2", "2026-07-01T00:00:00Z", "cli"),
        ];
        let p = plan(&s, Some(&file(vec![])), 365, now()).expect("plan");
        assert_eq!(p.revoked.len(), 1);
        assert_eq!(p.revoked[0].0, "EXC-1");
        assert_eq!(p.revoked[0].1.via, "file");
        assert_eq!(p.events.len(), 1);
        assert_eq!(p.events[0].event, EventKind::ExceptionRevoked);
        assert!(p.after[0].revoked.is_some() && p.after[1].revoked.is_none());
    }

    #[test]
    fn without_a_configured_file_nothing_is_revoked() {
        let s = [stored("EXC-1", "f1", "2026-07-01T00:00:00Z", FILE)];
        assert_eq!(plan(&s, None, 365, now()).expect("plan").after, s);
    }

    #[test]
    fn a_changed_expiry_is_a_change_of_the_same_exception() {
        let s = [stored("EXC-1", "f1", "2026-07-01T00:00:00Z", FILE)];
        let f = file(vec![entry("f1", "2026-05-15", 3)]);
        let p = plan(&s, Some(&f), 365, now()).expect("plan");
        assert!(p.added.is_empty() && p.revoked.is_empty());
        assert_eq!(p.changed[0].id, "EXC-1");
        assert_eq!(p.changed[0].expires_at, "2026-05-15T00:00:00Z");
        assert_eq!(p.events[0].event, EventKind::ExceptionChanged);
        assert_eq!(
            p.events[0].detail["changed"]["expires_at"]["to"],
            "2026-05-15T00:00:00Z"
        );
    }

    #[test]
    fn the_cap_counts_from_the_exceptions_creation() {
        // Created 2026-05-01: 2027-05-01 is 365 days after, 2027-05-02 one more.
        let s = [stored("EXC-1", "f1", "2026-07-01T00:00:00Z", FILE)];
        let ok = file(vec![entry("f1", "2027-05-01", 3)]);
        plan(&s, Some(&ok), 365, now()).expect("within the cap");
        let long = file(vec![entry("f1", "2027-05-02", 3)]);
        let e = plan(&s, Some(&long), 365, now()).unwrap_err().to_string();
        assert!(
            e.starts_with("exceptions.toml:3: field `expires`") && e.contains("365"),
            "{e}"
        );
    }

    #[test]
    fn an_entry_revoked_from_the_cli_is_not_recreated_until_it_changes() {
        let mut s = stored("EXC-1", "f1", "2026-07-01T00:00:00Z", FILE);
        s.revoked = Some(Revocation {
            at: "2026-05-20T00:00:00Z".into(),
            reason: "left the vendor".into(),
            by: "ann".into(),
            via: "cli".into(),
        });
        let same = file(vec![entry("f1", "2026-07-01", 3)]);
        let p = plan(std::slice::from_ref(&s), Some(&same), 365, now()).expect("plan");
        assert!(p.added.is_empty());
        assert_eq!(p.held, [(3, "EXC-1".to_string())]);
        let renewed = file(vec![entry("f1", "2026-08-01", 3)]);
        let p = plan(&[s], Some(&renewed), 365, now()).expect("plan");
        assert_eq!(p.added.len(), 1);
    }

    #[test]
    fn an_entry_added_back_after_removal_gets_a_new_id() {
        let mut s = stored("EXC-x", "f1", "2026-07-01T00:00:00Z", FILE);
        let e = entry("f1", "2026-07-01", 3);
        s.id = exception_id("f1", "batch job", "ciso", "2026-07-01T00:00:00Z");
        s.revoked = Some(Revocation {
            at: "2026-05-20T00:00:00Z".into(),
            reason: "removed".into(),
            by: "exceptions.toml".into(),
            via: "file".into(),
        });
        let p = plan(std::slice::from_ref(&s), Some(&file(vec![e])), 365, now()).expect("plan");
        assert_eq!(p.added.len(), 1);
        assert_eq!(p.added[0].id, format!("{}-2", s.id));
    }
}
