//! The finding lifecycle through the real binary and a real store: open → seen → resolved by a
//! complete run → reopened; excepted → expired → open; partial and failed runs resolve nothing.

use crate::harness::Sandbox;
use serde_json::Value;

const HR: &str = "employee_id,email,status,termination_date,department\n\
E1,ann@example.com,terminated,2026-03-01,Engineering\n\
E2,ben@example.com,active,,Engineering\n";

const CRM_HEADER: &str = "account,email,status,last_login,kind,owner,groups\n";

fn setup() -> Sandbox {
    Sandbox::with_hr("2026-06-01T00:00:00Z", HR, "2026-05-01")
}

fn scan(sb: &Sandbox, code: i32, rows: &str, extra: &[&str]) -> crate::harness::Run {
    let f = sb.write("crm.csv", &format!("{CRM_HEADER}{rows}"));
    let mut args = vec!["scan", "inventory", "--system", "crm", f.to_str().unwrap()];
    args.extend(extra);
    sb.expect(code, &args)
}

fn by_rule<'a>(list: &'a [Value], rule: &str, account: &str) -> &'a Value {
    list.iter()
        .find(|f| f["rule"] == rule && f["account"] == account)
        .unwrap_or_else(|| panic!("no {rule} finding for {account} in {list:#?}"))
}

#[test]
fn a_finding_opens_stays_open_resolves_on_a_complete_run_and_reopens() {
    let mut sb = setup();
    scan(
        &sb,
        0,
        "ann,ann@example.com,active,2026-02-01,user,,\nben,ben@example.com,active,,user,,\n",
        &[],
    );
    let open = sb.findings("open");
    assert_eq!(open.len(), 1, "{open:#?}");
    let f = by_rule(&open, "leaver-active-account", "ann");
    let id = f["id"].as_str().unwrap().to_string();
    assert_eq!(f["employee_id"], "E1");
    assert_eq!(f["severity"], "high");
    assert_eq!(f["live"], true);
    assert_eq!(f["system"], "inventory:crm");
    assert_eq!(f["evidence"]["person"]["link"]["method"], "email");
    for key in [
        "first_seen",
        "last_seen",
        "resolved_at",
        "subject",
        "account",
        "state",
    ] {
        assert!(f.get(key).is_some(), "JSON lacks `{key}`");
    }

    sb.now = Some("2026-06-02T00:00:00Z".into());
    scan(
        &sb,
        0,
        "ann,ann@example.com,active,2026-02-01,user,,\nben,ben@example.com,active,,user,,\n",
        &[],
    );
    let f = by_rule(&sb.findings("open"), "leaver-active-account", "ann").clone();
    assert_eq!(f["id"], id.as_str(), "the id is stable across runs");
    assert_eq!(f["first_seen"], "2026-06-01T00:00:00Z");
    assert_eq!(f["last_seen"], "2026-06-02T00:00:00Z");

    sb.now = Some("2026-06-03T00:00:00Z".into());
    scan(
        &sb,
        0,
        "ann,ann@example.com,disabled,2026-02-01,user,,\nben,ben@example.com,active,,user,,\n",
        &[],
    );
    assert!(sb.findings("open").is_empty());
    let resolved = sb.findings("resolved");
    assert_eq!(resolved[0]["id"], id.as_str());
    assert_eq!(resolved[0]["resolved_at"], "2026-06-03T00:00:00Z");
    assert_eq!(
        resolved[0]["resolved_by_run"], 3,
        "the complete run is the proof of removal"
    );

    sb.now = Some("2026-06-04T00:00:00Z".into());
    scan(
        &sb,
        0,
        "ann,ann@example.com,active,2026-02-01,user,,\nben,ben@example.com,active,,user,,\n",
        &[],
    );
    let f = by_rule(&sb.findings("open"), "leaver-active-account", "ann").clone();
    assert_eq!(f["id"], id.as_str());
    assert_eq!(f["resolved_at"], Value::Null);
    let log = sb
        .ok(&["audit", "log", "--finding", &id, "--format", "json"])
        .json();
    let events: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["opened", "resolved", "reopened"]);
}

