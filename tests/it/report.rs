//! The access-review report through the binary: `residual report --out DIR` writes the evidence
//! pack (HTML, CSVs, OCSF, ASFF, the audit log and a manifest of hashes) from the store without
//! writing to it, and `residual report verify DIR` re-checks it.

use crate::harness::{fixture, Sandbox};

/// An inventory export whose account names are spreadsheet formulas: every CSV the tool
/// writes must hand them to a spreadsheet as text.
const FORMULAS: &str = "account,status\n\
    \"=HYPERLINK(\"\"http://evil.example/\"\",\"\"x\"\")\",active\n\
    +cmd,active\n\
    -2+3,active\n\
    @SUM(A1),active\n";

#[test]
fn findings_as_csv_neutralise_cells_a_spreadsheet_would_run_as_formulas() {
    let mut sb = Sandbox::new();
    sb.now = Some("2026-11-27T00:00:00Z".into());
    sb.ok(&[
        "hr",
        "import",
        fixture("hr/example.csv").to_str().unwrap(),
        "--as-of",
        "2026-11-01",
    ]);
    let export = sb.write("formulas.csv", FORMULAS);
    sb.expect(
        0,
        &[
            "scan",
            "inventory",
            "--system",
            "sheet",
            export.to_str().unwrap(),
        ],
    );
    let r = sb.ok(&["findings", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(r.stdout.as_bytes());
    let mut accounts = Vec::new();
    for row in reader.records() {
        let row = row.expect("a CSV row");
        for cell in row.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a cell a spreadsheet would evaluate: {cell:?}\n{}",
                r.stdout
            );
        }
        accounts.push(row.get(6).unwrap_or_default().to_string());
    }
    assert!(
        accounts
            .iter()
            .any(|a| a == "'=HYPERLINK(\"http://evil.example/\",\"x\")"),
        "the value is kept, quoted: {accounts:?}"
    );
    assert!(accounts.iter().any(|a| a == "'-2+3"), "{accounts:?}");
}

/// The shipped example: the example HR snapshot and the example CRM export, scanned as the
/// configured scanner `crm`.
fn example() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.now = Some("2026-11-27T00:00:00Z".into());
    sb.write(
        "residual.toml",
        &format!(
            "[report]\norganisation = \"Example Corp\"\n\n\
             [[scanner]]\nname = \"crm\"\nkind = \"inventory\"\nfile = \"{}\"\n",
            fixture("inventory/crm.csv").display()
        ),
    );
    sb.ok(&[
        "hr",
        "import",
        fixture("hr/example.csv").to_str().unwrap(),
        "--as-of",
        "2026-11-01",
    ]);
    sb.now = Some("2026-11-27T01:00:00Z".into());
    sb.expect(1, &["scan", "crm", "--fail-on", "low"]);
    sb.now = Some("2026-11-28T00:00:00Z".into());
    sb
}

const PACK_FILES: [&str; 10] = [
    "index.html",
    "cases.csv",
    "case_systems.csv",
    "findings.csv",
    "exceptions.csv",
    "audit.jsonl",
    "audit-head.txt",
    "findings.ocsf.jsonl",
    "findings.asff.json",
    "manifest.json",
];

