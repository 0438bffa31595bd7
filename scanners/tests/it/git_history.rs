//! The git scanner on real repositories built by the `git` binary at test time.
//!
//! Secrets here are fake and built at runtime from split strings (so this file trips no secret
//! scanner); the test matcher recognises only their shape. No test prints a secret value.

use regex::bytes::Regex;
use residual_scanners::git::{
    scan_repository, BlobMatcher, GitError, GitProgress, GitScan, GitScanOptions, KnownObjects,
    Origin, Progress, SecretHit,
};
use residual_scanners::{AccountKind, CredentialKind, RunStatus};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::process::Command;

/// A fake token: `rsdl` + `_test_` + 20 digits, optionally preceded by `FAKEID` + 6 chars + `:`.
fn secret(n: u64) -> String {
    format!("{}{}{:020}", "rsd", "l_test_", n)
}

fn key_id(n: u64) -> String {
    format!("{}{}{:06}", "FAKE", "ID", n)
}

/// Recognises the fake tokens, with an optional key id capture.
struct FakeTokens {
    re: Regex,
}

impl FakeTokens {
    fn new() -> FakeTokens {
        let pattern = format!(
            r"(?:(FAKEID[0-9]{{6}}):)?({}{}[0-9]{{20}})",
            "rsd", "l_test_"
        );
        FakeTokens {
            re: Regex::new(&pattern).expect("test pattern compiles"),
        }
    }
}

impl BlobMatcher for FakeTokens {
    fn scan(&self, path: Option<&str>, bytes: &[u8]) -> Vec<SecretHit> {
        self.re
            .captures_iter(bytes)
            .filter_map(|c| {
                let m = c.get(2)?;
                let before = &bytes[..m.start()];
                let line = before.iter().filter(|b| **b == b'\n').count() + 1;
                let column = m.start()
                    - before
                        .iter()
                        .rposition(|b| *b == b'\n')
                        .map_or(0, |p| p + 1)
                    + 1;
                let mut hasher = DefaultHasher::new();
                m.as_bytes().hash(&mut hasher);
                let suppressed = path
                    .is_some_and(|p| p.ends_with(".allowed"))
                    .then(|| "residualignore".to_string());
                Some(SecretHit {
                    pattern_id: "fake-token".to_string(),
                    line,
                    column,
                    identifier: c
                        .get(1)
                        .map(|i| String::from_utf8_lossy(i.as_bytes()).into_owned()),
                    fingerprint: format!("{:016x}", hasher.finish()),
                    preview: "rsdl…".to_string(),
                    suppressed,
                })
            })
            .collect()
    }
}

/// A repository in a temporary directory, driven by the `git` binary with a clean configuration.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.args(args)
            .current_dir(self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", self.path())
            .env("GIT_COMMITTER_NAME", "Committer")
            .env("GIT_COMMITTER_EMAIL", "committer@example.com");
        cmd
    }

    fn git(&self, args: &[&str]) -> String {
        let out = self.command(args).output().expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    fn write(&self, path: &str, bytes: &[u8]) {
        let file = self.path().join(path);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).expect("mkdir");
        }
        std::fs::write(file, bytes).expect("write file");
    }

    /// Commits everything in the working tree as `who <email>` at `date`; returns the commit id.
    fn commit(&self, who: &str, email: &str, date: &str, message: &str) -> String {
        self.git(&["add", "-A"]);
        let out = self
            .command(&["commit", "-q", "--allow-empty", "-m", message])
            .env("GIT_AUTHOR_NAME", who)
            .env("GIT_AUTHOR_EMAIL", email)
            .env("GIT_AUTHOR_DATE", date)
            .env("GIT_COMMITTER_DATE", date)
            .output()
            .expect("git commit runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.git(&["rev-parse", "HEAD"])
    }
}

fn scan(repo: &Repo, options: &GitScanOptions) -> GitScan {
    scan_repository(repo.path(), options, &FakeTokens::new()).expect("scan succeeds")
}

