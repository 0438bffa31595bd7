//! The sweep benchmark of `benches/github_sweep.md`: a fake org of 5,000 members, 2,000
//! repositories, 20 teams, 3 deploy keys and 5 secrets per repository. Ignored by default; run
//!
//!     cargo test -p residual-scanners --test it -- github_bench --ignored --nocapture

use residual_scanners::github::{scan_github, GithubAuth, GithubScanConfig, NoMatcher};
use residual_scanners::RunStatus;
use residual_test_support::fake_host::github::{load_org, OrgSpec};
use residual_test_support::fake_host::{Fake, Flavor};
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn sweep_of_a_large_org() {
    let fake = Fake::start(Flavor::Github).await;
    let spec = OrgSpec {
        org: "bench".into(),
        members: 5000,
        repos: 2000,
        teams: 20,
        keys_per_repo: 3,
        secrets_per_repo: 5,
    };
    load_org(&fake, &spec);
    let mut cfg =
        GithubScanConfig::new("bench", GithubAuth::Token("bench-token".to_string().into()));
    cfg.api_url = fake.url.clone();
    let started = Instant::now();
    let r = scan_github(&cfg, &NoMatcher).await;
    let wall = started.elapsed();
    assert_eq!(r.status, RunStatus::Complete, "{:?}", r.errors);
    let log = fake.log();
    let per_repo = log
        .iter()
        .filter(|l| l.path_and_query.starts_with("/repos/"))
        .count();
    let graphql = log
        .iter()
        .filter(|l| l.path_and_query == "/graphql")
        .count();
    let org_level = log.len() - per_repo - graphql;
    println!(
        "requests: {} total = {} per-repository ({:.2} per repository) + {} GraphQL + {} org-level pages",
        r.calls,
        per_repo,
        per_repo as f64 / spec.repos as f64,
        graphql,
        org_level
    );
    println!(
        "observations: {} accounts, {} credentials, {} grants; wall time {:.2?}",
        r.observations.accounts.len(),
        r.observations.credentials.len(),
        r.observations.grants.len(),
        wall
    );
    assert_eq!(r.calls as usize, log.len());
    assert!(per_repo <= 4 * spec.repos);
}
