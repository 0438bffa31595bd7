//! The targeted AWS IAM sweep through the binary, on moto and a real store: a new leaver in HR
//! makes `residual daemon --once` sweep only that person's IAM user (the bulk listings plus their
//! per-user calls), and `residual scan NAME --employee ID` does the same by hand. A targeted run
//! resolves the findings of the users it looked at and of no one else, never proves a case, and
//! shows as targeted in `residual runs`; the scheduled full sweep stays what proves.
//!
//! One test, because the binary talks to moto's default account: the steps share it in order.

use crate::harness::Sandbox;
use aws_sdk_iam::types::StatusType;
use residual_test_support::moto;
use serde_json::Value;

const ACCOUNT: &str = moto::DEFAULT_ACCOUNT;

/// Users besides the four people: what makes a full sweep cost more than a targeted one.
const OTHER_USERS: usize = 12;

const HR_1: &str = "employee_id,email,status,termination_date,aws_user\n\
E1,ann@example.com,terminated,2026-03-01,ann\n\
E2,ben@example.com,active,,ben\n\
E3,cat@example.com,terminated,2026-03-01,cat\n\
E4,dan@example.com,active,,dan\n";

const HR_2: &str = "employee_id,email,status,termination_date,aws_user\n\
E1,ann@example.com,terminated,2026-03-01,ann\n\
E2,ben@example.com,active,,ben\n\
E3,cat@example.com,terminated,2026-03-01,cat\n\
E4,dan@example.com,terminated,2026-05-01,dan\n";

/// Creates the users, each of the four people with one access key; returns the key ids of
/// ann, cat and dan.
async fn seed() -> (String, String, String) {
    let c = moto::seed_clients(ACCOUNT).await;
    let mut keys = Vec::new();
    for user in ["ann", "ben", "cat", "dan"] {
        c.iam.create_user().user_name(user).send().await.unwrap();
        let key = c
            .iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .unwrap();
        keys.push(key.access_key().unwrap().access_key_id().to_string());
    }
    for i in 0..OTHER_USERS {
        c.iam
            .create_user()
            .user_name(format!("svc-{i:02}"))
            .send()
            .await
            .unwrap();
    }
    (keys[0].clone(), keys[2].clone(), keys[3].clone())
}

fn sandbox() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.now = Some("2026-06-01T00:00:00Z".into());
    sb.write(
        "residual.toml",
        &format!(
            "[hr]\nsource = \"hr.csv\"\n\n[[scanner]]\nname = \"prod\"\nkind = \"aws-iam\"\n\
             endpoint_url = \"{}\"\nservice_specific_credentials = false\nschedule = \"0 0 1 1 *\"\n",
            moto::moto().endpoint
        ),
    );
    sb
}

fn runs(sb: &Sandbox) -> Vec<Value> {
    let mut runs = sb
        .ok(&["runs", "--format", "json"])
        .json()
        .as_array()
        .cloned()
        .unwrap();
    runs.reverse();
    runs
}

/// The state of the finding of `rule` whose subject names `id`.
fn state_of(sb: &Sandbox, rule: &str, id: &str) -> String {
    let all = sb
        .ok(&["findings", "--state", "all", "--format", "json"])
        .json();
    let found: Vec<&Value> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule && f["subject"].as_str().unwrap().contains(id))
        .collect();
    assert_eq!(found.len(), 1, "one {rule} finding of {id}: {all:#}");
    found[0]["state"].as_str().unwrap().to_string()
}

