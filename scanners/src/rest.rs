//! REST sweeps for the code-host scanners (GitHub, GitLab): one `GET` (or GraphQL `POST`) with a
//! per-request timeout, bounded retries, rate-limit waits and a request counter, and list reads
//! that follow `Link: <…>; rel="next"` (or GitLab's `x-next-page`) up to a page cap.
//!
//! The transport is octocrab's HTTP stack (hyper + rustls, token or GitHub App auth). Requests are
//! always sent relative to the configured API URL, so a credential never leaves for another host:
//! a `next` link that points elsewhere is an error, not a request.
//!
//! What it costs: one HTTP request per page plus one per retry; every one of them is counted in
//! [`RestClient::calls`], which the scanners report as [`crate::ScanReport::calls`].

use http::{HeaderMap, StatusCode};
use octocrab::secrecy::{ExposeSecret, SecretString};
use octocrab::Octocrab;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How patient a sweep is with a slow or throttling server.
#[derive(Debug, Clone)]
pub struct RestPolicy {
    /// Longest wait for one answer (headers and body) before it counts as a timeout.
    pub request_timeout: Duration,
    /// Retries after the first attempt, for timeouts, transport errors, 5xx and rate limits.
    pub max_retries: u32,
    /// First backoff after a 5xx or timeout; doubles on each retry.
    pub base_backoff: Duration,
    /// Longest single wait for a rate limit (`retry-after` or `x-ratelimit-reset`); a longer
    /// one ends the call with [`RestError::RateLimited`] instead of stalling the sweep.
    pub max_wait: Duration,
    /// Items per page asked for (GitHub and GitLab allow at most 100).
    pub per_page: u32,
    /// Pages read at most from one list; more is [`RestError::PageCap`].
    pub max_pages: u32,
    /// Retry timeouts, transport errors and 5xx answers (rate limits are always waited out, up
    /// to `max_retries`). Off for remediation: a change that may or may not have been made is
    /// reported, not sent again blindly.
    pub retry_failures: bool,
}

impl Default for RestPolicy {
    fn default() -> Self {
        RestPolicy {
            request_timeout: Duration::from_secs(30),
            max_retries: 4,
            base_backoff: Duration::from_secs(1),
            max_wait: Duration::from_secs(900),
            per_page: 100,
            max_pages: 1000,
            retry_failures: true,
        }
    }
}

/// Why a request or list read did not produce an answer. Each names the route so the scan run's
/// error list says which part of the scope is missing.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RestError {
    /// The server answered with an error status that retrying does not fix (or retries ran out).
    #[error("{route}: HTTP {status}: {message}")]
    Status {
        route: String,
        status: u16,
        message: String,
    },
    /// No answer within the request timeout, on every attempt.
    #[error("{route}: no answer within {timeout_ms} ms after {attempts} attempts")]
    Timeout {
        route: String,
        timeout_ms: u128,
        attempts: u32,
    },
    /// The connection failed on every attempt.
    #[error("{route}: {message}")]
    Transport { route: String, message: String },
    /// The rate limit resets later than the policy lets the sweep wait.
    #[error("{route}: rate limited for {wait_secs} s more, longer than the allowed wait of {max_wait_secs} s; spread the sweep or raise max_wait")]
    RateLimited {
        route: String,
        wait_secs: u64,
        max_wait_secs: u64,
    },
    /// The body is not the JSON the route returns.
    #[error("{route}: cannot read the answer: {message}")]
    Decode { route: String, message: String },
    /// The list has more pages than the policy allows.
    #[error("{route}: more than {max_pages} pages; raise max_pages to read all of it")]
    PageCap { route: String, max_pages: u32 },
    /// A `next` link points away from the API URL; it is not followed with our credentials.
    #[error("{route}: next page `{url}` is not under the API URL; not following it")]
    ForeignLink { route: String, url: String },
}

