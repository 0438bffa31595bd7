//! The IAM API goes away in the middle of a sweep: the run is partial, says why, and still returns
//! what it read.
//!
//! The scanner talks to moto through a small TCP proxy that counts requests (moto closes every
//! connection after one response) and, once the sweep reaches its per-user calls, acts as a
//! server that has gone: it closes every later connection without an answer, exactly what a
//! stopped moto looked like through it. So the point of failure is the same on every run, and the
//! moto server the other tests of this binary share keeps serving them.

use residual_scanners::aws_iam::{scan_aws_iam, AwsScanConfig};
use residual_scanners::RunStatus;
use residual_test_support::moto::{config, moto, seed_clients};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// Forwards connections to `upstream` until the `gone_at`-th; from that one on, closes each
/// connection unanswered, as when the server behind it stopped.
async fn proxy(upstream: String, gone_at: u32) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(AtomicU32::new(0));
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
            if n >= gone_at {
                // Dropping `client` closes the connection without a response.
                continue;
            }
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut server) = TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
                // Upstream unreachable: dropping `client` closes the connection unanswered.
            });
        }
    });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_stopping_mid_run_makes_the_run_partial() {
    let account = "100000000010";
    let iam = seed_clients(account).await.iam;
    for i in 0..20 {
        let user = format!("u{i:02}");
        iam.create_user().user_name(&user).send().await.unwrap();
        iam.create_access_key()
            .user_name(&user)
            .send()
            .await
            .unwrap();
    }
    let upstream = moto().endpoint.trim_start_matches("http://").to_string();
    // Bulk phase: GetCallerIdentity, GenerateCredentialReport, GetCredentialReport,
    // GetAccountAuthorizationDetails, ListVirtualMFADevices = 5 requests; stop in the per-user phase.
    let endpoint = proxy(upstream, 12).await;
    let report = scan_aws_iam(&AwsScanConfig {
        endpoint_url: Some(endpoint),
        concurrency: 1,
        connect_timeout: Duration::from_secs(1),
        ..config(account)
    })
    .await;
    assert_eq!(
        report.status,
        RunStatus::Partial,
        "errors: {:?}",
        report.errors
    );
    assert!(!report.errors.is_empty());
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("users were not swept")),
        "the sweep says it stopped early: {:?}",
        report.errors
    );
    // What was read before the outage is still reported.
    assert_eq!(report.observations.accounts.len(), 20);
    assert!(!report.observations.credentials.is_empty());
}