fn known(scan: &GitScan, before: KnownObjects) -> KnownObjects {
    let mut known = before;
    known.blobs.extend(scan.new_blobs.iter().copied());
    known.commits.extend(scan.new_commits.iter().copied());
    known
}

fn assert_no_secret_value(scan: &GitScan, secrets: &[String]) {
    let text = format!(
        "{}{}",
        serde_json::to_string(&scan.report).expect("report serialises"),
        serde_json::to_string(&scan.hits).expect("hits serialise")
    );
    for s in secrets {
        assert!(
            !text.contains(s.as_str()),
            "a secret value leaked into the output"
        );
    }
}

const ALICE: (&str, &str) = ("Alice Example", "alice@example.com");
const BOB: (&str, &str) = ("Bob Example", "bob@example.com");

#[test]
fn a_secret_added_then_deleted_is_found_and_attributed_to_the_adding_commit() {
    let repo = Repo::new();
    repo.write("README.md", b"hello\n");
    repo.commit(BOB.0, BOB.1, "2024-01-01T10:00:00Z", "start");
    repo.write(
        "config/app.env",
        format!("A=1\nTOKEN={}\n", secret(1)).as_bytes(),
    );
    let adding = repo.commit(ALICE.0, ALICE.1, "2024-02-01T10:00:00Z", "add config");
    std::fs::remove_file(repo.path().join("config/app.env")).expect("rm");
    repo.commit(BOB.0, BOB.1, "2024-03-01T10:00:00Z", "remove config");

    let result = scan(&repo, &GitScanOptions::default());
    assert_eq!(result.report.status, RunStatus::Complete);
    assert!(result.report.system.starts_with("git:"));
    assert_eq!(result.hits.len(), 1);
    let hit = &result.hits[0];
    assert_eq!(hit.secret.line, 2);
    assert_eq!(hit.provenance.len(), 1);
    let commit = hit.provenance[0].commit().expect("from history");
    assert_eq!(commit.id.to_hex(), adding);
    assert_eq!(commit.author_email, ALICE.1);
    assert_eq!(commit.author_name, ALICE.0);
    assert_eq!(hit.provenance[0].path.as_deref(), Some("config/app.env"));

    let creds = &result.report.observations.credentials;
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0].kind, CredentialKind::SecretInCode);
    assert_eq!(creds[0].account, ALICE.1);
    assert!(creds[0].active);
    assert_eq!(creds[0].id, hit.secret.fingerprint);
    assert_eq!(creds[0].attributes["commit"], adding);
    assert_eq!(creds[0].attributes["path"], "config/app.env");
    assert_eq!(creds[0].attributes["line"], "2");
    assert_eq!(
        creds[0].created_at.map(|t| t.to_rfc3339()),
        Some("2024-02-01T10:00:00+00:00".to_string())
    );
    assert_no_secret_value(&result, &[secret(1)]);
}

#[test]
fn every_author_is_one_account_with_a_commit_count() {
    let repo = Repo::new();
    repo.write("a.txt", b"a\n");
    repo.commit(ALICE.0, ALICE.1, "2024-01-01T10:00:00Z", "a");
    repo.write("b.txt", b"b\n");
    repo.commit(BOB.0, BOB.1, "2024-01-02T10:00:00Z", "b");
    repo.write("c.txt", b"c\n");
    repo.commit("Alice E.", "Alice@Example.com", "2024-01-03T10:00:00Z", "c");

    let result = scan(&repo, &GitScanOptions::default());
    let accounts = &result.report.observations.accounts;
    assert_eq!(accounts.len(), 2, "emails compare case-insensitively");
    let alice = accounts.iter().find(|a| a.name == ALICE.1).expect("alice");
    assert_eq!(alice.kind, AccountKind::User);
    assert_eq!(alice.hints.emails[0], ALICE.1);
    assert_eq!(alice.attributes["commits"], "2");
    assert!(alice.attributes["author_names"].contains("Alice E."));
    assert_eq!(result.stats.commits, 3);
}