#[test]
fn a_partial_run_records_what_it_saw_but_resolves_nothing() {
    let mut sb = setup();
    scan(
        &sb,
        0,
        "ann,ann@example.com,active,,user,,\nold-bot,,active,,service,ann@example.com,\n",
        &[],
    );
    assert_eq!(sb.findings("open").len(), 2);
    sb.now = Some("2026-06-02T00:00:00Z".into());
    let r = scan(
        &sb,
        3,
        "ben,ben@example.com,active,,user,,\n",
        &["--partial"],
    );
    assert!(r.stderr.contains("nothing was resolved"), "{}", r.stderr);
    assert_eq!(
        sb.findings("open").len(),
        2,
        "a partial run resolved something"
    );
    assert!(sb.findings("resolved").is_empty());
    let runs = sb.ok(&["runs", "--format", "json"]).json();
    assert_eq!(runs[0]["status"], "partial");
}

#[test]
fn a_failed_run_exits_3_and_resolves_nothing() {
    let sb = setup();
    scan(&sb, 0, "ann,ann@example.com,active,,user,,\n", &[]);
    let before = sb.findings("all");
    let missing = sb.path("gone.csv");
    let r = sb.expect(
        3,
        &[
            "scan",
            "inventory",
            "--system",
            "crm",
            missing.to_str().unwrap(),
        ],
    );
    assert!(r.stderr.contains("gone.csv"), "{}", r.stderr);
    assert_eq!(sb.findings("all"), before);
    assert_eq!(
        sb.ok(&["runs", "--format", "json"]).json()[0]["status"],
        "failed"
    );
}

#[test]
fn an_exception_excepts_a_finding_until_it_expires_then_it_is_open_again() {
    let mut sb = setup();
    scan(&sb, 0, "ann,ann@example.com,active,,user,,\n", &[]);
    let id = sb.findings("open")[0]["id"].as_str().unwrap().to_string();
    let r = sb.ok(&[
        "exceptions",
        "add",
        "--finding",
        &id,
        "--reason",
        "shared account rotated monthly",
        "--expires",
        "2026-07-01",
        "--approver",
        "ciso@example.com",
    ]);
    let exception_id = r.stdout.trim().to_string();
    assert!(exception_id.starts_with("EXC-"));
    assert!(sb.findings("open").is_empty());
    let excepted = sb.findings("excepted");
    assert_eq!(excepted[0]["exception_id"], exception_id.as_str());
    // Still excepted when a later run sees it again.
    sb.now = Some("2026-06-15T00:00:00Z".into());
    scan(
        &sb,
        0,
        "ann,ann@example.com,active,,user,,\n",
        &["--fail-on", "high"],
    );
    assert_eq!(sb.findings("excepted").len(), 1);
    // After expiry it is open again, and the gate fails.
    sb.now = Some("2026-07-02T00:00:00Z".into());
    let open = sb.findings("open");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0]["id"], id.as_str());
    sb.expect(1, &["findings", "--fail-on", "high", "--format", "json"]);
    // Reads show the expiry; the next write records it in the chain.
    scan(&sb, 0, "ann,ann@example.com,active,,user,,\n", &[]);
    let log = sb
        .ok(&["audit", "log", "--finding", &id, "--format", "json"])
        .json();
    let events: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["opened", "excepted", "exception_expired"]);
}

