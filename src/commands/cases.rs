//! `residual cases` and `residual case ID`: leaver and mover cases as they stand now, read
//! without writing (a case's state is derived from the store; see `crate::cases`).

use super::{Context, Exit, UsageError};
use crate::cases::{parse_case_id, CaseState, CaseVerdict, SystemState};
use crate::cli::{CaseArgs, CaseFilter, CasesArgs, Format};
use crate::output;
use crate::pipeline::cases as judged;
use crate::store::{cases as facts, events};
use residual_scanners::time::format_time;
use serde::Serialize;
use std::io::Write;

/// One row of `residual cases`.
#[derive(Debug, Serialize)]
struct CaseRow {
    case_id: String,
    employee_id: String,
    name: Option<String>,
    event: &'static str,
    event_at: String,
    state: &'static str,
    overdue: bool,
    deadline: String,
    systems_total: usize,
    systems_clean: usize,
    systems_residual: usize,
    systems_excepted: usize,
    systems_not_covered: usize,
    open_findings: usize,
    verified_at: Option<String>,
    hours_to_collapse: Option<f64>,
}

impl CaseRow {
    fn of(v: &CaseVerdict) -> CaseRow {
        CaseRow {
            case_id: v.event.case_id(),
            employee_id: v.event.employee_id.clone(),
            name: v.event.name.clone(),
            event: v.event.kind.as_str(),
            event_at: format_time(&v.event.effective_at),
            state: v.state.as_str(),
            overdue: v.overdue,
            deadline: format_time(&v.deadline),
            systems_total: v.systems.len(),
            systems_clean: v.count(SystemState::Clean) + v.count(SystemState::NotApplicable),
            systems_residual: v.count(SystemState::Residual),
            systems_excepted: v.count(SystemState::Excepted),
            systems_not_covered: v.count(SystemState::NotCovered),
            open_findings: v.open_findings(),
            verified_at: v.verified_at.map(|t| format_time(&t)),
            hours_to_collapse: v.hours_to_collapse().map(|h| (h * 10.0).round() / 10.0),
        }
    }
}

const COLUMNS: [&str; 12] = [
    "case_id",
    "employee_id",
    "name",
    "event",
    "event_at",
    "state",
    "overdue",
    "systems_total",
    "systems_clean",
    "systems_residual",
    "systems_not_covered",
    "hours_to_collapse",
];

pub fn list(ctx: &Context, args: CasesArgs) -> anyhow::Result<Exit> {
    let store = ctx.read_store()?;
    let verdicts = judged::read(&store, &ctx.case_scope(), args.employee.as_deref(), ctx.now)?;
    let overdue = verdicts.iter().any(|v| v.overdue);
    let rows: Vec<CaseRow> = verdicts
        .iter()
        .filter(|v| match args.state {
            CaseFilter::All => true,
            CaseFilter::Open => v.state == CaseState::Open,
            CaseFilter::Overdue => v.overdue,
            CaseFilter::Verified => v.state == CaseState::Verified,
            CaseFilter::Excepted => v.state == CaseState::Excepted,
        })
        .map(CaseRow::of)
        .collect();
    output::write(
        &mut std::io::stdout().lock(),
        output::default_format(args.format),
        &COLUMNS,
        &rows,
    )?;
    Ok(if args.fail_on_overdue && overdue {
        Exit::Findings
    } else {
        Exit::Ok
    })
}

/// One entry of a case's timeline.
#[derive(Debug, Serialize)]
struct TimelineEntry {
    at: String,
    kind: String,
    system: Option<String>,
    finding_id: Option<String>,
    run_id: Option<i64>,
    detail: serde_json::Value,
}

#[derive(Debug, Serialize)]
struct SystemRow<'a> {
    system: &'a str,
    state: &'static str,
    proving_run: Option<i64>,
    proved_at: Option<String>,
    open: usize,
    resolved: usize,
    excepted: usize,
}

#[derive(Debug, Serialize)]
struct CaseDocument<'a> {
    case: CaseRow,
    systems: Vec<SystemRow<'a>>,
    timeline: Vec<TimelineEntry>,
}

