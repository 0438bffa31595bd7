//! The GitLab scanner: one group and its subgroups (system `gitlab:<group path>`) turned into
//! accounts (members), group grants with access levels, and CI/CD variables — project, group and,
//! optionally, instance variables — whose values are shown to a [`ValueMatcher`] and dropped.
//!
//! Cost: the group, its descendant groups and its projects (pages of 100), then per group one
//! members and one variables list, and per project one variables list.
//!
//! Failures never abort the sweep: a list that cannot be read is recorded in the report's errors
//! and makes the run `Partial`.

mod map;
mod payload;

use crate::ci_variable::ValueMatcher;
use crate::code_host::{pseudo_account, Part};
use crate::rest::{encode, RestClient, RestError, RestPolicy};
use crate::{Account, Observations, RunStatus, ScanReport};
use chrono::Utc;
use futures_util::stream::{self, StreamExt};
use http::HeaderName;
use map::{member_account, member_grant, variable_observation};
use octocrab::secrecy::{ExposeSecret, SecretString};
use octocrab::Octocrab;
use payload::{CiVariable, Group, Project};
use std::collections::BTreeMap;
use std::fmt;

/// The scanner kind, as it appears in [`ScanReport::scanner`].
pub const SCANNER: &str = "gitlab";

/// The GitLab.com API.
pub const GITLAB_API_URL: &str = "https://gitlab.com/api/v4";

/// What to sweep and how.
pub struct GitlabScanConfig {
    /// The top-level group: its full path (`acme`) or numeric id.
    pub group: String,
    /// API URL, `https://HOST/api/v4`, or a test server.
    pub api_url: String,
    /// `GITLAB_TOKEN` (sent as `PRIVATE-TOKEN`); `None` for anonymous reads.
    pub token: Option<SecretString>,
    pub policy: RestPolicy,
    /// Projects swept at the same time.
    pub concurrency: usize,
    /// `/admin/ci/variables` (needs an administrator token on a self-managed instance).
    pub instance_variables: bool,
}

impl fmt::Debug for GitlabScanConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitlabScanConfig")
            .field("group", &self.group)
            .field("api_url", &self.api_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("policy", &self.policy)
            .field("concurrency", &self.concurrency)
            .field("instance_variables", &self.instance_variables)
            .finish()
    }
}

impl GitlabScanConfig {
    /// Defaults for `group` on gitlab.com, with `GITLAB_TOKEN` from the environment if set.
    pub fn new(group: impl Into<String>) -> GitlabScanConfig {
        GitlabScanConfig {
            group: group.into(),
            api_url: GITLAB_API_URL.to_string(),
            token: std::env::var("GITLAB_TOKEN")
                .ok()
                .filter(|t| !t.trim().is_empty())
                .map(SecretString::from),
            policy: RestPolicy::default(),
            concurrency: 4,
            instance_variables: false,
        }
    }
}

/// Builds the client: octocrab's HTTP stack, no GitHub auth, `PRIVATE-TOKEN` on every request
/// (all requests are relative to `api_url`, so the token goes nowhere else).
pub(crate) fn gitlab_client(cfg: &GitlabScanConfig) -> Result<RestClient, String> {
    let mut builder = Octocrab::builder()
        .base_uri(cfg.api_url.as_str())
        .map_err(|e| format!("GitLab API URL {}: {e}", cfg.api_url))?;
    if let Some(t) = &cfg.token {
        builder = builder.add_header(
            HeaderName::from_static("private-token"),
            t.expose_secret().to_string(),
        );
    }
    let crab = builder
        .build()
        .map_err(|e| format!("GitLab client for {}: {e}", cfg.api_url))?;
    Ok(RestClient::new(crab, &cfg.api_url, cfg.policy.clone()))
}

