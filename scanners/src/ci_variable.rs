//! CI variables whose values the API returns (GitHub Actions variables, GitLab CI/CD variables):
//! the value is shown to a [`ValueMatcher`] (the secret patterns engine) and then dropped. What is
//! kept is the variable's identity and, per match, the pattern id, the keyed fingerprint and any
//! non-secret id the pattern captures (an AWS access key id, a token prefix) — never the value.

use crate::facets::{CiVariable, CredentialFacets, FoundSecret};
use crate::{Credential, CredentialKind, IdentityHints};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// One credential the matcher recognised inside a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueMatch {
    /// The secret pattern's stable id (`aws-access-key-id`, `github-pat`, …).
    pub pattern_id: String,
    /// A keyed fingerprint of the matched secret; stable across runs, useless to an attacker.
    pub fingerprint: String,
    /// A non-secret identifier the pattern captures (e.g. the access key id), if any.
    pub key_id: Option<String>,
}

/// Recognises credentials inside a CI variable's value. Implemented for any
/// `Fn(&str) -> Vec<(pattern id, fingerprint, Option<key id>)>`, so the secret patterns engine
/// can be passed as a closure.
pub trait ValueMatcher: Sync {
    /// The credentials found in `value`. Must not log or keep `value`.
    fn matches(&self, value: &str) -> Vec<ValueMatch>;
}

impl<F> ValueMatcher for F
where
    F: Fn(&str) -> Vec<(String, String, Option<String>)> + Sync,
{
    fn matches(&self, value: &str) -> Vec<ValueMatch> {
        self(value)
            .into_iter()
            .map(|(pattern_id, fingerprint, key_id)| ValueMatch {
                pattern_id,
                fingerprint,
                key_id,
            })
            .collect()
    }
}

/// A matcher that recognises nothing: variables are still recorded, without match attributes.
pub struct NoMatcher;

impl ValueMatcher for NoMatcher {
    fn matches(&self, _value: &str) -> Vec<ValueMatch> {
        Vec::new()
    }
}

/// A readable CI variable, as the scanners see it before the value is dropped.
pub(crate) struct ReadableVariable<'a> {
    /// The owning pseudo-account (`org:<org>`, `repo:<owner/repo>`, `group:<path>`).
    pub account: String,
    /// The credential id without match suffix, e.g. `actions-variable:repo:o/r:NAME`.
    pub id: String,
    /// The value, or `None` when the API did not return a string (hidden, or malformed).
    pub value: Option<&'a str>,
    pub created_at: Option<DateTime<Utc>>,
    /// Facts about the variable (scope, visibility, updated_at, protected, masked, …), shown.
    pub attributes: BTreeMap<String, String>,
    /// What the core decides on: the same facts, typed.
    pub variable: CiVariable,
}

/// Turns one variable into credentials: one per match (id suffixed `#<pattern>:<fingerprint>`),
/// or one for the variable itself when nothing matched. The value is not copied anywhere.
pub(crate) fn variable_credentials(
    v: ReadableVariable<'_>,
    matcher: &dyn ValueMatcher,
) -> Vec<Credential> {
    let matches = v.value.map(|s| matcher.matches(s)).unwrap_or_default();
    let base = |id: String, attributes: BTreeMap<String, String>, secret: Option<FoundSecret>| {
        Credential {
            account: v.account.clone(),
            kind: CredentialKind::CiVariable,
            id,
            active: true,
            created_at: v.created_at,
            last_used_at: None,
            hints: IdentityHints::default(),
            attributes,
            facets: CredentialFacets {
                secret: secret.map(Box::new),
                ci_variable: Some(Box::new(v.variable.clone())),
                verification: None,
            },
        }
    };
    if matches.is_empty() {
        let mut attributes = v.attributes.clone();
        attributes.insert("value_matched".into(), "false".into());
        if v.value.is_none() {
            attributes.insert("value_readable".into(), "false".into());
        }
        return vec![base(v.id.clone(), attributes, None)];
    }
    matches
        .into_iter()
        .map(|m| {
            let mut attributes = v.attributes.clone();
            attributes.insert("value_matched".into(), "true".into());
            attributes.insert("pattern_id".into(), m.pattern_id.clone());
            attributes.insert("fingerprint".into(), m.fingerprint.clone());
            if let Some(k) = &m.key_id {
                attributes.insert("key_id".into(), k.clone());
            }
            let secret = FoundSecret {
                pattern_id: m.pattern_id.clone(),
                key_id: m.key_id.clone(),
                provenance: None,
            };
            base(
                format!("{}#{}:{}", v.id, m.pattern_id, m.fingerprint),
                attributes,
                Some(secret),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_credential_per_match_and_never_the_value() {
        let matcher = |v: &str| {
            if v.contains("AKIA") {
                vec![(
                    "aws-access-key-id".to_string(),
                    "fp1".to_string(),
                    Some("AKIAEXAMPLE".to_string()),
                )]
            } else {
                vec![]
            }
        };
        let secret = "AKIAEXAMPLE:wJalrXUtnFEMI/K7MDENG";
        let creds = variable_credentials(
            ReadableVariable {
                account: "repo:o/r".into(),
                id: "actions-variable:repo:o/r:KEY".into(),
                value: Some(secret),
                created_at: None,
                attributes: BTreeMap::new(),
                variable: CiVariable::default(),
            },
            &matcher,
        );
        assert_eq!(creds.len(), 1);
        assert_eq!(
            creds[0].id,
            "actions-variable:repo:o/r:KEY#aws-access-key-id:fp1"
        );
        assert_eq!(creds[0].attributes["key_id"], "AKIAEXAMPLE");
        let found = creds[0]
            .facets
            .secret
            .as_ref()
            .expect("a found secret facet");
        assert_eq!(found.key_id.as_deref(), Some("AKIAEXAMPLE"));
        assert_eq!(found.pattern_id, "aws-access-key-id");
        assert!(creds[0].facets.ci_variable.is_some());
        let dump = format!("{creds:?}");
        assert!(!dump.contains("wJalrXUtnFEMI"));
    }
}