impl RestError {
    /// The HTTP status, when the server answered with one.
    pub fn status(&self) -> Option<u16> {
        match self {
            RestError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// One successful answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// Parses the body as JSON.
    pub(crate) fn json(&self, route: &str) -> Result<Value, RestError> {
        serde_json::from_str(&self.body).map_err(|e| RestError::Decode {
            route: route.to_string(),
            message: e.to_string(),
        })
    }
}

/// The primary rate limit as the last answer reported it.
#[derive(Debug, Default, Clone, Copy)]
struct RateState {
    remaining: Option<u64>,
    reset_epoch: Option<u64>,
}

/// An authenticated client for one API URL, shared by the tasks of one sweep.
#[derive(Clone)]
pub(crate) struct RestClient {
    crab: Octocrab,
    base: String,
    policy: RestPolicy,
    calls: Arc<AtomicU64>,
    rate: Arc<Mutex<RateState>>,
    /// An OAuth 2.0 bearer token sent with every `GET` and renewed as it expires (the identity
    /// providers); `None` when octocrab's own authentication (or a fixed header) is used.
    bearer: Option<Arc<dyn TokenSource>>,
}

/// A future a [`TokenSource`] returns.
pub(crate) type TokenFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, String>> + Send + 'a>>;

/// Where a client's bearer token comes from and how it is renewed (the identity providers'
/// OAuth 2.0 grants, `crate::oauth`). A trait, because a token is itself fetched through a
/// [`RestClient`]: the client knows this much of a token and nothing of how one is issued.
pub(crate) trait TokenSource: Send + Sync {
    /// The `Authorization` value to send now, renewed first when it is about to expire.
    fn authorization(&self) -> TokenFuture<'_, SecretString>;
    /// Whether an answer says the token itself was refused (expired, revoked), which a new
    /// token fixes, rather than a permission missing.
    fn refuses(&self, status: u16, headers: &HeaderMap, body: &str) -> bool;
    /// The API refused `sent`: a new token, unless another request already replaced it.
    fn rejected<'a>(&'a self, sent: &'a SecretString) -> TokenFuture<'a, ()>;
}

enum Method<'a> {
    Get,
    Post(&'a Value),
    /// `application/x-www-form-urlencoded` (an OAuth 2.0 token request).
    Form(&'a str),
    /// Remediation only (`crate::remediate`): callers build the client with no retries, since a
    /// mutating call that failed is reported, not repeated blindly.
    Delete,
}

impl RestClient {
    /// Wraps an octocrab client whose base URI is `api_url`.
    pub(crate) fn new(crab: Octocrab, api_url: &str, policy: RestPolicy) -> RestClient {
        RestClient {
            crab,
            base: api_url.trim_end_matches('/').to_string(),
            policy,
            calls: Arc::new(AtomicU64::new(0)),
            rate: Arc::new(Mutex::new(RateState::default())),
            bearer: None,
        }
    }

    /// The same client, sending `bearer`'s token with every `GET` (the only method an
    /// identity-provider sweep uses): refreshed before it expires, and once more, with the call
    /// retried, when the API rejects it.
    pub(crate) fn with_bearer(mut self, bearer: Arc<dyn TokenSource>) -> RestClient {
        self.bearer = Some(bearer);
        self
    }

    /// HTTP requests sent so far, retries included.
    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// `GET route` (a path under the API URL, with query) with retries.
    pub(crate) async fn get(&self, route: &str) -> Result<Answer, RestError> {
        self.send(route, Method::Get).await
    }

    /// `POST route` with a JSON body (GraphQL), with retries.
    pub(crate) async fn post_json(&self, route: &str, body: &Value) -> Result<Answer, RestError> {
        self.send(route, Method::Post(body)).await
    }

    /// `DELETE route`: the status of any 2xx answer, an error otherwise (404 included, which
    /// the caller reads as "already gone").
    pub(crate) async fn delete(&self, route: &str) -> Result<Answer, RestError> {
        self.send(route, Method::Delete).await
    }

    /// Reads every page of a list. `key` names the array inside a wrapper object (`secrets`,
    /// `variables`, `installations`); `None` means the page itself is the array.
    pub(crate) async fn get_all(
        &self,
        route: &str,
        key: Option<&str>,
    ) -> Result<Vec<Value>, RestError> {
        let mut items = Vec::new();
        let mut next = Some(with_per_page(route, self.policy.per_page));
        let mut pages = 0u32;
        while let Some(current) = next.take() {
            if pages >= self.policy.max_pages {
                return Err(RestError::PageCap {
                    route: route.to_string(),
                    max_pages: self.policy.max_pages,
                });
            }
            pages += 1;
            let answer = self.get(&current).await?;
            let page = answer.json(route)?;
            let list = match key {
                Some(k) => page.get(k).cloned().unwrap_or(Value::Null),
                None => page,
            };
            match list {
                Value::Array(mut v) => items.append(&mut v),
                Value::Null if key.is_some() => {}
                other => {
                    return Err(RestError::Decode {
                        route: route.to_string(),
                        message: format!("expected a list, got {}", kind_of(&other)),
                    })
                }
            }
            next = self.next_page(route, &current, &answer.headers)?;
        }
        Ok(items)
    }

    /// The next page from `Link` (GitHub, GitLab) or `x-next-page` (GitLab offset pagination).
    fn next_page(
        &self,
        route: &str,
        current: &str,
        headers: &HeaderMap,
    ) -> Result<Option<String>, RestError> {
        let link = headers
            .get_all(http::header::LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(next_link);
        if let Some(url) = link {
            return self.relative(route, &url).map(Some);
        }
        let next = headers
            .get("x-next-page")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty());
        Ok(next.map(|n| set_query(current, "page", n)))
    }

    /// A URL from a `Link` header as a path under the API URL.
    fn relative(&self, route: &str, url: &str) -> Result<String, RestError> {
        if url.starts_with('/') {
            return Ok(url.to_string());
        }
        match url.strip_prefix(&self.base) {
            Some(rest) if rest.starts_with('/') || rest.starts_with('?') => Ok(rest.to_string()),
            _ => Err(RestError::ForeignLink {
                route: route.to_string(),
                url: url.to_string(),
            }),
        }
    }

    /// Waits out an exhausted primary rate limit (or refuses to, past `max_wait`).
    async fn respect_primary_limit(&self, route: &str) -> Result<(), RestError> {
        let state = *self.rate.lock().unwrap_or_else(|p| p.into_inner());
        if state.remaining != Some(0) {
            return Ok(());
        }
        let wait = state
            .reset_epoch
            .map(|reset| reset.saturating_sub(now_epoch()))
            .unwrap_or(60);
        self.wait(route, Duration::from_secs(wait)).await?;
        let mut s = self.rate.lock().unwrap_or_else(|p| p.into_inner());
        s.remaining = None;
        Ok(())
    }

    async fn wait(&self, route: &str, d: Duration) -> Result<(), RestError> {
        if d > self.policy.max_wait {
            return Err(RestError::RateLimited {
                route: route.to_string(),
                wait_secs: d.as_secs(),
                max_wait_secs: self.policy.max_wait.as_secs(),
            });
        }
        tokio::time::sleep(d).await;
        Ok(())
    }

    fn record_rate(&self, headers: &HeaderMap) {
        // GitHub and GitLab spell it `x-ratelimit-*`, Okta `x-rate-limit-*` (epoch seconds too).
        let remaining = header_u64(headers, "x-ratelimit-remaining")
            .or_else(|| header_u64(headers, "x-rate-limit-remaining"));
        let reset = header_u64(headers, "x-ratelimit-reset")
            .or_else(|| header_u64(headers, "x-rate-limit-reset"));
        if remaining.is_some() || reset.is_some() {
            let mut s = self.rate.lock().unwrap_or_else(|p| p.into_inner());
            s.remaining = remaining;
            s.reset_epoch = reset;
        }
    }

    async fn send(&self, route: &str, method: Method<'_>) -> Result<Answer, RestError> {
        let mut attempt = 0u32;
        let mut renewed = false;
        loop {
            self.respect_primary_limit(route).await?;
            let auth = self.authorization(route).await?;
            self.calls.fetch_add(1, Ordering::Relaxed);
            let outcome = tokio::time::timeout(
                self.policy.request_timeout,
                self.exchange(route, &method, auth.as_ref()),
            )
            .await;
            let retry_in = match outcome {
                Err(_) => {
                    if attempt >= self.policy.max_retries || !self.policy.retry_failures {
                        return Err(RestError::Timeout {
                            route: route.to_string(),
                            timeout_ms: self.policy.request_timeout.as_millis(),
                            attempts: attempt + 1,
                        });
                    }
                    self.backoff(attempt)
                }
                Ok(Err(message)) => {
                    if attempt >= self.policy.max_retries || !self.policy.retry_failures {
                        return Err(RestError::Transport {
                            route: route.to_string(),
                            message,
                        });
                    }
                    self.backoff(attempt)
                }
                Ok(Ok(answer)) => {
                    self.record_rate(&answer.headers);
                    let status = StatusCode::from_u16(answer.status)
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    if status.is_success() || status == StatusCode::NOT_MODIFIED {
                        return Ok(answer);
                    }
                    if let (Some(bearer), Some(sent), false) = (&self.bearer, &auth, renewed) {
                        if bearer.refuses(answer.status, &answer.headers, &answer.body) {
                            // Expired or revoked early: one new token, the same call again.
                            renewed = true;
                            bearer
                                .rejected(sent)
                                .await
                                .map_err(|message| token_error(route, message))?;
                            continue;
                        }
                    }
                    let retry = match self.throttle_wait(&answer) {
                        Some(wait) => Some(wait),
                        None if status.is_server_error() && self.policy.retry_failures => {
                            Some(self.backoff(attempt))
                        }
                        None => None,
                    };
                    match retry {
                        Some(wait) if attempt < self.policy.max_retries => wait,
                        _ => {
                            return Err(RestError::Status {
                                route: route.to_string(),
                                status: answer.status,
                                message: error_message(&answer.body),
                            })
                        }
                    }
                }
            };
            self.wait(route, retry_in).await?;
            attempt += 1;
        }
    }

    /// How long a throttled answer (403/429) asks us to wait, or `None` if it is not throttling.
    fn throttle_wait(&self, answer: &Answer) -> Option<Duration> {
        if answer.status != 403 && answer.status != 429 {
            return None;
        }
        if let Some(secs) = header_u64(&answer.headers, "retry-after") {
            return Some(Duration::from_secs(secs));
        }
        if header_u64(&answer.headers, "x-ratelimit-remaining") == Some(0) {
            let reset = header_u64(&answer.headers, "x-ratelimit-reset").unwrap_or(0);
            return Some(Duration::from_secs(
                reset.saturating_sub(now_epoch()).max(1),
            ));
        }
        if answer.status == 429 {
            // Okta: a 429 carries `x-rate-limit-reset` (epoch seconds) instead of `retry-after`.
            if let Some(reset) = header_u64(&answer.headers, "x-rate-limit-reset") {
                return Some(Duration::from_secs(
                    reset.saturating_sub(now_epoch()).max(1),
                ));
            }
        }
        let body = answer.body.to_ascii_lowercase();
        if answer.status == 429 || body.contains("secondary rate limit") {
            // GitHub: "wait at least one minute" when no header says how long.
            return Some(Duration::from_secs(60).min(self.policy.base_backoff * 60));
        }
        None
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.policy.base_backoff * 2u32.saturating_pow(attempt.min(10))
    }

    /// The bearer token's `Authorization` value, when the client has one.
    async fn authorization(&self, route: &str) -> Result<Option<SecretString>, RestError> {
        match &self.bearer {
            Some(b) => b
                .authorization()
                .await
                .map(Some)
                .map_err(|message| token_error(route, message)),
            None => Ok(None),
        }
    }

    /// One request and its whole body; `Err` is a transport failure.
    async fn exchange(
        &self,
        route: &str,
        method: &Method<'_>,
        auth: Option<&SecretString>,
    ) -> Result<Answer, String> {
        let response = match method {
            Method::Get => match auth {
                Some(auth) => {
                    let mut value = http::HeaderValue::from_str(auth.expose_secret())
                        .map_err(|_| "the access token is not a valid header value".to_string())?;
                    value.set_sensitive(true);
                    let mut headers = HeaderMap::new();
                    headers.insert(http::header::AUTHORIZATION, value);
                    self.crab._get_with_headers(route, Some(headers)).await
                }
                None => self.crab._get(route).await,
            },
            Method::Post(body) => self.crab._post(route, Some(*body)).await,
            Method::Form(body) => {
                let request = http::Request::builder()
                    .method(http::Method::POST)
                    .uri(route)
                    .header(
                        http::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body.to_string())
                    .map_err(|e| format!("request failed: {e}"))?;
                self.crab.execute(request).await
            }
            Method::Delete => self.crab._delete(route, None::<&()>).await,
        }
        .map_err(|e| format!("request failed: {e}"))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = self
            .crab
            .body_to_string(response)
            .await
            .map_err(|e| format!("reading the answer failed: {e}"))?;
        Ok(Answer {
            status,
            headers,
            body,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Identity-provider paging (Microsoft Graph, Okta): the same requests, retries and counter, with
// the two providers' own ways of saying where the next page is.
// ---------------------------------------------------------------------------------------------

/// How an identity provider pages a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdpPaging {
    /// Microsoft Graph: `{"value": [...], "@odata.nextLink": "<absolute URL>"}`, page size `$top`.
    OData,
    /// Okta: a bare array (or `{"value": [...]}`), the next page in `Link: <…>; rel="next"` or in
    /// the body's `_links.next.href`, page size `limit`.
    Okta,
}

impl RestClient {
    /// `POST route` with a form body (an OAuth 2.0 client-credentials token request), with
    /// retries. The body holds a secret: it is never logged, and errors name only the route.
    pub(crate) async fn post_form(&self, route: &str, form: &str) -> Result<Answer, RestError> {
        self.send(route, Method::Form(form)).await
    }

    /// Reads every page of an identity provider's list, `page_size` items a page.
    pub(crate) async fn get_all_idp(
        &self,
        route: &str,
        paging: IdpPaging,
        page_size: u32,
    ) -> Result<Vec<Value>, RestError> {
        let size = page_size.to_string();
        let first = match paging {
            IdpPaging::OData if route.contains("$top=") => route.to_string(),
            IdpPaging::OData => set_query(route, "$top", &size),
            IdpPaging::Okta if route.contains("limit=") => route.to_string(),
            IdpPaging::Okta => set_query(route, "limit", &size),
        };
        let mut items = Vec::new();
        let mut next = Some(first);
        let mut pages = 0u32;
        while let Some(current) = next.take() {
            if pages >= self.policy.max_pages {
                return Err(RestError::PageCap {
                    route: route.to_string(),
                    max_pages: self.policy.max_pages,
                });
            }
            pages += 1;
            let answer = self.get(&current).await?;
            let page = answer.json(route)?;
            let (list, body_next) = match page {
                Value::Array(v) => (v, None),
                Value::Object(mut o) => {
                    let body_next = o
                        .get("@odata.nextLink")
                        .and_then(Value::as_str)
                        .or_else(|| {
                            o.get("_links")
                                .and_then(|l| l.get("next"))
                                .and_then(|n| n.get("href"))
                                .and_then(Value::as_str)
                        })
                        .map(str::to_string);
                    match o.remove("value") {
                        Some(Value::Array(v)) => (v, body_next),
                        other => {
                            return Err(RestError::Decode {
                                route: route.to_string(),
                                message: format!(
                                    "expected a `value` list, got {}",
                                    other.as_ref().map_or("nothing", kind_of)
                                ),
                            })
                        }
                    }
                }
                other => {
                    return Err(RestError::Decode {
                        route: route.to_string(),
                        message: format!("expected a list, got {}", kind_of(&other)),
                    })
                }
            };
            items.extend(list);
            let header_next = answer
                .headers
                .get_all(http::header::LINK)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(next_link);
            next = match body_next.or(header_next) {
                Some(url) => Some(self.relative(route, &url)?),
                None => None,
            };
        }
        Ok(items)
    }
}

/// The `rel="next"` URL of one `Link` header value.
pub(crate) fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let mut pieces = part.split(';');
        let url = pieces.next()?.trim();
        let is_next = pieces.any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        let url = url.strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| url.to_string())
    })
}

/// `route` with `per_page` set unless it already has one.
pub(crate) fn with_per_page(route: &str, per_page: u32) -> String {
    if route.contains("per_page=") {
        route.to_string()
    } else {
        set_query(route, "per_page", &per_page.to_string())
    }
}

/// `route` with query parameter `key` set to `value` (replacing an existing one).
pub(crate) fn set_query(route: &str, key: &str, value: &str) -> String {
    let (path, query) = route.split_once('?').unwrap_or((route, ""));
    let mut params: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(key))
        .map(str::to_string)
        .collect();
    params.push(format!("{key}={value}"));
    format!("{path}?{}", params.join("&"))
}

/// Percent-encodes one path segment or query value (RFC 3986 unreserved characters stay).
pub(crate) fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn now_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A sweep whose token could not be renewed: as the API's own 401 would say.
fn token_error(route: &str, message: String) -> RestError {
    RestError::Status {
        route: route.to_string(),
        status: 401,
        message,
    }
}

/// The `message` of an error body, or its first 200 characters. Error bodies of GitHub and GitLab
/// carry no secrets (they never echo request headers).
fn error_message(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        if let Some(m) = v.get("message").and_then(Value::as_str) {
            return m.to_string();
        }
        if let Some(m) = v.get("error").and_then(Value::as_str) {
            // OAuth 2.0 token endpoints: `{"error": "invalid_client", "error_description": …}`.
            return match v.get("error_description").and_then(Value::as_str) {
                Some(d) => format!("{m}: {d}"),
                None => m.to_string(),
            };
        }
        // Microsoft Graph: `{"error": {"code", "message"}}`; Okta: `errorSummary`.
        if let Some(m) = v.pointer("/error/message").and_then(Value::as_str) {
            return m.to_string();
        }
        if let Some(m) = v.get("errorSummary").and_then(Value::as_str) {
            return m.to_string();
        }
    }
    body.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_next_link_among_others() {
        let h = r#"<https://api.github.com/orgs/o/members?page=2&per_page=100>; rel="next", <https://api.github.com/orgs/o/members?page=9>; rel="last""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://api.github.com/orgs/o/members?page=2&per_page=100")
        );
        assert_eq!(next_link(r#"<https://x/y?page=1>; rel="prev""#), None);
    }

    #[test]
    fn sets_query_parameters_once() {
        assert_eq!(with_per_page("/a", 50), "/a?per_page=50");
        assert_eq!(
            with_per_page("/a?role=admin", 50),
            "/a?role=admin&per_page=50"
        );
        assert_eq!(set_query("/a?page=2&x=1", "page", "3"), "/a?x=1&page=3");
    }

    #[test]
    fn encodes_path_segments() {
        assert_eq!(encode("group/sub group"), "group%2Fsub%20group");
    }
}
