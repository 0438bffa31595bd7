//! The finding lifecycle, exactly as DESIGN.md states it:
//!
//! 1. A rule matches → the finding is `open`, or `excepted` where a live exception covers it.
//! 2. Each later run that still sees it updates `last_seen`.
//! 3. A *complete* run of the same system that no longer sees it → `resolved`, with that run as the
//!    proof of removal. A partial or failed run never resolves anything.
//! 4. Seen again after resolution → reopened, and the history shows it.
//! 5. An exception that expires turns its findings back to `open`.
//!
//! This module only decides: [`plan_run`] and [`plan_exceptions`] are pure functions from the
//! current findings, a run's candidates, the exceptions and the time to a list of [`Transition`]s.
//! The store (`store::findings::apply`) writes them and appends one hash-chained event each, in
//! the transaction of the run.

use crate::evaluate::Candidate;
use chrono::{DateTime, Utc};
use residual_scanners::coverage::{self, Unit};
use residual_scanners::RunStatus;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

/// The stable id of a finding: the same rule, system and subject always give the same id.
pub fn finding_id(rule: &str, system: &str, subject: &str) -> String {
    let mut h = Sha256::new();
    for part in [rule, system, subject] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    hex::encode(&h.finalize()[..10])
}

/// Where a finding is in its lifecycle. Stored and shown as its [`FindingState::as_str`] text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingState {
    Open,
    Resolved,
    Excepted,
}

impl FindingState {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingState::Open => "open",
            FindingState::Resolved => "resolved",
            FindingState::Excepted => "excepted",
        }
    }

    pub fn parse(s: &str) -> Option<FindingState> {
        Some(match s {
            "open" => FindingState::Open,
            "resolved" => FindingState::Resolved,
            "excepted" => FindingState::Excepted,
            _ => return None,
        })
    }
}

/// What happened to a finding: the `event` of its hash-chained history. The chain also holds
/// entries for the evidence findings rest on, which are not findings: an imported HR snapshot
/// and a recorded scan run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Opened,
    Reopened,
    Excepted,
    ExceptionExpired,
    /// An exception was revoked: its entry left the exceptions file, or `exceptions revoke`.
    ExceptionRevoked,
    /// An exception's terms changed (expiry, reason or approver of its file entry).
    ExceptionChanged,
    Resolved,
    /// An HR snapshot was imported (chain id `snapshot:N`).
    HrSnapshot,
    /// A scan run was recorded (chain id `run:N`).
    ScanRun,
    /// A leaver or mover case was opened (its HR event imported), and later transitions of the
    /// case; chained under the finding id `case:<id>`.
    CaseOpened,
    CaseVerified,
    CaseExcepted,
    CaseReopened,
    /// A remediation action was carried out on the finding's system (`residual remediate
    /// --apply`); the detail names the action, the call, the target, who ran it and the answer.
    /// Sets no state: only the re-sweep that follows resolves the finding.
    RemediationApplied,
    /// A remediation action found its change already made (nothing was called).
    RemediationSkipped,
    /// A remediation action failed; the finding stays open.
    RemediationFailed,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Opened => "opened",
            EventKind::Reopened => "reopened",
            EventKind::Excepted => "excepted",
            EventKind::ExceptionExpired => "exception_expired",
            EventKind::ExceptionRevoked => "exception_revoked",
            EventKind::ExceptionChanged => "exception_changed",
            EventKind::Resolved => "resolved",
            EventKind::HrSnapshot => "hr_snapshot",
            EventKind::ScanRun => "scan_run",
            EventKind::CaseOpened => "case_opened",
            EventKind::CaseVerified => "case_verified",
            EventKind::CaseExcepted => "case_excepted",
            EventKind::CaseReopened => "case_reopened",
            EventKind::RemediationApplied => "remediation_applied",
            EventKind::RemediationSkipped => "remediation_skipped",
            EventKind::RemediationFailed => "remediation_failed",
        }
    }

    /// The state a finding is in when this is its last event; `None` for events that do not
    /// set one (evidence entries, or kinds this build does not know).
    pub fn state_after(event: &str) -> Option<FindingState> {
        Some(match event {
            "opened" | "reopened" | "exception_expired" => FindingState::Open,
            "excepted" => FindingState::Excepted,
            "resolved" => FindingState::Resolved,
            _ => return None,
        })
    }
}

