//! Comparing a new HR snapshot with the people already known, to derive leaver and mover events.
//!
//! - A person whose record says leaver (status, or a termination date not after `as_of`) becomes a
//!   leaver effective at the termination date, else at `as_of`.
//! - A person who was present and is missing from the new snapshot is a leaver as of `as_of`.
//! - A changed department, title or manager is a mover event effective at `role_changed_at`, else
//!   at `as_of`; a new `role_changed_at` alone is one too.
//! - A leaver who comes back is recorded as rejoined.
//!
//! Pure: no I/O. The store writes what this returns.

use super::{HrStatus, PersonRecord};
use crate::person::Person;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// What a snapshot changed about one person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    Joined,
    Leaver,
    Mover,
    Rejoined,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Joined => "joined",
            EventKind::Leaver => "leaver",
            EventKind::Mover => "mover",
            EventKind::Rejoined => "rejoined",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PersonEvent {
    pub employee_id: String,
    pub kind: EventKind,
    pub effective_at: DateTime<Utc>,
    pub detail: serde_json::Value,
}

/// The people after the snapshot, and the events it caused.
pub struct SnapshotChanges {
    /// New state of every person in the snapshot and every person who just disappeared.
    pub people: Vec<Person>,
    pub events: Vec<PersonEvent>,
}

/// How many departures one snapshot may cause before the import needs `--allow-mass-departure`:
/// `configured` when the configuration sets `hr.max_departures`, else a tenth of the people
/// employed before it, and at least five. A truncated or half-failed export looks like a mass
/// departure; a real one is rare enough to confirm by hand.
pub fn departure_limit(
    known: &HashMap<String, Person>,
    configured: Option<usize>,
    as_of: DateTime<Utc>,
) -> usize {
    configured.unwrap_or_else(|| {
        let employed = known
            .values()
            .filter(|p| p.present && !p.is_leaver(as_of))
            .count();
        (employed / 10).max(5)
    })
}

/// The people a snapshot turns from employed (present in the previous snapshot and not a leaver)
/// into leavers, by record or by absence. People who arrive already gone are not departures.
pub fn departures(
    known: &HashMap<String, Person>,
    changes: &SnapshotChanges,
    as_of: DateTime<Utc>,
) -> usize {
    changes
        .events
        .iter()
        .filter(|e| e.kind == EventKind::Leaver)
        .filter(|e| {
            known
                .get(&e.employee_id)
                .is_some_and(|p| p.present && !p.is_leaver(as_of))
        })
        .count()
}

/// Applies `records` (one snapshot as of `as_of`) to the `known` people.
pub fn apply_snapshot(
    known: &HashMap<String, Person>,
    records: Vec<PersonRecord>,
    as_of: DateTime<Utc>,
) -> SnapshotChanges {
    let mut people = Vec::with_capacity(records.len());
    let mut events = Vec::new();
    let mut in_snapshot = HashSet::with_capacity(records.len());
    for mut record in records {
        in_snapshot.insert(record.employee_id.clone());
        let is_leaver = record.is_leaver_at(as_of);
        let prior = known.get(&record.employee_id);
        let was_leaver = prior.is_some_and(|p| p.is_leaver(as_of));
        if is_leaver {
            record.status = HrStatus::Leaver;
            // Keep the first known departure time; a leaver without a date left as of this snapshot.
            let earlier = prior
                .filter(|p| p.is_leaver(as_of))
                .and_then(|p| p.departed_at());
            record.terminated_at = record.terminated_at.or(earlier).or(Some(as_of));
        }
        let mut person = Person::new(record);
        match prior {
            None => {
                if is_leaver {
                    events.push(leaver_event(&person, "status"));
                } else {
                    events.push(PersonEvent {
                        employee_id: person.record.employee_id.clone(),
                        kind: EventKind::Joined,
                        effective_at: as_of,
                        detail: json!({}),
                    });
                }
                if let Some(t) = person.record.role_changed_at.filter(|_| !is_leaver) {
                    person.moved_at = Some(t);
                    events.push(mover_event(
                        &person,
                        t,
                        json!({"reason": "role_changed_at"}),
                    ));
                }
            }
            Some(prior) => {
                person.moved_at = prior.moved_at;
                person.previous_department = prior.previous_department.clone();
                person.previous_title = prior.previous_title.clone();
                person.previous_manager = prior.previous_manager.clone();
                if is_leaver && !was_leaver {
                    events.push(leaver_event(&person, "status"));
                } else if !is_leaver && was_leaver {
                    events.push(PersonEvent {
                        employee_id: person.record.employee_id.clone(),
                        kind: EventKind::Rejoined,
                        effective_at: as_of,
                        detail: json!({}),
                    });
                }
                if !is_leaver {
                    detect_move(prior, &mut person, as_of, &mut events);
                }
            }
        }
        people.push(person);
    }
    for prior in known.values() {
        if !prior.present || in_snapshot.contains(prior.employee_id()) {
            continue;
        }
        let mut gone = prior.clone();
        gone.present = false;
        if !prior.is_leaver(as_of) {
            gone.record.status = HrStatus::Leaver;
            gone.record.terminated_at = Some(as_of);
            events.push(leaver_event(&gone, "disappeared"));
        }
        people.push(gone);
    }
    SnapshotChanges { people, events }
}

