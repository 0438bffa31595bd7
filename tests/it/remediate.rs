//! `residual remediate` through the binary: the plan changes nothing anywhere (moto's state and the
//! store compared before and after); `--apply --yes` with the actions allowed deactivates a
//! leaver's keys and SSH key, deletes the console password and removes the group membership in
//! moto, chains each outcome, and the re-sweep (not the API's answer) resolves the findings; a
//! second `--apply` is a no-op; an action the policy does not allow changes nothing; the guard
//! rails refuse findings of a partial run and findings of no leaver.

use crate::harness::Sandbox;
use aws_sdk_iam::types::StatusType;
use residual_test_support::moto;
use serde_json::Value;

const ACCOUNT: &str = moto::DEFAULT_ACCOUNT;

const HR: &str = "employee_id,email,status,termination_date,department,aws_user\n\
E1,ann@example.com,terminated,2026-03-01,Engineering,ann\n\
E2,ben@example.com,active,,Finance,ben\n";

/// What moto holds for `user`, read through aws-sdk-iam: each access key and SSH key with its
/// status, whether a login profile exists, and the groups.
async fn state(user: &str) -> String {
    let c = moto::seed_clients(ACCOUNT).await;
    let iam = &c.iam;
    let mut out = Vec::new();
    let keys = iam.list_access_keys().user_name(user).send().await.unwrap();
    for k in keys.access_key_metadata() {
        out.push(format!(
            "key {} {:?}",
            k.access_key_id().unwrap_or_default(),
            k.status()
        ));
    }
    let ssh = iam
        .list_ssh_public_keys()
        .user_name(user)
        .send()
        .await
        .unwrap();
    for k in ssh.ssh_public_keys() {
        out.push(format!("ssh {} {:?}", k.ssh_public_key_id(), k.status()));
    }
    let login = iam.get_login_profile().user_name(user).send().await.is_ok();
    out.push(format!("login-profile {login}"));
    let groups = iam
        .list_groups_for_user()
        .user_name(user)
        .send()
        .await
        .unwrap();
    for g in groups.groups() {
        out.push(format!("group {}", g.group_name()));
    }
    out.sort();
    out.join("\n")
}

/// A leaver (ann) with two active keys, a console password, an SSH key and a group; an employee
/// (ben) with a key of his own that nothing may touch. Returns ann's key ids.
async fn seed() -> (String, String) {
    let c = moto::seed_clients(ACCOUNT).await;
    let iam = &c.iam;
    for user in ["ann", "ben"] {
        iam.create_user().user_name(user).send().await.unwrap();
    }
    let mut ids = Vec::new();
    for _ in 0..2 {
        let k = iam
            .create_access_key()
            .user_name("ann")
            .send()
            .await
            .unwrap();
        ids.push(k.access_key().unwrap().access_key_id().to_string());
    }
    iam.create_access_key()
        .user_name("ben")
        .send()
        .await
        .unwrap();
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
    iam.create_group().group_name("eng").send().await.unwrap();
    for user in ["ann", "ben"] {
        iam.add_user_to_group()
            .group_name("eng")
            .user_name(user)
            .send()
            .await
            .unwrap();
    }
    (ids[0].clone(), ids[1].clone())
}

/// A sandbox with the HR snapshot imported, one aws-iam scanner on moto, `allow` as the
/// remediation policy, and a first sweep done.
fn swept(allow: &str) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.now = Some("2026-06-01T00:00:00Z".into());
    sb.write(
        "residual.toml",
        &format!(
            "[policy.remediate]\nallow = {allow}\n\n\
             [[scanner]]\nname = \"prod\"\nkind = \"aws-iam\"\nendpoint_url = \"{}\"\nservice_specific_credentials = false\n",
            moto::moto().endpoint
        ),
    );
    let hr = sb.write("hr.csv", HR);
    sb.ok(&[
        "hr",
        "import",
        hr.to_str().unwrap(),
        "--as-of",
        "2026-04-01",
    ]);
    sb.ok(&["scan", "prod", "--format", "json"]);
    sb
}

fn kinds(actions: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = actions
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_string())
        .collect();
    k.sort();
    k
}

