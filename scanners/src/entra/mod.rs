//! The Microsoft Entra ID scanner (system `entra:<tenant id>`): users with their state, sign-in
//! activity and session revocation time, transitive group memberships, directory roles, app role
//! assignments, and the applications and service principals users own with their client
//! secrets' and certificates' metadata (never their values), through Microsoft Graph v1.0.
//!
//! Authentication: an OAuth 2.0 client-credentials token from `login_url` for the app
//! registration named by `AZURE_TENANT_ID` / `AZURE_CLIENT_ID` / `AZURE_CLIENT_SECRET` (the names
//! the Azure SDKs use). The secret is sent to `login_url` only; the token to `graph_url` only.
//!
//! Cost: calls grow with pages and with the objects that hold access, never with users × calls:
//! one listing each of users, groups, directory roles, applications and service principals
//! (owners expanded in the same pages), then one member listing per group and per directory
//! role, and one `appRoleAssignedTo` listing per service principal. `$select` keeps every page
//! to the fields read. (`$batch` would only help per-user reads, which this sweep does not do.)
//!
//! Coverage: each listing is a unit (`users`, `users:last-used`, `groups`, `admin-roles`,
//! `app-assignments`, `applications`, `service-principals`); a listing that fails misses its
//! unit and the run is partial, so findings of that unit are not resolved.

mod map;
mod payload;

pub use map::{OWNERS, SESSIONS_VALID_FROM};

use crate::coverage::{Miss, MissClass, IDP_ADMIN_ROLES, IDP_APP_ASSIGNMENTS, IDP_GROUPS};
use crate::idp::Listings;
use crate::rest::{encode, IdpPaging, RestClient, RestPolicy};
use crate::{Grant, Observations, RunStatus, ScanReport};
use chrono::{DateTime, Utc};
use octocrab::secrecy::{ExposeSecret, SecretString};
use octocrab::Octocrab;
use payload::{App, AppRoleAssignment, DirectoryObject, Named, Token, User};
use std::collections::{BTreeSet, HashMap};
use std::fmt;

/// The scanner kind, as it appears in [`ScanReport::scanner`].
pub const SCANNER: &str = "entra";

/// Microsoft Graph (global service).
pub const GRAPH_URL: &str = "https://graph.microsoft.com";

/// The Microsoft identity platform (global service).
pub const LOGIN_URL: &str = "https://login.microsoftonline.com";

/// The `$select` of the user listing; `signInActivity` is asked for separately (it needs a
/// licence and one more permission, and its absence must not cost the whole listing).
const USER_FIELDS: &str = "id,userPrincipalName,displayName,mail,accountEnabled,employeeId,onPremisesImmutableId,createdDateTime,signInSessionsValidFromDateTime";

/// The `$select` and `$expand` of the application and service principal listings.
const APP_QUERY: &str = "$select=id,appId,displayName,accountEnabled,createdDateTime,passwordCredentials,keyCredentials&$expand=owners($select=id,userPrincipalName)";

/// What to sweep and how.
pub struct EntraScanConfig {
    pub tenant_id: String,
    pub client_id: String,
    /// `AZURE_CLIENT_SECRET`; `None` when the environment has none (the run then fails, saying so).
    pub client_secret: Option<SecretString>,
    /// Microsoft Graph's root (national clouds, a test server), without `/v1.0`.
    pub graph_url: String,
    /// The identity platform's root, without the tenant.
    pub login_url: String,
    pub policy: RestPolicy,
    /// Items asked for per page (`$top`, at most 999 for users).
    pub page_size: u32,
    /// Read `signInActivity` (needs Entra ID P1/P2 and `AuditLog.Read.All`).
    pub sign_in_activity: bool,
}

impl fmt::Debug for EntraScanConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraScanConfig")
            .field("tenant_id", &self.tenant_id)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("graph_url", &self.graph_url)
            .field("login_url", &self.login_url)
            .field("page_size", &self.page_size)
            .finish()
    }
}

impl EntraScanConfig {
    /// Settings from the environment (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
    /// `AZURE_CLIENT_SECRET`); `tenant_id` overrides the environment's tenant when given.
    pub fn from_env(tenant_id: Option<&str>) -> EntraScanConfig {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        EntraScanConfig {
            tenant_id: tenant_id
                .map(str::to_string)
                .or_else(|| env("AZURE_TENANT_ID"))
                .unwrap_or_default(),
            client_id: env("AZURE_CLIENT_ID").unwrap_or_default(),
            client_secret: env("AZURE_CLIENT_SECRET").map(SecretString::from),
            graph_url: GRAPH_URL.into(),
            login_url: LOGIN_URL.into(),
            policy: RestPolicy::default(),
            page_size: 999,
            sign_in_activity: true,
        }
    }

    /// The system findings are filed under.
    pub fn system(&self) -> String {
        format!("{SCANNER}:{}", self.tenant_id)
    }
}

/// The unit of the users' sign-in activity: what `credential-used-after-departure` rests on.
const LAST_USED: &str = "users:last-used";

