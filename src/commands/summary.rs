//! What `scan` and each `daemon` run print after their sweeps, and the exit code they give: the
//! open findings of the systems just swept (all of them for a pipe or file, counts by rule when a
//! person at a terminal would see too many), exit 3 when a run failed or missed a unit it was not
//! told to skip, else 1 when an
//! open finding reaches `--fail-on`. Shared by two commands; not a command.

use super::{Context, Exit};
use crate::cli::{Format, ScanOptions};
use crate::output::{self, findings::COLUMNS};
use crate::pipeline::record::Recorded;
use crate::severity::Severity;
use crate::store::findings::{self as table, Filter};
use crate::store::Store;
use std::io::Write;

/// Prints the open findings of the systems `runs` swept and decides the exit code.
pub fn finish(
    ctx: &Context,
    store: &Store,
    runs: &[Recorded],
    options: ScanOptions,
) -> anyhow::Result<Exit> {
    let ScanOptions { format, gate } = options;
    let mut systems: Vec<String> = runs.iter().map(|r| r.system.clone()).collect();
    systems.dedup();
    let summary = table::open_summary(store.conn(), &systems)?;
    let total: i64 = summary.iter().map(|s| s.count).sum();
    match format {
        // Asked for a format: every open finding of the scanned systems, for a file or a pipe.
        Some(f) => {
            let open = open_findings(store, &systems)?;
            output::write(&mut std::io::stdout().lock(), f, COLUMNS, &open)?;
        }
        // A person at a terminal: the findings when there are few, else counts by rule.
        None if !ctx.quiet => {
            let mut out = std::io::stdout().lock();
            if total <= 50 {
                let open = open_findings(store, &systems)?;
                output::write(&mut out, Format::Table, COLUMNS, &open)?;
            } else {
                output::write(
                    &mut out,
                    Format::Table,
                    &["severity", "rule", "system", "count"],
                    &summary,
                )?;
                writeln!(
                    out,
                    "{total} open findings; `residual findings --format json` lists them all"
                )?;
            }
        }
        None => {}
    }
    if runs.iter().any(|r| r.could_not_cover) {
        return Ok(Exit::Scanner);
    }
    let failing = gate.fail_on.is_some_and(|t| {
        summary
            .iter()
            .any(|s| Severity::parse(&s.severity).is_some_and(|sev| sev >= t))
    });
    Ok(if failing { Exit::Findings } else { Exit::Ok })
}

fn open_findings(store: &Store, systems: &[String]) -> anyhow::Result<Vec<table::Finding>> {
    let mut open = Vec::new();
    for system in systems {
        open.extend(table::list(
            store.conn(),
            &Filter {
                state: Some("open".into()),
                system: Some(system.clone()),
                ..Filter::default()
            },
        )?);
    }
    Ok(open)
}
