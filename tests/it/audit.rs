//! The audit chain: intact chains verify and print their head, a recorded head catches a
//! truncated tail, an edited or removed row is named, edits of the tables the chain speaks for
//! are caught by cross-checks, a rewrite with plain SHA-256 fails with the key, HR snapshots and
//! scan runs are entries of the chain, and no event is dated before the chain's last one.

use crate::harness::Sandbox;
use serde_json::Value;
use sha2::{Digest, Sha256};

fn store_with_history() -> Sandbox {
    let mut sb = Sandbox::new();
    sb.now = Some("2026-06-01T00:00:00Z".into());
    let hr = sb.write(
        "hr.csv",
        "employee_id,email,status\nE1,ann@example.com,terminated\nE2,ben@example.com,leaver\n",
    );
    sb.ok(&[
        "hr",
        "import",
        hr.to_str().unwrap(),
        "--as-of",
        "2026-05-01",
    ]);
    let crm = sb.write(
        "crm.csv",
        "account,email\nann,ann@example.com\nben,ben@example.com\n",
    );
    sb.ok(&[
        "scan",
        "inventory",
        "--system",
        "crm",
        crm.to_str().unwrap(),
    ]);
    sb.now = Some("2026-06-02T00:00:00Z".into());
    let crm = sb.write("crm.csv", "account,email\nben,ben@example.com\n");
    sb.ok(&[
        "scan",
        "inventory",
        "--system",
        "crm",
        crm.to_str().unwrap(),
    ]);
    sb
}

fn tamper(sb: &Sandbox, sql: &str) {
    let conn = rusqlite::Connection::open(sb.db()).unwrap();
    // Someone with write access to the file can drop the append-only triggers; the chain still tells.
    conn.execute_batch(&format!(
        "DROP TRIGGER finding_events_no_update; DROP TRIGGER finding_events_no_delete; {sql}"
    ))
    .unwrap();
}

#[test]
fn an_intact_chain_verifies() {
    let sb = store_with_history();
    let r = sb.ok(&["audit", "verify"]);
    // Snapshot 1, run 1, two findings opened, run 2, one resolved; then the cases' events.
    let log = sb.ok(&["audit", "log", "--format", "json"]).json();
    let log = log.as_array().unwrap();
    let others = log
        .iter()
        .filter(|e| !e["finding_id"].as_str().unwrap().starts_with("case:"));
    assert_eq!(others.count(), 6, "{log:?}");
    assert!(
        r.stdout.contains(&format!("intact: {} events", log.len())),
        "{}",
        r.stdout
    );
}

#[test]
fn the_store_refuses_updates_and_deletes_of_events() {
    let sb = store_with_history();
    let conn = rusqlite::Connection::open(sb.db()).unwrap();
    assert!(conn
        .execute("UPDATE finding_events SET event = 'x' WHERE seq = 1", [])
        .is_err());
    assert!(conn
        .execute("DELETE FROM finding_events WHERE seq = 1", [])
        .is_err());
}

