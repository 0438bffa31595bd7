//! A fake code host for the tests of both crates: an axum server on 127.0.0.1 (free port) that
//! serves lists the test sets up, pages them with `Link` headers (and GitLab's `x-next-page`),
//! answers GraphQL for the GitHub queries the scanner sends, and injects failures (403 secondary
//! rate limit with `retry-after`, 5xx, slow answers) on routes the test names. Every request is
//! logged.

pub mod github;
pub mod gitlab;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How a list is shaped on the wire.
#[derive(Clone)]
pub enum Shape {
    /// A bare JSON array.
    Array,
    /// `{"total_count": n, "<key>": [...]}`.
    Wrapped(&'static str),
}

/// Injected failure on every route starting with a prefix.
#[derive(Clone, Debug)]
pub enum Fault {
    /// 403 "secondary rate limit" with `retry-after` seconds.
    SecondaryRateLimit { retry_after: u64 },
    /// An HTTP status with a JSON message.
    Status(u16),
    /// Answer only after this long.
    Delay(Duration),
}

struct Injected {
    prefix: String,
    fault: Fault,
    /// How many more times it fires; `None` is forever.
    remaining: Option<u32>,
}

/// Which API the fake imitates (pagination headers and GraphQL differ).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Github,
    Gitlab,
}

/// One logged request.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path_and_query: String,
    pub authorization: Option<String>,
    pub private_token: Option<String>,
}

#[derive(Default)]
struct State {
    lists: HashMap<String, (Shape, Vec<Value>)>,
    objects: HashMap<String, Value>,
    faults: Vec<Injected>,
    log: Vec<Logged>,
    gql: github::GraphqlState,
}

/// The running fake. Dropping it does not stop the server (the test runtime ends it).
#[derive(Clone)]
pub struct Fake {
    pub url: String,
    flavor: Flavor,
    max_per_page: usize,
    state: Arc<Mutex<State>>,
}

impl Fake {
    /// Starts a fake on a free port of 127.0.0.1.
    pub async fn start(flavor: Flavor) -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let fake = Fake {
            url: format!("http://{addr}"),
            flavor,
            max_per_page: 100,
            state: Arc::new(Mutex::new(State::default())),
        };
        let f = fake.clone();
        let app = axum::Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let f = f.clone();
                async move { f.handle(method, uri, headers, body).await }
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

    /// Serves `items` at `route` (path plus the query parameters other than paging).
    pub fn set_list(&self, route: &str, shape: Shape, items: Vec<Value>) {
        self.lock().lists.insert(key(route), (shape, items));
    }

    /// Serves one object at `route`.
    pub fn set_object(&self, route: &str, v: Value) {
        self.lock().objects.insert(key(route), v);
    }

    /// Injects `fault` on routes starting with `prefix`, `times` times (`None`: always).
    pub fn fault(&self, prefix: &str, fault: Fault, times: Option<u32>) {
        self.lock().faults.push(Injected {
            prefix: prefix.to_string(),
            fault,
            remaining: times,
        });
    }

    /// Requests served so far.
    pub fn log(&self) -> Vec<Logged> {
        self.lock().log.clone()
    }

    /// Mutable access to the GitHub GraphQL state.
    pub fn with_graphql<R>(&self, f: impl FnOnce(&mut github::GraphqlState) -> R) -> R {
        f(&mut self.lock().gql)
    }

