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
//! `Failed`.

pub mod codeowners;
pub mod graphql;
pub mod map;
pub mod payload;

use crate::ci_variable::{variable_credentials, ReadableVariable};
pub use crate::ci_variable::{NoMatcher, ValueMatch, ValueMatcher};
use crate::rest::{encode, RestClient, RestError, RestPolicy};
use crate::{Account, AccountKind, Credential, Grant, GrantKind, IdentityHints, Observations};
use crate::{RunStatus, ScanReport};
use base64::Engine;
use chrono::Utc;
use futures_util::stream::{self, StreamExt};
use map::Scope;
use octocrab::models::{AppId, InstallationId};
use octocrab::secrecy::SecretString;
use octocrab::Octocrab;
use payload::{Environment, Invitation, Repository, Secret, Team, User, Variable};
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;

/// The scanner kind, as it appears in [`ScanReport::scanner`].
pub const SCANNER: &str = "github";

/// The public GitHub API.
pub const GITHUB_API_URL: &str = "https://api.github.com";

/// How the scanner authenticates. `Debug` never shows a token.
pub enum GithubAuth {
    /// A token (`GITHUB_TOKEN`): classic PAT, fine-grained PAT or an installation token.
    Token(SecretString),
    /// A GitHub App: its id and private key file; the installation on the org is looked up when
    /// `installation_id` is `None`. Needed for the fine-grained PAT grants list.
    App {
        app_id: u64,
        private_key: PathBuf,
        installation_id: Option<u64>,
    },
    /// No credentials (tests, public data only).
    Anonymous,
}

impl GithubAuth {
    /// `GITHUB_TOKEN` from the environment.
    pub fn from_env() -> Result<GithubAuth, GithubError> {
        match std::env::var("GITHUB_TOKEN") {
            Ok(t) if !t.trim().is_empty() => Ok(GithubAuth::Token(SecretString::from(t))),
            _ => Err(GithubError::NoCredentials),
        }
    }
}

impl fmt::Debug for GithubAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GithubAuth::Token(_) => f.write_str("Token(<redacted>)"),
            GithubAuth::App {
                app_id,
                private_key,
                installation_id,
            } => f
                .debug_struct("App")
                .field("app_id", app_id)
                .field("private_key", private_key)
                .field("installation_id", installation_id)
                .finish(),
            GithubAuth::Anonymous => f.write_str("Anonymous"),
        }
    }
}

/// Where CODEOWNERS files are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeownersSource {
    /// Batched GraphQL (`object(expression: "HEAD:<path>")`), together with environment names.
    GraphQl,
    /// The contents API, up to three requests per repository (GHES without GraphQL access).
    Contents,
    /// Not read.
    Off,
}

/// What to sweep and how. Build with [`GithubScanConfig::new`] and adjust fields.
#[derive(Debug)]
pub struct GithubScanConfig {
    /// The organisation login.
    pub org: String,
    /// REST API URL: `https://api.github.com`, `https://HOST/api/v3` (GHES), or a test server.
    pub api_url: String,
    /// GraphQL URL; `None` derives it (`…/graphql`, or `https://HOST/api/graphql` for GHES).
    pub graphql_url: Option<String>,
    pub auth: GithubAuth,
    /// Timeouts, retries, rate-limit waits, `per_page` and `max_pages`.
    pub policy: RestPolicy,
    /// Repositories swept at the same time (GitHub asks integrators not to hammer it: keep ≤ 8).
    pub concurrency: usize,
    /// Repositories per GraphQL query for CODEOWNERS and environments.
    pub graphql_batch: usize,
    pub codeowners: CodeownersSource,
    /// Environment secrets and variables (two requests per environment).
    pub environments: bool,
    /// Repository-level Dependabot secrets (one request per repository).
    pub repo_dependabot_secrets: bool,
    /// Repository-level Codespaces secrets (one request per repository).
    pub repo_codespaces_secrets: bool,
    /// Repository webhooks (one request per repository); org webhooks are always read.
    pub repo_webhooks: bool,
    /// `/orgs/{org}/personal-access-tokens` (needs a GitHub App installation token).
    pub fine_grained_pats: bool,
    /// `/orgs/{org}/credential-authorizations` (GitHub Enterprise Cloud with SAML SSO).
    pub sso_credentials: bool,
    /// SAML external identities over GraphQL (GitHub Enterprise Cloud with SAML SSO).
    pub saml_identities: bool,
}

