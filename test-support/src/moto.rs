//! The real IAM API for tests: one moto server per test binary, on a free loopback port.
//!
//! [`moto()`] starts `fixtures/aws/moto_harness.py` (moto's own server app, in-process, plus a
//! back-dating endpoint for last-use times) once per test binary. The harness binds 127.0.0.1 on
//! a port the kernel picks and reports it on stdout. Its stdin is a pipe whose write end lives in
//! a static here and is never written: when the test binary exits, however it exits, the pipe
//! closes and the server exits with it, so no server outlives the tests.
//!
//! Each scanner test uses its own moto account (the `x-moto-account-id` header, see
//! [`AwsScanConfig::extra_headers`]), so tests share the server without seeing each other's
//! users. The `residual` binary cannot send that header: tests that run it against moto take
//! [`default_account`], which serialises them and empties moto first. No test stops the server
//! (every test of the binary shares it); a test of an outage points its client elsewhere
//! ([`unreachable_endpoint`]). Credentials are moto's dummies, set in the environment before any
//! client is built.

use residual_scanners::aws_iam::{AwsScanConfig, Clients};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

/// moto's default account: the one a client without the `x-moto-account-id` header reads.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// A running moto server.
pub struct Moto {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// Held so the server is this binary's for its whole life.
    _child: Mutex<Child>,
    /// Held, never written: closing it (at exit) stops the server.
    _stdin: Mutex<ChildStdin>,
}

/// The repository's `fixtures/aws` directory.
pub fn fixtures() -> PathBuf {
    repo_root().join("fixtures/aws")
}

/// The workspace root: the nearest ancestor of this crate with `fixtures/aws`.
fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|d| d.join("fixtures/aws").is_dir())
        .map(PathBuf::from)
        .unwrap_or(manifest)
}

static MOTO: OnceLock<Moto> = OnceLock::new();

/// A Python that can import moto's server: `RESIDUAL_PYTHON`, else `python3` when it has moto,
/// else a virtualenv under `target/` that this installs `moto[server]` into from PyPI once — so
/// that `cargo test --workspace` works on a fresh machine without a separate install step.
fn python_with_moto() -> String {
    if let Ok(p) = std::env::var("RESIDUAL_PYTHON") {
        return p;
    }
    let has_moto = |py: &str| {
        Command::new(py)
            .args(["-c", "import moto.server, flask"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if has_moto("python3") {
        return "python3".into();
    }
    let venv = repo_root().join("target/moto-venv");
    let python = venv.join("bin/python");
    let python_str = python.to_string_lossy().into_owned();
    if has_moto(&python_str) {
        return python_str;
    }
    eprintln!(
        "moto is not installed: installing moto[server] into {}",
        venv.display()
    );
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success())
        && Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "moto[server]>=5.1,<6",
            ])
            .status()
            .is_ok_and(|s| s.success());
    assert!(
        ok,
        "could not install moto[server] into {}; run `pip install 'moto[server]'`",
        venv.display()
    );
    python_str
}

/// The test binary's moto server, started on first use.
pub fn moto() -> &'static Moto {
    MOTO.get_or_init(|| {
        // moto accepts any credentials; these must exist for the SDK to sign at all. Set once,
        // before any client is built (every test calls moto() first).
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::remove_var("AWS_PROFILE");
        let python = python_with_moto();
        let script = fixtures().join("moto_harness.py");
        let mut child = Command::new(&python)
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {python} {}: {e} (pip install 'moto[server]')",
                    script.display()
                )
            });
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the harness's READY line");
        let port: u16 = line
            .strip_prefix("READY ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("moto harness did not start: {line:?} (is moto installed?)"));
        let stdin = child.stdin.take().expect("piped stdin");
        Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            _child: Mutex::new(child),
            _stdin: Mutex::new(stdin),
        }
    })
}

/// A scan configuration for one moto account: fast retries, no service-specific credentials
/// (moto answers that call with HTTP 500; `aws_iam_fixtures.rs` covers it with AWS's payloads).
pub fn config(account: &str) -> AwsScanConfig {
    AwsScanConfig {
        endpoint_url: Some(moto().endpoint.clone()),
        extra_headers: vec![("x-moto-account-id".into(), account.into())],
        service_specific_credentials: false,
        max_attempts: 2,
        initial_backoff: Duration::from_millis(20),
        throttle_retries: 1,
        throttle_backoff: Duration::from_millis(20),
        report_timeout: Duration::from_secs(10),
        ..AwsScanConfig::default()
    }
}

/// Clients for seeding a moto account through aws-sdk-iam itself.
pub async fn seed_clients(account: &str) -> Clients {
    Clients::new(&config(account)).await
}

/// Sets an access key's last use in the past (moto only ever records "now").
pub async fn backdate_key(account: &str, key_id: &str, time: &str, service: &str, region: &str) {
    backdate(&format!(
        "/_residual/backdate?account={account}&access_key_id={key_id}&time={time}&service={service}&region={region}"
    ));
}

/// Sets a user's PasswordLastUsed in the past.
pub async fn backdate_password(account: &str, user: &str, time: &str) {
    backdate(&format!(
        "/_residual/backdate?account={account}&user={user}&password_last_used={time}"
    ));
}

/// Makes every later `sts:AssumeRole` into a role of `account` answer 403 `AccessDenied` (moto
/// itself lets anyone assume anything), until moto is reset ([`default_account`] resets it).
pub fn deny_assume(account: &str) {
    let status = post(&format!("/_residual/deny-assume?account={account}"));
    assert!(
        status.starts_with("HTTP/1.1 204") || status.starts_with("HTTP/1.0 204"),
        "deny-assume failed: {status}"
    );
}

/// Exclusive use of moto's default account, held for as long as this value lives.
pub struct DefaultAccount {
    _turn: MutexGuard<'static, ()>,
}

static DEFAULT_ACCOUNT_TURN: Mutex<()> = Mutex::new(());

/// Waits for moto's default account, then empties moto (every account: only holders of this
/// turn write to the default account, and a reset is the one way moto offers to clear it), so
/// each test that runs the `residual` binary against moto starts from nothing, whichever ran
/// before it.
pub fn default_account() -> DefaultAccount {
    // A test that failed while holding the turn leaves it poisoned; the reset below makes the
    // account usable again, so the poison carries no meaning here.
    let turn = DEFAULT_ACCOUNT_TURN
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let status = post("/moto-api/reset");
    assert!(status.contains(" 200"), "moto reset failed: {status}");
    DefaultAccount { _turn: turn }
}

/// An endpoint where no server listens (a port the kernel just handed out and took back): for a
/// test of the IAM API going away, without stopping the server the other tests share.
pub fn unreachable_endpoint() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port");
    format!("http://127.0.0.1:{port}")
}

/// A bare HTTP/1.1 POST to the harness (no HTTP client dependency needed); its status line.
/// Blocking, so sync tests can call it too; on loopback it takes a millisecond.
fn post(path_and_query: &str) -> String {
    let host = moto().endpoint.trim_start_matches("http://").to_string();
    let mut stream = std::net::TcpStream::connect(&host).expect("connect to the moto harness");
    let request = format!(
        "POST {path_and_query} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response.lines().next().unwrap_or_default().to_string()
}

/// Asserts that a back-dating request succeeded.
fn backdate(path_and_query: &str) {
    let status = post(path_and_query);
    assert!(
        status.starts_with("HTTP/1.1 204") || status.starts_with("HTTP/1.0 204"),
        "back-dating failed: {path_and_query}: {status}"
    );
}
