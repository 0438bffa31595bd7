//! Opt-in verification of found secrets against their provider: is the credential still live,
//! and whose is it? Read-only calls only — AWS `sts:GetCallerIdentity`, GitHub `GET /user`, Slack
//! `auth.test` — rate-limited per provider, with bounded retries and a timeout per call.
//!
//! The flow (`residual scan git --verify`, `residual gate --verify`):
//!
//! 1. A [`Collector`] is installed as the matcher's [`SecretSink`]: during the scan it keeps the
//!    verifiable secrets in memory, one per fingerprint, at most [`VerifyConfig::max_candidates`]
//!    of them. Values are wiped from memory when dropped and never `Debug`-printed.
//! 2. [`verify_all`] checks each candidate once and returns one [`Verification`] per fingerprint:
//!    [`Verdict::Live`] with the owner the provider names, [`Verdict::Revoked`] when the provider
//!    says the credential is invalid, or [`Verdict::Error`] for everything else (network, rate
//!    limit, unexpected answer). An error never counts as revoked.
//!
//! What it costs: one request per distinct verifiable secret plus retries, at most
//! [`VerifyConfig::requests_per_second`] per provider. What it leaks: nothing the scan did not
//! already hold — the value goes only to the provider it belongs to (over HTTPS to the default
//! endpoints), and a verification holds the fingerprint, the verdict and the owner.

mod aws;
mod http;

use crate::secrets::{SecretSink, Verifiable};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use std::collections::HashSet;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;
use zeroize::Zeroizing;

/// The real GitHub REST API.
pub const DEFAULT_GITHUB_API: &str = "https://api.github.com";
/// The real Slack Web API.
pub const DEFAULT_SLACK_API: &str = "https://slack.com/api";
/// Default cap on distinct secrets verified in one run.
pub const DEFAULT_MAX_CANDIDATES: usize = 500;

/// Which provider a secret is checked against, from its pattern's `verify` hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    /// `aws-sts-get-caller-identity`: an access key id and its secret.
    Aws,
    /// `github-get-user`: a token.
    Github,
    /// `slack-auth-test`: a token.
    Slack,
}

impl Provider {
    /// The provider for a pattern's `verify` hint; `None` for hints this build cannot check.
    pub fn for_method(method: &str) -> Option<Provider> {
        Some(match method {
            "aws-sts-get-caller-identity" => Provider::Aws,
            "github-get-user" => Provider::Github,
            "slack-auth-test" => Provider::Slack,
            _ => return None,
        })
    }

    /// The stable name used in outputs (`aws`, `github`, `slack`).
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Github => "github",
            Provider::Slack => "slack",
        }
    }
}

/// One secret waiting to be verified. Holds the value (wiped on drop); its `Debug` does not.
pub struct Candidate {
    /// Keyed fingerprint of the value.
    pub fingerprint: String,
    /// The pattern that found it.
    pub pattern_id: String,
    pub provider: Provider,
    /// The non-secret identifier (the AWS access key id).
    pub identifier: Option<String>,
    value: Zeroizing<Vec<u8>>,
}

impl Candidate {
    /// A candidate for `provider` (tests build these directly; scans use a [`Collector`]).
    pub fn new(
        fingerprint: &str,
        pattern_id: &str,
        provider: Provider,
        identifier: Option<&str>,
        value: &[u8],
    ) -> Candidate {
        Candidate {
            fingerprint: fingerprint.to_string(),
            pattern_id: pattern_id.to_string(),
            provider,
            identifier: identifier.map(str::to_string),
            value: Zeroizing::new(value.to_vec()),
        }
    }

    /// The value as text (every provider's credentials are ASCII), or `None`.
    fn value_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.value).ok()
    }
}

impl fmt::Debug for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Candidate")
            .field("fingerprint", &self.fingerprint)
            .field("pattern_id", &self.pattern_id)
            .field("provider", &self.provider)
            .field("identifier", &self.identifier)
            .field("value", &"<hidden>")
            .finish()
    }
}

/// Keeps the verifiable secrets a scan offers: one per fingerprint, at most `max`, in memory.
pub struct Collector {
    max: usize,
    inner: Mutex<Collected>,
}

#[derive(Default)]
struct Collected {
    candidates: Vec<Candidate>,
    seen: HashSet<String>,
    over_cap: usize,
}

