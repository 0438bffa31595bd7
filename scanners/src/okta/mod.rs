//! The Okta scanner (system `okta:<org host>`): users with their status, last login and profile
//! (email, login, employee number), group memberships, app assignments, admin roles and API
//! tokens with the user who owns them, through the Okta Management API.
//!
//! Authentication: an OAuth 2.0 service app when a client id is configured (`client_id` in the
//! entry or `OKTA_CLIENT_ID`, with its private key, `private_key_path` or `OKTA_PRIVATE_KEY_PATH`):
//! a client assertion signed with the key buys a bearer token for read-only scopes from
//! `{api_url}/oauth2/v1/token`, renewed when it expires mid-sweep. (The app must not require DPoP,
//! which Okta offers for service apps: the sweep sends plain bearer tokens.) Otherwise
//! `OKTA_API_TOKEN`, sent as `Authorization: SSWS …`. Either goes to `api_url` only.
//!
//! Cost: one listing each of users, groups, apps, admin-role assignees and API tokens (pages of
//! 200), then one member listing and one role listing per group (admin roles granted through a
//! group reach its members), one user listing per app and one role listing per administrator. Rate limits: `X-Rate-Limit-Remaining` / `X-Rate-Limit-Reset` are honoured
//! before each request, and a 429 waits until the reset time (see `crate::rest`).
//!
//! Coverage: each listing is a unit (`users`, `groups`, `app-assignments`, `admin-roles`,
//! `api-tokens`); a listing that fails misses its unit and the run is partial.

mod map;
mod payload;

use crate::coverage::{Miss, MissClass, IDP_ADMIN_ROLES, IDP_APP_ASSIGNMENTS, IDP_GROUPS};
use crate::idp::Listings;
use crate::oauth::assertion::AssertionKey;
use crate::oauth::{Bearer, ClientAuth, TokenEndpoint};
use crate::rest::{encode, IdpPaging, RestClient, RestPolicy};
use crate::{Grant, Observations, RunStatus, ScanReport};
use chrono::{DateTime, Utc};
use octocrab::secrecy::{ExposeSecret, SecretString};
use octocrab::Octocrab;
use payload::{ApiToken, App, AppUser, Assignee, Group, Role, User};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

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

/// The read-only scopes a service app asks for by default: what the sweep reads, nothing more.
pub const DEFAULT_SCOPES: &[&str] = &[
    "okta.users.read",
    "okta.groups.read",
    "okta.apps.read",
    "okta.roles.read",
    "okta.apiTokens.read",
];

/// An OAuth 2.0 service app that authenticates with a private key JWT.
#[derive(Debug, Clone)]
pub struct OktaServiceApp {
    pub client_id: String,
    /// A PEM file with the app's RSA private key (PKCS#8 or PKCS#1, not encrypted).
    pub private_key_path: Option<PathBuf>,
    /// The key's id (`kid`) registered with the app; needed when the app has more than one key.
    pub key_id: Option<String>,
    pub scopes: Vec<String>,
}

/// What to sweep and how.
pub struct OktaScanConfig {
    /// `https://ORG.okta.com` (or a test server).
    pub api_url: String,
    /// `OKTA_API_TOKEN`; used when no service app is configured. With neither, the run fails
    /// saying so.
    pub token: Option<SecretString>,
    /// The service app (`OKTA_CLIENT_ID`, `OKTA_PRIVATE_KEY_PATH`, or the entry's fields).
    pub service_app: Option<OktaServiceApp>,
    pub policy: RestPolicy,
    /// Items asked for per page (`limit`; Okta allows 200 for most lists).
    pub page_size: u32,
}

impl fmt::Debug for OktaScanConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OktaScanConfig")
            .field("api_url", &self.api_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("service_app", &self.service_app)
            .field("page_size", &self.page_size)
            .finish()
    }
}