#[test]
fn the_same_blob_at_two_paths_is_scanned_once_with_both_introductions() {
    let repo = Repo::new();
    let content = format!("key: {}\n", secret(2));
    repo.write("one/settings.yml", content.as_bytes());
    repo.commit(ALICE.0, ALICE.1, "2024-01-01T10:00:00Z", "one");
    repo.write("two/settings.yml", content.as_bytes());
    repo.commit(BOB.0, BOB.1, "2024-01-05T10:00:00Z", "two");

    let result = scan(&repo, &GitScanOptions::default());
    assert_eq!(result.stats.blobs_scanned, 1);
    assert_eq!(result.hits.len(), 1);
    let paths: Vec<_> = result.hits[0]
        .provenance
        .iter()
        .map(|p| p.path.clone().unwrap_or_default())
        .collect();
    assert_eq!(paths, ["one/settings.yml", "two/settings.yml"]);
    let creds = &result.report.observations.credentials;
    assert_eq!(creds.len(), 1);
    assert_eq!(
        creds[0].account, ALICE.1,
        "the earliest introduction owns it"
    );
    assert_eq!(creds[0].attributes["occurrences"], "2");
}

#[test]
fn binary_blobs_are_skipped_and_counted() {
    let repo = Repo::new();
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0".to_vec();
    bytes.extend_from_slice(secret(3).as_bytes());
    repo.write("logo.png", &bytes);
    repo.write("notes.txt", b"nothing here\n");
    repo.commit(ALICE.0, ALICE.1, "2024-01-01T10:00:00Z", "binary");

    let result = scan(&repo, &GitScanOptions::default());
    assert!(result.hits.is_empty());
    assert_eq!(result.stats.skipped_binary, 1);
    assert_eq!(result.stats.blobs_scanned, 1);
}

#[test]
fn blobs_over_the_size_limit_are_skipped_and_counted() {
    let repo = Repo::new();
    let mut big = "x".repeat(4096);
    big.push_str(&secret(4));
    repo.write("big.txt", big.as_bytes());
    repo.write("small.txt", b"small\n");
    repo.commit(ALICE.0, ALICE.1, "2024-01-01T10:00:00Z", "big");

    let options = GitScanOptions {
        max_blob_bytes: 1024,
        ..GitScanOptions::default()
    };
    let result = scan(&repo, &options);
    assert!(result.hits.is_empty());
    assert_eq!(result.stats.skipped_large, 1);
    assert_eq!(result.stats.blobs_scanned, 1);
    assert_eq!(
        result.new_blobs.len(),
        2,
        "skipped blobs are remembered too"
    );

    let result = scan(&repo, &GitScanOptions::default());
    assert_eq!(
        result.hits.len(),
        1,
        "within the default limit it is scanned"
    );
}