impl Collector {
    /// A collector that keeps at most `max` distinct secrets; later ones are counted, not kept.
    pub fn new(max: usize) -> Collector {
        Collector {
            max,
            inner: Mutex::new(Collected::default()),
        }
    }

    /// Takes the collected candidates, and how many distinct secrets the cap left out.
    pub fn take(&self) -> (Vec<Candidate>, usize) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let taken = std::mem::take(&mut *inner);
        (taken.candidates, taken.over_cap)
    }
}

impl fmt::Debug for Collector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self
            .inner
            .lock()
            .map(|i| i.candidates.len())
            .unwrap_or_default();
        write!(f, "Collector {{ max: {}, candidates: {n} }}", self.max)
    }
}

impl SecretSink for Collector {
    fn offer(&self, secret: &Verifiable<'_>) {
        let Some(provider) = Provider::for_method(secret.method) else {
            return;
        };
        // STS needs the pair: a key id alone (its own "secret") cannot sign anything.
        if provider == Provider::Aws
            && secret
                .identifier
                .is_none_or(|id| id.as_bytes() == secret.value)
        {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if !inner.seen.insert(secret.fingerprint.to_string()) {
            return;
        }
        if inner.candidates.len() >= self.max {
            inner.over_cap += 1;
            return;
        }
        inner.candidates.push(Candidate::new(
            secret.fingerprint,
            secret.pattern_id,
            provider,
            secret.identifier,
            secret.value,
        ));
    }
}

/// Where and how fast to verify.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    /// STS endpoint; `None` is AWS's own (`https://sts.amazonaws.com` in us-east-1).
    pub aws_endpoint: Option<String>,
    /// GitHub REST API URL (`https://HOST/api/v3` for Enterprise Server).
    pub github_api: String,
    /// Slack Web API URL.
    pub slack_api: String,
    /// Requests per second per provider, at most.
    pub requests_per_second: f64,
    /// Requests in flight at once, over all providers.
    pub concurrency: usize,
    /// Longest wait for one answer.
    pub timeout: Duration,
    /// Retries after the first attempt (timeouts, transport errors, 5xx, 429).
    pub max_retries: u32,
    /// Longest `retry-after` honoured; a longer one ends that verification as an error.
    pub max_wait: Duration,
    /// Distinct secrets verified per run, at most.
    pub max_candidates: usize,
}

impl Default for VerifyConfig {
    fn default() -> Self {
        VerifyConfig {
            aws_endpoint: None,
            github_api: DEFAULT_GITHUB_API.into(),
            slack_api: DEFAULT_SLACK_API.into(),
            requests_per_second: 2.0,
            concurrency: 2,
            timeout: Duration::from_secs(10),
            max_retries: 2,
            max_wait: Duration::from_secs(60),
            max_candidates: DEFAULT_MAX_CANDIDATES,
        }
    }
}

/// What a provider said about one secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// It authenticates. `owner`: the IAM principal ARN, GitHub login or Slack user it acts as.
    Live { owner: Option<String> },
    /// The provider rejects it (`InvalidClientTokenId`, HTTP 401, `invalid_auth`).
    Revoked { reason: String },
    /// No answer either way; never to be read as revoked.
    Error { reason: String },
}

impl Verdict {
    /// `live`, `revoked` or `error`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Live { .. } => "live",
            Verdict::Revoked { .. } => "revoked",
            Verdict::Error { .. } => "error",
        }
    }
}

/// The outcome for one fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub fingerprint: String,
    /// The non-secret identifier checked with it (the AWS access key id), if any.
    pub identifier: Option<String>,
    pub provider: Provider,
    pub verdict: Verdict,
    pub checked_at: DateTime<Utc>,
}

/// Verification could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The async runtime could not be started.
    #[error("cannot start the verification runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// Spaces the requests to one provider at least `interval` apart.
struct RateLimit {
    interval: Duration,
    next: Mutex<Option<tokio::time::Instant>>,
}

impl RateLimit {
    fn new(per_second: f64) -> RateLimit {
        let per_second = if per_second.is_finite() && per_second > 0.0 {
            per_second
        } else {
            1.0
        };
        RateLimit {
            interval: Duration::from_secs_f64(1.0 / per_second),
            next: Mutex::new(None),
        }
    }

