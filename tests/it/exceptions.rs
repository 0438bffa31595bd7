//! Exceptions are policy and the exceptions file is the source of truth, through the real binary
//! and a real store: an entry removed from the file revokes its exception, an entry edited changes
//! it, `exceptions revoke` revokes one made on the command line, each with an event in the
//! finding's chain; unknown findings and bad expiries are reported naming file:line.

use crate::harness::Sandbox;
use serde_json::Value;

const HR: &str = "employee_id,email,status,termination_date,department\n\
E1,ann@example.com,terminated,2026-03-01,Engineering\n\
E2,ben@example.com,active,,Engineering\n";

const ANN: &str =
    "account,email,status,last_login,kind,owner,groups\nann,ann@example.com,active,,user,,\n";

/// A store with one open finding (ann's account, after she left), and its id.
fn setup() -> (Sandbox, String) {
    let sb = Sandbox::with_hr("2026-06-01T00:00:00Z", HR, "2026-05-01");
    scan(&sb);
    let id = sb.findings("open")[0]["id"].as_str().unwrap().to_string();
    sb.write("residual.toml", "exceptions = \"exceptions.toml\"\n");
    (sb, id)
}

fn scan(sb: &Sandbox) -> crate::harness::Run {
    let f = sb.write("crm.csv", ANN);
    sb.ok(&["scan", "inventory", "--system", "crm", f.to_str().unwrap()])
}

/// An exceptions file whose first entry's `finding` is on line 3 and `expires` on line 6.
fn entry(finding: &str, expires: &str) -> String {
    format!(
        "# accepted findings\n[[exception]]\nfinding = \"{finding}\"\nreason = \"batch job grace, ticket SEC-9\"\napprover = \"ciso@example.com\"\nexpires = \"{expires}\"\n"
    )
}

fn events(sb: &Sandbox, id: &str) -> Vec<Value> {
    sb.ok(&["audit", "log", "--finding", id, "--format", "json"])
        .json()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect()
}

