//! `finding_events`: the append-only, hash-chained audit chain. It holds the history of every
//! finding, and entries of their own for the evidence findings rest on: each HR snapshot
//! (`snapshot:N`, event `hr_snapshot`) and each scan run (`run:N`, event `scan_run`), so one head
//! covers them all.
//!
//! Each event's hash is made over its fields and the hash of the event before it; sequence numbers
//! are contiguous from 1. The store keeps each hash as its 32 bytes and the previous hash not at
//! all (`prev_hash` is empty): it is the hash of the row before, read from there (schema 15; a
//! row that still holds one, as text, has it checked against that row). A detail is kept packed
//! ([`stored_detail`]; schema 22) and hashed, shown and checked as its JSON. Editing any row breaks its own hash,
//! deleting a row breaks the sequence and the next row's link. New events are keyed
//! (HMAC-SHA256 under the chain key, which is kept outside the store): someone who can write the
//! store but not read the key cannot rewrite the chain with fresh hashes. Events written before
//! the chain was keyed keep their plain SHA-256 hashes; `store::seal` records, under the key, where
//! the keyed part starts. (Triggers also refuse UPDATE and DELETE; the chain is what catches
//! someone who dropped them.) `store::audit` walks and cross-checks it.
//!
//! An event is never dated before the chain's last event: [`EventWriter::append`] refuses it,
//! so that the chain's order is time order.

use super::db::{params, Connection, OptionalExtension, ValueRef};
use super::{Result, StoreError, Tx};
use crate::findings::EventKind;
use crate::keys::ChainKey;
use hmac::{Hmac, KeyInit, Mac};
use residual_scanners::time::parse_time;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `prev_hash` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// How an event's hash was made: plain SHA-256 (events written before the chain was keyed).
pub const SHA256: &str = "sha256";
/// How an event's hash was made: HMAC-SHA256 under the chain key.
pub const HMAC_SHA256: &str = "hmac-sha256";

/// The fields an event's hash covers.
pub(super) struct Fields<'a> {
    pub seq: i64,
    pub finding_id: &'a str,
    pub event: &'a str,
    pub at: &'a str,
    pub run_id: Option<i64>,
    pub detail: &'a str,
    pub prev: &'a str,
}

impl Fields<'_> {
    /// Each field followed by a unit separator, as both schemes hash them.
    fn feed(&self, mut update: impl FnMut(&[u8])) {
        let seq = self.seq.to_string();
        let run_id = self.run_id.map(|r| r.to_string());
        for part in [
            seq.as_str(),
            self.finding_id,
            self.event,
            self.at,
            run_id.as_deref().unwrap_or(""),
            self.detail,
            self.prev,
        ] {
            update(part.as_bytes());
            update(&[0x1f]);
        }
    }

    /// The plain SHA-256 hash of events written before the chain was keyed.
    pub(crate) fn sha256(&self) -> String {
        let mut h = Sha256::new();
        self.feed(|b| h.update(b));
        hex::encode(h.finalize())
    }

    /// The keyed hash of events written since.
    pub(crate) fn hmac(&self, key: &ChainKey) -> String {
        hex::encode(self.hmac_bytes(key))
    }

    fn hmac_bytes(&self, key: &ChainKey) -> [u8; 32] {
        let mut mac = new_mac(key, b"residual audit event v1");
        self.feed(|b| mac.update(b));
        mac.finalize().into_bytes().into()
    }
}

/// An HMAC-SHA256 under the chain key, domain-separated by `purpose`.
pub(super) fn new_mac(key: &ChainKey, purpose: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(purpose);
    mac.update(&[0x1f]);
    mac
}

/// The chain's last event, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Last {
    pub seq: i64,
    pub at: String,
    pub hash: String,
}

pub fn last(conn: &Connection) -> Result<Option<Last>> {
    Ok(conn
        .query_row(
            "SELECT seq, at, hash FROM finding_events ORDER BY seq DESC LIMIT 1",
            [],
            |r| {
                Ok(Last {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    hash: hash_text(r.get_ref(2)?),
                })
            },
        )
        .optional()?)
}

/// An event's detail as the store keeps it: the JSON with the fragments every `opened` event
/// repeats as one byte each (`evidence_text::EVENT_DETAILS`), read back byte for byte by
/// [`detail_json`]. Details written before (plain JSON) read as they are.
pub(super) fn stored_detail(json: &str) -> std::borrow::Cow<'_, str> {
    crate::evidence_text::pack_with(&crate::evidence_text::EVENT_DETAILS, json)
}

/// The JSON of a stored detail (see [`stored_detail`]).
pub(super) fn detail_json(stored: &str) -> std::borrow::Cow<'_, str> {
    crate::evidence_text::unpack_with(&crate::evidence_text::EVENT_DETAILS, stored)
}

