//! `residual findings`: list findings, and gate on them with `--fail-on`.

use super::{Context, Exit};
use crate::cli::{FindingsArgs, StateFilter};
use crate::output;
use crate::severity::Severity;
use crate::store::findings::{self as table, Filter, Finding};

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
    let list = table::list(store.conn(), &filter)?;
    output::write(
        &mut std::io::stdout().lock(),
        output::default_format(args.format),
        COLUMNS,
        &list,
    )?;
    let open = table::list(
        store.conn(),
        &Filter {
            state: Some("open".into()),
            ..filter
        },
    )?;
    Ok(gate(&open, args.gate.fail_on))
}

/// Exit 1 when any of `open` is at or above `fail_on`.
pub fn gate(open: &[Finding], fail_on: Option<Severity>) -> Exit {
    let Some(threshold) = fail_on else {
        return Exit::Ok;
    };
    let failing = open
        .iter()
        .any(|f| f.state == "open" && Severity::parse(&f.severity).is_some_and(|s| s >= threshold));
    if failing {
        Exit::Findings
    } else {
        Exit::Ok
    }
}
