//! The GitLab scanner: one group and its subgroups (system `gitlab:<group path>`) turned into
//! accounts (members), group grants with access levels, and CI/CD variables — project, group and,
//! optionally, instance variables — whose values are shown to a [`ValueMatcher`] and dropped.
//!
//! Cost: the group, its descendant groups and its projects (pages of 100), then per group one
//! members and one variables list, and per project one variables list.
//!
//! Failures never abort the sweep: a list that cannot be read is recorded in the report's errors
//! and makes the run `Partial`.

use crate::ci_variable::{variable_credentials, ReadableVariable, ValueMatcher};
use crate::github::map::{attrs, pseudo_account};
use crate::rest::{encode, RestClient, RestPolicy};
use crate::{Account, AccountKind, Credential, Grant, GrantKind, IdentityHints, Observations};
use crate::{RunStatus, ScanReport};
use chrono::Utc;
use futures_util::stream::{self, StreamExt};
use http::HeaderName;
use octocrab::secrecy::{ExposeSecret, SecretString};
use octocrab::Octocrab;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
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

/// `GET /groups/:id` and the items of `descendant_groups`.
#[derive(Debug, Clone, Deserialize)]
struct Group {
    id: u64,
    full_path: String,
}

/// Items of `GET /groups/:id/projects`.
#[derive(Debug, Clone, Deserialize)]
struct Project {
    id: u64,
    path_with_namespace: String,
    #[serde(default)]
    archived: Option<bool>,
}

/// Items of `GET /groups/:id/members`.
#[derive(Debug, Clone, Deserialize)]
struct Member {
    id: u64,
    username: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    expires_at: Option<String>,
    access_level: u32,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    public_email: Option<String>,
    #[serde(default)]
    bot: Option<bool>,
    #[serde(default)]
    membership_state: Option<String>,
    #[serde(default)]
    created_by: Option<Creator>,
    #[serde(default)]
    group_saml_identity: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
struct Creator {
    username: String,
}

/// Items of the three variables lists.
#[derive(Debug, Clone, Deserialize)]
struct CiVariable {
    key: String,
    #[serde(default)]
    value: Value,
    #[serde(default)]
    variable_type: Option<String>,
    #[serde(default)]
    protected: Option<bool>,
    #[serde(default)]
    masked: Option<bool>,
    #[serde(default)]
    hidden: Option<bool>,
    #[serde(default)]
    raw: Option<bool>,
    #[serde(default)]
    environment_scope: Option<String>,
}

/// GitLab's name for an access level number.
pub fn access_level_name(level: u32) -> &'static str {
    match level {
        0 => "no_access",
        5 => "minimal_access",
        10 => "guest",
        15 => "planner",
        20 => "reporter",
        30 => "developer",
        40 => "maintainer",
        50 => "owner",
        _ => "custom",
    }
}

#[derive(Default)]
struct Part {
    accounts: Vec<Account>,
    credentials: Vec<Credential>,
    grants: Vec<Grant>,
    errors: Vec<String>,
}

impl Part {
    async fn list<T: DeserializeOwned>(
        &mut self,
        rest: &RestClient,
        route: &str,
    ) -> Option<Vec<T>> {
        match rest.get_all(route, None).await {
            Ok(items) => Some(
                items
                    .into_iter()
                    .enumerate()
                    .filter_map(|(i, v)| match serde_json::from_value(v) {
                        Ok(t) => Some(t),
                        Err(e) => {
                            self.errors
                                .push(format!("{route}: item {i} skipped, unreadable: {e}"));
                            None
                        }
                    })
                    .collect(),
            ),
            Err(e) => {
                self.errors.push(e.to_string());
                None
            }
        }
    }

    fn merge(&mut self, o: Part) {
        self.accounts.extend(o.accounts);
        self.credentials.extend(o.credentials);
        self.grants.extend(o.grants);
        self.errors.extend(o.errors);
    }
}

