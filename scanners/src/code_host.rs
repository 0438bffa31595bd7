//! What the code-host scanners (GitHub, GitLab) share: a sweep assembled from [`Part`]s, each
//! reading whole REST lists and decoding them item by item, and the attribute and pseudo-account
//! shapes their observations use.
//!
//! A list that cannot be read, or an item that cannot be decoded, is recorded in the part's
//! errors (the run becomes partial) and the sweep goes on: what was read is real.

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
    /// Parts of the scope that could not be read: the run is partial.
    pub(crate) errors: Vec<String>,
    /// Warnings that do not make the run partial.
    pub(crate) notes: Vec<String>,
}

impl Part {
    pub(crate) fn merge(&mut self, other: Part) {
        self.accounts.extend(other.accounts);
        self.credentials.extend(other.credentials);
        self.grants.extend(other.grants);
        self.errors.extend(other.errors);
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