fn open_rules(sb: &Sandbox, employee: &str) -> Vec<String> {
    let mut r: Vec<String> = sb
        .findings("open")
        .iter()
        .filter(|f| f["employee_id"] == employee)
        .map(|f| {
            format!(
                "{} {}",
                f["rule"].as_str().unwrap(),
                f["subject"].as_str().unwrap()
            )
        })
        .collect();
    r.sort();
    r
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_changes_nothing_and_apply_revokes_what_the_resweep_then_proves_gone() {
    let _account = moto::default_account();
    let (key1, key2) = seed().await;
    let sb = swept(r#"["aws-iam:*"]"#);
    let before = state("ann").await;
    let ben_before = state("ben").await;
    let store_before = sb.dump();

    // The plan: every action, in order, and nothing changed anywhere.
    let plan = sb
        .ok(&["remediate", "--employee", "E1", "--format", "json"])
        .json();
    let actions = plan["actions"].as_array().cloned().unwrap();
    assert_eq!(
        kinds(&actions),
        [
            "aws-iam:deactivate-access-key",
            "aws-iam:deactivate-access-key",
            "aws-iam:deactivate-ssh-key",
            "aws-iam:delete-access-key",
            "aws-iam:delete-access-key",
            "aws-iam:delete-login-profile",
            "aws-iam:remove-from-group",
        ],
        "{plan:#}"
    );
    let last = actions.last().unwrap();
    assert_eq!(last["kind"], "aws-iam:delete-access-key", "deletions last");
    assert!(
        last["blocked"].as_str().unwrap().contains("--allow-delete"),
        "{last:#}"
    );
    assert!(
        actions[0]["reversible"].as_bool().unwrap(),
        "reversible first"
    );
    let deactivate = actions
        .iter()
        .find(|a| a["kind"] == "aws-iam:deactivate-access-key")
        .unwrap();
    assert_eq!(deactivate["call"], "iam:UpdateAccessKey");
    assert!(deactivate["command"]
        .as_str()
        .unwrap()
        .starts_with("aws iam update-access-key --user-name ann --access-key-id "));
    assert!(
        plan["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["rule"] == "leaver-active-account"),
        "the IAM user itself is a task (deleting it is for a person): {plan:#}"
    );
    let script = sb.ok(&["remediate", "--employee", "E1", "--format", "script"]);
    assert!(
        script.stdout.starts_with("#!/bin/sh\n"),
        "{}",
        script.stdout
    );
    assert!(script.stdout.contains(&format!(
        "\naws iam update-access-key --user-name ann --access-key-id {key1} --status Inactive\n"
    )));
    assert!(script
        .stdout
        .contains("\n# aws iam delete-access-key --user-name ann"));
    assert!(!script.stdout.contains("Fake-pass"));
    sb.ok(&["remediate", "--format", "table"]);
    // More actions than --max-actions: refused whole, nothing changed.
    let r = sb.expect(
        2,
        &[
            "remediate",
            "--employee",
            "E1",
            "--apply",
            "--yes",
            "--max-actions",
            "2",
        ],
    );
    assert!(r.stderr.contains("--max-actions 2"), "{}", r.stderr);
    // A case selects its person's findings.
    let cases = sb
        .ok(&["cases", "--employee", "E1", "--format", "json"])
        .json();
    let case_id = cases[0]["case_id"].as_str().unwrap().to_string();
    let by_case = sb
        .ok(&["remediate", "--case", &case_id, "--format", "json"])
        .json();
    assert_eq!(
        kinds(by_case["actions"].as_array().unwrap()),
        kinds(&actions)
    );
    // Without --yes and without a terminal, even an allowed plan is refused.
    let r = sb.expect(2, &["remediate", "--employee", "E1", "--apply"]);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    assert_eq!(state("ann").await, before, "a plan changed moto");
    assert_eq!(sb.dump(), store_before, "a plan changed the store");

    // A change made by hand meanwhile: applying finds it done and records that.
    let c = moto::seed_clients(ACCOUNT).await;
    c.iam
        .update_access_key()
        .user_name("ann")
        .access_key_id(&key2)
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();

    let applied = sb
        .ok(&[
            "remediate",
            "--employee",
            "E1",
            "--apply",
            "--yes",
            "--actor",
            "alice",
            "--format",
            "json",
        ])
        .json();
    let rows = applied["applied"].as_array().cloned().unwrap();
    let result_of = |target_part: &str| -> String {
        rows.iter()
            .find(|r| r["target"].as_str().unwrap().contains(target_part))
            .map(|r| r["result"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert_eq!(result_of(&key1), "done", "{applied:#}");
    assert_eq!(result_of(&key2), "already-done", "{applied:#}");
    assert_eq!(result_of("login profile"), "done", "{applied:#}");
    assert_eq!(result_of("group eng"), "done", "{applied:#}");
    assert!(rows
        .iter()
        .all(|r| r["kind"] != "aws-iam:delete-access-key"));

    let after = state("ann").await;
    assert!(
        after.contains(&format!("key {key1} Some(Inactive)")),
        "{after}"
    );
    assert!(
        after.contains(&format!("key {key2} Some(Inactive)")),
        "{after}"
    );
    assert!(after.contains("login-profile false"), "{after}");
    assert!(
        after.contains("ssh ") && !after.contains("Active"),
        "{after}"
    );
    assert!(!after.contains("group eng"), "{after}");
    assert_eq!(state("ben").await, ben_before, "an employee was touched");

    // The proof is the re-sweep: the credential findings are resolved by its run.
    let still_open = open_rules(&sb, "E1");
    assert_eq!(still_open.len(), 1, "{still_open:#?}");
    assert!(still_open[0].starts_with("leaver-active-account"));
    let resolved = sb.findings("resolved");
    let runs = sb.ok(&["runs", "--format", "json"]).json();
    let resweep = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .max()
        .unwrap();
    // Targeted at the leaver's IAM user: a sweep of one user, not of the whole account.
    let resweep_run = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == resweep)
        .unwrap();
    assert_eq!(
        resweep_run["targeted"],
        serde_json::json!(["ann"]),
        "{resweep_run:#}"
    );
    for rule in [
        "leaver-active-access-key",
        "leaver-console-login",
        "leaver-ssh-key",
    ] {
        assert!(
            resolved
                .iter()
                .any(|f| f["rule"] == rule && f["resolved_by_run"] == resweep),
            "{rule} not resolved by the re-sweep {resweep}: {resolved:#?}"
        );
    }
    for row in &rows {
        assert!(
            row["findings_after"].as_array().unwrap().iter().all(|s| s
                .as_str()
                .unwrap()
                .starts_with("resolved by run")
                || s == "open"),
            "{row:#}"
        );
    }

    // Every outcome is in the chain, with who did it, and the chain verifies.
    let log = sb.ok(&["audit", "log", "--format", "json"]).json();
    let events: Vec<&Value> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"].as_str().unwrap().starts_with("remediation_"))
        .collect();
    assert!(
        events.iter().any(|e| e["event"] == "remediation_applied"
            && e["detail"]["actor"] == "alice"
            && e["detail"]["call"] == "iam:UpdateAccessKey"),
        "{events:#?}"
    );
    assert!(events.iter().any(|e| e["event"] == "remediation_skipped"));
    let chained = events.len();
    sb.ok(&["audit", "verify"]);
    let case = sb.ok(&["case", "E1", "--format", "json"]).json();
    assert!(
        case["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["kind"] == "finding_remediation_applied"
                && t["detail"]["action"] == "aws-iam:delete-login-profile"
                && t["detail"]["actor"] == "alice"),
        "{case:#}"
    );

    // A second apply is a no-op: nothing left to change, nothing chained.
    let again_state = state("ann").await;
    sb.ok(&["remediate", "--employee", "E1", "--apply", "--yes"]);
    assert_eq!(state("ann").await, again_state);
    let log = sb.ok(&["audit", "log", "--format", "json"]).json();
    let now_chained = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"].as_str().unwrap().starts_with("remediation_"))
        .count();
    assert_eq!(now_chained, chained);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_action_the_policy_does_not_allow_changes_nothing() {
    let _account = moto::default_account();
    seed().await;
    let sb = swept(r#"["github:*"]"#);
    let before = state("ann").await;
    let store_before = sb.dump();
    let r = sb.expect(2, &["remediate", "--employee", "E1", "--apply", "--yes"]);
    assert!(
        r.stderr.contains("[policy.remediate] allow"),
        "{}",
        r.stderr
    );
    assert_eq!(state("ann").await, before);
    assert_eq!(sb.dump(), store_before);
    let plan = sb.ok(&["remediate", "--format", "json"]).json();
    assert!(plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["blocked"]
            .as_str()
            .unwrap()
            .contains("not in [policy.remediate] allow")));
}

/// A mover past the grace period loses the old department's group, and keeps the new one's.
#[tokio::test(flavor = "multi_thread")]
async fn a_mover_past_the_grace_period_loses_only_the_old_roles_group() {
    let _account = moto::default_account();
    let c = moto::seed_clients(ACCOUNT).await;
    c.iam.create_user().user_name("ben").send().await.unwrap();
    for g in ["eng-admins", "fin-users"] {
        c.iam.create_group().group_name(g).send().await.unwrap();
        c.iam
            .add_user_to_group()
            .group_name(g)
            .user_name("ben")
            .send()
            .await
            .unwrap();
    }
    let mut sb = Sandbox::new();
    sb.now = Some("2026-06-01T00:00:00Z".into());
    sb.write(
        "residual.toml",
        &format!(
            "[policy]\nmover_grace_days = 7\n\n[policy.departments]\nEngineering = [\"eng-admins\"]\nFinance = [\"fin-users\"]\n\n\
             [policy.remediate]\nallow = [\"aws-iam:*\"]\n\n\
             [[scanner]]\nname = \"prod\"\nkind = \"aws-iam\"\nendpoint_url = \"{}\"\nservice_specific_credentials = false\n",
            moto::moto().endpoint
        ),
    );
    let before = sb.write(
        "hr0.csv",
        "employee_id,email,status,termination_date,department,aws_user\nE2,ben@example.com,active,,Engineering,ben\n",
    );
    let after = sb.write(
        "hr1.csv",
        "employee_id,email,status,termination_date,department,aws_user\nE2,ben@example.com,active,,Finance,ben\n",
    );
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
        after.to_str().unwrap(),
        "--as-of",
        "2026-04-01",
    ]);
    sb.ok(&["scan", "prod", "--format", "json"]);
    let applied = sb
        .ok(&[
            "remediate",
            "--employee",
            "E2",
            "--apply",
            "--yes",
            "--format",
            "json",
        ])
        .json();
    let rows = applied["applied"].as_array().cloned().unwrap();
    assert_eq!(rows.len(), 1, "{applied:#}");
    assert_eq!(rows[0]["kind"], "aws-iam:remove-from-group");
    assert!(rows[0]["target"].as_str().unwrap().contains("eng-admins"));
    let groups = state("ben").await;
    assert!(!groups.contains("group eng-admins"), "{groups}");
    assert!(groups.contains("group fin-users"), "{groups}");
    assert!(
        open_rules(&sb, "E2").is_empty(),
        "{:?}",
        open_rules(&sb, "E2")
    );
}

#[test]
fn findings_of_a_partial_run_and_of_no_leaver_are_refused() {
    let sb = Sandbox::with_hr(
        "2026-06-01T00:00:00Z",
        "employee_id,email,status,termination_date\nE1,ann@example.com,terminated,2026-03-01\n",
        "2026-04-01",
    );
    let export = sb.write(
        "crm.csv",
        "account,email,status\nann,ann@example.com,active\nghost,ghost@example.com,active\n",
    );
    sb.expect(
        3,
        &[
            "scan",
            "inventory",
            "--system",
            "crm",
            export.to_str().unwrap(),
            "--partial",
        ],
    );
    let plan = sb.ok(&["remediate", "--format", "json"]).json();
    let refused = plan["refused"].as_array().cloned().unwrap();
    assert!(
        refused
            .iter()
            .any(|r| r["employee_id"] == "E1"
                && r["reason"].as_str().unwrap().contains("is partial")),
        "{plan:#}"
    );
    assert!(
        refused.iter().any(|r| r["rule"] == "orphan-account"
            && r["reason"].as_str().unwrap().contains("no person")),
        "{plan:#}"
    );
    assert!(plan["actions"].as_array().unwrap().is_empty());
}

mod github {
    //! Against the fake GitHub (DELETE endpoints shaped as GitHub's OpenAPI description says:
    //! 204 when removed, 404 when not there): membership removed, invitation cancelled, deploy
    //! key deleted, and a 500 on one call recorded with its finding left open.

    use crate::github::empty_org;
    use crate::harness::{Run, Sandbox};
    use residual_test_support::fake_host::github as gh;
    use residual_test_support::fake_host::{with, Fake, Fault, Flavor, Shape};
    use serde_json::{json, Value};

    const HR: &str = "employee_id,email,status,termination_date,department,github_login\n\
E1,ann@example.com,terminated,2026-03-01,Engineering,ann-gh\n\
E2,ben@example.com,active,,Engineering,ben-gh\n\
E3,cat@example.com,terminated,2026-02-01,Contractors,cat-gh\n\
E4,dan@example.com,terminated,2026-01-15,Engineering,\n";

    /// ann-gh and ben-gh members, cat-gh a direct collaborator on acme/api, dan invited by
    /// email (invitation 77), and a deploy key of acme/api that ann-gh added.
    fn load(fake: &Fake) {
        empty_org(fake);
        fake.set_list(
            "/orgs/acme/members?role=member",
            Shape::Array,
            vec![gh::user("ann-gh", 1), gh::user("ben-gh", 2)],
        );
        fake.set_list(
            "/orgs/acme/outside_collaborators",
            Shape::Array,
            vec![gh::user("cat-gh", 3)],
        );
        let invitation = with(
            &gh::template("org-invitations.json", None),
            json!({"id": 77, "login": null, "email": "dan@example.com", "failed_at": null}),
        );
        fake.set_list("/orgs/acme/invitations", Shape::Array, vec![invitation]);
        fake.set_list(
            "/orgs/acme/repos?type=all",
            Shape::Array,
            vec![gh::repo("acme", "api", 10)],
        );
        let repo = "/repos/acme/api";
        fake.set_list(
            &format!("{repo}/collaborators?affiliation=direct"),
            Shape::Array,
            vec![gh::collaborator("cat-gh", "write")],
        );
        fake.set_list(
            &format!("{repo}/keys"),
            Shape::Array,
            vec![gh::deploy_key(501, Some("ann-gh"), None, true)],
        );
        fake.set_list(
            &format!("{repo}/actions/secrets"),
            Shape::Wrapped("secrets"),
            vec![],
        );
        fake.set_list(
            &format!("{repo}/actions/variables"),
            Shape::Wrapped("variables"),
            vec![],
        );
    }

    fn run(sb: &Sandbox, code: i32, args: &[&str]) -> Run {
        tokio::task::block_in_place(|| sb.expect(code, args))
    }

    fn state_of(sb: &Sandbox, rule: &str) -> String {
        let all = run(sb, 0, &["findings", "--state", "all", "--format", "json"]).json();
        all.as_array()
            .unwrap()
            .iter()
            .find(|f| f["rule"] == rule)
            .map(|f| f["state"].as_str().unwrap().to_string())
            .unwrap_or_else(|| format!("no {rule} finding"))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn apply_removes_a_member_cancels_an_invitation_deletes_a_deploy_key_and_records_a_500() {
        let fake = Fake::start(Flavor::Github).await;
        load(&fake);
        let mut sb = Sandbox::new();
        sb.now = Some("2026-06-01T00:00:00Z".into());
        sb.write(
            "residual.toml",
            &format!(
                "[policy.remediate]\nallow = [\"github:*\"]\n\n\
                 [[scanner]]\nname = \"gh\"\nkind = \"github\"\norg = \"acme\"\napi_url = \"{}\"\nmax_retries = 0\n",
                fake.url
            ),
        );
        let hr = sb.write("hr.csv", HR);
        run(
            &sb,
            0,
            &[
                "hr",
                "import",
                hr.to_str().unwrap(),
                "--as-of",
                "2026-04-01",
            ],
        );
        sb.env
            .push(("GITHUB_TOKEN".into(), "ghp-fake-token-for-tests".into()));
        run(&sb, 0, &["scan", "gh", "--format", "json"]);

        let plan = run(
            &sb,
            0,
            &["remediate", "--system", "github", "--format", "json"],
        )
        .json();
        let actions = plan["actions"].as_array().cloned().unwrap();
        let by_kind = |kind: &str| -> Value {
            actions
                .iter()
                .find(|a| a["kind"] == kind)
                .cloned()
                .unwrap_or_else(|| panic!("no {kind}: {plan:#}"))
        };
        assert_eq!(
            by_kind("github:remove-member")["command"],
            "gh api -X DELETE /orgs/acme/members/ann-gh"
        );
        assert_eq!(
            by_kind("github:cancel-invitation")["command"],
            "gh api -X DELETE /orgs/acme/invitations/77"
        );
        by_kind("github:remove-collaborator");
        assert!(by_kind("github:delete-deploy-key")["blocked"]
            .as_str()
            .unwrap()
            .contains("--allow-delete"));
        assert!(
            fake.log()
                .iter()
                .all(|l| l.method == "GET" || l.method == "POST"),
            "a plan sent a change"
        );

        fake.fault(
            "/repos/acme/api/collaborators/cat-gh",
            Fault::Status(500),
            None,
        );
        let applied = run(
            &sb,
            3,
            &[
                "remediate",
                "--system",
                "github",
                "--apply",
                "--yes",
                "--allow-delete",
                "--format",
                "json",
            ],
        )
        .json();
        let result = |kind: &str| -> String {
            applied["applied"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["kind"] == kind)
                .map(|r| r["result"].as_str().unwrap().to_string())
                .unwrap_or_default()
        };
        assert_eq!(result("github:remove-member"), "done", "{applied:#}");
        assert_eq!(result("github:cancel-invitation"), "done", "{applied:#}");
        assert_eq!(result("github:delete-deploy-key"), "done", "{applied:#}");
        assert_eq!(
            result("github:remove-collaborator"),
            "failed",
            "{applied:#}"
        );
        let deletes: Vec<String> = fake
            .log()
            .iter()
            .filter(|l| l.method == "DELETE")
            .map(|l| l.path_and_query.clone())
            .collect();
        for route in [
            "/orgs/acme/members/ann-gh",
            "/orgs/acme/invitations/77",
            "/repos/acme/api/keys/501",
            "/repos/acme/api/collaborators/cat-gh",
        ] {
            assert!(deletes.iter().any(|d| d == route), "{deletes:#?}");
        }
        // The re-sweep proves what went; the failed call leaves its finding open.
        assert_eq!(state_of(&sb, "leaver-org-member"), "resolved");
        assert_eq!(state_of(&sb, "leaver-pending-invitation"), "resolved");
        assert_eq!(state_of(&sb, "leaver-deploy-key"), "resolved");
        assert_eq!(state_of(&sb, "leaver-outside-collaborator"), "open");
        let log = run(&sb, 0, &["audit", "log", "--format", "json"]).json();
        let failed: Vec<&Value> = log
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "remediation_failed")
            .collect();
        assert_eq!(failed.len(), 1, "{failed:#?}");
        assert!(failed[0]["detail"]["result"]["message"]
            .as_str()
            .unwrap()
            .contains("500"));
        run(&sb, 0, &["audit", "verify"]);
    }

    /// Throttling is not a failure: the change waits out `retry-after` and is made (a 5xx, by
    /// contrast, is reported at once, above).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_throttled_change_waits_out_the_rate_limit_and_is_made() {
        let fake = Fake::start(Flavor::Github).await;
        load(&fake);
        let mut sb = Sandbox::new();
        sb.now = Some("2026-06-01T00:00:00Z".into());
        sb.write(
            "residual.toml",
            &format!(
                "[policy.remediate]\nallow = [\"github:remove-member\"]\n\n\
                 [[scanner]]\nname = \"gh\"\nkind = \"github\"\norg = \"acme\"\napi_url = \"{}\"\nmax_retries = 0\n",
                fake.url
            ),
        );
        let hr = sb.write("hr.csv", HR);
        run(
            &sb,
            0,
            &[
                "hr",
                "import",
                hr.to_str().unwrap(),
                "--as-of",
                "2026-04-01",
            ],
        );
        sb.env
            .push(("GITHUB_TOKEN".into(), "ghp-fake-token-for-tests".into()));
        run(&sb, 0, &["scan", "gh", "--format", "json"]);
        fake.fault(
            "/orgs/acme/members/ann-gh",
            Fault::SecondaryRateLimit { retry_after: 1 },
            Some(1),
        );
        let applied = run(
            &sb,
            0,
            &[
                "remediate",
                "--rule",
                "leaver-org-member",
                "--apply",
                "--yes",
                "--format",
                "json",
            ],
        )
        .json();
        assert_eq!(applied["applied"][0]["result"], "done", "{applied:#}");
        assert_eq!(state_of(&sb, "leaver-org-member"), "resolved");
    }

    /// A fine-grained PAT a leaver holds on the org (seen with App auth) is revoked with
    /// `POST /orgs/{org}/personal-access-tokens/{pat_id}` `{"action": "revoke"}` (204).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn apply_revokes_a_leavers_fine_grained_token_with_app_auth() {
        let sb = Sandbox::new();
        let key = sb.path("app.pem");
        let made = std::process::Command::new("openssl")
            .args(["genrsa", "-traditional", "-out"])
            .arg(&key)
            .arg("2048")
            .output();
        if !made.map(|o| o.status.success()).unwrap_or(false) {
            eprintln!("openssl not available: skipping");
            return;
        }
        let fake = Fake::start(Flavor::Github).await;
        empty_org(&fake);
        fake.set_list(
            "/orgs/acme/members?role=member",
            Shape::Array,
            vec![gh::user("octocat", 1)],
        );
        let grants = residual_test_support::fake_host::fixture("github", "org-pat-grants.json");
        fake.set_list(
            "/orgs/acme/personal-access-tokens",
            Shape::Array,
            grants.as_array().cloned().unwrap_or_default(),
        );
        let installation =
            residual_test_support::fake_host::fixture("github", "app-org-installation.json");
        let id = installation["id"].as_u64().unwrap_or(1);
        fake.set_object("/orgs/acme/installation", installation);
        fake.set_object(
            &format!("/app/installations/{id}/access_tokens"),
            with(
                &residual_test_support::fake_host::fixture("github", "app-installation-token.json"),
                json!({"token": (["ghs", "_installation_token_for_tests"].concat()), "expires_at": "2099-01-01T00:00:00Z"}),
            ),
        );
        let mut sb = sb;
        sb.now = Some("2026-06-01T00:00:00Z".into());
        sb.write(
            "residual.toml",
            &format!(
                "[policy.remediate]\nallow = [\"github:revoke-pat\"]\n\n\
                 [[scanner]]\nname = \"gh\"\nkind = \"github\"\norg = \"acme\"\napi_url = \"{}\"\nmax_retries = 0\napp_id = 42\napp_key = \"app.pem\"\n",
                fake.url
            ),
        );
        let hr = sb.write(
            "hr.csv",
            "employee_id,email,status,termination_date,github_login\nE1,octo@example.com,terminated,2026-03-01,octocat\n",
        );
        run(
            &sb,
            0,
            &[
                "hr",
                "import",
                hr.to_str().unwrap(),
                "--as-of",
                "2026-04-01",
            ],
        );
        run(&sb, 0, &["scan", "gh", "--format", "json"]);
        assert_eq!(state_of(&sb, "leaver-token"), "open");

        let applied = run(
            &sb,
            0,
            &[
                "remediate",
                "--rule",
                "leaver-token",
                "--apply",
                "--yes",
                "--format",
                "json",
            ],
        )
        .json();
        assert_eq!(
            applied["applied"][0]["kind"], "github:revoke-pat",
            "{applied:#}"
        );
        assert_eq!(applied["applied"][0]["result"], "done", "{applied:#}");
        assert!(fake
            .log()
            .iter()
            .any(|l| l.method == "POST"
                && l.path_and_query == "/orgs/acme/personal-access-tokens/25381"));
        assert_eq!(state_of(&sb, "leaver-token"), "resolved");
    }
}

mod gitlab {
    //! Against the fake GitLab: a leaver's group membership removed (`DELETE
    //! /groups/:id/members/:user_id`, 204), resolved by the re-sweep.

    use crate::harness::{Run, Sandbox};
    use residual_test_support::fake_host::gitlab as gl;
    use residual_test_support::fake_host::{Fake, Flavor, Shape};

    const HR: &str = "employee_id,email,status,termination_date,department,gitlab_user\n\
E1,ann@example.com,terminated,2026-03-01,Engineering,ann\n\
E2,ben@example.com,active,,Engineering,ben\n";

    fn run(sb: &Sandbox, code: i32, args: &[&str]) -> Run {
        tokio::task::block_in_place(|| sb.expect(code, args))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn apply_removes_a_leavers_group_membership_and_the_resweep_resolves_it() {
        let fake = Fake::start(Flavor::Gitlab).await;
        fake.set_object("/groups/acme", gl::group(10, "acme"));
        fake.set_list("/groups/10/descendant_groups", Shape::Array, vec![]);
        fake.set_list(
            "/groups/10/projects?include_subgroups=true",
            Shape::Array,
            vec![],
        );
        fake.set_list(
            "/groups/10/members",
            Shape::Array,
            vec![
                gl::member(1, "ann", 40, None),
                gl::member(2, "ben", 30, None),
            ],
        );
        fake.set_list("/groups/10/variables", Shape::Array, vec![]);
        let mut sb = Sandbox::new();
        sb.now = Some("2026-06-01T00:00:00Z".into());
        sb.write(
            "residual.toml",
            &format!(
                "[policy.remediate]\nallow = [\"gitlab:remove-member\"]\n\n\
                 [[scanner]]\nname = \"gl\"\nkind = \"gitlab\"\ngroup = \"acme\"\napi_url = \"{}\"\nmax_retries = 0\n",
                fake.url
            ),
        );
        let hr = sb.write("hr.csv", HR);
        run(
            &sb,
            0,
            &[
                "hr",
                "import",
                hr.to_str().unwrap(),
                "--as-of",
                "2026-04-01",
            ],
        );
        sb.env
            .push(("GITLAB_TOKEN".into(), "glpat-for-tests-only".into()));
        run(&sb, 0, &["scan", "gl", "--format", "json"]);

        let plan = run(
            &sb,
            0,
            &[
                "remediate",
                "--rule",
                "leaver-org-member",
                "--format",
                "json",
            ],
        )
        .json();
        let actions = plan["actions"].as_array().cloned().unwrap();
        assert_eq!(actions.len(), 1, "{plan:#}");
        assert_eq!(actions[0]["kind"], "gitlab:remove-member");
        let command = actions[0]["command"].as_str().unwrap();
        assert!(command.contains("/groups/acme/members/1"), "{command}");
        assert!(!command.contains("glpat-for-tests-only"), "{command}");

        let applied = run(
            &sb,
            0,
            &[
                "remediate",
                "--rule",
                "leaver-org-member",
                "--apply",
                "--yes",
                "--format",
                "json",
            ],
        )
        .json();
        assert_eq!(applied["applied"][0]["result"], "done", "{applied:#}");
        assert!(fake
            .log()
            .iter()
            .any(|l| l.method == "DELETE" && l.path_and_query == "/groups/acme/members/1"));
        let open = run(
            &sb,
            0,
            &[
                "findings",
                "--rule",
                "leaver-org-member",
                "--format",
                "json",
            ],
        )
        .json();
        assert_eq!(open.as_array().unwrap().len(), 0, "{open:#}");
        let resolved = run(
            &sb,
            0,
            &[
                "findings",
                "--state",
                "resolved",
                "--rule",
                "leaver-org-member",
                "--format",
                "json",
            ],
        )
        .json();
        assert_eq!(resolved.as_array().unwrap().len(), 1, "{resolved:#}");
    }
}

#[test]
fn apply_without_a_store_is_a_usage_error_and_creates_none() {
    let sb = Sandbox::new();
    let r = sb.expect(2, &["remediate", "--apply", "--yes"]);
    assert!(r.stderr.contains("no store"), "{}", r.stderr);
    assert!(!sb.db().exists(), "--apply created a store");
}