#[test]
fn unmerged_branches_and_tags_are_scanned() {
    let repo = Repo::new();
    repo.write("README.md", b"hello\n");
    repo.commit(BOB.0, BOB.1, "2024-01-01T10:00:00Z", "start");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write("feature.env", format!("T={}\n", secret(5)).as_bytes());
    let on_branch = repo.commit(ALICE.0, ALICE.1, "2024-01-02T10:00:00Z", "feature");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["checkout", "-q", "--orphan", "release"]);
    repo.git(&["rm", "-rq", "--cached", "."]);
    std::fs::remove_file(repo.path().join("README.md")).expect("rm");
    repo.write("release.env", format!("T={}\n", secret(6)).as_bytes());
    let tagged = repo.commit(BOB.0, BOB.1, "2024-01-03T10:00:00Z", "release");
    repo.git(&["tag", "-a", "-m", "v1", "v1.0"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-D", "release"]);

    let result = scan(&repo, &GitScanOptions::default());
    let mut commits: Vec<String> = result
        .hits
        .iter()
        .map(|h| h.provenance[0].commit().expect("commit").id.to_hex())
        .collect();
    commits.sort();
    let mut expected = vec![on_branch, tagged];
    expected.sort();
    assert_eq!(commits, expected);
}

#[test]
fn a_rewritten_history_keeps_a_secret_reachable_from_a_tag() {
    let repo = Repo::new();
    repo.write("README.md", b"hello\n");
    repo.commit(BOB.0, BOB.1, "2024-01-01T10:00:00Z", "start");
    repo.write("deploy.sh", format!("export T={}\n", secret(7)).as_bytes());
    let leaked = repo.commit(ALICE.0, ALICE.1, "2024-01-02T10:00:00Z", "deploy");
    repo.git(&["tag", "before-cleanup"]);
    // Rewrite: drop the secret from the commit as if it had never been there.
    repo.write("deploy.sh", b"export T=$TOKEN\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "--amend", "--no-edit"]);

    let result = scan(&repo, &GitScanOptions::default());
    assert_eq!(result.hits.len(), 1);
    let commit = result.hits[0].provenance[0].commit().expect("commit");
    assert_eq!(commit.id.to_hex(), leaked);
    assert_eq!(commit.author_email, ALICE.1);

    // Without the tag, the secret is unreachable and not reported.
    repo.git(&["tag", "-d", "before-cleanup"]);
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);
    let result = scan(&repo, &GitScanOptions::default());
    assert!(result.hits.is_empty());
}

#[test]
fn mailmap_maps_an_old_email_to_the_canonical_one() {
    let repo = Repo::new();
    repo.write("a.env", format!("T={}\n", secret(8)).as_bytes());
    repo.commit(
        "Alice Old",
        "alice@old-company.example",
        "2023-01-01T10:00:00Z",
        "old",
    );
    repo.write("b.txt", b"b\n");
    repo.commit(ALICE.0, ALICE.1, "2024-01-01T10:00:00Z", "new");
    repo.write(
        ".mailmap",
        b"Alice Example <alice@example.com> <alice@old-company.example>\n",
    );
    repo.commit(ALICE.0, ALICE.1, "2024-01-02T10:00:00Z", "mailmap");

    let result = scan(&repo, &GitScanOptions::default());
    let accounts = &result.report.observations.accounts;
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].name, ALICE.1);
    assert_eq!(accounts[0].attributes["commits"], "3");
    assert!(accounts[0]
        .hints
        .emails
        .contains(&"alice@old-company.example".to_string()));
    let creds = &result.report.observations.credentials;
    assert_eq!(creds[0].account, ALICE.1);
    let commit = result.hits[0].provenance[0].commit().expect("commit");
    assert_eq!(commit.author_name, ALICE.0);
    assert_eq!(
        commit.original_email.as_deref(),
        Some("alice@old-company.example")
    );
}

#[test]
fn a_second_run_with_no_new_commits_scans_nothing() {
    let repo = Repo::new();
    repo.write("a.env", format!("T={}\n", secret(9)).as_bytes());
    repo.commit(ALICE.0, ALICE.1, "2024-01-01T10:00:00Z", "a");
    repo.write("b.txt", b"b\n");
    repo.commit(BOB.0, BOB.1, "2024-01-02T10:00:00Z", "b");

    let first = scan(&repo, &GitScanOptions::default());
    assert!(!first.incremental);
    assert_eq!(first.stats.blobs_scanned, 2);
    assert_eq!(first.reachable_blobs.as_ref().map(Vec::len), Some(2));
    let options = GitScanOptions {
        known: known(&first, KnownObjects::default()),
        ..GitScanOptions::default()
    };
    let second = scan(&repo, &options);
    assert!(second.incremental);
    assert_eq!(second.stats.commits, 0);
    assert_eq!(second.stats.blobs_scanned, 0);
    assert!(second.new_blobs.is_empty());
    assert!(second.hits.is_empty());
    assert!(second.reachable_blobs.is_none());
}

