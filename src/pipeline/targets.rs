//! What to sweep: scanner settings built from plain values (the command line's flags) or from a
//! `[[scanner]]` entry of the configuration. Tokens come from the environment only
//! (`GITHUB_TOKEN`, `GITLAB_TOKEN`) or, for GitHub, from a GitHub App's private key file; never
//! from the configuration file, never printed.

use super::{Error, Result};
use crate::config::{Config, ScannerConfig};
use residual_scanners::aws_iam::organization::Organization;
use residual_scanners::aws_iam::{AwsScanConfig, TagKeys};
use residual_scanners::aws_sso::SsoScanConfig;
use residual_scanners::entra::EntraScanConfig;
use residual_scanners::github::{GithubAuth, GithubScanConfig};
use residual_scanners::gitlab::GitlabScanConfig;
use residual_scanners::okta::{OktaScanConfig, OktaServiceApp, DEFAULT_SCOPES};
use std::path::PathBuf;

/// GitHub App settings: id, private key file, installation.
pub type AppSettings = (Option<u64>, Option<PathBuf>, Option<u64>);

/// One config per account: the base alone, or one per role to assume.
pub fn aws_with_roles(
    base: AwsScanConfig,
    roles: Vec<(String, Option<String>)>,
) -> Vec<AwsScanConfig> {
    if roles.is_empty() {
        return vec![base];
    }
    roles
        .into_iter()
        .map(|(role, external_id)| AwsScanConfig {
            role_arn: Some(role),
            external_id: external_id.or_else(|| base.external_id.clone()),
            ..base.clone()
        })
        .collect()
}

/// The Identity Center sweep a `kind = "aws-sso"` entry asks for.
pub fn aws_sso_from_entry(s: &ScannerConfig) -> SsoScanConfig {
    let mut aws = AwsScanConfig {
        profile: s.profile.clone(),
        endpoint_url: s.endpoint_url.clone(),
        role_arn: s.role_arn.clone(),
        external_id: s.external_id.clone(),
        ..AwsScanConfig::default()
    };
    if let Some(r) = &s.region {
        aws.region = r.clone();
    }
    if let Some(t) = &s.tags {
        aws.tag_keys.owner = t.owner.clone().unwrap_or(aws.tag_keys.owner);
    }
    if let Some(n) = s.concurrency {
        aws.concurrency = n.max(1);
    }
    SsoScanConfig {
        aws,
        instance_arn: s.instance_arn.clone(),
        permission_set_tags: s.permission_set_tags.unwrap_or(true),
    }
}

/// The organisation sweep an `accounts = "organization"` entry asks for, or `None` for an entry
/// that lists its accounts.
pub fn aws_organization_from_entry(s: &ScannerConfig) -> Option<Organization> {
    if !s.accounts.is_organization() {
        return None;
    }
    let mut base = aws_from_entry(s).into_iter().next().unwrap_or_default();
    // The management account is entered as configured (`role_arn`, if any); each member
    // account through `role_name`.
    base.role_arn = s.role_arn.clone();
    Some(Organization {
        base,
        role_name: s.role_name.clone().unwrap_or_default(),
        external_id: s.external_id.clone(),
        include: s.include.clone(),
        exclude: s.exclude.clone(),
        concurrency: s.concurrency.unwrap_or(4),
    })
}

/// The accounts a `kind = "aws-iam"` entry asks for.
pub fn aws_from_entry(s: &ScannerConfig) -> Vec<AwsScanConfig> {
    let mut base = AwsScanConfig {
        profile: s.profile.clone(),
        endpoint_url: s.endpoint_url.clone(),
        role_arn: s.role_arn.clone(),
        external_id: s.external_id.clone(),
        ..AwsScanConfig::default()
    };
    if let Some(r) = &s.region {
        base.region = r.clone();
    }
    if let Some(b) = s.service_specific_credentials {
        base.service_specific_credentials = b;
    }
    if let Some(t) = &s.tags {
        let defaults = TagKeys::default();
        base.tag_keys = TagKeys {
            email: t.email.clone().unwrap_or(defaults.email),
            employee_id: t.employee_id.clone().unwrap_or(defaults.employee_id),
            owner: t.owner.clone().unwrap_or(defaults.owner),
            kind: defaults.kind,
        };
    }
    aws_with_roles(
        base,
        s.accounts
            .listed()
            .iter()
            .map(|a| (a.role_arn.clone(), a.external_id.clone()))
            .collect(),
    )
}

