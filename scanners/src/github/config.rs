//! What to sweep in a GitHub organisation and as whom: [`GithubScanConfig`], [`GithubAuth`]
//! (tokens never shown by `Debug`), and [`GithubError`], why a sweep could not start.

use crate::rest::{RestError, RestPolicy};
use octocrab::secrecy::SecretString;
use std::fmt;
use std::path::PathBuf;

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

    pub(super) fn graphql_route(&self) -> String {
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