impl GithubScanConfig {
    /// Defaults for `org` on github.com: the four-requests-per-repository sweep; PAT grants when
    /// authenticated as an App; GHEC-only reads off.
    pub fn new(org: impl Into<String>, auth: GithubAuth) -> GithubScanConfig {
        let is_app = matches!(auth, GithubAuth::App { .. });
        GithubScanConfig {
            org: org.into(),
            api_url: GITHUB_API_URL.to_string(),
            graphql_url: None,
            auth,
            policy: RestPolicy::default(),
            concurrency: 4,
            graphql_batch: 25,
            codeowners: CodeownersSource::GraphQl,
            environments: true,
            repo_dependabot_secrets: false,
            repo_codespaces_secrets: false,
            repo_webhooks: false,
            fine_grained_pats: is_app,
            sso_credentials: false,
            saml_identities: false,
        }
    }

    /// The system findings are filed under.
    pub fn system(&self) -> String {
        format!("github:{}", self.org)
    }

    fn graphql_route(&self) -> String {
        if let Some(u) = &self.graphql_url {
            return u.clone();
        }
        let base = self.api_url.trim_end_matches('/');
        match base.strip_suffix("/api/v3") {
            Some(host) => format!("{host}/api/graphql"),
            None => "/graphql".to_string(),
        }
    }
}

/// Why the scanner could not start. Failures during the sweep are not errors: they are recorded
/// in the [`ScanReport`].
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("no GitHub credentials: set GITHUB_TOKEN or configure a GitHub App (app id and private key file)")]
    NoCredentials,
    #[error("{path}: cannot read the GitHub App private key")]
    PrivateKey {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("GitHub client for {api_url}: {message}")]
    Client { api_url: String, message: String },
    #[error("GitHub App installation on {org}: {source}")]
    Installation {
        org: String,
        #[source]
        source: RestError,
    },
}

/// Builds the authenticated client (for an App: looks up and authenticates as its installation).
pub async fn github_client(cfg: &GithubScanConfig) -> Result<RestClient, GithubError> {
    let client_err = |e: octocrab::Error| GithubError::Client {
        api_url: cfg.api_url.clone(),
        message: e.to_string(),
    };
    let builder = Octocrab::builder()
        .base_uri(cfg.api_url.as_str())
        .map_err(client_err)?;
    let crab = match &cfg.auth {
        GithubAuth::Token(t) => builder.personal_token(t.clone()).build(),
        GithubAuth::Anonymous => builder.build(),
        GithubAuth::App {
            app_id,
            private_key,
            installation_id,
        } => {
            let pem = std::fs::read(private_key).map_err(|source| GithubError::PrivateKey {
                path: private_key.clone(),
                source,
            })?;
            let app = builder
                .app_from_rsa_pem(AppId(*app_id), pem)
                .map_err(client_err)?
                .build()
                .map_err(client_err)?;
            let id = match installation_id {
                Some(id) => *id,
                None => {
                    let rest = RestClient::new(app.clone(), &cfg.api_url, cfg.policy.clone());
                    let route = format!("/orgs/{}/installation", encode(&cfg.org));
                    let install_err = |source| GithubError::Installation {
                        org: cfg.org.clone(),
                        source,
                    };
                    let v = rest.get(&route).await.map_err(install_err)?.json(&route);
                    v.map_err(install_err)?
                        .get("id")
                        .and_then(serde_json::Value::as_u64)
                        .ok_or_else(|| {
                            install_err(RestError::Decode {
                                route: route.clone(),
                                message: "no installation id".into(),
                            })
                        })?
                }
            };
            app.installation(InstallationId(id))
        }
    }
    .map_err(client_err)?;
    Ok(RestClient::new(crab, &cfg.api_url, cfg.policy.clone()))
}

/// Sweeps the org and returns the scan run's report. Never fails: a client that cannot be built
/// gives a `Failed` report with the reason.
pub async fn scan_github(cfg: &GithubScanConfig, matcher: &dyn ValueMatcher) -> ScanReport {
    let started_at = Utc::now();
    match github_client(cfg).await {
        Ok(rest) => scan_github_with(cfg, &rest, matcher, started_at).await,
        Err(e) => ScanReport::failed(SCANNER, cfg.system(), started_at, vec![e.to_string()], 0),
    }
}

