//! GitLab changes: one `DELETE` each, with the token and API URL of the group's scanner. GitLab
//! answers 204 when the member was removed and 404 when there is no such member (any more),
//! which is what makes a second apply a no-op ([`Outcome::AlreadyDone`]). A rate limit is
//! waited out; a 5xx, a timeout or a broken connection is reported, never sent again blindly.

use super::{runtime, GitlabChange, Outcome, RemediateError};
use crate::gitlab::{gitlab_client, GitlabScanConfig};
use crate::rest::RestError;

/// Carries out `changes` in order (blocking), one [`Outcome`] per change.
pub fn apply(
    mut config: GitlabScanConfig,
    changes: &[GitlabChange],
) -> Result<Vec<Outcome>, RemediateError> {
    config.policy.retry_failures = false;
    config.policy.max_retries = config
        .policy
        .max_retries
        .max(crate::RestPolicy::default().max_retries);
    runtime()?.block_on(async {
        let client = match gitlab_client(&config) {
            Ok(c) => c,
            Err(message) => {
                return Ok(changes
                    .iter()
                    .map(|_| Outcome::Failed {
                        message: message.clone(),
                    })
                    .collect())
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
