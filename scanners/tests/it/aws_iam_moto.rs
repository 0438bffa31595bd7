//! The aws-iam scanner against a real IAM API: moto's server on loopback, seeded through
//! aws-sdk-iam. One moto server for this test binary; one moto account per test.

use aws_sdk_iam::types::{StatusType, Tag};
use residual_scanners::aws_iam::{scan_aws_iam, AwsScanConfig};
use residual_scanners::{AccountKind, CredentialKind, GrantKind, RunStatus, ScanReport};
use residual_test_support::moto::{
    backdate_key, backdate_password, config, fixtures, moto, seed_clients,
};
use std::time::Duration;

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build().expect("tag")
}

fn creds<'a>(
    report: &'a ScanReport,
    account: &str,
    kind: CredentialKind,
) -> Vec<&'a residual_scanners::Credential> {
    report
        .observations
        .credentials
        .iter()
        .filter(|c| c.account == account && c.kind == kind)
        .collect()
}

fn grant<'a>(
    report: &'a ScanReport,
    account: &str,
    kind: GrantKind,
    target: &str,
) -> Option<&'a residual_scanners::Grant> {
    report
        .observations
        .grants
        .iter()
        .find(|g| g.account == account && g.kind == kind && g.target == target)
}

const TRUST_ALICE: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::100000000001:user/alice","arn:aws:iam::999988887777:root"]},"Action":"sts:AssumeRole"},
  {"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::100000000001:saml-provider/okta"},"Action":"sts:AssumeRoleWithSAML"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_credential_type_owner_tags_trust_and_groups_are_observed() {
    let account = "100000000001";
    let iam = seed_clients(account).await.iam;

    // alice: a person with every IAM credential type.
    iam.create_user()
        .user_name("alice")
        .path("/staff/")
        .tags(tag("email", "alice@example.com"))
        .tags(tag("employee_id", "E100"))
        .send()
        .await
        .unwrap();
    let key1 = iam
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    let key1 = key1.access_key().unwrap();
    let (key1_id, key1_secret) = (
        key1.access_key_id().to_string(),
        key1.secret_access_key().to_string(),
    );
    let key2 = iam
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    let key2_id = key2.access_key().unwrap().access_key_id().to_string();
    iam.update_access_key()
        .user_name("alice")
        .access_key_id(&key2_id)
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();
    iam.create_login_profile()
        .user_name("alice")
        .password("Correct-Horse-1!")
        .send()
        .await
        .unwrap();
    let ssh_body = std::fs::read_to_string(fixtures().join("ssh-key.pub")).unwrap();
    let ssh = iam
        .upload_ssh_public_key()
        .user_name("alice")
        .ssh_public_key_body(ssh_body.trim())
        .send()
        .await
        .unwrap();
    let ssh_id = ssh
        .ssh_public_key()
        .unwrap()
        .ssh_public_key_id()
        .to_string();
    let cert_body = std::fs::read_to_string(fixtures().join("signing-cert.pem")).unwrap();
    let cert = iam
        .upload_signing_certificate()
        .user_name("alice")
        .certificate_body(cert_body)
        .send()
        .await
        .unwrap();
    let cert_id = cert.certificate().unwrap().certificate_id().to_string();
    let mfa = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("alice-phone")
        .send()
        .await
        .unwrap();
    let serial = mfa
        .virtual_mfa_device()
        .unwrap()
        .serial_number()
        .to_string();
    iam.enable_mfa_device()
        .user_name("alice")
        .serial_number(&serial)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .unwrap();
    backdate_key(account, &key1_id, "2026-01-31T17:00:00Z", "s3", "eu-west-1").await;
    backdate_password(account, "alice", "2026-02-01T08:30:00Z").await;

    // A group with a managed and an inline policy; a directly attached policy and inline policy.
    let policy = iam
        .create_policy()
        .policy_name("billing-read")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"aws-portal:View*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let policy_arn = policy.policy().unwrap().arn().unwrap().to_string();
    iam.create_group()
        .group_name("finance")
        .send()
        .await
        .unwrap();
    iam.attach_group_policy()
        .group_name("finance")
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();
    iam.put_group_policy()
        .group_name("finance")
        .policy_name("finance-s3")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    iam.add_user_to_group()
        .group_name("finance")
        .user_name("alice")
        .send()
        .await
        .unwrap();
    iam.attach_user_policy()
        .user_name("alice")
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();
    iam.put_user_policy()
        .user_name("alice")
        .policy_name("alice-extra")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();

    // ci-bot: a service user owned by alice. deployer: a role owned by alice that trusts her.
    iam.create_user()
        .user_name("ci-bot")
        .tags(tag("type", "service"))
        .tags(tag("Owner", "alice@example.com"))
        .send()
        .await
        .unwrap();
    let role = iam
        .create_role()
        .role_name("deployer")
        .assume_role_policy_document(TRUST_ALICE)
        .tags(tag("owner", "alice@example.com"))
        .send()
        .await
        .unwrap();
    let role_arn = role.role().unwrap().arn().to_string();

    let report = scan_aws_iam(&config(account)).await;
    assert_eq!(
        report.status,
        RunStatus::Complete,
        "errors: {:?}",
        report.errors
    );
    assert_eq!(report.scanner, "aws-iam");
    assert_eq!(report.system, format!("aws-iam:{account}"));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.calls >= 5, "calls counted: {}", report.calls);

    // Accounts.
    let alice = report
        .observations
        .accounts
        .iter()
        .find(|a| a.name == "alice")
        .unwrap();
    assert_eq!(alice.kind, AccountKind::User);
    assert_eq!(alice.enabled, Some(true));
    assert_eq!(alice.hints.emails, vec!["alice@example.com".to_string()]);
    assert_eq!(alice.hints.employee_id.as_deref(), Some("E100"));
    assert_eq!(
        alice.attributes["arn"],
        format!("arn:aws:iam::{account}:user/staff/alice")
    );
    assert_eq!(alice.attributes["path"], "/staff/");
    assert_eq!(alice.attributes["tag:email"], "alice@example.com");
    assert!(alice.created_at.is_some());
    assert_eq!(
        alice.last_used_at.map(|t| t.to_rfc3339()),
        Some("2026-02-01T08:30:00+00:00".into())
    );
    let bot = report
        .observations
        .accounts
        .iter()
        .find(|a| a.name == "ci-bot")
        .unwrap();
    assert_eq!(bot.kind, AccountKind::Service);
    assert_eq!(bot.hints.owner.as_deref(), Some("alice@example.com"));
    let deployer = report
        .observations
        .accounts
        .iter()
        .find(|a| a.name == "role/deployer")
        .unwrap();
    assert_eq!(deployer.kind, AccountKind::Role);
    assert_eq!(deployer.hints.owner.as_deref(), Some("alice@example.com"));
    assert_eq!(deployer.attributes["arn"], role_arn);
    assert_eq!(
        deployer.attributes["trust:account_roots"],
        "arn:aws:iam::999988887777:root"
    );
    assert_eq!(
        deployer.attributes["trust:federated"],
        "arn:aws:iam::100000000001:saml-provider/okta"
    );

    // Credentials, active and inactive.
    let keys = creds(&report, "alice", CredentialKind::AccessKey);
    assert_eq!(keys.len(), 2);
    let k1 = keys.iter().find(|c| c.id == key1_id).unwrap();
    assert!(k1.active);
    assert_eq!(
        k1.last_used_at.map(|t| t.to_rfc3339()),
        Some("2026-01-31T17:00:00+00:00".into()),
        "back-dated last use, from the credential report: {:?}",
        k1.attributes
    );
    let k2 = keys.iter().find(|c| c.id == key2_id).unwrap();
    assert!(!k2.active, "an inactive key is observed with active=false");
    assert_eq!(k2.attributes["status"], "Inactive");

    let password = creds(&report, "alice", CredentialKind::ConsolePassword);
    assert_eq!(password.len(), 1);
    assert_eq!(password[0].id, "login-profile:alice");
    assert!(password[0].last_used_at.is_some());
    let ssh = creds(&report, "alice", CredentialKind::SshKey);
    assert_eq!(ssh.len(), 1);
    assert_eq!(ssh[0].id, ssh_id);
    assert!(ssh[0].active);
    let certs = creds(&report, "alice", CredentialKind::SigningCertificate);
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0].id, cert_id);
    let mfa = creds(&report, "alice", CredentialKind::MfaDevice);
    assert_eq!(mfa.len(), 1);
    assert_eq!(mfa[0].id, serial);
    assert!(creds(&report, "ci-bot", CredentialKind::AccessKey).is_empty());

    // Grants.
    let g = grant(&report, "alice", GrantKind::Group, "finance").expect("group grant");
    assert_eq!(g.attributes["attached_policies"], policy_arn);
    assert_eq!(g.attributes["inline_policies"], "finance-s3");
    assert!(g.attributes["group_arn"].ends_with(":group/finance"));
    assert!(grant(&report, "alice", GrantKind::Policy, &policy_arn).is_some());
    assert!(grant(&report, "alice", GrantKind::Policy, "inline:alice-extra").is_some());
    let trust = grant(&report, "alice", GrantKind::RoleTrust, &role_arn).expect("role trust grant");
    assert_eq!(
        trust.attributes["principal"],
        format!("arn:aws:iam::{account}:user/alice")
    );
    assert!(
        report
            .observations
            .grants
            .iter()
            .all(|g| g.kind != GrantKind::RoleTrust || g.account == "alice"),
        "only a user of this account gets a role-trust grant"
    );

    // No secret value anywhere in the report.
    let json = serde_json::to_string(&report).unwrap();
    assert!(
        !json.contains(&key1_secret),
        "the secret access key leaked into the report"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_key_and_a_deleted_user_show_in_the_next_run() {
    let account = "100000000002";
    let iam = seed_clients(account).await.iam;
    let mut key_of = std::collections::HashMap::new();
    for user in ["bob", "carol"] {
        iam.create_user().user_name(user).send().await.unwrap();
        let key = iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .unwrap();
        key_of.insert(user, key.access_key().unwrap().access_key_id().to_string());
    }
    iam.create_login_profile()
        .user_name("carol")
        .password("Correct-Horse-2!")
        .send()
        .await
        .unwrap();

    let first = scan_aws_iam(&config(account)).await;
    assert_eq!(first.status, RunStatus::Complete, "{:?}", first.errors);
    assert!(creds(&first, "bob", CredentialKind::AccessKey)[0].active);
    assert_eq!(creds(&first, "carol", CredentialKind::AccessKey).len(), 1);
    assert_eq!(
        creds(&first, "carol", CredentialKind::ConsolePassword).len(),
        1
    );

    // Between runs: bob's key is disabled, carol leaves and her user is deleted.
    iam.update_access_key()
        .user_name("bob")
        .access_key_id(&key_of["bob"])
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();
    iam.delete_access_key()
        .user_name("carol")
        .access_key_id(&key_of["carol"])
        .send()
        .await
        .unwrap();
    iam.delete_login_profile()
        .user_name("carol")
        .send()
        .await
        .unwrap();
    iam.delete_user().user_name("carol").send().await.unwrap();

    let second = scan_aws_iam(&config(account)).await;
    assert_eq!(second.status, RunStatus::Complete, "{:?}", second.errors);
    let bob_keys = creds(&second, "bob", CredentialKind::AccessKey);
    assert_eq!(bob_keys.len(), 1);
    assert_eq!(bob_keys[0].id, key_of["bob"]);
    assert!(!bob_keys[0].active, "the disabled key is no longer active");
    assert!(second
        .observations
        .accounts
        .iter()
        .all(|a| a.name != "carol"));
    assert!(second
        .observations
        .credentials
        .iter()
        .all(|c| c.account != "carol"));
    assert!(second
        .observations
        .grants
        .iter()
        .all(|g| g.account != "carol"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_users_with_small_pages_are_all_swept() {
    let account = "100000000003";
    let iam = seed_clients(account).await.iam;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..30 {
        let iam = iam.clone();
        tasks.spawn(async move {
            let user = format!("user{i:02}");
            iam.create_user().user_name(&user).send().await.unwrap();
            if i % 3 == 0 {
                iam.create_access_key()
                    .user_name(&user)
                    .send()
                    .await
                    .unwrap();
                iam.create_access_key()
                    .user_name(&user)
                    .send()
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    let report = scan_aws_iam(&AwsScanConfig {
        page_size: 1,
        concurrency: 4,
        ..config(account)
    })
    .await;
    assert_eq!(report.status, RunStatus::Complete, "{:?}", report.errors);
    assert_eq!(report.observations.accounts.len(), 30);
    assert_eq!(
        report
            .observations
            .credentials
            .iter()
            .filter(|c| c.kind == CredentialKind::AccessKey)
            .count(),
        20
    );
    // Users without keys in the credential report get no ListAccessKeys call: 30 SSH listings
    // (pages of one: one call each, plus a page per key for the 10 users with keys) is the
    // per-user floor; 4 calls per user would be the naive approach.
    assert!(report.calls < 30 * 3, "calls: {}", report.calls);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_names_the_account_and_the_caller_it_read_as_its_input() {
    let account = "100000000021";
    moto();
    let report = scan_aws_iam(&config(account)).await;
    let input = report.input_digest.expect("an input digest");
    assert!(
        input.starts_with(&format!("account={account} caller=arn:aws:")),
        "{input}"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_the_run() {
    moto();
    let report = scan_aws_iam(&AwsScanConfig {
        endpoint_url: Some("http://127.0.0.1:9".into()),
        max_attempts: 1,
        connect_timeout: Duration::from_secs(2),
        ..config("100000000004")
    })
    .await;
    assert_eq!(report.status, RunStatus::Failed);
    assert!(!report.errors.is_empty());
    assert!(
        report.errors[0].contains("cannot identify the AWS account"),
        "{:?}",
        report.errors
    );
    assert!(report.observations.accounts.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_arn_assumes_the_role_before_sweeping() {
    let account = "100000000005";
    let iam = seed_clients(account).await.iam;
    iam.create_user().user_name("frank").send().await.unwrap();
    // moto's STS hands out credentials for any role ARN. The sweep's calls are then signed with
    // the assumed credentials (a failed AssumeRole would fail the run); the account header still
    // selects which moto account they read, so the system stays the header's account.
    let report = scan_aws_iam(&AwsScanConfig {
        role_arn: Some("arn:aws:iam::100000000006:role/residual-audit".into()),
        external_id: Some("residual".into()),
        ..config(account)
    })
    .await;
    assert_eq!(report.status, RunStatus::Complete, "{:?}", report.errors);
    assert_eq!(report.system, format!("aws-iam:{account}"));
    assert!(report
        .observations
        .accounts
        .iter()
        .any(|a| a.name == "frank"));
}