/// What one part of the sweep found and what it could not read.
#[derive(Default)]
struct Part {
    accounts: Vec<Account>,
    credentials: Vec<Credential>,
    grants: Vec<Grant>,
    /// Parts of the scope that could not be read: the run is partial.
    errors: Vec<String>,
    /// Warnings that do not make the run partial.
    notes: Vec<String>,
}

impl Part {
    fn merge(&mut self, other: Part) {
        self.accounts.extend(other.accounts);
        self.credentials.extend(other.credentials);
        self.grants.extend(other.grants);
        self.errors.extend(other.errors);
        self.notes.extend(other.notes);
    }

    /// Reads a whole list, decoding item by item; failures are recorded and yield `None` (or skip
    /// the undecodable item).
    async fn list<T: DeserializeOwned>(
        &mut self,
        rest: &RestClient,
        route: &str,
        key: Option<&str>,
    ) -> Option<Vec<T>> {
        match rest.get_all(route, key).await {
            Ok(items) => Some(self.decode(route, items)),
            Err(e) => {
                self.errors.push(e.to_string());
                None
            }
        }
    }

    fn decode<T: DeserializeOwned>(
        &mut self,
        route: &str,
        items: Vec<serde_json::Value>,
    ) -> Vec<T> {
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
            .collect()
    }
}

/// [`scan_github`] with a client already built (tests, benchmarks, a shared client).
pub async fn scan_github_with(
    cfg: &GithubScanConfig,
    rest: &RestClient,
    matcher: &dyn ValueMatcher,
    started_at: chrono::DateTime<Utc>,
) -> ScanReport {
    let calls_before = rest.calls();
    let org = cfg.org.as_str();
    let o = encode(org);
    let mut all = Part::default();
    let mut org_account = map::pseudo_account(&map::org_pseudo_account(org), "org");

    // Members, by role; 2FA status where the token may see it.
    let mut members_read = true;
    let no_2fa: Option<BTreeSet<String>> = {
        let mut probe = Part::default();
        let list = probe
            .list::<User>(
                rest,
                &format!("/orgs/{o}/members?filter=2fa_disabled"),
                None,
            )
            .await;
        if list.is_none() {
            all.notes.push(format!(
                "two-factor status unknown (org owners only): {}",
                probe.errors.join("; ")
            ));
        }
        list.map(|l| l.into_iter().map(|u| u.login).collect())
    };
    for role in ["admin", "member"] {
        let route = format!("/orgs/{o}/members?role={role}");
        match all.list::<User>(rest, &route, None).await {
            Some(users) => {
                for u in users {
                    let tf = no_2fa.as_ref().map(|s| !s.contains(&u.login));
                    all.grants.push(map::org_member_grant(&u.login, org, role));
                    all.accounts.push(map::member_account(&u, role, tf));
                }
            }
            None => members_read = false,
        }
    }
    if let Some(users) = all
        .list::<User>(rest, &format!("/orgs/{o}/outside_collaborators"), None)
        .await
    {
        all.accounts
            .extend(users.iter().map(map::outside_collaborator_account));
    }
    for (route, failed) in [
        (format!("/orgs/{o}/invitations"), false),
        (format!("/orgs/{o}/failed_invitations"), true),
    ] {
        if let Some(invs) = all.list::<Invitation>(rest, &route, None).await {
            all.grants.extend(
                invs.iter()
                    .filter_map(|i| map::invitation_grant(i, org, failed)),
            );
        }
    }
    if let Some(insts) = all
        .list::<payload::Installation>(
            rest,
            &format!("/orgs/{o}/installations"),
            Some("installations"),
        )
        .await
    {
        all.accounts
            .extend(insts.iter().map(map::installation_account));
    }
    if let Some(hooks) = all
        .list::<payload::Hook>(rest, &format!("/orgs/{o}/hooks"), None)
        .await
    {
        org_account.attributes.extend(map::hook_attributes(&hooks));
    }

    // Teams, nested, with members and the repositories they grant.
    let teams_part = sweep_teams(cfg, rest).await;
    all.merge(teams_part);

    // Org-level secrets and variables.
    let org_part = sweep_org_secrets(cfg, rest, matcher).await;
    all.merge(org_part);

    if cfg.fine_grained_pats {
        if let Some(grants) = all
            .list::<payload::PatGrant>(rest, &format!("/orgs/{o}/personal-access-tokens"), None)
            .await
        {
            all.credentials
                .extend(grants.iter().map(map::pat_grant_credential));
        }
    }
    if cfg.sso_credentials {
        if let Some(auths) = all
            .list::<payload::CredentialAuthorization>(
                rest,
                &format!("/orgs/{o}/credential-authorizations"),
                None,
            )
            .await
        {
            all.credentials
                .extend(auths.iter().map(map::sso_credential));
        }
    }
    let saml = if cfg.saml_identities {
        saml_identities(cfg, rest, &mut all).await
    } else {
        HashMap::new()
    };

    // Repositories.
    let repos = all
        .list::<Repository>(rest, &format!("/orgs/{o}/repos?type=all"), None)
        .await;
    let repos_read = repos.is_some();
    let repos = repos.unwrap_or_default();
    let extras = repo_extras(cfg, rest, &repos, &mut all).await;
    let mut parts = stream::iter(repos.iter().zip(extras))
        .map(|(repo, extra)| sweep_repo(cfg, rest, matcher, repo, extra))
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
    all.accounts.push(org_account);

    let status = if !members_read && !repos_read {
        RunStatus::Failed
    } else if all.errors.is_empty() {
        RunStatus::Complete
    } else {
        RunStatus::Partial
    };
    let observations = assemble(all.accounts, all.credentials, all.grants, &saml);
    let mut errors = all.errors;
    errors.extend(all.notes.into_iter().map(|n| format!("note: {n}")));
    ScanReport {
        scanner: SCANNER.into(),
        system: cfg.system(),
        status,
        started_at,
        finished_at: Utc::now(),
        observations,
        errors,
        calls: rest.calls() - calls_before,
    }
}

