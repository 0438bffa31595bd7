//! Sweep units: the configured scanners cut into independent jobs, one scan run each — one AWS
//! account of an aws-iam entry (listed, or every account of `accounts = "organization"`), one
//! repository of a git entry, and one whole entry for everything else (a GitHub org, a GitLab
//! group, an export, an Identity Center instance, an IdP tenant).
//!
//! A unit's id is the system its run is filed under when it starts (`aws-iam:123456789012`,
//! `git:payments`, `github:acme`, `inventory:crm`): what `--unit ID` names, what a lease is
//! taken on, and what decides its share. (A unit is not a coverage unit: those are the parts of
//! one run, see `residual_scanners::coverage`.)
//!
//! Shares (`--shard K/N`): a unit belongs to share `K` (0-based) of `N` when the first eight
//! bytes of the SHA-256 of its id, read as a big-endian integer, are `K` modulo `N`. That depends
//! on the unit alone — not on the order of the configuration, not on which other units exist — so
//! N workers given the same `N` split the units without talking to each other, and adding an
//! account moves no other unit between shares. The price is balance: shares are only even on
//! average (with few units per share, one can hold twice another's).

use super::targets;
use super::{Error, Result};
use crate::config::{Config, ScannerConfig};
use residual_scanners::aws_iam::organization::{self, Organization};
use residual_scanners::aws_iam::AwsScanConfig;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// The scanner kinds a configuration entry may name.
pub const KINDS: [&str; 9] = [
    "inventory",
    "aws-iam",
    "aws",
    "aws-sso",
    "github",
    "gitlab",
    "git",
    "entra",
    "okta",
];

/// One sweep unit of a configured entry.
#[derive(Debug, Clone)]
pub struct Unit<'c> {
    /// The system its run is filed under when it starts.
    pub id: String,
    pub entry: &'c ScannerConfig,
    pub part: Part,
}

/// Which part of its entry a unit sweeps.
#[derive(Debug, Clone)]
pub enum Part {
    /// The whole entry (one org, one group, one export, one instance, one tenant).
    Entry,
    /// One listed AWS account of an aws-iam entry (or its only account).
    Account(Box<AwsScanConfig>),
    /// One account of an organisation, entered through the organisation's role.
    OrgAccount(Box<Organization>, String),
    /// An organisation whose accounts could not be listed: one failed run, as before units.
    Unlisted(String),
    /// One repository of a git entry (the path resolved against the configuration).
    Repository(PathBuf),
}

/// Which units a job sweeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    All,
    /// `--unit ID` (repeatable).
    Named(Vec<String>),
    /// `--shard K/N`: share `k` (0-based) of `n`.
    Share {
        k: u64,
        n: u64,
    },
}

impl Selection {
    /// Reads `K/N` (0 ≤ K < N).
    pub fn parse_share(s: &str) -> std::result::Result<Selection, String> {
        let bad = || {
            format!(
                "--shard {s}: expected K/N with 0 <= K < N (K is 0-based, as a Kubernetes \
                 indexed Job's JOB_COMPLETION_INDEX is)"
            )
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let k: u64 = k.trim().parse().map_err(|_| bad())?;
        let n: u64 = n.trim().parse().map_err(|_| bad())?;
        if n == 0 || k >= n {
            return Err(bad());
        }
        Ok(Selection::Share { k, n })
    }
}

/// The share (0 to `n - 1`) unit `id` belongs to among `n` (see the module comment).
pub fn share_of(id: &str, n: u64) -> u64 {
    let digest = Sha256::digest(id.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) % n.max(1)
}

/// The units of the configured entries `entries`, in configuration order. An organisation's
/// accounts are listed here (one `organizations:ListAccounts`); an organisation that cannot be
/// listed is one [`Part::Unlisted`] unit.
pub fn of_entries<'c>(config: &Config, entries: &[&'c ScannerConfig]) -> Result<Vec<Unit<'c>>> {
    let mut units = Vec::new();
    for &s in entries {
        if !KINDS.contains(&s.kind.as_str()) {
            return Err(Error::Input(format!(
                "scanner `{}`: unknown kind `{}` (known: {})",
                s.name,
                s.kind,
                KINDS.join(", ")
            )));
        }
        let unit = |id: String, part: Part| Unit { id, entry: s, part };
        match s.kind.as_str() {
            "git" => units.extend(s.paths.iter().map(|p| {
                let path = config.resolve(p);
                unit(
                    super::repository::system_name(&path, None),
                    Part::Repository(path),
                )
            })),
            "aws-iam" | "aws" => match targets::aws_organization_from_entry(s) {
                Some(org) => match organization::member_accounts_blocking(&org) {
                    Ok(accounts) => units.extend(accounts.into_iter().map(|a| {
                        unit(
                            organization::system_of(&a),
                            Part::OrgAccount(Box::new(org.clone()), a),
                        )
                    })),
                    Err(e) => units.push(unit(
                        format!("{}:organization", residual_scanners::aws_iam::SCANNER),
                        Part::Unlisted(e),
                    )),
                },
                None => units.extend(
                    targets::aws_from_entry(s)
                        .into_iter()
                        .map(|c| unit(c.tried_system(), Part::Account(Box::new(c)))),
                ),
            },
            _ => units.push(unit(entry_unit_id(s), Part::Entry)),
        }
    }
    Ok(units)
}

