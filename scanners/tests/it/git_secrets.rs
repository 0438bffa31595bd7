//! The git scanner with the real secrets engine (`secrets::builtin()`): a credentials file
//! committed by one author and deleted later is an observation owned by that author, carrying
//! the non-secret access key id and no secret value.
//!
//! The planted key is fake, generated at runtime, so this file trips no secret scanner.

use residual_scanners::git::{scan_repository, GitScanOptions};
use residual_scanners::secrets::{builtin, Matcher};
use std::path::Path;
use std::process::Command;

/// Deterministic pseudo-random characters from `alphabet` (a linear congruential generator).
fn fake(seed: u64, alphabet: &[u8], len: usize) -> String {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            alphabet[((state >> 33) % alphabet.len() as u64) as usize] as char
        })
        .collect()
}

fn git(dir: &Path, args: &[&str], author: Option<(&str, &str, &str)>) {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", dir)
        .env("GIT_COMMITTER_NAME", "Committer")
        .env("GIT_COMMITTER_EMAIL", "committer@example.com");
    if let Some((name, email, date)) = author {
        cmd.env("GIT_AUTHOR_NAME", name)
            .env("GIT_AUTHOR_EMAIL", email)
            .env("GIT_AUTHOR_DATE", date)
            .env("GIT_COMMITTER_DATE", date);
    }
    let out = cmd.output().expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_aws_key_committed_by_a_leaver_is_a_credential_with_its_key_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path();
    git(path, &["init", "-q", "-b", "main"], None);
    let key_id = format!("{}{}", "AK", "IA") + &fake(7, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
    let secret = fake(
        11,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+",
        40,
    );
    let file =
        format!("[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n");
    std::fs::write(path.join("credentials"), file).expect("write");
    git(path, &["add", "-A"], None);
    let dana = ("Dana Leaver", "dana@example.com", "2023-05-01T09:00:00Z");
    git(path, &["commit", "-q", "-m", "add creds"], Some(dana));
    std::fs::remove_file(path.join("credentials")).expect("rm");
    git(path, &["add", "-A"], None);
    let erin = ("Erin", "erin@example.com", "2023-06-01T09:00:00Z");
    git(path, &["commit", "-q", "-m", "oops"], Some(erin));

    let patterns = builtin().expect("built-in patterns load");
    let matcher = Matcher::new(patterns, b"test fingerprint key").expect("matcher builds");
    let scan = scan_repository(path, &GitScanOptions::default(), &matcher).expect("scan");

    let creds = &scan.report.observations.credentials;
    let secret_key = creds
        .iter()
        .find(|c| c.attributes["pattern_id"] == "aws-secret-access-key")
        .expect("the secret access key is found");
    assert_eq!(secret_key.account, "dana@example.com");
    assert_eq!(secret_key.attributes["key_id"], key_id);
    assert_eq!(secret_key.attributes["path"], "credentials");
    assert!(creds.iter().all(|c| c.account == "dana@example.com"));
    let found = secret_key
        .facets
        .secret
        .as_ref()
        .expect("a found secret facet");
    assert_eq!(found.key_id.as_deref(), Some(key_id.as_str()));
    let provenance = found.provenance.as_ref().expect("where it was committed");
    assert_eq!(provenance.path.as_deref(), Some("credentials"));
    assert_eq!(provenance.line, Some(3));
    assert_eq!(
        provenance.commit.as_deref(),
        secret_key.attributes.get("commit").map(String::as_str)
    );
    crate::facets::assert_facets_match_attributes(&scan.report.observations);

    let text = format!(
        "{}{}",
        serde_json::to_string(&scan.report).expect("json"),
        serde_json::to_string(&scan.hits).expect("json")
    );
    assert!(
        !text.contains(&secret),
        "the secret value leaked into the output"
    );
}
