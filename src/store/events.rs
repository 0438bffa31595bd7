//! `finding_events`: the append-only, hash-chained history of every finding.
//!
//! Each event stores the hash of the previous event and its own hash over its fields and that
//! previous hash; sequence numbers are contiguous from 1. Editing any row breaks its own hash,
//! deleting a row breaks the sequence and the next row's link, so [`verify`] names the first event
//! that no longer fits. (Triggers also refuse UPDATE and DELETE; the chain is what catches someone
//! who dropped them.)

use super::Result;
use crate::findings::EventKind;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// `prev_hash` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn event_hash(
    seq: i64,
    finding_id: &str,
    event: &str,
    at: &str,
    run_id: Option<i64>,
    detail: &str,
    prev: &str,
) -> String {
    let mut h = Sha256::new();
    for part in [
        seq.to_string().as_str(),
        finding_id,
        event,
        at,
        run_id.map(|r| r.to_string()).as_deref().unwrap_or(""),
        detail,
        prev,
    ] {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(h.finalize())
}

/// Appends events inside one transaction, carrying the chain forward.
pub struct EventWriter<'t> {
    stmt: rusqlite::Statement<'t>,
    seq: i64,
    prev: String,
}

impl<'t> EventWriter<'t> {
    pub fn new(tx: &'t Transaction) -> Result<EventWriter<'t>> {
        let last: Option<(i64, String)> = tx
            .query_row(
                "SELECT seq, hash FROM finding_events ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (seq, prev) = last.unwrap_or((0, GENESIS.to_string()));
        let stmt = tx.prepare(
            "INSERT INTO finding_events (seq, finding_id, event, at, run_id, detail, prev_hash, hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        Ok(EventWriter { stmt, seq, prev })
    }

    pub fn append(
        &mut self,
        finding_id: &str,
        event: EventKind,
        at: &str,
        run_id: Option<i64>,
        detail: &serde_json::Value,
    ) -> Result<()> {
        let seq = self.seq + 1;
        let detail = detail.to_string();
        let event = event.as_str();
        let hash = event_hash(seq, finding_id, event, at, run_id, &detail, &self.prev);
        self.stmt.execute(params![
            seq, finding_id, event, at, run_id, detail, self.prev, hash
        ])?;
        self.seq = seq;
        self.prev = hash;
        Ok(())
    }
}

/// One event as `audit log` and `findings --history` show it.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub seq: i64,
    pub finding_id: String,
    pub event: String,
    pub at: String,
    pub run_id: Option<i64>,
    pub detail: serde_json::Value,
}

pub fn list(conn: &Connection, finding_id: Option<&str>) -> Result<Vec<Event>> {
    let mut stmt = conn.prepare(
        "SELECT seq, finding_id, event, at, run_id, detail FROM finding_events \
         WHERE ?1 IS NULL OR finding_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt.query_map([finding_id], |r| {
        let detail: String = r.get(5)?;
        Ok(Event {
            seq: r.get(0)?,
            finding_id: r.get(1)?,
            event: r.get(2)?,
            at: r.get(3)?,
            run_id: r.get(4)?,
            detail: serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The verdict of `audit verify`.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub events: i64,
    /// The first event that does not fit the chain, and why.
    pub first_bad: Option<(i64, String)>,
}

/// Walks the whole chain from the first event.
pub fn verify(conn: &Connection) -> Result<Verification> {
    let mut stmt = conn.prepare(
        "SELECT seq, finding_id, event, at, run_id, detail, prev_hash, hash FROM finding_events ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    let mut expected_seq = 1;
    let mut prev = GENESIS.to_string();
    let mut events = 0;
    while let Some(r) = rows.next()? {
        events += 1;
        let seq: i64 = r.get(0)?;
        let (fid, event, at): (String, String, String) = (r.get(1)?, r.get(2)?, r.get(3)?);
        let run_id: Option<i64> = r.get(4)?;
        let (detail, prev_hash, hash): (String, String, String) = (r.get(5)?, r.get(6)?, r.get(7)?);
        let bad = |why: String| {
            Ok(Verification {
                events,
                first_bad: Some((seq, why)),
            })
        };
        if seq != expected_seq {
            return bad(format!(
                "event {expected_seq} is missing (next present is {seq}): a row was removed"
            ));
        }
        if prev_hash != prev {
            return bad("its prev_hash does not match the previous event: a row before it was changed or removed".into());
        }
        if event_hash(seq, &fid, &event, &at, run_id, &detail, &prev_hash) != hash {
            return bad("its contents do not match its hash: the row was changed".into());
        }
        prev = hash;
        expected_seq += 1;
    }
    Ok(Verification {
        events,
        first_bad: None,
    })
}