/// Deduplicates accounts (a login seen as member and outside collaborator keeps the first),
/// adds SAML emails, and adds an account for every login that holds a credential or grant but is
/// not a member (a deploy key's adder who left the org, an invitee, a CODEOWNERS entry): the
/// core only looks at credentials and grants through accounts.
fn assemble(
    accounts: Vec<Account>,
    credentials: Vec<Credential>,
    grants: Vec<Grant>,
    saml: &HashMap<String, Vec<String>>,
) -> Observations {
    let mut by_name: BTreeMap<String, Account> = BTreeMap::new();
    for a in accounts {
        by_name.entry(a.name.clone()).or_insert(a);
    }
    let mut referenced: BTreeMap<String, &'static str> = BTreeMap::new();
    for c in &credentials {
        referenced.entry(c.account.clone()).or_insert("none");
    }
    for g in &grants {
        let how = if g.kind == GrantKind::Invitation {
            "invited"
        } else {
            "none"
        };
        referenced.entry(g.account.clone()).or_insert(how);
    }
    for (name, membership) in referenced {
        if by_name.contains_key(&name) {
            continue;
        }
        let emails = if name.contains('@') {
            vec![name.clone()]
        } else {
            Vec::new()
        };
        by_name.insert(
            name.clone(),
            Account {
                name,
                kind: AccountKind::User,
                enabled: None,
                created_at: None,
                last_used_at: None,
                hints: IdentityHints {
                    emails,
                    ..IdentityHints::default()
                },
                attributes: map::attrs([("membership", membership.to_string())]),
            },
        );
    }
    for (login, emails) in saml {
        if let Some(a) = by_name.get_mut(login) {
            for e in emails {
                if !a.hints.emails.iter().any(|x| x.eq_ignore_ascii_case(e)) {
                    a.hints.emails.push(e.clone());
                }
            }
            a.attributes.insert("saml_linked".into(), "true".into());
        }
    }
    Observations {
        accounts: by_name.into_values().collect(),
        credentials,
        grants,
    }
}

