//! `residual scan aws-sso` against moto's IAM Identity Center and Organizations, through the
//! binary and a real store: a leaver with an active Identity Center user, a direct assignment in
//! one account and a group-derived one in another gives one user finding and two assignment
//! findings naming account, permission set and path; taking the user out of the group resolves
//! the derived one and nothing else.
//!
//! The binary talks to moto's default account, so the test holds it
//! ([`moto::default_account`]).

use crate::harness::Sandbox;
use residual_test_support::moto;
use residual_test_support::moto_sso::Sso;
use serde_json::Value;

const HR: &str = "employee_id,email,status,termination_date,department\n\
E1,ann@example.com,terminated,2026-03-01,Engineering\n\
E2,ben@example.com,active,,Engineering\n";

fn sandbox() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.now = Some("2026-06-01T00:00:00Z".into());
    let hr = sb.write("hr.csv", HR);
    sb.ok(&[
        "hr",
        "import",
        hr.to_str().unwrap(),
        "--as-of",
        "2026-04-01",
    ]);
    sb
}

fn scan(sb: &Sandbox) -> Vec<Value> {
    let endpoint = moto::moto().endpoint.clone();
    let r = sb.ok(&[
        "scan",
        "aws-sso",
        "--endpoint-url",
        &endpoint,
        "--no-permission-set-tags",
        "--format",
        "json",
    ]);
    r.json().as_array().cloned().unwrap_or_default()
}

fn of_rule<'a>(findings: &'a [Value], rule: &str) -> Vec<&'a Value> {
    findings.iter().filter(|f| f["rule"] == rule).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_leavers_identity_center_user_and_each_account_it_reaches_are_findings_until_removed() {
    let _account = moto::default_account();
    let sso = Sso::connect().await;
    let accounts = sso.organization(2).await;
    let (prod, dev) = (&accounts[0], &accounts[1]);
    let ann = sso.user("ann", "ann@example.com").await;
    let ben = sso.user("ben", "ben@example.com").await;
    let engineers = sso.group("Engineers").await;
    let membership = sso.member(&engineers, &ann).await;
    sso.member(&engineers, &ben).await;
    let admin = sso.permission_set("Admin", &["AdministratorAccess"]).await;
    let read_only = sso.permission_set("ReadOnly", &["ReadOnlyAccess"]).await;
    sso.assign(prod, &admin, &ann, false).await;
    sso.assign(dev, &read_only, &engineers, true).await;

    let sb = sandbox();
    let open = scan(&sb);
    let system = format!("aws-sso:{}", sso.identity_store_id);
    assert!(
        open.iter().all(|f| f["system"] == system.as_str()),
        "{open:#?}"
    );
    let users = of_rule(&open, "leaver-sso-user-active");
    assert_eq!(users.len(), 1, "{open:#?}");
    assert_eq!(users[0]["account"], "ann");
    assert_eq!(users[0]["evidence"]["person"]["link"]["method"], "email");
    let mut assignments: Vec<(String, String, String, String)> =
        of_rule(&open, "leaver-sso-assignment")
            .iter()
            .map(|f| {
                let e = &f["evidence"];
                (
                    e["aws_account"]["id"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    e["permission_set"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    e["path"].as_str().unwrap_or_default().to_string(),
                    f["subject"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
    assignments.sort();
    let mut expected = vec![
        (
            prod.clone(),
            "Admin".to_string(),
            "direct".to_string(),
            format!("ann/assignment/{prod}/Admin"),
        ),
        (
            dev.clone(),
            "ReadOnly".to_string(),
            "group:Engineers".to_string(),
            format!("ann/assignment/{dev}/ReadOnly"),
        ),
    ];
    expected.sort();
    assert_eq!(assignments, expected, "{open:#?}");
    let admin_finding = of_rule(&open, "leaver-sso-assignment")
        .into_iter()
        .find(|f| f["evidence"]["permission_set"]["name"] == "Admin")
        .unwrap();
    assert_eq!(admin_finding["evidence"]["admin_like"], true);
    assert!(
        !open.iter().any(|f| f["account"] == "ben"),
        "an active employee's access is no finding: {open:#?}"
    );

    // Out of the group: the derived assignment resolves; the user and the direct one stay.
    sso.remove_member(&membership).await;
    scan(&sb);
    let resolved = sb.findings("resolved");
    let resolved: Vec<&str> = resolved
        .iter()
        .map(|f| f["subject"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        resolved,
        [format!("ann/assignment/{dev}/ReadOnly")],
        "{resolved:#?}"
    );
    let still = sb.findings("open");
    assert_eq!(of_rule(&still, "leaver-sso-user-active").len(), 1);
    assert_eq!(of_rule(&still, "leaver-sso-assignment").len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_organisations_accounts_assignments_are_not_covered_and_the_run_is_partial() {
    let _account = moto::default_account();
    let sso = Sso::connect().await;
    // No organisation: ListAccounts lists nothing, so no account's assignments can be read.
    let ann = sso.user("ann", "ann@example.com").await;
    let admin = sso.permission_set("Admin", &["AdministratorAccess"]).await;
    sso.assign("111111111111", &admin, &ann, false).await;
    let sb = sandbox();
    let endpoint = moto::moto().endpoint.clone();
    let r = sb.expect(
        3,
        &[
            "scan",
            "aws-sso",
            "--endpoint-url",
            &endpoint,
            "--no-permission-set-tags",
        ],
    );
    assert!(r.stderr.contains("ListAccounts"), "{}", r.stderr);
    let run = &sb.ok(&["runs", "--format", "json"]).json()[0];
    assert_eq!(run["status"], "partial", "{run:#?}");
    let missed: Vec<&str> = run["missed"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["unit"].as_str())
        .collect();
    assert!(missed.contains(&"assignments"), "{run:#?}");
    let open = sb.findings("open");
    assert_eq!(
        of_rule(&open, "leaver-sso-user-active").len(),
        1,
        "{open:#?}"
    );
    assert!(
        of_rule(&open, "leaver-sso-assignment").is_empty(),
        "{open:#?}"
    );
}