/// Builds the client: octocrab's HTTP stack, no GitHub auth, `PRIVATE-TOKEN` on every request
/// (all requests are relative to `api_url`, so the token goes nowhere else).
pub fn gitlab_client(cfg: &GitlabScanConfig) -> Result<RestClient, String> {
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
    let system = format!("gitlab:{}", cfg.group);
    let rest = match gitlab_client(cfg) {
        Ok(r) => r,
        Err(e) => return ScanReport::failed(SCANNER, system, started_at, vec![e], 0),
    };
    let mut all = Part::default();
    let g = encode(&cfg.group);
    let top = match rest
        .get(&format!("/groups/{g}"))
        .await
        .and_then(|a| a.json("/groups/:id"))
        .and_then(|v| {
            serde_json::from_value::<Group>(v).map_err(|e| crate::rest::RestError::Decode {
                route: format!("/groups/{g}"),
                message: e.to_string(),
            })
        }) {
        Ok(group) => group,
        Err(e) => {
            return ScanReport::failed(
                SCANNER,
                system,
                started_at,
                vec![e.to_string()],
                rest.calls(),
            )
        }
    };
    let mut groups = vec![top.clone()];
    if let Some(desc) = all
        .list::<Group>(&rest, &format!("/groups/{}/descendant_groups", top.id))
        .await
    {
        groups.extend(desc);
    }
    let projects = all
        .list::<Project>(
            &rest,
            &format!("/groups/{}/projects?include_subgroups=true", top.id),
        )
        .await
        .unwrap_or_default();

    let mut members: BTreeMap<String, Account> = BTreeMap::new();
    for group in &groups {
        if let Some(list) = all
            .list::<Member>(&rest, &format!("/groups/{}/members", group.id))
            .await
        {
            for m in list {
                all.grants.push(member_grant(&m, &group.full_path));
                members
                    .entry(m.username.clone())
                    .or_insert_with(|| member_account(&m));
            }
        }
        let scope = format!("group:{}", group.full_path);
        if let Some(vars) = all
            .list::<CiVariable>(&rest, &format!("/groups/{}/variables", group.id))
            .await
        {
            all.accounts.push(pseudo_account(&scope, "group"));
            for v in &vars {
                all.credentials
                    .extend(variable_observation(&scope, "group", v, matcher));
            }
        }
    }
    let mut parts = stream::iter(projects.iter())
        .map(|p| {
            let rest = &rest;
            async move {
                let mut part = Part::default();
                let scope = format!("project:{}", p.path_with_namespace);
                if let Some(vars) = part
                    .list::<CiVariable>(rest, &format!("/projects/{}/variables", p.id))
                    .await
                {
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
        })
        .buffer_unordered(cfg.concurrency.max(1));
    while let Some(part) = parts.next().await {
        all.merge(part);
    }
    if cfg.instance_variables {
        if let Some(vars) = all.list::<CiVariable>(&rest, "/admin/ci/variables").await {
            all.accounts.push(pseudo_account("instance", "instance"));
            for v in &vars {
                all.credentials
                    .extend(variable_observation("instance", "instance", v, matcher));
            }
        }
    }
    all.accounts.extend(members.into_values());
    ScanReport {
        scanner: SCANNER.into(),
        system,
        status: if all.errors.is_empty() {
            RunStatus::Complete
        } else {
            RunStatus::Partial
        },
        started_at,
        finished_at: Utc::now(),
        observations: Observations {
            accounts: all.accounts,
            credentials: all.credentials,
            grants: all.grants,
        },
        errors: all.errors,
        calls: rest.calls(),
    }
}

fn member_account(m: &Member) -> Account {
    let mut emails = Vec::new();
    for e in [&m.email, &m.public_email].into_iter().flatten() {
        let e = e.trim();
        if !e.is_empty() && !emails.iter().any(|x: &String| x.eq_ignore_ascii_case(e)) {
            emails.push(e.to_string());
        }
    }
    let kind = if m.bot == Some(true)
        || (m.username.starts_with("project_") && m.username.contains("_bot"))
    {
        AccountKind::Service
    } else {
        AccountKind::User
    };
    let mut attributes = attrs([
        ("id", m.id.to_string()),
        ("name", m.name.clone().unwrap_or_default()),
        ("state", m.state.clone().unwrap_or_default()),
    ]);
    if let Some(uid) = m
        .group_saml_identity
        .as_ref()
        .and_then(|s| s.get("extern_uid"))
        .and_then(Value::as_str)
    {
        attributes.insert("saml_extern_uid".into(), uid.to_string());
    }
    Account {
        name: m.username.clone(),
        kind,
        enabled: m.state.as_deref().map(|s| s == "active"),
        created_at: None,
        last_used_at: None,
        hints: IdentityHints {
            emails,
            ..IdentityHints::default()
        },
        attributes,
    }
}

fn member_grant(m: &Member, group_path: &str) -> Grant {
    let mut attributes = attrs([
        ("access_level", m.access_level.to_string()),
        ("role", access_level_name(m.access_level).to_string()),
        (
            "membership_state",
            m.membership_state.clone().unwrap_or_default(),
        ),
        ("expires_at", m.expires_at.clone().unwrap_or_default()),
        (
            "added_by",
            m.created_by
                .as_ref()
                .map(|c| c.username.clone())
                .unwrap_or_default(),
        ),
    ]);
    if let Some(t) = m
        .created_at
        .as_deref()
        .and_then(|s| crate::time::parse_time(s).ok())
    {
        attributes.insert("created_at".into(), crate::time::format_time(&t));
    }
    Grant {
        account: m.username.clone(),
        kind: GrantKind::Group,
        target: group_path.to_string(),
        attributes,
    }
}

fn variable_observation(
    scope: &str,
    level: &str,
    v: &CiVariable,
    matcher: &dyn ValueMatcher,
) -> Vec<Credential> {
    let bool_attr = |b: Option<bool>| b.map(|b| b.to_string()).unwrap_or_default();
    let env = v.environment_scope.clone().unwrap_or_else(|| "*".into());
    let attributes = attrs([
        ("store", "gitlab-ci".into()),
        ("scope", scope.to_string()),
        ("level", level.to_string()),
        ("name", v.key.clone()),
        ("variable_type", v.variable_type.clone().unwrap_or_default()),
        ("protected", bool_attr(v.protected)),
        ("masked", bool_attr(v.masked)),
        ("hidden", bool_attr(v.hidden)),
        ("raw", bool_attr(v.raw)),
        ("environment_scope", env.clone()),
    ]);
    variable_credentials(
        ReadableVariable {
            account: scope.to_string(),
            id: format!("gitlab-variable:{scope}:{}:{env}", v.key),
            // Hidden variables come back with `value: null`.
            value: v.value.as_str(),
            created_at: None,
            attributes,
        },
        matcher,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_access_levels() {
        assert_eq!(access_level_name(30), "developer");
        assert_eq!(access_level_name(50), "owner");
        assert_eq!(access_level_name(7), "custom");
    }
}
