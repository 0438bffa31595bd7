//! A person's current state across snapshots: their latest HR record, whether they are still in
//! the HR export, and the mover facts (`moved_at`, the previous department/title/manager).

use crate::hr::{HrStatus, PersonRecord};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One person as the store knows them now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Person {
    #[serde(flatten)]
    pub record: PersonRecord,
    /// False once the person disappeared from the HR export (a leaver as of that snapshot).
    pub present: bool,
    pub moved_at: Option<DateTime<Utc>>,
    pub previous_department: Option<String>,
    pub previous_title: Option<String>,
    pub previous_manager: Option<String>,
}

impl Person {
    pub fn new(record: PersonRecord) -> Person {
        Person {
            record,
            present: true,
            moved_at: None,
            previous_department: None,
            previous_title: None,
            previous_manager: None,
        }
    }

    pub fn employee_id(&self) -> &str {
        &self.record.employee_id
    }

    /// A leaver at `now`: HR says so, the termination date has passed, or HR dropped the person.
    pub fn is_leaver(&self, now: DateTime<Utc>) -> bool {
        !self.present || self.record.is_leaver_at(now)
    }

    /// When access should have ended; set for every leaver by the snapshot diff.
    pub fn departed_at(&self) -> Option<DateTime<Utc>> {
        self.record.terminated_at
    }

    /// A mover: still employed, with a recorded role change.
    pub fn is_mover(&self, now: DateTime<Utc>) -> bool {
        self.moved_at.is_some() && !self.is_leaver(now)
    }

    /// `active` or `leaver`, as `hr people` shows it.
    pub fn status_at(&self, now: DateTime<Utc>) -> HrStatus {
        if self.is_leaver(now) {
            HrStatus::Leaver
        } else {
            HrStatus::Active
        }
    }

    /// Every email the person is known by, primary first, lower-cased.
    pub fn emails(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.record.email.as_str())
            .chain(self.record.aliases.iter().map(String::as_str))
    }
}
