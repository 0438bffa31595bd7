//! The aws-iam scanner against recorded IAM responses (`fixtures/aws/recorded/`), for what moto
//! cannot serve: multi-page `GetAccountAuthorizationDetails` and `ListServiceSpecificCredentials`
//! (with `AllUsers`), the credential report's `<root_account>` row and URL-encoded trust policies.
//! A small local HTTP server answers each request from a file; the scanner and the SDK's own
//! parsers are the real ones.

use residual_scanners::aws_iam::{scan_aws_iam, AwsScanConfig};
use residual_scanners::coverage::{MissClass, Unit};
use residual_scanners::{AccountKind, CredentialKind, GrantKind, RunStatus};
use residual_test_support::recorded_iam::{
    access_denied, read_request, recorded_server, recorded_server_denying,
};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

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
