//! GitHub `GET /user` and Slack `auth.test`: one bearer-token request each, through the same
//! REST client (timeouts, bounded retries, `retry-after`) the code-host scanners use. The token
//! is sent only to the configured API URL.

use super::{Candidate, Verdict, VerifyConfig};
use crate::rest::{RestClient, RestError, RestPolicy};
use octocrab::Octocrab;
use serde_json::{json, Value};
use std::time::Duration;

/// A client that authenticates every request with `token` (`Authorization: Bearer`).
fn client(api: &str, token: &str, config: &VerifyConfig) -> Result<RestClient, String> {
    let crab = Octocrab::builder()
        .base_uri(api)
        .map_err(|e| format!("API URL {api}: {e}"))?
        .personal_token(token.to_string())
        .build()
        .map_err(|e| format!("client for {api}: {e}"))?;
    let policy = RestPolicy {
        request_timeout: config.timeout,
        max_retries: config.max_retries,
        base_backoff: Duration::from_millis(500),
        max_wait: config.max_wait,
        ..RestPolicy::default()
    };
    Ok(RestClient::new(crab, api, policy))
}

fn error(reason: impl Into<String>) -> Verdict {
    Verdict::Error {
        reason: reason.into(),
    }
}

/// `GET /user`: 200 names the login (live), 401 is a revoked or invalid token. Anything else
/// (403 for a token without access, 5xx, a rate limit longer than allowed) is an error.
pub(super) async fn github(c: &Candidate, config: &VerifyConfig) -> Verdict {
    let Some(token) = c.value_str() else {
        return error("the token is not text");
    };
    let rest = match client(&config.github_api, token, config) {
        Ok(rest) => rest,
        Err(e) => return error(e),
    };
    match rest.get("/user").await {
        Ok(answer) => match answer.json("/user") {
            Ok(user) => Verdict::Live {
                owner: user
                    .get("login")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            },
            Err(e) => error(e.to_string()),
        },
        Err(e @ RestError::Status { status: 401, .. }) => Verdict::Revoked {
            reason: e.to_string(),
        },
        Err(e) => error(e.to_string()),
    }
}

/// Slack's answers for a token that does not (or no longer) authenticate.
const SLACK_DEAD: &[&str] = &[
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
];

/// `POST auth.test`: `{"ok":true,"user":..}` is live, `{"ok":false,"error":"invalid_auth"}` (or
/// another dead-token error) is revoked; other errors (`ratelimited`, 5xx) are errors.
pub(super) async fn slack(c: &Candidate, config: &VerifyConfig) -> Verdict {
    let Some(token) = c.value_str() else {
        return error("the token is not text");
    };
    let rest = match client(&config.slack_api, token, config) {
        Ok(rest) => rest,
        Err(e) => return error(e),
    };
    let answer = match rest.post_json("/auth.test", &json!({})).await {
        Ok(answer) => answer,
        Err(e) => return error(e.to_string()),
    };
    let body = match answer.json("/auth.test") {
        Ok(body) => body,
        Err(e) => return error(e.to_string()),
    };
    if body.get("ok").and_then(Value::as_bool) == Some(true) {
        let user = body.get("user").and_then(Value::as_str);
        let team = body.get("team").and_then(Value::as_str);
        return Verdict::Live {
            owner: match (user, team) {
                (Some(u), Some(t)) => Some(format!("{u}@{t}")),
                (Some(u), None) => Some(u.to_string()),
                _ => body
                    .get("user_id")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            },
        };
    }
    let code = body
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or("no error code");
    if SLACK_DEAD.contains(&code) {
        Verdict::Revoked {
            reason: format!("auth.test: {code}"),
        }
    } else {
        error(format!("auth.test: {code}"))
    }
}
