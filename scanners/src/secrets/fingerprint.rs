//! How a found secret is identified without keeping its value: a keyed fingerprint and a
//! redacted preview.
//!
//! The fingerprint is HMAC-SHA256 under a key the caller supplies (kept outside the store), so a
//! fingerprint in the database or a report cannot be brute-forced back into a short password
//! without that key, yet the same secret found in git and in a CI variable gets the same
//! fingerprint. The preview shows at most a quarter of the secret, and never more than 8 bytes.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Number of hex characters kept from the HMAC (128 bits).
pub const FINGERPRINT_HEX_LEN: usize = 32;

/// Most leading bytes a preview ever shows.
const PREVIEW_MAX: usize = 8;

/// A prepared HMAC-SHA256 key: computes fingerprints of secrets.
///
/// Cloning the prepared state per secret avoids re-hashing the key; cheap to share across
/// threads (it is `Send + Sync` and `fingerprint` takes `&self`).
#[derive(Clone)]
pub struct Fingerprinter {
    mac: Hmac<Sha256>,
}

impl Fingerprinter {
    /// Prepares a fingerprinter for `key`. Any length works; use at least 32 random bytes.
    pub fn new(key: &[u8]) -> Fingerprinter {
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
            .expect("HMAC accepts keys of every length");
        Fingerprinter { mac }
    }

    /// The first [`FINGERPRINT_HEX_LEN`] hex characters of HMAC-SHA256(key, secret).
    pub fn fingerprint(&self, secret: &[u8]) -> String {
        let mut mac = self.mac.clone();
        mac.update(secret);
        let digest = mac.finalize().into_bytes();
        let mut hex = hex::encode(digest);
        hex.truncate(FINGERPRINT_HEX_LEN);
        hex
    }
}

impl std::fmt::Debug for Fingerprinter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fingerprinter { key: <hidden> }")
    }
}

/// A redacted preview of `secret`: its leading bytes followed by `…`.
///
/// Shows `min(len / 4, 8)` bytes, so a secret of 16 bytes or fewer shows at most 4, a secret
/// shorter than 4 bytes shows nothing, and no secret is ever shown whole. The shown prefix stops
/// early at the first byte that is not printable ASCII.
pub fn preview(secret: &[u8]) -> String {
    let shown = (secret.len() / 4).min(PREVIEW_MAX);
    let mut out: String = secret[..shown]
        .iter()
        .take_while(|b| b.is_ascii_graphic())
        .map(|&b| b as char)
        .collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_depend_on_the_key_and_the_secret() {
        let a = Fingerprinter::new(b"key-a");
        let b = Fingerprinter::new(b"key-b");
        assert_eq!(a.fingerprint(b"s3cret"), a.fingerprint(b"s3cret"));
        assert_ne!(a.fingerprint(b"s3cret"), b.fingerprint(b"s3cret"));
        assert_ne!(a.fingerprint(b"s3cret"), a.fingerprint(b"s3cret2"));
        assert_eq!(a.fingerprint(b"x").len(), FINGERPRINT_HEX_LEN);
    }

    #[test]
    fn fingerprint_matches_rfc4231_case_2() {
        let f = Fingerprinter::new(b"Jefe");
        assert_eq!(
            f.fingerprint(b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c7"
        );
    }

    #[test]
    fn previews_never_show_the_whole_secret() {
        assert_eq!(preview(b"abc"), "…");
        assert_eq!(preview(b"abcdefgh"), "ab…");
        assert_eq!(preview(b"0123456789abcdef"), "0123…");
        assert_eq!(preview(&[b'z'; 100]), "zzzzzzzz…");
        assert_eq!(preview(b"ab\ncdefghijklm"), "ab…");
    }
}