    async fn handle(&self, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
        let path = uri.path().to_string();
        let pq = uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| path.clone());
        if let Some(resp) = self.log_and_fault(&method, &pq, &path, &headers).await {
            return resp;
        }
        if method == Method::DELETE {
            return self.delete(&path);
        }
        // `POST /orgs/{org}/personal-access-tokens/{pat_id}` `{"action": "revoke"}` (GitHub:
        // 204) takes the grant out of the list like a DELETE.
        let posted: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if method == Method::POST && posted.get("action").and_then(Value::as_str) == Some("revoke")
        {
            return self.delete(&path);
        }
        if method == Method::POST && path.ends_with("/graphql") {
            let answer = github::answer_graphql(&self.lock().gql, &posted);
            return with_rate((StatusCode::OK, axum::Json(answer)).into_response());
        }
        let query: BTreeMap<String, String> = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let k = key(&pq);
        let s = self.lock();
        if let Some(obj) = s.objects.get(&k) {
            return with_rate((StatusCode::OK, axum::Json(obj.clone())).into_response());
        }
        let Some((shape, items)) = s.lists.get(&k) else {
            return (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"message": "Not Found"})),
            )
                .into_response();
        };
        with_rate(self.page(&path, &query, shape, items))
    }

    /// Logs the request, then answers it with the first injected fault its path matches
    /// (`None`: no fault, or a delay that has been waited out).
    async fn log_and_fault(
        &self,
        method: &Method,
        pq: &str,
        path: &str,
        headers: &HeaderMap,
    ) -> Option<Response> {
        let header = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let fault = {
            let mut s = self.lock();
            s.log.push(Logged {
                method: method.to_string(),
                path_and_query: pq.to_string(),
                authorization: header("authorization"),
                private_token: header("private-token"),
            });
            let mut hit = None;
            for f in s.faults.iter_mut() {
                if path.starts_with(&f.prefix) && f.remaining != Some(0) {
                    if let Some(n) = f.remaining.as_mut() {
                        *n -= 1;
                    }
                    hit = Some(f.fault.clone());
                    break;
                }
            }
            hit
        };
        match fault? {
            Fault::Delay(d) => {
                tokio::time::sleep(d).await;
                None
            }
            Fault::SecondaryRateLimit { retry_after } => Some(
                (
                    StatusCode::FORBIDDEN,
                    [("retry-after", retry_after.to_string())],
                    axum::Json(json!({
                        "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
                    })),
                )
                    .into_response(),
            ),
            Fault::Status(code) => Some(
                (
                    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    axum::Json(json!({"message": "Server Error"})),
                )
                    .into_response(),
            ),
        }
    }

    /// One page of a list, with GitHub's `Link` header (and GitLab's `X-*` paging headers).
    fn page(
        &self,
        path: &str,
        query: &BTreeMap<String, String>,
        shape: &Shape,
        items: &[Value],
    ) -> Response {
        let per_page = query
            .get("per_page")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(30)
            .clamp(1, self.max_per_page);
        let page = query
            .get("page")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let last = items.len().div_ceil(per_page).max(1);
        let slice: Vec<Value> = items
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .cloned()
            .collect();
        let body = match shape {
            Shape::Array => Value::Array(slice),
            Shape::Wrapped(key) => json!({"total_count": items.len(), *key: slice}),
        };
        let mut resp = (StatusCode::OK, axum::Json(body)).into_response();
        let link_for = |n: usize| {
            let mut q = query.clone();
            q.insert("page".into(), n.to_string());
            q.insert("per_page".into(), per_page.to_string());
            let qs: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{}{}?{}", self.url, path, qs.join("&"))
        };
        let mut links = Vec::new();
        if page < last {
            links.push(format!("<{}>; rel=\"next\"", link_for(page + 1)));
        }
        links.push(format!("<{}>; rel=\"first\"", link_for(1)));
        links.push(format!("<{}>; rel=\"last\"", link_for(last)));
        let h = resp.headers_mut();
        if let Ok(v) = links.join(", ").parse() {
            h.insert("link", v);
        }
        if self.flavor == Flavor::Gitlab {
            let next = if page < last {
                (page + 1).to_string()
            } else {
                String::new()
            };
            for (name, value) in [
                ("x-next-page", next),
                ("x-page", page.to_string()),
                ("x-per-page", per_page.to_string()),
                ("x-total", items.len().to_string()),
                ("x-total-pages", last.to_string()),
            ] {
                if let Ok(v) = value.parse() {
                    h.insert(name, v);
                }
            }
        }
        resp
    }
}