fn leaver_event(person: &Person, reason: &str) -> PersonEvent {
    PersonEvent {
        employee_id: person.record.employee_id.clone(),
        kind: EventKind::Leaver,
        effective_at: person.record.terminated_at.unwrap_or_default(),
        detail: json!({ "reason": reason }),
    }
}

fn mover_event(person: &Person, at: DateTime<Utc>, detail: serde_json::Value) -> PersonEvent {
    PersonEvent {
        employee_id: person.record.employee_id.clone(),
        kind: EventKind::Mover,
        effective_at: at,
        detail,
    }
}

/// A field changed when it had a value before and now has a different one (a newly filled field is
/// not a move).
fn changed(before: &Option<String>, after: &Option<String>) -> bool {
    before.is_some() && before != after
}

fn detect_move(
    prior: &Person,
    person: &mut Person,
    as_of: DateTime<Utc>,
    events: &mut Vec<PersonEvent>,
) {
    let (b, a) = (&prior.record, &person.record);
    let dept = changed(&b.department, &a.department);
    let title = changed(&b.title, &a.title);
    let manager = changed(&b.manager, &a.manager);
    let new_date = a.role_changed_at.is_some() && a.role_changed_at != b.role_changed_at;
    if !(dept || title || manager || new_date) {
        return;
    }
    let at = a
        .role_changed_at
        .filter(|_| new_date || dept || title || manager)
        .unwrap_or(as_of);
    let detail = json!({
        "department": {"from": b.department, "to": a.department},
        "title": {"from": b.title, "to": a.title},
        "manager": {"from": b.manager, "to": a.manager},
    });
    if dept || title || manager {
        person.previous_department = b.department.clone();
        person.previous_title = b.title.clone();
        person.previous_manager = b.manager.clone();
    }
    person.moved_at = Some(at);
    events.push(mover_event(person, at, detail));
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn record(id: &str, dept: &str) -> PersonRecord {
        PersonRecord {
            employee_id: id.into(),
            email: format!("{id}@example.com"),
            name: None,
            status: HrStatus::Active,
            terminated_at: None,
            department: Some(dept.into()),
            title: None,
            manager: None,
            aliases: vec![],
            github_login: None,
            gitlab_user: None,
            aws_user: None,
            role_changed_at: None,
            attributes: BTreeMap::new(),
        }
    }

    fn t(s: &str) -> DateTime<Utc> {
        residual_scanners::time::parse_time(s).unwrap()
    }

    #[test]
    fn a_person_missing_from_the_next_snapshot_is_a_leaver_as_of_it() {
        let first = apply_snapshot(
            &HashMap::new(),
            vec![record("E1", "eng"), record("E2", "eng")],
            t("2026-01-01"),
        );
        let known: HashMap<_, _> = first
            .people
            .into_iter()
            .map(|p| (p.record.employee_id.clone(), p))
            .collect();
        let second = apply_snapshot(&known, vec![record("E1", "eng")], t("2026-02-01"));
        let gone = second
            .people
            .iter()
            .find(|p| p.employee_id() == "E2")
            .unwrap();
        assert!(!gone.present);
        assert_eq!(gone.departed_at(), Some(t("2026-02-01")));
        assert!(second
            .events
            .iter()
            .any(|e| e.kind == EventKind::Leaver && e.employee_id == "E2"));
    }

    #[test]
    fn a_changed_department_is_a_move_with_the_previous_department_kept() {
        let first = apply_snapshot(&HashMap::new(), vec![record("E1", "eng")], t("2026-01-01"));
        let known: HashMap<_, _> = first
            .people
            .into_iter()
            .map(|p| (p.record.employee_id.clone(), p))
            .collect();
        let second = apply_snapshot(&known, vec![record("E1", "finance")], t("2026-02-01"));
        let p = &second.people[0];
        assert_eq!(p.moved_at, Some(t("2026-02-01")));
        assert_eq!(p.previous_department.as_deref(), Some("eng"));
    }

    fn known_of(records: Vec<PersonRecord>, as_of: &str) -> HashMap<String, Person> {
        apply_snapshot(&HashMap::new(), records, t(as_of))
            .people
            .into_iter()
            .map(|p| (p.record.employee_id.clone(), p))
            .collect()
    }

    #[test]
    fn the_departure_limit_is_a_tenth_of_the_employed_and_at_least_five() {
        let hundred: Vec<_> = (0..100).map(|i| record(&format!("E{i}"), "eng")).collect();
        assert_eq!(
            departure_limit(&known_of(hundred, "2026-01-01"), None, t("2026-02-01")),
            10
        );
        let few: Vec<_> = (0..12).map(|i| record(&format!("E{i}"), "eng")).collect();
        assert_eq!(
            departure_limit(&known_of(few.clone(), "2026-01-01"), None, t("2026-02-01")),
            5
        );
        assert_eq!(
            departure_limit(&known_of(few, "2026-01-01"), Some(2), t("2026-02-01")),
            2
        );
    }

    #[test]
    fn a_truncated_export_counts_every_missing_person_as_a_departure() {
        let all: Vec<_> = (0..20).map(|i| record(&format!("E{i}"), "eng")).collect();
        let known = known_of(all.clone(), "2026-01-01");
        let truncated = apply_snapshot(&known, all[..5].to_vec(), t("2026-02-01"));
        assert_eq!(departures(&known, &truncated, t("2026-02-01")), 15);
        let first = apply_snapshot(&HashMap::new(), all, t("2026-01-01"));
        assert_eq!(departures(&HashMap::new(), &first, t("2026-01-01")), 0);
    }
}