#[test]
fn a_new_commit_scans_only_its_new_blobs() {
    let repo = Repo::new();
    repo.write("a.env", format!("T={}\n", secret(10)).as_bytes());
    repo.write("b.txt", b"b\n");
    repo.commit(ALICE.0, ALICE.1, "2024-01-01T10:00:00Z", "a");
    let first = scan(&repo, &GitScanOptions::default());
    let known = known(&first, KnownObjects::default());

    repo.write("c.env", format!("T={}\n", secret(11)).as_bytes());
    let new = repo.commit(BOB.0, BOB.1, "2024-01-02T10:00:00Z", "c");
    let options = GitScanOptions {
        known,
        ..GitScanOptions::default()
    };
    let second = scan(&repo, &options);
    assert_eq!(second.stats.commits, 1);
    assert_eq!(second.stats.blobs_scanned, 1);
    assert_eq!(second.new_blobs.len(), 1);
    assert_eq!(second.hits.len(), 1);
    assert_eq!(
        second.hits[0].provenance[0]
            .commit()
            .expect("commit")
            .id
            .to_hex(),
        new
    );
    assert_eq!(second.report.observations.credentials[0].account, BOB.1);
}

#[test]
fn a_merge_does_not_take_credit_for_its_branch() {
    let repo = Repo::new();
    repo.write("README.md", b"hello\n");
    repo.commit(BOB.0, BOB.1, "2024-01-01T10:00:00Z", "start");
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.write("topic.env", format!("T={}\n", secret(12)).as_bytes());
    let topic = repo.commit(ALICE.0, ALICE.1, "2024-01-02T10:00:00Z", "topic");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("main.txt", b"main\n");
    repo.commit(BOB.0, BOB.1, "2024-01-03T10:00:00Z", "main");
    let out = repo
        .command(&["merge", "-q", "--no-ff", "-m", "merge", "topic"])
        .env("GIT_AUTHOR_NAME", BOB.0)
        .env("GIT_AUTHOR_EMAIL", BOB.1)
        .output()
        .expect("merge");
    assert!(out.status.success());

    let result = scan(&repo, &GitScanOptions::default());
    assert_eq!(result.hits.len(), 1);
    let provenance = &result.hits[0].provenance;
    assert_eq!(provenance.len(), 1, "only the topic commit introduced it");
    assert_eq!(provenance[0].commit().expect("commit").id.to_hex(), topic);
}

#[test]
fn the_index_and_working_tree_are_scanned_when_asked() {
    let repo = Repo::new();
    repo.write("README.md", b"hello\n");
    repo.commit(BOB.0, BOB.1, "2024-01-01T10:00:00Z", "start");
    repo.write("staged.env", format!("T={}\n", secret(13)).as_bytes());
    repo.git(&["add", "staged.env"]);
    repo.write("README.md", format!("hello {}\n", secret(14)).as_bytes());

    let result = scan(&repo, &GitScanOptions::default());
    assert!(result.hits.is_empty(), "history alone holds no secret");

    let options = GitScanOptions {
        include_worktree: true,
        ..GitScanOptions::default()
    };
    let result = scan(&repo, &options);
    assert_eq!(result.hits.len(), 2);
    let origins: Vec<_> = result
        .hits
        .iter()
        .map(|h| (h.provenance[0].origin.clone(), h.provenance[0].path.clone()))
        .collect();
    assert!(origins.contains(&(Origin::Index, Some("staged.env".to_string()))));
    assert!(origins.contains(&(Origin::WorkingTree, Some("README.md".to_string()))));
    assert!(
        result.new_blobs.len() == 1,
        "only the committed README blob is remembered, not staged or working-tree content"
    );
    assert_no_secret_value(&result, &[secret(13), secret(14)]);
}

#[test]
fn suppressed_matches_are_hits_but_not_credentials() {
    let repo = Repo::new();
    repo.write("fixture.allowed", format!("T={}\n", secret(15)).as_bytes());
    repo.write(
        "real.env",
        format!("T={}:{}\n", key_id(1), secret(16)).as_bytes(),
    );
    repo.commit(ALICE.0, ALICE.1, "2024-01-01T10:00:00Z", "a");

    let result = scan(&repo, &GitScanOptions::default());
    assert_eq!(result.hits.len(), 2);
    assert_eq!(result.stats.hits_suppressed, 1);
    let creds = &result.report.observations.credentials;
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0].attributes["key_id"], key_id(1));
}

