//! `git_object_sets`: the commits and blobs earlier complete runs of each repository covered, so
//! that history is scanned once per blob, ever.
//!
//! Each complete run appends one set per kind: the raw 20-byte object ids back to back in one
//! BLOB. A full scan of a large repository covers about 100k objects, and one insert of 2 MB is
//! what keeps remembering them out of the scan's wall time. Sets are read whole and merged in
//! memory; once a repository has more than [`COMPACT_AFTER`] sets they are rewritten as one.

use super::db::{params, Connection, Transaction};
use super::Result;
use residual_scanners::git::{KnownObjects, Oid};
use std::collections::HashSet;

/// Sets per repository and kind before they are merged into one (a nightly run adds one a day).
const COMPACT_AFTER: i64 = 32;

const OID_LEN: usize = 20;

/// What the store knows of `repo` (the system name, `git:<name>`).
pub fn known(conn: &Connection, repo: &str) -> Result<KnownObjects> {
    let mut known = KnownObjects::default();
    let mut stmt = conn.prepare("SELECT kind, oids FROM git_object_sets WHERE repo = ?1")?;
    let mut rows = stmt.query([repo])?;
    while let Some(r) = rows.next()? {
        let kind: String = r.get(0)?;
        let oids = r.get_ref(1)?.as_blob().map_err(super::db::Error::from)?;
        let set = if kind == "commit" {
            &mut known.commits
        } else {
            &mut known.blobs
        };
        unpack(oids, set);
    }
    Ok(known)
}

/// Records the commits and blobs a complete run read.
pub fn remember(tx: &Transaction, repo: &str, commits: &[Oid], blobs: &[Oid]) -> Result<()> {
    for (kind, oids) in [("commit", commits), ("blob", blobs)] {
        if oids.is_empty() {
            continue;
        }
        let (next, sets): (i64, i64) = tx.query_row(
            "SELECT COALESCE(MAX(seq), 0) + 1, COUNT(*) + 1 FROM git_object_sets
             WHERE repo = ?1 AND kind = ?2",
            params![repo, kind],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        tx.execute(
            "INSERT INTO git_object_sets (repo, kind, seq, oids) VALUES (?1, ?2, ?3, ?4)",
            params![repo, kind, next, pack(oids.iter())],
        )?;
        if sets > COMPACT_AFTER {
            compact(tx, repo, kind)?;
        }
    }
    Ok(())
}

/// Forgets everything about `repo`, for a full rescan.
pub fn forget(tx: &Transaction, repo: &str) -> Result<()> {
    tx.execute("DELETE FROM git_object_sets WHERE repo = ?1", [repo])?;
    Ok(())
}

/// Rewrites every set of `repo` and `kind` as one, without duplicates.
fn compact(tx: &Transaction, repo: &str, kind: &str) -> Result<()> {
    let mut all = HashSet::new();
    {
        let mut stmt =
            tx.prepare("SELECT oids FROM git_object_sets WHERE repo = ?1 AND kind = ?2")?;
        let mut rows = stmt.query(params![repo, kind])?;
        while let Some(r) = rows.next()? {
            unpack(
                r.get_ref(0)?.as_blob().map_err(super::db::Error::from)?,
                &mut all,
            );
        }
    }
    let mut sorted: Vec<Oid> = all.into_iter().collect();
    sorted.sort_unstable();
    tx.execute(
        "DELETE FROM git_object_sets WHERE repo = ?1 AND kind = ?2",
        params![repo, kind],
    )?;
    tx.execute(
        "INSERT INTO git_object_sets (repo, kind, seq, oids) VALUES (?1, ?2, 1, ?3)",
        params![repo, kind, pack(sorted.iter())],
    )?;
    Ok(())
}

fn pack<'a>(oids: impl ExactSizeIterator<Item = &'a Oid>) -> Vec<u8> {
    let mut out = Vec::with_capacity(oids.len() * OID_LEN);
    for oid in oids {
        out.extend_from_slice(&oid.0);
    }
    out
}

/// Adds the ids packed in `bytes` to `set`. A trailing partial id (a damaged row) is ignored:
/// forgetting an object only costs reading it again.
fn unpack(bytes: &[u8], set: &mut HashSet<Oid>) {
    set.reserve(bytes.len() / OID_LEN);
    for chunk in bytes.chunks_exact(OID_LEN) {
        let mut oid = [0u8; OID_LEN];
        oid.copy_from_slice(chunk);
        set.insert(Oid(oid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(n: u8) -> Oid {
        Oid([n; OID_LEN])
    }

    #[test]
    fn sets_round_trip_per_repository_and_compact() {
        for (_dir, mut store) in crate::store::testing::stores() {
            for run in 0..(COMPACT_AFTER as u8 + 3) {
                let tx = store.transaction().expect("tx");
                remember(&tx, "git:a", &[oid(run)], &[oid(run), oid(200)]).expect("remember");
                tx.commit().expect("commit");
            }
            let tx = store.transaction().expect("tx");
            remember(&tx, "git:b", &[oid(250)], &[]).expect("remember");
            tx.commit().expect("commit");

            let a = known(store.conn(), "git:a").expect("known");
            assert_eq!(a.commits.len(), COMPACT_AFTER as usize + 3);
            assert_eq!(a.blobs.len(), COMPACT_AFTER as usize + 4);
            assert!(!a.commits.contains(&oid(250)));
            let sets: i64 = store
                .conn()
                .query_row(
                    "SELECT COUNT(*) FROM git_object_sets WHERE repo = 'git:a'",
                    [],
                    |r| r.get(0),
                )
                .expect("count");
            assert!(sets <= 2 * COMPACT_AFTER, "{sets} sets were not compacted");

            let tx = store.transaction().expect("tx");
            forget(&tx, "git:a").expect("forget");
            tx.commit().expect("commit");
            assert!(known(store.conn(), "git:a").expect("known").is_empty());
            assert_eq!(
                known(store.conn(), "git:b").expect("known").commits.len(),
                1
            );
        }
    }
}