/// Every unit a complete Entra sweep covers (`users:last-used` is one of them even when it is
/// switched off: then it is missed as disabled, never taken as read).
fn units() -> Vec<String> {
    [
        "users",
        IDP_GROUPS,
        IDP_ADMIN_ROLES,
        IDP_APP_ASSIGNMENTS,
        "applications",
        "service-principals",
        LAST_USED,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// Why no token could be had: a message naming the variable or the endpoint, never the secret.
async fn token(cfg: &EntraScanConfig) -> Result<(String, u64), String> {
    if cfg.tenant_id.is_empty() || cfg.client_id.is_empty() {
        return Err("AZURE_TENANT_ID and AZURE_CLIENT_ID must be set (the app registration that reads the directory)".into());
    }
    let Some(secret) = &cfg.client_secret else {
        return Err("AZURE_CLIENT_SECRET is not set (a certificate, AZURE_CLIENT_CERTIFICATE_PATH, is not supported yet)".into());
    };
    let login = cfg.login_url.trim_end_matches('/');
    let crab = Octocrab::builder()
        .base_uri(login)
        .map_err(|e| format!("login URL {login}: {e}"))?
        .build()
        .map_err(|e| format!("client for {login}: {e}"))?;
    let rest = RestClient::new(crab, login, cfg.policy.clone());
    let scope = format!("{}/.default", cfg.graph_url.trim_end_matches('/'));
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
        encode(&cfg.client_id),
        encode(secret.expose_secret()),
        encode(&scope)
    );
    let route = format!("/{}/oauth2/v2.0/token", encode(&cfg.tenant_id));
    let answer = rest
        .post_form(&route, &form)
        .await
        .map_err(|e| format!("token from {login}: {e}"))?;
    let t: Token = serde_json::from_str(&answer.body)
        .map_err(|e| format!("token from {login}{route}: cannot read the answer: {e}"))?;
    Ok((t.access_token, rest.calls()))
}

fn graph_client(cfg: &EntraScanConfig, token: &str) -> Result<RestClient, String> {
    let api = format!("{}/v1.0", cfg.graph_url.trim_end_matches('/'));
    let crab = Octocrab::builder()
        .base_uri(api.as_str())
        .map_err(|e| format!("Graph URL {api}: {e}"))?
        .add_header(http::header::AUTHORIZATION, format!("Bearer {token}"))
        .build()
        .map_err(|e| format!("Graph client for {api}: {e}"))?;
    Ok(RestClient::new(crab, &api, cfg.policy.clone()))
}

/// A listing of directory objects (groups, directory roles) whose members are read one object
/// at a time.
struct DirectoryListing<F: Fn(&str) -> String> {
    /// The coverage unit both the listing and the members belong to.
    unit: &'static str,
    route: &'static str,
    /// The members route of one object, from its (URL-encoded) id.
    members: F,
    /// The Graph permission a 403 names.
    permission: &'static str,
}

/// The grants of the users among the members of every object of `listing`, made by `grant`
/// from the user's UPN and the object's id and name.
async fn member_grants<F: Fn(&str) -> String>(
    lists: &mut Listings<'_>,
    upn_of: &HashMap<String, String>,
    listing: DirectoryListing<F>,
    grant: fn(&str, &str, &str) -> Grant,
) -> Vec<Grant> {
    let mut out = Vec::new();
    let Some(objects) = lists
        .read::<Named>(listing.unit, listing.route, listing.permission)
        .await
    else {
        return out;
    };
    for o in &objects {
        let route = (listing.members)(&encode(&o.id));
        let name = o.display_name.clone().unwrap_or_else(|| o.id.clone());
        if let Some(members) = lists
            .read::<DirectoryObject>(listing.unit, &route, listing.permission)
            .await
        {
            for m in members {
                if let Some(upn) = upn_of.get(&m.id) {
                    out.push(grant(upn, &o.id, &name));
                }
            }
        }
    }
    out
}

/// The service principals: those with owners as accounts with their credentials (into `obs`),
/// and the app role assignments of each to users, returned as grants.
async fn service_principals(
    lists: &mut Listings<'_>,
    upn_of: &HashMap<String, String>,
    now: DateTime<Utc>,
    obs: &mut Observations,
) -> Vec<Grant> {
    let mut out = Vec::new();
    let route = format!("/servicePrincipals?{APP_QUERY}");
    match lists
        .read::<App>("service-principals", &route, "Application.Read.All")
        .await
    {
        Some(sps) => {
            for sp in &sps {
                if let Some((a, creds)) = map::owned_app(sp, "service-principals", now) {
                    obs.accounts.push(a);
                    obs.credentials.extend(creds);
                }
                let route = format!("/servicePrincipals/{}/appRoleAssignedTo", encode(&sp.id));
                let sp_name = sp.display_name.clone().unwrap_or_else(|| sp.id.clone());
                if let Some(assigned) = lists
                    .read::<AppRoleAssignment>(IDP_APP_ASSIGNMENTS, &route, "Application.Read.All")
                    .await
                {
                    for a in assigned
                        .iter()
                        .filter(|a| a.principal_type.as_deref().is_none_or(|t| t == "User"))
                    {
                        if let Some(upn) = upn_of.get(&a.principal_id) {
                            out.push(map::assignment_grant(upn, &sp_name, a));
                        }
                    }
                }
            }
        }
        None => {
            // Assignments are read per service principal: without the listing none are.
            lists.misses.push(Miss::new(
                IDP_APP_ASSIGNMENTS,
                MissClass::Error,
                "the service principal listing failed, so no app role assignment was read",
            ));
        }
    }
    out
}

/// The users as accounts (into `obs`) with their sign-in times from a listing of their own (a
/// tenant without the licence or permission misses only that unit); returns each user's UPN by
/// object id.
async fn user_accounts(
    cfg: &EntraScanConfig,
    rest: &RestClient,
    lists: &mut Listings<'_>,
    users: Vec<User>,
    obs: &mut Observations,
) -> HashMap<String, String> {
    let mut upn_of: HashMap<String, String> = HashMap::new();
    let mut activity: HashMap<String, User> = HashMap::new();
    if cfg.sign_in_activity {
        let route = "/users?$select=id,userPrincipalName,signInActivity";
        let mut own = Listings::new(rest, IdpPaging::OData, cfg.page_size);
        match own
            .read::<User>(LAST_USED, route, "AuditLog.Read.All")
            .await
        {
            Some(list) => activity.extend(list.into_iter().map(|u| (u.id.clone(), u))),
            None => lists.misses.extend(own.misses),
        }
    } else {
        lists.misses.push(Miss::new(
            LAST_USED,
            MissClass::Disabled,
            "sign_in_activity = false in the scanner entry",
        ));
    }
    for mut u in users {
        if let Some(a) = activity.remove(&u.id) {
            u.sign_in_activity = a.sign_in_activity;
        }
        upn_of.insert(u.id.clone(), u.user_principal_name.clone());
        obs.accounts.push(map::user_account(&u));
    }
    upn_of
}

/// Sweeps the tenant and returns the scan run's report. Never fails: problems are in the report.
pub async fn scan_entra(cfg: &EntraScanConfig) -> ScanReport {
    let started_at = Utc::now();
    let system = cfg.system();
    let (token, token_calls) = match token(cfg).await {
        Ok(t) => t,
        Err(e) => return ScanReport::failed(SCANNER, system, started_at, vec![e], 1),
    };
    let rest = match graph_client(cfg, &token) {
        Ok(r) => r,
        Err(e) => return ScanReport::failed(SCANNER, system, started_at, vec![e], token_calls),
    };
    drop(token);
    let now = Utc::now();
    let mut lists = Listings::new(&rest, IdpPaging::OData, cfg.page_size);
    let mut obs = Observations::default();

    let route = format!("/users?$select={USER_FIELDS}");
    let Some(users) = lists.read::<User>("users", &route, "User.Read.All").await else {
        // Without users nothing else can be attributed to anyone.
        let errors = lists.misses.iter().map(Miss::describe).collect();
        return ScanReport::failed(
            SCANNER,
            system,
            started_at,
            errors,
            token_calls + rest.calls(),
        );
    };
    let upn_of = user_accounts(cfg, &rest, &mut lists, users, &mut obs).await;

    let mut grants: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut push = |obs: &mut Observations, g: Grant| {
        if grants.insert((
            g.account.clone(),
            g.kind.as_str().to_string(),
            g.target.clone(),
        )) {
            obs.grants.push(g);
        }
    };

    let groups = DirectoryListing {
        unit: IDP_GROUPS,
        route: "/groups?$select=id,displayName",
        members: |id| format!("/groups/{id}/transitiveMembers/microsoft.graph.user?$select=id"),
        permission: "GroupMember.Read.All",
    };
    for g in member_grants(&mut lists, &upn_of, groups, map::group_grant).await {
        push(&mut obs, g);
    }
    let roles = DirectoryListing {
        unit: IDP_ADMIN_ROLES,
        route: "/directoryRoles?$select=id,displayName",
        members: |id| format!("/directoryRoles/{id}/members?$select=id"),
        permission: "RoleManagement.Read.Directory",
    };
    for g in member_grants(&mut lists, &upn_of, roles, map::role_grant).await {
        push(&mut obs, g);
    }

    let route = format!("/applications?{APP_QUERY}");
    if let Some(apps) = lists
        .read::<App>("applications", &route, "Application.Read.All")
        .await
    {
        for app in &apps {
            if let Some((a, creds)) = map::owned_app(app, "applications", now) {
                obs.accounts.push(a);
                obs.credentials.extend(creds);
            }
        }
    }

    for g in service_principals(&mut lists, &upn_of, now, &mut obs).await {
        push(&mut obs, g);
    }

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
        calls: token_calls + rest.calls(),
    };
    report.settle(&units(), misses);
    report
}
