//! `residual gate` on a real repository: exit codes by threshold, SARIF that code scanning
//! accepts, exceptions as suppressions, `--since` for a pull request, CODEOWNERS, and `--hr`.

use crate::harness::repo::{build_repo, fake_github_token, git, ANN, BEN};
use crate::harness::Sandbox;
use serde_json::Value;

const HR: &str = "employee_id,email,status,termination_date,github_login\nE1,ann@example.com,terminated,2026-03-01,ann-gh\nE2,ben@example.com,active,,ben-gh\n";

fn setup() -> (Sandbox, std::path::PathBuf) {
    let sb = Sandbox::with_hr("2026-06-01T00:00:00Z", HR, "2026-04-01");
    let repo = build_repo(&sb);
    (sb, repo)
}

#[test]
fn the_gate_fails_at_or_above_the_threshold_only() {
    let (sb, repo) = setup();
    let r = sb.ok(&["gate", repo.to_str().unwrap()]);
    assert!(
        r.stdout.contains("gate passed"),
        "secrets of unknown liveness are medium: {}",
        r.stdout
    );
    let r = sb.expect(1, &["gate", repo.to_str().unwrap(), "--fail-on", "medium"]);
    assert!(
        r.stdout.contains("BLOCK") && r.stdout.contains("leaver-secret-in-git"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("config/deploy.env:"), "{}", r.stdout);
}

#[test]
fn sarif_has_rules_with_security_severity_and_results_with_locations_and_fingerprints() {
    let (sb, repo) = setup();
    let out = sb.path("results.sarif");
    sb.expect(
        1,
        &[
            "gate",
            repo.to_str().unwrap(),
            "--fail-on",
            "medium",
            "--format",
            "sarif",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "residual");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let rule = rules
        .iter()
        .find(|r| r["id"] == "leaver-secret-in-git")
        .unwrap();
    // The descriptor says the severity its results have (medium: liveness unknown), not the
    // rule's default.
    assert_eq!(rule["properties"]["security-severity"], "5.5");
    let results = run["results"].as_array().unwrap();
    assert!(results.len() >= 2);
    for r in results {
        assert!(r["partialFingerprints"]["residualFindingId/v1"].is_string());
        let loc = &r["locations"][0]["physicalLocation"];
        assert!(loc["artifactLocation"]["uri"].is_string());
        assert_eq!(
            rules[r["ruleIndex"].as_u64().unwrap() as usize]["id"],
            r["ruleId"]
        );
    }
    let deploy = results
        .iter()
        .find(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "config/deploy.env"
        })
        .expect("the deleted deploy.env is still reported");
    assert!(
        deploy["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .unwrap()
            >= 1
    );
    assert_eq!(deploy["level"], "warning");
}

#[test]
fn an_exception_becomes_a_suppression_and_does_not_fail_the_gate() {
    let (sb, repo) = setup();
    // The gate writes no key file: finding ids of secrets stay the same across gate runs with
    // the key beside the store (which the first `scan` creates).
    let key = sb.write("residual.db.key", "0123456789abcdef0123456789abcdef");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let r = sb.expect(
        1,
        &[
            "gate",
            repo.to_str().unwrap(),
            "--fail-on",
            "medium",
            "--format",
            "json",
        ],
    );
    let doc = r.json();
    let mut entries = String::new();
    for f in doc["findings"].as_array().unwrap() {
        entries.push_str(&format!(
            "[[exception]]\nfinding = \"{}\"\nreason = \"rotated 2026-05-02, ticket SEC-1\"\napprover = \"ciso@example.com\"\nexpires = \"2026-12-31\"\n",
            f["id"].as_str().unwrap()
        ));
    }
    sb.write("exceptions.toml", &entries);
    sb.write("residual.toml", "exceptions = \"exceptions.toml\"\n");
    let out = sb.path("results.sarif");
    sb.ok(&[
        "gate",
        repo.to_str().unwrap(),
        "--fail-on",
        "medium",
        "--format",
        "sarif",
        "-o",
        out.to_str().unwrap(),
    ]);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    for r in doc["runs"][0]["results"].as_array().unwrap() {
        let s = &r["suppressions"][0];
        assert_eq!(s["kind"], "external");
        assert!(s["justification"].as_str().unwrap().contains("SEC-1"));
    }
}

#[test]
fn since_reads_only_new_commits_and_the_working_tree() {
    let (sb, repo) = setup();
    let base = String::from_utf8(
        std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(&repo)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let r = sb.ok(&[
        "gate",
        repo.to_str().unwrap(),
        "--since",
        base.trim(),
        "--fail-on",
        "medium",
        "--format",
        "json",
    ]);
    assert_eq!(
        r.json()["findings"].as_array().unwrap().len(),
        0,
        "nothing new since HEAD"
    );
    // A new commit by the leaver (e.g. a pull request from a stale branch) is read.
    std::fs::write(
        repo.join("new.sh"),
        format!("TOKEN={}\n", fake_github_token().replace("ghp_R", "ghp_Q")),
    )
    .unwrap();
    git(&repo, &["add", "."], ANN, "2026-05-01T10:00:00Z");
    git(
        &repo,
        &["commit", "-q", "-m", "new"],
        ANN,
        "2026-05-01T10:00:00Z",
    );
    let r = sb.expect(
        1,
        &[
            "gate",
            repo.to_str().unwrap(),
            "--since",
            base.trim(),
            "--fail-on",
            "medium",
            "--format",
            "json",
        ],
    );
    let doc = r.json();
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{doc:#}");
    assert_eq!(findings[0]["path"], "new.sh");
    let _ = BEN;
}

#[test]
fn hr_from_a_file_needs_no_store_and_leaves_none() {
    let mut sb = Sandbox::new();
    sb.now = Some("2026-06-01T00:00:00Z".into());
    let repo = build_repo(&sb);
    let hr = sb.write("hr.csv", HR);
    let r = sb.expect(
        1,
        &[
            "gate",
            repo.to_str().unwrap(),
            "--hr",
            hr.to_str().unwrap(),
            "--fail-on",
            "medium",
        ],
    );
    assert!(r.stdout.contains("leaver-secret-in-git"), "{}", r.stdout);
    assert!(!sb.db().exists(), "the gate wrote a store");
}

#[test]
fn workflow_secrets_are_listed() {
    let (sb, repo) = setup();
    std::fs::create_dir_all(repo.join(".github/workflows")).unwrap();
    std::fs::write(
        repo.join(".github/workflows/deploy.yml"),
        "on: push\njobs:\n  d:\n    steps:\n      - run: deploy\n        env:\n          KEY: ${{ secrets.DEPLOY_KEY }}\n          T: ${{ secrets.GITHUB_TOKEN }}\n",
    )
    .unwrap();
    let r = sb.ok(&["gate", repo.to_str().unwrap(), "--format", "json"]);
    let ws = r.json()["workflow_secrets"].clone();
    assert_eq!(ws.as_array().unwrap().len(), 1, "{ws}");
    assert_eq!(ws[0]["name"], "DEPLOY_KEY");
    assert_eq!(ws[0]["line"], 7);
}

#[test]
fn a_leaver_named_in_codeowners_is_reported_with_the_file() {
    let (sb, repo) = setup();
    std::fs::create_dir_all(repo.join(".github")).unwrap();
    std::fs::write(
        repo.join(".github/CODEOWNERS"),
        "# owners\n*       @ben-gh\n/infra/ @ann-gh @acme/platform\n",
    )
    .unwrap();
    let r = sb.ok(&["gate", repo.to_str().unwrap(), "--format", "json"]);
    let doc = r.json();
    let owners: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "leaver-codeowner")
        .collect();
    assert_eq!(owners.len(), 1, "{doc:#}");
    assert_eq!(owners[0]["employee_id"], "E1");
    assert_eq!(owners[0]["account"], "ann-gh");
    assert_eq!(owners[0]["path"], ".github/CODEOWNERS");
}

#[test]
fn a_residualignore_file_suppresses_by_path_and_pattern_and_says_so() {
    let (sb, repo) = setup();
    std::fs::write(
        repo.join(".residualignore"),
        "# reviewed 2026-05\npath:ci.sh\n",
    )
    .unwrap();
    let r = sb.expect(
        1,
        &[
            "gate",
            repo.to_str().unwrap(),
            "--fail-on",
            "medium",
            "--format",
            "json",
        ],
    );
    let doc = r.json();
    let paths: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["suppressed"].is_null())
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(!paths.contains(&"ci.sh"), "{doc:#}");
    let sup = doc["suppressed"]["residualignore"].as_array().unwrap();
    assert_eq!(sup.len(), 1, "{doc:#}");
    assert_eq!(sup[0]["path"], "ci.sh");
    assert!(sup[0]["reason"]
        .as_str()
        .unwrap()
        .contains(".residualignore line 2"));
    let r = sb.expect(1, &["gate", repo.to_str().unwrap(), "--fail-on", "medium"]);
    assert!(
        r.stdout.contains("SUPPRESSED github-pat-classic ci.sh"),
        "{}",
        r.stdout
    );
}

/// Suppressed secrets are not dropped from SARIF: what they would have raised is reported with a
/// `suppressions` entry (`external` for `.residualignore`, `inSource` for an inline allow) and
/// does not fail the gate.
#[test]
fn suppressed_secrets_appear_in_sarif_as_suppressions_and_do_not_block() {
    let (sb, repo) = setup();
    std::fs::write(repo.join(".residualignore"), "# reviewed\npath:ci.sh\n").unwrap();
    std::fs::write(
        repo.join("allowed.sh"),
        format!(
            "TOKEN={} # residual:allow test fixture\n",
            fake_github_token().replace("ghp_R", "ghp_P")
        ),
    )
    .unwrap();
    git(&repo, &["add", "."], ANN, "2025-05-01T10:00:00Z");
    git(
        &repo,
        &["commit", "-q", "-m", "allowed"],
        ANN,
        "2025-05-01T10:00:00Z",
    );
    let out = sb.path("results.sarif");
    let args = |format: &str| {
        vec![
            "gate".to_string(),
            repo.to_str().unwrap().to_string(),
            "--fail-on".into(),
            "medium".into(),
            "--format".into(),
            format.into(),
            "-o".into(),
            out.to_str().unwrap().to_string(),
        ]
    };
    let sarif_args = args("sarif");
    sb.expect(
        1,
        &sarif_args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let at = |path: &str| {
        results
            .iter()
            .find(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == path)
            .unwrap_or_else(|| panic!("no result at {path}: {doc:#}"))
    };
    let ignored = &at("ci.sh")["suppressions"][0];
    assert_eq!(ignored["kind"], "external", "{doc:#}");
    assert!(ignored["justification"]
        .as_str()
        .unwrap()
        .contains(".residualignore line 2"));
    let inline = &at("allowed.sh")["suppressions"][0];
    assert_eq!(inline["kind"], "inSource", "{doc:#}");
    assert!(inline["justification"]
        .as_str()
        .unwrap()
        .contains("residual:allow at allowed.sh:1"));
    assert!(
        at("config/deploy.env")["suppressions"].is_null(),
        "an unsuppressed secret carries no suppression"
    );

    // Only the unsuppressed secrets block.
    let json_args = args("json");
    sb.expect(1, &json_args.iter().map(String::as_str).collect::<Vec<_>>());
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    for f in doc["findings"].as_array().unwrap() {
        let hidden = f["suppressed"].is_string();
        assert_eq!(f["blocking"], !hidden, "{f:#}");
    }
    assert_eq!(
        doc["blocking"].as_u64().unwrap() as usize,
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["suppressed"].is_null())
            .count()
    );
}

fn codeowners_naming_the_leaver(repo: &std::path::Path) {
    std::fs::create_dir_all(repo.join(".github")).unwrap();
    std::fs::write(
        repo.join(".github/CODEOWNERS"),
        "# owners\n*       @ben-gh\n/infra/ @ann-gh @acme/platform\n",
    )
    .unwrap();
}

/// `scan git` and `gate` observe a repository the same way: a leaver in CODEOWNERS is the same
/// finding (same id) in both.
#[test]
fn a_leaver_in_codeowners_is_the_same_finding_in_gate_and_scan_git() {
    let (sb, repo) = setup();
    codeowners_naming_the_leaver(&repo);
    let gate = sb
        .ok(&["gate", repo.to_str().unwrap(), "--format", "json"])
        .json();
    let gated: Vec<&Value> = gate["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "leaver-codeowner")
        .collect();
    assert_eq!(gated.len(), 1, "{gate:#}");
    let scan = sb
        .ok(&["scan", "git", repo.to_str().unwrap(), "--format", "json"])
        .json();
    let scanned: Vec<&Value> = scan
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "leaver-codeowner")
        .collect();
    assert_eq!(scanned.len(), 1, "{scan:#}");
    assert_eq!(scanned[0]["id"], gated[0]["id"]);
    assert_eq!(scanned[0]["employee_id"], "E1");
    assert_eq!(scanned[0]["system"], gate["system"]);
}

/// Every file of `dir` (not below `skip`) with its bytes.
fn files(dir: &std::path::Path, skip: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.starts_with(skip) {
            continue;
        }
        if path.is_dir() {
            out.extend(files(&path, skip));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, bytes));
        }
    }
    out.sort();
    out
}

