//! Fake credential providers for `--verify`: an axum server on 127.0.0.1 (free port) that
//! answers GitHub `GET /user`, Slack `POST auth.test` and AWS STS in the shapes the services
//! publish, for tokens the test registers. Every request is counted; throttling (429 with
//! `retry-after`) can be injected.
//!
//! Routes: `{url}/github/user` (GitHub API URL `{url}/github`), `{url}/slack/auth.test` (Slack API
//! URL `{url}/slack`), `{url}/sts/` (STS endpoint `{url}/sts`), which always answers
//! `InvalidClientTokenId` — moto covers the live case.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

#[derive(Default)]
struct State {
    /// token → Some(login) when live, None when revoked.
    github: HashMap<String, Option<String>>,
    /// token → Some((user, team)) when live, None when revoked.
    slack: HashMap<String, Option<(String, String)>>,
    /// How many more requests answer 429 with `retry-after: 1`.
    throttle: u32,
    /// (method, path, when) of every request.
    log: Vec<(String, String, Instant)>,
}

/// The running fake.
#[derive(Clone)]
pub struct Providers {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Providers {
    /// Starts the fake on a free port of 127.0.0.1 (inside a tokio runtime).
    pub async fn start() -> Providers {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let p = Providers {
            url: format!("http://{addr}"),
            state: Arc::new(Mutex::new(State::default())),
        };
        let f = p.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let f = f.clone();
                async move { f.handle(method, uri, headers, body) }
            },
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        p
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn github_api(&self) -> String {
        format!("{}/github", self.url)
    }

    pub fn slack_api(&self) -> String {
        format!("{}/slack", self.url)
    }

    pub fn sts_endpoint(&self) -> String {
        format!("{}/sts", self.url)
    }

    /// `token` is live as GitHub user `login`.
    pub fn github_live(&self, token: &str, login: &str) {
        self.lock()
            .github
            .insert(token.to_string(), Some(login.to_string()));
    }

    /// `token` was revoked (GitHub answers 401 Bad credentials).
    pub fn github_revoked(&self, token: &str) {
        self.lock().github.insert(token.to_string(), None);
    }

    /// `token` is live as Slack `user` of `team`.
    pub fn slack_live(&self, token: &str, user: &str, team: &str) {
        self.lock().slack.insert(
            token.to_string(),
            Some((user.to_string(), team.to_string())),
        );
    }

    /// `token` was revoked (`invalid_auth`).
    pub fn slack_revoked(&self, token: &str) {
        self.lock().slack.insert(token.to_string(), None);
    }

    /// The next `n` requests answer 429 with `retry-after: 1`.
    pub fn throttle(&self, n: u32) {
        self.lock().throttle = n;
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.lock().log.len()
    }

    /// (method, path, when) of every request so far.
    pub fn log(&self) -> Vec<(String, String, Instant)> {
        self.lock().log.clone()
    }

    fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, _body: Bytes) -> Response {
        let path = uri.path().to_string();
        let mut state = self.lock();
        state
            .log
            .push((method.to_string(), path.clone(), Instant::now()));
        if state.throttle > 0 {
            state.throttle -= 1;
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "1")],
                axum::Json(json!({"message": "API rate limit exceeded", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"})),
            )
                .into_response();
        }
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_string();
        if path == "/github/user" && method == Method::GET {
            return match state.github.get(&token) {
                Some(Some(login)) => axum::Json(github_user(login)).into_response(),
                _ => (
                    StatusCode::UNAUTHORIZED,
                    axum::Json(json!({
                        "message": "Bad credentials",
                        "documentation_url": "https://docs.github.com/rest",
                        "status": "401"
                    })),
                )
                    .into_response(),
            };
        }
        if path == "/slack/auth.test" {
            // Slack answers HTTP 200 either way; `ok` says which.
            return match state.slack.get(&token) {
                Some(Some((user, team))) => axum::Json(json!({
                    "ok": true,
                    "url": format!("https://{}.slack.com/", team.to_lowercase()),
                    "team": team,
                    "user": user,
                    "team_id": "T12345678",
                    "user_id": "U12345678",
                    "is_enterprise_install": false
                }))
                .into_response(),
                _ => axum::Json(json!({"ok": false, "error": "invalid_auth"})).into_response(),
            };
        }
        if path.starts_with("/sts") {
            // AWS's published error shape for a key id that does not exist (or was deleted).
            let body = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>InvalidClientTokenId</Code>\n    <Message>The security token included in the request is invalid.</Message>\n  </Error>\n  <RequestId>4f1c2a7e-0b8d-4c4e-9f0a-6d2b1e3c5a77</RequestId>\n</ErrorResponse>\n";
            return (StatusCode::FORBIDDEN, [("content-type", "text/xml")], body).into_response();
        }
        (StatusCode::NOT_FOUND, "not found").into_response()
    }
}

/// A user object as GitHub's `GET /user` returns it (private-user shape, trimmed of plan fields).
fn github_user(login: &str) -> serde_json::Value {
    json!({
        "login": login,
        "id": 1234567,
        "node_id": "MDQ6VXNlcjEyMzQ1Njc=",
        "avatar_url": format!("https://avatars.githubusercontent.com/u/1234567?v=4"),
        "gravatar_id": "",
        "url": format!("https://api.github.com/users/{login}"),
        "html_url": format!("https://github.com/{login}"),
        "type": "User",
        "site_admin": false,
        "name": null,
        "company": null,
        "email": null,
        "public_repos": 3,
        "followers": 0,
        "following": 0,
        "created_at": "2019-05-01T10:00:00Z",
        "updated_at": "2026-01-10T08:00:00Z",
        "two_factor_authentication": true
    })
}
