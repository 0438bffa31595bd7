//! A fake identity provider for the tests of both crates: Microsoft Graph (with the identity
//! platform's token endpoint) or the Okta Management API, an axum server on 127.0.0.1 (free
//! port) that serves the lists a test sets up, built from the providers' published examples
//! (`fixtures/entra`, `fixtures/okta`, see [`entra`] and [`okta`]).
//!
//! Paging is each provider's own: Graph answers `{"value": [...], "@odata.nextLink": ...}` with
//! `$top` and `$skiptoken`, and honours `$select` (and keeps `$expand`ed properties); Okta answers
//! a bare array with `Link: <…>; rel="next"` (`limit`, `after`) and `X-Rate-Limit-*` headers.
//! Throttling (429 with `Retry-After`, or Okta's `X-Rate-Limit-Reset`) and outages (any status)
//! are injected on routes the test names, optionally only on pages after the first ("mid
//! listing"). Every request is logged; credentials are checked on every request.
//!
//! Authentication is each provider's own (see [`oauth`]): Graph's token endpoint takes the
//! client secret or a certificate's client assertion, Okta takes the API token (`SSWS`) or a
//! service app's private key JWT at `/oauth2/v1/token`; bearer tokens expire after the lifetime
//! a test sets, or all at once when a test injects [`Fault::RevokeTokens`], and are then refused
//! with 401 `invalid_token` as the providers refuse them.

pub mod entra;
pub mod keys;
pub mod oauth;
pub mod okta;

use oauth::{Refused, Registration, Tokens};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Which provider the fake imitates.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Provider {
    Graph,
    Okta,
}

/// An injected failure.
#[derive(Clone, Debug)]
pub enum Fault {
    /// 429 asking to wait this many seconds (Graph: `Retry-After`; Okta: `X-Rate-Limit-Reset`).
    Throttle { wait_secs: u64 },
    /// This HTTP status with the provider's error body.
    Status(u16),
    /// Every access token issued so far stops working (expired or revoked early): this request
    /// and any other sent with an old token get 401 `invalid_token`.
    RevokeTokens,
}

struct Injected {
    prefix: String,
    fault: Fault,
    /// Only on requests for a page after the first.
    later_pages_only: bool,
    remaining: Option<u32>,
}

/// One logged request.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path_and_query: String,
    pub authorization: Option<String>,
    /// The form body of a token request (tests check what was sent, then drop it).
    pub body: String,
}

#[derive(Default)]
struct State {
    lists: HashMap<String, Vec<Value>>,
    faults: Vec<Injected>,
    log: Vec<Logged>,
    /// The key of the app that may sign client assertions.
    registration: Option<Registration>,
    tokens: Tokens,
}

/// One request as the fake reads it.
struct Request {
    method: Method,
    path: String,
    path_and_query: String,
    query: BTreeMap<String, String>,
    authorization: Option<String>,
    body: Bytes,
}

impl Request {
    fn new(method: Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> Request {
        let path = uri.path().to_string();
        Request {
            method,
            path_and_query: uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| path.clone()),
            path,
            query: uri
                .query()
                .unwrap_or("")
                .split('&')
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body,
        }
    }

    fn later_page(&self) -> bool {
        self.query.contains_key("$skiptoken") || self.query.contains_key("after")
    }

    fn form(&self) -> BTreeMap<String, String> {
        String::from_utf8_lossy(&self.body)
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_string(), percent_decode(v)))
            .collect()
    }
}

/// The running fake.
#[derive(Clone)]
pub struct FakeIdp {
    pub url: String,
    pub provider: Provider,
    /// Graph's client secret (the token endpoint takes it), Okta's API token (`SSWS`).
    secret: String,
    max_page: usize,
    state: Arc<Mutex<State>>,
}

