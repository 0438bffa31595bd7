//! `--verify` through the binary: secrets committed to real repositories, checked against moto's
//! STS (a key moto created names its IAM user) and fake GitHub and Slack APIs on loopback. Live
//! secrets are critical and linked to their owner, revoked ones are not findings, nothing is
//! called without `--verify`, and no value reaches any output or the store.

use crate::harness::repo::{git, ANN, BEN};
use crate::harness::Sandbox;
use residual_test_support::fake_providers::Providers;
use residual_test_support::moto;
use serde_json::Value;
use std::path::PathBuf;

/// Ann (E1), Dana (E4) and Erin (E5) left; Ben (E2) is still here. Dana's IAM user is `dana`,
/// Ann's GitHub login `ann-gh`; HR does not name Erin's IAM user.
const HR: &str = "employee_id,email,status,termination_date,aws_user,github_login\n\
E1,ann@example.com,terminated,2026-03-01,,ann-gh\n\
E2,ben@example.com,active,,,ben-gh\n\
E4,dana@example.com,terminated,2026-02-01,dana,\n\
E5,erin@example.com,terminated,2026-02-01,,\n";

fn sandbox() -> Sandbox {
    Sandbox::with_hr("2026-06-01T00:00:00Z", HR, "2026-04-01")
}

/// A repository with one commit per `(author, file, content)`.
fn repo(sb: &Sandbox, name: &str, commits: &[((&str, &str), &str, String)]) -> PathBuf {
    let dir = sb.path(name);
    std::fs::create_dir_all(&dir).unwrap();
    git(
        &dir,
        &["init", "-q", "-b", "main"],
        BEN,
        "2025-01-01T10:00:00Z",
    );
    for (i, (who, file, content)) in commits.iter().enumerate() {
        std::fs::write(dir.join(file), content).unwrap();
        let date = format!("2025-02-{:02}T10:00:00Z", i + 1);
        git(&dir, &["add", "."], *who, &date);
        git(&dir, &["commit", "-q", "-m", file], *who, &date);
    }
    dir
}

/// Fake tokens of the right shapes, assembled at run time so this file holds none.
fn github_token(n: char) -> String {
    let mut t = ["ghp_", "Hq3kW7mZ2xLp9Tn4Wb8Rc5Jd6Fs1Gy0B"].concat();
    t.push(n);
    t.push_str("uPe");
    t
}

fn slack_token() -> String {
    [
        "xox",
        "b-",
        "274665402681-",
        "1065522167163-",
        "Px5eFBBJ1gvcCLAR4SrzFVbq",
    ]
    .concat()
}

/// An access key of IAM user `user` in moto's default account whose id the secret patterns
/// accept (moto's ids may hold digits outside base32: create until one fits).
async fn moto_key(user: &str, email_tag: Option<&str>) -> (String, String) {
    let c = moto::seed_clients(moto::DEFAULT_ACCOUNT).await;
    let mut create = c.iam.create_user().user_name(user);
    if let Some(email) = email_tag {
        create = create.tags(
            aws_sdk_iam::types::Tag::builder()
                .key("email")
                .value(email)
                .build()
                .unwrap(),
        );
    }
    create.send().await.unwrap();
    for _ in 0..100 {
        let k = c
            .iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .unwrap();
        let key = k.access_key().unwrap();
        let id = key.access_key_id().to_string();
        let base32 = id[4..]
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
        if base32 {
            return (id, key.secret_access_key().to_string());
        }
        c.iam
            .delete_access_key()
            .user_name(user)
            .access_key_id(&id)
            .send()
            .await
            .unwrap();
    }
    panic!("moto gave no base32 access key id in 100 tries");
}

fn in_git(findings: &Value) -> Vec<Value> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "leaver-secret-in-git")
        .cloned()
        .collect()
}