/// A stored hash as the hex text the chain is made of and shown as: 32 bytes since schema 15,
/// hex text in a row put there by hand (which verifies as well as it did).
fn hash_text(stored: ValueRef<'_>) -> String {
    match stored {
        ValueRef::Blob(b) => hex::encode(b),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
    }
}

/// The head of the chain, `(seq, hash)` of its last event, `(0, GENESIS)` when it is empty: what
/// `audit verify` prints and `--expect-head` compares with.
pub fn head(conn: &Connection) -> Result<(i64, String)> {
    Ok(last(conn)?
        .map(|l| (l.seq, l.hash))
        .unwrap_or((0, GENESIS.to_string())))
}

/// The stored hash of event `seq`, if the chain holds it.
pub fn hash_of(conn: &Connection, seq: i64) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT hash FROM finding_events WHERE seq = ?1",
            [seq],
            |r| Ok(hash_text(r.get_ref(0)?)),
        )
        .optional()?)
}

/// Whether `at` is dated before `last` (both as stored: RFC 3339). Times that do not parse are
/// compared as text, which for the one format stored is time order.
pub fn is_before(at: &str, last: &str) -> bool {
    match (parse_time(at), parse_time(last)) {
        (Ok(a), Ok(l)) => a < l,
        _ => at < last,
    }
}

/// What the chain says of an HR snapshot (`snapshot:N`, event `hr_snapshot`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotEntry {
    pub snapshot_id: i64,
    /// SHA-256 of the imported file.
    pub digest: String,
    pub people: i64,
    pub as_of: String,
    pub source: String,
    pub format: String,
}

/// What the chain says of a scan run (`run:N`, event `scan_run`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEntry {
    pub run_id: i64,
    pub scanner: String,
    pub system: String,
    pub status: String,
    /// What the run read, as the scanner could vouch for it: the export's SHA-256, the ref
    /// tips' digest, the AWS account and caller.
    pub input_digest: Option<String>,
    pub accounts: i64,
    pub credentials: i64,
    pub grants: i64,
    pub errors: i64,
    /// The coverage units the run vouched for and those it missed (names), as recorded with it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub covered: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missed: Vec<String>,
}

/// The chain id of a snapshot's entry.
pub fn snapshot_entry_id(snapshot_id: i64) -> String {
    format!("snapshot:{snapshot_id}")
}

/// The chain id of a run's entry.
pub fn run_entry_id(run_id: i64) -> String {
    format!("run:{run_id}")
}

/// Whether a chain id names an entry of its own (a snapshot, a run: `kind:N`) rather than a
/// finding, whose ids are hex.
pub fn is_entry_id(id: &str) -> bool {
    id.contains(':')
}

/// Appends events inside one transaction, carrying the chain forward, each keyed under the
/// transaction's chain key and dated no earlier than the event before it.
pub struct EventWriter<'t> {
    stmt: super::db::Statement<'t>,
    key: &'t ChainKey,
    seq: i64,
    prev: String,
    /// The date of the last event: no event is dated before it.
    last_at: Option<String>,
}

impl<'t> EventWriter<'t> {
    pub fn new(tx: &'t Tx<'_>) -> Result<EventWriter<'t>> {
        let key = tx.chain_key().ok_or(StoreError::NoChainKey)?;
        let last = last(tx)?;
        let (seq, prev, last_at) = match last {
            Some(l) => (l.seq, l.hash, Some(l.at)),
            None => (0, GENESIS.to_string(), None),
        };
        let stmt = tx.prepare(
            "INSERT INTO finding_events (seq, finding_id, event, at, run_id, detail, prev_hash, hash, scheme) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        Ok(EventWriter {
            stmt,
            key,
            seq,
            prev,
            last_at,
        })
    }

    pub fn append(
        &mut self,
        finding_id: &str,
        event: EventKind,
        at: &str,
        run_id: Option<i64>,
        detail: &serde_json::Value,
    ) -> Result<()> {
        if let Some(last_at) = &self.last_at {
            // A run dates all its events alike: only a different time needs parsing.
            if last_at != at && is_before(at, last_at) {
                return Err(StoreError::ClockBehind {
                    at: at.to_string(),
                    last_seq: self.seq,
                    last_at: last_at.clone(),
                });
            }
        }
        let seq = self.seq + 1;
        let detail = detail.to_string();
        let event = event.as_str();
        let hash = Fields {
            seq,
            finding_id,
            event,
            at,
            run_id,
            detail: &detail,
            prev: &self.prev,
        }
        .hmac_bytes(self.key);
        let packed = stored_detail(&detail);
        // The previous hash is not stored: it is the row before's (see the module comment).
        self.stmt.execute(params![
            seq,
            finding_id,
            event,
            at,
            run_id,
            packed.as_ref(),
            &[][..],
            &hash[..],
            HMAC_SHA256
        ])?;
        self.seq = seq;
        self.prev = hex::encode(hash);
        if self.last_at.as_deref() != Some(at) {
            self.last_at = Some(at.to_string());
        }
        Ok(())
    }

    /// Appends the entry of an HR snapshot.
    pub fn append_snapshot(&mut self, entry: &SnapshotEntry, at: &str) -> Result<()> {
        self.append(
            &snapshot_entry_id(entry.snapshot_id),
            EventKind::HrSnapshot,
            at,
            None,
            &serde_json::to_value(entry)?,
        )
    }

    /// Appends the entry of a scan run.
    pub fn append_run(&mut self, entry: &RunEntry, at: &str) -> Result<()> {
        self.append(
            &run_entry_id(entry.run_id),
            EventKind::ScanRun,
            at,
            Some(entry.run_id),
            &serde_json::to_value(entry)?,
        )
    }
}

