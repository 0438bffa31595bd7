//! `residual scan git` on real repositories built with `git`: secrets in history tied to leavers
//! (by email and by GitHub noreply address), incremental runs that keep findings, and no secret
//! value anywhere in the output or the store.

mod harness;

use harness::Sandbox;
use std::path::Path;
use std::process::Command;

/// Fake credentials of the right shape, assembled at run time so this file holds none.
pub fn fake_aws_key() -> (String, String) {
    let id = ["AKIA", "RZ7VDQM3", "LPXK2NB6"].concat();
    let secret = ["wJalrXUtnFEMI", "K7MDENG", "bPxRfiCYzz9Qw3rTy", "U1o"].concat();
    assert_eq!((id.len(), secret.len()), (20, 37 + 3));
    (id, secret)
}

pub fn fake_github_token() -> String {
    ["ghp_", "R3s1dua1T0kenZq8Wm2Lp5", "Xv7Nc9Hb4Jd6Gf1Kt3Ry"].concat()[..40].to_string()
}

pub fn git(dir: &Path, args: &[&str], who: (&str, &str), date: &str) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", who.0)
        .env("GIT_AUTHOR_EMAIL", who.1)
        .env("GIT_COMMITTER_NAME", who.0)
        .env("GIT_COMMITTER_EMAIL", who.1)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const ANN: (&str, &str) = ("Ann Leaver", "ann@example.com");
const BEN: (&str, &str) = ("Ben Stayer", "ben@example.com");
const ANN_NOREPLY: (&str, &str) = ("Ann Leaver", "1234567+ann-gh@users.noreply.github.com");

/// A repository where Ann (who left) committed an AWS key (later deleted by Ben) and, from her
/// GitHub noreply address, a GitHub token.
pub fn build_repo(sb: &Sandbox) -> std::path::PathBuf {
    let repo = sb.path("payments");
    std::fs::create_dir_all(repo.join("config")).unwrap();
    git(
        &repo,
        &["init", "-q", "-b", "main"],
        BEN,
        "2025-01-01T10:00:00Z",
    );
    std::fs::write(repo.join("README.md"), "payments\n").unwrap();
    git(&repo, &["add", "."], BEN, "2025-01-01T10:00:00Z");
    git(
        &repo,
        &["commit", "-q", "-m", "init"],
        BEN,
        "2025-01-01T10:00:00Z",
    );
    let (id, secret) = fake_aws_key();
    std::fs::write(
        repo.join("config/deploy.env"),
        format!("AWS_ACCESS_KEY_ID={id}\nAWS_SECRET_ACCESS_KEY={secret}\n"),
    )
    .unwrap();
    git(&repo, &["add", "."], ANN, "2025-02-01T10:00:00Z");
    git(
        &repo,
        &["commit", "-q", "-m", "deploy config"],
        ANN,
        "2025-02-01T10:00:00Z",
    );
    std::fs::remove_file(repo.join("config/deploy.env")).unwrap();
    git(&repo, &["add", "-A"], BEN, "2025-03-01T10:00:00Z");
    git(
        &repo,
        &["commit", "-q", "-m", "remove secret"],
        BEN,
        "2025-03-01T10:00:00Z",
    );
    std::fs::write(
        repo.join("ci.sh"),
        format!("export GITHUB_TOKEN={}\n", fake_github_token()),
    )
    .unwrap();
    git(&repo, &["add", "."], ANN_NOREPLY, "2025-04-01T10:00:00Z");
    git(
        &repo,
        &["commit", "-q", "-m", "ci"],
        ANN_NOREPLY,
        "2025-04-01T10:00:00Z",
    );
    repo
}

fn setup() -> (Sandbox, std::path::PathBuf) {
    let mut sb = Sandbox::new();
    sb.now = Some("2026-06-01T00:00:00Z".into());
    let hr = sb.write(
        "hr.csv",
        "employee_id,email,status,termination_date,github_login\nE1,ann@example.com,terminated,2026-03-01,ann-gh\nE2,ben@example.com,active,,\n",
    );
    sb.ok(&[
        "hr",
        "import",
        hr.to_str().unwrap(),
        "--as-of",
        "2026-04-01",
    ]);
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
    for value in [&secret, &token] {
        assert!(
            !outputs.contains(value.as_str()),
            "a secret value leaked into output"
        );
        for file in ["residual.db", "residual.db-wal"] {
            let bytes = std::fs::read(sb.path(file)).unwrap_or_default();
            assert!(
                !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
                "a secret value is stored in {file}"
            );
        }
    }
}
