//! `residual exceptions add|list`. The exceptions file (policy under version control) is read
//! and synced by [`crate::exceptions`].

use super::{Context, Exit, UsageError};
use crate::cli::{ExceptionsCommand, FormatArgs};
use crate::exceptions::exception_id;
use crate::output;
use crate::store::{exceptions, findings as table};
use residual_scanners::time::{format_time, parse_time};

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
            // A read: the file's entries are listed beside the store's, and synced by the
            // next write (a scan), never by listing them.
            let store = ctx.read_store()?;
            let mut list = exceptions::list(store.conn())?;
            for e in crate::exceptions::read_configured(ctx.exceptions_file().as_deref(), ctx.now)?
            {
                if !list.iter().any(|stored| stored.id == e.id) {
                    list.push(e);
                }
            }
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