#[test]
fn a_path_that_is_no_repository_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = scan_repository(dir.path(), &GitScanOptions::default(), &FakeTokens::new())
        .expect_err("not a repository");
    assert!(matches!(err, GitError::Open { .. }));
    assert!(err.to_string().contains(&dir.path().display().to_string()));
}

#[test]
fn progress_reports_the_phases_and_ends_with_every_blob_read() {
    let repo = Repo::new();
    for n in 0..70 {
        repo.write(&format!("f{n}.txt"), format!("line {n}\n").as_bytes());
    }
    repo.commit(ALICE.0, ALICE.1, "2024-01-01T10:00:00Z", "many files");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let options = GitScanOptions {
        progress: Some(Progress::new(std::time::Duration::ZERO, move |p| {
            sink.lock().unwrap().push(p)
        })),
        threads: 2,
        ..GitScanOptions::default()
    };
    let result = scan(&repo, &options);
    let seen = seen.lock().unwrap();
    assert_eq!(seen[0], GitProgress::Walked { commits: 1 });
    assert_eq!(seen[1], GitProgress::Attributed { blobs: 70 });
    let reads: Vec<u64> = seen[2..]
        .iter()
        .map(|p| match p {
            GitProgress::Reading { done, total, .. } => {
                assert_eq!(*total, 70);
                *done
            }
            other => panic!("a phase after reading began: {other:?}"),
        })
        .collect();
    // 70 blobs in chunks of 32: at most one report per chunk, and the chunk that reads the last
    // blob always reports (others may skip theirs while it holds the clock).
    assert!((1..=3).contains(&reads.len()), "{seen:?}");
    assert_eq!(reads.iter().max(), Some(&70));
    for p in seen.iter() {
        if let GitProgress::Reading { bytes, .. } = p {
            assert!(*bytes <= result.stats.bytes_scanned);
        }
    }
}

/// A history of one growing file (so `git gc` stores its versions as deltas of each other) with
/// a secret added in the second version, and a second file with its own secret.
fn packable_history(repo: &Repo) {
    let mut text = String::new();
    for version in 0..6u64 {
        for line in 0..40u64 {
            text.push_str(&format!(
                "setting_{version}_{line} = {}\n",
                line * 7 + version
            ));
        }
        if version == 1 {
            text.push_str(&format!("token = {}\n", secret(40)));
        }
        repo.write("config/app.ini", text.as_bytes());
        repo.commit(
            ALICE.0,
            ALICE.1,
            &format!("2024-02-0{}T10:00:00Z", version + 1),
            "grow",
        );
    }
    repo.write("deploy.env", format!("T={}\n", secret(41)).as_bytes());
    repo.commit(BOB.0, BOB.1, "2024-02-09T10:00:00Z", "deploy");
}

