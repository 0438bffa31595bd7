//! `residual exceptions add|list`, and syncing the configured exceptions file into the store.
//!
//! The file is policy under version control:
//!
//! ```toml
//! [[exception]]
//! finding = "3f9c…"          # finding id
//! reason = "shared break-glass account, rotated monthly"
//! approver = "ciso@example.com"
//! expires = "2026-12-31"
//! ```

use super::{Context, Exit, UsageError};
use crate::cli::{ExceptionsCommand, FormatArgs};
use crate::output;
use crate::store::{exceptions, findings as table, Store};
use residual_scanners::time::{format_time, parse_time};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::Path;

pub fn run(ctx: &Context, cmd: ExceptionsCommand) -> anyhow::Result<Exit> {
    match cmd {
        ExceptionsCommand::Add {
            finding,
            reason,
            expires,
            approver,
        } => {
            let expires_at =
                parse_time(&expires).map_err(|m| UsageError(format!("--expires: {m}")))?;
            if expires_at <= ctx.now {
                return Err(UsageError(format!("--expires {expires} is not in the future")).into());
            }
            if reason.trim().is_empty() || approver.trim().is_empty() {
                return Err(UsageError("--reason and --approver must not be empty".into()).into());
            }
            let mut store = ctx.open_store()?;
            if table::get(store.conn(), &finding)?.is_none() {
                return Err(UsageError(format!(
                    "no finding has id `{finding}` (see `residual findings --state all`)"
                ))
                .into());
            }
            let e = exceptions::Exception {
                id: exception_id(&finding, &reason, &approver, &format_time(&expires_at)),
                finding_id: finding.clone(),
                reason,
                approver,
                expires_at: format_time(&expires_at),
                created_at: format_time(&ctx.now),
                source: "cli".into(),
            };
            let tx = store.transaction()?;
            exceptions::upsert(&tx, &e)?;
            table::apply_exceptions(&tx, ctx.now)?;
            tx.commit()?;
            ctx.progress(format!(
                "exception {} covers finding {finding} until {}",
                e.id, e.expires_at
            ));
            println!("{}", e.id);
            Ok(Exit::Ok)
        }
        ExceptionsCommand::List(FormatArgs { format }) => {
            let mut store = ctx.open_store()?;
            sync(ctx, &mut store)?;
            let list = exceptions::list(store.conn())?;
            let cols = [
                "id",
                "finding_id",
                "expires_at",
                "approver",
                "reason",
                "source",
            ];
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

fn exception_id(finding: &str, reason: &str, approver: &str, expires: &str) -> String {
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

/// Reads the configured exceptions file into the store and applies expiry, in one transaction.
pub fn sync(ctx: &Context, store: &mut Store) -> anyhow::Result<()> {
    let tx = store.transaction()?;
    if let Some(path) = &ctx.config.exceptions {
        let path = ctx.config.resolve(path);
        if path.exists() {
            for e in read_file(&path, ctx)? {
                exceptions::upsert(&tx, &e)?;
            }
        }
    }
    table::apply_exceptions(&tx, ctx.now)?;
    tx.commit()?;
    Ok(())
}

fn read_file(path: &Path, ctx: &Context) -> anyhow::Result<Vec<exceptions::Exception>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("{}: cannot read: {e}", path.display())))?;
    let file: ExceptionFile = toml::from_str(&text)
        .map_err(|e| UsageError(format!("{}: {}", path.display(), e.to_string().trim_end())))?;
    let mut out = Vec::new();
    for (i, e) in file.exception.into_iter().enumerate() {
        let expires = parse_time(&e.expires).map_err(|m| {
            UsageError(format!(
                "{}: exception[{i}]: field `expires`: {m}",
                path.display()
            ))
        })?;
        if e.reason.trim().is_empty() || e.approver.trim().is_empty() {
            return Err(UsageError(format!(
                "{}: exception[{i}]: `reason` and `approver` must not be empty",
                path.display()
            ))
            .into());
        }
        let expires = format_time(&expires);
        out.push(exceptions::Exception {
            id: exception_id(&e.finding, &e.reason, &e.approver, &expires),
            finding_id: e.finding,
            reason: e.reason,
            approver: e.approver,
            expires_at: expires,
            created_at: format_time(&ctx.now),
            source: format!("file:{}", path.display()),
        });
    }
    Ok(out)
}