/// What the lifecycle needs to know of a stored finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub state: FindingState,
    pub exception_id: Option<String>,
    /// A digest of the content the row was last written with, kept by the store so that a run
    /// that sees a finding unchanged need not rewrite it; planning ignores it.
    pub content: Option<i64>,
    /// The coverage unit it was last raised under; `None` for findings recorded before units,
    /// which only a run that missed nothing resolves.
    pub unit: Option<String>,
}

/// An exception as planning needs it: which finding it covers, until when.
#[derive(Debug, Clone, PartialEq)]
pub struct Cover {
    pub exception_id: String,
    pub finding_id: String,
    /// Compared as a time, never as text (`+10000-01-01` sorts before `2026-…` as text).
    pub expires_at: DateTime<Utc>,
}

/// The exception covering each finding at `now`: among live ones, the one that expires last.
pub fn active_covers(covers: &[Cover], now: DateTime<Utc>) -> HashMap<&str, &str> {
    let mut live: Vec<&Cover> = covers.iter().filter(|c| c.expires_at > now).collect();
    live.sort_by_key(|c| c.expires_at);
    live.into_iter()
        .map(|c| (c.finding_id.as_str(), c.exception_id.as_str()))
        .collect()
}

/// The run a plan is for: its id and the unit it covered are the proof a resolution names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunRef<'r> {
    pub id: i64,
    pub status: RunStatus,
    /// The run's units, covered or missed (see `residual_scanners::coverage`).
    pub coverage: &'r [Unit],
}

/// One change to one finding, and the event it appends. A finding can take two in a row (opened
/// then excepted; reopened then excepted; seen then exception expired), applied in order.
#[derive(Debug, Clone)]
pub enum Transition<'c> {
    /// First match: a new finding, `open` or `excepted` as `exception` says.
    Opened {
        id: String,
        candidate: &'c Candidate,
        exception: Option<String>,
    },
    /// Seen again while open or excepted: its evidence and `last_seen` are refreshed (no event).
    Seen {
        id: String,
        candidate: &'c Candidate,
        exception: Option<String>,
    },
    /// Seen again after it was resolved.
    Reopened {
        id: String,
        candidate: &'c Candidate,
        exception: Option<String>,
    },
    /// A live exception now covers it.
    Excepted { id: String, exception: String },
    /// The exception that covered it is no longer live: open again.
    ExceptionExpired {
        id: String,
        exception: Option<String>,
    },
    /// A run that covered its unit no longer saw it: `run` and `unit` are the proof of removal.
    Resolved {
        id: String,
        run: i64,
        unit: Option<String>,
    },
    /// An exception of the finding was revoked or changed (`event` says which), recorded in its
    /// chain whatever its state. `reopens` when that exception covered it and covers it no
    /// longer: the finding turns open with this event (and no second `exception_expired`).
    ExceptionPolicy {
        id: String,
        exception: String,
        event: EventKind,
        reopens: bool,
        detail: serde_json::Value,
    },
}

/// A change to one exception that its finding's chain records: [`EventKind::ExceptionRevoked`]
/// or [`EventKind::ExceptionChanged`], with what the event says (reason, who, old and new terms).
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionChange {
    pub exception_id: String,
    pub finding_id: String,
    pub event: EventKind,
    pub detail: serde_json::Value,
}

/// Equal when they change the same finding the same way, for the same candidate (by identity).
impl PartialEq for Transition<'_> {
    fn eq(&self, other: &Self) -> bool {
        use Transition::*;
        match (self, other) {
            (
                Opened {
                    id,
                    candidate,
                    exception,
                },
                Opened {
                    id: i,
                    candidate: c,
                    exception: e,
                },
            )
            | (
                Seen {
                    id,
                    candidate,
                    exception,
                },
                Seen {
                    id: i,
                    candidate: c,
                    exception: e,
                },
            )
            | (
                Reopened {
                    id,
                    candidate,
                    exception,
                },
                Reopened {
                    id: i,
                    candidate: c,
                    exception: e,
                },
            ) => id == i && std::ptr::eq(*candidate, *c) && exception == e,
            (
                Excepted { id, exception },
                Excepted {
                    id: i,
                    exception: e,
                },
            ) => id == i && exception == e,
            (
                ExceptionExpired { id, exception },
                ExceptionExpired {
                    id: i,
                    exception: e,
                },
            ) => id == i && exception == e,
            (
                Resolved { id, run, unit },
                Resolved {
                    id: i,
                    run: r,
                    unit: u,
                },
            ) => id == i && run == r && unit == u,
            (
                ExceptionPolicy {
                    id,
                    exception,
                    event,
                    reopens,
                    detail,
                },
                ExceptionPolicy {
                    id: i,
                    exception: e,
                    event: k,
                    reopens: r,
                    detail: d,
                },
            ) => id == i && exception == e && event == k && reopens == r && detail == d,
            _ => false,
        }
    }
}

