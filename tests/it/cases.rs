//! Cases through the binary: per leaver and mover event, the proof that every entitlement
//! collapsed in every configured system, and the transitions of that proof.

use crate::harness::Sandbox;
use serde_json::Value;

const HR: &str = "employee_id,email,name,status,termination_date,department\n\
    E1,ann@example.com,Ann Active,active,,Engineering\n\
    E2,lee@example.com,Lee Leaver,terminated,2026-11-01,Engineering\n";

const WITH_LEE: &str =
    "account,email,status\nann,ann@example.com,active\nlee,lee@example.com,active\n";
const WITHOUT_LEE: &str = "account,email,status\nann,ann@example.com,active\n";

/// A sandbox with Ann and the leaver Lee imported, and two inventory systems configured.
fn setup() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.now = Some("2026-11-02T00:00:00Z".into());
    sb.write("crm.csv", WITH_LEE);
    sb.write("ledger.csv", WITH_LEE);
    sb.write(
        "residual.toml",
        "[[scanner]]\nname = \"crm\"\nkind = \"inventory\"\nfile = \"crm.csv\"\n\n\
         [[scanner]]\nname = \"ledger\"\nkind = \"inventory\"\nfile = \"ledger.csv\"\n",
    );
    let hr = sb.write("hr.csv", HR);
    sb.ok(&[
        "hr",
        "import",
        hr.to_str().unwrap(),
        "--as-of",
        "2026-11-02",
    ]);
    sb
}

fn case_of_lee(sb: &Sandbox) -> Value {
    sb.ok(&["case", "E2", "--format", "json"]).json()
}

