//! Exceptions as policy: the exceptions file under version control, exception ids, and which
//! exception covers a finding at a given time — matched in memory ([`Covering`]) for the gate, or
//! synced into the store ([`sync`]) by every command that writes.
//!
//! The configured file is authoritative for the exceptions it made: an entry removed from it
//! revokes its exception, an entry edited changes it, each with an event in its finding's chain
//! (see [`plan`] for how an entry keeps its identity). Exceptions made with `exceptions add` are
//! revoked only with `exceptions revoke`.
//!
//! The file:
//!
//! ```toml
//! [[exception]]
//! finding = "3f9c…"          # finding id
//! reason = "shared break-glass account, rotated monthly"
//! approver = "ciso@example.com"
//! expires = "2026-12-31"     # a date (start of that day, UTC) or an RFC 3339 time
//! ```

use crate::store::exceptions::{self as stored, Exception};
use crate::store::{self, Store};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub mod expiry;
pub mod file;
pub mod plan;

pub use file::{ExceptionsFile, FileEntry};

/// A bad exceptions file, or a store that could not take it. Every message names the file, and
/// the line and field where there is one.
#[derive(Debug, thiserror::Error)]
pub enum ExceptionsError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}:{line}: field `{field}`: {message}", path.display())]
    Entry {
        path: PathBuf,
        line: usize,
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// What exceptions policy the configuration sets: the file, and the longest an exception may
/// last (`policy.max_exception_days`).
#[derive(Debug, Clone)]
pub struct ExceptionPolicy {
    pub file: Option<PathBuf>,
    pub max_days: i64,
}

/// The id of an exception when it is made: the same finding, reason, approver and expiry give
/// the same id. (A file entry keeps its id when edited; see [`plan`].)
pub fn exception_id(finding: &str, reason: &str, approver: &str, expires: &str) -> String {
    let mut h = Sha256::new();
    for p in [finding, reason, approver, expires] {
        h.update(p.as_bytes());
        h.update([0]);
    }
    format!("EXC-{}", &hex::encode(h.finalize())[..12])
}

/// The configured exceptions file, read and checked; `None` when none is configured. A configured
/// file that does not exist holds no entries (so every exception it made is revoked).
pub fn read_configured(file: Option<&Path>) -> Result<Option<ExceptionsFile>, ExceptionsError> {
    match file {
        Some(path) if path.exists() => file::read(path).map(Some),
        Some(path) => Ok(Some(ExceptionsFile {
            path: path.to_path_buf(),
            entries: Vec::new(),
        })),
        None => Ok(None),
    }
}

/// The exceptions as they stand at `now` given the configured file, without writing: `stored`
/// (every stored exception; empty without a store) with the file's changes applied, as the next
/// write will record them. Revoked ones are included, marked.
pub fn as_they_stand(
    stored: &[Exception],
    policy: &ExceptionPolicy,
    now: DateTime<Utc>,
) -> Result<Vec<Exception>, ExceptionsError> {
    let file = read_configured(policy.file.as_deref())?;
    Ok(plan::plan(stored, file.as_ref(), policy.max_days, now)?.after)
}

/// What a sync did that a person should hear about.
#[derive(Debug, Default)]
pub struct Synced {
    /// File entries kept out because `exceptions revoke` revoked them: line and exception id.
    pub held: Vec<(PathBuf, usize, String)>,
}

/// Reads the configured exceptions file into the store — new entries added, edited ones
/// changed, removed ones revoked, each recorded in its finding's chain — and applies expiry, in
/// one transaction. Bad input is an error and changes nothing.
pub fn sync(
    store: &mut Store,
    policy: &ExceptionPolicy,
    now: DateTime<Utc>,
) -> Result<Synced, ExceptionsError> {
    let file = read_configured(policy.file.as_deref())?;
    let tx = store.transaction()?;
    let all = stored::list(&tx)?;
    let plan = plan::plan(&all, file.as_ref(), policy.max_days, now)?;
    // Nothing to record is no commit: a command that then fails on bad input must be able to
    // say (exit 2) that it changed nothing.
    if write_plan(&tx, &plan, now)? {
        tx.commit().map_err(store::StoreError::from)?;
    }
    Ok(synced(file.as_ref(), plan))
}

/// [`sync`] inside the caller's transaction: a scan run recorded batch by batch syncs in its own,
/// after reading its export (an export refused as bad input then changes nothing here either).
pub fn sync_in(
    tx: &store::Tx,
    policy: &ExceptionPolicy,
    now: DateTime<Utc>,
) -> Result<Synced, ExceptionsError> {
    let file = read_configured(policy.file.as_deref())?;
    let all = stored::list(tx)?;
    let plan = plan::plan(&all, file.as_ref(), policy.max_days, now)?;
    write_plan(tx, &plan, now)?;
    Ok(synced(file.as_ref(), plan))
}

/// Writes what the plan changes (new, changed and revoked exceptions) and records it on the
/// findings, inside the caller's transaction. Returns whether it wrote anything. Here rather than
/// in the store, which then needs nothing of the plan's shape.
fn write_plan(
    tx: &store::Tx,
    plan: &plan::Plan,
    now: DateTime<Utc>,
) -> Result<bool, store::StoreError> {
    for e in &plan.added {
        stored::insert(tx, e)?;
    }
    for e in &plan.changed {
        stored::update_terms(tx, e)?;
    }
    for (id, r) in &plan.revoked {
        stored::revoke(tx, id, r)?;
    }
    let transitions = store::findings::apply_exceptions(tx, &plan.events, now)?;
    Ok(!plan.added.is_empty()
        || !plan.changed.is_empty()
        || !plan.revoked.is_empty()
        || transitions > 0)
}

fn synced(file: Option<&ExceptionsFile>, plan: plan::Plan) -> Synced {
    let path = file.map(|f| f.path.clone()).unwrap_or_default();
    Synced {
        held: plan
            .held
            .into_iter()
            .map(|(line, id)| (path.clone(), line, id))
            .collect(),
    }
}

/// A revocation asked for with `exceptions revoke`.
#[derive(Debug, Clone)]
pub struct RevokeRequest<'a> {
    pub id: &'a str,
    pub reason: &'a str,
    pub by: &'a str,
}

