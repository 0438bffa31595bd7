//! The Microsoft Entra ID scanner (system `entra:<tenant id>`): users with their state, sign-in
//! activity and session revocation time, transitive group memberships, directory roles, app role
//! assignments, and the applications and service principals users own with their client
//! secrets' and certificates' metadata (never their values), through Microsoft Graph v1.0.
//!
//! Authentication: an OAuth 2.0 client-credentials token from `login_url` for the app
//! registration named by `AZURE_TENANT_ID` / `AZURE_CLIENT_ID`, proved either by
//! `AZURE_CLIENT_SECRET` or by a certificate credential, `AZURE_CLIENT_CERTIFICATE_PATH` (a PEM
//! file with the private key and the certificate, signing a client assertion; see
//! `crate::oauth::assertion`) — the names and the precedence the Azure SDKs use. The secret or
//! assertion is sent to `login_url` only; the token to `graph_url` only, and renewed when it
//! expires mid-sweep.
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
use crate::oauth::assertion::AssertionKey;
use crate::oauth::{Bearer, ClientAuth, TokenEndpoint};
use crate::rest::{encode, IdpPaging, RestClient, RestPolicy};
use crate::{Grant, Observations, RunStatus, ScanReport};
use chrono::{DateTime, Utc};
use octocrab::secrecy::SecretString;
use octocrab::Octocrab;
use payload::{App, AppRoleAssignment, DirectoryObject, Named, User};
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

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
    /// `AZURE_CLIENT_SECRET`; `None` when the environment has none.
    pub client_secret: Option<SecretString>,
    /// `AZURE_CLIENT_CERTIFICATE_PATH`: a PEM file with the private key and the certificate,
    /// used when there is no client secret (the Azure SDKs' order). With neither, the run fails
    /// saying so.
    pub client_certificate_path: Option<PathBuf>,
    /// Whether `AZURE_CLIENT_CERTIFICATE_PASSWORD` is set: encrypted keys are refused by name.
    pub client_certificate_password: bool,
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
            .field("client_certificate_path", &self.client_certificate_path)
            .field("graph_url", &self.graph_url)
            .field("login_url", &self.login_url)
            .field("page_size", &self.page_size)
            .finish()
    }
}

