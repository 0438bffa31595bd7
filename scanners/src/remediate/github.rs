//! GitHub changes: one `DELETE` (or, to revoke a fine-grained token, one `POST`) each, with the
//! credentials and API URL of the org's scanner.
//! GitHub answers 204 when the thing was removed and 404 when it is not there (any more), which
//! is what makes a second apply a no-op ([`Outcome::AlreadyDone`]). A rate limit is waited out
//! (the request was not processed); a 5xx, a timeout or a broken connection is reported as it
//! came, never sent again blindly.

use super::{runtime, GithubChange, Outcome, RemediateError};
use crate::github::{github_client, GithubScanConfig};
use crate::rest::RestError;

/// Carries out `changes` in order (blocking), one [`Outcome`] per change. A client that cannot
/// be built fails every change with the reason.
pub fn apply(
    mut config: GithubScanConfig,
    changes: &[GithubChange],
) -> Result<Vec<Outcome>, RemediateError> {
    config.policy.retry_failures = false;
    config.policy.max_retries = config
        .policy
        .max_retries
        .max(crate::RestPolicy::default().max_retries);
    runtime()?.block_on(async {
        let client = match github_client(&config).await {
            Ok(c) => c,
            Err(e) => {
                let message = e.to_string();
                return Ok(changes
                    .iter()
                    .map(|_| Outcome::Failed {
                        message: message.clone(),
                    })
                    .collect());
            }
        };
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            let route = change.route();
            let answer = match change.post_body() {
                Some(body) => client.post_json(&route, &body).await,
                None => client.delete(&route).await,
            };
            out.push(match answer {
                Ok(_) => Outcome::Done,
                Err(RestError::Status { status: 404, .. }) => Outcome::AlreadyDone {
                    detail: format!("{route} is not there (404)"),
                },
                Err(e) => Outcome::Failed {
                    message: e.to_string(),
                },
            });
        }
        Ok(out)
    })
}
