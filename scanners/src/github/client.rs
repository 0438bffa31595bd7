//! The authenticated REST client of a sweep: a token, anonymous, or a GitHub App authenticated
//! as its installation on the org (looked up when not configured).

use super::{GithubAuth, GithubError, GithubScanConfig};
use crate::rest::{encode, RestClient, RestError};
use octocrab::models::{AppId, InstallationId};
use octocrab::Octocrab;

/// Builds the authenticated client (for an App: looks up and authenticates as its installation).
pub(crate) async fn github_client(cfg: &GithubScanConfig) -> Result<RestClient, GithubError> {
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
