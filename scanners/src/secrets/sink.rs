//! The one place a secret's value may leave [`super::Matcher::scan`]: an opt-in sink for the
//! secrets that can be verified against their provider (`residual scan git --verify`).
//!
//! A matcher without a sink (the default) hands out no value at all. With one, each unsuppressed
//! match of a pattern that carries a `verify` hint is offered to it, by reference: the sink
//! decides what to keep (in memory only) and must never print, log or store the value.

use std::fmt;

/// A verifiable secret as the matcher offers it: borrowed, valid only during the call.
pub struct Verifiable<'a> {
    /// Keyed fingerprint of the value (the credential's id downstream).
    pub fingerprint: &'a str,
    /// Id of the pattern that matched.
    pub pattern_id: &'a str,
    /// The pattern's `verify` hint (`aws-sts-get-caller-identity`, `github-get-user`, ...).
    pub method: &'a str,
    /// The non-secret identifier captured beside the value (an AWS access key id), if any.
    pub identifier: Option<&'a str>,
    /// The secret itself. Never print, log or store it.
    pub value: &'a [u8],
}

impl fmt::Debug for Verifiable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifiable")
            .field("fingerprint", &self.fingerprint)
            .field("pattern_id", &self.pattern_id)
            .field("method", &self.method)
            .field("identifier", &self.identifier)
            .field("value", &"<hidden>")
            .finish()
    }
}

/// Receives verifiable secrets from [`super::Matcher::scan`], from several scanning threads at
/// once. Implementations keep values in memory only and must not `Debug`-print them.
pub trait SecretSink: Send + Sync + fmt::Debug {
    /// Called once per unsuppressed match of a pattern with a `verify` hint.
    fn offer(&self, secret: &Verifiable<'_>);
}
