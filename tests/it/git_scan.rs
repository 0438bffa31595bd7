//! `residual scan git` on real repositories built with `git`: secrets in history tied to leavers
//! (by email and by GitHub noreply address), incremental runs that keep findings, and no secret
//! value anywhere in the output or the store.

use crate::harness::repo::{build_repo, fake_aws_key, fake_github_token};
use crate::harness::Sandbox;

fn setup() -> (Sandbox, std::path::PathBuf) {
    let sb = Sandbox::with_hr(
        "2026-06-01T00:00:00Z",
        "employee_id,email,status,termination_date,github_login\nE1,ann@example.com,terminated,2026-03-01,ann-gh\nE2,ben@example.com,active,,\n",
        "2026-04-01",
    );
    let repo = build_repo(&sb);
    (sb, repo)
}

#[test]
fn secrets_a_leaver_committed_are_findings_tied_to_the_introducing_commit() {
    let (sb, repo) = setup();
    let r = sb.ok(&["scan", "git", repo.to_str().unwrap(), "--format", "json"]);
    let open = r.json();
    let open = open.as_array().unwrap();
    let in_git: Vec<_> = open
        .iter()
        .filter(|f| f["rule"] == "leaver-secret-in-git")
        .collect();
    assert!(in_git.len() >= 2, "{open:#?}");
    assert!(in_git
        .iter()
        .all(|f| f["employee_id"] == "E1" && f["system"] == "git:payments"));
    let aws = in_git
        .iter()
        .find(|f| f["evidence"]["secret"]["attributes"]["key_id"] == fake_aws_key().0.as_str())
        .expect("the AWS secret key carries its key id");
    assert_eq!(
        aws["evidence"]["secret"]["attributes"]["path"],
        "config/deploy.env"
    );
    assert_eq!(
        aws["severity"], "medium",
        "no aws sweep has seen the key: liveness unknown"
    );
    assert_eq!(aws["live"], serde_json::Value::Null);
    let token = in_git
        .iter()
        .find(|f| f["evidence"]["secret"]["attributes"]["path"] == "ci.sh")
        .expect("the token committed from the noreply address");
    assert_eq!(
        token["evidence"]["person"]["link"]["method"],
        "noreply-login"
    );
    assert!(
        !open.iter().any(|f| f["account"] == "ben@example.com"),
        "ben is active: {open:#?}"
    );
}

#[test]
fn an_incremental_run_reads_nothing_new_and_keeps_every_finding() {
    let (sb, repo) = setup();
    sb.ok(&["scan", "git", repo.to_str().unwrap()]);
    let before: Vec<_> = sb
        .findings("open")
        .iter()
        .map(|f| f["id"].clone())
        .collect();
    let r = sb.ok(&["scan", "git", repo.to_str().unwrap()]);
    assert!(
        r.stderr.contains("new objects only") && r.stderr.contains("0 blobs scanned"),
        "{}",
        r.stderr
    );
    let after: Vec<_> = sb
        .findings("open")
        .iter()
        .map(|f| f["id"].clone())
        .collect();
    assert_eq!(before, after);
    assert!(sb.findings("resolved").is_empty());
}

#[test]
fn no_secret_value_reaches_any_output_or_the_store() {
    let (sb, repo) = setup();
    let (id, secret) = fake_aws_key();
    let token = fake_github_token();
    let mut outputs = String::new();
    for format in ["json", "jsonl", "csv", "table"] {
        let r = sb.ok(&["scan", "git", repo.to_str().unwrap(), "--format", format]);
        outputs.push_str(&r.stdout);
        outputs.push_str(&r.stderr);
        let r = sb.ok(&["findings", "--format", format]);
        outputs.push_str(&r.stdout);
    }
    outputs.push_str(&sb.ok(&["audit", "log", "--format", "json"]).stdout);
    outputs.push_str(&sb.ok(&["runs", "--format", "json"]).stdout);
    assert!(
        outputs.contains(&id),
        "the key id is not secret and should be shown"
    );
    sb.assert_not_leaked(&outputs, &[&secret, &token]);
}