impl EntraScanConfig {
    /// Settings from the environment (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
    /// `AZURE_CLIENT_SECRET`, `AZURE_CLIENT_CERTIFICATE_PATH`, `AZURE_CLIENT_CERTIFICATE_PASSWORD`);
    /// `tenant_id` overrides the environment's tenant when given.
    pub fn from_env(tenant_id: Option<&str>) -> EntraScanConfig {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        EntraScanConfig {
            tenant_id: tenant_id
                .map(str::to_string)
                .or_else(|| env("AZURE_TENANT_ID"))
                .unwrap_or_default(),
            client_id: env("AZURE_CLIENT_ID").unwrap_or_default(),
            client_secret: env("AZURE_CLIENT_SECRET").map(SecretString::from),
            client_certificate_path: env("AZURE_CLIENT_CERTIFICATE_PATH").map(PathBuf::from),
            client_certificate_password: env("AZURE_CLIENT_CERTIFICATE_PASSWORD").is_some(),
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

/// How the app registration proves itself: the client secret, else the certificate (the Azure
/// SDKs' order). The error names the variable or the file, never a secret.
fn client_auth(cfg: &EntraScanConfig) -> Result<ClientAuth, String> {
    if let Some(secret) = &cfg.client_secret {
        return Ok(ClientAuth::Secret(secret.clone()));
    }
    let Some(path) = &cfg.client_certificate_path else {
        return Err("neither AZURE_CLIENT_SECRET nor AZURE_CLIENT_CERTIFICATE_PATH is set (the app registration's client secret, or a PEM file with its certificate and private key)".into());
    };
    if cfg.client_certificate_password {
        return Err(format!(
            "AZURE_CLIENT_CERTIFICATE_PASSWORD is set, but encrypted private keys are not supported: decrypt {} (openssl pkey) and unset the password",
            path.display()
        ));
    }
    AssertionKey::from_pem_file(path, true, None)
        .map(|k| ClientAuth::Assertion(Box::new(k)))
        .map_err(|e| format!("AZURE_CLIENT_CERTIFICATE_PATH: {e}"))
}

/// The tenant's token endpoint, asking for Graph's application permissions (`.default`).
fn token_endpoint(cfg: &EntraScanConfig) -> Result<TokenEndpoint, String> {
    if cfg.tenant_id.is_empty() || cfg.client_id.is_empty() {
        return Err("AZURE_TENANT_ID and AZURE_CLIENT_ID must be set (the app registration that reads the directory)".into());
    }
    let auth = client_auth(cfg)?;
    let login = cfg.login_url.trim_end_matches('/');
    let crab = Octocrab::builder()
        .base_uri(login)
        .map_err(|e| format!("login URL {login}: {e}"))?
        .build()
        .map_err(|e| format!("client for {login}: {e}"))?;
    let route = format!("/{}/oauth2/v2.0/token", encode(&cfg.tenant_id));
    Ok(TokenEndpoint {
        rest: RestClient::new(crab, login, cfg.policy.clone()),
        url: format!("{login}{route}"),
        route,
        client_id: cfg.client_id.clone(),
        scope: format!("{}/.default", cfg.graph_url.trim_end_matches('/')),
        auth,
    })
}

/// A Graph client holding a token (renewed as it expires), or why there is none and the calls
/// spent finding out.
async fn connect(cfg: &EntraScanConfig) -> Result<(RestClient, Arc<Bearer>), (String, u64)> {
    let endpoint = token_endpoint(cfg).map_err(|e| (e, 0))?;
    let login = endpoint.rest.clone();
    let bearer = Arc::new(
        Bearer::start(endpoint)
            .await
            .map_err(|e| (e, login.calls()))?,
    );
    let api = format!("{}/v1.0", cfg.graph_url.trim_end_matches('/'));
    let crab = Octocrab::builder()
        .base_uri(api.as_str())
        .map_err(|e| (format!("Graph URL {api}: {e}"), bearer.calls()))?
        .build()
        .map_err(|e| (format!("Graph client for {api}: {e}"), bearer.calls()))?;
    let rest = RestClient::new(crab, &api, cfg.policy.clone()).with_bearer(bearer.clone());
    Ok((rest, bearer))
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

/// Grants gathered from several listings, each (account, kind, target) once.
#[derive(Default)]
struct GrantSet(BTreeSet<(String, String, String)>);

impl GrantSet {
    fn add(&mut self, obs: &mut Observations, grants: Vec<Grant>) {
        for g in grants {
            let key = (
                g.account.clone(),
                g.kind.as_str().to_string(),
                g.target.clone(),
            );
            if self.0.insert(key) {
                obs.grants.push(g);
            }
        }
    }
}

/// The owned applications, as accounts with their credentials (into `obs`).
async fn applications(lists: &mut Listings<'_>, now: DateTime<Utc>, obs: &mut Observations) {
    let route = format!("/applications?{APP_QUERY}");
    let Some(apps) = lists
        .read::<App>("applications", &route, "Application.Read.All")
        .await
    else {
        return;
    };
    for app in &apps {
        if let Some((a, creds)) = map::owned_app(app, "applications", now) {
            obs.accounts.push(a);
            obs.credentials.extend(creds);
        }
    }
}

/// Everything after the users: memberships, directory roles, owned apps and service principals
/// with their assignments.
async fn access(
    lists: &mut Listings<'_>,
    upn_of: &HashMap<String, String>,
    now: DateTime<Utc>,
    obs: &mut Observations,
) {
    let mut grants = GrantSet::default();
    let groups = DirectoryListing {
        unit: IDP_GROUPS,
        route: "/groups?$select=id,displayName",
        members: |id| format!("/groups/{id}/transitiveMembers/microsoft.graph.user?$select=id"),
        permission: "GroupMember.Read.All",
    };
    let found = member_grants(lists, upn_of, groups, map::group_grant).await;
    grants.add(obs, found);
    let roles = DirectoryListing {
        unit: IDP_ADMIN_ROLES,
        route: "/directoryRoles?$select=id,displayName",
        members: |id| format!("/directoryRoles/{id}/members?$select=id"),
        permission: "RoleManagement.Read.Directory",
    };
    let found = member_grants(lists, upn_of, roles, map::role_grant).await;
    grants.add(obs, found);
    applications(lists, now, obs).await;
    let found = service_principals(lists, upn_of, now, obs).await;
    grants.add(obs, found);
}

/// Sweeps the tenant and returns the scan run's report. Never fails: problems are in the report.
pub async fn scan_entra(cfg: &EntraScanConfig) -> ScanReport {
    let started_at = Utc::now();
    let system = cfg.system();
    let (rest, bearer) = match connect(cfg).await {
        Ok(c) => c,
        Err((e, calls)) => return ScanReport::failed(SCANNER, system, started_at, vec![e], calls),
    };
    let calls = |rest: &RestClient| bearer.calls() + rest.calls();
    let now = Utc::now();
    let mut lists = Listings::new(&rest, IdpPaging::OData, cfg.page_size);
    let mut obs = Observations::default();

    let route = format!("/users?$select={USER_FIELDS}");
    let Some(users) = lists.read::<User>("users", &route, "User.Read.All").await else {
        // Without users nothing else can be attributed to anyone.
        let errors = lists.misses.iter().map(Miss::describe).collect();
        return ScanReport::failed(SCANNER, system, started_at, errors, calls(&rest));
    };
    let upn_of = user_accounts(cfg, &rest, &mut lists, users, &mut obs).await;
    access(&mut lists, &upn_of, now, &mut obs).await;

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
    report.settle(&units(), misses);
    report
}
