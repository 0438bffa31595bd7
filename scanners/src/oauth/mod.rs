//! OAuth 2.0 client credentials for the identity-provider sweeps (Entra ID, Okta): the token
//! request (with a client secret or a signed client assertion, see [`assertion`]) and the bearer
//! token a sweep holds, refreshed when it is about to expire (`expires_in`) or when the API
//! rejects it (401 `invalid_token`), so that a sweep longer than a token's life still finishes.
//!
//! What it costs: one token request per token's life, plus one per rejection (a rejected call is
//! retried once with the new token). Secrets (the client secret, the assertion, the access token)
//! are sent only to the host they belong to, held as [`SecretString`], and never in an error.

pub(crate) mod assertion;

use crate::rest::{encode, RestClient, TokenFuture, TokenSource};
use assertion::AssertionKey;
use octocrab::secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::{Duration, Instant};

/// RFC 7523's client assertion type.
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How the app proves who it is at the token endpoint.
pub(crate) enum ClientAuth {
    /// `client_secret` in the form (Entra's `AZURE_CLIENT_SECRET`).
    Secret(SecretString),
    /// A signed JWT (`client_assertion`): Entra certificate credentials, Okta private key JWT.
    Assertion(Box<AssertionKey>),
}

/// A token endpoint and the client-credentials grant asked of it.
pub(crate) struct TokenEndpoint {
    /// A client without credentials whose base is the endpoint's origin.
    pub(crate) rest: RestClient,
    /// The endpoint's path under that origin.
    pub(crate) route: String,
    /// The endpoint's full URL: the `aud` of a client assertion.
    pub(crate) url: String,
    pub(crate) client_id: String,
    /// Space-separated scopes.
    pub(crate) scope: String,
    pub(crate) auth: ClientAuth,
}

/// The answer of a token endpoint, as far as it is read.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// An access token and when it stops being good.
struct Issued {
    token: SecretString,
    /// `None` when the endpoint did not say (then only a rejection refreshes it).
    refresh_at: Option<Instant>,
}

impl TokenEndpoint {
    /// Asks for a token. The error names the endpoint and the provider's own error code and
    /// description, never a secret.
    async fn issue(&self) -> Result<Issued, String> {
        let mut form = format!(
            "grant_type=client_credentials&client_id={}&scope={}",
            encode(&self.client_id),
            encode(&self.scope)
        );
        match &self.auth {
            ClientAuth::Secret(secret) => {
                form.push_str("&client_secret=");
                form.push_str(&encode(secret.expose_secret()));
            }
            ClientAuth::Assertion(key) => {
                let now = chrono::Utc::now().timestamp();
                let jwt = key.sign(&self.client_id, &self.url, now)?;
                form.push_str("&client_assertion_type=");
                form.push_str(&encode(JWT_BEARER));
                form.push_str("&client_assertion=");
                form.push_str(&jwt);
            }
        }
        let asked_at = Instant::now();
        // Boxed: the API client asks this endpoint for tokens through the same `send`.
        let answer = Box::pin(self.rest.post_form(&self.route, &form))
            .await
            .map_err(|e| format!("token from {}: {e}", self.url))?;
        let t: TokenAnswer = serde_json::from_str(&answer.body)
            .map_err(|e| format!("token from {}: cannot read the answer: {e}", self.url))?;
        Ok(Issued {
            token: SecretString::from(t.access_token),
            refresh_at: t
                .expires_in
                .map(|s| asked_at + early(Duration::from_secs(s))),
        })
    }
}

/// When to refresh a token that lives `life`: a fifth of its life early, at most a minute, so
/// that a request sent just before the expiry does not arrive just after it.
fn early(life: Duration) -> Duration {
    life.saturating_sub((life / 5).min(Duration::from_secs(60)))
}

/// The bearer token of one sweep, shared by its requests.
pub(crate) struct Bearer {
    endpoint: TokenEndpoint,
    current: tokio::sync::Mutex<Option<Issued>>,
}

impl Bearer {
    /// Asks for the first token: a sweep that cannot get one fails before any API call.
    pub(crate) async fn start(endpoint: TokenEndpoint) -> Result<Bearer, String> {
        let first = endpoint.issue().await?;
        Ok(Bearer {
            endpoint,
            current: tokio::sync::Mutex::new(Some(first)),
        })
    }

    /// The `Authorization` value to send now, refreshed first when the token is about to expire.
    pub(crate) async fn authorization(&self) -> Result<SecretString, String> {
        let mut current = self.current.lock().await;
        let fresh = current
            .as_ref()
            .is_some_and(|i| i.refresh_at.is_none_or(|t| Instant::now() < t));
        if !fresh {
            *current = Some(self.endpoint.issue().await?);
        }
        let token = current
            .as_ref()
            .map(|i| i.token.expose_secret().to_string())
            .unwrap_or_default();
        Ok(SecretString::from(format!("Bearer {token}")))
    }

    /// The API rejected `sent` (the value it was sent with): a new token, unless another
    /// request already replaced that one.
    pub(crate) async fn rejected(&self, sent: &SecretString) -> Result<(), String> {
        let mut current = self.current.lock().await;
        let same = current
            .as_ref()
            .is_some_and(|i| sent.expose_secret().ends_with(i.token.expose_secret()));
        if same {
            *current = Some(self.endpoint.issue().await?);
        }
        Ok(())
    }

    /// Token requests sent, retries included.
    pub(crate) fn calls(&self) -> u64 {
        self.endpoint.rest.calls()
    }
}

impl TokenSource for Bearer {
    fn authorization(&self) -> TokenFuture<'_, SecretString> {
        Box::pin(Bearer::authorization(self))
    }

    fn refuses(&self, status: u16, headers: &http::HeaderMap, body: &str) -> bool {
        token_rejected(status, headers, body)
    }

    fn rejected<'a>(&'a self, sent: &'a SecretString) -> TokenFuture<'a, ()> {
        Box::pin(Bearer::rejected(self, sent))
    }
}

/// Whether a 401 answer says the access token itself is bad (expired, revoked), which a new
/// token fixes, rather than the app lacking a permission. RFC 6750's `invalid_token` in
/// `WWW-Authenticate` (Okta, Graph), Graph's `InvalidAuthenticationToken`, Okta's `E0000011`.
pub(crate) fn token_rejected(status: u16, headers: &http::HeaderMap, body: &str) -> bool {
    if status != 401 {
        return false;
    }
    let challenge = headers
        .get_all(http::header::WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("invalid_token"));
    challenge || body.contains("InvalidAuthenticationToken") || body.contains("E0000011")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_refreshed_a_fifth_of_its_life_early_at_most_a_minute() {
        assert_eq!(early(Duration::from_secs(3600)), Duration::from_secs(3540));
        assert_eq!(early(Duration::from_secs(10)), Duration::from_secs(8));
    }

    #[test]
    fn only_a_401_about_the_token_asks_for_a_new_one() {
        let mut h = http::HeaderMap::new();
        assert!(!token_rejected(401, &h, r#"{"error":"forbidden"}"#));
        assert!(token_rejected(401, &h, r#"{"errorCode":"E0000011"}"#));
        h.insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static(r#"Bearer error="invalid_token""#),
        );
        assert!(token_rejected(401, &h, ""));
        assert!(!token_rejected(403, &h, ""));
    }
}
