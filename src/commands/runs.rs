//! `residual runs`: the scan runs, newest first, with status, counts and coverage: the units each
//! run covered and those it missed, with why (and, for a denial, the action to grant); a targeted
//! run names the accounts it looked at.

use super::{Context, Exit};
use crate::cli::{Format, FormatArgs};
use crate::output;
use crate::store::runs::{self, RunInfo};
use residual_scanners::coverage::MissClass;
use std::io::Write;

pub fn run(ctx: &Context, args: FormatArgs) -> anyhow::Result<Exit> {
    let store = ctx.read_store()?;
    let list = runs::list_runs(store.conn(), 1000)?;
    let cols = [
        "id",
        "scanner",
        "system",
        "status",
        "targeted",
        "started_at",
        "accounts",
        "credentials",
        "grants",
        "calls",
        "errors",
    ];
    let format = output::default_format(args.format);
    let mut out = std::io::stdout().lock();
    output::write(&mut out, format, &cols, &list)?;
    if format == Format::Table {
        for run in &list {
            write_coverage(&mut out, run)?;
        }
    }
    Ok(Exit::Ok)
}

/// The coverage of one run as lines below the table: what it covered, then each missed unit.
fn write_coverage(out: &mut dyn Write, run: &RunInfo) -> anyhow::Result<()> {
    if run.covered.is_empty() && run.missed.is_empty() {
        return Ok(());
    }
    if let Some(accounts) = &run.targeted {
        // Its per-user units would fill the screen: say whom it looked at.
        writeln!(
            out,
            "run {} ({}): targeted at {}: covers their credentials only, proves no case",
            run.id,
            run.system,
            accounts.join(", ")
        )?;
    } else {
        writeln!(
            out,
            "run {} ({}): covered: {}",
            run.id,
            run.system,
            if run.covered.is_empty() {
                "nothing".to_string()
            } else {
                run.covered.join(", ")
            }
        )?;
    }
    for m in &run.missed {
        let class = match &m.class {
            MissClass::AccessDenied { action } => {
                format!("access-denied, a configuration gap: grant {action}")
            }
            other => other.as_str().to_string(),
        };
        writeln!(
            out,
            "run {}: missed {} ({class}): {}",
            run.id, m.unit, m.reason
        )?;
    }
    Ok(())
}
