//! Reads what a pack shows from the store, read-only, into one [`Pack`]: the cases of the period
//! as `residual cases` judges them, the findings alive in the period with their person, HR event,
//! exception and framework mapping, the runs and the coverage they give, and the chained events
//! of the period.

use super::{ExceptionRef, FiredRule, HrEvent, Meta, Pack, ReportFinding, Request, SystemCoverage};
use crate::cases::{CaseScope, CaseVerdict};
use crate::findings::FindingState;
use crate::rules::RuleSet;
use crate::store::findings::{self as table, Filter};
use crate::store::{events, exceptions, people, runs, Store};
use chrono::{DateTime, Utc};
use residual_scanners::time::parse_time;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::sync::Arc;

/// What reading the pack's facts can fail with.
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Pipeline(#[from] crate::pipeline::Error),
    #[error(transparent)]
    Rules(#[from] crate::rules::RuleError),
    #[error("{file}: cannot read to hash it")]
    Io {
        file: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Everything about the store and the configuration a pack's header names.
pub struct Origin<'a> {
    pub organisation: Option<String>,
    pub config_digest: Option<String>,
    pub scope: &'a CaseScope,
    pub now: DateTime<Utc>,
}

/// Reads the pack's facts.
pub fn gather(store: &Store, origin: &Origin, req: &Request) -> Result<Pack, GatherError> {
    let conn = store.conn();
    let now = origin.now;
    let period = req.period;
    let all_cases = crate::pipeline::cases::read(store, origin.scope, None, now)?;
    let person_events = events_by_person(&all_cases);
    let cases: Vec<CaseVerdict> = all_cases
        .into_iter()
        .filter(|c| period.contains(c.event.effective_at) && req.wants(&c.event.employee_id))
        .collect();

    let all_exceptions = exceptions::list(conn)?;
    let rules = RuleSet::builtin()?;
    let mut reader = FindingReader {
        req,
        now,
        people: people::load_all(conn)?,
        exceptions: all_exceptions.iter().map(|e| (e.id.as_str(), e)).collect(),
        person_events,
        rules: &rules,
        shared: HashMap::new(),
        fired: BTreeMap::new(),
        findings: Vec::new(),
    };
    table::for_each(conn, &Filter::default(), |f| {
        reader.read(f);
        Ok(())
    })?;
    let (findings, fired) = (reader.findings, reader.fired);
    let rules = fired_rules(&rules, fired);

    let finding_ids: HashSet<&str> = findings.iter().map(|f| f.finding.id.as_str()).collect();
    let exceptions: Vec<_> = all_exceptions
        .iter()
        .filter(|e| finding_ids.contains(e.finding_id.as_str()))
        .cloned()
        .collect();

    let all_runs = runs::list_runs(conn, i64::MAX)?;
    let coverage = coverage_of(&all_runs);
    let runs: Vec<_> = all_runs
        .into_iter()
        .filter(|r| {
            parse_time(&r.started_at).is_ok_and(|t| period.contains(t))
                || period.since.is_none() && period.until.is_none()
        })
        .collect();
    let (run_entries, in_period) = chained_runs(store, &period)?;

    let meta = Meta {
        organisation: origin.organisation.clone(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        generated_at: now,
        period,
        employees: req.employees.clone(),
        config_digest: origin.config_digest.clone(),
        store_digest: if store.is_postgres() {
            None
        } else {
            Some(file_digest(store.path())?)
        },
        snapshots: people::list_snapshots(conn)?,
        head: events::head(conn)?,
        html_cases: req.html_cases,
    };
    Ok(Pack {
        meta,
        cases,
        findings,
        exceptions,
        runs,
        run_entries,
        coverage,
        rules,
        events: in_period,
    })
}

impl Request {
    /// Whether the pack covers this person (everyone when no `--employee` was given).
    fn wants(&self, employee: &str) -> bool {
        self.employees.is_empty() || self.employees.iter().any(|e| e == employee)
    }
}

/// The HR events of every case of each person (not only the period's): they name the event a
/// person's findings belong to.
fn events_by_person(cases: &[CaseVerdict]) -> HashMap<String, Vec<HrEvent>> {
    let mut person_events: HashMap<String, Vec<HrEvent>> = HashMap::new();
    for c in cases {
        person_events
            .entry(c.event.employee_id.clone())
            .or_default()
            .push(HrEvent {
                kind: c.event.kind,
                at: c.event.effective_at,
            });
    }
    person_events
}

/// Turns the store's findings, one at a time, into the pack's: those of the people and period
/// asked for, with their person, HR event, live exception and rule.
struct FindingReader<'a> {
    req: &'a Request,
    now: DateTime<Utc>,
    people: HashMap<String, crate::person::Person>,
    exceptions: HashMap<&'a str, &'a exceptions::Exception>,
    person_events: HashMap<String, Vec<HrEvent>>,
    rules: &'a RuleSet,
    /// One copy of each rule's title and mapping, shared by its (possibly many) findings.
    shared: HashMap<String, (Arc<str>, Arc<[String]>)>,
    /// Findings per rule id.
    fired: BTreeMap<String, usize>,
    findings: Vec<ReportFinding>,
}

impl FindingReader<'_> {
    fn read(&mut self, mut f: table::Finding) {
        let (req, now) = (self.req, self.now);
        if !f.employee_id.as_deref().is_none_or(|e| req.wants(e))
            || (!req.employees.is_empty() && f.employee_id.is_none())
        {
            return;
        }
        let start = parse_time(&f.first_seen).unwrap_or(now);
        let end = f.resolved_at.as_deref().and_then(|r| parse_time(r).ok());
        if !req.period.overlaps(start, end) {
            return;
        }
        // As the other reads show it: an exception that is no longer live covers nothing.
        let exception = f
            .exception_id
            .as_deref()
            .and_then(|id| self.exceptions.get(id));
        if f.state == FindingState::Excepted && !exception.is_some_and(|e| e.is_live(now)) {
            f.state = FindingState::Open;
        }
        let exception = exception
            .filter(|_| f.state == FindingState::Excepted)
            .map(|e| ExceptionRef {
                id: e.id.clone(),
                approver: e.approver.clone(),
                expires_at: e.expires_at.clone(),
            });
        let person = f.employee_id.as_deref().and_then(|e| self.people.get(e));
        let event = f
            .employee_id
            .as_deref()
            .and_then(|e| self.person_events.get(e))
            .and_then(|events| {
                events
                    .iter()
                    .filter(|ev| ev.kind.concerns(&f.rule))
                    .max_by_key(|ev| ev.at)
                    .cloned()
            });
        let (created, last_used) = times_of(&f.evidence);
        // The evidence stays in the store (and the JSON outputs): the pack needs only its times.
        f.evidence = Value::Null;
        let rules = self.rules;
        let (title, frameworks) = self
            .shared
            .entry(f.rule.clone())
            .or_insert_with(|| {
                let rule = rules.get(&f.rule);
                (
                    rule.map(|r| r.title.as_str()).unwrap_or_default().into(),
                    rule.map(|r| r.frameworks.clone())
                        .unwrap_or_default()
                        .into(),
                )
            })
            .clone();
        *self.fired.entry(f.rule.clone()).or_default() += 1;
        self.findings.push(ReportFinding {
            name: person.and_then(|p| p.record.name.clone()),
            email: person
                .map(|p| p.record.email.clone())
                .filter(|e| !e.is_empty()),
            event,
            exception,
            created,
            last_used,
            title,
            frameworks,
            finding: f,
        });
    }
}

/// The rules that fired, with their findings counted.
fn fired_rules(rules: &RuleSet, fired: BTreeMap<String, usize>) -> Vec<FiredRule> {
    fired
        .into_iter()
        .map(|(id, n)| {
            let rule = rules.get(&id);
            FiredRule {
                title: rule.map(|r| r.title.clone()).unwrap_or_default(),
                severity: rule
                    .map(|r| r.severity.as_str().to_string())
                    .unwrap_or_default(),
                frameworks: rule.map(|r| r.frameworks.clone()).unwrap_or_default(),
                id,
                findings: n,
            }
        })
        .collect()
}

/// The audit chain's entry of every run (by run id), and how many events fall in the period.
fn chained_runs(
    store: &Store,
    period: &super::Period,
) -> Result<(BTreeMap<i64, events::RunEntry>, usize), GatherError> {
    let mut run_entries = BTreeMap::new();
    let mut in_period = 0;
    events::for_each(store.conn(), None, |ev| {
        if ev.event == "scan_run" {
            if let Ok(entry) = serde_json::from_value::<events::RunEntry>(ev.detail) {
                run_entries.insert(entry.run_id, entry);
            }
        }
        in_period += usize::from(in_period_at(period, &ev.at));
        Ok(())
    })?;
    Ok((run_entries, in_period))
}

/// Whether an event dated `at` belongs to the period's audit log.
pub fn in_period_at(period: &super::Period, at: &str) -> bool {
    parse_time(at).is_ok_and(|t| period.contains(t))
}

/// When the credential (or else the account) of a finding was created and last used.
fn times_of(evidence: &Value) -> (Option<String>, Option<String>) {
    let pick = |field: &str| {
        ["credential", "account"]
            .iter()
            .find_map(|part| evidence.get(part)?.get(field)?.as_str().map(str::to_string))
    };
    (pick("created_at"), pick("last_used_at"))
}

/// Each system's last complete run and latest run, in system order.
fn coverage_of(runs: &[runs::RunInfo]) -> Vec<SystemCoverage> {
    // `runs` is newest first: the first seen of each kind is the latest.
    let mut by_system: BTreeMap<&str, SystemCoverage> = BTreeMap::new();
    // A targeted run (a few leavers' accounts) says nothing of the system's coverage.
    for r in runs.iter().filter(|r| r.targeted.is_none()) {
        let c = by_system
            .entry(&r.system)
            .or_insert_with(|| SystemCoverage {
                system: r.system.clone(),
                last_complete: None,
                latest: None,
            });
        if c.latest.is_none() {
            c.latest = Some(r.clone());
        }
        if c.last_complete.is_none() && r.status == "complete" {
            c.last_complete = Some(r.clone());
        }
    }
    by_system.into_values().collect()
}

/// SHA-256 of a file, read in blocks.
pub fn file_digest(path: &std::path::Path) -> Result<String, GatherError> {
    let io = |source| GatherError::Io {
        file: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(hex::encode(hash.finalize()))
}
