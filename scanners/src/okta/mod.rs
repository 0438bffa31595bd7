//! The Okta scanner (system `okta:<org host>`): users with their status, last login and profile
//! (email, login, employee number), group memberships, app assignments, admin roles and API
//! tokens with the user who owns them, through the Okta Management API.
//!
//! Authentication: `OKTA_API_TOKEN`, sent as `Authorization: SSWS …` to `api_url` only.
//!
//! Cost: one listing each of users, groups, apps, admin-role assignees and API tokens (pages of
//! 200), then one member listing per group, one user listing per app and one role listing per
//! administrator. Rate limits: `X-Rate-Limit-Remaining` / `X-Rate-Limit-Reset` are honoured
//! before each request, and a 429 waits until the reset time (see `crate::rest`).
//!
//! Coverage: each listing is a unit (`users`, `groups`, `app-assignments`, `admin-roles`,
//! `api-tokens`); a listing that fails misses its unit and the run is partial.

mod map;
mod payload;

use crate::coverage::{Miss, MissClass, IDP_ADMIN_ROLES, IDP_APP_ASSIGNMENTS, IDP_GROUPS};
use crate::idp::Listings;
use crate::rest::{encode, IdpPaging, RestClient, RestPolicy};
use crate::{Grant, Observations, RunStatus, ScanReport};
use chrono::{DateTime, Utc};
use octocrab::secrecy::{ExposeSecret, SecretString};
use octocrab::Octocrab;
use payload::{ApiToken, App, AppUser, Assignee, Group, Role, User};
use std::collections::HashMap;
use std::fmt;

/// The scanner kind, as it appears in [`ScanReport::scanner`].
pub const SCANNER: &str = "okta";

/// The units a complete Okta sweep covers.
const UNITS: [&str; 5] = [
    "users",
    IDP_GROUPS,
    IDP_APP_ASSIGNMENTS,
    IDP_ADMIN_ROLES,
    "api-tokens",
];

/// What to sweep and how.
pub struct OktaScanConfig {
    /// `https://ORG.okta.com` (or a test server).
    pub api_url: String,
    /// `OKTA_API_TOKEN`; `None` when the environment has none (the run then fails, saying so).
    pub token: Option<SecretString>,
    pub policy: RestPolicy,
    /// Items asked for per page (`limit`; Okta allows 200 for most lists).
    pub page_size: u32,
}

impl fmt::Debug for OktaScanConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaScanConfig")
            .field("api_url", &self.api_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("page_size", &self.page_size)
            .finish()
    }
}

impl OktaScanConfig {
    /// Settings for `api_url`, with `OKTA_API_TOKEN` from the environment.
    pub fn new(api_url: &str) -> OktaScanConfig {
        OktaScanConfig {
            api_url: api_url.trim_end_matches('/').to_string(),
            token: std::env::var("OKTA_API_TOKEN")
                .ok()
                .filter(|t| !t.trim().is_empty())
                .map(SecretString::from),
            policy: RestPolicy::default(),
            page_size: 200,
        }
    }

    /// The system findings are filed under: `okta:` and the org's host.
    pub fn system(&self) -> String {
        format!("{SCANNER}:{}", org_of(&self.api_url))
    }
}

/// The host of an API URL (`https://acme.okta.com/` → `acme.okta.com`).
pub fn org_of(api_url: &str) -> String {
    let rest = api_url.split_once("://").map_or(api_url, |(_, rest)| rest);
    rest.split('/').next().unwrap_or(rest).to_string()
}

fn client(cfg: &OktaScanConfig) -> Result<RestClient, String> {
    let Some(token) = &cfg.token else {
        return Err("OKTA_API_TOKEN is not set (a read-only administrator's API token)".into());
    };
    let crab = Octocrab::builder()
        .base_uri(cfg.api_url.as_str())
        .map_err(|e| format!("Okta API URL {}: {e}", cfg.api_url))?
        .add_header(
            http::header::AUTHORIZATION,
            format!("SSWS {}", token.expose_secret()),
        )
        .build()
        .map_err(|e| format!("Okta client for {}: {e}", cfg.api_url))?;
    Ok(RestClient::new(crab, &cfg.api_url, cfg.policy.clone()))
}

/// Every group's members as group grants.
async fn group_grants(lists: &mut Listings<'_>) -> Vec<Grant> {
    let mut out = Vec::new();
    if let Some(groups) = lists
        .read::<Group>(IDP_GROUPS, "/api/v1/groups", "okta.groups.read")
        .await
    {
        for g in &groups {
            let name = g
                .profile
                .get("name")
                .and_then(|v| v.as_str())
                .unwrap_or(&g.id)
                .to_string();
            let route = format!("/api/v1/groups/{}/users", encode(&g.id));
            if let Some(members) = lists
                .read::<User>(IDP_GROUPS, &route, "okta.groups.read")
                .await
            {
                for m in &members {
                    out.push(map::group_grant(&map::login(m), &g.id, &name));
                }
            }
        }
    }
    out
}