async fn sweep_teams(cfg: &GithubScanConfig, rest: &RestClient) -> Part {
    let mut part = Part::default();
    let o = encode(&cfg.org);
    let Some(teams) = part
        .list::<Team>(rest, &format!("/orgs/{o}/teams"), None)
        .await
    else {
        return part;
    };
    let parent_of: HashMap<&str, &str> = teams
        .iter()
        .filter_map(|t| {
            t.parent
                .as_ref()
                .map(|p| (t.slug.as_str(), p.slug.as_str()))
        })
        .collect();
    for t in &teams {
        let base = format!("/orgs/{o}/teams/{}", encode(&t.slug));
        let mut members = Vec::new();
        for role in ["maintainer", "member"] {
            if let Some(users) = part
                .list::<User>(rest, &format!("{base}/members?role={role}"), None)
                .await
            {
                members.extend(users.into_iter().map(|u| (u.login, role.to_string())));
            }
        }
        let repos = part
            .list::<Repository>(rest, &format!("{base}/repos"), None)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                let p = payload::permission(&r.role_name, &r.permissions);
                (r.full_name, p)
            })
            .collect();
        let mut parents = Vec::new();
        let mut cur = t.slug.as_str();
        while let Some(p) = parent_of.get(cur) {
            if parents.iter().any(|x: &String| x == p) || parents.len() > 32 {
                break;
            }
            parents.push(p.to_string());
            cur = p;
        }
        part.grants.extend(map::team_grants(&map::TeamView {
            slug: &t.slug,
            name: t.name.as_deref(),
            parents,
            members,
            repos,
        }));
    }
    part
}

/// The three secret stores: (store label, URL segment).
const STORES: [(&str, &str); 3] = [
    ("actions", "actions"),
    ("dependabot", "dependabot"),
    ("codespaces", "codespaces"),
];

async fn sweep_org_secrets(
    cfg: &GithubScanConfig,
    rest: &RestClient,
    matcher: &dyn ValueMatcher,
) -> Part {
    let mut part = Part::default();
    let o = encode(&cfg.org);
    let scope = Scope::Org(cfg.org.clone());
    for (store, seg) in STORES {
        let route = format!("/orgs/{o}/{seg}/secrets");
        let Some(secrets) = part.list::<Secret>(rest, &route, Some("secrets")).await else {
            continue;
        };
        for s in secrets {
            let selected = if s.visibility.as_deref() == Some("selected") {
                let r = format!("{route}/{}/repositories", encode(&s.name));
                part.list::<Repository>(rest, &r, Some("repositories"))
                    .await
                    .map(|v| v.into_iter().map(|r| r.full_name).collect::<Vec<_>>())
            } else {
                None
            };
            part.credentials.push(map::secret_credential(
                store,
                &scope,
                &s,
                selected.as_deref(),
            ));
        }
    }
    let route = format!("/orgs/{o}/actions/variables");
    if let Some(vars) = part.list::<Variable>(rest, &route, Some("variables")).await {
        for v in vars {
            let selected = if v.visibility.as_deref() == Some("selected") {
                let r = format!("{route}/{}/repositories", encode(&v.name));
                part.list::<Repository>(rest, &r, Some("repositories"))
                    .await
                    .map(|v| v.into_iter().map(|r| r.full_name).collect::<Vec<_>>())
            } else {
                None
            };
            part.credentials.extend(variable_observation(
                &scope,
                &v,
                selected.as_deref(),
                matcher,
            ));
        }
    }
    part
}

/// An Actions variable → CiVariable credentials; the value goes to the matcher and nowhere else.
fn variable_observation(
    scope: &Scope,
    v: &Variable,
    selected: Option<&[String]>,
    matcher: &dyn ValueMatcher,
) -> Vec<Credential> {
    let mut attributes = map::attrs([
        ("store", "actions-variable".into()),
        ("scope", scope.label()),
        ("name", v.name.clone()),
        (
            "visibility",
            payload::text(&v.visibility).unwrap_or_default().to_string(),
        ),
    ]);
    if let Some(t) = payload::time(&v.updated_at) {
        attributes.insert("updated_at".into(), crate::time::format_time(&t));
    }
    if let Some(repos) = selected {
        attributes.insert("repositories".into(), repos.join(","));
    }
    variable_credentials(
        ReadableVariable {
            account: scope.account(),
            id: format!("actions-variable:{}:{}", scope.label(), v.name),
            value: v.value.as_str(),
            created_at: payload::time(&v.created_at),
            attributes,
        },
        matcher,
    )
}

