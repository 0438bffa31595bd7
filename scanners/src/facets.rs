//! Typed facets: the facts about a credential or a grant that the core decides on — a found
//! secret (pattern, key id, where it was committed), a CI variable (store, scope, masking), a
//! verification verdict, a CODEOWNERS entry — carried as types instead of string attributes.
//!
//! Why: the attributes were the contract between the crates; rules, verification and the gate
//! read and wrote ~a dozen string keys (`"key_id"`, `"verified"`, `"codeowner" = "true"`), so a
//! renamed key or a `"True"` broke a rule without a compiler error. Scanners now fill these
//! facets, the core reads them, and the attributes are for display only: evidence and outputs
//! keep showing the same keys, byte for byte, because scanners still write them beside the facet
//! (and [`Verification::display_into`] writes the verdict's).
//!
//! Where only the display form exists — a rule file's examples, content a store wrote before
//! facets were stored — the facets are read back from it ([`CredentialFacets::from_attributes`],
//! [`GrantFacets::from_attributes`]), the same keys scanners have always written.
//!
//! The serialised form of these types is what the store keeps (`f` of an observation's content):
//! renaming a field needs a migration or a `serde(alias)`.

use crate::time::{format_time, parse_time};
use crate::{CredentialKind, GrantKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The typed facts of a credential; each `None` when it does not apply. Boxed: most
/// credentials (an IAM sweep's keys, an export's rows) carry none, and an empty set costs three
/// words, not the few hundred bytes of the facts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialFacets {
    /// A secret a pattern recognised: in a repository (a `SecretInCode` credential) or inside a
    /// CI variable's value (a `CiVariable` credential whose value matched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Box<FoundSecret>>,
    /// What a CI variable or secret is, for `CiVariable` credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_variable: Option<Box<CiVariable>>,
    /// `--verify`'s verdict on a found secret, set by the core after the scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Box<Verification>>,
}

/// A secret a pattern recognised. Never its value: the credential's id is its keyed fingerprint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundSecret {
    /// The secret pattern's stable id (`aws-access-key-id`, `github-pat`, …); empty only when a
    /// hand-written observation (a rule example) names none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pattern_id: String,
    /// A non-secret identifier the pattern captured (an AWS access key id), by which other
    /// scanners' sightings of the same credential are found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Where in a repository it was first found; `None` for a CI variable's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// Where a secret sits in a repository: the commit that introduced it (none for the index or
/// working tree), the file and the line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}

/// A CI variable or secret: where it lives and how it is protected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CiVariable {
    /// The secret store: `actions`, `dependabot`, `codespaces`, `actions-variable`, `gitlab-ci`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub store: String,
    /// Where it is readable: GitHub `org`, `repo:<owner/repo>`, `env:<owner/repo>:<env>`;
    /// GitLab the pseudo-account (`group:<path>`, `project:<path>`, `instance`). Empty when the
    /// system did not say.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// The repositories an org secret of visibility `selected` reaches; `None` when all may.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repositories: Option<Vec<String>>,
    /// When its value last changed, as the system says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
    /// GitLab: masked in job logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masked: Option<bool>,
    /// GitLab: hidden (masked and never shown again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<bool>,
    /// GitLab: only protected branches and tags read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
}

/// What a provider answered about a found secret (read-only; `--verify`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    pub verdict: VerdictKind,
    /// `aws`, `github`, `slack`.
    pub provider: String,
    /// Whom a live secret acts as: an IAM principal ARN, a GitHub login, a Slack user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Why a secret is revoked or could not be checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When it was checked; `None` only when a hand-written observation leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_at: Option<DateTime<Utc>>,
}

/// A verification verdict: an error is unknown, never revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictKind {
    Live,
    Revoked,
    Error,
}

impl VerdictKind {
    /// `live`, `revoked`, `error`: the word outputs and attributes show.
    pub fn as_str(self) -> &'static str {
        match self {
            VerdictKind::Live => "live",
            VerdictKind::Revoked => "revoked",
            VerdictKind::Error => "error",
        }
    }

    fn parse(s: &str) -> Option<VerdictKind> {
        match s {
            "live" => Some(VerdictKind::Live),
            "revoked" => Some(VerdictKind::Revoked),
            "error" => Some(VerdictKind::Error),
            _ => None,
        }
    }

    /// What the verdict says about liveness: live, dead, or unknown (an error).
    pub fn live(self) -> Option<bool> {
        match self {
            VerdictKind::Live => Some(true),
            VerdictKind::Revoked => Some(false),
            VerdictKind::Error => None,
        }
    }
}

impl Verification {
    /// Writes the verdict's display attributes (`verified`, `verified_provider`, `verified_at`,
    /// and `verified_owner` or `verified_reason`), the keys evidence has always shown.
    pub fn display_into(&self, a: &mut BTreeMap<String, String>) {
        a.insert("verified".into(), self.verdict.as_str().into());
        a.insert("verified_provider".into(), self.provider.clone());
        if let Some(at) = &self.checked_at {
            a.insert("verified_at".into(), format_time(at));
        }
        if let Some(owner) = &self.owner {
            a.insert("verified_owner".into(), owner.clone());
        }
        if let Some(reason) = &self.reason {
            a.insert("verified_reason".into(), reason.clone());
        }
    }
}

/// The typed facts of a grant; boxed, as a million-row export's grants carry none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantFacets {
    /// A CODEOWNERS entry: the grant is a review duty, not write access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codeowner: Option<Box<CodeOwner>>,
}

