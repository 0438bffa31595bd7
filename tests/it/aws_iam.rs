//! `residual scan` against a real IAM API (moto on loopback), through the binary and a real store:
//! every credential type of a leaver, used-after-departure, role trust, owner tags, a mover's old
//! group, an orphan; then a key disabled and a user deleted (findings resolve), then the server
//! gone (the run fails, exit 3, nothing resolves).
//!
//! One test, because the CLI talks to moto's default account: the steps share it in order, and
//! the test holds the account ([`moto::default_account`]) against the other tests that use it.

use crate::harness::Sandbox;
use aws_sdk_iam::types::StatusType;
use residual_test_support::moto;
use serde_json::Value;

const ACCOUNT: &str = moto::DEFAULT_ACCOUNT;

const HR: &str = "employee_id,email,status,termination_date,department,aws_user\n\
E1,ann@example.com,terminated,2026-03-01,Engineering,ann\n\
E2,ben@example.com,active,,Finance,\n\
E3,cat@example.com,terminated,2026-02-01,Platform,\n";

const HR_BEFORE: &str = "employee_id,email,status,termination_date,department,aws_user\n\
E1,ann@example.com,active,,Engineering,ann\n\
E2,ben@example.com,active,,Engineering,\n\
E3,cat@example.com,active,,Platform,\n";

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/ann"},"Action":"sts:AssumeRole"}]}"#;

async fn seed() -> (String, String) {
    let c = moto::seed_clients(ACCOUNT).await;
    let iam = &c.iam;
    for (user, tags) in [
        ("ann", vec![]),
        ("ben", vec![("email", "ben@example.com")]),
        ("ghost", vec![]),
        (
            "svc-ci",
            vec![("owner", "cat@example.com"), ("kind", "service")],
        ),
    ] {
        let mut req = iam.create_user().user_name(user);
        for (k, v) in tags {
            req = req.tags(
                aws_sdk_iam::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .unwrap(),
            );
        }
        req.send().await.unwrap();
    }
    let used = iam
        .create_access_key()
        .user_name("ann")
        .send()
        .await
        .unwrap();
    let used_id = used.access_key().unwrap().access_key_id().to_string();
    let idle = iam
        .create_access_key()
        .user_name("ann")
        .send()
        .await
        .unwrap();
    let idle_id = idle.access_key().unwrap().access_key_id().to_string();
    iam.create_login_profile()
        .user_name("ann")
        .password("Fake-pass-1234!")
        .send()
        .await
        .unwrap();
    let ssh_key = std::fs::read_to_string(moto::fixtures().join("ssh-key.pub")).unwrap();
    iam.upload_ssh_public_key()
        .user_name("ann")
        .ssh_public_key_body(ssh_key.trim())
        .send()
        .await
        .unwrap();
    let cert = std::fs::read_to_string(moto::fixtures().join("signing-cert.pem")).unwrap();
    iam.upload_signing_certificate()
        .user_name("ann")
        .certificate_body(cert)
        .send()
        .await
        .unwrap();
    iam.create_role()
        .role_name("deploy")
        .assume_role_policy_document(TRUST)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("owner")
                .value("cat@example.com")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    for g in ["eng-admins", "fin-users"] {
        iam.create_group().group_name(g).send().await.unwrap();
        iam.add_user_to_group()
            .group_name(g)
            .user_name("ben")
            .send()
            .await
            .unwrap();
    }
    moto::backdate_key(ACCOUNT, &used_id, "2026-03-10T12:00:00Z", "s3", "eu-west-1").await;
    (used_id, idle_id)
}

/// The configuration: department entitlements and one aws-iam scanner reading `endpoint`.
fn config(endpoint: &str) -> String {
    format!(
        "[policy.departments]\nEngineering = [\"eng-admins\"]\nFinance = [\"fin-users\"]\n\n\
         [[scanner]]\nname = \"prod\"\nkind = \"aws-iam\"\nendpoint_url = \"{endpoint}\"\nservice_specific_credentials = false\n"
    )
}

fn sandbox() -> Sandbox {
    let mut sb = Sandbox::new();
    // The whole test runs on one clock: the audit chain refuses events dated before its last.
    sb.now = Some("2026-06-01T00:00:00Z".into());
    sb.write("residual.toml", &config(&moto::moto().endpoint));
    let before = sb.write("hr0.csv", HR_BEFORE);
    let hr = sb.write("hr.csv", HR);
    sb.ok(&[
        "hr",
        "import",
        before.to_str().unwrap(),
        "--as-of",
        "2026-01-01",
    ]);
    sb.ok(&[
        "hr",
        "import",
        hr.to_str().unwrap(),
        "--as-of",
        "2026-04-01",
    ]);
    sb
}

