//! Cases: per leaver and mover event, the proof that every entitlement collapsed.
//!
//! A case is one HR event (a leaver or a mover, from the imported snapshots) judged over every
//! system in scope: the configured scanners and every system the store has runs of. For each
//! system the case needs a *proving run*: a complete run evaluated after the event was known (the
//! snapshot that carried it was imported) and after its grace period, so that the rules knew the
//! person had left or moved when that run looked. A run evaluated before that saw the person as
//! employed and proves nothing about their access.
//!
//! Per system, in this order:
//! * `residual` — a finding of the person for this event is open;
//! * `not-covered` — no proving run yet (a partial run or a scanner that never ran);
//! * `excepted` — only findings under a live exception remain;
//! * `clean` — proven: the person was linked there or had findings, and all are resolved;
//! * `not-applicable` — proven: the person never had anything there.
//!
//! The case is `open` while any system is residual or not covered, `excepted` when only
//! exceptions remain, `verified` when every system is clean or not applicable, verified at the
//! latest proving run. A case open past event + grace + `policy.collapse_sla_hours` is overdue.
//!
//! Coverage here is per run: a system is proven by a complete run that covered every unit (a kind
//! switched off in the configuration leaves a unit not covered, so it proves nothing for a case).
//! A partial run that covered the units holding the person's access is not used yet: which units
//! could hold a person's access is not known before it is found.
//!
//! This module only judges ([`judge`]); `store::cases` loads the facts and keeps the states whose
//! transitions are chained events.

use crate::findings::FindingState;
use crate::rule_id::RuleId;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Which HR event a case proves the collapse of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseKind {
    Leaver,
    Mover,
}

impl CaseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseKind::Leaver => "leaver",
            CaseKind::Mover => "mover",
        }
    }

    pub fn parse(s: &str) -> Option<CaseKind> {
        match s {
            "leaver" => Some(CaseKind::Leaver),
            "mover" => Some(CaseKind::Mover),
            _ => None,
        }
    }

    /// Whether a finding of `rule` is access this event should have collapsed: a mover's retained
    /// entitlements for a mover, everything a leaver still holds, knew or owned for a leaver.
    pub fn concerns(self, rule: &str) -> bool {
        let Ok(rule) = rule.parse::<RuleId>() else {
            return false;
        };
        match self {
            CaseKind::Mover => rule == RuleId::MoverResidualEntitlement,
            CaseKind::Leaver => !matches!(
                rule,
                RuleId::MoverResidualEntitlement | RuleId::OrphanAccount
            ),
        }
    }
}

/// A case's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseState {
    Open,
    Excepted,
    Verified,
}

impl CaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Open => "open",
            CaseState::Excepted => "excepted",
            CaseState::Verified => "verified",
        }
    }

    pub fn parse(s: &str) -> Option<CaseState> {
        match s {
            "open" => Some(CaseState::Open),
            "excepted" => Some(CaseState::Excepted),
            "verified" => Some(CaseState::Verified),
            _ => None,
        }
    }
}

/// One system's verdict within a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SystemState {
    Clean,
    Residual,
    Excepted,
    NotCovered,
    NotApplicable,
}

impl SystemState {
    pub fn as_str(self) -> &'static str {
        match self {
            SystemState::Clean => "clean",
            SystemState::Residual => "residual",
            SystemState::Excepted => "excepted",
            SystemState::NotCovered => "not-covered",
            SystemState::NotApplicable => "not-applicable",
        }
    }
}

/// The HR event a case is about.
#[derive(Debug, Clone, Serialize)]
pub struct CaseEvent {
    /// The person event's id in the store; shown as `CASE-<id>`.
    pub id: i64,
    pub employee_id: String,
    pub name: Option<String>,
    pub kind: CaseKind,
    /// When the event took effect (termination date, role change).
    pub effective_at: DateTime<Utc>,
    /// When residual learned of it: the import of the snapshot that carried it.
    pub known_at: DateTime<Utc>,
}

impl CaseEvent {
    pub fn case_id(&self) -> String {
        case_id(self.id)
    }
}

/// The printed id of the case of person event `id`.
pub fn case_id(id: i64) -> String {
    format!("CASE-{id}")
}

/// Parses `CASE-12` (or `12`) into the person event id.
pub fn parse_case_id(s: &str) -> Option<i64> {
    s.strip_prefix("CASE-")
        .or_else(|| s.strip_prefix("case-"))
        .unwrap_or(s)
        .parse()
        .ok()
}

