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

/// A depth-1 clone of `repo` under `dir/payments`, so its system is the same `git:payments`.
fn shallow_clone(sb: &Sandbox, repo: &std::path::Path, dir: &str) -> std::path::PathBuf {
    let target = sb.path(dir).join("payments");
    std::fs::create_dir_all(sb.path(dir)).expect("dir");
    let out = std::process::Command::new("git")
        .args(["clone", "-q", "--depth", "1"])
        .arg(format!("file://{}", repo.display()))
        .arg(&target)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git clone");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target
}

#[test]
fn a_shallow_clone_is_a_partial_run_that_resolves_nothing() {
    let (sb, repo) = setup();
    sb.ok(&["scan", "git", repo.to_str().unwrap()]);
    let before = sb.findings("open").len();
    assert!(before >= 2);
    // The AWS key was committed and deleted before the tip: a depth-1 clone cannot see it.
    let shallow = shallow_clone(&sb, &repo, "ci");
    let run = sb.expect(3, &["scan", "git", shallow.to_str().unwrap(), "--full"]);
    assert!(run.stderr.contains("shallow clone"), "{}", run.stderr);
    assert_eq!(sb.findings("open").len(), before, "nothing was resolved");
    assert!(sb.findings("resolved").is_empty());
}

#[test]
fn the_gate_on_a_shallow_clone_warns_in_stderr_json_and_sarif_without_failing_for_it() {
    let (sb, repo) = setup();
    let shallow = shallow_clone(&sb, &repo, "ci");
    let run = sb.run(&["gate", shallow.to_str().unwrap(), "--format", "json"]);
    assert!(
        run.code == 0 || run.code == 1,
        "exit {}: {}",
        run.code,
        run.stderr
    );
    assert!(
        run.stderr.contains("warning: shallow clone"),
        "{}",
        run.stderr
    );
    let doc = run.json();
    assert!(
        doc["notes"][0]
            .as_str()
            .unwrap_or("")
            .contains("shallow clone"),
        "{doc:#}"
    );
    let run = sb.run(&["gate", shallow.to_str().unwrap(), "--format", "sarif"]);
    let sarif = run.json();
    assert_eq!(crate::gate::sarif_schema_errors(&sarif), None);
    let note = &sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "warning");
    assert!(note["message"]["text"]
        .as_str()
        .unwrap_or("")
        .contains("shallow clone"));
}

#[test]
fn the_gate_falls_back_to_the_whole_history_when_since_cannot_be_used() {
    let (sb, repo) = setup();
    let full = sb.run(&["gate", repo.to_str().unwrap(), "--format", "json"]);
    let whole = full.json()["findings"].as_array().map(Vec::len);
    for (since, why) in [
        ("0000000000000000000000000000000000000000", "all-zero"),
        ("", "is empty"),
        ("1234567890abcdef1234567890abcdef12345678", "not a commit"),
    ] {
        let run = sb.run(&[
            "gate",
            repo.to_str().unwrap(),
            "--since",
            since,
            "--format",
            "json",
        ]);
        assert_eq!(run.code, full.code, "--since {since:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(why),
            "--since {since:?}: {}",
            run.stderr
        );
        let doc = run.json();
        assert_eq!(doc["findings"].as_array().map(Vec::len), whole);
        assert!(
            doc["notes"][0].as_str().unwrap_or("").contains(why),
            "{doc:#}"
        );
    }
}

/// An encrypted private key is useless without its passphrase: a leaver's one is reported as an
/// encrypted key at the pattern's ceiling (low), not dropped and not raised like a plain key.
#[test]
fn an_encrypted_private_key_is_a_finding_capped_at_low_severity() {
    use crate::harness::repo::{git, ANN};
    let (sb, repo) = setup();
    // Built here, split, so that the repository itself holds no key-shaped block.
    let body = "MII2d8gVnIwkFeyTujOQw5H+qkG6rDzN2Zpic4YqwG01m53nmE4y26G1ncvBC7qt\n\
                /GvVJE9JGBeMWY2m1dudZJT4DY8cZ4mvvbI0HtszZs8P8Wqb3FWqnWMx/nTq6epS\n";
    let key = format!(
        "-----BEGIN RSA {p}-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,9F3A1C2B4D5E6F708192A3B4C5D6E7F8\n\n{body}-----END RSA {p}-----\n",
        p = ["PRIVATE", "KEY"].join(" ")
    );
    std::fs::write(repo.join("deploy.key"), key).unwrap();
    git(&repo, &["add", "."], ANN, "2025-02-02T10:00:00Z");
    git(
        &repo,
        &["commit", "-q", "-m", "deploy key"],
        ANN,
        "2025-02-02T10:00:00Z",
    );
    let open = sb
        .ok(&["scan", "git", repo.to_str().unwrap(), "--format", "json"])
        .json();
    let encrypted = open
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["evidence"]["secret"]["attributes"]["path"] == "deploy.key")
        .unwrap_or_else(|| panic!("the encrypted key is a finding: {open:#}"));
    assert_eq!(
        encrypted["evidence"]["secret"]["attributes"]["pattern_id"],
        "private-key-pem-encrypted"
    );
    assert_eq!(encrypted["severity"], "low", "{encrypted:#}");
}