/// What a scan found, independent of the order blobs were read in.
fn found(scan: &GitScan) -> Vec<(String, usize, String, Vec<String>)> {
    let mut out: Vec<_> = scan
        .hits
        .iter()
        .map(|h| {
            let commits = h
                .provenance
                .iter()
                .filter_map(|p| p.commit().map(|c| c.id.to_hex()))
                .collect();
            (
                h.blob.to_hex(),
                h.secret.line,
                h.secret.fingerprint.clone(),
                commits,
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn a_packed_history_is_read_by_walking_the_pack_and_finds_what_loose_objects_show() {
    let repo = Repo::new();
    packable_history(&repo);
    let loose = scan(&repo, &GitScanOptions::default());
    assert_eq!(loose.stats.blobs_walked, 0, "no pack yet");

    repo.git(&["gc", "-q", "--aggressive"]);
    let packed = scan(&repo, &GitScanOptions::default());
    assert_eq!(
        packed.stats.blobs_walked, packed.stats.blobs_scanned,
        "every blob came from the pack walk"
    );
    assert_eq!(packed.stats.blobs_scanned, loose.stats.blobs_scanned);
    assert_eq!(packed.stats.bytes_scanned, loose.stats.bytes_scanned);
    assert_eq!(found(&packed), found(&loose));
    assert_eq!(
        packed.hits.len(),
        6,
        "5 versions hold the first secret, 1 blob the second"
    );
    let mut read = packed.new_blobs.clone();
    let mut read_loose = loose.new_blobs.clone();
    read.sort();
    read_loose.sort();
    assert_eq!(
        read, read_loose,
        "the blobs the store remembers are the same"
    );
}

#[test]
fn a_blob_stored_in_two_packs_is_scanned_once() {
    let repo = Repo::new();
    packable_history(&repo);
    repo.git(&["gc", "-q"]);
    let one_pack = scan(&repo, &GitScanOptions::default());

    // A second pack holding every object again, as a fetch into a repository that already has
    // them can leave behind.
    let objects = repo.git(&["rev-list", "--objects", "--all"]);
    let mut pack = repo
        .command(&["pack-objects", "-q", ".git/objects/pack/pack"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("git pack-objects runs");
    {
        use std::io::Write;
        let mut stdin = pack.stdin.take().expect("stdin");
        stdin
            .write_all(format!("{objects}\n").as_bytes())
            .expect("objects written");
    }
    assert!(pack.wait().expect("pack-objects ends").success());
    let packs = std::fs::read_dir(repo.path().join(".git/objects/pack"))
        .expect("pack dir")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "idx"))
        })
        .count();
    assert_eq!(packs, 2);

    let two_packs = scan(&repo, &GitScanOptions::default());
    assert_eq!(two_packs.stats.blobs_scanned, one_pack.stats.blobs_scanned);
    assert_eq!(two_packs.stats.blobs_walked, one_pack.stats.blobs_scanned);
    assert_eq!(two_packs.new_blobs.len(), one_pack.new_blobs.len());
    assert_eq!(found(&two_packs), found(&one_pack));
}

#[test]
fn a_loose_blob_beside_a_pack_is_read_by_id() {
    let repo = Repo::new();
    packable_history(&repo);
    repo.git(&["gc", "-q"]);
    repo.write("later.env", format!("T={}\n", secret(42)).as_bytes());
    let later = repo.commit(BOB.0, BOB.1, "2024-03-01T10:00:00Z", "later");

    let result = scan(&repo, &GitScanOptions::default());
    assert_eq!(
        result.stats.blobs_walked + 1,
        result.stats.blobs_scanned,
        "all but the new loose blob came from the pack"
    );
    let hit = result
        .hits
        .iter()
        .find(|h| {
            h.provenance[0]
                .commit()
                .is_some_and(|c| c.id.to_hex() == later)
        })
        .expect("the loose blob's secret is found");
    assert_eq!(hit.secret.line, 1);
}

#[test]
fn an_incremental_run_reads_its_few_new_blobs_by_id() {
    let repo = Repo::new();
    packable_history(&repo);
    for n in 0..20u64 {
        repo.write(&format!("notes/{n}.txt"), format!("note {n}\n").as_bytes());
    }
    repo.commit(ALICE.0, ALICE.1, "2024-02-10T10:00:00Z", "notes");
    let first = scan(&repo, &GitScanOptions::default());
    repo.write("later.env", format!("T={}\n", secret(43)).as_bytes());
    repo.commit(BOB.0, BOB.1, "2024-03-01T10:00:00Z", "later");
    repo.git(&["gc", "-q"]);

    let options = GitScanOptions {
        known: known(&first, KnownObjects::default()),
        ..GitScanOptions::default()
    };
    let second = scan(&repo, &options);
    assert_eq!(second.stats.blobs_scanned, 1);
    assert_eq!(
        second.stats.blobs_walked, 0,
        "one blob of a whole pack is read by id"
    );
    assert_eq!(second.hits.len(), 1);
}
