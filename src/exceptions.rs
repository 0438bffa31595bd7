//! Exceptions as policy: the exceptions file under version control, exception ids, and which
//! exception covers a finding at a given time — matched in memory ([`Covering`]) for the gate, or
//! synced into the store ([`sync`]) for the commands that write it.
//!
//! The file:
//!
//! ```toml
//! [[exception]]
//! finding = "3f9c…"          # finding id
//! reason = "shared break-glass account, rotated monthly"
//! approver = "ciso@example.com"
//! expires = "2026-12-31"
//! ```

use crate::store::exceptions::Exception;
use crate::store::{self, exceptions, Store};
use chrono::{DateTime, Utc};
use residual_scanners::time::{format_time, parse_time};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A bad exceptions file, or a store that could not take it.
#[derive(Debug, thiserror::Error)]
pub enum ExceptionsError {
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("{}: exception[{index}]: field `expires`: {message}", path.display())]
    Expires {
        path: PathBuf,
        index: usize,
        message: String,
    },
    #[error("{}: exception[{index}]: `reason` and `approver` must not be empty", path.display())]
    Empty { path: PathBuf, index: usize },
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// The id of an exception: the same finding, reason, approver and expiry give the same id.
pub fn exception_id(finding: &str, reason: &str, approver: &str, expires: &str) -> String {
    let mut h = Sha256::new();
    for p in [finding, reason, approver, expires] {
        h.update(p.as_bytes());
        h.update([0]);
    }
    format!("EXC-{}", &hex::encode(h.finalize())[..12])
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExceptionFile {
    #[serde(default)]
    exception: Vec<FileEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileEntry {
    finding: String,
    reason: String,
    approver: String,
    expires: String,
}

/// Reads the exceptions file at `path`, validating every entry; `now` becomes `created_at`.
pub fn read_file(path: &Path, now: DateTime<Utc>) -> Result<Vec<Exception>, ExceptionsError> {
    let text = std::fs::read_to_string(path).map_err(|source| ExceptionsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let file: ExceptionFile = toml::from_str(&text).map_err(|e| ExceptionsError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_string(),
    })?;
    let mut out = Vec::new();
    for (index, e) in file.exception.into_iter().enumerate() {
        let expires = parse_time(&e.expires).map_err(|message| ExceptionsError::Expires {
            path: path.to_path_buf(),
            index,
            message,
        })?;
        if e.reason.trim().is_empty() || e.approver.trim().is_empty() {
            return Err(ExceptionsError::Empty {
                path: path.to_path_buf(),
                index,
            });
        }
        let expires = format_time(&expires);
        out.push(Exception {
            id: exception_id(&e.finding, &e.reason, &e.approver, &expires),
            finding_id: e.finding,
            reason: e.reason,
            approver: e.approver,
            expires_at: expires,
            created_at: format_time(&now),
            source: format!("file:{}", path.display()),
        });
    }
    Ok(out)
}

/// The configured exceptions file's entries; none when no file is configured or it does not
/// exist (yet).
pub fn read_configured(
    file: Option<&Path>,
    now: DateTime<Utc>,
) -> Result<Vec<Exception>, ExceptionsError> {
    match file {
        Some(path) if path.exists() => read_file(path, now),
        _ => Ok(Vec::new()),
    }
}

/// Reads the configured exceptions file into the store and applies expiry, in one transaction.
pub fn sync(
    store: &mut Store,
    file: Option<&Path>,
    now: DateTime<Utc>,
) -> Result<(), ExceptionsError> {
    let entries = read_configured(file, now)?;
    let tx = store.transaction()?;
    for e in &entries {
        exceptions::upsert(&tx, e)?;
    }
    store::findings::apply_exceptions(&tx, now)?;
    tx.commit().map_err(store::StoreError::from)?;
    Ok(())
}

/// Which exception covers each finding at one moment, held in memory: of the exceptions of a
/// finding that have not expired, the one that expires last (as the store's lifecycle picks it).
#[derive(Debug, Default)]
pub struct Covering {
    by_finding: HashMap<String, Exception>,
}

impl Covering {
    /// The live exceptions among `all` at `now`.
    pub fn at(all: impl IntoIterator<Item = Exception>, now: DateTime<Utc>) -> Covering {
        let now = format_time(&now);
        let mut by_finding: HashMap<String, Exception> = HashMap::new();
        for e in all.into_iter().filter(|e| e.expires_at > now) {
            match by_finding.get(&e.finding_id) {
                Some(kept) if kept.expires_at >= e.expires_at => {}
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

    fn exception(finding: &str, id: &str, expires: &str) -> Exception {
        Exception {
            id: id.into(),
            finding_id: finding.into(),
            reason: "r".into(),
            approver: "a".into(),
            expires_at: expires.into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            source: "cli".into(),
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
    fn a_file_entry_without_a_reason_names_the_file_and_the_entry() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("exceptions.toml");
        std::fs::write(
            &path,
            "[[exception]]\nfinding = \"f\"\nreason = \" \"\napprover = \"a\"\nexpires = \"2026-12-31\"\n",
        )
        .expect("write");
        let err = read_file(&path, Utc::now()).expect_err("empty reason");
        assert!(
            err.to_string().contains("exceptions.toml: exception[0]"),
            "{err}"
        );
    }
}
