//! A recorded IAM API: a small local HTTP server that answers each IAM request from a file of
//! `fixtures/aws/recorded/` (what moto cannot serve: multi-page listings, service-specific
//! credentials with `AllUsers`, the credential report's root row), and answers the actions a test
//! names with 403 AccessDenied, as IAM does when a policy (an SCP) denies them. The scanner and
//! the SDK's own parsers stay the real ones.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn recorded() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/aws/recorded")
}

/// Decodes an `application/x-www-form-urlencoded` body.
fn form(body: &str) -> HashMap<String, String> {
    fn decode(s: &str) -> String {
        let s = s.replace('+', " ");
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' && i + 2 < b.len() {
                if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    out.push(v);
                    i += 3;
                    continue;
                }
            }
            out.push(b[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    body.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn marker_key(marker: &str) -> String {
    let clean: String = marker
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    clean[clean.len().saturating_sub(12)..].to_string()
}

/// The file that answers a request, per `fixtures/aws/recorded/README.md`.
fn answer(params: &HashMap<String, String>) -> Option<String> {
    let action = params.get("Action")?;
    let mut candidates = Vec::new();
    if let Some(user) = params.get("UserName") {
        candidates.push(format!("{action}-{user}.xml"));
    }
    if let Some(marker) = params.get("Marker") {
        candidates.push(format!("{action}@{}.xml", marker_key(marker)));
    }
    candidates.push(format!("{action}.xml"));
    candidates
        .iter()
        .find_map(|name| std::fs::read_to_string(recorded().join(name)).ok())
        // Example key ids are stored split so the repository holds nothing credential-shaped.
        .map(|text| text.replace("{{split}}", ""))
}

/// IAM's answer to a call the caller's policy denies.
pub fn access_denied(action: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>\
         <Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/scanner is not \
         authorized to perform: iam:{action} with an explicit deny in a service control policy\
         </Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    )
}

async fn serve_one(mut stream: TcpStream, log: Arc<Mutex<Vec<String>>>, denied: Arc<Vec<String>>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head_end, content_length) = loop {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..pos]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (pos + 4, len);
        }
    };
    while buf.len() < head_end + content_length {
        let Ok(n) = stream.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).into_owned();
    let params = form(&body);
    let mut entry = params.get("Action").cloned().unwrap_or_default();
    for key in ["UserName", "Marker", "AllUsers"] {
        if let Some(v) = params.get(key) {
            entry.push_str(&format!(" {key}={v}"));
        }
    }
    log.lock().unwrap().push(entry);
    let action = params.get("Action").cloned().unwrap_or_default();
    let (status, xml) = match answer(&params) {
        _ if denied.contains(&action) => ("403 Forbidden", access_denied(&action)),
        Some(xml) => ("200 OK", xml),
        None => (
            "400 Bad Request",
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>\
             <Code>ValidationError</Code><Message>no recorded response</Message></Error>\
             <RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
                .to_string(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
        xml.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

pub async fn recorded_server() -> (String, Arc<Mutex<Vec<String>>>) {
    recorded_server_denying(&[]).await
}

/// The recorded server, answering the `denied` actions with 403 AccessDenied as IAM does when a
/// policy (an SCP) denies them.
pub async fn recorded_server_denying(denied: &[&str]) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    let denied = Arc::new(denied.iter().map(|a| a.to_string()).collect::<Vec<_>>());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_one(stream, log2.clone(), denied.clone()));
        }
    });
    (format!("http://{addr}"), log)
}

/// Reads one HTTP request (head and body) from `stream`: its bytes and its form parameters.
pub async fn read_request(stream: &mut TcpStream) -> Option<(Vec<u8>, HashMap<String, String>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head_end, content_length) = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..pos]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (pos + 4, len);
        }
    };
    while buf.len() < head_end + content_length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let params = form(&String::from_utf8_lossy(&buf[head_end..]));
    Some((buf, params))
}
