//! The hash-chained finding history: intact chains verify, an edited or removed row is named.

use crate::harness::Sandbox;

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
    // Three finding events (two opened, one resolved) and the cases' events.
    let log = sb.ok(&["audit", "log", "--format", "json"]).json();
    let log = log.as_array().unwrap();
    let findings = log
        .iter()
        .filter(|e| !e["finding_id"].as_str().unwrap().starts_with("case:"));
    assert_eq!(findings.count(), 3, "{log:?}");
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
