//! Coverage units through the binary: a run that missed one part of a system still resolves the
//! findings of the parts it covered, says what it missed and why (exit 3), and `residual runs`
//! lists covered and missed units; a run killed mid-way shows as `interrupted`.

use crate::harness::repo::build_repo;
use crate::harness::Sandbox;
use aws_sdk_iam::types::StatusType;
use residual_test_support::fake_host::github as gh;
use residual_test_support::fake_host::{Fake, Fault, Flavor, Shape};
use residual_test_support::moto;
use serde_json::Value;

/// The newest run as `residual runs --format json` lists it.
fn latest_run(sb: &Sandbox) -> Value {
    let runs = sb.ok(&["runs", "--format", "json"]).json();
    runs[0].clone()
}

fn missed<'v>(run: &'v Value, unit: &str) -> Option<&'v Value> {
    run["missed"].as_array()?.iter().find(|m| m["unit"] == unit)
}

fn covered(run: &Value, unit: &str) -> bool {
    run["covered"]
        .as_array()
        .is_some_and(|c| c.iter().any(|u| u == unit))
}

/// The `leaver-active-access-key` finding of dora's key `key_id` in `state`, if there is one.
fn find_key(sb: &Sandbox, state: &str, key_id: &str) -> Option<Value> {
    sb.findings(state).into_iter().find(|f| {
        f["rule"] == "leaver-active-access-key"
            && f["subject"] == format!("dora/access-key/{key_id}")
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn an_iam_listing_that_fails_still_lets_a_deactivated_keys_finding_resolve() {
    // The CLI talks to moto's default account: hold it against the other tests that use it.
    let _account = moto::default_account();
    let c = moto::seed_clients(moto::DEFAULT_ACCOUNT).await;
    c.iam.create_user().user_name("dora").send().await.unwrap();
    let key = c
        .iam
        .create_access_key()
        .user_name("dora")
        .send()
        .await
        .unwrap();
    let key_id = key.access_key().unwrap().access_key_id().to_string();

    let mut sb = Sandbox::with_hr(
        "2026-06-01T00:00:00Z",
        "employee_id,email,status,termination_date,aws_user\nE9,dora@example.com,terminated,2026-03-01,dora\n",
        "2026-04-01",
    );
    sb.env.push(("AWS_ACCESS_KEY_ID".into(), "testing".into()));
    sb.env
        .push(("AWS_SECRET_ACCESS_KEY".into(), "testing".into()));
    // Service-specific credentials are read (the default): moto answers that listing with 500.
    sb.write(
        "residual.toml",
        &format!(
            "[[scanner]]\nname = \"prod\"\nkind = \"aws-iam\"\nendpoint_url = \"{}\"\n",
            moto::moto().endpoint
        ),
    );
    let first = sb.expect(3, &["scan", "prod", "--format", "json"]);
    assert!(
        first.stderr.contains("users:service-credentials"),
        "{}",
        first.stderr
    );
    let open = find_key(&sb, "open", &key_id).expect("the key's finding is open");
    assert_eq!(open["unit"], "users:access-keys:dora");

    c.iam
        .update_access_key()
        .user_name("dora")
        .access_key_id(&key_id)
        .status(StatusType::Inactive)
        .send()
        .await
        .unwrap();
    sb.now = Some("2026-06-02T00:00:00Z".into());
    let second = sb.expect(3, &["scan", "prod", "--format", "json"]);
    assert!(second.stderr.contains("partial"), "{}", second.stderr);
    let resolved =
        find_key(&sb, "resolved", &key_id).expect("the deactivated key's finding resolved");

    let run = latest_run(&sb);
    assert_eq!(run["status"], "partial");
    assert_eq!(resolved["resolved_by_run"], run["id"]);
    assert!(covered(&run, "users:access-keys"), "{run:#}");
    let miss = missed(&run, "users:service-credentials").expect("the failed listing is missed");
    assert_eq!(miss["class"], "transient", "{miss:#}");
    assert!(
        miss["reason"]
            .as_str()
            .unwrap()
            .contains("ListServiceSpecificCredentials"),
        "{miss:#}"
    );
    let text = sb.ok(&["runs", "--format", "table"]).stdout;
    assert!(
        text.contains("missed users:service-credentials (transient)"),
        "{text}"
    );

    // The resolution names the run and the unit it covered.
    let log = sb
        .ok(&["audit", "log", "--format", "json"])
        .json()
        .as_array()
        .cloned()
        .unwrap();
    let event = log
        .iter()
        .find(|e| e["finding_id"] == resolved["id"] && e["event"] == "resolved")
        .expect("a resolved event");
    assert_eq!(event["detail"]["proof"]["scan_run"], run["id"]);
    assert_eq!(event["detail"]["proof"]["unit"], "users:access-keys:dora");
    assert_eq!(event["detail"]["proof"]["status"], "partial");

    c.iam
        .delete_access_key()
        .user_name("dora")
        .access_key_id(&key_id)
        .send()
        .await
        .unwrap();
    c.iam.delete_user().user_name("dora").send().await.unwrap();
}

#[test]
fn a_shallow_clone_covers_the_worktree_and_misses_history() {
    let sb = Sandbox::with_hr(
        "2026-06-01T00:00:00Z",
        "employee_id,email,status,termination_date,github_login\nE1,ann@example.com,terminated,2026-03-01,ann-gh\n",
        "2026-04-01",
    );
    let repo = build_repo(&sb);
    sb.ok(&["scan", "git", repo.to_str().unwrap()]);
    let open_before = sb.findings("open");
    let target = sb.path("ci").join("payments");
    std::fs::create_dir_all(sb.path("ci")).unwrap();
    let out = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "1"])
        .arg(format!("file://{}", repo.display()))
        .arg(&target)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    let r = sb.expect(3, &["scan", "git", target.to_str().unwrap(), "--full"]);
    assert!(r.stderr.contains("history"), "{}", r.stderr);
    assert!(sb.findings("resolved").is_empty());
    assert_eq!(sb.findings("open").len(), open_before.len());
    let run = latest_run(&sb);
    assert_eq!(run["status"], "partial");
    assert!(covered(&run, "worktree"), "{run:#}");
    assert!(missed(&run, "history").is_some(), "{run:#}");
}

#[test]
fn a_run_killed_mid_way_shows_as_interrupted_and_the_next_run_works() {
    // An IAM endpoint that accepts connections and never answers: the scan hangs in its first
    // call, after its run was recorded as started.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        let mut kept = Vec::new();
        for conn in listener.incoming().take(16) {
            kept.push(conn);
        }
    });
    let sb = Sandbox::with_hr(
        "2026-06-01T00:00:00Z",
        "employee_id,email,status,termination_date\nE1,ann@example.com,active,\n",
        "2026-04-01",
    );
    sb.write(
        "residual.toml",
        &format!(
            "[[scanner]]\nname = \"hung\"\nkind = \"aws-iam\"\nendpoint_url = \"{endpoint}\"\n"
        ),
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_residual"))
        .args(["scan", "hung"])
        .current_dir(sb.dir.path())
        .env("RESIDUAL_DB", sb.db())
        .env("RESIDUAL_NOW", "2026-06-01T00:00:00Z")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("RESIDUAL_CONFIG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the started row, then kill -9.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let runs = sb.ok(&["runs", "--format", "json"]).json();
        if runs.as_array().is_some_and(|r| !r.is_empty()) {
            assert_eq!(runs[0]["status"], "started", "{runs:#}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no started run");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let runs = sb.ok(&["runs", "--format", "json"]).json();
    assert_eq!(runs[0]["status"], "interrupted", "{runs:#}");
    drop(held);

    // The next run works and is recorded after it; the interrupted one stays as it was.
    let csv = sb.write(
        "crm.csv",
        "account,email,status\nann,ann@example.com,active\n",
    );
    sb.ok(&[
        "scan",
        "inventory",
        "--system",
        "crm",
        csv.to_str().unwrap(),
    ]);
    let runs = sb.ok(&["runs", "--format", "json"]).json();
    assert_eq!(runs[0]["status"], "complete", "{runs:#}");
    assert_eq!(runs[1]["status"], "interrupted", "{runs:#}");
}

/// Two repositories of a fake GitHub org, `api` and `web`; a leaver's deploy key on `web` opens a
/// finding, then is removed while `faulty` (a route of `api`) answers 500. Returns the run the
/// second scan (exit 3) recorded, after checking that web's finding resolved by that run and that
/// `missed_unit` is missed as transient.
async fn web_resolves_while_api_answers_500(faulty: &str, missed_unit: &str) -> serde_json::Value {
    let fake = Fake::start(Flavor::Github).await;
    crate::github::empty_org(&fake);
    fake.set_list(
        "/orgs/acme/repos?type=all",
        Shape::Array,
        vec![gh::repo("acme", "api", 10), gh::repo("acme", "web", 11)],
    );
    for name in ["api", "web"] {
        let base = format!("/repos/acme/{name}");
        fake.set_list(
            &format!("{base}/collaborators?affiliation=direct"),
            Shape::Array,
            vec![],
        );
        fake.set_list(&format!("{base}/keys"), Shape::Array, vec![]);
        fake.set_list(
            &format!("{base}/actions/secrets"),
            Shape::Wrapped("secrets"),
            vec![],
        );
        fake.set_list(
            &format!("{base}/actions/variables"),
            Shape::Wrapped("variables"),
            vec![],
        );
    }
    fake.set_list(
        "/repos/acme/web/keys",
        Shape::Array,
        vec![gh::deploy_key(9, Some("ann-gh"), None, true)],
    );
    let mut sb = Sandbox::with_hr(
        "2026-06-01T00:00:00Z",
        "employee_id,email,status,termination_date,github_login\nE1,ann@example.com,terminated,2026-03-01,ann-gh\n",
        "2026-04-01",
    );
    sb.env
        .push(("GITHUB_TOKEN".into(), "ghp-fake-token-for-tests".into()));
    sb.write(
        "residual.toml",
        &format!(
            "[[scanner]]\nname = \"gh\"\nkind = \"github\"\norg = \"acme\"\napi_url = \"{}\"\nmax_retries = 0\n",
            fake.url
        ),
    );
    let deploy_key = |sb: &Sandbox, state: &str| {
        sb.findings(state)
            .into_iter()
            .find(|f| f["rule"] == "leaver-deploy-key")
    };
    tokio::task::block_in_place(|| sb.ok(&["scan", "gh"]));
    let open = tokio::task::block_in_place(|| deploy_key(&sb, "open")).expect("open");
    assert_eq!(open["unit"], "repos:acme/web:deploy-keys");

    fake.set_list("/repos/acme/web/keys", Shape::Array, vec![]);
    fake.fault(faulty, Fault::Status(500), None);
    sb.now = Some("2026-06-02T00:00:00Z".into());
    let r = tokio::task::block_in_place(|| sb.expect(3, &["scan", "gh"]));
    assert!(r.stderr.contains(missed_unit), "{}", r.stderr);
    let resolved = tokio::task::block_in_place(|| deploy_key(&sb, "resolved"))
        .expect("web's deploy key finding resolved");
    let run = tokio::task::block_in_place(|| latest_run(&sb));
    assert_eq!(resolved["resolved_by_run"], run["id"]);
    assert_eq!(run["status"], "partial");
    assert!(covered(&run, "repos:acme/web:deploy-keys"), "{run:#}");
    let miss = missed(&run, missed_unit).unwrap_or_else(|| panic!("{missed_unit} missed"));
    assert_eq!(miss["class"], "transient", "{miss:#}");
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_repositorys_deploy_keys_answering_500_still_lets_another_repositorys_finding_resolve()
{
    web_resolves_while_api_answers_500("/repos/acme/api/keys", "repos:acme/api:deploy-keys").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_repositorys_ci_secrets_answering_500_miss_only_that_repositorys_ci_variables() {
    let run = web_resolves_while_api_answers_500(
        "/repos/acme/api/actions/secrets",
        "ci-variables:repo:acme/api",
    )
    .await;
    assert!(covered(&run, "repos:acme/api:deploy-keys"), "{run:#}");
    assert!(covered(&run, "ci-variables:repo:acme/web"), "{run:#}");
    assert!(missed(&run, "*").is_none(), "{run:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switching_a_kind_off_does_not_resolve_its_findings() {
    // IAM answered from AWS's recorded responses: dave holds a service-specific credential,
    // which moto cannot serve.
    let (endpoint, _) = residual_test_support::recorded_iam::recorded_server().await;
    let mut sb = Sandbox::with_hr(
        "2026-06-01T00:00:00Z",
        "employee_id,email,status,termination_date,aws_user\nE4,dave@example.com,terminated,2026-03-01,dave\n",
        "2026-04-01",
    );
    sb.env.push(("AWS_ACCESS_KEY_ID".into(), "testing".into()));
    sb.env
        .push(("AWS_SECRET_ACCESS_KEY".into(), "testing".into()));
    sb.env
        .push(("AWS_EC2_METADATA_DISABLED".into(), "true".into()));
    let config = |switch: &str| {
        format!("[[scanner]]\nname = \"rec\"\nkind = \"aws-iam\"\nendpoint_url = \"{endpoint}\"\n{switch}")
    };
    sb.write("residual.toml", &config(""));
    tokio::task::block_in_place(|| sb.ok(&["scan", "rec"]));
    let service = |sb: &Sandbox, state: &str| {
        sb.findings(state)
            .into_iter()
            .filter(|f| f["rule"] == "leaver-service-credential")
            .count()
    };
    let open = tokio::task::block_in_place(|| service(&sb, "open"));
    assert!(open >= 1, "dave's service-specific credential is a finding");

    // Switched off: the run is complete (exit 0) but vouches for no service-specific credential.
    sb.write(
        "residual.toml",
        &config("service_specific_credentials = false\n"),
    );
    sb.now = Some("2026-06-02T00:00:00Z".into());
    let r = tokio::task::block_in_place(|| sb.ok(&["scan", "rec"]));
    assert!(r.stderr.contains("switched off"), "{}", r.stderr);
    assert_eq!(tokio::task::block_in_place(|| service(&sb, "resolved")), 0);
    assert_eq!(tokio::task::block_in_place(|| service(&sb, "open")), open);
    let run = tokio::task::block_in_place(|| latest_run(&sb));
    assert_eq!(run["status"], "complete");
    let miss = missed(&run, "users:service-credentials").expect("not covered");
    assert_eq!(miss["class"], "disabled", "{miss:#}");
}