#[test]
fn a_key_committed_by_an_employee_that_sts_says_belongs_to_a_leaver_is_critical() {
    let _account = moto::default_account();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let moto = moto::moto();
    let (id, secret) = runtime.block_on(moto_key("dana", None));
    let sb = sandbox();
    let repo = repo(
        &sb,
        "infra",
        &[(
            BEN,
            "deploy.env",
            format!("aws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
        )],
    );
    let plain = sb.ok(&["scan", "git", repo.to_str().unwrap(), "--format", "json"]);
    assert!(
        in_git(&plain.json()).is_empty(),
        "Ben committed it and nobody knows whose it is yet"
    );
    let r = sb.ok(&[
        "scan",
        "git",
        repo.to_str().unwrap(),
        "--verify",
        "--verify-aws-endpoint",
        &moto.endpoint,
        "--format",
        "json",
    ]);
    assert!(
        r.stderr
            .contains("1 live, 0 revoked, 0 could not be checked")
            && r.stderr.contains("request(s)/s per provider"),
        "{}",
        r.stderr
    );
    let found = in_git(&r.json());
    // The key id on its own is a match too, and carries its pair's verdict.
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found
        .iter()
        .all(|f| f["employee_id"] == "E4" && f["severity"] == "critical"));
    let f = found
        .iter()
        .find(|f| f["evidence"]["secret"]["attributes"]["pattern_id"] == "aws-secret-access-key")
        .expect("the secret key's finding");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["employee_id"], "E4");
    assert_eq!(f["live"], true);
    assert_eq!(f["evidence"]["attributed_by"], "verification");
    assert_eq!(f["evidence"]["person"]["link"]["method"], "verification");
    assert_eq!(f["evidence"]["owner"]["linked_by"], "hr-column");
    let attributes = &f["evidence"]["secret"]["attributes"];
    assert_eq!(attributes["verified"], "live");
    assert_eq!(attributes["verified_provider"], "aws");
    assert_eq!(
        attributes["verified_owner"],
        "arn:aws:iam::123456789012:user/dana"
    );
    assert!(attributes["verified_at"].is_string());
    let mut outputs = plain.stdout + &plain.stderr + &r.stdout + &r.stderr;
    outputs.push_str(&sb.ok(&["findings", "--format", "csv"]).stdout);
    sb.assert_not_leaked(&outputs, &[&secret]);
}

#[test]
fn the_iam_user_a_verification_names_is_linked_the_way_the_aws_sweep_linked_it() {
    let _account = moto::default_account();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let moto = moto::moto();
    let (id, secret) = runtime.block_on(moto_key("svc-erin", Some("erin@example.com")));
    let sb = sandbox();
    sb.write(
        "residual.toml",
        &format!(
            "[[scanner]]\nname = \"prod\"\nkind = \"aws-iam\"\nendpoint_url = \"{}\"\nservice_specific_credentials = false\n",
            moto.endpoint
        ),
    );
    sb.ok(&["scan", "prod"]);
    let repo = repo(
        &sb,
        "tools",
        &[(
            BEN,
            "creds.ini",
            format!("[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"),
        )],
    );
    let r = sb.ok(&[
        "scan",
        "git",
        repo.to_str().unwrap(),
        "--verify",
        "--verify-aws-endpoint",
        &moto.endpoint,
        "--format",
        "json",
    ]);
    let found = in_git(&r.json());
    assert_eq!(found.len(), 2, "the key id and the secret key: {found:#?}");
    let f = &found[0];
    assert_eq!(found[1]["employee_id"], "E5");
    assert_eq!(f["employee_id"], "E5");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["evidence"]["owner"]["linked_by"], "aws-iam-link");
    assert_eq!(f["evidence"]["liveness"]["verified"]["result"], "live");
    assert_eq!(f["evidence"]["liveness"]["held_by"], "svc-erin");
    sb.assert_not_leaked(&(r.stdout + &r.stderr), &[&secret]);
}

