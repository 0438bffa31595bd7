//! Opt-in verification against fake providers on 127.0.0.1: GitHub `GET /user`, Slack
//! `auth.test` and STS error answers in their published shapes; live, revoked, throttled and
//! unreachable; the rate limit; and the matcher hook that collects values only when asked.

use residual_scanners::secrets::{self, Matcher};
use residual_scanners::verify::{
    verify_all, Candidate, Collector, Provider, Verdict, Verification, VerifyConfig,
};
use residual_test_support::fake_providers::Providers;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Fake tokens of the right shapes, assembled at run time so this file holds none.
fn github_token(n: char) -> String {
    let mut t = ["ghp_", "Vr7kQ2mZ9xLp4Tn8Wb3Hc6Jd1Fs5Gy0A"].concat();
    t.push(n);
    t.push_str("qRw");
    t
}

fn slack_token(n: char) -> String {
    let mut t = [
        "xox",
        "b-",
        "374665402680-",
        "0065522167162-",
        "Ox5eFBBJ1gvcCLAR4Srz",
    ]
    .concat();
    t.push(n);
    t.push_str("Vaz");
    t
}

fn config(p: &Providers) -> VerifyConfig {
    VerifyConfig {
        aws_endpoint: Some(p.sts_endpoint()),
        github_api: p.github_api(),
        slack_api: p.slack_api(),
        requests_per_second: 50.0,
        timeout: Duration::from_secs(5),
        max_retries: 2,
        max_wait: Duration::from_secs(5),
        ..VerifyConfig::default()
    }
}

fn candidate(fp: &str, provider: Provider, id: Option<&str>, value: &str) -> Candidate {
    Candidate::new(fp, "test-pattern", provider, id, value.as_bytes())
}

