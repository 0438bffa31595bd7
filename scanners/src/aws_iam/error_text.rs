//! AWS errors in words, for a report's errors and a person's terminal: the operation, the
//! service's error code and message, the endpoint it was sent to, and for a call that got no
//! answer the cause chain down to the socket. Never the SDK's `Debug` output (`ServiceError(…)`,
//! `DispatchFailure(…)`, raw headers and bodies), which `DisplayErrorContext` appends.

use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use std::error::Error;

/// Where calls of a service go: the `--endpoint-url` override, else AWS's own host for it.
pub(crate) fn endpoint(override_url: Option<&str>, default_host: &str) -> String {
    override_url
        .map(str::to_string)
        .unwrap_or_else(|| format!("https://{default_host}"))
}

/// `operation at endpoint: CODE (HTTP status): message` for an answer from the service, or
/// `operation at endpoint: cause: cause: …` when the call failed before one came.
pub(crate) fn sdk_error<E>(
    operation: &str,
    endpoint: &str,
    err: &SdkError<E, HttpResponse>,
) -> String
where
    E: Error + ProvideErrorMetadata + 'static,
{
    if let SdkError::ServiceError(_) = err {
        let status = err
            .raw_response()
            .map(|r| format!(" (HTTP {})", r.status().as_u16()))
            .unwrap_or_default();
        let code = err.code().unwrap_or("an error without a code");
        return match err.message() {
            Some(message) => format!("{operation} at {endpoint}: {code}{status}: {message}"),
            None => format!("{operation} at {endpoint}: {code}{status}"),
        };
    }
    format!("{operation} at {endpoint}: {}", chain(err))
}

/// Every message of an error's source chain, joined by `: `, leaving out one that an earlier
/// message already says (the SDK and hyper repeat their causes in their own text).
pub(super) fn chain(err: &(dyn Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("io error")
        }
    }
    impl Error for Outer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_chain_is_said_in_words_once_each() {
        let e = Outer(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused",
        ));
        assert_eq!(chain(&e), "io error: Connection refused");
    }

    #[test]
    fn the_default_endpoint_is_aws_own_host() {
        assert_eq!(
            endpoint(None, "iam.amazonaws.com"),
            "https://iam.amazonaws.com"
        );
        assert_eq!(
            endpoint(Some("http://127.0.0.1:1"), "iam.amazonaws.com"),
            "http://127.0.0.1:1"
        );
    }
}
