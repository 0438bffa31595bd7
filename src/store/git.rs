//! `git_objects`: the commits and blobs earlier complete runs of each repository covered, so that
//! history is scanned once per blob, ever.

use super::Result;
use residual_scanners::git::{KnownObjects, Oid};
use rusqlite::{params, Connection, Transaction};

/// What the store knows of `repo` (the system name, `git:<name>`).
pub fn known(conn: &Connection, repo: &str) -> Result<KnownObjects> {
    let mut stmt = conn.prepare("SELECT kind, oid FROM git_objects WHERE repo = ?1")?;
    let mut rows = stmt.query([repo])?;
    let mut known = KnownObjects::default();
    while let Some(r) = rows.next()? {
        let kind: String = r.get(0)?;
        let oid: String = r.get(1)?;
        let Ok(oid) = oid.parse::<Oid>() else {
            continue;
        };
        if kind == "commit" {
            known.commits.insert(oid);
        } else {
            known.blobs.insert(oid);
        }
    }
    Ok(known)
}

/// Records the commits and blobs a complete run read.
pub fn remember(tx: &Transaction, repo: &str, commits: &[Oid], blobs: &[Oid]) -> Result<()> {
    let mut insert =
        tx.prepare("INSERT OR IGNORE INTO git_objects (repo, kind, oid) VALUES (?1, ?2, ?3)")?;
    for c in commits {
        insert.execute(params![repo, "commit", c.to_hex()])?;
    }
    for b in blobs {
        insert.execute(params![repo, "blob", b.to_hex()])?;
    }
    Ok(())
}

/// Forgets everything about `repo`, for a full rescan.
pub fn forget(tx: &Transaction, repo: &str) -> Result<()> {
    tx.execute("DELETE FROM git_objects WHERE repo = ?1", [repo])?;
    Ok(())
}