async fn saml_identities(
    cfg: &GithubScanConfig,
    rest: &RestClient,
    part: &mut Part,
) -> HashMap<String, Vec<String>> {
    let route = cfg.graphql_route();
    let mut out = HashMap::new();
    let mut cursor: Option<String> = None;
    for _ in 0..cfg.policy.max_pages {
        let answer = match rest
            .post_json(&route, &graphql::saml_query(&cfg.org, cursor.as_deref()))
            .await
            .and_then(|a| a.json(&route))
        {
            Ok(a) => a,
            Err(e) => {
                part.errors.push(format!("SAML identities: {e}"));
                return out;
            }
        };
        match graphql::parse_saml_page(&answer) {
            Ok(page) => {
                if !page.configured {
                    part.notes
                        .push("the org has no SAML identity provider".to_string());
                }
                out.extend(page.identities);
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => return out,
                }
            }
            Err(e) => {
                part.errors.push(format!("SAML identities: {e}"));
                return out;
            }
        }
    }
    part.errors.push(format!(
        "SAML identities: more than {} pages",
        cfg.policy.max_pages
    ));
    out
}

/// CODEOWNERS and environment names per repository, batched over GraphQL; `None` where the
/// batch failed or GraphQL is not used.
async fn repo_extras(
    cfg: &GithubScanConfig,
    rest: &RestClient,
    repos: &[Repository],
    part: &mut Part,
) -> Vec<Option<graphql::RepoExtras>> {
    if cfg.codeowners != CodeownersSource::GraphQl {
        return vec![None; repos.len()];
    }
    let route = cfg.graphql_route();
    let mut out = Vec::with_capacity(repos.len());
    for chunk in repos.chunks(cfg.graphql_batch.max(1)) {
        let names: Vec<(&str, &str)> = chunk
            .iter()
            .map(|r| r.full_name.split_once('/').unwrap_or(("", r.name.as_str())))
            .collect();
        let query = graphql::repo_batch_query(&names, true, cfg.environments);
        match rest
            .post_json(&route, &query)
            .await
            .and_then(|a| a.json(&route))
        {
            Ok(answer) => {
                let (extras, errors) = graphql::parse_repo_batch(&answer, chunk.len());
                for (r, e) in chunk.iter().zip(&extras) {
                    if e.is_none() {
                        part.errors.push(format!(
                            "{}: CODEOWNERS and environments not read (GraphQL: {})",
                            r.full_name,
                            errors.join("; ")
                        ));
                    }
                }
                out.extend(extras);
            }
            Err(e) => {
                part.errors.push(format!(
                    "CODEOWNERS and environments of {} repositories not read: {e}",
                    chunk.len()
                ));
                out.extend(chunk.iter().map(|_| None));
            }
        }
    }
    out
}

