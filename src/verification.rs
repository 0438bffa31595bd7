//! Opt-in verification of found secrets for `scan git` and `gate`: a matcher that hands
//! verifiable secrets to an in-memory collector, one read-only call per secret to its provider,
//! and the verdicts written onto the credential observations (their verification facet, shown as
//! `verified`, `verified_owner`, `verified_at`) — never the values.

use crate::config::VerifySettings;
use crate::progress::Progress;
use residual_scanners::facets::{self, VerdictKind};
use residual_scanners::secrets::Matcher;
use residual_scanners::verify::{
    self, Collector, Tally, Verdict, Verification, VerifyConfig, VerifyError,
};
use residual_scanners::{CredentialKind, Observations};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// What the command line overrides of the `[verify]` section.
#[derive(Debug, Clone, Default)]
pub struct VerifyOverrides {
    pub aws_endpoint: Option<String>,
    pub github_api: Option<String>,
    pub slack_api: Option<String>,
    pub requests_per_second: Option<f64>,
    pub max_candidates: Option<usize>,
}

/// The verification settings: defaults, then `[verify]`, then the overrides.
pub fn settings(file: &VerifySettings, over: &VerifyOverrides) -> VerifyConfig {
    let mut cfg = VerifyConfig::default();
    if let Some(v) = over
        .aws_endpoint
        .clone()
        .or_else(|| file.aws_endpoint.clone())
    {
        cfg.aws_endpoint = Some(v);
    }
    if let Some(v) = over.github_api.clone().or_else(|| file.github_api.clone()) {
        cfg.github_api = v;
    }
    if let Some(v) = over.slack_api.clone().or_else(|| file.slack_api.clone()) {
        cfg.slack_api = v;
    }
    if let Some(v) = over.requests_per_second.or(file.requests_per_second) {
        cfg.requests_per_second = v;
    }
    if let Some(v) = file.concurrency {
        cfg.concurrency = v.max(1);
    }
    if let Some(v) = file.timeout_secs {
        cfg.timeout = Duration::from_secs(v.max(1));
    }
    if let Some(v) = file.max_retries {
        cfg.max_retries = v;
    }
    if let Some(v) = over.max_candidates.or(file.max_candidates) {
        cfg.max_candidates = v;
    }
    cfg
}

/// One run's verification: the collector the matcher fills, and where to check.
pub struct Verifier {
    collector: Arc<Collector>,
    config: VerifyConfig,
}

impl Verifier {
    pub fn new(config: VerifyConfig) -> Verifier {
        Verifier {
            collector: Arc::new(Collector::new(config.max_candidates)),
            config,
        }
    }

    /// `matcher`, handing the secrets it finds that can be verified to this verifier.
    pub fn attach(&self, matcher: Matcher) -> Matcher {
        matcher.with_sink(self.collector.clone())
    }

    /// Verifies what the scan collected and writes the verdicts onto `obs`'s secrets.
    pub fn verify_into(
        &self,
        progress: &Progress,
        system: &str,
        obs: &mut Observations,
    ) -> Result<Tally, VerifyError> {
        let (candidates, over_cap) = self.collector.take();
        progress.say(format!(
            "verify {system}: checking {} secret(s) with their providers (read-only, at most {} request(s)/s per provider){}",
            candidates.len(),
            self.config.requests_per_second,
            if over_cap > 0 {
                format!("; {over_cap} more left unchecked by the cap of {} (--verify-max)", self.config.max_candidates)
            } else {
                String::new()
            }
        ));
        if candidates.is_empty() {
            return Ok(Tally::default());
        }
        let verifications = verify::verify_blocking(&candidates, &self.config)?;
        drop(candidates);
        let tally = Tally::of(&verifications);
        progress.say(format!(
            "verify {system}: {} live, {} revoked, {} could not be checked (errors count as unknown, never as revoked)",
            tally.live, tally.revoked, tally.error
        ));
        annotate(obs, &verifications);
        Ok(tally)
    }
}
/// Writes each verification onto the secret-in-code credential with its fingerprint, as its
/// [`facets::Verification`] facet (what the rules read) and its display attributes (`verified`
/// live, revoked or error; `verified_provider`, `verified_at`, and `verified_owner` (live) or
/// `verified_reason` (revoked, error)). An AWS verdict also goes onto the other secrets with the
/// same access key id (the key id found on its own): when several pairs share a key id, live
/// beats error beats revoked (a wrong secret does not make the key dead).
pub fn annotate(obs: &mut Observations, verifications: &[Verification]) {
    let by_fingerprint: HashMap<&str, &Verification> = verifications
        .iter()
        .map(|v| (v.fingerprint.as_str(), v))
        .collect();
    let rank = |v: &Verification| match v.verdict {
        Verdict::Live { .. } => 2,
        Verdict::Error { .. } => 1,
        Verdict::Revoked { .. } => 0,
    };
    let mut by_key_id: HashMap<&str, &Verification> = HashMap::new();
    for v in verifications {
        let Some(id) = v.identifier.as_deref() else {
            continue;
        };
        let best = by_key_id.entry(id).or_insert(v);
        if rank(v) > rank(best) {
            *best = v;
        }
    }
    for c in obs
        .credentials
        .iter_mut()
        .filter(|c| c.kind == CredentialKind::SecretInCode)
    {
        let key_id = c.facets.secret.as_ref().and_then(|s| s.key_id.as_deref());
        let found = by_fingerprint
            .get(c.id.as_str())
            .or_else(|| key_id.and_then(|k| by_key_id.get(k)));
        let Some(v) = found else {
            continue;
        };
        let facet = verdict_facet(v);
        facet.display_into(&mut c.attributes);
        c.facets.verification = Some(Box::new(facet));
    }
}

