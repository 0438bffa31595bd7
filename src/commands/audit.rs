//! `residual audit verify|log`: the audit chain — findings' history and the entries of HR
//! snapshots and scan runs — checked, with its head to anchor elsewhere, or listed.

use super::{Context, Exit, UsageError};
use crate::cli::AuditCommand;
use crate::keys::{chain_key_file, ChainKey};
use crate::output;
use crate::store::{audit, events};

pub fn run(ctx: &Context, cmd: AuditCommand) -> anyhow::Result<Exit> {
    match cmd {
        AuditCommand::Verify { expect_head } => {
            let expected = expect_head.as_deref().map(parse_head).transpose()?;
            let store = ctx.read_store()?;
            let key = ChainKey::load(&ctx.db)?;
            let mut v = audit::verify(store.conn(), key.as_ref())?;
            if let Some((seq, hash)) = &expected {
                v.problems
                    .extend(audit::check_head(store.conn(), *seq, hash)?);
            }
            Ok(report(ctx, &v, expected.is_some(), key.is_some()))
        }
        AuditCommand::Log { finding, format } => {
            let store = ctx.read_store()?;
            let list = events::list(store.conn(), finding.as_deref())?;
            let cols = ["seq", "at", "finding_id", "event", "run_id", "detail"];
            output::write(
                &mut std::io::stdout().lock(),
                output::default_format(format),
                &cols,
                &list,
            )?;
            Ok(Exit::Ok)
        }
    }
}

/// Prints the verdict on stdout: the head only when everything was checked and fits.
fn report(ctx: &Context, v: &audit::Verification, expected: bool, has_key: bool) -> Exit {
    let (seq, hash) = &v.head;
    let no_key = (v.unchecked > 0 && !has_key).then(|| {
        format!(
            "{} keyed events could NOT be checked: no chain key at {} (set RESIDUAL_CHAIN_KEY_FILE to the key's file)",
            v.unchecked,
            chain_key_file(&ctx.db).display()
        )
    });
    if !v.problems.is_empty() {
        let n = v.problems.len();
        println!(
            "audit chain BROKEN: {n} problem{}",
            if n == 1 { "" } else { "s" }
        );
        for p in &v.problems {
            println!("  {p}");
        }
        if let Some(no_key) = no_key {
            println!("  {no_key}");
        }
        return Exit::Findings;
    }
    if let Some(no_key) = no_key {
        println!("audit chain NOT verified: {no_key}; its links, plain SHA-256 events and cross-checks fit");
        return Exit::Findings;
    }
    println!(
        "audit chain intact: {} events ({} keyed HMAC-SHA256, {} plain SHA-256 from before the chain was keyed); findings, exceptions, HR snapshots and scan runs match it",
        v.events, v.keyed, v.plain
    );
    if expected {
        println!("the recorded head is in the chain, unchanged");
    }
    println!("head {seq}:{hash}");
    Exit::Ok
}

/// `SEQ:HASH` as `audit verify` prints it.
fn parse_head(s: &str) -> anyhow::Result<(i64, String)> {
    let bad = || {
        UsageError(format!("--expect-head `{s}`: expected SEQ:HASH as `audit verify` prints it after `head` (e.g. 12:3fa9…, 64 hex digits)"))
    };
    let (seq, hash) = s.trim().split_once(':').ok_or_else(bad)?;
    let seq: i64 = seq.parse().map_err(|_| bad())?;
    let hash = hash.to_ascii_lowercase();
    if seq < 0 || hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad().into());
    }
    Ok((seq, hash))
}
