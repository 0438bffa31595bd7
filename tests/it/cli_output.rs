//! What a person or a pipe receives: JSON when stdout is not a terminal, tables that do not pass
//! control characters from swept systems through to the terminal.

use crate::harness::{fixture, Sandbox};

fn setup() -> Sandbox {
    Sandbox::with_example_hr()
}

/// `scan inventory` of the example CRM export, its output going into a pipe.
fn scan_crm(sb: &Sandbox) -> crate::harness::Run {
    let csv = fixture("inventory/crm.csv");
    sb.ok(&[
        "scan",
        "inventory",
        "--system",
        "crm",
        csv.to_str().unwrap(),
    ])
}

#[test]
fn scan_into_a_pipe_prints_json_not_a_table() {
    let sb = setup();
    let r = scan_crm(&sb);
    let open = r.json();
    assert!(
        open.as_array()
            .is_some_and(|a| a.iter().any(|f| f["rule"] == "leaver-active-account")),
        "{}",
        r.stdout
    );
}

#[test]
fn a_table_does_not_pass_escape_sequences_from_an_export_to_the_terminal() {
    let sb = setup();
    let export = sb.write(
        "evil.csv",
        "account,status\n\"evil\u{1b}[2J\u{1b}]0;owned\u{7}\rname\",active\n",
    );
    sb.ok(&[
        "scan",
        "inventory",
        "--system",
        "evil",
        export.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let r = sb.ok(&["findings", "--format", "table"]);
    assert!(r.stdout.contains("evil"), "{}", r.stdout);
    for c in ['\u{1b}', '\u{7}', '\r'] {
        assert!(
            !r.stdout.contains(c),
            "{c:?} reached the table: {:?}",
            r.stdout
        );
    }
}

#[test]
fn findings_system_takes_the_kind_or_the_name_and_says_what_exists() {
    let sb = setup();
    let csv = fixture("inventory/crm.csv");
    sb.ok(&[
        "scan",
        "inventory",
        "--system",
        "crm",
        csv.to_str().unwrap(),
    ]);
    let all = sb.ok(&["findings", "--format", "json"]).json();
    for asked in ["inventory:crm", "inventory", "crm"] {
        let r = sb
            .ok(&["findings", "--system", asked, "--format", "json"])
            .json();
        assert_eq!(r, all, "--system {asked}");
    }
    let r = sb.expect(2, &["findings", "--system", "crn"]);
    assert!(r.stderr.contains("inventory:crm"), "{}", r.stderr);
}

#[test]
fn an_unknown_rule_id_is_an_error_listing_the_rules() {
    let sb = setup();
    let csv = fixture("inventory/crm.csv");
    sb.ok(&[
        "scan",
        "inventory",
        "--system",
        "crm",
        csv.to_str().unwrap(),
    ]);
    let r = sb.expect(2, &["findings", "--rule", "leaver-active-acount"]);
    assert!(r.stderr.contains("leaver-active-account"), "{}", r.stderr);
}

/// In CI, cron mail or any log file, stderr is not a terminal: every progress line starts with
/// the time it was written (RFC 3339, UTC), so a slow step can be found in the log.
#[test]
fn progress_lines_carry_a_timestamp_when_stderr_is_not_a_terminal() {
    let sb = setup();
    let r = scan_crm(&sb);
    let lines: Vec<&str> = r.stderr.lines().filter(|l| l.contains("scan ")).collect();
    assert!(!lines.is_empty(), "{}", r.stderr);
    for line in lines {
        let (ts, _) = line.split_once(' ').unwrap_or_default();
        assert!(
            chrono::DateTime::parse_from_rfc3339(ts).is_ok() && ts.ends_with('Z'),
            "no timestamp on {line:?}"
        );
    }
}
