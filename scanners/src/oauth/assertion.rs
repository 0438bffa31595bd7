//! OAuth 2.0 client assertions (RFC 7523, "private key JWT"): a short-lived JWT signed with the
//! app's private key that stands in for a client secret at a token endpoint. Entra ID calls it a
//! certificate credential (the header names the certificate by its thumbprint, `x5t`), Okta a
//! service app with public/private key authentication.
//!
//! Why these crates: `jsonwebtoken` does the RS256 signing (it is the crate octocrab already
//! builds, with the same aws-lc backend, for GitHub App JWTs, so nothing new is compiled and no
//! signature code is ours); `pem` splits a file that holds both the key and the certificate, as
//! the Azure SDKs accept (`AZURE_CLIENT_CERTIFICATE_PATH`); `sha1`/`sha2` (RustCrypto) give the
//! certificate's thumbprints. The key is read once per sweep and never printed: errors name the
//! file and what is wrong with it, never its content.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use sha1::Digest as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// How long a signed assertion is valid. Entra accepts up to 10 minutes and Okta up to an hour;
/// five minutes covers clock skew without leaving a replayable token around for long.
const LIFETIME_SECS: i64 = 300;

/// Why a key file cannot sign assertions. Each names the file (never its content).
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyFileError {
    #[error("{path}: cannot read: {message}")]
    Read { path: PathBuf, message: String },
    #[error("{path}: not a PEM file (a PFX/PKCS#12 file converts with `openssl pkcs12 -in FILE -nodes -out key-and-cert.pem`)")]
    NotPem { path: PathBuf },
    #[error("{path}: holds no private key (expected a `PRIVATE KEY` or `RSA PRIVATE KEY` block)")]
    NoKey { path: PathBuf },
    #[error("{path}: the private key is encrypted, which is not supported; decrypt it with `openssl pkey -in FILE -out FILE.pem` and keep that file readable by the scanner only")]
    Encrypted { path: PathBuf },
    #[error("{path}: holds no certificate (expected a `CERTIFICATE` block beside the private key: Entra names the key by the certificate's thumbprint)")]
    NoCertificate { path: PathBuf },
    #[error("{path}: the private key is not an RSA key that can sign RS256 assertions")]
    NotRsa { path: PathBuf },
}

/// A private key ready to sign client assertions, with the header that names it.
pub(crate) struct AssertionKey {
    key: EncodingKey,
    header: Header,
}

/// The claims of a client assertion (RFC 7523 section 3).
#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    iat: i64,
    nbf: i64,
    exp: i64,
}

impl AssertionKey {
    /// Reads the PEM file at `path`: an RSA private key (PKCS#8 or PKCS#1) and, when
    /// `certificate` is required (Entra), the certificate the app registration holds, whose
    /// SHA-1 and SHA-256 thumbprints name the key (`x5t`, `x5t#S256`). `key_id` is put in the
    /// header as `kid` (Okta, when the app has more than one key).
    pub(crate) fn from_pem_file(
        path: &Path,
        certificate: bool,
        key_id: Option<&str>,
    ) -> Result<AssertionKey, KeyFileError> {
        let text = std::fs::read(path).map_err(|e| KeyFileError::Read {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        AssertionKey::from_pem(&text, path, certificate, key_id)
    }

    fn from_pem(
        text: &[u8],
        path: &Path,
        certificate: bool,
        key_id: Option<&str>,
    ) -> Result<AssertionKey, KeyFileError> {
        let path = || path.to_path_buf();
        let blocks = pem::parse_many(text).map_err(|_| KeyFileError::NotPem { path: path() })?;
        if blocks.is_empty() {
            return Err(KeyFileError::NotPem { path: path() });
        }
        if blocks.iter().any(|b| b.tag() == "ENCRYPTED PRIVATE KEY")
            || blocks.iter().any(|b| {
                b.headers()
                    .get("Proc-Type")
                    .is_some_and(|v| v.contains("ENCRYPTED"))
            })
        {
            return Err(KeyFileError::Encrypted { path: path() });
        }
        let key_block = blocks
            .iter()
            .find(|b| matches!(b.tag(), "PRIVATE KEY" | "RSA PRIVATE KEY"))
            .ok_or_else(|| KeyFileError::NoKey { path: path() })?;
        // jsonwebtoken reads one PEM block: the key alone, re-encoded.
        let key = EncodingKey::from_rsa_pem(pem::encode(key_block).as_bytes())
            .map_err(|_| KeyFileError::NotRsa { path: path() })?;
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("JWT".into());
        header.kid = key_id.map(str::to_string);
        if certificate {
            let cert = blocks
                .iter()
                .find(|b| b.tag() == "CERTIFICATE")
                .ok_or_else(|| KeyFileError::NoCertificate { path: path() })?;
            let (x5t, x5t_s256) = thumbprints(cert.contents());
            header.x5t = Some(x5t);
            header.x5t_s256 = Some(x5t_s256);
        }
        Ok(AssertionKey { key, header })
    }

    /// A signed assertion for `client_id` at the token endpoint `audience` (its full URL),
    /// valid from `now` (Unix seconds) for five minutes, with a fresh `jti`.
    pub(crate) fn sign(&self, client_id: &str, audience: &str, now: i64) -> Result<String, String> {
        let claims = Claims {
            aud: audience,
            iss: client_id,
            sub: client_id,
            jti: jti(now),
            iat: now,
            nbf: now,
            exp: now + LIFETIME_SECS,
        };
        jsonwebtoken::encode(&self.header, &claims, &self.key)
            .map_err(|e| format!("signing the client assertion failed: {e}"))
    }
}

/// The certificate's SHA-1 and SHA-256 thumbprints of its DER bytes, base64url without padding.
pub(crate) fn thumbprints(der: &[u8]) -> (String, String) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    (
        b64.encode(sha1::Sha1::digest(der)),
        b64.encode(sha2::Sha256::digest(der)),
    )
}

/// A JWT id unique to this process and moment (token endpoints refuse a replayed `jti`). Not a
/// secret, so a hash of the time, the process and a counter is enough.
fn jti(now: i64) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut h = sha2::Sha256::new();
    h.update(now.to_be_bytes());
    h.update(nanos.to_be_bytes());
    h.update(std::process::id().to_be_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    hex::encode(&h.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_pem_says_how_to_convert_it() {
        let e = AssertionKey::from_pem(b"\x30\x82binary", Path::new("app.pfx"), true, None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("app.pfx: not a PEM file"), "{e}");
        assert!(e.contains("openssl pkcs12"), "{e}");
    }

    #[test]
    fn an_encrypted_key_is_refused_by_name() {
        // Built here, so that no whole key header stands in the repository.
        let armour = |edge: &str| format!("-----{edge} ENCRYPTED {} KEY-----", "PRIVATE");
        let text = format!("{}\nAAAA\n{}\n", armour("BEGIN"), armour("END"));
        let e = AssertionKey::from_pem(text.as_bytes(), Path::new("k.pem"), false, None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("encrypted"), "{e}");
    }

    #[test]
    fn thumbprints_are_base64url_without_padding() {
        let (s1, s256) = thumbprints(b"der");
        assert_eq!(s1.len(), 27);
        assert_eq!(s256.len(), 43);
        assert!(!s1.contains(['=', '+', '/']));
    }
}
