//! Turning a scan into observations: authors become accounts, secrets become credentials.
//!
//! - One [`Account`] per commit author email after `.mailmap`, lowercased,
//!   kind `user`, with the names used, the commit count, first and last author time, and the
//!   emails `.mailmap` folded into it.
//! - One [`Credential`] per secret fingerprint (kind `secret-in-code`, id = fingerprint), owned by
//!   the author of the earliest commit that introduced a blob holding it. It is `active`: whether
//!   it still works is decided later, from other scanners or verification. Suppressed matches are
//!   not observations. A secret seen only outside history (index, working tree, a blob a tag
//!   points at) has no author: its `account` is empty and `origin` says where it was.

use super::history::Author;
use super::{Hit, Origin, Provenance as Sighting};
use crate::facets::{CredentialFacets, FoundSecret, Provenance};
use crate::{
    Account, AccountKind, Credential, CredentialKind, IdentityHints, Observations, RunStatus,
    ScanReport,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};

/// What [`build`] needs.
pub(crate) struct Input<'a> {
    pub system: String,
    /// See [`ScanReport::input_digest`].
    pub input_digest: Option<String>,
    pub started_at: DateTime<Utc>,
    /// What history could not be read (objects missing outside a shallow clone).
    pub misses: Vec<crate::coverage::Miss>,
    pub authors: &'a [Author],
    pub hits: &'a [Hit],
    pub calls: u64,
}

/// Builds the scan report of one run.
pub(crate) fn build(input: Input<'_>) -> ScanReport {
    let accounts = input.authors.iter().map(account).collect();
    let mut report = ScanReport {
        scanner: "git".to_string(),
        system: input.system,
        input_digest: input.input_digest,
        status: RunStatus::Complete,
        started_at: input.started_at,
        finished_at: Utc::now(),
        observations: Observations {
            accounts,
            credentials: credentials(input.hits),
            grants: Vec::new(),
        },
        errors: Vec::new(),
        coverage: Vec::new(),
        calls: input.calls,
    };
    report.settle(&[HISTORY.to_string(), WORKTREE.to_string()], input.misses);
    report
}

/// The unit of what commits hold (their authors and the secrets they introduced).
pub const HISTORY: &str = "history";
/// The unit of what only the checked-out tree holds (CODEOWNERS, secrets outside commits).
pub const WORKTREE: &str = "worktree";

fn time(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}

fn account(author: &Author) -> Account {
    let mut attributes = BTreeMap::new();
    attributes.insert(
        "author_names".to_string(),
        author.names.iter().cloned().collect::<Vec<_>>().join("; "),
    );
    attributes.insert("commits".to_string(), author.commits.to_string());
    if !author.aliases.is_empty() {
        attributes.insert(
            "mailmap_aliases".to_string(),
            author
                .aliases
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    let mut emails = vec![author.email.clone()];
    emails.extend(author.aliases.iter().cloned());
    Account {
        name: author.email.clone(),
        kind: AccountKind::User,
        enabled: None,
        created_at: time(author.first),
        last_used_at: time(author.last),
        hints: IdentityHints {
            emails,
            ..IdentityHints::default()
        },
        attributes,
    }
}

/// Sort key of a provenance: commits by author time first, then everything else.
fn earliest(p: &Sighting) -> (u8, Option<DateTime<Utc>>) {
    match &p.origin {
        Origin::Commit(c) => (0, Some(c.time)),
        Origin::Reference { .. } => (1, None),
        Origin::Index => (2, None),
        Origin::WorkingTree => (3, None),
    }
}

fn credentials(hits: &[Hit]) -> Vec<Credential> {
    credentials_where(hits, false)
}

/// The secrets an inline `residual:allow` suppressed, as the credentials they would have been,
/// each with a `suppressed` attribute giving the reason. The gate evaluates them to report what
/// a suppression hides (SARIF `suppressions`) without letting it block.
pub(crate) fn suppressed_credentials(hits: &[Hit]) -> Vec<Credential> {
    credentials_where(hits, true)
}

fn credentials_where(hits: &[Hit], suppressed: bool) -> Vec<Credential> {
    let mut by_fingerprint: HashMap<&str, Vec<&Hit>> = HashMap::new();
    for hit in hits
        .iter()
        .filter(|h| h.secret.suppressed.is_some() == suppressed)
    {
        by_fingerprint
            .entry(hit.secret.fingerprint.as_str())
            .or_default()
            .push(hit);
    }
    let mut out: Vec<Credential> = by_fingerprint
        .into_iter()
        .filter_map(|(fingerprint, hits)| credential(fingerprint, &hits))
        .collect();
    out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    out
}

fn credential(fingerprint: &str, hits: &[&Hit]) -> Option<Credential> {
    let (hit, first) = hits
        .iter()
        .flat_map(|h| h.provenance.iter().map(move |p| (*h, p)))
        .min_by_key(|(_, p)| earliest(p))?;
    let mut attributes = BTreeMap::new();
    attributes.insert("pattern_id".to_string(), hit.secret.pattern_id.clone());
    attributes.insert("preview".to_string(), hit.secret.preview.clone());
    attributes.insert("line".to_string(), hit.secret.line.to_string());
    attributes.insert("blob".to_string(), hit.blob.to_hex());
    if let Some(path) = &first.path {
        attributes.insert("path".to_string(), path.clone());
    }
    if let Some(key_id) = &hit.secret.identifier {
        attributes.insert("key_id".to_string(), key_id.clone());
    }
    if let Some(reason) = &hit.secret.suppressed {
        attributes.insert("suppressed".to_string(), reason.clone());
    }
    let occurrences: usize = hits.iter().map(|h| h.provenance.len().max(1)).sum();
    attributes.insert("occurrences".to_string(), occurrences.to_string());
    let mut provenance = Provenance {
        commit: None,
        path: first.path.clone(),
        line: Some(hit.secret.line as u64),
    };
    let (account, created_at) = match &first.origin {
        Origin::Commit(commit) => {
            provenance.commit = Some(commit.id.to_hex());
            attributes.insert("commit".to_string(), commit.id.to_hex());
            attributes.insert("author_name".to_string(), commit.author_name.clone());
            if let Some(original) = &commit.original_email {
                attributes.insert("author_email_in_commit".to_string(), original.clone());
            }
            (commit.account.clone(), Some(commit.time))
        }
        Origin::Reference { name } => {
            attributes.insert("origin".to_string(), "reference".to_string());
            attributes.insert("reference".to_string(), name.clone());
            (String::new(), None)
        }
        Origin::Index => {
            attributes.insert("origin".to_string(), "index".to_string());
            (String::new(), None)
        }
        Origin::WorkingTree => {
            attributes.insert("origin".to_string(), "working-tree".to_string());
            (String::new(), None)
        }
    };
    Some(Credential {
        hints: IdentityHints {
            created_by: (!account.is_empty()).then(|| account.clone()),
            ..IdentityHints::default()
        },
        account,
        kind: CredentialKind::SecretInCode,
        id: fingerprint.to_string(),
        active: true,
        created_at,
        last_used_at: None,
        attributes,
        facets: CredentialFacets {
            secret: Some(Box::new(FoundSecret {
                pattern_id: hit.secret.pattern_id.clone(),
                key_id: hit.secret.identifier.clone(),
                provenance: Some(provenance),
            })),
            ..CredentialFacets::default()
        },
    })
}
