//! The targeted IAM sweep against moto: the account-wide calls plus the named users' per-user
//! calls, a report of those users only, and coverage that vouches for their units alone.

use residual_scanners::aws_iam::{scan_aws_iam, scan_aws_iam_users};
use residual_scanners::coverage::{self, iam_user_credential_unit, is_covered};
use residual_scanners::{CredentialKind, RunStatus};
use residual_test_support::moto::{config, seed_clients};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_targeted_sweep_makes_the_bulk_calls_plus_one_users_calls_and_reports_only_that_user() {
    let account = "100000000140";
    let iam = seed_clients(account).await.iam;
    for i in 0..20 {
        let user = format!("user{i:02}");
        iam.create_user().user_name(&user).send().await.unwrap();
        iam.create_access_key()
            .user_name(&user)
            .send()
            .await
            .unwrap();
    }
    let cfg = config(account);
    let full = scan_aws_iam(&cfg).await;
    assert_eq!(full.status, RunStatus::Complete, "{:?}", full.errors);

    let report = scan_aws_iam_users(&cfg, &["user07".to_string()]).await;
    assert_eq!(report.status, RunStatus::Complete, "{:?}", report.errors);
    // STS, GenerateCredentialReport + GetCredentialReport (moto has it at once), one page of
    // authorization details, virtual MFA devices; then user07's SSH keys and access keys.
    assert_eq!(report.calls, 7, "full sweep: {} calls", full.calls);
    assert!(full.calls >= 5 + 2 * 20, "full sweep: {} calls", full.calls);
    let accounts: Vec<&str> = report
        .observations
        .accounts
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(accounts, ["user07"]);
    assert!(report
        .observations
        .credentials
        .iter()
        .all(|c| c.account == "user07"));
    assert_eq!(coverage::targeted_accounts(&report.coverage), ["user07"]);
    let unit = |user: &str| iam_user_credential_unit(CredentialKind::AccessKey, user);
    assert!(is_covered(
        report.status,
        &report.coverage,
        Some(&unit("user07"))
    ));
    assert!(!is_covered(
        report.status,
        &report.coverage,
        Some(&unit("user08"))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_targeted_user_the_account_does_not_hold_is_covered_with_nothing_seen() {
    let account = "100000000141";
    let iam = seed_clients(account).await.iam;
    iam.create_user().user_name("stays").send().await.unwrap();
    let report = scan_aws_iam_users(&config(account), &["gone".to_string()]).await;
    assert_eq!(report.status, RunStatus::Complete, "{:?}", report.errors);
    assert!(report.observations.accounts.is_empty());
    assert_eq!(
        report.calls, 5,
        "no per-user call for a user that is not there"
    );
    let unit = iam_user_credential_unit(CredentialKind::SshKey, "gone");
    assert!(is_covered(report.status, &report.coverage, Some(&unit)));
}
