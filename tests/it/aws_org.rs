//! `accounts = "organization"` on an aws-iam scanner, through the binary against moto's
//! Organizations and STS: every account of the organisation is swept through the same role name,
//! one run per account (`aws-iam:<account id>`); an account whose role cannot be assumed is one
//! failed run (exit 3) that resolves nothing there, while the other accounts' runs complete and
//! resolve what was removed.
//!
//! The binary talks to moto's default account (the management account here), so the test holds
//! it ([`moto::default_account`]).

use crate::harness::Sandbox;
use residual_test_support::moto;
use residual_test_support::moto_sso::Sso;
use serde_json::Value;

const HR: &str = "employee_id,email,status,termination_date,aws_user\n\
E1,ann@example.com,terminated,2026-03-01,ann\n";

fn sandbox() -> Sandbox {
    sandbox_with("")
}

/// A sandbox whose org scanner entry ends with `extra` lines (`include = …`).
fn sandbox_with(extra: &str) -> Sandbox {
    org_sandbox(HR, extra)
}

/// A sandbox with `hr` imported and one organisation-wide aws-iam scanner `org` whose entry ends
/// with `extra` lines (also the sharded workers' setup in `jobs`).
pub(crate) fn org_sandbox(hr: &str, extra: &str) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.now = Some("2026-06-01T00:00:00Z".into());
    sb.write(
        "residual.toml",
        &format!(
            "[[scanner]]\nname = \"org\"\nkind = \"aws-iam\"\nendpoint_url = \"{}\"\n\
             service_specific_credentials = false\naccounts = \"organization\"\n\
             role_name = \"residual-audit\"\nconcurrency = 2\n{extra}",
            moto::moto().endpoint
        ),
    );
    let hr = sb.write("hr.csv", hr);
    sb.ok(&[
        "hr",
        "import",
        hr.to_str().unwrap(),
        "--as-of",
        "2026-04-01",
    ]);
    sb
}

/// The leaver `ann` as an IAM user of `account`.
async fn leaver_in(account: &str) {
    let c = moto::seed_clients(account).await;
    c.iam.create_user().user_name("ann").send().await.unwrap();
}

async fn delete_leaver_in(account: &str) {
    let c = moto::seed_clients(account).await;
    c.iam.delete_user().user_name("ann").send().await.unwrap();
}

/// (system, status) of every run, sorted (the jobs tests read runs the same way).
pub(crate) fn runs(sb: &Sandbox) -> Vec<(String, String)> {
    let runs = sb.ok(&["runs", "--format", "json"]).json();
    let mut v: Vec<(String, String)> = runs
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            (
                r["system"].as_str().unwrap_or_default().to_string(),
                r["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn systems(findings: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = findings
        .iter()
        .filter(|f| f["rule"] == "leaver-active-account")
        .map(|f| f["system"].as_str().unwrap_or_default().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organisation_is_one_run_per_account_and_an_account_that_cannot_be_entered_fails_alone()
{
    let _account = moto::default_account();
    let members = Sso::connect().await.organization(2).await;
    let mut accounts = vec![moto::DEFAULT_ACCOUNT.to_string()];
    accounts.extend(members);
    accounts.sort();
    for a in &accounts {
        leaver_in(a).await;
    }
    let sb = sandbox();
    sb.ok(&["scan", "org"]);
    let expected: Vec<String> = accounts.iter().map(|a| format!("aws-iam:{a}")).collect();
    assert_eq!(systems(&sb.findings("open")), expected);

    // The leaver is removed everywhere, but one account's role can no longer be assumed.
    for a in &accounts {
        delete_leaver_in(a).await;
    }
    let locked = &accounts[1];
    moto::deny_assume(locked);
    let r = sb.expect(3, &["scan", "org"]);
    let statuses = runs(&sb);
    let failed: Vec<&String> = statuses
        .iter()
        .filter(|(_, s)| s == "failed")
        .map(|(s, _)| s)
        .collect();
    assert_eq!(
        failed,
        [&format!("aws-iam:{locked}")],
        "{statuses:#?}\n{}",
        r.stderr
    );
    assert_eq!(
        statuses.iter().filter(|(_, s)| s == "complete").count(),
        5,
        "three complete runs first, then two: {statuses:#?}"
    );
    assert_eq!(
        systems(&sb.findings("open")),
        [format!("aws-iam:{locked}")],
        "nothing is resolved in the account that failed"
    );
    assert_eq!(systems(&sb.findings("resolved")).len(), 2);
    assert!(
        r.stderr.contains("AccessDenied") || r.stderr.contains("sts"),
        "{}",
        r.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn include_takes_an_ou_for_every_account_below_it_and_exclude_wins() {
    let _account = moto::default_account();
    let sso = Sso::connect().await;
    let members = sso.organization(3).await;
    let roots = sso.orgs.list_roots().send().await.unwrap();
    let root = roots.roots()[0].id().unwrap().to_string();
    let ou = sso
        .orgs
        .create_organizational_unit()
        .parent_id(&root)
        .name("prod")
        .send()
        .await
        .unwrap();
    let ou = ou.organizational_unit().unwrap().id().unwrap().to_string();
    for m in &members[..2] {
        sso.orgs
            .move_account()
            .account_id(m)
            .source_parent_id(&root)
            .destination_parent_id(&ou)
            .send()
            .await
            .unwrap();
    }
    let sb = sandbox_with(&format!(
        "include = [\"{ou}\", \"{}\"]\nexclude = [\"{}\"]\n",
        moto::DEFAULT_ACCOUNT,
        members[1]
    ));
    sb.ok(&["scan", "org"]);
    let swept: Vec<String> = runs(&sb).into_iter().map(|(s, _)| s).collect();
    let mut expected = vec![
        format!("aws-iam:{}", members[0]),
        format!("aws-iam:{}", moto::DEFAULT_ACCOUNT),
    ];
    expected.sort();
    assert_eq!(swept, expected);
}