/// Why `exceptions revoke` changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum RevokeError {
    #[error("no exception has id `{0}` (see `residual exceptions list`)")]
    Unknown(String),
    #[error("exception `{id}` was already revoked at {at} by {by}")]
    AlreadyRevoked { id: String, at: String, by: String },
    #[error(transparent)]
    Exceptions(#[from] ExceptionsError),
}

/// Revokes one exception (any source) after syncing the file, in one transaction: its finding's
/// chain records `exception_revoked` with the reason, who and when, and the finding is open again
/// unless another exception covers it. An unknown or already revoked id changes nothing.
pub fn revoke(
    store: &mut Store,
    policy: &ExceptionPolicy,
    request: &RevokeRequest,
    now: DateTime<Utc>,
) -> Result<Synced, RevokeError> {
    let file = read_configured(policy.file.as_deref())?;
    let tx = store.transaction().map_err(ExceptionsError::from)?;
    let all = stored::list(&tx).map_err(ExceptionsError::from)?;
    let plan = plan::plan(&all, file.as_ref(), policy.max_days, now)?;
    let Some(target) = plan.after.iter().find(|e| e.id == request.id).cloned() else {
        return Err(RevokeError::Unknown(request.id.to_string()));
    };
    if let Some(r) = &target.revoked {
        return Err(RevokeError::AlreadyRevoked {
            id: target.id,
            at: r.at.clone(),
            by: r.by.clone(),
        });
    }
    write_plan(&tx, &plan, now).map_err(ExceptionsError::from)?;
    let (revocation, change) = plan::revocation(&target, request.reason, request.by, "cli", now);
    stored::revoke(&tx, &target.id, &revocation).map_err(ExceptionsError::from)?;
    store::findings::apply_exceptions(&tx, &[change], now).map_err(ExceptionsError::from)?;
    tx.commit()
        .map_err(|e| ExceptionsError::from(store::StoreError::from(e)))?;
    Ok(synced(file.as_ref(), plan))
}

