//! `audit.jsonl`: every chained event of the period, one JSON object a line, with the hashes
//! that chain it (`prev_hash`, `hash`, and `scheme`: how `hash` was made), and `audit-head.txt`:
//! the chain's head (`SEQ:HASH`, as `audit verify` prints it) when the pack was made.

use super::gather::in_period_at;
use super::Pack;
use crate::store::{events, Store, StoreError};
use std::io::{self, Write};

/// Streams the period's events from the store (a large chain is never held in memory).
pub fn events(pack: &Pack, store: &Store, out: &mut dyn Write) -> Result<(), StoreError> {
    let period = pack.meta.period;
    events::for_each(store.conn(), None, |ev| {
        if in_period_at(&period, &ev.at) {
            serde_json::to_writer(&mut *out, &ev)?;
            writeln!(out).map_err(StoreError::Output)?;
        }
        Ok(())
    })?;
    out.flush().map_err(StoreError::Output)
}

/// The head as `audit verify` prints it: `SEQ:HASH`.
pub fn head_line(pack: &Pack) -> String {
    let (seq, hash) = &pack.meta.head;
    format!("{seq}:{hash}")
}

pub fn head(pack: &Pack, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", head_line(pack))?;
    out.flush()
}