/// The gate reads the store and the configured exceptions file and writes neither: no exception
/// rows or events synced in, no fingerprint key file created beside the store.
#[test]
fn the_gate_leaves_the_store_and_its_directory_byte_identical() {
    let (sb, repo) = setup();
    codeowners_naming_the_leaver(&repo);
    let r = sb.expect(
        1,
        &[
            "gate",
            repo.to_str().unwrap(),
            "--fail-on",
            "medium",
            "--format",
            "json",
        ],
    );
    let doc = r.json();
    let owner = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "leaver-codeowner")
        .cloned()
        .unwrap_or_else(|| panic!("{doc:#}"));
    let id = owner["id"].as_str().unwrap().to_string();
    sb.write(
        "exceptions.toml",
        &format!("[[exception]]\nfinding = \"{id}\"\nreason = \"rotated, ticket SEC-2\"\napprover = \"ciso@example.com\"\nexpires = \"2026-12-31\"\n"),
    );
    sb.write("residual.toml", "exceptions = \"exceptions.toml\"\n");
    let before = files(sb.dir.path(), &repo);
    assert!(
        before.iter().any(|(p, _)| *p == sb.db()),
        "the store exists"
    );
    let r = sb.expect(1, &["gate", repo.to_str().unwrap(), "--fail-on", "medium"]);
    assert!(r.stderr.contains("not stable across runs"), "{}", r.stderr);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("EXCEPTED") && l.contains("leaver-codeowner")),
        "the file's exception is matched in memory: {}",
        r.stdout
    );
    let after = files(sb.dir.path(), &repo);
    let names =
        |v: &[(std::path::PathBuf, Vec<u8>)]| v.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&after),
        names(&before),
        "the gate created or removed a file"
    );
    assert!(after == before, "the gate changed a file (the store?)");
}