fn verdict_of<'v>(vs: &'v [Verification], fp: &str) -> &'v Verdict {
    &vs.iter()
        .find(|v| v.fingerprint == fp)
        .unwrap_or_else(|| panic!("no verification of {fp}: {vs:?}"))
        .verdict
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_github_token_names_its_login_and_a_revoked_one_is_revoked() {
    let p = Providers::start().await;
    let (live, dead) = (github_token('a'), github_token('b'));
    p.github_live(&live, "ann-gh");
    p.github_revoked(&dead);
    let vs = verify_all(
        &[
            candidate("f-live", Provider::Github, None, &live),
            candidate("f-dead", Provider::Github, None, &dead),
        ],
        &config(&p),
    )
    .await;
    assert_eq!(
        verdict_of(&vs, "f-live"),
        &Verdict::Live {
            owner: Some("ann-gh".into())
        }
    );
    assert!(
        matches!(verdict_of(&vs, "f-dead"), Verdict::Revoked { reason } if reason.contains("Bad credentials")),
        "{vs:?}"
    );
    let text = format!("{vs:?}");
    assert!(!text.contains(&live) && !text.contains(&dead));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_auth_test_ok_is_live_and_invalid_auth_is_revoked() {
    let p = Providers::start().await;
    let (live, dead) = (slack_token('a'), slack_token('b'));
    p.slack_live(&live, "ann", "Acme");
    p.slack_revoked(&dead);
    let vs = verify_all(
        &[
            candidate("s-live", Provider::Slack, None, &live),
            candidate("s-dead", Provider::Slack, None, &dead),
        ],
        &config(&p),
    )
    .await;
    assert_eq!(
        verdict_of(&vs, "s-live"),
        &Verdict::Live {
            owner: Some("ann@Acme".into())
        }
    );
    assert!(
        matches!(verdict_of(&vs, "s-dead"), Verdict::Revoked { reason } if reason.contains("invalid_auth"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sts_invalid_client_token_id_is_revoked() {
    let p = Providers::start().await;
    let id = ["AKIA", "RZ7VDQM3", "LPXK2NB6"].concat();
    let secret = ["wJalrXUtnFEMI", "K7MDENG", "bPxRfiCYzz9Qw3rTy", "U1o"].concat();
    let vs = verify_all(
        &[candidate("k", Provider::Aws, Some(&id), &secret)],
        &config(&p),
    )
    .await;
    assert!(
        matches!(verdict_of(&vs, "k"), Verdict::Revoked { reason } if reason.starts_with("InvalidClientTokenId")),
        "{vs:?}"
    );
    assert_eq!(p.requests(), 1, "a revoked key is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_retry_after_is_waited_out_and_then_answered() {
    let p = Providers::start().await;
    let live = github_token('c');
    p.github_live(&live, "ann-gh");
    p.throttle(1);
    let started = Instant::now();
    let vs = verify_all(
        &[candidate("f", Provider::Github, None, &live)],
        &config(&p),
    )
    .await;
    assert!(
        matches!(verdict_of(&vs, "f"), Verdict::Live { .. }),
        "{vs:?}"
    );
    assert_eq!(p.requests(), 2);
    assert!(started.elapsed() >= Duration::from_millis(950));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_past_the_retries_and_an_unreachable_provider_are_errors_not_revocations() {
    let p = Providers::start().await;
    let token = github_token('d');
    p.github_revoked(&token);
    p.throttle(10);
    let mut cfg = config(&p);
    cfg.max_retries = 1;
    cfg.slack_api = "http://127.0.0.1:1".into();
    let vs = verify_all(
        &[
            candidate("throttled", Provider::Github, None, &token),
            candidate("offline", Provider::Slack, None, &slack_token('d')),
        ],
        &cfg,
    )
    .await;
    assert!(
        matches!(verdict_of(&vs, "throttled"), Verdict::Error { .. }),
        "{vs:?}"
    );
    assert!(
        matches!(verdict_of(&vs, "offline"), Verdict::Error { .. }),
        "{vs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_to_one_provider_are_spaced_by_the_rate_limit() {
    let p = Providers::start().await;
    let tokens: Vec<String> = ['e', 'f', 'g', 'h'].into_iter().map(github_token).collect();
    let candidates: Vec<Candidate> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            p.github_live(t, "ben-gh");
            candidate(&format!("f{i}"), Provider::Github, None, t)
        })
        .collect();
    let cfg = VerifyConfig {
        requests_per_second: 4.0,
        concurrency: 4,
        ..config(&p)
    };
    verify_all(&candidates, &cfg).await;
    let log = p.log();
    assert_eq!(log.len(), 4);
    let mut times: Vec<Instant> = log.iter().map(|(_, _, t)| *t).collect();
    times.sort();
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(200),
            "requests {:?} apart at 4/s",
            pair[1] - pair[0]
        );
    }
}

#[test]
fn the_matcher_lends_values_only_to_a_sink_and_only_of_verifiable_patterns() {
    let token = github_token('z');
    let password = ["Sup3r-", "Secr3t-", "Passw0rd!"].concat();
    let text = format!("GITHUB_TOKEN={token}\npassword = \"{password}\"\n");
    let plain = Matcher::new(secrets::builtin().unwrap(), b"k").unwrap();
    assert!(!plain.scan(Some("ci.sh"), text.as_bytes()).is_empty());
    let collector = Arc::new(Collector::new(10));
    let hooked = Matcher::new(secrets::builtin().unwrap(), b"k")
        .unwrap()
        .with_sink(collector.clone());
    let matches = hooked.scan(Some("ci.sh"), text.as_bytes());
    let (candidates, over) = collector.take();
    assert_eq!(over, 0);
    assert_eq!(candidates.len(), 1, "{candidates:?}");
    assert_eq!(candidates[0].provider, Provider::Github);
    let github = matches
        .iter()
        .find(|m| m.pattern_id.starts_with("github"))
        .unwrap();
    assert_eq!(candidates[0].fingerprint, github.fingerprint);
    assert!(!format!("{candidates:?}{collector:?}{hooked:?}").contains(&token));
}