impl OktaScanConfig {
    /// Settings for `api_url`, with `OKTA_API_TOKEN`, or the service app of `OKTA_CLIENT_ID` and
    /// `OKTA_PRIVATE_KEY_PATH`, from the environment.
    pub fn new(api_url: &str) -> OktaScanConfig {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        OktaScanConfig {
            api_url: api_url.trim_end_matches('/').to_string(),
            token: env("OKTA_API_TOKEN").map(SecretString::from),
            service_app: env("OKTA_CLIENT_ID").map(|client_id| OktaServiceApp {
                client_id,
                private_key_path: env("OKTA_PRIVATE_KEY_PATH").map(PathBuf::from),
                key_id: None,
                scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
            }),
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

/// A client that sends the API token as `SSWS`.
fn api_token_client(cfg: &OktaScanConfig) -> Result<RestClient, String> {
    let Some(token) = &cfg.token else {
        return Err("neither OKTA_API_TOKEN (a read-only administrator's API token) nor OKTA_CLIENT_ID (an OAuth 2.0 service app) is set".into());
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

/// The org authorization server's token endpoint for `app`, proved by a private key JWT.
fn token_endpoint(cfg: &OktaScanConfig, app: &OktaServiceApp) -> Result<TokenEndpoint, String> {
    let Some(path) = &app.private_key_path else {
        return Err(format!(
            "the Okta service app {} has no private key: set `private_key_path` in the scanner entry or OKTA_PRIVATE_KEY_PATH",
            app.client_id
        ));
    };
    let key = AssertionKey::from_pem_file(path, false, app.key_id.as_deref())
        .map_err(|e| format!("Okta private key: {e}"))?;
    let crab = Octocrab::builder()
        .base_uri(cfg.api_url.as_str())
        .map_err(|e| format!("Okta API URL {}: {e}", cfg.api_url))?
        .build()
        .map_err(|e| format!("Okta client for {}: {e}", cfg.api_url))?;
    let route = "/oauth2/v1/token".to_string();
    Ok(TokenEndpoint {
        rest: RestClient::new(crab, &cfg.api_url, cfg.policy.clone()),
        url: format!("{}{route}", cfg.api_url),
        route,
        client_id: app.client_id.clone(),
        scope: app.scopes.join(" "),
        auth: ClientAuth::Assertion(Box::new(key)),
    })
}

/// A client for the Management API, with the service app's token when one is configured (and
/// the token requests spent), else with the API token; or why there is none.
async fn connect(cfg: &OktaScanConfig) -> Result<(RestClient, Option<Arc<Bearer>>), (String, u64)> {
    let Some(app) = &cfg.service_app else {
        return api_token_client(cfg).map(|r| (r, None)).map_err(|e| (e, 0));
    };
    let endpoint = token_endpoint(cfg, app).map_err(|e| (e, 0))?;
    let asked = endpoint.rest.clone();
    let bearer = Arc::new(
        Bearer::start(endpoint)
            .await
            .map_err(|e| (e, asked.calls()))?,
    );
    let crab = Octocrab::builder()
        .base_uri(cfg.api_url.as_str())
        .map_err(|e| (format!("Okta API URL {}: {e}", cfg.api_url), bearer.calls()))?
        .build()
        .map_err(|e| {
            (
                format!("Okta client for {}: {e}", cfg.api_url),
                bearer.calls(),
            )
        })?;
    let rest = RestClient::new(crab, &cfg.api_url, cfg.policy.clone()).with_bearer(bearer.clone());
    Ok((rest, Some(bearer)))
}

/// Every group's members as group grants, and the admin roles granted to a group as role
/// grants of each of its members (Okta's group role assignments).
async fn group_grants(lists: &mut Listings<'_>) -> Vec<Grant> {
    let mut out = Vec::new();
    let Some(groups) = lists
        .read::<Group>(IDP_GROUPS, "/api/v1/groups", "okta.groups.read")
        .await
    else {
        lists.misses.push(Miss::new(
            IDP_ADMIN_ROLES,
            MissClass::Error,
            "the group listing failed, so no admin role granted through a group was read",
        ));
        return out;
    };
    for g in &groups {
        let name = g
            .profile
            .get("name")
            .and_then(|v| v.as_str())
            .unwrap_or(&g.id)
            .to_string();
        let route = format!("/api/v1/groups/{}/users", encode(&g.id));
        let Some(members) = lists
            .read::<User>(IDP_GROUPS, &route, "okta.groups.read")
            .await
        else {
            continue;
        };
        let logins: Vec<String> = members.iter().map(map::login).collect();
        out.extend(logins.iter().map(|l| map::group_grant(l, &g.id, &name)));
        let route = format!("/api/v1/groups/{}/roles", encode(&g.id));
        if let Some(roles) = lists
            .read::<Role>(IDP_ADMIN_ROLES, &route, "okta.roles.read")
            .await
        {
            for r in &roles {
                out.extend(logins.iter().map(|l| map::group_role_grant(l, r, &name)));
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

/// Grants gathered from several listings, each (account, kind, target) once: a role held both
/// directly and through a group is one grant.
fn dedup(grants: Vec<Grant>) -> Vec<Grant> {
    let mut seen = BTreeSet::new();
    grants
        .into_iter()
        .filter(|g| {
            seen.insert((
                g.account.clone(),
                g.kind.as_str().to_string(),
                g.target.clone(),
            ))
        })
        .collect()
}

/// Sweeps the org and returns the scan run's report. Never fails: problems are in the report.
pub async fn scan_okta(cfg: &OktaScanConfig) -> ScanReport {
    let started_at = Utc::now();
    let system = cfg.system();
    let (rest, bearer) = match connect(cfg).await {
        Ok(c) => c,
        Err((e, calls)) => return ScanReport::failed(SCANNER, system, started_at, vec![e], calls),
    };
    let calls = |rest: &RestClient| rest.calls() + bearer.as_ref().map_or(0, |b| b.calls());
    let now = Utc::now();
    let mut lists = Listings::new(&rest, IdpPaging::Okta, cfg.page_size);
    let mut obs = Observations::default();

    let read_users = "okta.users.read";
    let Some(users) = lists
        .read::<User>("users", "/api/v1/users", read_users)
        .await
    else {
        let errors = lists.misses.iter().map(Miss::describe).collect();
        return ScanReport::failed(SCANNER, system, started_at, errors, calls(&rest));
    };
    let login_of: HashMap<String, String> = users
        .iter()
        .map(|u| (u.id.clone(), map::login(u)))
        .collect();
    obs.accounts.extend(users.iter().map(map::user_account));

    let mut grants = group_grants(&mut lists).await;
    grants.extend(app_grants(&mut lists, &login_of).await);
    grants.extend(admin_grants(&mut lists, &login_of).await);
    obs.grants.extend(dedup(grants));
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
        calls: calls(&rest),
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