/// A scan run as a case sees it.
#[derive(Debug, Clone)]
pub struct RunFact {
    pub id: i64,
    /// Complete and every coverage unit covered (a kind switched off in the configuration is a
    /// unit not covered): only such a run proves a system for a case.
    pub complete: bool,
    /// The time its findings were evaluated at (`--now` or the clock of the run).
    pub evaluated_at: DateTime<Utc>,
}

/// A finding of the person, as a case sees it.
#[derive(Debug, Clone)]
pub struct FindingFact {
    pub id: String,
    pub rule: String,
    /// The state now: an excepted finding whose exception expired counts as open.
    pub state: FindingState,
    pub resolved_by_run: Option<i64>,
}

/// What one system holds for a case.
pub struct SystemFacts<'a> {
    pub system: &'a str,
    /// The system's runs, in id order.
    pub runs: &'a [RunFact],
    /// The person's findings in the system that concern the case's event.
    pub findings: Vec<&'a FindingFact>,
    /// Whether any account of the system links to the person.
    pub linked: bool,
}

/// The time limits of the collapse.
#[derive(Debug, Clone, Copy)]
pub struct CasePolicy {
    pub leaver_grace: Duration,
    pub mover_grace: Duration,
    pub sla: Duration,
}

impl CasePolicy {
    fn grace(&self, kind: CaseKind) -> Duration {
        match kind {
            CaseKind::Leaver => self.leaver_grace,
            CaseKind::Mover => self.mover_grace,
        }
    }
}

/// The scope entry of an AWS scanner whose account is not known yet (it never ran): a case stays
/// not covered there until some `aws-iam:<account>` system has runs.
pub const ANY_AWS_ACCOUNT: &str = "aws-iam:*";

/// The same for an IAM Identity Center scanner, whose system names the identity store it finds.
pub const ANY_AWS_SSO_INSTANCE: &str = "aws-sso:*";

/// Whether `scope_entry` is a placeholder (`KIND:*`) that a system with runs, `ran`, stands in
/// for: once some system of that kind ran, the placeholder is no longer needed.
pub fn placeholder_of(scope_entry: &str, ran: &str) -> bool {
    scope_entry
        .strip_suffix('*')
        .is_some_and(|kind| kind.ends_with(':') && ran.starts_with(kind))
}

/// What cases are judged with: the time limits, and the systems every case must be proven in
/// besides those the store has runs of (the configured scanners, including ones that never ran).
#[derive(Debug, Clone)]
pub struct CaseScope {
    pub policy: CasePolicy,
    pub systems: Vec<String>,
}

/// One system's line of a case.
#[derive(Debug, Clone, Serialize)]
pub struct SystemVerdict {
    pub system: String,
    pub state: SystemState,
    /// The run that proves the state (for `clean` and `not-applicable`): the later of the first
    /// proving run and the runs that resolved the person's findings there.
    pub proving_run: Option<i64>,
    pub proved_at: Option<DateTime<Utc>>,
    pub open: usize,
    pub resolved: usize,
    pub excepted: usize,
}

/// A judged case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseVerdict {
    pub event: CaseEvent,
    pub state: CaseState,
    pub overdue: bool,
    /// Event + grace + SLA: when an open case becomes overdue.
    pub deadline: DateTime<Utc>,
    pub verified_at: Option<DateTime<Utc>>,
    pub systems: Vec<SystemVerdict>,
}

impl CaseVerdict {
    pub fn count(&self, state: SystemState) -> usize {
        self.systems.iter().filter(|s| s.state == state).count()
    }

    pub fn open_findings(&self) -> usize {
        self.systems.iter().map(|s| s.open).sum()
    }

    /// Hours from the event to the proof of collapse, for a verified case.
    pub fn hours_to_collapse(&self) -> Option<f64> {
        self.verified_at
            .map(|v| (v - self.event.effective_at).num_seconds() as f64 / 3600.0)
    }
}

