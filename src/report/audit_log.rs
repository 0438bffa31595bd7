//! `audit.jsonl`: every chained event of the period, one JSON object a line, with the hashes
//! that chain it (`prev_hash`, `hash`, and `scheme`: how `hash` was made), and `audit-head.txt`:
//! the chain's head (`SEQ:HASH`, as `audit verify` prints it) when the pack was made.

use super::Pack;
use std::io::{self, Write};

pub fn events(pack: &Pack, out: &mut dyn Write) -> io::Result<()> {
    for ev in &pack.events {
        serde_json::to_writer(&mut *out, ev)?;
        writeln!(out)?;
    }
    out.flush()
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
