//! The inventory scanner: CSV and JSONL exports, linking by HR column, email, alias and employee
//! id, owners of non-human accounts, and bad rows named by line and field.

use crate::harness::{fixture, Sandbox};

fn setup() -> Sandbox {
    Sandbox::with_example_hr()
}

#[test]
fn the_example_export_raises_each_kind_of_finding() {
    let sb = setup();
    let r = sb.ok(&[
        "scan",
        "inventory",
        "--system",
        "crm",
        fixture("inventory/crm.csv").to_str().unwrap(),
        "--format",
        "json",
    ]);
    let open = r.json();
    let open = open.as_array().unwrap();
    let rules: Vec<(&str, &str)> = open
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["account"].as_str().unwrap()))
        .collect();
    assert!(
        rules.contains(&("leaver-active-account", "bob")),
        "{rules:?}"
    );
    assert!(
        rules.contains(&("credential-used-after-departure", "bob")),
        "bob logged in after 2026-09-30: {rules:?}"
    );
    assert!(
        rules.contains(&("leaver-owned-nhi", "crm-sync-bot")),
        "{rules:?}"
    );
    assert!(
        rules.contains(&("orphan-account", "temp-contractor")),
        "{rules:?}"
    );
    assert!(
        !rules.iter().any(|(_, a)| *a == "erin"),
        "erin's account is disabled: {rules:?}"
    );
    assert!(
        !rules.iter().any(|(_, a)| *a == "ada" || *a == "cdanvers"),
        "linked active people: {rules:?}"
    );
    let links: Vec<(String, String)> = {
        let conn = rusqlite::Connection::open(sb.db()).unwrap();
        let mut stmt = conn
            // The store keeps each method as a code that never changes (store::links::METHODS):
            // hr-column 1, email 2, alias 3.
            .prepare(
                "SELECT account, CASE method WHEN 1 THEN 'hr-column' WHEN 2 THEN 'email' \
                   WHEN 3 THEN 'alias' ELSE method END FROM links ORDER BY account",
            )
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.map(Result::unwrap).collect()
    };
    assert!(links.contains(&("ada".into(), "alias".into())), "{links:?}");
    assert!(
        links.contains(&("cdanvers".into(), "hr-column".into())),
        "crm_user column: {links:?}"
    );
    assert!(links.contains(&("bob".into(), "email".into())), "{links:?}");
}

