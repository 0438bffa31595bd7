//! `residual findings`: list findings, and gate on them with `--fail-on`.

use super::{Context, Exit};
use crate::cli::{FindingsArgs, StateFilter};
use crate::findings::FindingState;
use crate::output;
use crate::severity::Severity;
use crate::store::findings::{self as table, Filter};

/// The columns a table or CSV of findings shows (JSON carries every field).
pub const COLUMNS: &[&str] = &[
    "id",
    "severity",
    "state",
    "rule",
    "employee_id",
    "system",
    "account",
    "subject",
    "live",
    "first_seen",
    "last_seen",
    "resolved_at",
];

pub fn run(ctx: &Context, args: FindingsArgs) -> anyhow::Result<Exit> {
    let mut store = ctx.open_store()?;
    super::exceptions::sync(ctx, &mut store)?;
    let state = match args.state {
        StateFilter::Open => Some("open"),
        StateFilter::Resolved => Some("resolved"),
        StateFilter::Excepted => Some("excepted"),
        StateFilter::All => None,
    };
    let filter = Filter {
        state: state.map(str::to_string),
        system: args.system.clone(),
        rule: args.rule.clone(),
        employee_id: args.employee.clone(),
    };
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut stream =
        output::Streamer::new(&mut stdout, output::default_format(args.format), COLUMNS)?;
    let mut failing = false;
    table::for_each(store.conn(), &filter, |f| {
        failing |= f.state == FindingState::Open
            && args
                .gate
                .fail_on
                .is_some_and(|t| Severity::parse(&f.severity).is_some_and(|s| s >= t));
        stream
            .item(&f)
            .map_err(|e| crate::store::StoreError::Output(e.to_string()))
    })?;
    stream.finish()?;
    Ok(if failing { Exit::Findings } else { Exit::Ok })
}