fn rules_by_subject(findings: &[Value]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = findings
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["subject"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn has(list: &[(String, String)], rule: &str, subject_part: &str) -> bool {
    list.iter()
        .any(|(r, s)| r == rule && s.contains(subject_part))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_iam_sweep_finds_every_way_a_leaver_gets_in_and_resolves_what_was_removed() {
    let _account = moto::default_account();
    let (used_id, idle_id) = seed().await;
    let sb = sandbox();
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    let r = sb.ok(&["scan", "prod", "--format", "json"]);
    let open = r.json().as_array().cloned().unwrap();
    let got = rules_by_subject(&open);
    let system = format!("aws-iam:{ACCOUNT}");
    assert!(
        open.iter().all(|f| f["system"] == system.as_str()),
        "{open:#?}"
    );
    assert!(has(&got, "leaver-active-account", "ann"), "{got:#?}");
    assert!(has(&got, "leaver-active-access-key", &used_id), "{got:#?}");
    assert!(has(&got, "leaver-active-access-key", &idle_id), "{got:#?}");
    assert!(
        has(&got, "credential-used-after-departure", &used_id),
        "{got:#?}"
    );
    assert!(
        !has(&got, "credential-used-after-departure", &idle_id),
        "never used: {got:#?}"
    );
    assert!(
        has(&got, "leaver-console-login", "login-profile:ann"),
        "{got:#?}"
    );
    assert!(has(&got, "leaver-ssh-key", "ann/ssh-key/"), "{got:#?}");
    assert!(
        has(
            &got,
            "leaver-signing-certificate",
            "ann/signing-certificate/"
        ),
        "{got:#?}"
    );
    assert!(
        has(&got, "leaver-can-assume-role", "role/deploy"),
        "{got:#?}"
    );
    assert!(has(&got, "leaver-owned-nhi", "role/deploy"), "{got:#?}");
    assert!(has(&got, "leaver-owned-nhi", "svc-ci"), "{got:#?}");
    assert!(
        has(&got, "mover-residual-entitlement", "ben/group/eng-admins"),
        "{got:#?}"
    );
    assert!(
        !has(&got, "mover-residual-entitlement", "fin-users"),
        "{got:#?}"
    );
    assert!(has(&got, "orphan-account", "ghost"), "{got:#?}");
    let used = open
        .iter()
        .find(|f| f["rule"] == "credential-used-after-departure")
        .unwrap();
    assert_eq!(used["severity"], "critical");
    assert_eq!(used["evidence"]["used_at"], "2026-03-10T12:00:00Z");
    assert_eq!(
        used["evidence"]["credential"]["attributes"]["last_used_service"],
        "s3"
    );
    assert_eq!(used["evidence"]["person"]["link"]["method"], "hr-column");

    // The key is disabled and the login profile deleted: those findings resolve, the rest stay.
    let c = moto::seed_clients(ACCOUNT).await;
    c.iam
        .update_access_key()
        .user_name("ann")
        .access_key_id(&idle_id)
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();
    c.iam
        .delete_login_profile()
        .user_name("ann")
        .send()
        .await
        .unwrap();
    sb.ok(&["scan", "prod", "--format", "json"]);
    let resolved = rules_by_subject(&sb.findings("resolved"));
    assert_eq!(resolved.len(), 2, "{resolved:#?}");
    assert!(has(&resolved, "leaver-active-access-key", &idle_id));
    assert!(has(&resolved, "leaver-console-login", "ann"));
    assert!(has(
        &rules_by_subject(&sb.findings("open")),
        "leaver-active-access-key",
        &used_id
    ));

    // The whole user is deleted: everything about ann resolves, with the run as proof.
    for k in [&used_id, &idle_id] {
        c.iam
            .delete_access_key()
            .user_name("ann")
            .access_key_id(k.as_str())
            .send()
            .await
            .unwrap();
    }
    let keys = c
        .iam
        .list_ssh_public_keys()
        .user_name("ann")
        .send()
        .await
        .unwrap();
    for k in keys.ssh_public_keys() {
        c.iam
            .delete_ssh_public_key()
            .user_name("ann")
            .ssh_public_key_id(k.ssh_public_key_id())
            .send()
            .await
            .unwrap();
    }
    let certs = c
        .iam
        .list_signing_certificates()
        .user_name("ann")
        .send()
        .await
        .unwrap();
    for cert in certs.certificates() {
        c.iam
            .delete_signing_certificate()
            .user_name("ann")
            .certificate_id(cert.certificate_id())
            .send()
            .await
            .unwrap();
    }
    c.iam
        .update_assume_role_policy()
        .role_name("deploy")
        .policy_document(TRUST.replace("user/ann", "root"))
        .send()
        .await
        .unwrap();
    c.iam.delete_user().user_name("ann").send().await.unwrap();
    sb.ok(&["scan", "prod", "--format", "json"]);
    let open = rules_by_subject(&sb.findings("open"));
    assert!(!open.iter().any(|(_, s)| s.starts_with("ann")), "{open:#?}");
    let resolved_now = sb.findings("resolved");
    assert!(resolved_now
        .iter()
        .all(|f| f["resolved_by_run"].as_i64().unwrap() >= 2));

    // The server is gone: the run fails, exit 3, and nothing that is open resolves. (The other
    // tests of this binary share the moto server, so the scanner is pointed where none listens.)
    let before = sb.findings("all");
    sb.write("residual.toml", &config(&moto::unreachable_endpoint()));
    let r = sb.expect(3, &["scan", "prod"]);
    assert!(
        r.stderr.contains("failed") || r.stderr.contains("partial"),
        "{}",
        r.stderr
    );
    assert_eq!(sb.findings("all"), before);
}

/// A sweep that cannot reach AWS at all is a failed run of the account it tried to enter (the
/// account in its role ARN), not of an "unknown" system that no later run of the account matches.
#[test]
fn a_run_that_cannot_start_is_filed_under_the_account_of_its_role() {
    let sb = Sandbox::new();
    sb.write(
        "residual.toml",
        &format!(
            "[[scanner]]\nname = \"prod\"\nkind = \"aws-iam\"\nendpoint_url = \"{}\"\n\
             role_arn = \"arn:aws:iam::210987654321:role/residual-audit\"\n",
            moto::unreachable_endpoint()
        ),
    );
    let hr = sb.write("hr.csv", HR);
    sb.ok(&["hr", "import", hr.to_str().unwrap()]);
    sb.expect(3, &["scan", "prod"]);
    let runs = sb.ok(&["runs", "--format", "json"]).json();
    let systems: Vec<&str> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["system"].as_str().unwrap())
        .collect();
    assert_eq!(systems, ["aws-iam:210987654321"], "{runs:#}");
    assert_eq!(runs[0]["status"], "failed", "{runs:#}");
}