/// One event as `audit log` shows it, with the hashes that chain it.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub seq: i64,
    pub finding_id: String,
    pub event: String,
    pub at: String,
    pub run_id: Option<i64>,
    pub detail: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
    /// `sha256` or `hmac-sha256`: how `hash` was made.
    pub scheme: String,
}

pub fn list(conn: &Connection, finding_id: Option<&str>) -> Result<Vec<Event>> {
    let mut out = Vec::new();
    for_each(conn, finding_id, |e| {
        out.push(e);
        Ok(())
    })?;
    Ok(out)
}

/// Calls `each` for every event (of one id, or all) in sequence order, one row in memory at a
/// time: a large store's chain does not fit comfortably in memory as one list.
pub fn for_each(
    conn: &Connection,
    finding_id: Option<&str>,
    mut each: impl FnMut(Event) -> Result<()>,
) -> Result<()> {
    // An event's previous hash is the hash of the event numbered one before it (a lookup by
    // key), which a list of one finding's events does not otherwise hold.
    let mut stmt = conn.prepare(
        "SELECT e.seq, e.finding_id, e.event, e.at, e.run_id, e.detail, \
           (SELECT p.hash FROM finding_events p WHERE p.seq = e.seq - 1), e.hash, e.scheme \
         FROM finding_events e WHERE ?1 IS NULL OR e.finding_id = ?1 ORDER BY e.seq",
    )?;
    let rows = stmt.query_map([finding_id], |r| {
        let detail: String = r.get(5)?;
        let detail = detail_json(&detail);
        let seq: i64 = r.get(0)?;
        let prev_hash = match r.get_ref(6)? {
            ValueRef::Null if seq <= 1 => GENESIS.to_string(),
            stored => hash_text(stored),
        };
        Ok(Event {
            seq,
            finding_id: r.get(1)?,
            event: r.get(2)?,
            at: r.get(3)?,
            run_id: r.get(4)?,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
            prev_hash,
            hash: hash_text(r.get_ref(7)?),
            scheme: r.get(8)?,
        })
    })?;
    for row in rows {
        each(row?)?;
    }
    Ok(())
}

/// What walking the chain found.
#[derive(Debug, Clone, Default)]
pub struct Walk {
    pub events: i64,
    /// Events with plain SHA-256 hashes (written before the chain was keyed).
    pub plain: i64,
    /// Keyed events whose hash was checked with the key.
    pub keyed: i64,
    /// Keyed events whose hash could not be checked: no key.
    pub unchecked: i64,
    /// Every event that does not fit, and why.
    pub problems: Vec<String>,
}

/// At most this many problems of the walk are listed one by one.
const MAX_LISTED: usize = 50;