impl FakeIdp {
    /// Starts a fake on a free port of 127.0.0.1 that accepts `secret` and pages `max_page`
    /// items at most.
    pub async fn start(provider: Provider, secret: &str, max_page: usize) -> FakeIdp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let fake = FakeIdp {
            url: format!("http://{addr}"),
            provider,
            secret: secret.to_string(),
            max_page: max_page.max(1),
            state: Arc::new(Mutex::new(State::default())),
        };
        let f = fake.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let f = f.clone();
                async move { f.handle(method, uri, headers, body) }
            },
        );
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Serves `items` at `path` (no query: paging and `$select` are the fake's).
    pub fn set_list(&self, path: &str, items: Vec<Value>) {
        self.lock().lists.insert(path.to_string(), items);
    }

    /// Changes the list at `path` in place (a user disabled, an assignment removed).
    pub fn update_list(&self, path: &str, f: impl FnOnce(&mut Vec<Value>)) {
        f(self.lock().lists.entry(path.to_string()).or_default());
    }

    /// Injects `fault` on requests whose path and query start with `prefix`, `times` times
    /// (`None`: always); with `later_pages_only`, only on pages after the first.
    pub fn fault(&self, prefix: &str, fault: Fault, later_pages_only: bool, times: Option<u32>) {
        self.lock().faults.push(Injected {
            prefix: prefix.to_string(),
            fault,
            later_pages_only,
            remaining: times,
        });
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// Requests served so far.
    pub fn log(&self) -> Vec<Logged> {
        self.lock().log.clone()
    }

    /// Registers the certificate (PEM) of the Entra app `client_id`: client assertions whose
    /// `x5t` names it and whose signature its key verifies are accepted.
    pub fn register_certificate(&self, client_id: &str, certificate_pem: &str) {
        self.lock().registration = Some(Registration::certificate(client_id, certificate_pem));
    }

    /// Registers the public key (PEM) of the Okta service app `client_id`.
    pub fn register_public_key(&self, client_id: &str, public_key_pem: &str) {
        self.lock().registration = Some(Registration::public_key(client_id, public_key_pem));
    }

    /// Access tokens issued from now on live `secs` seconds (and say so in `expires_in`).
    pub fn set_token_lifetime(&self, secs: u64) {
        self.lock().tokens.lifetime_secs = Some(secs);
    }

    /// Access tokens issued so far.
    pub fn tokens_issued(&self) -> u32 {
        self.lock().tokens.issued
    }

    /// Requests refused because their access token had expired or was revoked.
    pub fn expired_token_uses(&self) -> u32 {
        self.lock().tokens.rejected
    }

    fn error(&self, status: u16, code: &str, message: &str) -> Response {
        let body = match self.provider {
            Provider::Graph => json!({"error": {"code": code, "message": message}}),
            Provider::Okta => json!({
                "errorCode": code,
                "errorSummary": message,
                "errorLink": code,
                "errorId": "oaefake",
                "errorCauses": []
            }),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(body)).into_response()
    }

    /// One request: logged, then an injected fault, the token endpoints, the credential check
    /// and the page, in that order.
    fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let req = Request::new(method, &uri, &headers, body);
        if let Some(resp) = self.log_and_fault(&req) {
            return resp;
        }
        if req.method == Method::POST && req.path.ends_with("/oauth2/v2.0/token") {
            return self.graph_token(&req);
        }
        if req.method == Method::POST && req.path == "/oauth2/v1/token" {
            return self.okta_token(&req);
        }
        if let Some(refused) = self.authorize(req.authorization.as_deref()) {
            return refused;
        }
        // Pages are cut under the lock: cloning a list of 10,000 users per page would make the
        // fake, not the scanner, what a benchmark measures.
        let state = self.lock();
        let Some(items) = state.lists.get(&req.path) else {
            drop(state);
            return self.error(404, "Request_ResourceNotFound", "Resource does not exist.");
        };
        match self.provider {
            Provider::Graph => self.graph_page(&req.path, &req.query, items),
            Provider::Okta => self.okta_page(&req.path, &req.query, items),
        }
    }

    /// Logs the request and answers for the first injected fault that matches it, if any
    /// ([`Fault::RevokeTokens`] only revokes, and lets the request go on to be refused).
    fn log_and_fault(&self, req: &Request) -> Option<Response> {
        let fault = {
            let mut s = self.lock();
            s.log.push(Logged {
                method: req.method.to_string(),
                path_and_query: req.path_and_query.clone(),
                authorization: req.authorization.clone(),
                body: String::from_utf8_lossy(&req.body).into_owned(),
            });
            let later_page = req.later_page();
            let hit = s.faults.iter_mut().find(|f| {
                req.path_and_query.starts_with(&f.prefix)
                    && f.remaining != Some(0)
                    && (!f.later_pages_only || later_page)
            });
            let fault = hit.map(|f| {
                if let Some(n) = f.remaining.as_mut() {
                    *n -= 1;
                }
                f.fault.clone()
            });
            if let Some(Fault::RevokeTokens) = fault {
                s.tokens.revoke_all();
            }
            fault
        };
        match fault? {
            Fault::Status(code) => Some(self.error(code, "serviceError", "injected failure")),
            Fault::Throttle { wait_secs } => Some(self.throttled(wait_secs)),
            Fault::RevokeTokens => None,
        }
    }

    fn throttled(&self, wait_secs: u64) -> Response {
        let mut resp = self.error(429, "TooManyRequests", "Too many requests");
        let h = resp.headers_mut();
        match self.provider {
            Provider::Graph => {
                h.insert("retry-after", header(&wait_secs.to_string()));
            }
            Provider::Okta => {
                let reset = now_epoch() + wait_secs;
                h.insert("x-rate-limit-limit", header("600"));
                h.insert("x-rate-limit-remaining", header("0"));
                h.insert("x-rate-limit-reset", header(&reset.to_string()));
            }
        }
        resp
    }

    /// `None` when the request may be served; else the provider's 401. A bearer token must be
    /// one the fake issued and still live (an old one gets `invalid_token`, as Graph and Okta
    /// answer); Okta also takes its API token as `SSWS`.
    fn authorize(&self, authorization: Option<&str>) -> Option<Response> {
        if self.provider == Provider::Okta
            && authorization == Some(format!("SSWS {}", self.secret).as_str())
        {
            return None;
        }
        let token = authorization.and_then(|a| a.strip_prefix("Bearer "));
        let checked = match token {
            Some(t) => self.lock().tokens.check(t),
            None => Err(Refused::Unknown),
        };
        match checked {
            Ok(()) => None,
            Err(Refused::Expired) => Some(self.token_expired()),
            Err(Refused::Unknown) => Some(self.error(
                401,
                "InvalidAuthenticationToken",
                "Access token is missing or invalid.",
            )),
        }
    }

    /// The 401 for an access token that expired or was revoked, in the provider's words.
    fn token_expired(&self) -> Response {
        let mut resp = match self.provider {
            Provider::Graph => self.error(
                401,
                "InvalidAuthenticationToken",
                "Lifetime validation failed, the token is expired.",
            ),
            Provider::Okta => self.error(401, "E0000011", "Invalid token provided"),
        };
        resp.headers_mut().insert(
            "www-authenticate",
            header(r#"Bearer error="invalid_token", error_description="The access token expired""#),
        );
        resp
    }

    /// Graph's token endpoint: client credentials with the right client secret, or with a
    /// client assertion signed by the registered certificate, get a bearer token.
    fn graph_token(&self, req: &Request) -> Response {
        let form = req.form();
        let audience = format!("{}{}", self.url, req.path);
        let mut state = self.lock();
        let proof = match (form.get("client_secret"), &state.registration) {
            (Some(secret), _) if secret == &self.secret => Ok(()),
            (Some(_), _) => Err("AADSTS7000215: Invalid client secret provided.".to_string()),
            (None, Some(reg)) => reg.verify(&form, &audience),
            (None, None) => {
                Err("AADSTS7000216: client_assertion or client_secret is required.".into())
            }
        };
        let ok = form.get("grant_type").map(String::as_str) == Some("client_credentials")
            && form.contains_key("client_id");
        match proof {
            Ok(()) if ok => {
                let (token, life) = state.tokens.issue();
                let answer = oauth::token_answer(&token, life, None);
                (StatusCode::OK, axum::Json(answer)).into_response()
            }
            Ok(()) => token_refused("unsupported grant or no client_id".into()),
            Err(why) => token_refused(why),
        }
    }

    /// Okta's org authorization server: a service app's private key JWT gets a bearer token.
    fn okta_token(&self, req: &Request) -> Response {
        let form = req.form();
        let audience = format!("{}{}", self.url, req.path);
        let mut state = self.lock();
        let proof = match &state.registration {
            Some(reg) => reg.verify(&form, &audience),
            None => Err("no service app is registered".into()),
        };
        let ok = form.get("grant_type").map(String::as_str) == Some("client_credentials")
            && form.get("scope").is_some_and(|s| !s.is_empty());
        match proof {
            Ok(()) if ok => {
                let (token, life) = state.tokens.issue();
                let answer = oauth::token_answer(&token, life, form.get("scope"));
                (StatusCode::OK, axum::Json(answer)).into_response()
            }
            Ok(()) => token_refused("unsupported grant or no scope".into()),
            Err(why) => token_refused(why),
        }
    }

    fn slice(
        &self,
        items: &[Value],
        size_param: Option<&String>,
        offset: usize,
    ) -> (Vec<Value>, Option<usize>) {
        let size = size_param
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(100)
            .clamp(1, self.max_page);
        let page: Vec<Value> = items.iter().skip(offset).take(size).cloned().collect();
        let next = (offset + size < items.len()).then_some(offset + size);
        (page, next)
    }

    fn graph_page(
        &self,
        path: &str,
        query: &BTreeMap<String, String>,
        items: &[Value],
    ) -> Response {
        let offset = query
            .get("$skiptoken")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let (page, next) = self.slice(items, query.get("$top"), offset);
        let page: Vec<Value> = match query.get("$select") {
            Some(select) => page
                .into_iter()
                .map(|v| project(v, select, query.get("$expand").map(String::as_str)))
                .collect(),
            None => page,
        };
        let mut body = json!({
            "@odata.context": format!("{}/v1.0/$metadata#{}", self.url, path.trim_start_matches("/v1.0/")),
            "value": page,
        });
        if let Some(n) = next {
            let mut q = query.clone();
            q.insert("$skiptoken".into(), n.to_string());
            let qs: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
            body["@odata.nextLink"] = json!(format!("{}{}?{}", self.url, path, qs.join("&")));
        }
        (StatusCode::OK, axum::Json(body)).into_response()
    }

    fn okta_page(&self, path: &str, query: &BTreeMap<String, String>, items: &[Value]) -> Response {
        let offset = query.get("after").and_then(|v| v.parse().ok()).unwrap_or(0);
        let (page, next) = self.slice(items, query.get("limit"), offset);
        let next_url = next.map(|n| {
            let mut q = query.clone();
            q.insert("after".into(), n.to_string());
            let qs: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{}{}?{}", self.url, path, qs.join("&"))
        });
        // The role assignees list is wrapped, with its next page in the body (as documented).
        let body = if path == "/api/v1/iam/assignees/users" {
            let mut b = json!({ "value": page, "_links": {} });
            if let Some(u) = &next_url {
                b["_links"]["next"] = json!({ "href": u });
            }
            b
        } else {
            Value::Array(page)
        };
        let mut resp = (StatusCode::OK, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        let mut links = vec![format!("<{}{}>; rel=\"self\"", self.url, path)];
        if let Some(u) = &next_url {
            links.push(format!("<{u}>; rel=\"next\""));
        }
        h.insert("link", header(&links.join(", ")));
        h.insert("x-rate-limit-limit", header("600"));
        h.insert("x-rate-limit-remaining", header("599"));
        h.insert(
            "x-rate-limit-reset",
            header(&(now_epoch() + 60).to_string()),
        );
        resp
    }
}

/// `v` with only the `$select`ed properties and the `$expand`ed navigation properties.
fn project(v: Value, select: &str, expand: Option<&str>) -> Value {
    let Value::Object(o) = v else {
        return v;
    };
    let mut keep: Vec<&str> = select.split(',').map(str::trim).collect();
    keep.push("@odata.type");
    if let Some(e) = expand {
        keep.extend(
            e.split(',')
                .map(|p| p.split('(').next().unwrap_or(p).trim()),
        );
    }
    Value::Object(
        o.into_iter()
            .filter(|(k, _)| keep.contains(&k.as_str()))
            .collect(),
    )
}

/// A token endpoint's refusal (RFC 6749 section 5.2), saying why.
fn token_refused(why: String) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({ "error": "invalid_client", "error_description": why })),
    )
        .into_response()
}

fn header(v: &str) -> axum::http::HeaderValue {
    axum::http::HeaderValue::from_str(v).unwrap_or(axum::http::HeaderValue::from_static(""))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                }
                Err(_) => {
                    out.push(b'%');
                    i += 1;
                }
            },
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn now_epoch() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
