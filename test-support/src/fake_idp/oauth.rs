//! The fake identity provider's OAuth 2.0 side: the client-credentials token endpoints (Graph's
//! `/{tenant}/oauth2/v2.0/token`, Okta's `/oauth2/v1/token`), which accept a client secret or a
//! client assertion (RFC 7523) that they VERIFY as the providers do — RS256 signature with the
//! registered certificate or public key, `x5t` thumbprint of the certificate (Entra), `aud` the
//! endpoint, `iss` = `sub` = the client id, `exp`/`nbf` — and the access tokens they issue, which
//! expire after the lifetime a test sets and can be revoked mid-sweep.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use sha1::Digest as _;
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

/// RFC 7523's client assertion type.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A key registered with the app: a certificate (Entra) or a public key (Okta).
pub(super) struct Registration {
    pub(super) client_id: String,
    key: DecodingKey,
    /// The certificate's SHA-1 thumbprint, base64url: what Entra matches `x5t` against.
    x5t: Option<String>,
}

impl Registration {
    /// An Entra app registration's certificate credential.
    pub(super) fn certificate(client_id: &str, certificate_pem: &str) -> Registration {
        let der = pem::parse(certificate_pem)
            .expect("a PEM certificate")
            .into_contents();
        let x5t = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&der));
        Registration {
            client_id: client_id.to_string(),
            key: DecodingKey::from_rsa_pem(certificate_pem.as_bytes())
                .expect("the certificate's RSA public key"),
            x5t: Some(x5t),
        }
    }

    /// An Okta service app's public key.
    pub(super) fn public_key(client_id: &str, public_key_pem: &str) -> Registration {
        Registration {
            client_id: client_id.to_string(),
            key: DecodingKey::from_rsa_pem(public_key_pem.as_bytes()).expect("an RSA public key"),
            x5t: None,
        }
    }

    /// Checks the form's client assertion for the endpoint `audience`: `Err` says why, in the
    /// provider's words.
    pub(super) fn verify(
        &self,
        form: &BTreeMap<String, String>,
        audience: &str,
    ) -> Result<(), String> {
        if form.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER) {
            return Err("client_assertion_type is missing or wrong".into());
        }
        let jwt = form
            .get("client_assertion")
            .ok_or("client_assertion is missing")?;
        let header =
            jsonwebtoken::decode_header(jwt).map_err(|e| format!("bad JWT header: {e}"))?;
        if header.alg != Algorithm::RS256 {
            return Err(format!("alg {:?} is not RS256", header.alg));
        }
        if let Some(want) = &self.x5t {
            if header.x5t.as_ref() != Some(want) {
                return Err(
                    "AADSTS700027: the x5t thumbprint names no registered certificate".into(),
                );
            }
        }
        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&[audience]);
        v.set_issuer(&[self.client_id.as_str()]);
        v.sub = Some(self.client_id.clone());
        v.validate_nbf = true;
        v.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
        let data = jsonwebtoken::decode::<Value>(jwt, &self.key, &v)
            .map_err(|e| format!("AADSTS700027: client assertion failed validation: {e}"))?;
        if data.claims.get("jti").and_then(Value::as_str).is_none() {
            return Err("the client assertion has no jti".into());
        }
        if form.get("client_id").is_some_and(|c| c != &self.client_id) {
            return Err("client_id does not match the assertion".into());
        }
        Ok(())
    }
}

/// The access tokens issued so far.
#[derive(Default)]
pub(super) struct Tokens {
    /// Seconds an issued token lives (and the `expires_in` the endpoint answers).
    pub(super) lifetime_secs: Option<u64>,
    live: Vec<(String, Instant)>,
    revoked: HashSet<String>,
    next: u64,
    /// Requests that came with a token that had expired or was revoked.
    pub(super) rejected: u32,
    /// Tokens issued.
    pub(super) issued: u32,
}

/// Why a bearer token was refused.
pub(super) enum Refused {
    Unknown,
    Expired,
}

impl Tokens {
    /// A new access token and its `expires_in`.
    pub(super) fn issue(&mut self) -> (String, u64) {
        let life = self.lifetime_secs.unwrap_or(3599);
        self.next += 1;
        self.issued += 1;
        let token = format!("fake-access-token-{}", self.next);
        self.live
            .push((token.clone(), Instant::now() + Duration::from_secs(life)));
        (token, life)
    }

    /// Every token issued so far stops working (revoked or expired early).
    pub(super) fn revoke_all(&mut self) {
        self.revoked
            .extend(self.live.iter().map(|(t, _)| t.clone()));
    }

    /// Whether `token` is one issued, unexpired and not revoked.
    pub(super) fn check(&mut self, token: &str) -> Result<(), Refused> {
        let Some((_, expires)) = self.live.iter().find(|(t, _)| t == token) else {
            return Err(Refused::Unknown);
        };
        if Instant::now() >= *expires || self.revoked.contains(token) {
            self.rejected += 1;
            return Err(Refused::Expired);
        }
        Ok(())
    }
}

/// A token endpoint's success answer.
pub(super) fn token_answer(token: &str, expires_in: u64, scope: Option<&String>) -> Value {
    let mut v = json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "access_token": token,
    });
    if let Some(s) = scope {
        v["scope"] = json!(s);
    }
    v
}
