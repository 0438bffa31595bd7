//! The access-review evidence pack (`residual report`): what a reviewer and an auditor are handed
//! for a period. [`gather`] reads everything the pack shows from the store (read-only) into one
//! [`Pack`] value; one module per artefact renders it (`html`, `csv`, `ocsf`, `asff`,
//! `audit_log`), [`manifest`] hashes what was written and [`verify`] re-checks it.
//!
//! Nothing here writes to the store, and nothing judges anew: cases come from
//! `pipeline::cases::read`, findings and their states from the store, as the other reads show them.

pub mod asff;
pub mod audit_log;
pub mod csv;
pub mod figures;
pub mod gather;
pub mod html;
pub mod manifest;
pub mod ocsf;
pub mod verify;

use crate::cases::{CaseKind, CaseVerdict};
use crate::store::events::RunEntry;
use crate::store::exceptions::Exception;
use crate::store::findings::Finding;
use crate::store::people::SnapshotInfo;
use crate::store::runs::RunInfo;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use gather::gather;

/// The files of a pack, in the order the manifest lists them.
pub const HTML: &str = "index.html";
pub const CASES_CSV: &str = "cases.csv";
pub const CASE_SYSTEMS_CSV: &str = "case_systems.csv";
pub const FINDINGS_CSV: &str = "findings.csv";
pub const EXCEPTIONS_CSV: &str = "exceptions.csv";
pub const AUDIT_JSONL: &str = "audit.jsonl";
pub const AUDIT_HEAD: &str = "audit-head.txt";
pub const OCSF_JSONL: &str = "findings.ocsf.jsonl";
pub const ASFF_JSON: &str = "findings.asff.json";
pub const MANIFEST: &str = "manifest.json";

/// Every file a pack holds.
pub const FILES: [&str; 10] = [
    HTML,
    CASES_CSV,
    CASE_SYSTEMS_CSV,
    FINDINGS_CSV,
    EXCEPTIONS_CSV,
    AUDIT_JSONL,
    AUDIT_HEAD,
    OCSF_JSONL,
    ASFF_JSON,
    MANIFEST,
];

/// The period a pack covers; either end may be open.
#[derive(Debug, Clone, Copy, Default)]
pub struct Period {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl Period {
    /// Whether `t` falls inside the period.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }

    /// Whether something alive from `start` to `end` (still alive when `None`) was alive at some
    /// time in the period.
    pub fn overlaps(&self, start: DateTime<Utc>, end: Option<DateTime<Utc>>) -> bool {
        self.until.is_none_or(|u| start <= u)
            && self.since.is_none_or(|s| end.is_none_or(|e| e >= s))
    }
}

/// What the pack is asked for: the period, the people, and the HTML's size cap.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub period: Period,
    /// Only these people's cases and findings; empty means everyone.
    pub employees: Vec<String>,
    /// How many cases the HTML lists in full.
    pub html_cases: usize,
}

/// Who, when and under what the pack was made: its header.
#[derive(Debug, Clone)]
pub struct Meta {
    pub organisation: Option<String>,
    pub tool_version: String,
    pub generated_at: DateTime<Utc>,
    pub period: Period,
    pub employees: Vec<String>,
    /// SHA-256 of the configuration file, when one was read.
    pub config_digest: Option<String>,
    /// SHA-256 of the store file as it was read; none for a PostgreSQL store, which has no file
    /// (the audit head below identifies what it held).
    pub store_digest: Option<String>,
    pub snapshots: Vec<SnapshotInfo>,
    /// `(seq, hash)` of the chain's last event when the pack was made.
    pub head: (i64, String),
    pub html_cases: usize,
}

/// A person's HR event a finding belongs to.
#[derive(Debug, Clone)]
pub struct HrEvent {
    pub kind: CaseKind,
    pub at: DateTime<Utc>,
}

/// The exception a finding is excepted under, as the pack shows it.
#[derive(Debug, Clone)]
pub struct ExceptionRef {
    pub id: String,
    pub approver: String,
    pub expires_at: String,
}

/// A finding with what a reviewer needs beside it.
#[derive(Debug, Clone)]
pub struct ReportFinding {
    pub finding: Finding,
    pub name: Option<String>,
    pub email: Option<String>,
    pub event: Option<HrEvent>,
    pub exception: Option<ExceptionRef>,
    /// When the credential or account was created and last used, from the evidence.
    pub created: Option<String>,
    pub last_used: Option<String>,
    /// The rule's title and framework mapping, shared by all its findings.
    pub title: Arc<str>,
    pub frameworks: Arc<[String]>,
}

/// A rule that fired in the period, with its framework mapping.
#[derive(Debug, Clone)]
pub struct FiredRule {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub frameworks: Vec<String>,
    pub findings: usize,
}

/// The coverage of one system as the runs show it today: its last complete run and the errors
/// of its latest run. Per-unit coverage will add the units missed here.
#[derive(Debug, Clone)]
pub struct SystemCoverage {
    pub system: String,
    pub last_complete: Option<RunInfo>,
    pub latest: Option<RunInfo>,
}

/// Everything a pack shows, read once.
#[derive(Debug)]
pub struct Pack {
    pub meta: Meta,
    pub cases: Vec<CaseVerdict>,
    pub findings: Vec<ReportFinding>,
    pub exceptions: Vec<Exception>,
    /// Runs of the period (or all, without one), newest first.
    pub runs: Vec<RunInfo>,
    /// What the chain says of each run: its input digest.
    pub run_entries: BTreeMap<i64, RunEntry>,
    pub coverage: Vec<SystemCoverage>,
    pub rules: Vec<FiredRule>,
    /// How many chained events fall in the period (`audit.jsonl` streams them from the store).
    pub events: usize,
}

/// Times as the pack prints them: RFC 3339, UTC, seconds.
pub fn time(t: &DateTime<Utc>) -> String {
    residual_scanners::time::format_time(t)
}

/// Text as one line: remediation texts are wrapped in their rule files, and a reader's
/// spreadsheet or page should wrap them itself.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        residual_scanners::time::parse_time(s).expect("time")
    }

    #[test]
    fn a_finding_belongs_to_a_period_it_was_alive_in() {
        let p = Period {
            since: Some(t("2026-10-01T00:00:00Z")),
            until: Some(t("2026-10-31T23:59:59Z")),
        };
        // Open since before the period, still open: alive in it.
        assert!(p.overlaps(t("2026-09-01T00:00:00Z"), None));
        // Resolved before the period started.
        assert!(!p.overlaps(t("2026-09-01T00:00:00Z"), Some(t("2026-09-30T00:00:00Z"))));
        // First seen after it ended.
        assert!(!p.overlaps(t("2026-11-02T00:00:00Z"), None));
        assert!(p.contains(t("2026-10-31T12:00:00Z")));
        assert!(Period::default().overlaps(t("2020-01-01T00:00:00Z"), None));
    }
}