/// The users assigned to every active app, as app grants.
async fn app_grants(lists: &mut Listings<'_>, login_of: &HashMap<String, String>) -> Vec<Grant> {
    let mut out = Vec::new();
    if let Some(apps) = lists
        .read::<App>(IDP_APP_ASSIGNMENTS, "/api/v1/apps", "okta.apps.read")
        .await
    {
        for app in apps
            .iter()
            .filter(|a| a.status.as_deref() != Some("INACTIVE"))
        {
            let label = app.label.clone().unwrap_or_else(|| app.id.clone());
            let route = format!("/api/v1/apps/{}/users", encode(&app.id));
            if let Some(assigned) = lists
                .read::<AppUser>(IDP_APP_ASSIGNMENTS, &route, "okta.apps.read")
                .await
            {
                for au in &assigned {
                    if let Some(login) = login_of.get(&au.id) {
                        out.push(map::app_grant(login, &app.id, &label, au));
                    }
                }
            }
        }
    }
    out
}

/// The admin roles of every user with one, as role grants.
async fn admin_grants(lists: &mut Listings<'_>, login_of: &HashMap<String, String>) -> Vec<Grant> {
    let mut out = Vec::new();
    if let Some(admins) = lists
        .read::<Assignee>(
            IDP_ADMIN_ROLES,
            "/api/v1/iam/assignees/users",
            "okta.roles.read",
        )
        .await
    {
        for a in &admins {
            let Some(login) = login_of.get(&a.id) else {
                continue;
            };
            let route = format!("/api/v1/users/{}/roles", encode(&a.id));
            if let Some(roles) = lists
                .read::<Role>(IDP_ADMIN_ROLES, &route, "okta.roles.read")
                .await
            {
                for r in &roles {
                    out.push(map::role_grant(login, r));
                }
            }
        }
    }
    out
}

/// API tokens with their owner as accounts and credentials (into `obs`); a token whose owner
/// is not in the user listing misses the unit.
async fn api_tokens(
    lists: &mut Listings<'_>,
    login_of: &HashMap<String, String>,
    now: DateTime<Utc>,
    obs: &mut Observations,
) {
    if let Some(tokens) = lists
        .read::<ApiToken>("api-tokens", "/api/v1/api-tokens", "okta.apiTokens.read")
        .await
    {
        for t in &tokens {
            match login_of.get(&t.user_id) {
                Some(owner) => {
                    let (a, c) = map::api_token(t, owner, now);
                    obs.accounts.push(a);
                    obs.credentials.push(c);
                }
                None => lists.misses.push(Miss::new(
                    "api-tokens",
                    MissClass::Error,
                    format!(
                        "API token {} belongs to user {}, who is not in the user listing",
                        t.id, t.user_id
                    ),
                )),
            }
        }
    }
}

/// Sweeps the org and returns the scan run's report. Never fails: problems are in the report.
pub async fn scan_okta(cfg: &OktaScanConfig) -> ScanReport {
    let started_at = Utc::now();
    let system = cfg.system();
    let rest = match client(cfg) {
        Ok(r) => r,
        Err(e) => return ScanReport::failed(SCANNER, system, started_at, vec![e], 0),
    };
    let now = Utc::now();
    let mut lists = Listings::new(&rest, IdpPaging::Okta, cfg.page_size);
    let mut obs = Observations::default();

    let read_users = "okta.users.read";
    let Some(users) = lists
        .read::<User>("users", "/api/v1/users", read_users)
        .await
    else {
        let errors = lists.misses.iter().map(Miss::describe).collect();
        return ScanReport::failed(SCANNER, system, started_at, errors, rest.calls());
    };
    let login_of: HashMap<String, String> = users
        .iter()
        .map(|u| (u.id.clone(), map::login(u)))
        .collect();
    obs.accounts.extend(users.iter().map(map::user_account));

    obs.grants.extend(group_grants(&mut lists).await);
    obs.grants.extend(app_grants(&mut lists, &login_of).await);
    obs.grants.extend(admin_grants(&mut lists, &login_of).await);
    api_tokens(&mut lists, &login_of, now, &mut obs).await;

    let misses = std::mem::take(&mut lists.misses);
    let mut report = ScanReport {
        scanner: SCANNER.into(),
        system,
        input_digest: None,
        status: RunStatus::Complete,
        started_at,
        finished_at: Utc::now(),
        observations: obs,
        errors: Vec::new(),
        coverage: Vec::new(),
        calls: rest.calls(),
    };
    let units: Vec<String> = UNITS.iter().map(|s| s.to_string()).collect();
    report.settle(&units, misses);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_is_the_orgs_host() {
        assert_eq!(org_of("https://acme.okta.com/"), "acme.okta.com");
        assert_eq!(org_of("http://127.0.0.1:8080"), "127.0.0.1:8080");
    }

    #[test]
    fn suspended_and_deprovisioned_users_are_not_enabled() {
        for s in [
            "ACTIVE",
            "PROVISIONED",
            "RECOVERY",
            "LOCKED_OUT",
            "PASSWORD_EXPIRED",
        ] {
            assert_eq!(map::is_enabled(Some(s)), Some(true), "{s}");
        }
        for s in ["SUSPENDED", "DEPROVISIONED", "STAGED"] {
            assert_eq!(map::is_enabled(Some(s)), Some(false), "{s}");
        }
    }
}