fn system_state(case: &Value, system: &str) -> String {
    case["systems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["system"] == system)
        .map(|s| s["state"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no {system} in {case}"))
}

#[test]
fn a_leaver_case_is_verified_only_when_every_configured_system_was_covered_after_the_event() {
    let mut sb = setup();
    let case = case_of_lee(&sb);
    assert_eq!(case["case"]["state"], "open", "{case}");
    assert_eq!(system_state(&case, "inventory:crm"), "not-covered");
    assert_eq!(system_state(&case, "inventory:ledger"), "not-covered");

    // The crm still holds Lee: residual there; the ledger never ran.
    sb.now = Some("2026-11-02T01:00:00Z".into());
    let r = sb.expect(1, &["scan", "crm", "--fail-on", "low"]);
    assert!(
        !r.stderr.contains("case CASE-"),
        "still open: no change to print\n{}",
        r.stderr
    );
    let case = case_of_lee(&sb);
    assert_eq!(system_state(&case, "inventory:crm"), "residual");
    assert_eq!(system_state(&case, "inventory:ledger"), "not-covered");

    // Lee removed from the crm: clean there, proven by the run that resolved the finding.
    sb.write("crm.csv", WITHOUT_LEE);
    sb.now = Some("2026-11-02T02:00:00Z".into());
    sb.ok(&["scan", "crm"]);
    let case = case_of_lee(&sb);
    assert_eq!(system_state(&case, "inventory:crm"), "clean");
    assert_eq!(
        case["case"]["state"], "open",
        "the ledger is not covered yet"
    );

    // A partial ledger run proves nothing.
    let ledger = sb.path("ledger.csv");
    sb.write("ledger.csv", WITHOUT_LEE);
    sb.expect(
        3,
        &[
            "scan",
            "inventory",
            "--system",
            "ledger",
            ledger.to_str().unwrap(),
            "--partial",
        ],
    );
    assert_eq!(
        system_state(&case_of_lee(&sb), "inventory:ledger"),
        "not-covered"
    );

    // A complete ledger run without Lee: every system proven, the case is verified.
    sb.now = Some("2026-11-02T03:00:00Z".into());
    let r = sb.ok(&["scan", "ledger"]);
    assert!(r.stderr.contains("open → verified"), "{}", r.stderr);
    let case = case_of_lee(&sb);
    assert_eq!(case["case"]["state"], "verified", "{case}");
    assert_eq!(case["case"]["verified_at"], "2026-11-02T03:00:00Z");
    assert_eq!(case["case"]["hours_to_collapse"], 27.0);
    let kinds: Vec<&str> = case["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "hr_leaver",
        "finding_opened",
        "finding_resolved",
        "case_opened",
        "case_verified",
        "proving_run",
    ] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }

    // Lee's account comes back: the verified case re-opens, with a chained event.
    sb.write("crm.csv", WITH_LEE);
    sb.now = Some("2026-11-03T00:00:00Z".into());
    let r = sb.run(&["scan", "crm"]);
    assert!(r.stderr.contains("verified → open"), "{}", r.stderr);
    let case = case_of_lee(&sb);
    assert_eq!(case["case"]["state"], "open");
    let log = sb.ok(&["audit", "log", "--format", "json"]).json();
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"] == "case_reopened"),
        "{log}"
    );
    sb.ok(&["audit", "verify"]);
}

#[test]
fn a_scanner_that_never_ran_keeps_the_case_open_and_overdue_after_the_sla() {
    let mut sb = setup();
    sb.write("crm.csv", WITHOUT_LEE);
    sb.now = Some("2026-11-02T01:00:00Z".into());
    sb.ok(&["scan", "crm"]);
    let list = sb.ok(&["cases", "--format", "json"]).json();
    let lee = &list.as_array().unwrap()[0];
    assert_eq!(lee["employee_id"], "E2");
    assert_eq!(lee["state"], "open");
    assert_eq!(lee["systems_not_covered"], 1, "{lee}");
    // Terminated 2026-11-01, SLA 24 h: overdue since 2026-11-02.
    assert_eq!(lee["overdue"], true);
    sb.expect(1, &["cases", "--fail-on-overdue"]);
    let overdue = sb
        .ok(&["cases", "--state", "overdue", "--format", "json"])
        .json();
    assert_eq!(overdue.as_array().unwrap().len(), 1);
}

#[test]
fn a_mover_is_overdue_only_after_the_grace_period_and_the_sla() {
    let mut sb = Sandbox::new();
    sb.now = Some("2026-11-01T00:00:00Z".into());
    let hr = sb.write(
        "hr.csv",
        "employee_id,email,name,status,department\nE3,mo@example.com,Mo Mover,active,Sales\n",
    );
    sb.ok(&[
        "hr",
        "import",
        hr.to_str().unwrap(),
        "--as-of",
        "2026-11-01",
    ]);
    let hr = sb.write(
        "hr.csv",
        "employee_id,email,name,status,department\nE3,mo@example.com,Mo Mover,active,Finance\n",
    );
    sb.now = Some("2026-11-02T00:00:00Z".into());
    sb.ok(&[
        "hr",
        "import",
        hr.to_str().unwrap(),
        "--as-of",
        "2026-11-02",
    ]);
    // Grace 7 days + SLA 24 h from 2026-11-02: overdue from 2026-11-10.
    sb.now = Some("2026-11-09T12:00:00Z".into());
    let list = sb.ok(&["cases", "--format", "json"]).json();
    assert_eq!(list[0]["event"], "mover", "{list}");
    assert_eq!(list[0]["overdue"], false, "{list}");
    sb.now = Some("2026-11-10T00:00:01Z".into());
    let list = sb.ok(&["cases", "--format", "json"]).json();
    assert_eq!(list[0]["overdue"], true, "{list}");
}

#[test]
fn an_exception_makes_a_case_excepted_and_its_expiry_reopens_it() {
    let mut sb = setup();
    sb.write("ledger.csv", WITHOUT_LEE);
    sb.now = Some("2026-11-02T01:00:00Z".into());
    sb.run(&["scan"]);
    let open = sb.findings("open");
    let lee = open
        .iter()
        .find(|f| f["account"] == "lee")
        .expect("lee's finding");
    let id = lee["id"].as_str().unwrap();
    sb.ok(&[
        "exceptions",
        "add",
        "--finding",
        id,
        "--reason",
        "legal hold on the mailbox",
        "--expires",
        "2026-12-01",
        "--approver",
        "ciso@example.com",
    ]);
    sb.now = Some("2026-11-02T02:00:00Z".into());
    sb.ok(&["scan"]);
    let case = case_of_lee(&sb);
    assert_eq!(case["case"]["state"], "excepted", "{case}");
    assert_eq!(system_state(&case, "inventory:crm"), "excepted");
    // Read after the expiry: the case is open again.
    sb.now = Some("2026-12-02T00:00:00Z".into());
    let case = case_of_lee(&sb);
    assert_eq!(case["case"]["state"], "open", "{case}");
}

#[test]
fn reading_cases_leaves_the_store_unchanged() {
    let sb = setup();
    let before = std::fs::read(sb.db()).unwrap();
    sb.ok(&["cases", "--format", "json"]);
    sb.ok(&["case", "E2", "--format", "json"]);
    sb.ok(&["case", "CASE-2", "--format", "table"]);
    sb.expect(2, &["case", "E404"]);
    assert_eq!(std::fs::read(sb.db()).unwrap(), before);
}

/// An Identity Center instance's system (`aws-sso:<identity store id>`) is known only once its
/// scanner ran; until then `aws-sso:*` stands for it, so a case cannot be verified without it.
#[test]
fn an_identity_center_scanner_that_never_ran_keeps_the_case_open() {
    let sb = setup();
    let mut config = std::fs::read_to_string(sb.path("residual.toml")).unwrap();
    config.push_str("\n[[scanner]]\nname = \"sso\"\nkind = \"aws-sso\"\n");
    sb.write("residual.toml", &config);
    let case = case_of_lee(&sb);
    assert_eq!(system_state(&case, "aws-sso:*"), "not-covered");
}