/// The id of a unit that is a whole entry: the system its run starts under.
fn entry_unit_id(s: &ScannerConfig) -> String {
    match s.kind.as_str() {
        "inventory" => format!("inventory:{}", s.system.as_deref().unwrap_or(&s.name)),
        "github" => format!("github:{}", s.org.as_deref().unwrap_or(&s.name)),
        "gitlab" => format!("gitlab:{}", s.group.as_deref().unwrap_or(&s.name)),
        "aws-sso" => format!("aws-sso:{}", s.instance_arn.as_deref().unwrap_or("default")),
        "entra" => targets::entra_from_entry(s).system(),
        _ => format!(
            "okta:{}",
            residual_scanners::okta::org_of(s.api_url.as_deref().unwrap_or(&s.name))
        ),
    }
}

/// The units `selection` picks out of `units`. A `--unit` that names no configured unit is an
/// input error that lists the ids.
pub fn select<'c>(units: Vec<Unit<'c>>, selection: &Selection) -> Result<Vec<Unit<'c>>> {
    match selection {
        Selection::All => Ok(units),
        Selection::Share { k, n } => Ok(units
            .into_iter()
            .filter(|u| share_of(&u.id, *n) == *k)
            .collect()),
        Selection::Named(ids) => {
            for id in ids {
                if !units.iter().any(|u| &u.id == id) {
                    let known: Vec<&str> = units.iter().map(|u| u.id.as_str()).collect();
                    return Err(Error::Input(format!(
                        "--unit {id}: no configured sweep unit has this id (units: {}; \
                         `residual scan --list-units` lists them)",
                        known.join(", ")
                    )));
                }
            }
            Ok(units.into_iter().filter(|u| ids.contains(&u.id)).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_is_k_of_n_and_depends_on_the_id_alone() {
        // Pinned: a unit must stay in its share across releases, or two workers of different
        // versions would both sweep it (or neither).
        assert_eq!(share_of("aws-iam:123456789012", 4), 1);
        assert_eq!(share_of("aws-iam:123456789012", 3), 0);
        assert_eq!(share_of("github:acme", 7), 5);
        let ids: Vec<String> = (0..400).map(|i| format!("aws-iam:{:012}", i)).collect();
        let mut counts = [0usize; 4];
        for id in &ids {
            counts[share_of(id, 4) as usize] += 1;
        }
        assert_eq!(counts.iter().sum::<usize>(), 400);
        assert!(counts.iter().all(|&c| c > 60), "{counts:?}");
    }

    #[test]
    fn a_share_is_parsed_zero_based() {
        assert_eq!(
            Selection::parse_share("2/3"),
            Ok(Selection::Share { k: 2, n: 3 })
        );
        assert!(Selection::parse_share("3/3").is_err());
        assert!(Selection::parse_share("1/0").is_err());
        assert!(Selection::parse_share("x").is_err());
    }
}