/// Without a store the gate creates none; it says what to do instead.
#[test]
fn without_a_store_or_hr_the_gate_creates_no_store() {
    let mut sb = Sandbox::new();
    sb.now = Some("2026-06-01T00:00:00Z".into());
    let repo = build_repo(&sb);
    let r = sb.expect(2, &["gate", repo.to_str().unwrap()]);
    assert!(r.stderr.contains("no HR snapshot"), "{}", r.stderr);
    assert!(!sb.db().exists(), "the gate created a store");
}

/// `--hr` is read into memory: nothing is written to the temporary directory (not even the
/// directory itself) nor beside `--db`.
#[test]
fn gate_with_hr_writes_nothing_in_tmpdir_nor_beside_the_db() {
    let mut sb = Sandbox::new();
    sb.now = Some("2026-06-01T00:00:00Z".into());
    let repo = build_repo(&sb);
    let hr = sb.write("hr.csv", HR);
    let tmpdir = sb.path("fresh-tmp");
    let before = files(sb.dir.path(), &repo);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_residual"))
        .args([
            "gate",
            repo.to_str().unwrap(),
            "--hr",
            hr.to_str().unwrap(),
            "--fail-on",
            "medium",
        ])
        .current_dir(sb.dir.path())
        .env("RESIDUAL_DB", sb.db())
        .env("RESIDUAL_NOW", "2026-06-01T00:00:00Z")
        .env("TMPDIR", &tmpdir)
        .env_remove("RESIDUAL_CONFIG")
        .env_remove("RESIDUAL_FINGERPRINT_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("leaver-secret-in-git"), "{stdout}");
    assert!(!tmpdir.exists(), "the gate wrote into TMPDIR");
    assert_eq!(
        files(sb.dir.path(), &repo),
        before,
        "the gate wrote beside the store"
    );
}

/// What GitHub code scanning reads from SARIF: one result per finding (a committer whose email
/// CODEOWNERS names was reported twice), the stable id as `primaryLocationLineHash`, a
/// descriptor whose `security-severity` is the result's effective severity (overrides included),
/// help without placeholders, the CODEOWNERS line, the secret's pattern, `automationDetails`.
#[test]
fn sarif_is_what_github_code_scanning_reads() {
    let (sb, repo) = setup();
    codeowners_naming_anns_email(&repo);
    let doc = sarif_with_codeowner_override(&sb, &repo);
    let run = &doc["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "residual/gate/");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    let mut ids = std::collections::HashSet::new();
    for r in results {
        let id = r["partialFingerprints"]["residualFindingId/v1"]
            .as_str()
            .unwrap();
        assert!(
            ids.insert(id.to_string()),
            "finding {id} reported twice: {doc:#}"
        );
        assert_eq!(
            r["partialFingerprints"]["primaryLocationLineHash"],
            format!("{id}:1")
        );
        let rule = &rules[r["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], r["ruleId"]);
        assert_eq!(
            rule["properties"]["security-severity"], r["properties"]["security-severity"],
            "descriptor and result disagree: {rule:#} {r:#}"
        );
        let help = rule["help"]["text"].as_str().unwrap();
        assert!(!help.contains('{'), "placeholder in help: {help}");
        assert!(rule["help"]["markdown"].is_string() && rule["helpUri"].is_string());
    }
    let owner = results
        .iter()
        .find(|r| r["ruleId"] == "leaver-codeowner")
        .expect("the CODEOWNERS entry naming ann's email");
    assert_eq!(
        owner["properties"]["security-severity"], "9.5",
        "the override"
    );
    assert_eq!(
        owner["locations"][0]["physicalLocation"]["region"]["startLine"], 3,
        "{owner:#}"
    );
    let secret = results
        .iter()
        .find(|r| r["ruleId"] == "leaver-secret-in-git")
        .unwrap();
    let pattern = secret["properties"]["residual/pattern"].as_str().unwrap();
    assert!(
        secret["message"]["text"]
            .as_str()
            .unwrap()
            .contains(pattern),
        "{secret:#}"
    );
}

/// The gate's SARIF is valid against the official SARIF 2.1.0 JSON schema (vendored under
/// `tests/schemas/`, see its README): CODEOWNERS results, suppressed secrets, severity overrides
/// and invocation notifications, all in one document.
#[test]
fn sarif_validates_against_the_official_sarif_2_1_0_schema() {
    let (sb, repo) = setup();
    codeowners_naming_anns_email(&repo);
    std::fs::write(repo.join(".residualignore"), "# reviewed\npath:ci.sh\n").unwrap();
    let doc = sarif_with_codeowner_override(&sb, &repo);
    assert!(
        !doc["runs"][0]["results"].as_array().unwrap().is_empty(),
        "{doc:#}"
    );
    if let Some(errors) = sarif_schema_errors(&doc) {
        panic!("SARIF is not valid 2.1.0:\n{errors}\n{doc:#}");
    }
    // The check can fail: a level SARIF does not know is caught.
    let mut broken = doc.clone();
    broken["runs"][0]["results"][0]["level"] = "severe".into();
    assert!(sarif_schema_errors(&broken).is_some());
}

/// Every violation of the vendored SARIF 2.1.0 schema in `doc`, in words, with format assertions
/// (uri, date-time) switched on; `None` when it is valid.
pub(crate) fn sarif_schema_errors(doc: &Value) -> Option<String> {
    let schema = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/schemas/sarif-2.1.0-rtm.5.json"
    );
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.enable_format_assertions();
    let index = compiler
        .compile(schema, &mut schemas)
        .unwrap_or_else(|e| panic!("cannot compile {schema}: {e:#}"));
    schemas.validate(doc, index).err().map(|e| format!("{e:#}"))
}

/// A `.residualignore` changed in a pull request (differs from `--since`, or untracked) is said in
/// the gate's notes: it could hide the pull request's own secret.
#[test]
fn a_residualignore_changed_since_the_base_is_reported() {
    let (sb, repo) = setup();
    let base = String::from_utf8(
        std::process::Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(&repo)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let base = base.trim();
    let gate = |sb: &Sandbox| {
        sb.run(&[
            "gate",
            repo.to_str().unwrap(),
            "--since",
            base,
            "--format",
            "json",
        ])
        .json()
    };
    let doc = gate(&sb);
    assert!(
        !doc["notes"].to_string().contains(".residualignore"),
        "{doc:#}"
    );
    std::fs::write(repo.join(".residualignore"), "path:config/**\n").unwrap();
    let doc = gate(&sb);
    assert!(
        doc["notes"].to_string().contains(".residualignore differs"),
        "{doc:#}"
    );
}

/// CODEOWNERS naming Ben by login and Ann (who left, and committed) by her email.
fn codeowners_naming_anns_email(repo: &std::path::Path) {
    std::fs::create_dir_all(repo.join(".github")).unwrap();
    std::fs::write(
        repo.join(".github/CODEOWNERS"),
        "# owners\n*       @ben-gh\n/config/ ann@example.com\n",
    )
    .unwrap();
}

/// The gate's SARIF for `repo` with `leaver-codeowner` overridden to critical.
fn sarif_with_codeowner_override(sb: &Sandbox, repo: &std::path::Path) -> Value {
    let config = sb.write(
        "residual.toml",
        "[policy.severity]\nleaver-codeowner = \"critical\"\n",
    );
    let out = sb.path("results.sarif");
    sb.run(&[
        "--config",
        config.to_str().unwrap(),
        "gate",
        repo.to_str().unwrap(),
        "--format",
        "sarif",
        "-o",
        out.to_str().unwrap(),
    ]);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    doc
}

/// Where the gate says each finding is, from the secret's provenance and the CODEOWNERS
/// entry: file, line, commit and pattern, as the gate reported them before these came from
/// typed facets (a commit as whether it is a commit id, since the repository is built anew).
#[test]
fn the_gate_locates_secrets_by_file_line_commit_and_pattern_and_codeowners_by_file_and_line() {
    let (sb, repo) = setup();
    codeowners_naming_the_leaver(&repo);
    let r = sb.expect(
        1,
        &[
            "gate",
            repo.to_str().unwrap(),
            "--fail-on",
            "medium",
            "--format",
            "json",
        ],
    );
    let doc = r.json();
    let mut located: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let commit = f["commit"]
                .as_str()
                .map(|c| c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit()));
            format!(
                "{} {} {} {} commit:{:?} verified:{} {}",
                f["rule"],
                f["path"],
                f["line"],
                f["pattern"],
                commit,
                f["verified"],
                f["verified_owner"]
            )
        })
        .collect();
    located.sort();
    assert_eq!(
        located,
        [
            r#""leaver-codeowner" ".github/CODEOWNERS" 3 null commit:None verified:null null"#,
            r#""leaver-secret-in-git" "ci.sh" 1 "github-pat-classic" commit:Some(true) verified:null null"#,
            r#""leaver-secret-in-git" "config/deploy.env" 1 "aws-access-key-id" commit:Some(true) verified:null null"#,
            r#""leaver-secret-in-git" "config/deploy.env" 2 "aws-secret-access-key" commit:Some(true) verified:null null"#,
        ]
    );
}
