//! The benchmarks of `benches/aws_sso.md`, on moto: an Identity Center sweep of 2,000 users, 200
//! groups, 50 permission sets and 100 accounts, and an organisation sweep of 20 accounts through
//! `accounts = "organization"`. Ignored by default; run one at a time (they share moto's default
//! account):
//!
//!     cargo test --workspace --test it -- aws_sso_bench --ignored --nocapture --test-threads 1

use residual_scanners::aws_iam::organization::{member_accounts, sweep_accounts, Organization};
use residual_scanners::aws_sso::{scan_aws_sso, SsoScanConfig};
use residual_scanners::RunStatus;
use residual_test_support::moto;
use residual_test_support::moto_sso::Sso;
use std::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn identity_center_sweep_of_2000_users_200_groups_50_permission_sets_100_accounts() {
    let _account = moto::default_account();
    let seeding = Instant::now();
    let sso = Sso::connect().await;
    let accounts = sso.organization(99).await;
    let mut users = Vec::new();
    for i in 0..2000 {
        users.push(
            sso.user(&format!("user{i:04}"), &format!("user{i:04}@example.com"))
                .await,
        );
    }
    let mut groups = Vec::new();
    for g in 0..200 {
        groups.push(sso.group(&format!("group-{g:03}")).await);
    }
    // Every user in two groups.
    for (i, u) in users.iter().enumerate() {
        sso.member(&groups[i % 200], u).await;
        sso.member(&groups[(i * 7 + 3) % 200], u).await;
    }
    let mut sets = Vec::new();
    for p in 0..50 {
        let policy = if p % 10 == 0 {
            "AdministratorAccess"
        } else {
            "ReadOnlyAccess"
        };
        sets.push(sso.permission_set(&format!("ps-{p:02}"), &[policy]).await);
    }
    // Each account: 5 group assignments and 2 direct user assignments.
    for (a, account) in accounts.iter().enumerate() {
        for k in 0..5 {
            sso.assign(
                account,
                &sets[(a + k) % 50],
                &groups[(a * 5 + k) % 200],
                true,
            )
            .await;
        }
        for k in 0..2 {
            sso.assign(
                account,
                &sets[(a * 3 + k) % 50],
                &users[(a * 20 + k) % 2000],
                false,
            )
            .await;
        }
    }
    let seeded = seeding.elapsed();
    let config = SsoScanConfig {
        aws: moto_config(),
        permission_set_tags: false,
        ..SsoScanConfig::default()
    };
    let started = Instant::now();
    let report = scan_aws_sso(&config).await;
    let wall = started.elapsed();
    assert_eq!(report.status, RunStatus::Complete, "{:?}", report.errors);
    let assignments = report
        .observations
        .grants
        .iter()
        .filter(|g| g.kind == residual_scanners::GrantKind::Assignment)
        .count();
    println!(
        "aws-sso sweep: 2000 users, 200 groups, 50 permission sets, {} accounts: {} calls, {:.1} s \
         ({} effective user × account × permission set grants); seeding took {:.0} s",
        accounts.len() + 1,
        report.calls,
        wall.as_secs_f64(),
        assignments,
        seeded.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn organization_sweep_of_20_accounts() {
    let _account = moto::default_account();
    let sso = Sso::connect().await;
    sso.organization(19).await;
    let org = Organization {
        base: moto_config(),
        role_name: "residual-audit".into(),
        external_id: None,
        include: Vec::new(),
        exclude: Vec::new(),
        concurrency: 4,
    };
    let accounts = member_accounts(&org)
        .await
        .expect("the organisation is listed");
    for a in &accounts {
        let c = moto::seed_clients(a).await;
        for u in 0..20 {
            c.iam
                .create_user()
                .user_name(format!("user{u}"))
                .send()
                .await
                .expect("CreateUser");
        }
    }
    let started = Instant::now();
    let reports = sweep_accounts(&org, &accounts).await;
    let wall = started.elapsed();
    assert!(reports.iter().all(|r| r.status == RunStatus::Complete));
    let calls: u64 = reports.iter().map(|r| r.calls).sum();
    println!(
        "aws-iam organisation sweep: {} accounts × 20 users, concurrency 4: {} calls, {:.1} s",
        accounts.len(),
        calls,
        wall.as_secs_f64()
    );
}

/// moto's default account with fast retries and no service-specific credentials (moto lacks the
/// call). No `x-moto-account-id` header: assumed roles choose their account.
fn moto_config() -> residual_scanners::aws_iam::AwsScanConfig {
    let mut c = moto::config(moto::DEFAULT_ACCOUNT);
    c.extra_headers.clear();
    c
}