/// Sweeps the group and returns the scan run's report. Never fails: problems are in the report.
pub async fn scan_gitlab(cfg: &GitlabScanConfig, matcher: &dyn ValueMatcher) -> ScanReport {
    let started_at = Utc::now();
    let system = format!("{SCANNER}:{}", cfg.group);
    let rest = match gitlab_client(cfg) {
        Ok(r) => r,
        Err(e) => return ScanReport::failed(SCANNER, system, started_at, vec![e], 0),
    };
    let top = match top_group(&rest, &cfg.group).await {
        Ok(group) => group,
        Err(e) => {
            let errors = vec![e.to_string()];
            return ScanReport::failed(SCANNER, system, started_at, errors, rest.calls());
        }
    };
    let mut all = Part::default();
    let mut groups = vec![top.clone()];
    let route = format!("/groups/{}/descendant_groups", top.id);
    if let Some(desc) = all.list::<Group>(&rest, &route, None).await {
        groups.extend(desc);
    }
    let route = format!("/groups/{}/projects?include_subgroups=true", top.id);
    let projects = all
        .list::<Project>(&rest, &route, None)
        .await
        .unwrap_or_default();
    let members = sweep_groups(&rest, &groups, matcher, &mut all).await;
    let mut parts = stream::iter(projects.iter())
        .map(|p| sweep_project(&rest, p, matcher))
        .buffer_unordered(cfg.concurrency.max(1));
    while let Some(part) = parts.next().await {
        all.merge(part);
    }
    if cfg.instance_variables {
        if let Some(vars) = all
            .list::<CiVariable>(&rest, "/admin/ci/variables", None)
            .await
        {
            all.accounts.push(pseudo_account("instance", "instance"));
            for v in &vars {
                all.credentials
                    .extend(variable_observation("instance", "instance", v, matcher));
            }
        }
    }
    all.accounts.extend(members.into_values());
    let mut report = ScanReport {
        scanner: SCANNER.into(),
        system,
        input_digest: None,
        status: RunStatus::Complete,
        started_at,
        finished_at: Utc::now(),
        observations: Observations {
            accounts: all.accounts,
            credentials: all.credentials,
            grants: all.grants,
        },
        errors: all.errors,
        coverage: Vec::new(),
        calls: rest.calls(),
    };
    // No part of a group is attributed to a unit of its own yet: any failure misses the group.
    report.settle(&["group".to_string()], all.misses);
    report
}

/// The group the sweep starts from; without it there is nothing to sweep.
async fn top_group(rest: &RestClient, group: &str) -> Result<Group, RestError> {
    let route = format!("/groups/{}", encode(group));
    let answer = rest.get(&route).await?.json("/groups/:id")?;
    serde_json::from_value::<Group>(answer).map_err(|e| RestError::Decode {
        route,
        message: e.to_string(),
    })
}

/// Each group's members (grants, and one account per member) and CI/CD variables. Returns the
/// members by username, first sighting kept.
async fn sweep_groups(
    rest: &RestClient,
    groups: &[Group],
    matcher: &dyn ValueMatcher,
    all: &mut Part,
) -> BTreeMap<String, Account> {
    let mut members: BTreeMap<String, Account> = BTreeMap::new();
    for group in groups {
        let route = format!("/groups/{}/members", group.id);
        if let Some(list) = all.list::<payload::Member>(rest, &route, None).await {
            for m in list {
                all.grants.push(member_grant(&m, &group.full_path));
                members
                    .entry(m.username.clone())
                    .or_insert_with(|| member_account(&m));
            }
        }
        let scope = format!("group:{}", group.full_path);
        let route = format!("/groups/{}/variables", group.id);
        if let Some(vars) = all.list::<CiVariable>(rest, &route, None).await {
            all.accounts.push(pseudo_account(&scope, "group"));
            for v in &vars {
                all.credentials
                    .extend(variable_observation(&scope, "group", v, matcher));
            }
        }
    }
    members
}

/// One project's CI/CD variables, under a `project:<path>` pseudo-account.
async fn sweep_project(rest: &RestClient, p: &Project, matcher: &dyn ValueMatcher) -> Part {
    let mut part = Part::default();
    let scope = format!("project:{}", p.path_with_namespace);
    let route = format!("/projects/{}/variables", p.id);
    if let Some(vars) = part.list::<CiVariable>(rest, &route, None).await {
        let mut a = pseudo_account(&scope, "project");
        if p.archived == Some(true) {
            a.attributes.insert("archived".into(), "true".into());
        }
        part.accounts.push(a);
        for v in &vars {
            part.credentials
                .extend(variable_observation(&scope, "project", v, matcher));
        }
    }
    part
}
