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
use std::io::{IsTerminal, Write};

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
    // One line per case a run changed, its latest change only.
    let mut changed: Vec<&crate::store::cases::CaseChange> = Vec::new();
    for change in runs.iter().flat_map(|r| &r.cases) {
        changed.retain(|c| c.case_id != change.case_id);
        changed.push(change);
    }
    for change in changed {
        ctx.progress(crate::pipeline::cases::describe(change));
    }
    // The runs are recorded: a reader that stops reading (`| head`) does not change their
    // exit code.
    if let Err(e) = print_open(ctx, store, &systems, &summary, format) {
        let closed = e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        });
        if !closed {
            return Err(e);
        }
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

/// The open findings of the scanned systems on stdout: all of them in the asked format (JSON
/// when stdout is not a terminal), or for a person at a terminal the findings when there are
/// few, else counts by rule.
fn print_open(
    ctx: &Context,
    store: &Store,
    systems: &[String],
    summary: &[table::OpenCount],
    format: Option<Format>,
) -> anyhow::Result<()> {
    let total: i64 = summary.iter().map(|s| s.count).sum();
    // Not a terminal (a pipe, a file, cron's mail): JSON, as `findings` does; a table is for
    // a person.
    let format =
        format.or_else(|| (!ctx.quiet && !std::io::stdout().is_terminal()).then_some(Format::Json));
    match format {
        // Asked for a format: every open finding of the scanned systems, for a file or a pipe.
        Some(f) => {
            let open = open_findings(store, systems)?;
            output::write(&mut std::io::stdout().lock(), f, COLUMNS, &open)?;
        }
        // A person at a terminal: the findings when there are few, else counts by rule.
        None if !ctx.quiet => {
            let mut out = std::io::stdout().lock();
            if total <= 50 {
                let open = open_findings(store, systems)?;
                output::write(&mut out, Format::Table, COLUMNS, &open)?;
            } else {
                output::write(
                    &mut out,
                    Format::Table,
                    &["severity", "rule", "system", "count"],
                    summary,
                )?;
                writeln!(
                    out,
                    "{total} open findings; `residual findings --format json` lists them all"
                )?;
            }
        }
        None => {}
    }
    Ok(())
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
