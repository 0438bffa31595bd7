//! Evidence of the rules a large run raises most (a leaver's account and login, an owned
//! non-human identity, an orphan account), written straight to JSON text from borrowed rows
//! instead of built as a `serde_json::Value` tree first: a million-account export raises
//! hundreds of thousands of these, and the tree cost a dozen allocations each.
//!
//! The text must stay byte for byte what the tree gave, since a finding's stored evidence is
//! compared with its next run's: a tree's object keys come out sorted, so each struct here
//! declares its fields in that order, and an absent value is written as `null` as the tree did.

use crate::link::Link;
use crate::person::Person;
use chrono::{DateTime, Utc};
use residual_scanners::time::format_time;
use residual_scanners::{Account, IdentityHints};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;

/// A time as evidence shows it (RFC 3339, seconds), or `null`.
#[derive(Clone, Copy)]
pub(super) struct Time(pub(super) Option<DateTime<Utc>>);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(t) => s.serialize_str(&format_time(t)),
            None => s.serialize_none(),
        }
    }
}

/// How a person was linked, as evidence shows it.
#[derive(Serialize, Clone, Copy)]
pub(super) struct LinkEvidence {
    confidence: f64,
    method: &'static str,
}

/// The person a finding is about (see `super::person_evidence`, its tree form).
#[derive(Serialize, Clone, Copy)]
pub(super) struct PersonEvidence<'a> {
    departed_at: Time,
    email: &'a str,
    employee_id: &'a str,
    link: LinkEvidence,
    status: &'static str,
}

impl<'a> PersonEvidence<'a> {
    pub(super) fn new(p: &'a Person, link: &Link, now: DateTime<Utc>) -> PersonEvidence<'a> {
        PersonEvidence {
            departed_at: Time(p.departed_at()),
            email: &p.record.email,
            employee_id: p.employee_id(),
            link: LinkEvidence {
                confidence: link.confidence,
                method: link.method.as_str(),
            },
            status: p.status_at(now).as_str(),
        }
    }
}

/// An account (see `super::account_evidence`, its tree form).
#[derive(Serialize)]
pub(super) struct AccountEvidence<'a> {
    attributes: &'a BTreeMap<String, String>,
    created_at: Time,
    enabled: Option<bool>,
    kind: &'static str,
    last_used_at: Time,
    name: &'a str,
}

impl<'a> AccountEvidence<'a> {
    pub(super) fn new(a: &'a Account) -> AccountEvidence<'a> {
        AccountEvidence {
            attributes: &a.attributes,
            created_at: Time(a.created_at),
            enabled: a.enabled,
            kind: a.kind.as_str(),
            last_used_at: Time(a.last_used_at),
            name: &a.name,
        }
    }
}

/// An account's identity hints, keys in sorted order (the struct's own order differs), absent
/// ones left out as the struct's serialisation leaves them out.
#[derive(Serialize)]
pub(super) struct HintsEvidence<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    created_by: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    emails: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    employee_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
}

impl<'a> HintsEvidence<'a> {
    pub(super) fn new(h: &'a IdentityHints) -> HintsEvidence<'a> {
        HintsEvidence {
            created_by: h.created_by.as_deref(),
            emails: &h.emails,
            employee_id: h.employee_id.as_deref(),
            owner: h.owner.as_deref(),
        }
    }
}

/// `leaver-active-account`.
#[derive(Serialize)]
pub(super) struct LeaverAccount<'a> {
    pub(super) account: AccountEvidence<'a>,
    pub(super) person: PersonEvidence<'a>,
}

/// `orphan-account`.
#[derive(Serialize)]
pub(super) struct Orphan<'a> {
    pub(super) account: AccountEvidence<'a>,
    pub(super) hints: HintsEvidence<'a>,
    pub(super) reason: &'static str,
}

/// `credential-used-after-departure` of an account's login.
#[derive(Serialize)]
pub(super) struct LoginUsed<'a, P: Serialize> {
    pub(super) account: AccountEvidence<'a>,
    pub(super) departed_at: Time,
    pub(super) person: &'a P,
    pub(super) used_at: Time,
}

/// `leaver-owned-nhi`.
#[derive(Serialize)]
pub(super) struct OwnedNhi<'a, C: Serialize> {
    pub(super) account: AccountEvidence<'a>,
    pub(super) credentials_to_rotate: Vec<C>,
    pub(super) note: &'static str,
    pub(super) owner: PersonEvidence<'a>,
}