/// The lines of one CODEOWNERS file that name one owner.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeOwner {
    /// The repository (`owner/name` on a code host, the directory's name for a local one).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub repo: String,
    /// The CODEOWNERS file (`.github/CODEOWNERS`, `CODEOWNERS`, `docs/CODEOWNERS`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub file: String,
    /// The patterns naming the owner, in file order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<String>,
    /// Their 1-based line numbers, in file order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<u64>,
}

impl CredentialFacets {
    pub fn is_empty(&self) -> bool {
        self.secret.is_none() && self.ci_variable.is_none() && self.verification.is_none()
    }

    /// The facets a credential of `kind` with display attributes `a` carries, read from the
    /// keys scanners have always written: for observations that exist only in that form (rule
    /// examples, content stored before facets were).
    pub fn from_attributes(kind: CredentialKind, a: &BTreeMap<String, String>) -> CredentialFacets {
        let get = |k: &str| a.get(k).map(String::as_str);
        let in_code = kind == CredentialKind::SecretInCode;
        let in_ci = kind == CredentialKind::CiVariable;
        let secret = ((in_code || in_ci)
            && (a.contains_key("pattern_id") || a.contains_key("key_id")))
        .then(|| FoundSecret {
            pattern_id: get("pattern_id").unwrap_or_default().to_string(),
            key_id: get("key_id").map(str::to_string),
            provenance: in_code.then(|| Provenance {
                commit: get("commit").map(str::to_string),
                path: get("path").map(str::to_string),
                line: get("line").and_then(|l| l.parse().ok()),
            }),
        });
        let bool_of = |k: &str| get(k).and_then(|v| v.parse::<bool>().ok());
        let ci_variable = in_ci.then(|| CiVariable {
            store: get("store").unwrap_or_default().to_string(),
            scope: get("scope").unwrap_or_default().to_string(),
            repositories: get("repositories").map(|r| {
                r.split(',')
                    .filter(|r| !r.is_empty())
                    .map(str::to_string)
                    .collect()
            }),
            updated_at: get("updated_at").and_then(|t| parse_time(t).ok()),
            masked: bool_of("masked"),
            hidden: bool_of("hidden"),
            protected: bool_of("protected"),
        });
        // A deploy key's `verified` is GitHub's own flag, not a verdict: only found secrets
        // are verified.
        let verification = in_code
            .then(|| {
                Some(Verification {
                    verdict: VerdictKind::parse(get("verified")?)?,
                    provider: get("verified_provider").unwrap_or_default().to_string(),
                    owner: get("verified_owner").map(str::to_string),
                    reason: get("verified_reason").map(str::to_string),
                    checked_at: get("verified_at").and_then(|t| parse_time(t).ok()),
                })
            })
            .flatten();
        CredentialFacets {
            secret: secret.map(Box::new),
            ci_variable: ci_variable.map(Box::new),
            verification: verification.map(Box::new),
        }
    }
}

impl GrantFacets {
    pub fn is_empty(&self) -> bool {
        self.codeowner.is_none()
    }

    /// The facets a grant of `kind` with display attributes `a` carries (see
    /// [`CredentialFacets::from_attributes`]).
    pub fn from_attributes(kind: GrantKind, a: &BTreeMap<String, String>) -> GrantFacets {
        let get = |k: &str| a.get(k).map(String::as_str);
        let codeowner =
            (kind == GrantKind::Collaborator && get("codeowner") == Some("true")).then(|| {
                CodeOwner {
                    repo: get("repo").unwrap_or_default().to_string(),
                    file: get("file").unwrap_or_default().to_string(),
                    patterns: get("pattern")
                        .map(|p| p.split(' ').map(str::to_string).collect())
                        .unwrap_or_default(),
                    lines: get("lines")
                        .map(|l| l.split(',').filter_map(|n| n.parse().ok()).collect())
                        .unwrap_or_default(),
                }
            });
        GrantFacets {
            codeowner: codeowner.map(Box::new),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_verdict_shows_the_attributes_evidence_always_showed() {
        let v = Verification {
            verdict: VerdictKind::Live,
            provider: "aws".into(),
            owner: Some("arn:aws:iam::1:user/ann".into()),
            reason: None,
            checked_at: Some(parse_time("2026-05-01T10:00:00Z").expect("time")),
        };
        let mut a = BTreeMap::new();
        v.display_into(&mut a);
        assert_eq!(
            a,
            attrs(&[
                ("verified", "live"),
                ("verified_at", "2026-05-01T10:00:00Z"),
                ("verified_owner", "arn:aws:iam::1:user/ann"),
                ("verified_provider", "aws"),
            ])
        );
        let back = CredentialFacets::from_attributes(CredentialKind::SecretInCode, &a);
        assert_eq!(back.verification, Some(Box::new(v)));
    }

    #[test]
    fn a_deploy_keys_verified_flag_is_not_a_verdict() {
        let a = attrs(&[("verified", "true"), ("repo", "o/r")]);
        let f = CredentialFacets::from_attributes(CredentialKind::DeployKey, &a);
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn codeowner_attributes_read_back_as_the_entry() {
        let a = attrs(&[
            ("codeowner", "true"),
            ("repo", "acme/api"),
            ("file", ".github/CODEOWNERS"),
            ("pattern", "/infra/ *.tf"),
            ("lines", "3,7"),
        ]);
        let f = GrantFacets::from_attributes(GrantKind::Collaborator, &a);
        assert_eq!(
            f.codeowner.as_deref(),
            Some(&CodeOwner {
                repo: "acme/api".into(),
                file: ".github/CODEOWNERS".into(),
                patterns: vec!["/infra/".into(), "*.tf".into()],
                lines: vec![3, 7],
            })
        );
        let plain = attrs(&[("permission", "write")]);
        assert!(GrantFacets::from_attributes(GrantKind::Collaborator, &plain).is_empty());
    }
}