fn github_auth(org: &str, app: AppSettings) -> Result<GithubAuth> {
    match app {
        (Some(app_id), Some(private_key), installation_id) => Ok(GithubAuth::App {
            app_id,
            private_key,
            installation_id,
        }),
        (None, None, _) => GithubAuth::from_env().map_err(|e| {
            Error::Input(format!(
                "scan github:{org}: {e} (the token is read from the environment only)"
            ))
        }),
        _ => Err(Error::Input(format!(
            "scan github:{org}: a GitHub App needs both an app id and a private key file"
        ))),
    }
}

/// One GitHub organisation to sweep.
pub fn github(
    org: &str,
    api_url: Option<&str>,
    app: AppSettings,
    max_retries: Option<u32>,
) -> Result<GithubScanConfig> {
    let mut cfg = GithubScanConfig::new(org, github_auth(org, app)?);
    if let Some(url) = api_url {
        cfg.api_url = url.trim_end_matches('/').to_string();
    }
    if let Some(n) = max_retries {
        cfg.policy.max_retries = n;
    }
    Ok(cfg)
}

/// The sweep a `kind = "github"` entry asks for (relative key paths resolve against the file).
pub fn github_from_entry(config: &Config, s: &ScannerConfig) -> Result<GithubScanConfig> {
    let org = s
        .org
        .as_deref()
        .ok_or_else(|| Error::Input(format!("scanner `{}` (github) needs `org`", s.name)))?;
    github(
        org,
        s.api_url.as_deref(),
        (
            s.app_id,
            s.app_key.as_deref().map(|p| config.resolve(p)),
            s.installation_id,
        ),
        s.max_retries,
    )
}

/// One GitLab group (and its subgroups) to sweep.
pub fn gitlab(
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

/// The sweep a `kind = "gitlab"` entry asks for.
pub fn gitlab_from_entry(s: &ScannerConfig) -> Result<GitlabScanConfig> {
    let group = s
        .group
        .as_deref()
        .ok_or_else(|| Error::Input(format!("scanner `{}` (gitlab) needs `group`", s.name)))?;
    Ok(gitlab(
        group,
        s.api_url.as_deref(),
        s.instance_variables.unwrap_or(false),
        s.max_retries,
    ))
}

/// The sweep a `kind = "entra"` entry asks for: the tenant from the entry or `AZURE_TENANT_ID`,
/// the client id and secret from the environment only.
pub fn entra_from_entry(s: &ScannerConfig) -> EntraScanConfig {
    let mut cfg = EntraScanConfig::from_env(s.tenant_id.as_deref());
    if let Some(url) = &s.graph_url {
        cfg.graph_url = url.trim_end_matches('/').to_string();
    }
    if let Some(url) = &s.login_url {
        cfg.login_url = url.trim_end_matches('/').to_string();
    }
    if let Some(n) = s.max_retries {
        cfg.policy.max_retries = n;
    }
    if let Some(on) = s.sign_in_activity {
        cfg.sign_in_activity = on;
    }
    cfg
}

/// The sweep a `kind = "okta"` entry asks for: a service app (the entry's `client_id`, else
/// `OKTA_CLIENT_ID`) with its key, else `OKTA_API_TOKEN` from the environment.
pub fn okta_from_entry(s: &ScannerConfig) -> Result<OktaScanConfig> {
    let api_url = s.api_url.as_deref().ok_or_else(|| {
        Error::Input(format!(
            "scanner `{}` (okta) needs `api_url` (https://ORG.okta.com)",
            s.name
        ))
    })?;
    let mut cfg = OktaScanConfig::new(api_url);
    if let Some(n) = s.max_retries {
        cfg.policy.max_retries = n;
    }
    if let Some(client_id) = &s.client_id {
        let app = cfg.service_app.get_or_insert_with(|| OktaServiceApp {
            client_id: client_id.clone(),
            private_key_path: None,
            key_id: None,
            scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
        });
        app.client_id = client_id.clone();
    }
    if let Some(app) = cfg.service_app.as_mut() {
        if let Some(path) = &s.private_key_path {
            app.private_key_path = Some(path.clone());
        }
        if let Some(kid) = &s.key_id {
            app.key_id = Some(kid.clone());
        }
        if let Some(scopes) = &s.scopes {
            app.scopes = scopes.clone();
        }
    }
    Ok(cfg)
}