/// Entries of the configured file naming a finding the store does not have, as warnings that
/// name file:line. Reads only.
pub fn unknown_findings(
    store: &Store,
    policy: &ExceptionPolicy,
) -> Result<Vec<String>, ExceptionsError> {
    let Some(file) = read_configured(policy.file.as_deref())? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for e in &file.entries {
        if store::findings::get(store.conn(), &e.finding)?.is_none() {
            out.push(format!(
                "warning: {}:{}: no finding has id `{}` in the store (a typo, or a finding not seen yet); this entry covers nothing until one does",
                file.path.display(),
                e.line,
                e.finding
            ));
        }
    }
    Ok(out)
}

/// Which exception covers each finding at one moment, held in memory: of the exceptions of a
/// finding that are live (not revoked, not expired), the one that expires last (as the store's
/// lifecycle picks it).
#[derive(Debug, Default)]
pub struct Covering {
    by_finding: HashMap<String, Exception>,
}

impl Covering {
    /// The live exceptions among `all` at `now`.
    pub fn at(all: impl IntoIterator<Item = Exception>, now: DateTime<Utc>) -> Covering {
        let mut by_finding: HashMap<String, Exception> = HashMap::new();
        for e in all.into_iter().filter(|e| e.is_live(now)) {
            match by_finding.get(&e.finding_id) {
                Some(kept) if kept.expires() >= e.expires() => {}
                _ => {
                    by_finding.insert(e.finding_id.clone(), e);
                }
            }
        }
        Covering { by_finding }
    }

    /// The exception covering `finding_id`, if one does.
    pub fn get(&self, finding_id: &str) -> Option<&Exception> {
        self.by_finding.get(finding_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use residual_scanners::time::parse_time;

    fn exception(finding: &str, id: &str, expires: &str) -> Exception {
        Exception {
            id: id.into(),
            finding_id: finding.into(),
            reason: "r".into(),
            approver: "a".into(),
            expires_at: expires.into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            source: "cli".into(),
            revoked: None,
        }
    }

    #[test]
    fn the_exception_that_expires_last_covers_and_expired_ones_do_not() {
        let now = parse_time("2026-06-01").expect("time");
        let covering = Covering::at(
            [
                exception("f1", "EXC-a", "2026-07-01T00:00:00Z"),
                exception("f1", "EXC-b", "2026-12-31T00:00:00Z"),
                exception("f1", "EXC-c", "2026-08-01T00:00:00Z"),
                exception("f2", "EXC-d", "2026-05-01T00:00:00Z"),
            ],
            now,
        );
        assert_eq!(covering.get("f1").map(|e| e.id.as_str()), Some("EXC-b"));
        assert!(covering.get("f2").is_none(), "expired before now");
        assert!(covering.get("f3").is_none());
    }

    #[test]
    fn a_revoked_exception_or_an_unreadable_expiry_covers_nothing() {
        let now = parse_time("2026-06-01").expect("time");
        let mut revoked = exception("f1", "EXC-a", "2026-07-01T00:00:00Z");
        revoked.revoked = Some(stored::Revocation {
            at: "2026-05-01T00:00:00Z".into(),
            reason: "r".into(),
            by: "b".into(),
            via: "cli".into(),
        });
        let covering = Covering::at(
            [revoked, exception("f2", "EXC-b", "+10000-01-01T00:00:00Z")],
            now,
        );
        assert!(covering.get("f1").is_none());
        assert!(
            covering.get("f2").is_none(),
            "an old store's year-10000 expiry"
        );
    }
}