/// Reads a CSV of the pack: its header and its rows as maps from column to cell.
fn read_csv(
    path: &std::path::Path,
) -> (Vec<String>, Vec<std::collections::HashMap<String, String>>) {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header: Vec<String> = reader
        .headers()
        .expect("a header")
        .iter()
        .map(String::from)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            header
                .iter()
                .cloned()
                .zip(r.iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn the_pack_of_the_shipped_example_holds_every_file_its_csvs_parse_and_its_manifest_matches() {
    let sb = example();
    let before = sb.dump();
    let out = sb.path("pack");
    let r = sb.ok(&["report", "--out", out.to_str().unwrap()]);
    assert_eq!(sb.dump(), before, "a report writes nothing to the store");
    for f in PACK_FILES {
        assert!(out.join(f).is_file(), "{f} missing; stdout {}", r.stdout);
    }

    let (header, cases) = read_csv(&out.join("cases.csv"));
    assert_eq!(header[0], "case_id");
    let bob = cases
        .iter()
        .find(|c| c["employee_id"] == "E101")
        .unwrap_or_else(|| panic!("Bob's case: {cases:?}"));
    assert_eq!(bob["state"], "open");
    assert_eq!(bob["name"], "Builder, Bob");
    let (_, matrix) = read_csv(&out.join("case_systems.csv"));
    assert!(
        matrix.iter().any(|m| m["employee_id"] == "E101"
            && m["system"] == "inventory:crm"
            && m["state"] == "residual"),
        "{matrix:?}"
    );
    let (header, findings) = read_csv(&out.join("findings.csv"));
    for column in [
        "finding_id",
        "rule",
        "severity",
        "state",
        "employee_id",
        "name",
        "email",
        "hr_event",
        "hr_event_at",
        "system",
        "account",
        "subject",
        "live",
        "created",
        "last_used",
        "first_seen",
        "last_seen",
        "resolved_at",
        "resolving_run",
        "exception_id",
        "exception_approver",
        "exception_expires",
        "remediation",
        "frameworks",
    ] {
        assert!(
            header.iter().any(|h| h == column),
            "findings.csv lacks {column}: {header:?}"
        );
    }
    let active = findings
        .iter()
        .find(|f| f["rule"] == "leaver-active-account" && f["account"] == "bob")
        .unwrap_or_else(|| panic!("{findings:?}"));
    assert_eq!(active["hr_event"], "leaver");
    assert_eq!(active["hr_event_at"], "2026-09-30T00:00:00Z");
    assert_eq!(active["email"], "bob.builder@example.com");
    assert!(
        active["remediation"].contains("`bob`"),
        "rendered with its values: {active:?}"
    );
    assert!(active["frameworks"].contains("SOC 2 CC6.2"), "{active:?}");
    let (header, _) = read_csv(&out.join("exceptions.csv"));
    assert!(header.iter().any(|h| h == "approver"), "{header:?}");

    // The manifest lists every other file with its SHA-256 and size.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let listed = manifest["files"].as_array().expect("files");
    assert_eq!(listed.len(), PACK_FILES.len() - 1, "{manifest:#}");
    for f in listed {
        let bytes = std::fs::read(out.join(f["path"].as_str().unwrap())).unwrap();
        assert_eq!(f["sha256"], sha256_hex(&bytes).as_str(), "{f}");
        assert_eq!(f["bytes"], bytes.len() as u64, "{f}");
    }
    let head = sb.ok(&["audit", "verify"]).stdout;
    let head = head
        .lines()
        .find_map(|l| l.strip_prefix("head "))
        .expect("a head");
    assert_eq!(manifest["audit_head"], head);
    assert_eq!(
        std::fs::read_to_string(out.join("audit-head.txt"))
            .unwrap()
            .trim(),
        head
    );
    assert_eq!(manifest["tool_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        manifest["config_sha256"]
            .as_str()
            .is_some_and(|d| d.len() == 64),
        "{manifest:#}"
    );
    assert_eq!(
        manifest["hr_snapshots"][0]["sha256"],
        sha256_hex(&std::fs::read(fixture("hr/example.csv")).unwrap()).as_str()
    );
    assert!(
        manifest["runs"][0]["input_digest"].as_str().is_some(),
        "{manifest:#}"
    );

    // The audit log chains: each event's prev_hash is the hash before it, ending at the head.
    let log = std::fs::read_to_string(out.join("audit.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!events.is_empty());
    for pair in events.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"]);
    }
    let last = events.last().unwrap();
    assert_eq!(
        format!("{}:{}", last["seq"], last["hash"].as_str().unwrap()),
        head
    );

    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    for needle in [
        "Example Corp",
        "Builder, Bob",
        "<svg",
        "leaver-active-account",
        head,
    ] {
        assert!(html.contains(needle), "index.html lacks {needle}");
    }
    for external in ["<script", "http://", "https://", "src=", "@import"] {
        assert!(
            !html.contains(external),
            "index.html is not self-contained: {external}"
        );
    }
}

#[test]
fn report_verify_detects_one_changed_byte_and_a_file_added_to_the_pack() {
    let sb = example();
    let out = sb.path("pack");
    sb.ok(&["report", "--out", out.to_str().unwrap()]);
    let r = sb.ok(&["report", "verify", out.to_str().unwrap()]);
    assert!(r.stdout.contains("pack intact"), "{}", r.stdout);

    let file = out.join("findings.csv");
    let original = std::fs::read(&file).unwrap();
    let mut changed = original.clone();
    let i = changed.len() / 2;
    changed[i] ^= 0x01;
    std::fs::write(&file, &changed).unwrap();
    let r = sb.expect(1, &["report", "verify", out.to_str().unwrap()]);
    assert!(
        r.stdout.contains("pack CHANGED") && r.stdout.contains("findings.csv"),
        "{}",
        r.stdout
    );

    std::fs::write(&file, &original).unwrap();
    sb.ok(&["report", "verify", out.to_str().unwrap()]);
    std::fs::write(out.join("extra.csv"), "x\n").unwrap();
    let r = sb.expect(1, &["report", "verify", out.to_str().unwrap()]);
    assert!(r.stdout.contains("extra.csv"), "{}", r.stdout);
}

#[test]
fn report_verify_fails_when_the_packs_audit_head_is_not_in_the_store() {
    let sb = example();
    let out = sb.path("pack");
    sb.ok(&["report", "--out", out.to_str().unwrap()]);
    // The same pack checked against another store, whose chain never held that head.
    let other = Sandbox::new();
    other.write(
        "hr.csv",
        "employee_id,email,status\nE1,a@example.com,active\n",
    );
    other.ok(&["hr", "import", other.path("hr.csv").to_str().unwrap()]);
    let r = other.expect(1, &["report", "verify", out.to_str().unwrap()]);
    assert!(r.stdout.contains("recorded head"), "{}", r.stdout);
}

#[test]
fn report_refuses_a_directory_that_is_not_empty_unless_forced() {
    let sb = example();
    let out = sb.path("pack");
    sb.write("pack/notes.txt", "mine\n");
    let r = sb.expect(2, &["report", "--out", out.to_str().unwrap()]);
    assert!(r.stderr.contains("not empty"), "{}", r.stderr);
    assert!(!out.join("index.html").exists(), "nothing written");
    sb.ok(&["report", "--out", out.to_str().unwrap(), "--force"]);
    assert!(out.join("index.html").is_file());
}

#[test]
fn a_report_without_a_store_says_so_and_creates_nothing() {
    let sb = Sandbox::new();
    let out = sb.path("pack");
    let r = sb.expect(2, &["report", "--out", out.to_str().unwrap()]);
    assert!(r.stderr.contains("no store at"), "{}", r.stderr);
    assert!(!sb.db().exists());
}

#[test]
fn the_period_and_employee_filters_choose_the_cases_and_findings() {
    let sb = example();
    let out = sb.path("bob");
    sb.ok(&[
        "report",
        "--out",
        out.to_str().unwrap(),
        "--employee",
        "E101",
    ]);
    let (_, cases) = read_csv(&out.join("cases.csv"));
    assert!(
        !cases.is_empty() && cases.iter().all(|c| c["employee_id"] == "E101"),
        "{cases:?}"
    );
    let (_, findings) = read_csv(&out.join("findings.csv"));
    assert!(!findings.is_empty() && findings.iter().all(|f| f["employee_id"] == "E101"));

    // Bob left on 2026-09-30: a period that starts after it holds no case of his.
    let out = sb.path("october");
    sb.ok(&[
        "report",
        "--out",
        out.to_str().unwrap(),
        "--since",
        "2026-10-01",
        "--until",
        "2026-10-31",
    ]);
    let (_, cases) = read_csv(&out.join("cases.csv"));
    assert!(
        cases.iter().all(|c| c["employee_id"] != "E101"),
        "{cases:?}"
    );
    assert!(
        cases.iter().all(|c| c["event_at"].as_str() >= "2026-10-01"),
        "{cases:?}"
    );
}

#[test]
fn every_ocsf_record_is_a_detection_finding_with_the_required_fields() {
    let sb = example();
    let out = sb.path("pack");
    sb.ok(&["report", "--out", out.to_str().unwrap()]);
    let text = std::fs::read_to_string(out.join("findings.ocsf.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!records.is_empty());
    for r in &records {
        // The required attributes of OCSF 1.x Detection Finding (class 2004) and its base event.
        for field in [
            "activity_id",
            "category_uid",
            "class_uid",
            "type_uid",
            "time",
            "severity_id",
            "finding_info",
            "metadata",
            "status_id",
        ] {
            assert!(!r[field].is_null(), "{field} missing: {r:#}");
        }
        assert_eq!(r["class_uid"], 2004);
        assert_eq!(r["category_uid"], 2);
        let activity = r["activity_id"].as_u64().unwrap();
        assert!((1..=3).contains(&activity));
        assert_eq!(r["type_uid"].as_u64().unwrap(), 200400 + activity);
        for field in ["uid", "title", "desc", "types", "created_time"] {
            assert!(
                !r["finding_info"][field].is_null(),
                "finding_info.{field}: {r:#}"
            );
        }
        assert!(r["metadata"]["version"].as_str().unwrap().starts_with("1."));
        assert_eq!(r["metadata"]["product"]["name"], "residual");
        assert!(!r["metadata"]["product"]["vendor_name"].is_null());
        assert!(!r["metadata"]["product"]["version"].is_null());
        assert!(r["resources"].as_array().is_some_and(|a| !a.is_empty()));
        assert!(r["remediation"]["desc"]
            .as_str()
            .is_some_and(|d| !d.is_empty()));
        assert!((1..=5).contains(&r["severity_id"].as_u64().unwrap()));
    }
    // Findings of the inventory are not AWS findings: the ASFF file is an empty list.
    let asff: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("findings.asff.json")).unwrap())
            .unwrap();
    assert_eq!(asff, serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_findings_are_in_asff_with_the_required_fields() {
    use residual_test_support::moto;
    let _account = moto::default_account();
    let c = moto::seed_clients(moto::DEFAULT_ACCOUNT).await;
    c.iam.create_user().user_name("ann").send().await.unwrap();
    c.iam
        .create_access_key()
        .user_name("ann")
        .send()
        .await
        .unwrap();
    let mut sb = Sandbox::new();
    sb.now = Some("2026-06-01T00:00:00Z".into());
    sb.write(
        "residual.toml",
        &format!(
            "[[scanner]]\nname = \"prod\"\nkind = \"aws-iam\"\nendpoint_url = \"{}\"\nservice_specific_credentials = false\n",
            moto::moto().endpoint
        ),
    );
    let hr = sb.write(
        "hr.csv",
        "employee_id,email,name,status,termination_date,aws_user\nE1,ann@example.com,Ann Leaver,terminated,2026-03-01,ann\n",
    );
    sb.ok(&[
        "hr",
        "import",
        hr.to_str().unwrap(),
        "--as-of",
        "2026-04-01",
    ]);
    sb.ok(&["scan", "prod"]);
    sb.now = Some("2026-06-02T00:00:00Z".into());
    let out = sb.path("pack");
    sb.ok(&["report", "--out", out.to_str().unwrap()]);
    let asff: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("findings.asff.json")).unwrap())
            .unwrap();
    let records = asff.as_array().expect("a JSON array of findings");
    assert!(
        !records.is_empty(),
        "ann's key and account are AWS findings"
    );
    for r in records {
        // The fields BatchImportFindings requires.
        for field in [
            "SchemaVersion",
            "Id",
            "ProductArn",
            "GeneratorId",
            "AwsAccountId",
            "Types",
            "CreatedAt",
            "UpdatedAt",
            "Severity",
            "Title",
            "Description",
            "Resources",
        ] {
            assert!(!r[field].is_null(), "{field} missing: {r:#}");
        }
        assert_eq!(r["SchemaVersion"], "2018-10-08");
        assert_eq!(r["AwsAccountId"], moto::DEFAULT_ACCOUNT);
        assert!(r["ProductArn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:securityhub:"));
        assert!(["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"]
            .contains(&r["Severity"]["Label"].as_str().unwrap()));
        let res = &r["Resources"][0];
        assert!(!res["Type"].is_null() && !res["Id"].is_null(), "{r:#}");
        assert!(r["Types"].as_array().is_some_and(|t| !t.is_empty()));
    }
    assert!(
        records
            .iter()
            .any(|r| r["GeneratorId"] == "residual/leaver-active-access-key"),
        "{asff:#}"
    );
}

/// A store over two kinds of system: the CRM export and a git repository where the leaver Ann
/// committed secrets; `extra` adds scanners to the configuration, `env` their credentials.
fn multi_system_with(extra: &str, env: Vec<(String, String)>) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.env = env;
    sb.now = Some("2026-06-01T00:00:00Z".into());
    let repo = crate::harness::repo::build_repo(&sb);
    sb.write(
        "crm.csv",
        "account,email,status\nann,ann@example.com,active\nben,ben@example.com,active\n",
    );
    sb.write(
        "residual.toml",
        &format!(
            "[[scanner]]\nname = \"crm\"\nkind = \"inventory\"\nfile = \"crm.csv\"\n\n\
             [[scanner]]\nname = \"repos\"\nkind = \"git\"\npaths = [\"{}\"]\n\n{extra}",
            repo.display()
        ),
    );
    let hr = sb.write(
        "hr.csv",
        "employee_id,email,name,status,termination_date,github_login\n\
         E1,ann@example.com,Ann Leaver,terminated,2026-03-01,ann-gh\n\
         E2,ben@example.com,Ben Stayer,active,,ben-gh\n",
    );
    sb.ok(&[
        "hr",
        "import",
        hr.to_str().unwrap(),
        "--as-of",
        "2026-04-01",
    ]);
    sb.now = Some("2026-06-01T01:00:00Z".into());
    sb.run(&["scan"]);
    sb.now = Some("2026-06-02T00:00:00Z".into());
    sb
}

fn multi_system() -> Sandbox {
    multi_system_with("", Vec::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pack_over_inventory_git_and_a_code_host_has_each_system_of_the_leavers_case() {
    use residual_test_support::fake_host::github as gh;
    use residual_test_support::fake_host::{Fake, Flavor, Shape};
    let fake = Fake::start(Flavor::Github).await;
    crate::github::empty_org(&fake);
    fake.set_list(
        "/orgs/acme/members?role=member",
        Shape::Array,
        vec![gh::user("ann-gh", 1), gh::user("ben-gh", 2)],
    );
    let extra = format!(
        "[[scanner]]\nname = \"gh\"\nkind = \"github\"\norg = \"acme\"\napi_url = \"{}\"\nmax_retries = 0\n",
        fake.url
    );
    tokio::task::block_in_place(|| {
        let sb = multi_system_with(
            &extra,
            vec![("GITHUB_TOKEN".into(), "ghp-fake-token-for-tests".into())],
        );
        let out = sb.path("pack");
        sb.ok(&["report", "--out", out.to_str().unwrap()]);
        let (_, matrix) = read_csv(&out.join("case_systems.csv"));
        let state = |system: &str| {
            matrix
                .iter()
                .find(|m| m["employee_id"] == "E1" && m["system"] == system)
                .map(|m| m["state"].clone())
                .unwrap_or_else(|| panic!("no {system} row for E1: {matrix:?}"))
        };
        assert_eq!(state("inventory:crm"), "residual");
        assert_eq!(state("github:acme"), "residual");
        assert!(
            matrix.iter().any(|m| m["system"].starts_with("git:")),
            "{matrix:?}"
        );
        let (_, findings) = read_csv(&out.join("findings.csv"));
        assert!(
            findings
                .iter()
                .any(|f| f["rule"] == "leaver-org-member" && f["employee_id"] == "E1"),
            "{findings:?}"
        );
        let html = std::fs::read_to_string(out.join("index.html")).unwrap();
        assert!(html.contains("github:acme"), "the page shows the code host");
        sb.ok(&["report", "verify", out.to_str().unwrap()]);
    });
}

#[test]
fn a_multi_system_pack_has_the_termination_matrix_of_every_system_and_no_secret_value() {
    let sb = multi_system();
    let out = sb.path("pack");
    let r = sb.ok(&["report", "--out", out.to_str().unwrap()]);
    let (_, matrix) = read_csv(&out.join("case_systems.csv"));
    let ann: Vec<(&str, &str)> = matrix
        .iter()
        .filter(|m| m["employee_id"] == "E1")
        .map(|m| (m["system"].as_str(), m["state"].as_str()))
        .collect();
    assert!(ann.contains(&("inventory:crm", "residual")), "{ann:?}");
    assert!(ann.iter().any(|(s, _)| s.starts_with("git:")), "{ann:?}");
    let (_, findings) = read_csv(&out.join("findings.csv"));
    assert!(
        findings.iter().any(|f| f["rule"] == "leaver-secret-in-git"),
        "{findings:?}"
    );
    sb.ok(&["report", "verify", out.to_str().unwrap()]);

    // A secret's value is in no file of the pack.
    let (id, secret) = crate::harness::repo::fake_aws_key();
    let token = crate::harness::repo::fake_github_token();
    let mut all = r.stdout.clone();
    for f in PACK_FILES {
        all.push_str(&std::fs::read_to_string(out.join(f)).unwrap());
    }
    sb.assert_not_leaked(&all, &[&secret, &token]);
    let _ = id;
}

/// Chromium's binary, when installed (Debian's package names it `chromium`).
fn chromium() -> Option<std::path::PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

#[test]
fn the_html_page_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        println!(
            "SKIPPED the_html_page_renders_in_headless_chromium: chromium is not installed \
             (apt-get install -y --no-install-recommends chromium; .ci/run installs it)"
        );
        return;
    };
    let sb = multi_system();
    let out = sb.path("pack");
    sb.ok(&["report", "--out", out.to_str().unwrap()]);
    let png = sb.path("report.png");
    let profile = sb.path("chromium-profile");
    let run = std::process::Command::new(&chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", profile.display()),
            &format!("--screenshot={}", png.display()),
            "--window-size=1280,2000",
            &format!("file://{}", out.join("index.html").display()),
        ])
        .output()
        .expect("run chromium");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "chromium failed: {stderr}");
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot ({e}): {stderr}"));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    // A blank 1280×2000 page compresses to a few kilobytes; the report's text and charts do not.
    assert!(
        bytes.len() > 40_000,
        "a near-empty screenshot: {} bytes",
        bytes.len()
    );
    if let Ok(dir) = std::env::var("RESIDUAL_REPORT_SCREENSHOT") {
        let _ = std::fs::copy(&png, dir);
    }
}

#[test]
fn a_pack_whose_manifest_was_removed_is_changed_and_a_missing_directory_is_a_usage_error() {
    let sb = example();
    let out = sb.path("pack");
    sb.ok(&["report", "--out", out.to_str().unwrap()]);
    std::fs::remove_file(out.join("manifest.json")).unwrap();
    let r = sb.expect(1, &["report", "verify", out.to_str().unwrap()]);
    assert!(r.stdout.contains("manifest.json"), "{}", r.stdout);
    let r = sb.expect(
        2,
        &["report", "verify", sb.path("nowhere").to_str().unwrap()],
    );
    assert!(r.stderr.contains("no such directory"), "{}", r.stderr);
}

#[test]
fn the_page_shows_the_units_the_latest_run_of_each_system_missed() {
    let sb = example();
    let crm = fixture("inventory/crm.csv");
    sb.expect(
        3,
        &[
            "scan",
            "inventory",
            "--system",
            "crm",
            crm.to_str().unwrap(),
            "--partial",
        ],
    );
    let out = sb.path("pack");
    sb.ok(&["report", "--out", out.to_str().unwrap()]);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("Units of the latest run"), "no units column");
    assert!(
        html.contains("accounts <span class=\"muted\">missed (error)</span>"),
        "the missed unit of the partial run is not on the page"
    );
}