#[test]
fn an_exceptions_file_under_version_control_excepts_findings() {
    let mut sb = setup();
    scan(&sb, 0, "ann,ann@example.com,active,,user,,\n", &[]);
    let id = sb.findings("open")[0]["id"].as_str().unwrap().to_string();
    sb.write(
        "exceptions.toml",
        &format!("[[exception]]\nfinding = \"{id}\"\nreason = \"batch job grace\"\napprover = \"it-sec\"\nexpires = \"2026-06-10\"\n"),
    );
    sb.write("residual.toml", "exceptions = \"exceptions.toml\"\n");
    assert_eq!(sb.findings("excepted").len(), 1);
    sb.now = Some("2026-06-11T00:00:00Z".into());
    assert_eq!(sb.findings("open").len(), 1);
    sb.write(
        "exceptions.toml",
        "[[exception]]\nfinding = \"x\"\nreason = \"r\"\napprover = \"a\"\nexpires = \"soon\"\n",
    );
    let r = sb.expect(2, &["findings"]);
    assert!(
        r.stderr.contains("exceptions.toml") && r.stderr.contains("expires"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_gate_fails_only_at_or_above_the_threshold() {
    let sb = setup();
    // An orphan account is low; a leaver's enabled account is high.
    scan(
        &sb,
        0,
        "someone,x@vendor.example,active,,user,,\n",
        &["--fail-on", "medium"],
    );
    scan(
        &sb,
        1,
        "ann,ann@example.com,active,,user,,\n",
        &["--fail-on", "high"],
    );
    scan(
        &sb,
        0,
        "ann,ann@example.com,active,,user,,\n",
        &["--fail-on", "critical"],
    );
}

/// Every file in the sandbox (the store, its WAL and key files) with its bytes.
fn files(sb: &Sandbox) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(sb.dir.path())
        .expect("sandbox")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| {
            let bytes = std::fs::read(e.path()).expect("read");
            (e.file_name().to_string_lossy().into_owned(), bytes)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn reading_commands_leave_the_store_byte_identical() {
    let sb = setup();
    scan(
        &sb,
        0,
        "ann,ann@example.com,active,2026-02-01,user,,\n",
        &[],
    );
    let id = sb.findings("open")[0]["id"].as_str().unwrap().to_string();
    // An exceptions file that the reads must not sync into the store.
    sb.write(
        "exceptions.toml",
        &format!("[[exception]]\nfinding = \"{id}\"\nreason = \"break-glass\"\napprover = \"ciso@example.com\"\nexpires = \"2026-12-31\"\n"),
    );
    let config = sb.write("residual.toml", "exceptions = \"exceptions.toml\"\n");
    let before = files(&sb);
    let cfg = config.to_str().unwrap();
    for args in [
        vec![
            "--config", cfg, "findings", "--state", "all", "--format", "json",
        ],
        vec!["--config", cfg, "exceptions", "list", "--format", "json"],
        vec!["--config", cfg, "audit", "log", "--format", "json"],
        vec!["--config", cfg, "audit", "verify"],
        vec!["--config", cfg, "runs", "--format", "json"],
        vec!["--config", cfg, "hr", "people", "--format", "json"],
    ] {
        sb.ok(&args);
        assert!(
            files(&sb) == before,
            "`residual {}` changed a file",
            args.join(" ")
        );
    }
    let listed = sb.ok(&["--config", cfg, "exceptions", "list", "--format", "json"]);
    assert!(
        listed.stdout.contains("break-glass"),
        "the file's entry is listed: {}",
        listed.stdout
    );
}

#[test]
fn a_read_of_a_store_that_does_not_exist_exits_2_and_creates_nothing() {
    let sb = Sandbox::new();
    for args in [
        vec!["findings"],
        vec!["runs"],
        vec!["audit", "log"],
        vec!["exceptions", "list"],
        vec!["hr", "people"],
    ] {
        let run = sb.expect(2, &args);
        assert!(run.stderr.contains("no store at"), "{}", run.stderr);
        assert!(
            !sb.db().exists(),
            "`residual {}` created the store",
            args.join(" ")
        );
    }
}

#[test]
fn last_seen_is_the_latest_run_that_saw_the_finding_partial_or_complete() {
    let mut sb = setup();
    let ann = "ann,ann@example.com,active,,user,,\n";
    let last_seen = |sb: &Sandbox| {
        by_rule(&sb.findings("open"), "leaver-active-account", "ann")["last_seen"].clone()
    };
    scan(&sb, 0, ann, &[]);
    sb.now = Some("2026-06-02T00:00:00Z".into());
    scan(&sb, 3, ann, &["--partial"]);
    assert_eq!(last_seen(&sb), "2026-06-02T00:00:00Z");
    sb.now = Some("2026-06-03T00:00:00Z".into());
    scan(
        &sb,
        3,
        "ben,ben@example.com,active,,user,,\n",
        &["--partial"],
    );
    assert_eq!(
        last_seen(&sb),
        "2026-06-02T00:00:00Z",
        "a run that did not see it"
    );
    sb.now = Some("2026-06-04T00:00:00Z".into());
    scan(&sb, 0, ann, &[]);
    assert_eq!(last_seen(&sb), "2026-06-04T00:00:00Z");
    sb.now = Some("2026-06-05T00:00:00Z".into());
    scan(&sb, 0, ann, &[]);
    assert_eq!(last_seen(&sb), "2026-06-05T00:00:00Z", "seen unchanged");
    assert_eq!(sb.findings("all")[0]["first_seen"], "2026-06-01T00:00:00Z");
}