pub fn show(ctx: &Context, args: CaseArgs) -> anyhow::Result<Exit> {
    let store = ctx.read_store()?;
    let scope = ctx.case_scope();
    let verdict = match parse_case_id(&args.id) {
        Some(id) => judged::read(&store, &scope, None, ctx.now)?
            .into_iter()
            .find(|v| v.event.id == id),
        // An employee id: their latest case.
        None => judged::read(&store, &scope, Some(&args.id), ctx.now)?
            .into_iter()
            .next_back(),
    };
    let Some(verdict) = verdict else {
        return Err(UsageError(format!(
            "no case `{}`: give a case id from `residual cases` (CASE-N) or the employee id of a leaver or mover",
            args.id
        ))
        .into());
    };
    let timeline = timeline(&store, &verdict, ctx)?;
    let doc = CaseDocument {
        case: CaseRow::of(&verdict),
        systems: verdict
            .systems
            .iter()
            .map(|s| SystemRow {
                system: &s.system,
                state: s.state.as_str(),
                proving_run: s.proving_run,
                proved_at: s.proved_at.map(|t| format_time(&t)),
                open: s.open,
                resolved: s.resolved,
                excepted: s.excepted,
            })
            .collect(),
        timeline,
    };
    let mut out = std::io::stdout().lock();
    match output::default_format(args.format) {
        Format::Table => write_case_table(&mut out, &doc)?,
        _ => {
            serde_json::to_writer_pretty(&mut out, &doc)?;
            writeln!(out)?;
        }
    }
    Ok(Exit::Ok)
}

/// One case for a person at a terminal: the headline, its systems, then its timeline.
fn write_case_table(out: &mut dyn Write, doc: &CaseDocument<'_>) -> anyhow::Result<()> {
    let c = &doc.case;
    writeln!(
        out,
        "{} — {} ({}), {} effective {}: {}{}",
        c.case_id,
        c.name.as_deref().unwrap_or("no name"),
        c.employee_id,
        c.event,
        c.event_at,
        c.state,
        if c.overdue { " (overdue)" } else { "" }
    )?;
    match &c.verified_at {
        Some(v) => writeln!(
            out,
            "verified at {v}, {} hours after the event",
            c.hours_to_collapse.unwrap_or_default()
        )?,
        None => writeln!(out, "deadline {}", c.deadline)?,
    }
    writeln!(out)?;
    let columns = [
        "system",
        "state",
        "proving_run",
        "proved_at",
        "open",
        "resolved",
        "excepted",
    ];
    output::write(out, Format::Table, &columns, &doc.systems)?;
    writeln!(out)?;
    let columns = ["at", "kind", "system", "finding_id", "run_id"];
    output::write(out, Format::Table, &columns, &doc.timeline)?;
    Ok(())
}

/// The HR event, its import, each chained event of the person's findings for this event and of
/// the case itself, and the runs that prove each system, in time order.
fn timeline(
    store: &crate::store::Store,
    v: &CaseVerdict,
    ctx: &Context,
) -> anyhow::Result<Vec<TimelineEntry>> {
    let e = &v.event;
    let mut out = vec![
        TimelineEntry {
            at: format_time(&e.effective_at),
            kind: format!("hr_{}", e.kind.as_str()),
            system: None,
            finding_id: None,
            run_id: None,
            detail: serde_json::json!({ "employee_id": e.employee_id }),
        },
        TimelineEntry {
            at: format_time(&e.known_at),
            kind: "hr_imported".into(),
            system: None,
            finding_id: None,
            run_id: None,
            detail: serde_json::Value::Null,
        },
    ];
    let facts = facts::load(store.conn(), Some(&e.employee_id), ctx.now)?;
    let findings = facts.findings.get(&e.employee_id);
    for (system, f) in findings.into_iter().flatten() {
        if !e.kind.concerns(&f.rule) {
            continue;
        }
        for ev in events::list(store.conn(), Some(&f.id))? {
            // A remediation action's entry says what was done to the system, by whom, and what
            // the system answered (see `commands::remediate`).
            let detail = if ev.event.starts_with("remediation_") {
                serde_json::json!({
                    "rule": f.rule,
                    "action": ev.detail.get("action"),
                    "target": ev.detail.get("target"),
                    "actor": ev.detail.get("actor"),
                    "result": ev.detail.get("result"),
                })
            } else {
                serde_json::json!({ "rule": f.rule })
            };
            out.push(TimelineEntry {
                at: ev.at,
                kind: format!("finding_{}", ev.event),
                system: Some(system.clone()),
                finding_id: Some(f.id.clone()),
                run_id: ev.run_id,
                detail,
            });
        }
    }
    for ev in events::list(store.conn(), Some(&format!("case:{}", e.id)))? {
        out.push(TimelineEntry {
            at: ev.at,
            kind: ev.event,
            system: None,
            finding_id: None,
            run_id: None,
            detail: ev.detail,
        });
    }
    for s in &v.systems {
        if let (Some(run), Some(at)) = (s.proving_run, s.proved_at) {
            out.push(TimelineEntry {
                at: format_time(&at),
                kind: "proving_run".into(),
                system: Some(s.system.clone()),
                finding_id: None,
                run_id: Some(run),
                detail: serde_json::json!({ "state": s.state.as_str() }),
            });
        }
    }
    out.sort_by(|a, b| a.at.cmp(&b.at));
    Ok(out)
}
