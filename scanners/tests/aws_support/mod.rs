//! Test harness for the aws-iam scanner: one moto server per test binary, on a free loopback port.
//!
//! [`moto()`] starts `fixtures/aws/moto_harness.py` (moto's own server app, in-process, plus a
//! back-dating endpoint for last-use times) once per test binary. The harness binds 127.0.0.1 on
//! a port the kernel picks and reports it on stdout. Its stdin is a pipe whose write end lives in
//! a static here and is never written: when the test binary exits, however it exits, the pipe
//! closes and the server exits with it, so no server outlives the tests.
//!
//! Each test uses its own moto account (the `x-moto-account-id` header, see
//! [`AwsScanConfig::extra_headers`]), so tests share the server without seeing each other's
//! users. Credentials are moto's dummies, set in the environment before any client is built.
#![allow(dead_code)]

use residual_scanners::aws_iam::{AwsScanConfig, Clients};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// A running moto server.
pub struct Moto {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    child: Mutex<Child>,
    /// Held, never written: closing it (at exit) stops the server.
    _stdin: Mutex<ChildStdin>,
}

impl Moto {
    /// Stops the server now (for the outage test).
    pub fn kill(&self) {
        if let Ok(mut child) = self.child.lock() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The repository's `fixtures/aws` directory.
pub fn fixtures() -> PathBuf {
    repo_root().join("fixtures/aws")
}

/// The workspace root, whichever crate's tests include this module.
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
            child: Mutex::new(child),
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
    post(&format!(
        "/_residual/backdate?account={account}&access_key_id={key_id}&time={time}&service={service}&region={region}"
    ))
    .await;
}

/// Sets a user's PasswordLastUsed in the past.
pub async fn backdate_password(account: &str, user: &str, time: &str) {
    post(&format!(
        "/_residual/backdate?account={account}&user={user}&password_last_used={time}"
    ))
    .await;
}

/// A bare HTTP/1.1 POST to the harness (no HTTP client dependency needed).
async fn post(path_and_query: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = moto().endpoint.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&host)
        .await
        .expect("connect to the moto harness");
    let request = format!(
        "POST {path_and_query} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    assert!(
        response.starts_with("HTTP/1.1 204") || response.starts_with("HTTP/1.0 204"),
        "back-dating failed: {path_and_query}: {}",
        response.lines().next().unwrap_or_default()
    );
}