/// A provider's answer as the credential's facet.
fn verdict_facet(v: &Verification) -> facets::Verification {
    let (verdict, owner, reason) = match &v.verdict {
        Verdict::Live { owner } => (VerdictKind::Live, owner.clone(), None),
        Verdict::Revoked { reason } => (VerdictKind::Revoked, None, Some(reason.clone())),
        Verdict::Error { reason } => (VerdictKind::Error, None, Some(reason.clone())),
    };
    facets::Verification {
        verdict,
        provider: v.provider.as_str().to_string(),
        owner,
        reason,
        checked_at: Some(v.checked_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use residual_scanners::facets::FoundSecret;
    use residual_scanners::verify::Provider;
    use residual_scanners::Credential;

    fn secret(id: &str, key_id: Option<&str>) -> Credential {
        Credential {
            account: "ann@example.com".into(),
            kind: CredentialKind::SecretInCode,
            id: id.into(),
            active: true,
            created_at: None,
            last_used_at: None,
            hints: Default::default(),
            attributes: Default::default(),
            facets: residual_scanners::CredentialFacets {
                secret: Some(Box::new(FoundSecret {
                    pattern_id: "aws-secret-access-key".into(),
                    key_id: key_id.map(str::to_string),
                    provenance: None,
                })),
                ..Default::default()
            },
        }
    }

    fn checked(fingerprint: &str, key_id: Option<&str>, verdict: Verdict) -> Verification {
        Verification {
            fingerprint: fingerprint.into(),
            identifier: key_id.map(str::to_string),
            provider: Provider::Aws,
            verdict,
            checked_at: residual_scanners::time::parse_time("2026-05-31T12:00:00Z").expect("time"),
        }
    }

    /// The verdict goes onto the secret as its facet (what rules read) and as the attributes
    /// evidence has always shown; a secret with the same key id alone gets it too.
    #[test]
    fn a_verdict_is_the_secrets_facet_and_shows_as_its_attributes() {
        let mut obs = Observations {
            credentials: vec![
                secret("fp-1", Some("AKIAKEY")),
                secret("fp-2", Some("AKIAKEY")),
            ],
            ..Default::default()
        };
        let owner = "arn:aws:iam::123456789012:user/ann".to_string();
        annotate(
            &mut obs,
            &[checked(
                "fp-1",
                Some("AKIAKEY"),
                Verdict::Live {
                    owner: Some(owner.clone()),
                },
            )],
        );
        for c in &obs.credentials {
            let v = c.facets.verification.as_ref().expect("a verdict facet");
            assert_eq!(v.verdict, VerdictKind::Live, "{}", c.id);
            assert_eq!(v.owner.as_deref(), Some(owner.as_str()));
            let shown: Vec<(&str, &str)> = c
                .attributes
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(
                shown,
                [
                    ("verified", "live"),
                    ("verified_at", "2026-05-31T12:00:00Z"),
                    ("verified_owner", owner.as_str()),
                    ("verified_provider", "aws"),
                ]
            );
        }
    }

    #[test]
    fn a_revoked_verdict_carries_its_reason_and_no_owner() {
        let mut obs = Observations {
            credentials: vec![secret("fp-1", None)],
            ..Default::default()
        };
        let reason = "InvalidClientTokenId".to_string();
        annotate(
            &mut obs,
            &[checked(
                "fp-1",
                None,
                Verdict::Revoked {
                    reason: reason.clone(),
                },
            )],
        );
        let c = &obs.credentials[0];
        let v = c.facets.verification.as_ref().expect("a verdict facet");
        assert_eq!(
            (v.verdict, v.owner.as_deref()),
            (VerdictKind::Revoked, None)
        );
        assert_eq!(v.reason.as_deref(), Some(reason.as_str()));
        assert_eq!(c.attributes["verified_reason"], reason);
        assert!(!c.attributes.contains_key("verified_owner"));
    }
}
