//! What the code-host scanners (GitHub, GitLab) share: a sweep assembled from [`Part`]s, each
//! reading whole REST lists and decoding them item by item, and the attribute and pseudo-account
//! shapes their observations use.
//!
//! A list that cannot be read, or an item that cannot be decoded, is recorded in the part's
//! errors (the run becomes partial) and the sweep goes on: what was read is real.

use crate::coverage::{Miss, MissClass};
use crate::rest::RestClient;
use crate::{Account, AccountKind, Credential, Grant, IdentityHints};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// What one part of a sweep found and what it could not read.
#[derive(Default)]
pub(crate) struct Part {
    pub(crate) accounts: Vec<Account>,
    pub(crate) credentials: Vec<Credential>,
    pub(crate) grants: Vec<Grant>,
    /// Parts of the scope that could not be read and no unit is named for: the run is partial
    /// and vouches for nothing (see [`crate::coverage::EVERYTHING`]).
    pub(crate) errors: Vec<String>,
    /// Units that could not be read, with why: the run is partial, the rest is vouched for.
    pub(crate) misses: Vec<Miss>,
    /// Warnings that do not make the run partial.
    pub(crate) notes: Vec<String>,
}

impl Part {
    pub(crate) fn merge(&mut self, other: Part) {
        self.accounts.extend(other.accounts);
        self.credentials.extend(other.credentials);
        self.grants.extend(other.grants);
        self.errors.extend(other.errors);
        self.misses.extend(other.misses);
        self.notes.extend(other.notes);
    }

    /// Reads a whole list (all pages; `key` names the array in a wrapped answer), decoding item
    /// by item. A list that cannot be read is recorded and gives `None`; an item that cannot be
    /// decoded is recorded and skipped.
    pub(crate) async fn list<T: DeserializeOwned>(
        &mut self,
        rest: &RestClient,
        route: &str,
        key: Option<&str>,
    ) -> Option<Vec<T>> {
        match rest.get_all(route, key).await {
            Ok(items) => Some(self.decode(route, items)),
            Err(e) => {
                self.errors.push(e.to_string());
                None
            }
        }
    }

    /// [`Part::list`] for a list that is one coverage unit: a list that cannot be read, or an
    /// item that cannot be decoded, misses `unit` (a 401/403 as a denial naming the route) instead
    /// of the whole run.
    pub(crate) async fn list_unit<T: DeserializeOwned>(
        &mut self,
        unit: &str,
        rest: &RestClient,
        route: &str,
        key: Option<&str>,
    ) -> Option<Vec<T>> {
        match rest.get_all(route, key).await {
            Ok(items) => {
                let before = self.errors.len();
                let decoded = self.decode(route, items);
                for e in self.errors.drain(before..).collect::<Vec<_>>() {
                    self.misses.push(Miss::new(unit, MissClass::Error, e));
                }
                Some(decoded)
            }
            Err(e) => {
                let class = MissClass::of_http(e.status(), &format!("read access to GET {route}"));
                self.misses.push(Miss::new(unit, class, e.to_string()));
                None
            }
        }
    }

    fn decode<T: DeserializeOwned>(
        &mut self,
        route: &str,
        items: Vec<serde_json::Value>,
    ) -> Vec<T> {
        items
            .into_iter()
            .enumerate()
            .filter_map(|(i, v)| match serde_json::from_value(v) {
                Ok(t) => Some(t),
                Err(e) => {
                    self.errors
                        .push(format!("{route}: item {i} skipped, unreadable: {e}"));
                    None
                }
            })
            .collect()
    }
}

/// Attribute maps from literal pairs; empty values are left out.
pub(crate) fn attrs<const N: usize>(pairs: [(&str, String); N]) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// A pseudo-account (org, repository, group, project, instance) that holds secrets and
/// variables: non-human, marked `pseudo=true` so the core can tell it from an identity.
pub(crate) fn pseudo_account(name: &str, scope: &str) -> Account {
    Account {
        name: name.to_string(),
        kind: AccountKind::Service,
        enabled: Some(true),
        created_at: None,
        last_used_at: None,
        hints: IdentityHints::default(),
        attributes: attrs([("pseudo", "true".into()), ("scope", scope.to_string())]),
    }
}
