//! Real git repositories for the tests, built with the `git` binary, with fake secrets assembled
//! at run time so that this repository holds none.

use super::Sandbox;
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

pub const ANN: (&str, &str) = ("Ann Leaver", "ann@example.com");
pub const BEN: (&str, &str) = ("Ben Stayer", "ben@example.com");
pub const ANN_NOREPLY: (&str, &str) = ("Ann Leaver", "1234567+ann-gh@users.noreply.github.com");

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