impl Transition<'_> {
    pub fn id(&self) -> &str {
        match self {
            Transition::Opened { id, .. }
            | Transition::Seen { id, .. }
            | Transition::Reopened { id, .. }
            | Transition::Excepted { id, .. }
            | Transition::ExceptionExpired { id, .. }
            | Transition::Resolved { id, .. }
            | Transition::ExceptionPolicy { id, .. } => id,
        }
    }

    /// The event this transition appends; `Seen` appends none.
    pub fn event(&self) -> Option<EventKind> {
        Some(match self {
            Transition::Opened { .. } => EventKind::Opened,
            Transition::Seen { .. } => return None,
            Transition::Reopened { .. } => EventKind::Reopened,
            Transition::Excepted { .. } => EventKind::Excepted,
            Transition::ExceptionExpired { .. } => EventKind::ExceptionExpired,
            Transition::Resolved { .. } => EventKind::Resolved,
            Transition::ExceptionPolicy { event, .. } => *event,
        })
    }
}

/// What applying one run changed, for the run's summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub opened: usize,
    pub reopened: usize,
    pub seen: usize,
    pub excepted: usize,
    pub resolved: usize,
}

impl Outcome {
    pub fn of(transitions: &[Transition]) -> Outcome {
        let mut out = Outcome::default();
        for t in transitions {
            match t {
                Transition::Opened { .. } => out.opened += 1,
                Transition::Seen { .. } => out.seen += 1,
                Transition::Reopened { .. } => out.reopened += 1,
                Transition::Excepted { .. } => out.excepted += 1,
                Transition::Resolved { .. } => out.resolved += 1,
                Transition::ExceptionExpired { .. } | Transition::ExceptionPolicy { .. } => {}
            }
        }
        out
    }
}

/// Plans one scan run: `current` holds every finding of the run's system (any state), `covers`
/// every exception. A candidate repeated within the run counts once. A run resolves every
/// finding of the system it did not see *whose unit it covered* (in id order, so the chain is the
/// same for the same inputs), whatever it missed elsewhere; a failed run resolves nothing, and a
/// finding without a unit only a run that missed nothing.
pub fn plan_run<'c>(
    current: &HashMap<String, Current>,
    candidates: &'c [Candidate],
    covers: &[Cover],
    run: RunRef<'_>,
    now: DateTime<Utc>,
) -> Vec<Transition<'c>> {
    let active = active_covers(covers, now);
    let mut seen = HashSet::with_capacity(candidates.len());
    let mut out = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        let id = finding_id(
            candidate.rule.as_str(),
            &candidate.system,
            &candidate.subject,
        );
        if seen.contains(&id) {
            continue;
        }
        seen.insert(id.clone());
        let exception = active.get(id.as_str()).map(|e| e.to_string());
        let Some(cur) = current.get(&id) else {
            out.push(Transition::Opened {
                id: id.clone(),
                candidate,
                exception: exception.clone(),
            });
            if let Some(exception) = exception {
                out.push(Transition::Excepted { id, exception });
            }
            continue;
        };
        let covered = exception.clone();
        out.push(if cur.state == FindingState::Resolved {
            Transition::Reopened {
                id: id.clone(),
                candidate,
                exception: exception.clone(),
            }
        } else {
            Transition::Seen {
                id: id.clone(),
                candidate,
                exception: exception.clone(),
            }
        });
        match (cur.state, covered) {
            (FindingState::Excepted, None) => out.push(Transition::ExceptionExpired {
                id,
                exception: cur.exception_id.clone(),
            }),
            (FindingState::Open | FindingState::Resolved, Some(exception)) => {
                out.push(Transition::Excepted { id, exception })
            }
            _ => {}
        }
    }
    let mut gone: Vec<(&String, &Current)> = current
        .iter()
        .filter(|(id, cur)| {
            cur.state != FindingState::Resolved
                && !seen.contains(*id)
                && coverage::is_covered(run.status, run.coverage, cur.unit.as_deref())
        })
        .collect();
    gone.sort_by(|a, b| a.0.cmp(b.0));
    out.extend(gone.into_iter().map(|(id, cur)| Transition::Resolved {
        id: id.clone(),
        run: run.id,
        unit: cur.unit.clone(),
    }));
    out
}

