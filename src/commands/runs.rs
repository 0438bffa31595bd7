//! `residual runs`: the scan runs, newest first, with status and counts.

use super::{Context, Exit};
use crate::cli::FormatArgs;
use crate::output;
use crate::store::runs;

pub fn run(ctx: &Context, args: FormatArgs) -> anyhow::Result<Exit> {
    let store = ctx.read_store()?;
    let list = runs::list_runs(store.conn(), 1000)?;
    let cols = [
        "id",
        "scanner",
        "system",
        "status",
        "started_at",
        "accounts",
        "credentials",
        "grants",
        "calls",
        "errors",
    ];
    output::write(
        &mut std::io::stdout().lock(),
        output::default_format(args.format),
        &cols,
        &list,
    )?;
    Ok(Exit::Ok)
}
