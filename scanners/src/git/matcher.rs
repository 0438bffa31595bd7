//! The seam between the git scanner and secret detection.
//!
//! The scanner reads blobs; what counts as a secret is decided by a [`BlobMatcher`]. The secrets
//! engine (`crate::secrets`) is one implementation; tests use small ones of their own. A matcher
//! never hands back a secret's value: only where it is, a keyed fingerprint and a short preview.

use serde::{Deserialize, Serialize};

/// One secret found in one blob, as the matcher reports it. Holds no secret value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretHit {
    /// Stable id of the pattern that matched (e.g. `aws-access-key`).
    pub pattern_id: String,
    /// 1-based line of the match in the blob.
    pub line: usize,
    /// 1-based column (in bytes) of the match on its line.
    pub column: usize,
    /// A non-secret identifier captured next to the secret (an AWS access key id), if any.
    pub identifier: Option<String>,
    /// Keyed fingerprint of the secret value: the credential's id everywhere downstream.
    pub fingerprint: String,
    /// Redacted preview: a few leading characters, never enough to use the secret.
    pub preview: String,
    /// Why the match is allowlisted (`.residualignore`, inline `residual:allow`), if it is.
    /// Suppressed hits are reported in [`super::GitScan::hits`] but are not observations.
    pub suppressed: Option<String>,
}

/// Finds secrets in the bytes of one blob. Called from several threads at once, so it must be
/// `Sync`; it should be cheap on blobs without secrets (a literal prefilter before any regex).
pub trait BlobMatcher: Sync {
    /// Scans `bytes`, the content of the file at `path` (the first path the blob was seen at, or
    /// `None` when it has no path, e.g. a blob a tag points at directly).
    fn scan(&self, path: Option<&str>, bytes: &[u8]) -> Vec<SecretHit>;
}

/// The secrets engine is the matcher `residual scan git` and `residual gate` use.
impl BlobMatcher for crate::secrets::Matcher {
    fn scan(&self, path: Option<&str>, bytes: &[u8]) -> Vec<SecretHit> {
        crate::secrets::Matcher::scan(self, path, bytes)
            .into_iter()
            .map(|m| SecretHit {
                pattern_id: m.pattern_id,
                line: m.line,
                column: m.column,
                identifier: m.identifier,
                fingerprint: m.fingerprint,
                preview: m.preview,
                suppressed: m.suppressed.map(|s| s.as_str().to_string()),
            })
            .collect()
    }
}
