//! The aws-iam scanner against recorded IAM responses (`fixtures/aws/recorded/`), for what moto
//! cannot serve: multi-page `GetAccountAuthorizationDetails` and `ListServiceSpecificCredentials`
//! (with `AllUsers`), the credential report's `<root_account>` row and URL-encoded trust policies.
//! A small local HTTP server answers each request from a file; the scanner and the SDK's own
//! parsers are the real ones.

use residual_scanners::aws_iam::{scan_aws_iam, AwsScanConfig};
use residual_scanners::coverage::{MissClass, Unit};
use residual_scanners::{AccountKind, CredentialKind, GrantKind, RunStatus};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
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
fn access_denied(action: &str) -> String {
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

async fn recorded_server() -> (String, Arc<Mutex<Vec<String>>>) {
    recorded_server_denying(&[]).await
}

/// The recorded server, answering the `denied` actions with 403 AccessDenied as IAM does when a
/// policy (an SCP) denies them.
async fn recorded_server_denying(denied: &[&str]) -> (String, Arc<Mutex<Vec<String>>>) {
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

/// A sweep of the recorded account with `denied` actions refused, and service-specific
/// credentials read or not.
async fn sweep_denying(denied: &[&str], service_specific: bool) -> residual_scanners::ScanReport {
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    let (endpoint, _) = recorded_server_denying(denied).await;
    scan_aws_iam(&AwsScanConfig {
        endpoint_url: Some(endpoint),
        max_attempts: 1,
        initial_backoff: Duration::from_millis(10),
        concurrency: 1,
        service_specific_credentials: service_specific,
        ..AwsScanConfig::default()
    })
    .await
}

fn unit<'r>(report: &'r residual_scanners::ScanReport, name: &str) -> &'r Unit {
    report
        .coverage
        .iter()
        .find(|u| u.name == name)
        .unwrap_or_else(|| panic!("no unit {name}: {:#?}", report.coverage))
}

#[tokio::test]
async fn a_denied_listing_is_a_configuration_gap_naming_the_action_and_the_rest_is_covered() {
    let report = sweep_denying(&["ListServiceSpecificCredentials"], true).await;
    assert_eq!(report.status, RunStatus::Partial, "{:#?}", report.errors);
    let missed = unit(&report, "users:service-credentials")
        .missed
        .clone()
        .expect("missed");
    assert_eq!(
        missed.class,
        MissClass::AccessDenied {
            action: "iam:ListServiceSpecificCredentials".into()
        }
    );
    for covered in ["users", "roles", "users:access-keys", "users:ssh-keys"] {
        assert!(unit(&report, covered).is_covered(), "{covered}");
    }
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("grant iam:ListServiceSpecificCredentials")),
        "{:#?}",
        report.errors
    );
}

#[tokio::test]
async fn a_kind_switched_off_is_not_covered_and_does_not_make_the_run_partial() {
    let report = sweep_denying(&[], false).await;
    assert_eq!(report.status, RunStatus::Complete, "{:#?}", report.errors);
    let missed = unit(&report, "users:service-credentials")
        .missed
        .clone()
        .expect("a kind switched off is not covered");
    assert_eq!(missed.class, MissClass::Disabled);
}

