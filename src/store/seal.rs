//! `chain_seal`: where the keyed part of the audit chain starts, MACed under the chain key.
//!
//! Stores written before the chain was keyed hold plain SHA-256 events; those keep their hashes.
//! The first write that has the chain key seals the chain once: how many events came before
//! (and the head they ended at), and the last snapshot and run the chain did not yet cover. The
//! seal carries a MAC under the key, so someone without the key can neither move it (to pass off
//! a chain rewritten with plain SHA-256 as old history) nor forge a new one after deleting it.

use super::db::{params, Connection, OptionalExtension};
use super::events::{self, new_mac};
use super::{Result, StoreError};
use crate::keys::{chain_key_file, ChainKey};
use hmac::Mac;
use std::path::Path;

/// The seal as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// Events written before the chain was keyed: 1..=legacy_events are plain SHA-256.
    pub legacy_events: i64,
    /// The hash of event `legacy_events` (the genesis hash when there were none).
    pub legacy_head: String,
    /// Scan runs up to this id came before the chain had entries for runs.
    pub legacy_runs: i64,
    /// Snapshots up to this id came before the chain had entries for snapshots.
    pub legacy_snapshots: i64,
    pub mac: String,
}

impl Seal {
    fn expected_mac(&self, key: &ChainKey) -> String {
        let mut mac = new_mac(key, b"residual audit seal v1");
        for part in [
            self.legacy_events.to_string(),
            self.legacy_head.clone(),
            self.legacy_runs.to_string(),
            self.legacy_snapshots.to_string(),
        ] {
            mac.update(part.as_bytes());
            mac.update(&[0x1f]);
        }
        hex::encode(mac.finalize().into_bytes())
    }

    /// Whether the seal was made with `key` and not edited since.
    pub fn is_authentic(&self, key: &ChainKey) -> bool {
        self.expected_mac(key) == self.mac
    }

    /// The first event that must be keyed.
    pub fn keyed_from(&self) -> i64 {
        self.legacy_events + 1
    }
}

pub fn read(conn: &Connection) -> Result<Option<Seal>> {
    Ok(conn
        .query_row(
            "SELECT legacy_events, legacy_head, legacy_runs, legacy_snapshots, mac FROM chain_seal WHERE id = 1",
            [],
            |r| {
                Ok(Seal {
                    legacy_events: r.get(0)?,
                    legacy_head: r.get(1)?,
                    legacy_runs: r.get(2)?,
                    legacy_snapshots: r.get(3)?,
                    mac: r.get(4)?,
                })
            },
        )
        .optional()?)
}

/// The chain key of the store at `db` for a command that is about to write it, sealing the
/// chain the first time. A sealed store needs its own key: a missing key is not replaced by a
/// new one (events under a new key could never be checked against the old ones), a key that
/// does not match the seal is refused. An unsealed store is sealed by the write that creates
/// the key; a key that already exists for an unsealed chain with events is refused, since that
/// is what deleting the seal looks like. Sealing takes the write lock first, so that racing first
/// writes seal once.
pub(super) fn key_for_writing(conn: &mut Connection, db: &Path) -> Result<ChainKey> {
    if let Some(seal) = read(conn)? {
        return key_of_sealed(&seal, db);
    }
    let tx = conn.transaction()?;
    if let Some(seal) = read(&tx)? {
        return key_of_sealed(&seal, db);
    }
    let (key, created) = ChainKey::load_or_create(db)?;
    let (legacy_events, legacy_head) = events::head(&tx)?;
    if !created && legacy_events > 0 {
        return Err(StoreError::Unsealed {
            key: key.path().to_path_buf(),
        });
    }
    let max_id = |table: &str| -> Result<i64> {
        Ok(tx.query_row(
            &format!("SELECT COALESCE(MAX(id), 0) FROM {table}"),
            [],
            |r| r.get(0),
        )?)
    };
    let mut seal = Seal {
        legacy_events,
        legacy_head,
        legacy_runs: max_id("scan_runs")?,
        legacy_snapshots: max_id("snapshots")?,
        mac: String::new(),
    };
    seal.mac = seal.expected_mac(&key);
    tx.execute(
        "INSERT INTO chain_seal (id, legacy_events, legacy_head, legacy_runs, legacy_snapshots, mac) \
         VALUES (1, ?1, ?2, ?3, ?4, ?5)",
        params![
            seal.legacy_events,
            seal.legacy_head,
            seal.legacy_runs,
            seal.legacy_snapshots,
            seal.mac
        ],
    )?;
    tx.commit()?;
    Ok(key)
}