#[test]
fn verified_tokens_raise_live_ones_as_critical_and_drop_revoked_ones() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let p = runtime.block_on(Providers::start());
    let (bens_copy_of_anns, anns_revoked) = (github_token('a'), github_token('b'));
    let slack = slack_token();
    p.github_live(&bens_copy_of_anns, "ann-gh");
    p.github_revoked(&anns_revoked);
    p.slack_live(&slack, "ann", "Acme");
    // A deleted AWS key: the fake STS answers InvalidClientTokenId in AWS's XML error shape.
    let (aws_id, aws_secret) = crate::harness::repo::fake_aws_key();
    let sb = sandbox();
    let config = sb.write(
        "residual.toml",
        &format!(
            "[verify]\nslack_api = \"{}\"\nrequests_per_second = 20\n",
            p.slack_api()
        ),
    );
    let repo = repo(
        &sb,
        "app",
        &[
            (
                BEN,
                "ci.sh",
                format!("export GITHUB_TOKEN={bens_copy_of_anns}\n"),
            ),
            (ANN, "old.sh", format!("export GH_TOKEN={anns_revoked}\n")),
            (ANN, "notify.sh", format!("SLACK_BOT_TOKEN={slack}\n")),
            (
                ANN,
                "aws.env",
                format!("AWS_ACCESS_KEY_ID={aws_id}\nAWS_SECRET_ACCESS_KEY={aws_secret}\n"),
            ),
        ],
    );
    let path = repo.to_str().unwrap();
    let config = config.to_str().unwrap();

    // Without --verify nothing is called: the revoked token is a medium (unknown) finding.
    let plain = sb.ok(&["--config", config, "scan", "git", path, "--format", "json"]);
    assert_eq!(p.requests(), 0, "no request without --verify");
    let before = in_git(&plain.json());
    assert_eq!(
        before.len(),
        4,
        "token, Slack token, key id, secret key: {before:#?}"
    );
    assert!(before.iter().all(|f| f["severity"] == "medium"));

    let (github_api, sts) = (p.github_api(), p.sts_endpoint());
    let verify = [
        "--verify",
        "--verify-github-api",
        &github_api,
        "--verify-aws-endpoint",
        &sts,
    ];
    let mut args = vec!["--config", config, "scan", "git", path, "--format", "json"];
    args.extend(verify);
    let r = sb.ok(&args);
    assert_eq!(p.requests(), 4, "one call per distinct verifiable secret");
    assert!(r.stderr.contains("2 live, 2 revoked"), "{}", r.stderr);
    let found = in_git(&r.json());
    let by_path = |file: &str| {
        found
            .iter()
            .find(|f| f["evidence"]["secret"]["attributes"]["path"] == file)
            .cloned()
    };
    assert!(
        by_path("old.sh").is_none(),
        "revoked: not a finding {found:#?}"
    );
    assert!(
        by_path("aws.env").is_none(),
        "STS says the key is invalid: neither its id nor its secret is a finding {found:#?}"
    );
    let github = by_path("ci.sh").expect("Ben's copy of Ann's live token");
    assert_eq!(github["severity"], "critical");
    assert_eq!(github["employee_id"], "E1");
    assert_eq!(github["account"], "ben@example.com");
    assert_eq!(github["evidence"]["owner"]["verified_owner"], "ann-gh");
    let slack_finding = by_path("notify.sh").expect("Ann's live Slack token");
    assert_eq!(slack_finding["severity"], "critical");
    assert_eq!(
        slack_finding["evidence"]["liveness"]["verified"]["result"],
        "live"
    );
    // The revoked secrets' findings from the first run are resolved by this complete run.
    let resolved = sb.findings("resolved");
    assert_eq!(resolved.len(), 3, "{resolved:#?}");

    // The gate shows the verification in every format.
    let mut outputs = plain.stdout + &plain.stderr + &r.stdout + &r.stderr;
    for format in ["text", "json", "sarif"] {
        let mut args = vec!["--config", config, "gate", path, "--format", format];
        args.extend(verify);
        let g = sb.expect(1, &args);
        match format {
            "text" => assert!(g.stdout.contains("[verified live: ann-gh]"), "{}", g.stdout),
            "json" => {
                let doc = g.json();
                let f = doc["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|f| f["path"] == "ci.sh")
                    .cloned()
                    .expect("gate finding");
                assert_eq!(f["verified"], "live");
                assert_eq!(f["verified_owner"], "ann-gh");
                assert_eq!(f["severity"], "critical");
            }
            _ => {
                assert!(g.stdout.contains("verified live"), "{}", g.stdout);
                let doc = g.json();
                let result = doc["runs"][0]["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| {
                        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "ci.sh"
                    })
                    .cloned()
                    .expect("sarif result");
                assert_eq!(result["properties"]["residual/verified"], "live");
                assert_eq!(result["properties"]["residual/verifiedOwner"], "ann-gh");
            }
        }
        outputs.push_str(&g.stdout);
        outputs.push_str(&g.stderr);
    }
    for format in ["json", "jsonl", "csv", "table"] {
        outputs.push_str(
            &sb.ok(&["findings", "--state", "all", "--format", format])
                .stdout,
        );
    }
    outputs.push_str(&sb.ok(&["audit", "log", "--format", "json"]).stdout);
    outputs.push_str(&sb.ok(&["runs", "--format", "json"]).stdout);
    sb.assert_not_leaked(
        &outputs,
        &[&bens_copy_of_anns, &anns_revoked, &slack, &aws_secret],
    );
    drop(runtime);
}