/// Reads one HTTP request (head and body) from `stream`: its bytes and its form parameters.
async fn read_request(stream: &mut TcpStream) -> Option<(Vec<u8>, HashMap<String, String>)> {
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

/// A proxy in front of moto that answers the `denied` actions with 403 AccessDenied, as IAM does
/// when an SCP denies them, and forwards everything else (moto closes each connection after one
/// answer).
async fn denying_proxy(denied: &'static [&'static str]) -> String {
    let upstream = residual_test_support::moto::moto()
        .endpoint
        .trim_start_matches("http://")
        .to_string();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                let Some((request, params)) = read_request(&mut client).await else {
                    return;
                };
                let action = params.get("Action").cloned().unwrap_or_default();
                if denied.contains(&action.as_str()) {
                    let xml = access_denied(&action);
                    let response = format!(
                        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
                        xml.len()
                    );
                    let _ = client.write_all(response.as_bytes()).await;
                    let _ = client.shutdown().await;
                    return;
                }
                let Ok(mut server) = TcpStream::connect(&upstream).await else {
                    return;
                };
                if server.write_all(&request).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_report_that_cannot_be_read_is_a_warning_when_per_user_calls_cover_it() {
    use residual_test_support::moto;
    let account = "100000000077";
    let iam = moto::seed_clients(account).await.iam;
    iam.create_user().user_name("keyed").send().await.unwrap();
    iam.create_access_key()
        .user_name("keyed")
        .send()
        .await
        .unwrap();
    let mut config = moto::config(account);
    config.endpoint_url = Some(denying_proxy(&["GenerateCredentialReport"]).await);
    let report = scan_aws_iam(&config).await;
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.starts_with("warning: credential report not read")),
        "{:#?}",
        report.errors
    );
    let missed = |r: &residual_scanners::ScanReport| -> Vec<String> {
        r.coverage
            .iter()
            .filter(|u| {
                u.missed
                    .as_ref()
                    .is_some_and(|m| m.class != MissClass::Disabled)
            })
            .map(|u| u.name.clone())
            .collect()
    };
    // No console password: the per-user calls covered everything the report would have told.
    assert!(missed(&report).is_empty(), "{:#?}", report.coverage);
    assert_eq!(report.status, RunStatus::Complete, "{:#?}", report.errors);
    assert!(report
        .observations
        .credentials
        .iter()
        .any(|c| c.kind == CredentialKind::AccessKey && c.account == "keyed"));

    // With a console password, its last use is a fact only the report has: that unit is missed.
    iam.create_login_profile()
        .user_name("keyed")
        .password("Fake-pass-1234!")
        .send()
        .await
        .unwrap();
    let report = scan_aws_iam(&config).await;
    assert_eq!(missed(&report), ["users:console-passwords:last-used"]);
    assert_eq!(report.status, RunStatus::Partial);
}