#[test]
fn jsonl_exports_link_by_employee_id() {
    let sb = setup();
    let f = sb.write(
        "app.jsonl",
        "{\"account\": \"u-17\", \"employee_id\": \"E101\", \"status\": \"enabled\", \"groups\": [\"admins\", \"users\"]}\n\n{\"account\": \"u-18\", \"employee_id\": \"E100\", \"status\": \"enabled\"}\n",
    );
    let r = sb.ok(&[
        "scan",
        "inventory",
        "--system",
        "app",
        f.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let open = r.json();
    assert_eq!(open.as_array().unwrap().len(), 1, "{open:#?}");
    assert_eq!(open[0]["account"], "u-17");
    assert_eq!(
        open[0]["evidence"]["person"]["link"]["method"],
        "employee-id"
    );
}

#[test]
fn a_bad_row_names_line_and_field_and_records_nothing() {
    let sb = setup();
    let before = sb.dump();
    let f = sb.write(
        "bad.csv",
        "account,status,last_login\nok,active,2026-01-01\nx,active,yesterday\n",
    );
    let r = sb.expect(
        2,
        &["scan", "inventory", "--system", "crm", f.to_str().unwrap()],
    );
    assert!(
        r.stderr.contains("bad.csv:3") && r.stderr.contains("`last_login`"),
        "{}",
        r.stderr
    );
    let f = sb.write(
        "bad.jsonl",
        "{\"account\": \"a\"}\n{\"account\": \"b\", \"kind\": \"robot-overlord\"}\n",
    );
    let r = sb.expect(
        2,
        &["scan", "inventory", "--system", "crm", f.to_str().unwrap()],
    );
    assert!(
        r.stderr.contains("bad.jsonl:2") && r.stderr.contains("`kind`"),
        "{}",
        r.stderr
    );
    let f = sb.write("noacct.csv", "user,status\nx,active\n");
    let r = sb.expect(
        2,
        &["scan", "inventory", "--system", "crm", f.to_str().unwrap()],
    );
    assert!(
        r.stderr.contains("noacct.csv:1") && r.stderr.contains("`account`"),
        "{}",
        r.stderr
    );
    assert_eq!(before, sb.dump());
}

#[test]
fn a_mover_keeps_an_old_group_past_the_grace_period() {
    let mut sb = Sandbox::new();
    // The whole test runs on one clock: the audit chain refuses events dated before its last.
    sb.now = Some("2026-02-01T00:00:00Z".into());
    sb.write(
        "residual.toml",
        "[policy]\nmover_grace_days = 7\n[policy.departments]\nEngineering = [\"eng-prod\", \"all\"]\nFinance = [\"ledger\", \"all\"]\n",
    );
    let one = sb.write(
        "one.csv",
        "employee_id,email,department\nE1,ann@example.com,Engineering\n",
    );
    let two = sb.write(
        "two.csv",
        "employee_id,email,department\nE1,ann@example.com,Finance\n",
    );
    sb.ok(&[
        "hr",
        "import",
        one.to_str().unwrap(),
        "--as-of",
        "2026-01-01",
    ]);
    sb.ok(&[
        "hr",
        "import",
        two.to_str().unwrap(),
        "--as-of",
        "2026-02-01",
    ]);
    let crm = sb.write(
        "crm.csv",
        "account,email,groups\nann,ann@example.com,eng-prod;all;ledger\n",
    );
    sb.now = Some("2026-02-05T00:00:00Z".into());
    let r = sb.ok(&[
        "scan",
        "inventory",
        "--system",
        "crm",
        crm.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(
        r.json().as_array().unwrap().len(),
        0,
        "inside the grace period"
    );
    sb.now = Some("2026-02-09T00:00:00Z".into());
    let r = sb.ok(&[
        "scan",
        "inventory",
        "--system",
        "crm",
        crm.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let open = r.json();
    assert_eq!(open.as_array().unwrap().len(), 1, "{open:#?}");
    assert_eq!(open[0]["rule"], "mover-residual-entitlement");
    assert_eq!(open[0]["subject"], "ann/group/eng-prod");
    assert_eq!(open[0]["severity"], "medium");
}

#[cfg(unix)]
#[test]
fn the_store_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let sb = setup();
    let mode = std::fs::metadata(sb.db()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

/// One number from the store, for assertions about what runs wrote.
fn count(sb: &Sandbox, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(sb.db()).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn an_unchanged_second_run_stores_no_second_copy_of_what_it_saw() {
    let sb = setup();
    let crm = fixture("inventory/crm.csv");
    let args = [
        "scan",
        "inventory",
        "--system",
        "crm",
        crm.to_str().unwrap(),
    ];
    sb.ok(&args);
    let held = count(&sb, "SELECT COUNT(*) FROM observations");
    assert!(held > 0);
    sb.ok(&args);
    assert_eq!(
        count(&sb, "SELECT COUNT(*) FROM observations"),
        held,
        "the second run stored another copy"
    );
    let runs = sb.ok(&["runs", "--format", "json"]).json();
    assert_eq!(
        count(
            &sb,
            &format!(
                "SELECT COUNT(*) FROM observation_changes WHERE run_id = {}",
                runs[0]["id"]
            )
        ),
        0,
        "nothing changed, so nothing is written"
    );
    assert_eq!(
        runs[0]["accounts"], runs[1]["accounts"],
        "each run still counts what it saw"
    );
}

#[test]
fn a_complete_run_records_what_went_and_a_partial_run_never_does() {
    let sb = setup();
    let both = sb.write(
        "both.csv",
        "account,email,status\nann,ann@example.com,active\nben,ben@example.com,active\n",
    );
    let ben = sb.write(
        "ben.csv",
        "account,email,status\nben,ben@example.com,active\n",
    );
    sb.ok(&[
        "scan",
        "inventory",
        "--system",
        "crm",
        both.to_str().unwrap(),
    ]);
    sb.expect(
        3,
        &[
            "scan",
            "inventory",
            "--system",
            "crm",
            ben.to_str().unwrap(),
            "--partial",
        ],
    );
    let gone = "SELECT COUNT(*) FROM observations WHERE type = 1 AND account = 'ann' AND gone_run IS NOT NULL"; // type 1: an account (store::observations)
    assert_eq!(count(&sb, gone), 0, "a partial run marked ann gone");
    sb.ok(&[
        "scan",
        "inventory",
        "--system",
        "crm",
        ben.to_str().unwrap(),
    ]);
    assert_eq!(
        count(&sb, gone),
        1,
        "a complete run without ann proves her account gone"
    );
    assert_eq!(
        count(
            &sb,
            "SELECT COUNT(*) FROM observation_changes WHERE change = 'gone' AND run_id = 3"
        ),
        1
    );
}

/// An export of `rows` accounts `u0`…, none of them linked (each an orphan finding).
fn accounts_csv(rows: usize) -> String {
    let mut csv = String::from("account,status\n");
    for i in 0..rows {
        csv.push_str(&format!("u{i},active\n"));
    }
    csv
}

fn scan_export(sb: &Sandbox, code: i32, csv: &str, extra: &[&str]) -> crate::harness::Run {
    let file = sb.write("export.csv", csv);
    let mut args = vec![
        "scan",
        "inventory",
        "--system",
        "erp",
        file.to_str().unwrap(),
    ];
    args.extend(extra);
    sb.expect(code, &args)
}

#[test]
fn a_header_only_export_resolves_nothing_unless_allow_empty_says_it_is_real() {
    let sb = setup();
    scan_export(&sb, 0, &accounts_csv(4), &[]);
    let open = sb.findings("open").len();
    assert!(open >= 4);
    let run = scan_export(&sb, 3, "account,status\n", &[]);
    assert!(run.stderr.contains("holds no accounts"), "{}", run.stderr);
    assert_eq!(sb.findings("open").len(), open, "nothing was resolved");
    scan_export(&sb, 0, "account,status\n", &["--allow-empty"]);
    assert!(sb.findings("resolved").len() >= 4);
}

#[test]
fn an_export_that_lost_most_accounts_resolves_nothing_unless_allow_drop_says_it_is_real() {
    let sb = setup();
    scan_export(&sb, 0, &accounts_csv(10), &[]);
    // 10 -> 3 accounts: more than the default 50% gone.
    let run = scan_export(&sb, 3, &accounts_csv(3), &[]);
    assert!(
        run.stderr
            .contains("3 accounts where the last complete run saw 10"),
        "{}",
        run.stderr
    );
    assert!(sb.findings("resolved").is_empty());
    // 10 -> 6 is within the limit and resolves the 4 that went.
    scan_export(&sb, 0, &accounts_csv(6), &[]);
    assert_eq!(sb.findings("resolved").len(), 4);
    scan_export(&sb, 0, &accounts_csv(1), &["--allow-drop"]);
    assert_eq!(sb.findings("resolved").len(), 9);
}

/// A store holds each rule's remediation text once and its findings refer to it, yet every
/// output shows it filled in with the finding's system and account, as before.
#[test]
fn findings_refer_to_their_rules_remediation_text_and_show_it_filled_in() {
    let sb = setup();
    let crm = fixture("inventory/crm.csv");
    sb.ok(&[
        "scan",
        "inventory",
        "--system",
        "crm",
        crm.to_str().unwrap(),
    ]);
    let r = sb.ok(&["findings", "--format", "json"]);
    let listed = r.json();
    let bob = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "leaver-active-account" && f["account"] == "bob")
        .expect("bob's finding")
        .clone();
    let shown = bob["remediation"].as_str().unwrap();
    assert!(
        shown.contains("`bob`") && shown.contains("inventory:crm"),
        "{shown}"
    );
    assert!(!shown.contains("{account}") && !shown.contains("{system}"));
    let copies = count(
        &sb,
        "SELECT COUNT(*) FROM findings WHERE remediation LIKE '%bob%'",
    );
    assert_eq!(copies, 0, "the text is held once per rule, not per finding");
    assert!(count(&sb, "SELECT COUNT(*) FROM remediation_texts") > 0);
}

/// What a system holds is stored without repeating the account's name in its content (the
/// row's key names it), and reads back whole for an unchanged second run.
#[test]
fn observation_content_is_stored_compactly_and_an_unchanged_run_sees_no_change() {
    let sb = setup();
    let crm = fixture("inventory/crm.csv");
    let args = [
        "scan",
        "inventory",
        "--system",
        "crm",
        crm.to_str().unwrap(),
    ];
    sb.ok(&args);
    // Type 1: an account (store::observations keeps the type as a code).
    assert!(count(&sb, "SELECT COUNT(*) FROM observations WHERE type = 1") > 0);
    assert_eq!(
        count(
            &sb,
            "SELECT COUNT(*) FROM observations WHERE type = 1 AND data LIKE '%name%'"
        ),
        0,
        "the name is the row's key"
    );
    sb.ok(&args);
    assert_eq!(
        count(
            &sb,
            "SELECT COUNT(*) FROM observation_changes c JOIN scan_runs r ON r.id = c.run_id \
             WHERE r.id = (SELECT MAX(id) FROM scan_runs)"
        ),
        0
    );
}

/// The export is read on one thread and its rows turned into accounts on another: a bad row is
/// still the one reported when a record further on is malformed too (the first by line wins).
#[test]
fn the_first_bad_row_is_reported_when_a_later_record_is_malformed() {
    let sb = setup();
    let mut csv = String::from("account,status\n");
    for i in 0..5000 {
        csv.push_str(&format!("acct-{i},active\n"));
    }
    // Line 5002, then a record with a field too many on line 5003.
    csv.push_str("x,sleeping\ntoo,many,fields\n");
    let f = sb.write("late.csv", &csv);
    let r = sb.expect(
        2,
        &["scan", "inventory", "--system", "crm", f.to_str().unwrap()],
    );
    assert!(
        r.stderr.contains("late.csv:5002") && r.stderr.contains("`status`"),
        "{}",
        r.stderr
    );
}

/// An export is recorded a batch of accounts at a time (10,000), all in the run's one
/// transaction: a bad row past the first batch takes back what the batches before it wrote,
/// with an exceptions file that changed meanwhile (synced in the same transaction).
#[test]
fn a_bad_row_past_the_first_batch_records_nothing_of_the_batches_before_it() {
    let sb = setup();
    scan_export(&sb, 0, &accounts_csv(3), &[]);
    let id = sb.findings("open")[0]["id"].as_str().unwrap().to_string();
    sb.write(
        "exceptions.toml",
        &format!(
            "[[exception]]\nfinding = \"{id}\"\nreason = \"shared, rotated\"\napprover = \"sec@example.com\"\nexpires = \"2099-01-01\"\n"
        ),
    );
    sb.write("residual.toml", "exceptions = \"exceptions.toml\"\n");
    let before = sb.dump();
    let mut csv = accounts_csv(30_000);
    csv.push_str("late,sometimes\n");
    let r = scan_export(&sb, 2, &csv, &[]);
    assert!(
        r.stderr.contains("export.csv:30002") && r.stderr.contains("`status`"),
        "{}",
        r.stderr
    );
    assert_eq!(before, sb.dump(), "the refused export changed the store");
}

/// What a run handed over in batches records is what it saw, across batches: every account
/// once, each finding once, and what a later complete run no longer sees as gone (and its
/// findings resolved), whichever batch it was in.
#[test]
fn an_export_of_several_batches_records_each_account_once_and_what_went() {
    let sb = setup();
    scan_export(&sb, 0, &accounts_csv(60_000), &[]);
    assert_eq!(count(&sb, "SELECT COUNT(*) FROM observations"), 60_000);
    assert_eq!(
        count(&sb, "SELECT COUNT(*) FROM findings WHERE state = 'open'"),
        60_000
    );
    // Every 20th account went: some in each batch.
    let mut kept = String::from("account,status\n");
    for i in (0..60_000).filter(|i| i % 20 != 0) {
        kept.push_str(&format!("u{i},active\n"));
    }
    scan_export(&sb, 0, &kept, &[]);
    assert_eq!(
        count(
            &sb,
            "SELECT COUNT(*) FROM observations WHERE gone_run IS NOT NULL"
        ),
        3_000
    );
    assert_eq!(
        count(
            &sb,
            "SELECT COUNT(*) FROM findings WHERE state = 'resolved'"
        ),
        3_000
    );
    let runs = sb.ok(&["runs", "--format", "json"]).json();
    assert_eq!(runs[0]["accounts"], 57_000);
    assert_eq!(runs[1]["accounts"], 60_000);
}