async fn sweep_repo(
    cfg: &GithubScanConfig,
    rest: &RestClient,
    matcher: &dyn ValueMatcher,
    repo: &Repository,
    extras: Option<graphql::RepoExtras>,
) -> Part {
    let mut part = Part::default();
    let full = repo.full_name.as_str();
    let (owner, name) = full
        .split_once('/')
        .unwrap_or((cfg.org.as_str(), repo.name.as_str()));
    let base = format!("/repos/{}/{}", encode(owner), encode(name));
    let repo_scope = Scope::Repo(full.to_string());

    if let Some(collabs) = part
        .list::<payload::Collaborator>(
            rest,
            &format!("{base}/collaborators?affiliation=direct"),
            None,
        )
        .await
    {
        part.grants
            .extend(collabs.iter().map(|c| map::collaborator_grant(c, full)));
    }
    if let Some(keys) = part
        .list::<payload::DeployKey>(rest, &format!("{base}/keys"), None)
        .await
    {
        part.credentials
            .extend(keys.iter().map(|k| map::deploy_key_credential(k, full)));
    }
    for (store, seg) in STORES {
        let wanted = match store {
            "dependabot" => cfg.repo_dependabot_secrets,
            "codespaces" => cfg.repo_codespaces_secrets,
            _ => true,
        };
        if !wanted {
            continue;
        }
        if let Some(secrets) = part
            .list::<Secret>(rest, &format!("{base}/{seg}/secrets"), Some("secrets"))
            .await
        {
            part.credentials.extend(
                secrets
                    .iter()
                    .map(|s| map::secret_credential(store, &repo_scope, s, None)),
            );
        }
    }
    if let Some(vars) = part
        .list::<Variable>(
            rest,
            &format!("{base}/actions/variables"),
            Some("variables"),
        )
        .await
    {
        for v in &vars {
            part.credentials
                .extend(variable_observation(&repo_scope, v, None, matcher));
        }
    }
    if cfg.repo_webhooks {
        if let Some(hooks) = part
            .list::<payload::Hook>(rest, &format!("{base}/hooks"), None)
            .await
        {
            let mut a = map::pseudo_account(&map::repo_pseudo_account(full), "repository");
            a.attributes.extend(map::hook_attributes(&hooks));
            part.accounts.push(a);
        }
    }

    // CODEOWNERS and environments: from the GraphQL batch, or from REST.
    let (codeowners, environments) = match (cfg.codeowners, extras) {
        (CodeownersSource::GraphQl, Some(e)) => (e.codeowners, Some(e.environments)),
        (CodeownersSource::GraphQl, None) => (None, None),
        (CodeownersSource::Contents, _) => {
            let co = codeowners_from_contents(rest, &base, &mut part).await;
            let envs = if cfg.environments {
                part.list::<Environment>(
                    rest,
                    &format!("{base}/environments"),
                    Some("environments"),
                )
                .await
                .map(|v| v.into_iter().map(|e| e.name).collect())
            } else {
                None
            };
            (co, envs)
        }
        (CodeownersSource::Off, _) => (None, None),
    };
    if let Some((path, text)) = codeowners {
        part.grants.extend(map::codeowner_grants(
            &codeowners::parse(&text),
            full,
            &path,
        ));
    }
    if cfg.environments {
        for env in environments.unwrap_or_default() {
            let env_base = format!("{base}/environments/{}", encode(&env));
            let scope = Scope::Environment {
                repo: full.to_string(),
                environment: env.clone(),
            };
            if let Some(secrets) = part
                .list::<Secret>(rest, &format!("{env_base}/secrets"), Some("secrets"))
                .await
            {
                part.credentials.extend(
                    secrets
                        .iter()
                        .map(|s| map::secret_credential("actions", &scope, s, None)),
                );
            }
            if let Some(vars) = part
                .list::<Variable>(rest, &format!("{env_base}/variables"), Some("variables"))
                .await
            {
                for v in &vars {
                    part.credentials
                        .extend(variable_observation(&scope, v, None, matcher));
                }
            }
        }
    }
    part
}

/// The first CODEOWNERS file found through the contents API; 404 means "not here".
async fn codeowners_from_contents(
    rest: &RestClient,
    base: &str,
    part: &mut Part,
) -> Option<(String, String)> {
    for path in codeowners::LOCATIONS {
        let route = format!("{base}/contents/{path}");
        match rest.get(&route).await.and_then(|a| a.json(&route)) {
            Ok(v) => {
                let file: payload::ContentFile = match serde_json::from_value(v) {
                    Ok(f) => f,
                    Err(e) => {
                        part.errors.push(format!("{route}: not a file: {e}"));
                        return None;
                    }
                };
                return match decode_content(&file) {
                    Some(text) => Some((path.to_string(), text)),
                    None => {
                        part.errors
                            .push(format!("{route}: content is not base64 text"));
                        None
                    }
                };
            }
            Err(e) if e.status() == Some(404) => continue,
            Err(e) => {
                part.errors.push(e.to_string());
                return None;
            }
        }
    }
    None
}

/// Decodes a contents-API file (base64 with line breaks).
pub fn decode_content(file: &payload::ContentFile) -> Option<String> {
    let content = file.content.as_deref()?;
    if file.encoding.as_deref().unwrap_or("base64") != "base64" {
        return Some(content.to_string());
    }
    let cleaned: String = content
        .replace("\\n", "")
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cleaned)
        .ok()?;
    String::from_utf8(bytes).ok()
}