/// Walks the whole chain from the first event, checking sequence, links and each hash by its
/// scheme: plain SHA-256 events only before `keyed_from` (where the seal says the keyed part
/// starts), keyed events with `key` when there is one. Every event that does not fit is named.
pub fn walk(conn: &Connection, key: Option<&ChainKey>, keyed_from: Option<i64>) -> Result<Walk> {
    let mut stmt = conn.prepare(
        "SELECT seq, finding_id, event, at, run_id, detail, prev_hash, hash, scheme FROM finding_events ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_string();
    let mut walk = Walk::default();
    let mut more = 0usize;
    while let Some(r) = rows.next()? {
        walk.events += 1;
        let seq: i64 = r.get(0)?;
        let (fid, event, at): (String, String, String) = (r.get(1)?, r.get(2)?, r.get(3)?);
        let run_id: Option<i64> = r.get(4)?;
        let stored: String = r.get(5)?;
        let detail = detail_json(&stored);
        // Empty since schema 15: the previous hash is the row before's (`prev`). One that is
        // stored (a row put there by hand) must be that hash as well.
        let stored_prev = hash_text(r.get_ref(6)?);
        let hash = hash_text(r.get_ref(7)?);
        let scheme: String = r.get(8)?;
        let mut found: Vec<String> = Vec::new();
        let mut bad = |why: String| found.push(why);
        // After a removed row the hash this one was made with is unknown (it was the removed
        // row's), unless the row holds it: the removal is the problem named, not this row.
        let made_with = if seq != expected_seq {
            bad(format!(
                "event {expected_seq} is missing (next present is {seq}): a row was removed"
            ));
            (!stored_prev.is_empty()).then_some(stored_prev.as_str())
        } else {
            if !stored_prev.is_empty() && stored_prev != prev {
                bad(format!("event {seq}: its prev_hash does not match the previous event: a row before it was changed or removed"));
            }
            Some(prev.as_str())
        };
        let fields = made_with.map(|prev| Fields {
            seq,
            finding_id: &fid,
            event: &event,
            at: &at,
            run_id,
            detail: &detail,
            prev,
        });
        let keying = Keying { key, keyed_from };
        check_hash(
            &mut walk,
            &mut bad,
            keying,
            &scheme,
            seq,
            (fields.as_ref(), &hash),
        );
        for why in found {
            if walk.problems.len() < MAX_LISTED {
                walk.problems.push(why);
            } else {
                more += 1;
            }
        }
        prev = hash;
        expected_seq = seq + 1;
    }
    if more > 0 {
        walk.problems
            .push(format!("… and {more} more events that do not fit"));
    }
    Ok(walk)
}

/// What a walk checks keyed hashes with: the key when there is one, and the event from which
/// the seal says the chain is keyed.
#[derive(Clone, Copy)]
struct Keying<'k> {
    key: Option<&'k ChainKey>,
    keyed_from: Option<i64>,
}

/// Checks the hash of event `seq` under its `scheme`, naming to `bad` what does not fit and
/// counting the event in `walk` by scheme: `fields` are what it was made from (none when a
/// removed row hid the hash before it).
fn check_hash(
    walk: &mut Walk,
    bad: &mut impl FnMut(String),
    keying: Keying,
    scheme: &str,
    seq: i64,
    (fields, hash): (Option<&Fields>, &str),
) {
    let Keying { key, keyed_from } = keying;
    match scheme {
        SHA256 => {
            walk.plain += 1;
            if let Some(from) = keyed_from.filter(|from| seq >= *from) {
                bad(format!("event {seq} has a plain SHA-256 hash, but the chain is keyed from event {from}: the chain was rewritten without the key"));
            } else if fields.is_some_and(|f| f.sha256() != hash) {
                bad(format!(
                    "event {seq}: its contents do not match its hash: the row was changed"
                ));
            }
        }
        HMAC_SHA256 => {
            if let Some(from) = keyed_from.filter(|from| seq < *from) {
                bad(format!("event {seq} is keyed, but the chain's seal says it was written before the chain was keyed (from event {from}): the chain was rewritten"));
            }
            match key {
                Some(key) => {
                    walk.keyed += 1;
                    if fields.is_some_and(|f| f.hmac(key) != hash) {
                        bad(format!("event {seq}: its contents do not match its keyed hash: the row was changed, or rehashed without the key"));
                    }
                }
                None => walk.unchecked += 1,
            }
        }
        other => bad(format!("event {seq}: unknown hash scheme `{other}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn append(store: &mut Store, at: &str) -> Result<()> {
        let tx = store.transaction()?;
        EventWriter::new(&tx)?.append("f1", EventKind::Opened, at, None, &serde_json::json!({}))?;
        tx.commit()?;
        Ok(())
    }

    /// The writer itself refuses an event dated before the chain's last one, whatever the
    /// command checked before: the chain's order is time order.
    #[test]
    fn an_event_dated_before_the_last_one_is_refused_and_one_at_the_same_time_is_not() {
        for (_dir, mut store) in crate::store::testing::stores() {
            append(&mut store, "2026-06-02T00:00:00Z").expect("first");
            let e = append(&mut store, "2026-06-01T23:59:59Z").expect_err("refused");
            assert!(
                matches!(e, StoreError::ClockBehind { last_seq: 1, .. }),
                "{e}"
            );
            append(&mut store, "2026-06-02T00:00:00Z").expect("same second");
            assert_eq!(head(store.conn()).expect("head").0, 2);
        }
    }
}