fn exceptions(sb: &Sandbox) -> Vec<Value> {
    sb.ok(&["exceptions", "list", "--format", "json"])
        .json()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn removing_an_entry_from_the_exceptions_file_revokes_it_and_reopens_the_finding() {
    let (mut sb, id) = setup();
    sb.write("exceptions.toml", &entry(&id, "2026-12-31"));
    scan(&sb);
    assert_eq!(sb.findings("excepted").len(), 1);
    let exception = exceptions(&sb)[0]["id"].as_str().unwrap().to_string();

    sb.now = Some("2026-06-02T00:00:00Z".into());
    sb.write("exceptions.toml", "# nothing accepted any more\n");
    // A read shows it open at once; the next write (here an HR import) records it.
    assert_eq!(sb.findings("open").len(), 1);
    let hr = sb.write("hr2.csv", HR);
    sb.ok(&[
        "hr",
        "import",
        hr.to_str().unwrap(),
        "--as-of",
        "2026-06-02",
    ]);

    assert_eq!(sb.findings("open")[0]["id"], id.as_str());
    let log = events(&sb, &id);
    assert_eq!(kinds(&log), ["opened", "excepted", "exception_revoked"]);
    let revoked = log.last().unwrap();
    assert_eq!(revoked["detail"]["exception"], exception.as_str());
    assert_eq!(revoked["detail"]["via"], "file");
    sb.ok(&["audit", "verify"]);
    let listed = exceptions(&sb);
    assert_eq!(listed.len(), 1, "the row is kept: {listed:#?}");
    assert_eq!(listed[0]["status"], "revoked");
    assert_eq!(listed[0]["revoked_at"], "2026-06-02T00:00:00Z");
}

#[test]
fn shortening_expires_to_the_past_reopens_the_finding_with_exception_changed() {
    let (mut sb, id) = setup();
    sb.write("exceptions.toml", &entry(&id, "2026-12-31"));
    scan(&sb);
    let before = exceptions(&sb);
    assert_eq!(before[0]["status"], "live");

    sb.now = Some("2026-06-03T00:00:00Z".into());
    sb.write("exceptions.toml", &entry(&id, "2026-06-02"));
    scan(&sb);

    assert_eq!(sb.findings("open").len(), 1);
    let log = events(&sb, &id);
    assert_eq!(kinds(&log), ["opened", "excepted", "exception_changed"]);
    let changed = &log.last().unwrap()["detail"]["changed"]["expires_at"];
    assert_eq!(changed["from"], "2026-12-31T00:00:00Z");
    assert_eq!(changed["to"], "2026-06-02T00:00:00Z");
    let after = exceptions(&sb);
    assert_eq!(after.len(), 1, "the same exception, changed: {after:#?}");
    assert_eq!(after[0]["id"], before[0]["id"]);
    assert_eq!(after[0]["status"], "expired");
}

#[test]
fn exceptions_revoke_revokes_a_cli_exception_with_reason_who_and_when_in_the_chain() {
    let (mut sb, id) = setup();
    // The configured file has no entries: the sync before each write leaves CLI exceptions be.
    sb.write("exceptions.toml", "");
    let exception = sb
        .ok(&[
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
        ])
        .stdout
        .trim()
        .to_string();
    scan(&sb);
    assert_eq!(sb.findings("excepted").len(), 1, "the file sync kept it");

    sb.now = Some("2026-06-05T00:00:00Z".into());
    sb.ok(&[
        "exceptions",
        "revoke",
        &exception,
        "--reason",
        "account no longer shared",
        "--by",
        "alice",
    ]);
    assert_eq!(sb.findings("open")[0]["id"], id.as_str());
    let log = events(&sb, &id);
    assert_eq!(kinds(&log), ["opened", "excepted", "exception_revoked"]);
    let last = log.last().unwrap();
    assert_eq!(last["at"], "2026-06-05T00:00:00Z");
    assert_eq!(last["detail"]["reason"], "account no longer shared");
    assert_eq!(last["detail"]["by"], "alice");
    assert_eq!(last["detail"]["via"], "cli");
    sb.ok(&["audit", "verify"]);

    let before = sb.dump();
    let r = sb.expect(
        2,
        &["exceptions", "revoke", "EXC-nosuch", "--reason", "typo"],
    );
    assert!(r.stderr.contains("EXC-nosuch"), "{}", r.stderr);
    let r = sb.expect(
        2,
        &["exceptions", "revoke", &exception, "--reason", "again"],
    );
    assert!(r.stderr.contains("already revoked"), "{}", r.stderr);
    assert_eq!(sb.dump(), before, "a refused revoke changed the store");
}

#[test]
fn a_file_entry_naming_an_unknown_finding_is_reported_with_file_and_line() {
    let (sb, _) = setup();
    sb.write("exceptions.toml", &entry("0000nosuchfinding", "2026-12-31"));
    let r = sb.ok(&["exceptions", "list"]);
    assert!(
        r.stderr.contains("exceptions.toml:3") && r.stderr.contains("0000nosuchfinding"),
        "{}",
        r.stderr
    );
    let r = scan(&sb);
    assert!(
        r.stderr.contains("exceptions.toml:3") && r.stderr.contains("0000nosuchfinding"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_expiry_in_year_10000_or_beyond_max_exception_days_is_refused_naming_file_and_line() {
    let (sb, id) = setup();
    let crm = sb.path("crm.csv");
    let scan_args = [
        "scan",
        "inventory",
        "--system",
        "crm",
        crm.to_str().unwrap(),
    ];
    for (expires, says) in [
        ("+10000-01-01", "out of range"),
        ("2027-06-03", "policy.max_exception_days is 365"),
    ] {
        sb.write("exceptions.toml", &entry(&id, expires));
        let before = sb.dump();
        for args in [&scan_args[..], &["exceptions", "list"], &["findings"]] {
            let r = sb.expect(2, args);
            assert!(
                r.stderr.contains("exceptions.toml:6") && r.stderr.contains(says),
                "{args:?} with {expires}: {}",
                r.stderr
            );
        }
        assert_eq!(sb.dump(), before, "a refused file changed the store");
    }
    // A longer cap, when the configuration says so.
    sb.write(
        "residual.toml",
        "exceptions = \"exceptions.toml\"\n[policy]\nmax_exception_days = 400\n",
    );
    scan(&sb);
    assert_eq!(sb.findings("excepted").len(), 1);
}

/// The store's bytes: the database file and its write-ahead log (empty when there is none).
/// (A read-only open after the last writer closed creates an empty `-wal` and a `-shm` index
/// beside the store; neither holds data, so they are compared by content, not existence.)
fn store_bytes(sb: &Sandbox) -> (Vec<u8>, Vec<u8>) {
    let read = |name: &str| std::fs::read(sb.path(name)).unwrap_or_default();
    (read("residual.db"), read("residual.db-wal"))
}

#[test]
fn exceptions_list_and_findings_show_file_changes_and_leave_the_store_byte_identical() {
    let (mut sb, id) = setup();
    sb.write("exceptions.toml", &entry(&id, "2026-12-31"));
    scan(&sb);
    sb.now = Some("2026-06-02T00:00:00Z".into());
    sb.write("exceptions.toml", "");
    let before = (store_bytes(&sb), sb.dump());
    let open = sb.findings("open");
    assert_eq!(open.len(), 1, "shown open at once: {open:#?}");
    assert_eq!(exceptions(&sb)[0]["status"], "revoked");
    sb.ok(&["exceptions", "list"]);
    sb.ok(&["findings", "--state", "all"]);
    assert!(
        (store_bytes(&sb), sb.dump()) == before,
        "a read changed the store"
    );
}