/// Judges one case at `now` over the facts of each system in scope.
pub fn judge(
    event: &CaseEvent,
    systems: &[SystemFacts],
    policy: &CasePolicy,
    now: DateTime<Utc>,
) -> CaseVerdict {
    let grace = policy.grace(event.kind);
    // A run proves something about this event only if its rules knew of the event and the
    // grace period had passed when it evaluated.
    let proof_from = (event.effective_at + grace).max(event.known_at);
    let verdicts: Vec<SystemVerdict> = systems
        .iter()
        .map(|s| judge_system(s, proof_from))
        .collect();
    let residual = verdicts
        .iter()
        .any(|v| matches!(v.state, SystemState::Residual | SystemState::NotCovered));
    let excepted = verdicts.iter().any(|v| v.state == SystemState::Excepted);
    // Nothing in scope proves nothing: a case is verified by runs, never by their absence.
    let state = if residual || verdicts.is_empty() {
        CaseState::Open
    } else if excepted {
        CaseState::Excepted
    } else {
        CaseState::Verified
    };
    let verified_at = (state == CaseState::Verified)
        .then(|| verdicts.iter().filter_map(|v| v.proved_at).max())
        .flatten();
    let deadline = event.effective_at + grace + policy.sla;
    CaseVerdict {
        event: event.clone(),
        state,
        overdue: state == CaseState::Open && now > deadline,
        deadline,
        verified_at,
        systems: verdicts,
    }
}