fn key_of_sealed(seal: &Seal, db: &Path) -> Result<ChainKey> {
    let key = ChainKey::load(db)?.ok_or_else(|| StoreError::ChainKeyMissing {
        key: chain_key_file(db),
    })?;
    if !seal.is_authentic(&key) {
        return Err(StoreError::ChainKeyMismatch {
            key: key.path().to_path_buf(),
        });
    }
    Ok(key)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::findings::EventKind;
    use crate::store::events::{EventWriter, Fields, GENESIS};
    use crate::store::migrations::{schema_of_version, SCHEMA_VERSION};
    use crate::store::Store;

    /// Writes `n` events with plain SHA-256 hashes, as a build without the chain key did.
    pub(crate) fn plain_events(conn: &Connection, n: i64) -> Vec<String> {
        let mut prev = GENESIS.to_string();
        let mut hashes = Vec::new();
        for seq in 1..=n {
            let hash = Fields {
                seq,
                finding_id: "f1",
                event: "opened",
                at: "2026-01-01T00:00:00Z",
                run_id: None,
                detail: "{}",
                prev: &prev,
            }
            .sha256();
            conn.execute(
                "INSERT INTO finding_events (seq, finding_id, event, at, run_id, detail, prev_hash, hash) \
                 VALUES (?1, 'f1', 'opened', '2026-01-01T00:00:00Z', NULL, '{}', ?2, ?3)",
                params![seq, prev, hash],
            )
            .expect("old event");
            hashes.push(hash.clone());
            prev = hash;
        }
        hashes
    }

    #[test]
    fn a_chain_written_before_the_key_keeps_its_sha256_hashes_and_is_keyed_after_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("old.db");
        let old = {
            let conn = Connection::open(&path).expect("open");
            schema_of_version(&conn, 4);
            plain_events(&conn, 2)
        };
        let mut store = Store::open(&path).expect("upgraded");
        let seal = read(store.conn()).expect("read").expect("sealed");
        assert_eq!((seal.legacy_events, &seal.legacy_head), (2, &old[1]));
        {
            let tx = store.transaction().expect("tx");
            EventWriter::new(&tx)
                .expect("writer")
                .append(
                    "f1",
                    EventKind::Resolved,
                    "2026-02-01T00:00:00Z",
                    None,
                    &serde_json::json!({}),
                )
                .expect("append");
            tx.commit().expect("commit");
        }
        let key = ChainKey::load(&path).expect("key").expect("created");
        let walk = events::walk(store.conn(), Some(&key), Some(seal.keyed_from())).expect("walk");
        assert!(walk.problems.is_empty(), "{:?}", walk.problems);
        assert_eq!((walk.plain, walk.keyed), (2, 1));
        let stored: Vec<String> = events::list(store.conn(), None)
            .expect("list")
            .into_iter()
            .map(|e| e.hash)
            .collect();
        assert_eq!(stored[..2], old[..], "history is never re-hashed");
        // Reopening finds the seal made with this key.
        drop(store);
        Store::open(&path).expect("reopened");
    }

    #[test]
    fn first_writes_racing_to_seal_a_chain_seal_it_once_with_one_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("r.db");
        {
            let conn = Connection::open(&path).expect("open");
            schema_of_version(&conn, SCHEMA_VERSION as usize);
            plain_events(&conn, 3);
        }
        let results: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| Store::open(&path).is_ok()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        assert!(results.iter().all(|ok| *ok), "{results:?}");
        let conn = Connection::open(&path).expect("open");
        let seal = read(&conn).expect("read").expect("sealed");
        let key = ChainKey::load(&path).expect("key").expect("one key");
        assert!(seal.is_authentic(&key));
        assert_eq!(seal.legacy_events, 3);
    }

    #[test]
    fn a_key_that_exists_for_an_unsealed_chain_with_events_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("r.db");
        {
            let conn = Connection::open(&path).expect("open");
            schema_of_version(&conn, SCHEMA_VERSION as usize);
            plain_events(&conn, 1);
        }
        ChainKey::load_or_create(&path).expect("a key made beforehand");
        let e = Store::open(&path).err().expect("refused");
        assert!(e.to_string().contains("never sealed"), "{e}");
    }
}
