//! `residual exceptions add|list|revoke`. The exceptions file (policy under version control) is
//! read, planned and synced by [`crate::exceptions`]; every write here syncs it first.

use super::{Context, Exit, UsageError};
use crate::cli::{ExceptionsCommand, FormatArgs};
use crate::exceptions::{self as policy, exception_id, expiry, RevokeError, RevokeRequest};
use crate::output;
use crate::store::exceptions::{self, Exception};
use crate::store::findings as table;
use chrono::{DateTime, Utc};
use residual_scanners::time::format_time;
use serde::Serialize;

pub fn run(ctx: &Context, cmd: ExceptionsCommand) -> anyhow::Result<Exit> {
    match cmd {
        ExceptionsCommand::Add {
            finding,
            reason,
            expires,
            approver,
        } => add(ctx, finding, reason, expires, approver),
        ExceptionsCommand::List(FormatArgs { format }) => {
            // A read: the file's changes are shown as the next write will record them, never
            // written by listing them.
            let store = ctx.read_store()?;
            let stored = exceptions::list(store.conn())?;
            let list = policy::as_they_stand(&stored, &ctx.exceptions_policy(), ctx.now)?;
            for warning in policy::unknown_findings(&store, &ctx.exceptions_policy())? {
                eprintln!("{warning}");
            }
            let rows: Vec<Row> = list.iter().map(|e| Row::of(e, ctx.now)).collect();
            let cols = [
                "id",
                "finding_id",
                "status",
                "expires_at",
                "approver",
                "reason",
                "source",
            ];
            output::write(
                &mut std::io::stdout().lock(),
                output::default_format(format),
                &cols,
                &rows,
            )?;
            Ok(Exit::Ok)
        }
        ExceptionsCommand::Revoke { id, reason, by } => revoke(ctx, &id, &reason, by),
    }
}

fn add(
    ctx: &Context,
    finding: String,
    reason: String,
    expires: String,
    approver: String,
) -> anyhow::Result<Exit> {
    let expires_at = expiry::parse(&expires).map_err(|m| UsageError(format!("--expires: {m}")))?;
    if expires_at <= ctx.now {
        return Err(UsageError(format!("--expires {expires} is not in the future")).into());
    }
    let max_days = ctx.config.policy.max_exception_days;
    expiry::check_cap(expires_at, ctx.now, max_days)
        .map_err(|m| UsageError(format!("--expires: {m}")))?;
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
    let e = Exception {
        id: exception_id(&finding, &reason, &approver, &format_time(&expires_at)),
        finding_id: finding.clone(),
        reason,
        approver,
        expires_at: format_time(&expires_at),
        created_at: format_time(&ctx.now),
        source: "cli".into(),
        revoked: None,
    };
    if exceptions::get(store.conn(), &e.id)?.is_some_and(|old| old.revoked.is_some()) {
        return Err(UsageError(format!(
            "exception {} (the same finding, reason, approver and expiry) was revoked; give a new expiry or reason",
            e.id
        ))
        .into());
    }
    // The file is synced first, in its own transaction, as before every write.
    policy::sync(&mut store, &ctx.exceptions_policy(), ctx.now)?;
    let tx = store.transaction()?;
    exceptions::insert(&tx, &e)?;
    table::apply_exceptions(&tx, &[], ctx.now)?;
    tx.commit()?;
    ctx.progress(format!(
        "exception {} covers finding {finding} until {}",
        e.id, e.expires_at
    ));
    println!("{}", e.id);
    Ok(Exit::Ok)
}

fn revoke(ctx: &Context, id: &str, reason: &str, by: Option<String>) -> anyhow::Result<Exit> {
    if reason.trim().is_empty() {
        return Err(UsageError("--reason must not be empty".into()).into());
    }
    let by = by
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| "unknown".into());
    // Refuse before creating anything: revoking needs a store that holds exceptions.
    let _ = ctx.read_store()?;
    let mut store = ctx.open_store()?;
    let request = RevokeRequest {
        id,
        reason,
        by: &by,
    };
    match policy::revoke(&mut store, &ctx.exceptions_policy(), &request, ctx.now) {
        Ok(_) => {
            ctx.progress(format!("exception {id} revoked by {by}: {reason}"));
            Ok(Exit::Ok)
        }
        Err(e @ (RevokeError::Unknown(_) | RevokeError::AlreadyRevoked { .. })) => {
            Err(UsageError(e.to_string()).into())
        }
        Err(RevokeError::Exceptions(e)) => Err(e.into()),
    }
}

/// An exception as `exceptions list` shows it, with its status at the time of listing.
#[derive(Serialize)]
struct Row<'a> {
    id: &'a str,
    finding_id: &'a str,
    /// `live`, `expired` or `revoked`.
    status: &'static str,
    expires_at: &'a str,
    approver: &'a str,
    reason: &'a str,
    source: &'a str,
    created_at: &'a str,
    revoked_at: Option<&'a str>,
    revoked_by: Option<&'a str>,
    revoked_reason: Option<&'a str>,
}

impl<'a> Row<'a> {
    fn of(e: &'a Exception, now: DateTime<Utc>) -> Row<'a> {
        let status = match (&e.revoked, e.is_live(now)) {
            (Some(_), _) => "revoked",
            (None, true) => "live",
            (None, false) => "expired",
        };
        Row {
            id: &e.id,
            finding_id: &e.finding_id,
            status,
            expires_at: &e.expires_at,
            approver: &e.approver,
            reason: &e.reason,
            source: &e.source,
            created_at: &e.created_at,
            revoked_at: e.revoked.as_ref().map(|r| r.at.as_str()),
            revoked_by: e.revoked.as_ref().map(|r| r.by.as_str()),
            revoked_reason: e.revoked.as_ref().map(|r| r.reason.as_str()),
        }
    }
}