fn judge_system(s: &SystemFacts, proof_from: DateTime<Utc>) -> SystemVerdict {
    let count = |state| s.findings.iter().filter(|f| f.state == state).count();
    let (open, resolved, excepted) = (
        count(FindingState::Open),
        count(FindingState::Resolved),
        count(FindingState::Excepted),
    );
    let first_proof = s
        .runs
        .iter()
        .find(|r| r.complete && r.evaluated_at >= proof_from);
    // The person's access resolved by a later run: that run is the proof of its removal.
    let last_resolution = s
        .findings
        .iter()
        .filter(|f| f.state == FindingState::Resolved)
        .filter_map(|f| f.resolved_by_run)
        .max()
        .and_then(|id| s.runs.iter().find(|r| r.id == id));
    let proof = match (first_proof, last_resolution) {
        (Some(a), Some(b)) if b.id > a.id => Some(b),
        (Some(a), _) => Some(a),
        (None, _) => None,
    };
    let state = if open > 0 {
        SystemState::Residual
    } else if proof.is_none() {
        SystemState::NotCovered
    } else if excepted > 0 {
        SystemState::Excepted
    } else if s.linked || resolved > 0 {
        SystemState::Clean
    } else {
        SystemState::NotApplicable
    };
    let proven = matches!(state, SystemState::Clean | SystemState::NotApplicable);
    SystemVerdict {
        system: s.system.to_string(),
        state,
        proving_run: proof.filter(|_| proven).map(|r| r.id),
        proved_at: proof.filter(|_| proven).map(|r| r.evaluated_at),
        open,
        resolved,
        excepted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_placeholder_stands_for_any_system_of_its_kind_until_one_ran() {
        assert!(placeholder_of("aws-iam:*", "aws-iam:123456789012"));
        assert!(placeholder_of("aws-sso:*", "aws-sso:d-1234567890"));
        assert!(!placeholder_of("aws-sso:*", "aws-iam:123456789012"));
        assert!(!placeholder_of("inventory:crm", "inventory:crm"));
        assert!(!placeholder_of("aws*", "aws-iam:1"));
    }

    fn t(s: &str) -> DateTime<Utc> {
        residual_scanners::time::parse_time(s).expect("time")
    }

    fn event(kind: CaseKind) -> CaseEvent {
        CaseEvent {
            id: 7,
            employee_id: "E2".into(),
            name: Some("Lee".into()),
            kind,
            effective_at: t("2026-11-01T00:00:00Z"),
            known_at: t("2026-11-02T00:00:00Z"),
        }
    }

    fn policy() -> CasePolicy {
        CasePolicy {
            leaver_grace: Duration::zero(),
            mover_grace: Duration::days(7),
            sla: Duration::hours(24),
        }
    }

    fn run(id: i64, complete: bool, at: &str) -> RunFact {
        RunFact {
            id,
            complete,
            evaluated_at: t(at),
        }
    }

    fn finding(id: &str, state: FindingState, by: Option<i64>) -> FindingFact {
        FindingFact {
            id: id.into(),
            rule: "leaver-active-account".into(),
            state,
            resolved_by_run: by,
        }
    }

    fn system<'a>(
        runs: &'a [RunFact],
        findings: &'a [FindingFact],
        linked: bool,
    ) -> SystemFacts<'a> {
        SystemFacts {
            system: "inventory:crm",
            runs,
            findings: findings.iter().collect(),
            linked,
        }
    }

    #[test]
    fn a_run_evaluated_before_the_event_was_imported_proves_nothing() {
        let runs = [run(1, true, "2026-11-01T12:00:00Z")];
        let v = judge(
            &event(CaseKind::Leaver),
            &[system(&runs, &[], true)],
            &policy(),
            t("2026-11-03T00:00:00Z"),
        );
        assert_eq!(v.systems[0].state, SystemState::NotCovered);
        assert_eq!(v.state, CaseState::Open);
        assert!(v.overdue, "deadline was 2026-11-02");
    }

    #[test]
    fn a_partial_run_never_proves_a_system() {
        let runs = [run(1, false, "2026-11-03T00:00:00Z")];
        let v = judge(
            &event(CaseKind::Leaver),
            &[system(&runs, &[], true)],
            &policy(),
            t("2026-11-03T00:00:00Z"),
        );
        assert_eq!(v.systems[0].state, SystemState::NotCovered);
    }

    #[test]
    fn resolved_access_is_proven_by_the_run_that_resolved_it() {
        let runs = [
            run(1, true, "2026-11-03T00:00:00Z"),
            run(2, true, "2026-11-04T00:00:00Z"),
        ];
        let findings = [finding("f1", FindingState::Resolved, Some(2))];
        let v = judge(
            &event(CaseKind::Leaver),
            &[system(&runs, &findings, true)],
            &policy(),
            t("2026-11-05T00:00:00Z"),
        );
        assert_eq!(v.systems[0].state, SystemState::Clean);
        assert_eq!(v.systems[0].proving_run, Some(2));
        assert_eq!(v.state, CaseState::Verified);
        assert_eq!(v.verified_at, Some(t("2026-11-04T00:00:00Z")));
        assert_eq!(v.hours_to_collapse(), Some(72.0));
        assert!(!v.overdue);
    }

    #[test]
    fn open_access_is_residual_and_exceptions_make_the_case_excepted() {
        let runs = [run(1, true, "2026-11-03T00:00:00Z")];
        let open = [finding("f1", FindingState::Open, None)];
        let excepted = [finding("f2", FindingState::Excepted, None)];
        let ev = event(CaseKind::Leaver);
        let v = judge(
            &ev,
            &[system(&runs, &open, true)],
            &policy(),
            t("2026-11-03T00:00:00Z"),
        );
        assert_eq!(
            (v.systems[0].state, v.state),
            (SystemState::Residual, CaseState::Open)
        );
        let v = judge(
            &ev,
            &[system(&runs, &excepted, true)],
            &policy(),
            t("2026-11-03T00:00:00Z"),
        );
        assert_eq!(
            (v.systems[0].state, v.state),
            (SystemState::Excepted, CaseState::Excepted)
        );
        assert!(v.verified_at.is_none());
    }

    #[test]
    fn a_system_the_person_never_had_is_not_applicable_once_covered() {
        let runs = [run(1, true, "2026-11-03T00:00:00Z")];
        let v = judge(
            &event(CaseKind::Leaver),
            &[system(&runs, &[], false)],
            &policy(),
            t("2026-11-03T00:00:00Z"),
        );
        assert_eq!(v.systems[0].state, SystemState::NotApplicable);
        assert_eq!(v.state, CaseState::Verified);
    }

    #[test]
    fn a_mover_is_overdue_only_after_grace_and_sla() {
        let ev = event(CaseKind::Mover);
        let v = judge(
            &ev,
            &[system(&[], &[], true)],
            &policy(),
            t("2026-11-08T12:00:00Z"),
        );
        assert!(!v.overdue, "inside grace + SLA (until 2026-11-09)");
        let v = judge(
            &ev,
            &[system(&[], &[], true)],
            &policy(),
            t("2026-11-09T00:00:01Z"),
        );
        assert!(v.overdue);
        // A run inside the grace period proves nothing: mover rules had not fired yet.
        let runs = [run(1, true, "2026-11-05T00:00:00Z")];
        let v = judge(
            &ev,
            &[system(&runs, &[], true)],
            &policy(),
            t("2026-11-06T00:00:00Z"),
        );
        assert_eq!(v.systems[0].state, SystemState::NotCovered);
    }

    #[test]
    fn rules_belong_to_the_event_they_collapse() {
        assert!(CaseKind::Leaver.concerns("leaver-active-access-key"));
        assert!(CaseKind::Leaver.concerns("shared-secret-needs-rotation"));
        assert!(CaseKind::Leaver.concerns("leaver-owned-nhi"));
        assert!(!CaseKind::Leaver.concerns("mover-residual-entitlement"));
        assert!(CaseKind::Mover.concerns("mover-residual-entitlement"));
        assert!(!CaseKind::Mover.concerns("orphan-account"));
        assert_eq!(parse_case_id("CASE-12"), Some(12));
        assert_eq!(parse_case_id("12"), Some(12));
        assert_eq!(parse_case_id("E2"), None);
    }
}