#[tokio::test]
async fn a_recorded_sweep_pages_through_everything() {
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    let (endpoint, log) = recorded_server().await;
    let report = scan_aws_iam(&AwsScanConfig {
        endpoint_url: Some(endpoint),
        max_attempts: 1,
        initial_backoff: Duration::from_millis(10),
        concurrency: 1,
        ..AwsScanConfig::default()
    })
    .await;
    let mut requests = log.lock().unwrap().clone();
    requests.sort();
    assert_eq!(
        report.status,
        RunStatus::Complete,
        "{:?}\n{requests:#?}",
        report.errors
    );
    assert_eq!(report.system, "aws-iam:123456789012");

    // Exactly the calls the data needs: bulk pages, then per-user only where the bulk data says so.
    assert_eq!(
        requests,
        vec![
            "GenerateCredentialReport".to_string(),
            "GetAccountAuthorizationDetails".into(),
            "GetAccountAuthorizationDetails Marker=EXAMPLEkakv9BCuUNFDtxWSyfzetYwEx2ADc8dnzfvERF5S6YMvXKx41t6gCl/eeaCX3Jo94/bKqezEAg8TEVS99EKFLxm3jtbpl25FDW+EXAMPLE=".into(),
            "GetCallerIdentity".into(),
            "GetCredentialReport".into(),
            "ListAccessKeys UserName=dave".into(),
            "ListSSHPublicKeys UserName=dave".into(),
            "ListSSHPublicKeys UserName=erin".into(),
            "ListServiceSpecificCredentials AllUsers=true".into(),
            "ListServiceSpecificCredentials Marker=ssc-page-2 AllUsers=true".into(),
            "ListSigningCertificates UserName=erin".into(),
            "ListVirtualMFADevices".into(),
        ]
    );
    assert_eq!(report.calls, 12);

    let obs = &report.observations;
    let names: Vec<&str> = obs.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        vec!["dave", "erin", "role/batch-runner"],
        "page 2 was read; the root row is not an account"
    );
    let role = &obs.accounts[2];
    assert_eq!(role.kind, AccountKind::Role);
    assert_eq!(role.hints.owner.as_deref(), Some("dave@example.com"));
    assert_eq!(
        role.last_used_at.map(|t| t.to_rfc3339()),
        Some("2026-02-09T03:00:00+00:00".into())
    );
    assert_eq!(role.attributes["trust:services"], "lambda.amazonaws.com");

    // The URL-encoded trust policy names dave (with a path) under a condition.
    let trust = obs
        .grants
        .iter()
        .find(|g| g.kind == GrantKind::RoleTrust)
        .expect("role trust");
    assert_eq!(trust.account, "dave");
    assert_eq!(
        trust.target,
        "arn:aws:iam::123456789012:role/service-role/batch-runner"
    );
    assert_eq!(trust.attributes["conditional"], "true");

    // Service-specific credentials from both pages, with their service names.
    let ssc: Vec<_> = obs
        .credentials
        .iter()
        .filter(|c| c.kind == CredentialKind::ServiceCredential)
        .collect();
    assert_eq!(ssc.len(), 2);
    assert_eq!(ssc[0].account, "dave");
    assert_eq!(ssc[0].id, "ACCAEXAMPLE123EXAMPLE");
    assert_eq!(
        ssc[0].attributes["service_name"],
        "codecommit.amazonaws.com"
    );
    assert!(ssc[0].active);
    assert_eq!(ssc[1].account, "erin");
    assert_eq!(ssc[1].attributes["service_name"], "bedrock.amazonaws.com");
    assert!(!ssc[1].active);
    assert_eq!(ssc[1].attributes["expires_at"], "2027-05-05T05:05:05Z");

    // Access keys matched to their report slots by creation time.
    let key = |id: &str| obs.credentials.iter().find(|c| c.id == id).unwrap();
    let k1 = key(&["AKIA", "IOSFODNN7EXAMPLE"].concat());
    assert!(k1.active);
    assert_eq!(
        k1.last_used_at.map(|t| t.to_rfc3339()),
        Some("2026-02-11T22:13:00+00:00".into())
    );
    assert_eq!(k1.attributes["last_used_service"], "sts");
    assert_eq!(k1.attributes["last_used_region"], "eu-central-1");
    let k2 = key(&["AKIA", "I44QH8DHBEXAMPLE"].concat());
    assert!(!k2.active);
    assert_eq!(k2.attributes["last_used_service"], "s3");

    // The rest of dave's and erin's credentials.
    assert_eq!(
        key("login-profile:dave").kind,
        CredentialKind::ConsolePassword
    );
    assert_eq!(key("APKAEIBAERJR2EXAMPLE").kind, CredentialKind::SshKey);
    assert_eq!(
        key("arn:aws:iam::123456789012:mfa/dave-phone").kind,
        CredentialKind::MfaDevice
    );
    assert_eq!(key("TA7SMP42TDN5Z26OBPJE7EXAMPLE").account, "erin");
    assert!(obs
        .credentials
        .iter()
        .all(|c| c.account != "erin" || c.kind != CredentialKind::ConsolePassword));

    // Groups with their policies; policies on users and roles.
    let group = obs
        .grants
        .iter()
        .find(|g| g.kind == GrantKind::Group)
        .unwrap();
    assert_eq!(
        (group.account.as_str(), group.target.as_str()),
        ("dave", "platform")
    );
    assert_eq!(
        group.attributes["attached_policies"],
        "arn:aws:iam::aws:policy/AmazonEC2FullAccess"
    );
    assert_eq!(group.attributes["inline_policies"], "platform-deploy");
    assert!(obs
        .grants
        .iter()
        .any(|g| g.account == "erin" && g.target == "inline:erin-scratch"));
    assert!(obs
        .grants
        .iter()
        .any(|g| g.account == "role/batch-runner" && g.target.ends_with("AWSBatchServiceRole")));
}
