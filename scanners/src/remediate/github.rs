//! GitHub changes: one `DELETE` each, with the credentials and API URL of the org's scanner.
//! GitHub answers 204 when the thing was removed and 404 when it is not there (any more), which
//! is what makes a second apply a no-op ([`Outcome::AlreadyDone`]). Nothing is retried: the
//! client is built with no retries, so a 5xx is reported as it came.

use super::{runtime, GithubChange, Outcome, RemediateError};
use crate::github::{github_client, GithubScanConfig};
use crate::rest::RestError;

/// Carries out `changes` in order (blocking), one [`Outcome`] per change. A client that cannot
/// be built fails every change with the reason.
pub fn apply(
    mut config: GithubScanConfig,
    changes: &[GithubChange],
) -> Result<Vec<Outcome>, RemediateError> {
    config.policy.max_retries = 0;
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
            out.push(match client.delete(&route).await {
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
