//! Incremental repository runs: an incremental scan reads only objects no earlier run read, so
//! it is made complete by adding the previous complete run's history observations — a run that
//! reads nothing new still proves every earlier finding is still there, and only a full run
//! (`--full`) can drop a secret that left history. What the repository's files say (CODEOWNERS)
//! is read again in full by every run and never carried over.

use super::Result;
use crate::store::{git as git_store, observations, Store, StoreError};
use residual_scanners::git::{GitScan, Oid};
use residual_scanners::{Account, Observations, RunStatus};
use std::collections::HashSet;

/// Completes an incremental `scan` with the previous complete run's observations; without one
/// (pruned, or never stored) the run is partial: only a full run is complete then.
pub fn complete(store: &Store, scan: &mut GitScan) -> Result<()> {
    if !scan.incremental {
        return Ok(());
    }
    match observations::latest_complete(store.conn(), &scan.report.system)? {
        Some(previous) => merge(&mut scan.report.observations, previous),
        None => {
            scan.report.status = RunStatus::Partial;
            scan.report.errors.push(
                "incremental run without a previous complete run to add to; run with --full".into(),
            );
        }
    }
    Ok(())
}

/// Adds what the previous complete run saw in history to an incremental run's observations.
fn merge(new: &mut Observations, previous: Observations) {
    let mut accounts: HashSet<String> = new.accounts.iter().map(|a| a.name.clone()).collect();
    for a in previous.accounts {
        if !from_repository_files(&a) && accounts.insert(a.name.clone()) {
            new.accounts.push(a);
        }
    }
    let mut creds: HashSet<String> = new.credentials.iter().map(|c| c.id.clone()).collect();
    for c in previous.credentials {
        if creds.insert(c.id.clone()) {
            new.credentials.push(c);
        }
    }
    // History yields no grants: a repository's grants come from its CODEOWNERS, read again in
    // full by this run.
}

/// An account named by a file of the working tree (CODEOWNERS), not by a commit: such accounts
/// carry the file as `source`, commit authors never do.
fn from_repository_files(a: &Account) -> bool {
    a.attributes.contains_key("source")
}

/// Remembers the objects a complete run read; a full run forgets what earlier runs read first.
pub fn remember(
    store: &mut Store,
    system: &str,
    commits: &[Oid],
    blobs: &[Oid],
    full: bool,
) -> Result<()> {
    let tx = store.transaction()?;
    if full {
        git_store::forget(&tx, system)?;
    }
    git_store::remember(&tx, system, commits, blobs)?;
    tx.commit().map_err(StoreError::from)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use residual_scanners::{AccountKind, Grant, GrantKind};
    use std::collections::BTreeMap;

    fn account(name: &str, attribute: &str) -> Account {
        Account {
            name: name.into(),
            kind: AccountKind::User,
            enabled: None,
            created_at: None,
            last_used_at: None,
            hints: Default::default(),
            attributes: BTreeMap::from([(attribute.to_string(), "x".to_string())]),
        }
    }

    #[test]
    fn codeowners_of_an_earlier_run_are_not_carried_into_an_incremental_one() {
        let mut new = Observations {
            accounts: vec![account("ben-gh", "source")],
            ..Observations::default()
        };
        let previous = Observations {
            accounts: vec![
                account("ann@example.com", "commits"),
                account("ann-gh", "source"),
            ],
            credentials: Vec::new(),
            grants: vec![Grant {
                account: "ann-gh".into(),
                kind: GrantKind::Collaborator,
                target: "payments/.github/CODEOWNERS".into(),
                attributes: BTreeMap::new(),
                facets: Default::default(),
            }],
        };
        merge(&mut new, previous);
        let names: Vec<&str> = new.accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["ben-gh", "ann@example.com"]);
        assert!(new.grants.is_empty());
    }
}
