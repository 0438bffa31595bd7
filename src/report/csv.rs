//! The pack's CSVs, for auditors' spreadsheets: `cases.csv` (one row per case),
//! `case_systems.csv` (case × system: the termination-testing matrix), `findings.csv` and
//! `exceptions.csv`. Every cell goes through the shared CSV writer, which neutralises formulas.

use super::{time, Pack};
use crate::cases::SystemState;
use crate::output::csv_line;
use chrono::{DateTime, Utc};
use std::io::{self, Write};

fn row(out: &mut dyn Write, cells: Vec<String>) -> io::Result<()> {
    writeln!(out, "{}", csv_line(cells.into_iter()))
}

fn header(out: &mut dyn Write, columns: &[&str]) -> io::Result<()> {
    row(out, columns.iter().map(|c| c.to_string()).collect())
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn opt_time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| time(&t)).unwrap_or_default()
}

pub const CASES_COLUMNS: &[&str] = &[
    "case_id",
    "employee_id",
    "name",
    "event",
    "event_at",
    "known_at",
    "state",
    "overdue",
    "deadline",
    "verified_at",
    "hours_to_collapse",
    "systems_total",
    "systems_clean",
    "systems_not_applicable",
    "systems_residual",
    "systems_excepted",
    "systems_not_covered",
    "open_findings",
];

pub fn cases(pack: &Pack, out: &mut dyn Write) -> io::Result<()> {
    header(out, CASES_COLUMNS)?;
    for c in &pack.cases {
        let e = &c.event;
        row(
            out,
            vec![
                e.case_id(),
                e.employee_id.clone(),
                opt(e.name.as_ref()),
                e.kind.as_str().into(),
                time(&e.effective_at),
                time(&e.known_at),
                c.state.as_str().into(),
                c.overdue.to_string(),
                time(&c.deadline),
                opt_time(c.verified_at),
                opt(c.hours_to_collapse().map(|h| format!("{h:.1}"))),
                c.systems.len().to_string(),
                c.count(SystemState::Clean).to_string(),
                c.count(SystemState::NotApplicable).to_string(),
                c.count(SystemState::Residual).to_string(),
                c.count(SystemState::Excepted).to_string(),
                c.count(SystemState::NotCovered).to_string(),
                c.open_findings().to_string(),
            ],
        )?;
    }
    out.flush()
}

pub const CASE_SYSTEMS_COLUMNS: &[&str] = &[
    "case_id",
    "employee_id",
    "name",
    "event",
    "event_at",
    "system",
    "state",
    "access_removed_at",
    "proving_run",
    "open_findings",
    "resolved_findings",
    "excepted_findings",
];

/// The termination-testing matrix: for each case and system, whether access is gone and the run
/// that proves it (`access_removed_at` is when that run looked).
pub fn case_systems(pack: &Pack, out: &mut dyn Write) -> io::Result<()> {
    header(out, CASE_SYSTEMS_COLUMNS)?;
    for c in &pack.cases {
        let e = &c.event;
        for s in &c.systems {
            row(
                out,
                vec![
                    e.case_id(),
                    e.employee_id.clone(),
                    opt(e.name.as_ref()),
                    e.kind.as_str().into(),
                    time(&e.effective_at),
                    s.system.clone(),
                    s.state.as_str().into(),
                    opt_time(s.proved_at),
                    opt(s.proving_run),
                    s.open.to_string(),
                    s.resolved.to_string(),
                    s.excepted.to_string(),
                ],
            )?;
        }
    }
    out.flush()
}

pub const FINDINGS_COLUMNS: &[&str] = &[
    "finding_id",
    "rule",
    "severity",
    "state",
    "employee_id",
    "name",
    "email",
    "hr_event",
    "hr_event_at",
    "system",
    "account",
    "subject",
    "live",
    "created",
    "last_used",
    "first_seen",
    "last_seen",
    "resolved_at",
    "resolving_run",
    "exception_id",
    "exception_approver",
    "exception_expires",
    "remediation",
    "frameworks",
];

pub fn findings(pack: &Pack, out: &mut dyn Write) -> io::Result<()> {
    header(out, FINDINGS_COLUMNS)?;
    for rf in &pack.findings {
        let f = &rf.finding;
        let x = rf.exception.as_ref();
        row(
            out,
            vec![
                f.id.clone(),
                f.rule.clone(),
                f.severity.clone(),
                f.state.as_str().into(),
                opt(f.employee_id.as_ref()),
                opt(rf.name.as_ref()),
                opt(rf.email.as_ref()),
                opt(rf.event.as_ref().map(|e| e.kind.as_str())),
                opt_time(rf.event.as_ref().map(|e| e.at)),
                f.system.clone(),
                f.account.clone(),
                f.subject.clone(),
                opt(f.live),
                opt(rf.created.as_ref()),
                opt(rf.last_used.as_ref()),
                f.first_seen.clone(),
                f.last_seen.clone(),
                opt(f.resolved_at.as_ref()),
                opt(f.resolved_by_run),
                opt(x.map(|x| &x.id)),
                opt(x.map(|x| &x.approver)),
                opt(x.map(|x| &x.expires_at)),
                super::one_line(&f.remediation),
                rf.frameworks.join("; "),
            ],
        )?;
    }
    out.flush()
}

pub const EXCEPTIONS_COLUMNS: &[&str] = &[
    "exception_id",
    "finding_id",
    "state",
    "reason",
    "approver",
    "created_at",
    "expires_at",
    "source",
    "revoked_at",
    "revoked_by",
    "revoked_reason",
];

pub fn exceptions(pack: &Pack, out: &mut dyn Write) -> io::Result<()> {
    header(out, EXCEPTIONS_COLUMNS)?;
    let now = pack.meta.generated_at;
    for e in &pack.exceptions {
        let state = if e.revoked.is_some() {
            "revoked"
        } else if e.is_live(now) {
            "live"
        } else {
            "expired"
        };
        let r = e.revoked.as_ref();
        row(
            out,
            vec![
                e.id.clone(),
                e.finding_id.clone(),
                state.into(),
                e.reason.clone(),
                e.approver.clone(),
                e.created_at.clone(),
                e.expires_at.clone(),
                // The file's path is a machine path: name its kind only.
                if e.from_file() {
                    "file".into()
                } else {
                    e.source.clone()
                },
                opt(r.map(|r| &r.at)),
                opt(r.map(|r| &r.by)),
                opt(r.map(|r| &r.reason)),
            ],
        )?;
    }
    out.flush()
}
