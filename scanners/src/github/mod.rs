//! The GitHub scanner: one organisation (system `github:<org>`) turned into accounts, credentials
//! and grants — members, outside collaborators, invitations, teams, collaborators, App
//! installations, deploy keys, fine-grained PAT grants, SAML SSO credential authorizations,
//! Actions/Dependabot/Codespaces secrets, Actions variables (values shown to a [`ValueMatcher`]
//! and dropped) and CODEOWNERS, with SAML identities as email hints.
//!
//! Cost of a full sweep (see `benches/github_sweep.md`): the org-level lists, page by page, plus
//! four REST requests per repository (direct collaborators, deploy keys, Actions secrets, Actions
//! variables), one GraphQL request per [`GithubScanConfig::graphql_batch`] repositories (CODEOWNERS
//! and environment names) and two per environment. Repository Dependabot/Codespaces secrets and
//! repository webhooks are opt-in, one request per repository each.
//!
//! Failures never abort the sweep: a list that cannot be read is recorded in the report's errors
//! and makes the run `Partial`; a run that could not even list members and repositories is
//! `Failed`. A repository's collaborators, deploy keys, and CI secrets and variables are coverage
//! units of their own (`repos:ORG/NAME:collaborators`, `repos:ORG/NAME:deploy-keys`,
//! `ci-variables:repo:ORG/NAME`), and so are the org's invitations (`invitations`): one that
//! cannot be read misses that unit only. A list is attributed only where every observation it
//! yields maps to that unit; any other list that cannot be read (members, outside collaborators,
//! teams, org secrets, environments) misses everything (see [`crate::coverage`]).
//!
//! The sweep in modules: [`config`](GithubScanConfig) and `client` (who and where), `org` (members,
//! collaborators, invitations, installations, tokens), `teams`, `secrets` (org secrets and
//! variables), `saml`, `repos` (per repository), `assemble` (the observations), with the
//! payload shapes in [`payload`], their mapping in [`map`] and GraphQL in [`graphql`].

mod assemble;
mod client;
pub(crate) mod codeowners;
mod config;
pub(crate) mod graphql;
pub(crate) mod map;
mod org;
pub(crate) mod payload;
mod repos;
mod saml;
mod secrets;
mod teams;

pub use crate::ci_variable::{NoMatcher, ValueMatch, ValueMatcher};
pub(crate) use client::github_client;
pub use config::{CodeownersSource, GithubAuth, GithubError, GithubScanConfig, GITHUB_API_URL};

use crate::code_host::Part;
use crate::rest::{encode, RestClient};
use crate::{RunStatus, ScanReport};
use chrono::Utc;
use futures_util::stream::{self, StreamExt};
use payload::Repository;
use std::collections::HashMap;

/// The scanner kind, as it appears in [`ScanReport::scanner`].
pub const SCANNER: &str = "github";

/// Sweeps the org and returns the scan run's report. Never fails: a client that cannot be built
/// gives a `Failed` report with the reason.
pub async fn scan_github(cfg: &GithubScanConfig, matcher: &dyn ValueMatcher) -> ScanReport {
    let started_at = Utc::now();
    match github_client(cfg).await {
        Ok(rest) => scan_github_with(cfg, &rest, matcher, started_at).await,
        Err(e) => ScanReport::failed(SCANNER, cfg.system(), started_at, vec![e.to_string()], 0),
    }
}

/// [`scan_github`] with a client already built (tests, benchmarks, a shared client).
pub(crate) async fn scan_github_with(
    cfg: &GithubScanConfig,
    rest: &RestClient,
    matcher: &dyn ValueMatcher,
    started_at: chrono::DateTime<Utc>,
) -> ScanReport {
    let calls_before = rest.calls();
    let org_lists = org::sweep_org(cfg, rest).await;
    let mut all = org_lists.part;
    all.merge(teams::sweep_teams(cfg, rest).await);
    all.merge(secrets::sweep_org_secrets(cfg, rest, matcher).await);
    all.merge(org::sweep_tokens(cfg, rest).await);
    let saml = if cfg.saml_identities {
        saml::saml_identities(cfg, rest, &mut all).await
    } else {
        HashMap::new()
    };
    let repos = sweep_repos(cfg, rest, matcher, &mut all).await;
    let repos_read = repos.is_some();
    all.accounts.push(org_lists.org_account);

    let status = if !org_lists.members_read && !repos_read {
        RunStatus::Failed
    } else {
        RunStatus::Complete
    };
    let observations = assemble::assemble(all.accounts, all.credentials, all.grants, &saml);
    let mut report = ScanReport {
        scanner: SCANNER.into(),
        system: cfg.system(),
        input_digest: None,
        status,
        started_at,
        finished_at: Utc::now(),
        observations,
        errors: all.errors,
        coverage: Vec::new(),
        calls: rest.calls() - calls_before,
    };
    report.settle(&expected_units(&repos.unwrap_or_default()), all.misses);
    report
        .errors
        .extend(all.notes.into_iter().map(|n| format!("note: {n}")));
    report
}

/// The units a sweep names: the org (everything not yet attributed), its invitations, and the
/// attributed parts of each repository listed (collaborators, deploy keys, CI secrets and
/// variables).
fn expected_units(repos: &[String]) -> Vec<String> {
    let mut units = vec!["org".to_string(), crate::coverage::INVITATIONS.to_string()];
    for full in repos {
        for part in [repos::COLLABORATORS, repos::DEPLOY_KEYS] {
            units.push(crate::coverage::repo_unit(full, part));
        }
        let scope = map::Scope::Repo(full.clone());
        units.push(crate::coverage::ci_variables_unit(&scope.label()));
    }
    units
}

/// Every repository of the org, `concurrency` at a time, then a pseudo-account for each.
/// Returns the repositories' full names when the repository list was read.
async fn sweep_repos(
    cfg: &GithubScanConfig,
    rest: &RestClient,
    matcher: &dyn ValueMatcher,
    all: &mut Part,
) -> Option<Vec<String>> {
    let route = format!("/orgs/{}/repos?type=all", encode(&cfg.org));
    let repos = all.list::<Repository>(rest, &route, None).await;
    let repos_read = repos.is_some();
    let repos = repos.unwrap_or_default();
    let names = repos.iter().map(|r| r.full_name.clone()).collect();
    let extras = repos::repo_extras(cfg, rest, &repos, all).await;
    let mut parts = stream::iter(repos.iter().zip(extras))
        .map(|(repo, extra)| repos::sweep_repo(cfg, rest, matcher, repo, extra))
        .buffer_unordered(cfg.concurrency.max(1));
    while let Some(part) = parts.next().await {
        all.merge(part);
    }
    for repo in &repos {
        all.accounts.push(map::pseudo_account(
            &map::repo_pseudo_account(&repo.full_name),
            "repository",
        ));
    }
    repos_read.then_some(names)
}