impl Fake {
    /// `DELETE PARENT/ITEM`, as GitHub's removal endpoints behave (`DELETE
    /// /orgs/{org}/members/{username}`, `/orgs/{org}/invitations/{invitation_id}`,
    /// `/repos/{owner}/{repo}/collaborators/{username}`, `/repos/{owner}/{repo}/keys/{key_id}`:
    /// 204 No Content, 404 when there is no such item): removes the item whose `login`,
    /// `username` or `id` is ITEM from every list served at PARENT (whatever its query), so that
    /// the next sweep no longer sees it.
    fn delete(&self, path: &str) -> Response {
        let not_found = || {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"message": "Not Found"})),
            )
                .into_response()
        };
        let Some((parent, item)) = path.rsplit_once('/') else {
            return not_found();
        };
        let parent = self.gitlab_group_by_id(parent);
        let parent = parent.as_str();
        let mut removed = false;
        for (route, (_, items)) in self.lock().lists.iter_mut() {
            let list_path = route.split_once('?').map_or(route.as_str(), |(p, _)| p);
            if list_path != parent {
                continue;
            }
            let before = items.len();
            items.retain(|v| !is_item(v, item));
            removed |= items.len() != before;
        }
        if removed {
            with_rate(StatusCode::NO_CONTENT.into_response())
        } else {
            not_found()
        }
    }
}

impl Fake {
    /// GitLab's `:id` is a numeric id or the URL-encoded full path: `/groups/acme%2Fteam/members`
    /// becomes `/groups/ID/members`, the id of the group (served as an object or a list item)
    /// with that `full_path`, where the lists of the test are.
    fn gitlab_group_by_id(&self, parent: &str) -> String {
        let Some(rest) = parent.strip_prefix("/groups/") else {
            return parent.to_string();
        };
        let (id, tail) = rest.split_once('/').unwrap_or((rest, ""));
        if self.flavor != Flavor::Gitlab || id.parse::<u64>().is_ok() {
            return parent.to_string();
        }
        let full_path = id.replace("%2F", "/").replace("%2f", "/");
        let s = self.lock();
        let found = s
            .objects
            .values()
            .chain(s.lists.values().flat_map(|(_, items)| items.iter()))
            .find(|v| v.get("full_path").and_then(Value::as_str) == Some(full_path.as_str()))
            .and_then(|v| v.get("id").and_then(Value::as_u64));
        match found {
            Some(n) if tail.is_empty() => format!("/groups/{n}"),
            Some(n) => format!("/groups/{n}/{tail}"),
            None => parent.to_string(),
        }
    }
}

/// Whether a list item is the one a `DELETE` path names: by login, username or id.
fn is_item(v: &Value, item: &str) -> bool {
    ["login", "username"]
        .iter()
        .any(|k| v.get(k).and_then(Value::as_str) == Some(item))
        || v.get("id").is_some_and(|id| match id {
            Value::String(s) => s == item,
            other => other.as_u64().is_some_and(|n| item.parse() == Ok(n)),
        })
}

fn with_rate(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        "x-ratelimit-limit",
        axum::http::HeaderValue::from_static("5000"),
    );
    h.insert(
        "x-ratelimit-remaining",
        axum::http::HeaderValue::from_static("4999"),
    );
    resp
}

/// The lookup key of a route: its path and its query parameters other than `page`/`per_page`,
/// sorted.
pub fn key(route: &str) -> String {
    let (path, query) = route.split_once('?').unwrap_or((route, ""));
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("page=") && !p.starts_with("per_page="))
        .collect();
    params.sort();
    if params.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", params.join("&"))
    }
}

/// The repository's `fixtures` directory (the nearest ancestor of this crate that has one).
pub fn fixtures_dir() -> std::path::PathBuf {
    let manifest = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|d| d.join("fixtures"))
        .find(|d| d.join("github").is_dir())
        .unwrap_or_else(|| manifest.join("../fixtures"))
}

/// A fixture file of this repository, parsed.
pub fn fixture(dir: &str, name: &str) -> Value {
    let path = format!("{}/{dir}/{name}", fixtures_dir().display());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // Token-shaped example values are stored split so the repository trips no secret scanner.
    let text = text.replace("{{split}}", "");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `base` with `fields` set (a fixture item as a template for state the test sets up).
pub fn with(base: &Value, fields: Value) -> Value {
    let mut v = base.clone();
    if let (Some(o), Some(f)) = (v.as_object_mut(), fields.as_object()) {
        for (k, x) in f {
            o.insert(k.clone(), x.clone());
        }
    }
    v
}