    async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let now = tokio::time::Instant::now();
            let at = next.map_or(now, |n| n.max(now));
            *next = Some(at + self.interval);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// Verifies every candidate (one request each, plus retries) and returns one verification per
/// candidate, in no particular order.
pub async fn verify_all(candidates: &[Candidate], config: &VerifyConfig) -> Vec<Verification> {
    let limits = [
        RateLimit::new(config.requests_per_second),
        RateLimit::new(config.requests_per_second),
        RateLimit::new(config.requests_per_second),
    ];
    let limit = |p: Provider| match p {
        Provider::Aws => &limits[0],
        Provider::Github => &limits[1],
        Provider::Slack => &limits[2],
    };
    futures_util::stream::iter(candidates)
        .map(|c| async move {
            limit(c.provider).wait().await;
            let verdict = match c.provider {
                Provider::Aws => aws::verify(c, config).await,
                Provider::Github => http::github(c, config).await,
                Provider::Slack => http::slack(c, config).await,
            };
            Verification {
                fingerprint: c.fingerprint.clone(),
                identifier: c.identifier.clone(),
                provider: c.provider,
                verdict,
                checked_at: Utc::now(),
            }
        })
        .buffer_unordered(config.concurrency.max(1))
        .collect()
        .await
}

/// [`verify_all`] on a runtime of its own, for callers without one.
pub fn verify_blocking(
    candidates: &[Candidate],
    config: &VerifyConfig,
) -> Result<Vec<Verification>, VerifyError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    Ok(runtime.block_on(verify_all(candidates, config)))
}

/// Counts of verdicts, for progress messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub live: usize,
    pub revoked: usize,
    pub error: usize,
}

impl Tally {
    /// Counts `verifications` by verdict.
    pub fn of(verifications: &[Verification]) -> Tally {
        let mut t = Tally::default();
        for v in verifications {
            match v.verdict {
                Verdict::Live { .. } => t.live += 1,
                Verdict::Revoked { .. } => t.revoked += 1,
                Verdict::Error { .. } => t.error += 1,
            }
        }
        t
    }
}

/// The IAM user name of a principal ARN (`arn:aws:iam::ACCOUNT:user/PATH/NAME` → `NAME`), with
/// the account id; `None` for roles, assumed-role sessions and anything else.
pub fn iam_user_of_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let mut parts = rest.splitn(5, ':');
    let (_partition, service, _region, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if service != "iam" {
        return None;
    }
    let path = resource.strip_prefix("user/")?;
    let name = path.rsplit('/').next()?;
    (!name.is_empty()).then_some((account, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_user_names_come_from_user_arns_only() {
        assert_eq!(
            iam_user_of_arn("arn:aws:iam::123456789012:user/ann"),
            Some(("123456789012", "ann"))
        );
        assert_eq!(
            iam_user_of_arn("arn:aws:iam::123456789012:user/team/ops/ann"),
            Some(("123456789012", "ann"))
        );
        assert_eq!(
            iam_user_of_arn("arn:aws:sts::123456789012:assumed-role/deploy/s"),
            None
        );
        // moto answers unknown keys with this default identity: not an IAM user.
        assert_eq!(iam_user_of_arn("arn:aws:sts::123456789012:user/moto"), None);
    }

    #[test]
    fn a_collector_keeps_one_candidate_per_fingerprint_up_to_its_cap() {
        let c = Collector::new(2);
        let offer = |fp: &str, method: &str, id: Option<&str>, value: &[u8]| {
            c.offer(&Verifiable {
                fingerprint: fp,
                pattern_id: "p",
                method,
                identifier: id,
                value,
            })
        };
        offer("a", "github-get-user", None, b"tok-a");
        offer("a", "github-get-user", None, b"tok-a");
        offer("k", "aws-sts-get-caller-identity", Some("KEYID"), b"KEYID");
        offer("n", "npm-whoami", None, b"tok-n");
        offer("b", "slack-auth-test", None, b"tok-b");
        offer("c", "slack-auth-test", None, b"tok-c");
        let (candidates, over) = c.take();
        let fps: Vec<&str> = candidates.iter().map(|c| c.fingerprint.as_str()).collect();
        assert_eq!(fps, ["a", "b"]);
        assert_eq!(over, 1);
        let debug = format!("{candidates:?}");
        assert!(!debug.contains("tok-"), "{debug}");
    }
}
