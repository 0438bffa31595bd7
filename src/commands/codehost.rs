//! `scan github` and `scan gitlab`: configuration from flags or a `[[scanner]]` entry, the sweep
//! on a tokio runtime with the real secret patterns as the CI-variable value matcher. (Whose AWS
//! access key a CI variable holds is looked up by [`crate::facts`] when the run is recorded.)
//!
//! Tokens come from the environment only (`GITHUB_TOKEN`, `GITLAB_TOKEN`) or, for GitHub, from a
//! GitHub App's private key file; never from the configuration file, never printed.

use super::{Context, UsageError};
use crate::cli::{GithubArgs, GitlabArgs};
use crate::config::ScannerConfig;
use residual_scanners::github::{self, GithubAuth, GithubScanConfig};
use residual_scanners::gitlab::{self, GitlabScanConfig};
use residual_scanners::secrets::{self, Matcher};
use residual_scanners::ScanReport;
use std::path::PathBuf;

/// GitHub App settings: id, private key file, installation.
type AppSettings = (Option<u64>, Option<PathBuf>, Option<u64>);

fn github_auth(org: &str, app: AppSettings) -> anyhow::Result<GithubAuth> {
    match app {
        (Some(app_id), Some(private_key), installation_id) => Ok(GithubAuth::App {
            app_id,
            private_key,
            installation_id,
        }),
        (None, None, _) => GithubAuth::from_env().map_err(|e| {
            UsageError(format!(
                "scan github:{org}: {e} (the token is read from the environment only)"
            ))
            .into()
        }),
        _ => Err(UsageError(format!(
            "scan github:{org}: a GitHub App needs both an app id and a private key file"
        ))
        .into()),
    }
}

fn github_config(
    org: &str,
    api_url: Option<&str>,
    app: AppSettings,
    max_retries: Option<u32>,
) -> anyhow::Result<GithubScanConfig> {
    let mut cfg = GithubScanConfig::new(org, github_auth(org, app)?);
    if let Some(url) = api_url {
        cfg.api_url = url.trim_end_matches('/').to_string();
    }
    if let Some(n) = max_retries {
        cfg.policy.max_retries = n;
    }
    Ok(cfg)
}

/// The sweep `scan github --org …` asks for.
pub fn github_config_from_args(a: &GithubArgs) -> anyhow::Result<GithubScanConfig> {
    github_config(
        &a.org,
        a.api_url.as_deref(),
        (a.app_id, a.app_key.clone(), a.installation_id),
        a.max_retries,
    )
}

/// The sweep a `kind = "github"` entry asks for (relative key paths resolve against the file).
pub fn github_config_from_entry(
    ctx: &Context,
    s: &ScannerConfig,
) -> anyhow::Result<GithubScanConfig> {
    let org = s
        .org
        .as_deref()
        .ok_or_else(|| UsageError(format!("scanner `{}` (github) needs `org`", s.name)))?;
    github_config(
        org,
        s.api_url.as_deref(),
        (
            s.app_id,
            s.app_key.as_deref().map(|p| ctx.config.resolve(p)),
            s.installation_id,
        ),
        s.max_retries,
    )
}

fn gitlab_config(
    group: &str,
    api_url: Option<&str>,
    instance_variables: bool,
    max_retries: Option<u32>,
) -> GitlabScanConfig {
    let mut cfg = GitlabScanConfig::new(group);
    if let Some(url) = api_url {
        cfg.api_url = url.trim_end_matches('/').to_string();
    }
    cfg.instance_variables = instance_variables;
    if let Some(n) = max_retries {
        cfg.policy.max_retries = n;
    }
    cfg
}

/// The sweep `scan gitlab --group …` asks for.
pub fn gitlab_config_from_args(a: &GitlabArgs) -> GitlabScanConfig {
    gitlab_config(
        &a.group,
        a.api_url.as_deref(),
        a.instance_variables,
        a.max_retries,
    )
}

/// The sweep a `kind = "gitlab"` entry asks for.
pub fn gitlab_config_from_entry(s: &ScannerConfig) -> anyhow::Result<GitlabScanConfig> {
    let group = s
        .group
        .as_deref()
        .ok_or_else(|| UsageError(format!("scanner `{}` (gitlab) needs `group`", s.name)))?;
    Ok(gitlab_config(
        group,
        s.api_url.as_deref(),
        s.instance_variables.unwrap_or(false),
        s.max_retries,
    ))
}

/// The built-in secret patterns under this store's fingerprint key.
fn secret_matcher(ctx: &Context) -> anyhow::Result<Matcher> {
    let key = super::fingerprint::fingerprint_key(ctx)?;
    Ok(Matcher::new(secrets::builtin()?, &key)?)
}

/// The matcher as the scanners' `ValueMatcher`: (pattern id, fingerprint, non-secret id) per
/// match that is not suppressed. The value itself goes nowhere.
fn value_matches(matcher: &Matcher, value: &str) -> Vec<(String, String, Option<String>)> {
    matcher
        .scan(None, value.as_bytes())
        .into_iter()
        .filter(|m| m.suppressed.is_none())
        .map(|m| (m.pattern_id, m.fingerprint, m.identifier))
        .collect()
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Sweeps one GitHub organisation.
pub fn sweep_github(ctx: &Context, cfg: GithubScanConfig) -> anyhow::Result<ScanReport> {
    let matcher = secret_matcher(ctx)?;
    let value_matcher = |v: &str| value_matches(&matcher, v);
    ctx.progress(format!("scan {}: sweeping {}", cfg.system(), cfg.api_url));
    Ok(runtime()?.block_on(github::scan_github(&cfg, &value_matcher)))
}

/// Sweeps one GitLab group and its subgroups.
pub fn sweep_gitlab(ctx: &Context, cfg: GitlabScanConfig) -> anyhow::Result<ScanReport> {
    if cfg.token.is_none() {
        ctx.progress(format!(
            "scan gitlab:{}: warning: GITLAB_TOKEN is not set; reading anonymously (variables need a token)",
            cfg.group
        ));
    }
    let matcher = secret_matcher(ctx)?;
    let value_matcher = |v: &str| value_matches(&matcher, v);
    ctx.progress(format!(
        "scan gitlab:{}: sweeping {}",
        cfg.group, cfg.api_url
    ));
    Ok(runtime()?.block_on(gitlab::scan_gitlab(&cfg, &value_matcher)))
}
