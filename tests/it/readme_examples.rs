//! The README's CI examples, run as written: the GitHub Actions step (on a first push, where
//! `github.event.before` is the all-zero SHA; on `workflow_dispatch`/`schedule`, where it is
//! empty; on a pull request) and the pre-commit hook (no store at all, and none created in the
//! repository). The command lines are read from README.md, so the README is what is tested.

use crate::harness::repo::build_repo;
use crate::harness::Sandbox;
use std::path::Path;
use std::process::Command;

const HR: &str = "employee_id,email,status,termination_date,github_login\nE1,ann@example.com,terminated,2026-03-01,ann-gh\nE2,ben@example.com,active,,ben-gh\n";

/// The `residual gate` command of the README's YAML block that contains `marker`.
fn readme_command(marker: &str) -> String {
    let readme = include_str!("../../README.md");
    let line = readme
        .lines()
        .find(|l| l.contains("residual gate") && l.contains(marker))
        .unwrap_or_else(|| panic!("no `residual gate … {marker}` line in README.md"));
    let start = line.find("residual gate").unwrap();
    line[start..].trim().to_string()
}

/// Splits a command line the way the runner's shell would for these simple lines (double
/// quotes, no escapes).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            _ => word.push(c),
        }
    }
    if any || !word.is_empty() {
        out.push(word);
    }
    out
}

/// Runs `residual ARGS` in `dir` as CI would: no store configured, a fixed clock.
fn run_in(dir: &Path, args: &[String], env: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_residual"))
        .args(args)
        .current_dir(dir)
        .env_remove("RESIDUAL_DB")
        .env_remove("RESIDUAL_CONFIG")
        .env("RESIDUAL_NOW", "2026-06-01T00:00:00Z")
        .envs(env.iter().copied())
        .output()
        .expect("run residual");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn actions_step(before: &str) -> Vec<String> {
    let line = readme_command("--format sarif");
    let line = line.replace(
        "${{ github.event.pull_request.base.sha || github.event.before }}",
        before,
    );
    words(&line)[1..].to_vec()
}

#[test]
fn the_github_actions_step_works_on_a_first_push_a_dispatch_and_a_pull_request() {
    let sb = Sandbox::new();
    let repo = build_repo(&sb);
    std::fs::create_dir_all(repo.join("hr")).unwrap();
    std::fs::write(repo.join("hr/people.csv"), HR).unwrap();
    let key = (
        "RESIDUAL_FINGERPRINT_KEY",
        "00112233445566778899aabbccddeeff",
    );
    let head = String::from_utf8(
        Command::new("git")
            .args(["rev-parse", "HEAD~1"])
            .current_dir(&repo)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    for (event, before) in [
        ("first push", "0000000000000000000000000000000000000000"),
        ("workflow_dispatch / schedule", ""),
        ("pull request", head.trim()),
    ] {
        let _ = std::fs::remove_file(repo.join("residual.sarif"));
        let (code, stderr) = run_in(&repo, &actions_step(before), &[key]);
        assert!(
            code == 0 || code == 1,
            "{event}: exit {code} (the step must gate, not fail to run)\n{stderr}"
        );
        let sarif: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(repo.join("residual.sarif")).unwrap())
                .unwrap_or_else(|e| panic!("{event}: residual.sarif: {e}"));
        assert_eq!(sarif["version"], "2.1.0", "{event}");
        assert!(
            !repo.join("residual.db").exists(),
            "{event}: the gate created a store in the checkout"
        );
    }
}

#[test]
fn the_pre_commit_hook_works_with_no_store_and_creates_none_in_the_repository() {
    let sb = Sandbox::new();
    let repo = build_repo(&sb);
    std::fs::create_dir_all(repo.join("hr")).unwrap();
    std::fs::write(repo.join("hr/people.csv"), HR).unwrap();
    crate::harness::repo::git(
        &repo,
        &["add", "hr"],
        crate::harness::repo::BEN,
        "2025-05-01T10:00:00Z",
    );
    crate::harness::repo::git(
        &repo,
        &["commit", "-q", "-m", "hr extract"],
        crate::harness::repo::BEN,
        "2025-05-01T10:00:00Z",
    );
    let args = words(&readme_command("--since HEAD --fail-on high"))[1..].to_vec();
    let (code, stderr) = run_in(&repo, &args, &[]);
    assert!(code == 0 || code == 1, "exit {code}\n{stderr}");
    let untracked = String::from_utf8(
        Command::new("git")
            .args(["status", "--porcelain", "--ignored"])
            .current_dir(&repo)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        untracked.trim().is_empty(),
        "the hook left files in the repository: {untracked}"
    );
}