#[test]
fn an_edited_event_is_named() {
    let sb = store_with_history();
    tamper(
        &sb,
        "UPDATE finding_events SET at = '2020-01-01T00:00:00Z' WHERE seq = 2",
    );
    let r = sb.expect(1, &["audit", "verify"]);
    assert!(
        r.stdout.contains("event 2") && r.stdout.contains("changed"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_removed_event_is_named() {
    let sb = store_with_history();
    tamper(&sb, "DELETE FROM finding_events WHERE seq = 2");
    let r = sb.expect(1, &["audit", "verify"]);
    assert!(r.stdout.contains("event 2 is missing"), "{}", r.stdout);
}

#[test]
fn a_rewritten_hash_breaks_the_next_link() {
    let sb = store_with_history();
    tamper(
        &sb,
        "UPDATE finding_events SET detail = '{}', hash = 'ff' WHERE seq = 1",
    );
    let r = sb.expect(1, &["audit", "verify"]);
    assert!(r.stdout.contains("event 1"), "{}", r.stdout);
}

/// The `head SEQ:HASH` line `audit verify` prints.
fn head(sb: &Sandbox) -> String {
    let r = sb.ok(&["audit", "verify"]);
    r.stdout
        .lines()
        .find_map(|l| l.strip_prefix("head "))
        .unwrap_or_else(|| panic!("no head line: {}", r.stdout))
        .to_string()
}

fn log(sb: &Sandbox) -> Vec<Value> {
    sb.ok(&["audit", "log", "--format", "json"])
        .json()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn scan_crm(sb: &Sandbox, csv: &str) {
    let crm = sb.write("crm.csv", csv);
    sb.ok(&[
        "scan",
        "inventory",
        "--system",
        "crm",
        crm.to_str().unwrap(),
    ]);
}

#[test]
fn verify_prints_the_head_and_a_recorded_head_still_in_the_chain_passes() {
    let mut sb = store_with_history();
    let recorded = head(&sb);
    let events = log(&sb);
    let last = events.last().unwrap();
    assert_eq!(
        recorded,
        format!("{}:{}", last["seq"], last["hash"].as_str().unwrap())
    );
    // More events later; the recorded head is still in the chain, unchanged.
    sb.now = Some("2026-06-03T00:00:00Z".into());
    scan_crm(
        &sb,
        "account,email\nann,ann@example.com\nben,ben@example.com\n",
    );
    let r = sb.ok(&["audit", "verify", "--expect-head", &recorded]);
    assert!(
        r.stdout.contains("recorded head is in the chain"),
        "{}",
        r.stdout
    );
    assert_ne!(head(&sb), recorded);
}

#[test]
fn a_tail_truncated_after_the_head_was_recorded_is_caught_with_expect_head() {
    let mut sb = store_with_history();
    let recorded = head(&sb);
    let seq: i64 = recorded.split(':').next().unwrap().parse().unwrap();
    sb.now = Some("2026-06-03T00:00:00Z".into());
    scan_crm(
        &sb,
        "account,email\nann,ann@example.com\nben,ben@example.com\n",
    );
    // Someone removes the last events, back past the recorded head; what is left still links.
    tamper(
        &sb,
        &format!("DELETE FROM finding_events WHERE seq >= {seq}"),
    );
    let r = sb.expect(1, &["audit", "verify", "--expect-head", &recorded]);
    assert!(
        r.stdout
            .contains(&format!("recorded head {recorded} is gone"))
            && r.stdout.contains("truncated"),
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("\nhead "),
        "no head of a broken chain: {}",
        r.stdout
    );
}

#[test]
fn a_malformed_expected_head_is_a_usage_error() {
    let sb = store_with_history();
    let r = sb.expect(2, &["audit", "verify", "--expect-head", "12"]);
    assert!(r.stderr.contains("SEQ:HASH"), "{}", r.stderr);
}

#[test]
fn audit_log_json_and_jsonl_carry_each_events_prev_hash_and_hash() {
    let sb = store_with_history();
    let events = log(&sb);
    assert_eq!(events[0]["prev_hash"], "0".repeat(64));
    for pair in events.windows(2) {
        assert_eq!(pair[1]["prev_hash"], pair[0]["hash"], "{pair:#?}");
        assert_eq!(pair[1]["hash"].as_str().unwrap().len(), 64);
    }
    let jsonl = sb.ok(&["audit", "log", "--format", "jsonl"]).stdout;
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), events.len());
    assert!(lines
        .iter()
        .all(|e| e["hash"].is_string() && e["prev_hash"].is_string()));
}

#[test]
fn a_findings_state_edited_in_sql_is_flagged() {
    let sb = store_with_history();
    let conn = rusqlite::Connection::open(sb.db()).unwrap();
    // No event is touched: only the findings table says the open finding was resolved.
    let n = conn
        .execute(
            "UPDATE findings SET state = 'resolved', resolved_at = '2026-06-02T00:00:00Z' WHERE state = 'open'",
            [],
        )
        .unwrap();
    assert_eq!(n, 1);
    let r = sb.expect(1, &["audit", "verify"]);
    assert!(
        r.stdout.contains("is resolved, but its last event")
            && r.stdout.contains("findings table was edited"),
        "{}",
        r.stdout
    );
}

#[test]
fn an_emptied_chain_is_flagged() {
    let sb = store_with_history();
    tamper(&sb, "DELETE FROM finding_events");
    let r = sb.expect(1, &["audit", "verify"]);
    for what in [
        "trigger finding_events_no_update is missing",
        "trigger finding_events_no_delete is missing",
        "has no event in the chain",
        "snapshot 1 has no entry in the chain",
        "run 2 (complete, inventory:crm) has no entry in the chain",
    ] {
        assert!(r.stdout.contains(what), "{what}: {}", r.stdout);
    }
}

/// Rewrites every event's hash with plain SHA-256 (what anyone can compute), relinking the
/// chain, as someone with the store but not the chain key would.
fn rewrite_with_plain_sha256(sb: &Sandbox) {
    tamper(sb, "");
    let conn = rusqlite::Connection::open(sb.db()).unwrap();
    let rows: Vec<(i64, String, String, String, Option<i64>, String)> = conn
        .prepare(
            "SELECT seq, finding_id, event, at, run_id, detail FROM finding_events ORDER BY seq",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut prev = "0".repeat(64);
    for (seq, fid, event, at, run_id, detail) in rows {
        let mut h = Sha256::new();
        let run = run_id.map(|r| r.to_string()).unwrap_or_default();
        for part in [
            seq.to_string().as_str(),
            &fid,
            &event,
            &at,
            &run,
            &detail,
            &prev,
        ] {
            h.update(part.as_bytes());
            h.update([0x1f]);
        }
        let hash = hex::encode(h.finalize());
        conn.execute(
            "UPDATE finding_events SET prev_hash = ?1, hash = ?2, scheme = 'sha256' WHERE seq = ?3",
            rusqlite::params![prev, hash, seq],
        )
        .unwrap();
        prev = hash;
    }
}

#[test]
fn a_rewrite_of_the_whole_chain_with_plain_sha256_is_detected_with_the_key() {
    let sb = store_with_history();
    rewrite_with_plain_sha256(&sb);
    let r = sb.expect(1, &["audit", "verify"]);
    assert!(
        r.stdout
            .contains("event 1 has a plain SHA-256 hash, but the chain is keyed from event 1"),
        "{}",
        r.stdout
    );
}

#[test]
fn without_the_chain_key_verify_says_it_cannot_check_the_keyed_hashes() {
    let sb = store_with_history();
    std::fs::rename(sb.path("residual.db.chain-key"), sb.path("elsewhere.key")).unwrap();
    let r = sb.expect(1, &["audit", "verify"]);
    // Six events of the history plus the three of its two cases (opened; one verified).
    assert!(
        r.stdout
            .contains("9 keyed events could NOT be checked: no chain key"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("head "), "{}", r.stdout);
    // The key kept elsewhere, named by the environment, checks them.
    let mut sb = sb;
    sb.env.push((
        "RESIDUAL_CHAIN_KEY_FILE".into(),
        sb.path("elsewhere.key").to_str().unwrap().into(),
    ));
    sb.ok(&["audit", "verify"]);
}

#[test]
fn a_write_without_the_stores_chain_key_is_refused_and_makes_no_new_key() {
    let sb = store_with_history();
    std::fs::remove_file(sb.path("residual.db.chain-key")).unwrap();
    let before = sb.dump();
    let crm = sb.write("crm.csv", "account,email\nben,ben@example.com\n");
    let r = sb.expect(
        2,
        &[
            "scan",
            "inventory",
            "--system",
            "crm",
            crm.to_str().unwrap(),
        ],
    );
    assert!(
        r.stderr.contains("chain key") && r.stderr.contains("is missing"),
        "{}",
        r.stderr
    );
    assert!(!sb.path("residual.db.chain-key").exists());
    assert_eq!(sb.dump(), before);
}

#[test]
fn hr_snapshots_and_scan_runs_are_entries_of_the_chain() {
    let sb = store_with_history();
    let events = log(&sb);
    let snapshot = events
        .iter()
        .find(|e| e["event"] == "hr_snapshot")
        .expect("a snapshot entry");
    let hr = std::fs::read(sb.path("hr.csv")).unwrap();
    assert_eq!(snapshot["finding_id"], "snapshot:1");
    assert_eq!(
        snapshot["detail"]["digest"],
        hex::encode(Sha256::digest(&hr))
    );
    assert_eq!(snapshot["detail"]["people"], 2);
    let runs: Vec<&Value> = events.iter().filter(|e| e["event"] == "scan_run").collect();
    assert_eq!(runs.len(), 2, "{events:#?}");
    let crm = std::fs::read(sb.path("crm.csv")).unwrap();
    assert_eq!(runs[1]["finding_id"], "run:2");
    assert_eq!(runs[1]["detail"]["status"], "complete");
    assert_eq!(runs[1]["detail"]["system"], "inventory:crm");
    assert_eq!(
        runs[1]["detail"]["input_digest"],
        format!("sha256:{}", hex::encode(Sha256::digest(&crm)))
    );
    // The run's entry comes before the resolution it proves.
    let resolved = events.iter().find(|e| e["event"] == "resolved").unwrap();
    assert!(runs[1]["seq"].as_i64() < resolved["seq"].as_i64());
    // Entries are not findings.
    assert!(sb
        .findings("all")
        .iter()
        .all(|f| !f["id"].as_str().unwrap().contains(':')));
}

#[test]
fn a_git_runs_entry_carries_a_digest_of_the_ref_tips() {
    let sb = Sandbox::with_hr(
        "2026-06-01T00:00:00Z",
        "employee_id,email,status\nE1,ann@example.com,active\n",
        "2026-04-01",
    );
    let repo = crate::harness::repo::build_repo(&sb);
    sb.ok(&["scan", "git", repo.to_str().unwrap()]);
    let events = log(&sb);
    let run = events.iter().find(|e| e["event"] == "scan_run").unwrap();
    let digest = run["detail"]["input_digest"].as_str().unwrap();
    assert!(
        digest.starts_with("ref-tips-sha256:") && digest.len() == 16 + 64,
        "{digest}"
    );
}

#[test]
fn a_scan_runs_status_edited_in_sql_is_flagged() {
    let sb = store_with_history();
    let conn = rusqlite::Connection::open(sb.db()).unwrap();
    conn.execute("UPDATE scan_runs SET status = 'partial' WHERE id = 2", [])
        .unwrap();
    let r = sb.expect(1, &["audit", "verify"]);
    assert!(
        r.stdout.contains(
            "run 2 is a partial run of inventory:crm, but the chain recorded a complete run"
        ),
        "{}",
        r.stdout
    );
}

#[test]
fn an_exceptions_expiry_extended_in_sql_is_flagged() {
    let sb = store_with_history();
    let id = sb.findings("open")[0]["id"].as_str().unwrap().to_string();
    sb.ok(&[
        "exceptions",
        "add",
        "--finding",
        &id,
        "--reason",
        "shared account, rotated",
        "--expires",
        "2026-09-01",
        "--approver",
        "ciso@example.com",
    ]);
    sb.ok(&["audit", "verify"]);
    let conn = rusqlite::Connection::open(sb.db()).unwrap();
    conn.execute(
        "UPDATE exceptions SET expires_at = '2030-01-01T00:00:00Z'",
        [],
    )
    .unwrap();
    let r = sb.expect(1, &["audit", "verify"]);
    assert!(
        r.stdout.contains("expires 2030-01-01T00:00:00Z")
            && r.stdout.contains("exceptions table was edited"),
        "{}",
        r.stdout
    );
}

/// The store's files, byte for byte.
fn store_bytes(sb: &Sandbox) -> Vec<(String, Vec<u8>)> {
    ["residual.db", "residual.db-wal", "residual.db.chain-key"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(sb.path(f)).unwrap_or_default()))
        .collect()
}

#[test]
fn a_now_before_the_chains_last_event_is_refused_and_writes_nothing() {
    let mut sb = store_with_history();
    let before = store_bytes(&sb);
    sb.now = Some("2026-06-01T12:00:00Z".into());
    let crm = sb.write("crm.csv", "account,email\n");
    let hr = sb.write(
        "hr2.csv",
        "employee_id,email,status\nE1,ann@example.com,terminated\n",
    );
    let id = sb.findings("open")[0]["id"].as_str().unwrap().to_string();
    for args in [
        vec![
            "scan",
            "inventory",
            "--system",
            "crm",
            "--allow-empty",
            crm.to_str().unwrap(),
        ],
        vec![
            "hr",
            "import",
            hr.to_str().unwrap(),
            "--as-of",
            "2026-05-02",
        ],
        vec![
            "exceptions",
            "add",
            "--finding",
            &id,
            "--reason",
            "r",
            "--expires",
            "2026-09-01",
            "--approver",
            "a",
        ],
    ] {
        let r = sb.expect(2, &args);
        assert!(
            r.stderr
                .contains("--now 2026-06-01T12:00:00Z is before the audit chain's last event")
                && r.stderr.contains("2026-06-02T00:00:00Z"),
            "{args:?}: {}",
            r.stderr
        );
        assert!(store_bytes(&sb) == before, "{args:?} changed the store");
    }
    // At or after the last event's time, writing goes on.
    sb.now = Some("2026-06-02T00:00:00Z".into());
    scan_crm(&sb, "account,email\nben,ben@example.com\n");
    sb.ok(&["audit", "verify"]);
}

#[test]
fn a_clock_that_went_back_is_refused_like_an_early_now() {
    let mut sb = Sandbox::new();
    // The chain's last event is dated later than the machine's clock will ever read in this test.
    sb.now = Some("2099-01-01T00:00:00Z".into());
    let hr = sb.write(
        "hr.csv",
        "employee_id,email,status\nE1,ann@example.com,active\n",
    );
    sb.ok(&["hr", "import", hr.to_str().unwrap()]);
    let before = store_bytes(&sb);
    sb.now = None;
    let r = sb.expect(2, &["hr", "import", hr.to_str().unwrap()]);
    assert!(
        r.stderr.contains("the clock reads")
            && r.stderr
                .contains("before the audit chain's last event (event 1, at 2099-01-01T00:00:00Z)"),
        "{}",
        r.stderr
    );
    assert!(store_bytes(&sb) == before, "the store changed");
}

#[test]
fn a_removed_seal_is_flagged_and_the_next_write_is_refused() {
    let sb = store_with_history();
    let conn = rusqlite::Connection::open(sb.db()).unwrap();
    conn.execute_batch("DROP TRIGGER chain_seal_no_delete; DELETE FROM chain_seal;")
        .unwrap();
    drop(conn);
    let r = sb.expect(1, &["audit", "verify"]);
    assert!(r.stdout.contains("the chain has no seal"), "{}", r.stdout);
    assert!(
        r.stdout.contains("trigger chain_seal_no_delete is missing"),
        "{}",
        r.stdout
    );
    let crm = sb.write("crm.csv", "account,email\nben,ben@example.com\n");
    let r = sb.expect(
        2,
        &[
            "scan",
            "inventory",
            "--system",
            "crm",
            crm.to_str().unwrap(),
        ],
    );
    assert!(
        r.stderr.contains("was never sealed with it"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_later_exception_taking_over_verifies_and_a_made_up_one_is_flagged() {
    let sb = store_with_history();
    let id = sb.findings("open")[0]["id"].as_str().unwrap().to_string();
    for expires in ["2026-09-01", "2026-12-01"] {
        sb.ok(&[
            "exceptions",
            "add",
            "--finding",
            &id,
            "--reason",
            "shared account, rotated",
            "--expires",
            expires,
            "--approver",
            "ciso@example.com",
        ]);
    }
    // The run sees the finding under the exception that expires last: no event, and that fits.
    scan_crm(&sb, "account,email\nben,ben@example.com\n");
    sb.ok(&["audit", "verify"]);
    let conn = rusqlite::Connection::open(sb.db()).unwrap();
    conn.execute("UPDATE findings SET exception_id = 'EXC-made-up'", [])
        .unwrap();
    let r = sb.expect(1, &["audit", "verify"]);
    assert!(
        r.stdout.contains(&format!(
            "finding {id} is excepted by EXC-made-up, which is no exception of this finding"
        )),
        "{}",
        r.stdout
    );
}

#[test]
fn a_runs_coverage_edited_in_sql_is_flagged() {
    let sb = store_with_history();
    let conn = rusqlite::Connection::open(sb.db()).unwrap();
    let coverage: String = conn
        .query_row("SELECT coverage FROM scan_runs WHERE id = 2", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(coverage.contains("accounts"), "{coverage}");
    // Claim the run missed its one unit (which would have stopped it resolving anything).
    conn.execute(
        "UPDATE scan_runs SET coverage = ?1 WHERE id = 2",
        [r#"[{"name":"accounts","missed":{"unit":"accounts","class":"error","reason":"edited"}}]"#],
    )
    .unwrap();
    let r = sb.expect(1, &["audit", "verify"]);
    assert!(
        r.stdout.contains(
            "run 2 of inventory:crm missed [accounts], but the chain recorded that it missed []"
        ),
        "{}",
        r.stdout
    );
}