/// Plans exception changes outside a run (exceptions added, changed or revoked, or time
/// passing). First each of `changes` (in order) on its finding, when the store has it: an event,
/// and the finding open again when that exception covered it and no longer does. Then excepted
/// findings whose exception is no longer live turn open; open findings a live exception covers
/// turn excepted. `covers` are the exceptions as they stand after the changes (revoked ones left
/// out); `current` needs only the findings that are excepted or named by an exception.
pub fn plan_exceptions(
    current: &HashMap<String, Current>,
    changes: &[ExceptionChange],
    covers: &[Cover],
    now: DateTime<Utc>,
) -> Vec<Transition<'static>> {
    let active = active_covers(covers, now);
    let live: HashSet<&str> = covers
        .iter()
        .filter(|c| c.expires_at > now)
        .map(|c| c.exception_id.as_str())
        .collect();
    let mut reopened: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    for change in changes {
        let Some(cur) = current.get(&change.finding_id) else {
            continue;
        };
        let covered = cur.state == FindingState::Excepted
            && cur.exception_id.as_deref() == Some(change.exception_id.as_str())
            && !reopened.contains(change.finding_id.as_str());
        let reopens = covered && !live.contains(change.exception_id.as_str());
        if reopens {
            reopened.insert(change.finding_id.as_str());
        }
        out.push(Transition::ExceptionPolicy {
            id: change.finding_id.clone(),
            exception: change.exception_id.clone(),
            event: change.event,
            reopens,
            detail: change.detail.clone(),
        });
    }
    let mut ids: Vec<&String> = current.keys().collect();
    ids.sort();
    let mut expired = Vec::new();
    let mut excepted = Vec::new();
    for id in ids {
        let cur = &current[id];
        let state = if reopened.contains(id.as_str()) {
            FindingState::Open
        } else {
            cur.state
        };
        match (state, active.get(id.as_str())) {
            (FindingState::Excepted, None) => expired.push(Transition::ExceptionExpired {
                id: id.clone(),
                exception: cur.exception_id.clone(),
            }),
            (FindingState::Open, Some(exception)) => excepted.push(Transition::Excepted {
                id: id.clone(),
                exception: exception.to_string(),
            }),
            _ => {}
        }
    }
    out.extend(expired);
    out.extend(excepted);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::severity::Severity;
    use residual_scanners::coverage::{Miss, MissClass};

    fn now() -> DateTime<Utc> {
        residual_scanners::time::parse_time("2026-06-01T00:00:00Z").expect("time")
    }

    fn candidate(subject: &str) -> Candidate {
        Candidate {
            rule: crate::rule_id::RuleId::LeaverActiveAccount,
            severity: Severity::High,
            system: "inventory:crm".into(),
            account: subject.into(),
            subject: subject.into(),
            unit: "accounts".into(),
            employee_id: Some("E1".into()),
            live: Some(true),
            evidence: crate::evidence_text::EvidenceText::from_json("{}"),
            remediation_template: std::sync::Arc::from("disable {account}"),
        }
    }

    fn id_of(c: &Candidate) -> String {
        finding_id(c.rule.as_str(), &c.system, &c.subject)
    }

    fn current(state: FindingState, exception: Option<&str>) -> Current {
        Current {
            state,
            exception_id: exception.map(str::to_string),
            content: None,
            unit: Some("accounts".into()),
        }
    }

    fn run(status: RunStatus) -> RunRef<'static> {
        RunRef {
            id: 7,
            status,
            coverage: &[],
        }
    }

    /// A finding open under `unit`.
    fn open_in(unit: Option<&str>) -> Current {
        Current {
            unit: unit.map(str::to_string),
            ..current(FindingState::Open, None)
        }
    }

    fn unit(name: &str, missed: Option<MissClass>) -> Unit {
        Unit {
            name: name.into(),
            missed: missed.map(|class| Miss::new(name, class, "why")),
        }
    }

    fn cover(finding: &str, exception: &str, expires_at: &str) -> Cover {
        Cover {
            exception_id: exception.into(),
            finding_id: finding.into(),
            expires_at: residual_scanners::time::parse_time(expires_at).expect("time"),
        }
    }

    fn events(plan: &[Transition]) -> Vec<Option<EventKind>> {
        plan.iter().map(Transition::event).collect()
    }

    #[test]
    fn a_first_match_opens_a_finding() {
        let ann = [candidate("ann")];
        let plan = plan_run(&HashMap::new(), &ann, &[], run(RunStatus::Complete), now());
        assert_eq!(
            plan,
            [Transition::Opened {
                id: id_of(&ann[0]),
                candidate: &ann[0],
                exception: None
            }]
        );
    }

    #[test]
    fn a_finding_seen_again_is_refreshed_without_an_event() {
        let ann = [candidate("ann")];
        let cur = HashMap::from([(id_of(&ann[0]), current(FindingState::Open, None))]);
        let plan = plan_run(&cur, &ann, &[], run(RunStatus::Complete), now());
        assert!(matches!(plan[..], [Transition::Seen { .. }]), "{plan:?}");
        assert_eq!(events(&plan), [None]);
    }

    #[test]
    fn a_complete_run_without_it_resolves_it_with_the_run_as_proof() {
        let ben = [candidate("ben")];
        let ann_id = id_of(&candidate("ann"));
        let cur = HashMap::from([(ann_id.clone(), current(FindingState::Open, None))]);
        let plan = plan_run(&cur, &ben, &[], run(RunStatus::Complete), now());
        assert_eq!(
            plan.last(),
            Some(&Transition::Resolved {
                id: ann_id,
                run: 7,
                unit: Some("accounts".into())
            })
        );
        assert_eq!(Outcome::of(&plan).resolved, 1);
    }

    #[test]
    fn a_run_naming_no_units_resolves_nothing_unless_complete() {
        let cur = HashMap::from([(id_of(&candidate("ann")), current(FindingState::Open, None))]);
        for status in [RunStatus::Partial, RunStatus::Failed] {
            let plan = plan_run(&cur, &[], &[], run(status), now());
            assert!(plan.is_empty(), "{status:?}: {plan:?}");
        }
    }

    #[test]
    fn a_partial_run_resolves_the_findings_of_the_units_it_covered_and_no_other() {
        let units = [
            unit("users:access-keys", None),
            unit("users:service-credentials", Some(MissClass::Transient)),
            unit("users:ssh-keys", Some(MissClass::Disabled)),
        ];
        let cur = HashMap::from([
            ("key".to_string(), open_in(Some("users:access-keys"))),
            (
                "service".to_string(),
                open_in(Some("users:service-credentials")),
            ),
            ("ssh".to_string(), open_in(Some("users:ssh-keys"))),
            ("legacy".to_string(), open_in(None)),
        ]);
        let partial = RunRef {
            id: 9,
            status: RunStatus::Partial,
            coverage: &units,
        };
        let plan = plan_run(&cur, &[], &[], partial, now());
        assert_eq!(
            plan,
            [Transition::Resolved {
                id: "key".into(),
                run: 9,
                unit: Some("users:access-keys".into())
            }]
        );
    }

    #[test]
    fn a_missed_listing_keeps_every_unit_below_it_open() {
        let units = [unit("repos", Some(MissClass::Transient))];
        let cur = HashMap::from([("k".to_string(), open_in(Some("repos:o/a:deploy-keys")))]);
        let run = RunRef {
            id: 9,
            status: RunStatus::Partial,
            coverage: &units,
        };
        assert!(plan_run(&cur, &[], &[], run, now()).is_empty());
    }

    #[test]
    fn a_failed_run_resolves_nothing_even_where_it_names_no_miss() {
        let units = [unit("accounts", None)];
        let cur = HashMap::from([("a".to_string(), open_in(Some("accounts")))]);
        let run = RunRef {
            id: 9,
            status: RunStatus::Failed,
            coverage: &units,
        };
        assert!(plan_run(&cur, &[], &[], run, now()).is_empty());
    }

    #[test]
    fn a_finding_without_a_unit_resolves_only_on_a_run_that_missed_nothing() {
        let cur = HashMap::from([("legacy".to_string(), open_in(None))]);
        let covered = [unit("accounts", None)];
        let complete = RunRef {
            id: 9,
            status: RunStatus::Complete,
            coverage: &covered,
        };
        assert_eq!(
            Outcome::of(&plan_run(&cur, &[], &[], complete, now())).resolved,
            1
        );
    }

    #[test]
    fn a_resolved_finding_stays_resolved_when_not_seen() {
        let cur = HashMap::from([(
            id_of(&candidate("ann")),
            current(FindingState::Resolved, None),
        )]);
        assert!(plan_run(&cur, &[], &[], run(RunStatus::Complete), now()).is_empty());
    }

    #[test]
    fn a_resolved_finding_seen_again_is_reopened() {
        let ann = [candidate("ann")];
        let cur = HashMap::from([(id_of(&ann[0]), current(FindingState::Resolved, None))]);
        let plan = plan_run(&cur, &ann, &[], run(RunStatus::Partial), now());
        assert_eq!(events(&plan), [Some(EventKind::Reopened)]);
    }

    #[test]
    fn a_live_exception_covers_a_new_finding() {
        let ann = [candidate("ann")];
        let id = id_of(&ann[0]);
        let covers = [cover(&id, "EXC-1", "2026-07-01T00:00:00Z")];
        let plan = plan_run(
            &HashMap::new(),
            &ann,
            &covers,
            run(RunStatus::Complete),
            now(),
        );
        assert_eq!(
            plan,
            [
                Transition::Opened {
                    id: id.clone(),
                    candidate: &ann[0],
                    exception: Some("EXC-1".into())
                },
                Transition::Excepted {
                    id,
                    exception: "EXC-1".into()
                }
            ]
        );
        assert_eq!(Outcome::of(&plan).excepted, 1);
    }

    #[test]
    fn an_exception_covers_an_open_finding_seen_again_and_a_reopened_one() {
        let ann = [candidate("ann")];
        let id = id_of(&ann[0]);
        let covers = [cover(&id, "EXC-1", "2026-07-01T00:00:00Z")];
        for state in [FindingState::Open, FindingState::Resolved] {
            let cur = HashMap::from([(id.clone(), current(state, None))]);
            let plan = plan_run(&cur, &ann, &covers, run(RunStatus::Complete), now());
            assert_eq!(
                plan.last(),
                Some(&Transition::Excepted {
                    id: id.clone(),
                    exception: "EXC-1".into()
                })
            );
        }
    }

    #[test]
    fn an_excepted_finding_seen_again_under_its_exception_appends_nothing() {
        let ann = [candidate("ann")];
        let id = id_of(&ann[0]);
        let covers = [cover(&id, "EXC-1", "2026-07-01T00:00:00Z")];
        let cur = HashMap::from([(id, current(FindingState::Excepted, Some("EXC-1")))]);
        let plan = plan_run(&cur, &ann, &covers, run(RunStatus::Complete), now());
        assert_eq!(events(&plan), [None]);
    }

    #[test]
    fn an_expired_exception_reopens_a_finding_the_run_sees() {
        let ann = [candidate("ann")];
        let id = id_of(&ann[0]);
        let covers = [cover(&id, "EXC-1", "2026-05-31T00:00:00Z")];
        let cur = HashMap::from([(id.clone(), current(FindingState::Excepted, Some("EXC-1")))]);
        let plan = plan_run(&cur, &ann, &covers, run(RunStatus::Complete), now());
        assert_eq!(
            plan.last(),
            Some(&Transition::ExceptionExpired {
                id,
                exception: Some("EXC-1".into())
            })
        );
    }

    #[test]
    fn exception_expiry_outside_a_run_turns_findings_open_and_new_covers_except() {
        let expired = id_of(&candidate("ann"));
        let covered = id_of(&candidate("ben"));
        let cur = HashMap::from([
            (
                expired.clone(),
                current(FindingState::Excepted, Some("EXC-old")),
            ),
            (covered.clone(), current(FindingState::Open, None)),
        ]);
        let covers = [
            cover(&expired, "EXC-old", "2026-06-01T00:00:00Z"),
            cover(&covered, "EXC-new", "2026-09-01T00:00:00Z"),
        ];
        let plan = plan_exceptions(&cur, &[], &covers, now());
        assert_eq!(
            plan,
            [
                Transition::ExceptionExpired {
                    id: expired,
                    exception: Some("EXC-old".into())
                },
                Transition::Excepted {
                    id: covered,
                    exception: "EXC-new".into()
                }
            ]
        );
    }

    #[test]
    fn the_exception_that_expires_last_is_the_one_that_covers() {
        let covers = [
            cover("f", "EXC-late", "2026-12-01T00:00:00Z"),
            cover("f", "EXC-early", "2026-07-01T00:00:00Z"),
            cover("f", "EXC-past", "2026-01-01T00:00:00Z"),
        ];
        assert_eq!(active_covers(&covers, now()).get("f"), Some(&"EXC-late"));
    }

    #[test]
    fn a_candidate_repeated_within_a_run_counts_once() {
        let twice = [candidate("ann"), candidate("ann")];
        let plan = plan_run(
            &HashMap::new(),
            &twice,
            &[],
            run(RunStatus::Complete),
            now(),
        );
        assert_eq!(Outcome::of(&plan).opened, 1);
    }

    fn change(finding: &str, exception: &str, event: EventKind) -> ExceptionChange {
        ExceptionChange {
            exception_id: exception.into(),
            finding_id: finding.into(),
            event,
            detail: serde_json::json!({"exception": exception}),
        }
    }

    #[test]
    fn a_revoked_exception_reopens_the_finding_it_covered_with_one_event() {
        let id = id_of(&candidate("ann"));
        let cur = HashMap::from([(id.clone(), current(FindingState::Excepted, Some("EXC-1")))]);
        let changes = [change(&id, "EXC-1", EventKind::ExceptionRevoked)];
        let plan = plan_exceptions(&cur, &changes, &[], now());
        assert_eq!(events(&plan), [Some(EventKind::ExceptionRevoked)]);
        assert!(
            matches!(plan[0], Transition::ExceptionPolicy { reopens: true, .. }),
            "{plan:?}"
        );
    }

    #[test]
    fn an_expiry_shortened_to_the_past_reopens_with_exception_changed() {
        let id = id_of(&candidate("ann"));
        let cur = HashMap::from([(id.clone(), current(FindingState::Excepted, Some("EXC-1")))]);
        let covers = [cover(&id, "EXC-1", "2026-05-01T00:00:00Z")];
        let changes = [change(&id, "EXC-1", EventKind::ExceptionChanged)];
        let plan = plan_exceptions(&cur, &changes, &covers, now());
        assert_eq!(events(&plan), [Some(EventKind::ExceptionChanged)]);
        assert!(matches!(
            plan[0],
            Transition::ExceptionPolicy { reopens: true, .. }
        ));
    }

    #[test]
    fn a_change_that_keeps_the_exception_live_records_an_event_and_keeps_it_excepted() {
        let id = id_of(&candidate("ann"));
        let cur = HashMap::from([(id.clone(), current(FindingState::Excepted, Some("EXC-1")))]);
        let covers = [cover(&id, "EXC-1", "2026-06-15T00:00:00Z")];
        let changes = [change(&id, "EXC-1", EventKind::ExceptionChanged)];
        let plan = plan_exceptions(&cur, &changes, &covers, now());
        assert_eq!(events(&plan), [Some(EventKind::ExceptionChanged)]);
        assert!(matches!(
            plan[0],
            Transition::ExceptionPolicy { reopens: false, .. }
        ));
    }

    #[test]
    fn a_revoked_exception_hands_over_to_another_live_one() {
        let id = id_of(&candidate("ann"));
        let cur = HashMap::from([(id.clone(), current(FindingState::Excepted, Some("EXC-1")))]);
        let covers = [cover(&id, "EXC-2", "2026-09-01T00:00:00Z")];
        let changes = [change(&id, "EXC-1", EventKind::ExceptionRevoked)];
        let plan = plan_exceptions(&cur, &changes, &covers, now());
        assert_eq!(
            events(&plan),
            [Some(EventKind::ExceptionRevoked), Some(EventKind::Excepted)]
        );
    }

    #[test]
    fn a_change_to_an_exception_of_a_finding_not_in_the_store_plans_nothing() {
        let changes = [change("unknown", "EXC-1", EventKind::ExceptionRevoked)];
        assert!(plan_exceptions(&HashMap::new(), &changes, &[], now()).is_empty());
    }

    #[test]
    fn expiries_compare_as_times_not_text() {
        // As text `+10000-…` sorts before `2026-…`; as a time it is far in the future.
        let covers = [Cover {
            exception_id: "EXC-far".into(),
            finding_id: "f".into(),
            expires_at: DateTime::<Utc>::MAX_UTC,
        }];
        assert_eq!(active_covers(&covers, now()).get("f"), Some(&"EXC-far"));
    }
}