/// The proving run of `employee`'s case in the aws-iam system.
fn proving_run(sb: &Sandbox, employee: &str) -> Value {
    let case = sb.ok(&["case", employee, "--format", "json"]).json();
    case["systems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["system"] == format!("aws-iam:{ACCOUNT}").as_str())
        .map(|s| s["proving_run"].clone())
        .unwrap_or_else(|| panic!("no aws-iam system in {case:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_targeted_sweep_resolves_only_the_findings_of_the_users_it_looked_at_and_proves_no_case()
{
    let _account = moto::default_account();
    let (ann_key, cat_key, dan_key) = seed().await;
    let mut sb = sandbox();

    // No full sweep has completed yet: the first leavers get a full one.
    sb.write("hr.csv", HR_1);
    let r = sb.ok(&["daemon", "--once"]);
    let list = runs(&sb);
    assert_eq!(list.len(), 1, "{}", r.stderr);
    assert_eq!(
        list[0]["targeted"],
        Value::Null,
        "a full sweep: {:#}",
        list[0]
    );
    let full_calls = list[0]["calls"].as_i64().unwrap();
    assert_eq!(state_of(&sb, "leaver-active-access-key", &ann_key), "open");
    assert_eq!(state_of(&sb, "leaver-active-access-key", &cat_key), "open");

    // Ann's key is deactivated; cat's key is deleted (only a full sweep may see that).
    let c = moto::seed_clients(ACCOUNT).await;
    c.iam
        .update_access_key()
        .user_name("ann")
        .access_key_id(&ann_key)
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();
    c.iam
        .delete_access_key()
        .user_name("cat")
        .access_key_id(&cat_key)
        .send()
        .await
        .unwrap();

    // Dan leaves: the daemon sweeps dan's IAM user only.
    sb.now = Some("2026-06-02T00:00:00Z".into());
    sb.write("hr.csv", HR_2);
    let r = sb.ok(&["daemon", "--once"]);
    assert!(
        r.stderr.contains("targeted sweep of 1 IAM user in"),
        "{}",
        r.stderr
    );
    let list = runs(&sb);
    assert_eq!(list.len(), 2, "{}", r.stderr);
    assert_eq!(
        list[1]["targeted"],
        serde_json::json!(["dan"]),
        "{:#}",
        list[1]
    );
    assert_eq!(list[1]["status"], "complete", "{:#}", list[1]);
    assert_eq!(
        list[1]["missed"].as_array().unwrap().len(),
        1,
        "the kind switched off, named once: {:#}",
        list[1]
    );
    let targeted_calls = list[1]["calls"].as_i64().unwrap();
    assert!(
        targeted_calls < full_calls && full_calls - targeted_calls >= OTHER_USERS as i64,
        "targeted {targeted_calls} calls vs full {full_calls}"
    );
    assert_eq!(state_of(&sb, "leaver-active-access-key", &dan_key), "open");
    assert_eq!(
        state_of(&sb, "leaver-active-access-key", &ann_key),
        "open",
        "not looked at"
    );
    assert_eq!(
        state_of(&sb, "leaver-active-access-key", &cat_key),
        "open",
        "not looked at"
    );
    assert_eq!(
        proving_run(&sb, "E4"),
        Value::Null,
        "a targeted run proves no case"
    );

    // A targeted sweep of ann by hand: her deactivated key resolves, cat's deleted one does not.
    sb.now = Some("2026-06-03T00:00:00Z".into());
    sb.ok(&["scan", "prod", "--employee", "E1"]);
    let list = runs(&sb);
    assert_eq!(
        list[2]["targeted"],
        serde_json::json!(["ann"]),
        "{:#}",
        list[2]
    );
    assert_eq!(
        state_of(&sb, "leaver-active-access-key", &ann_key),
        "resolved"
    );
    assert_eq!(state_of(&sb, "leaver-active-access-key", &cat_key), "open");
    assert_eq!(state_of(&sb, "leaver-active-access-key", &dan_key), "open");

    // The full sweep resolves cat's key. (It proves no case here either: moto cannot list
    // service-specific credentials, so that kind is switched off; `store::cases` tests that a
    // targeted run never proves one where a full run does.)
    sb.now = Some("2026-06-04T00:00:00Z".into());
    sb.ok(&["scan", "prod"]);
    let list = runs(&sb);
    assert_eq!(list[3]["targeted"], Value::Null);
    assert_eq!(
        state_of(&sb, "leaver-active-access-key", &cat_key),
        "resolved"
    );
    let table = sb.ok(&["runs", "--format", "table"]).stdout;
    assert!(
        table.contains("run 3 (aws-iam:123456789012): targeted at ann"),
        "{table}"
    );

    // A leaver with no known IAM user gets a full sweep: one may exist that no run linked.
    sb.now = Some("2026-06-05T00:00:00Z".into());
    sb.write(
        "hr.csv",
        &format!("{HR_2}E5,eve@example.com,terminated,2026-06-01,\n"),
    );
    let r = sb.ok(&["daemon", "--once"]);
    assert!(r.stderr.contains("no IAM user is known"), "{}", r.stderr);
    assert_eq!(runs(&sb)[4]["targeted"], Value::Null);

    // Dan's IAM user is deleted: a targeted sweep of dan resolves everything of his, the user
    // itself included, and nothing of ann's.
    assert_eq!(state_of(&sb, "leaver-active-account", "dan"), "open");
    c.iam
        .delete_access_key()
        .user_name("dan")
        .access_key_id(&dan_key)
        .send()
        .await
        .unwrap();
    c.iam.delete_user().user_name("dan").send().await.unwrap();
    sb.now = Some("2026-06-06T00:00:00Z".into());
    sb.ok(&["scan", "prod", "--employee", "E4"]);
    assert_eq!(runs(&sb)[5]["targeted"], serde_json::json!(["dan"]));
    assert_eq!(state_of(&sb, "leaver-active-account", "dan"), "resolved");
    assert_eq!(
        state_of(&sb, "leaver-active-access-key", &dan_key),
        "resolved"
    );
    assert_eq!(state_of(&sb, "leaver-active-account", "ann"), "open");
}
