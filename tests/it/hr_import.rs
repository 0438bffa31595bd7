//! HR snapshots through the real binary: each format, snapshot-to-snapshot leaver and mover
//! detection, and bad input that names file, line and field and changes nothing.

use crate::harness::{fixture, Sandbox};
use serde_json::Value;

fn people(sb: &Sandbox, status: Option<&str>) -> Vec<Value> {
    let mut args = vec!["hr", "people", "--format", "json"];
    if let Some(s) = status {
        args.extend(["--status", s]);
    }
    sb.ok(&args).json().as_array().cloned().unwrap_or_default()
}

fn person<'a>(list: &'a [Value], id: &str) -> &'a Value {
    list.iter()
        .find(|p| p["employee_id"] == id)
        .unwrap_or_else(|| panic!("no person {id} in {list:?}"))
}

#[test]
fn csv_with_a_byte_order_mark_and_quoted_fields_imports() {
    let sb = Sandbox::new();
    let file = fixture("hr/people-bom.csv");
    sb.ok(&["hr", "import", file.to_str().unwrap()]);
    let list = people(&sb, None);
    assert_eq!(list.len(), 2);
    let ann = person(&list, "E1");
    assert_eq!(ann["name"], "Doe, Ann");
    assert_eq!(ann["status"], "active");
    assert_eq!(
        ann["aliases"],
        serde_json::json!(["ann.doe@example.com", "ad@example.com"])
    );
    let ben = person(&list, "E2");
    assert_eq!(ben["email"], "ben@example.com", "emails are lower-cased");
    assert_eq!(ben["status"], "leaver");
    assert_eq!(ben["terminated_at"], "2026-02-01T00:00:00Z");
}

#[test]
fn json_array_imports_with_numbers_and_alias_arrays() {
    let sb = Sandbox::new();
    sb.ok(&[
        "hr",
        "import",
        fixture("hr/people.json").to_str().unwrap(),
        "--as-of",
        "2026-09-01",
    ]);
    let list = people(&sb, None);
    assert_eq!(
        person(&list, "E200")["aliases"],
        serde_json::json!(["ivy@example.com", "ichen@corp.example.com"])
    );
    assert_eq!(person(&list, "201")["status"], "leaver");
    assert_eq!(
        person(&list, "E202")["status"],
        "leaver",
        "inactive counts as a leaver"
    );
}

#[test]
fn scim_list_response_imports_with_inactive_users_as_leavers() {
    let sb = Sandbox::new();
    sb.ok(&[
        "hr",
        "import",
        fixture("hr/scim-users.json").to_str().unwrap(),
    ]);
    let list = people(&sb, None);
    assert_eq!(list.len(), 3);
    let babs = person(&list, "701984");
    assert_eq!(babs["email"], "bjensen@example.com");
    assert_eq!(babs["aliases"], serde_json::json!(["babs@jensen.org"]));
    assert_eq!(babs["department"], "Tour Operations");
    assert_eq!(babs["manager"], "26118915-6090-4610-87e4-49d8ca9f808d");
    assert_eq!(babs["title"], "Tour Guide");
    assert_eq!(person(&list, "701985")["status"], "leaver");
    assert_eq!(
        person(&list, "701986")["email"],
        "mpatel@example.com",
        "a userName that is an email is the email"
    );
    let snaps = sb.ok(&["hr", "snapshots", "--format", "json"]).json();
    assert_eq!(
        snaps[0]["format"], "scim",
        "recognised from content without --format"
    );
}

#[test]
fn the_format_is_recognised_from_content_when_the_extension_says_nothing() {
    let sb = Sandbox::new();
    let text = std::fs::read_to_string(fixture("hr/people.json")).unwrap();
    let f = sb.write("export.txt", &text);
    sb.ok(&["hr", "import", f.to_str().unwrap()]);
    assert_eq!(
        sb.ok(&["hr", "snapshots", "--format", "json"]).json()[0]["format"],
        "json"
    );
}

#[test]
fn a_past_termination_date_makes_a_leaver_even_when_status_says_active() {
    let sb = Sandbox::new();
    let f = sb.write(
        "hr.csv",
        "employee_id,email,status,termination_date\nE1,a@example.com,active,2026-01-15\nE2,b@example.com,active,2027-01-15\n",
    );
    sb.ok(&["hr", "import", f.to_str().unwrap(), "--as-of", "2026-03-01"]);
    let leavers = people(&sb, Some("leaver"));
    assert_eq!(leavers.len(), 1);
    assert_eq!(leavers[0]["employee_id"], "E1");
    assert_eq!(leavers[0]["terminated_at"], "2026-01-15T00:00:00Z");
}

#[test]
fn unknown_columns_are_kept_as_attributes_not_errors() {
    let sb = Sandbox::new();
    sb.ok(&[
        "hr",
        "import",
        fixture("hr/people-bom.csv").to_str().unwrap(),
    ]);
    let conn = rusqlite::Connection::open(sb.db()).unwrap();
    let attrs: String = conn
        .query_row(
            "SELECT attributes FROM people WHERE employee_id = 'E1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(attrs.contains("\"badge_color\":\"blue\""), "{attrs}");
}

#[test]
fn a_person_missing_from_the_next_snapshot_is_a_leaver_as_of_that_snapshot() {
    let sb = Sandbox::new();
    let first = sb.write(
        "one.csv",
        "employee_id,email\nE1,a@example.com\nE2,b@example.com\n",
    );
    let second = sb.write("two.csv", "employee_id,email\nE1,a@example.com\n");
    sb.ok(&[
        "hr",
        "import",
        first.to_str().unwrap(),
        "--as-of",
        "2026-01-01",
    ]);
    assert!(people(&sb, Some("leaver")).is_empty());
    sb.ok(&[
        "hr",
        "import",
        second.to_str().unwrap(),
        "--as-of",
        "2026-02-01T08:00:00Z",
    ]);
    let leavers = people(&sb, Some("leaver"));
    assert_eq!(leavers.len(), 1);
    assert_eq!(leavers[0]["employee_id"], "E2");
    assert_eq!(leavers[0]["terminated_at"], "2026-02-01T08:00:00Z");
    assert_eq!(leavers[0]["in_hr"], false);
}

#[test]
fn a_changed_department_title_or_manager_is_a_mover_at_role_changed_at_else_the_snapshot_time() {
    let sb = Sandbox::new();
    let first = sb.write(
        "one.csv",
        "employee_id,email,department,title,manager\nE1,a@example.com,Eng,Dev,E9\nE2,b@example.com,Eng,Dev,E9\nE3,c@example.com,Eng,Dev,E9\n",
    );
    let second = sb.write(
        "two.csv",
        "employee_id,email,department,title,manager,role_changed_at\nE1,a@example.com,Finance,Dev,E9,2026-01-20\nE2,b@example.com,Eng,Lead,E9,\nE3,c@example.com,Eng,Dev,E9,\n",
    );
    sb.ok(&[
        "hr",
        "import",
        first.to_str().unwrap(),
        "--as-of",
        "2026-01-01",
    ]);
    sb.ok(&[
        "hr",
        "import",
        second.to_str().unwrap(),
        "--as-of",
        "2026-02-01",
    ]);
    let movers = people(&sb, Some("mover"));
    assert_eq!(movers.len(), 2, "{movers:?}");
    let e1 = person(&movers, "E1");
    assert_eq!(e1["moved_at"], "2026-01-20T00:00:00Z");
    assert_eq!(e1["previous_department"], "Eng");
    assert_eq!(person(&movers, "E2")["moved_at"], "2026-02-01T00:00:00Z");
}

/// Each bad input: exit 2, a message naming file, location and field, and an untouched store.
fn rejects(sb: &Sandbox, name: &str, content: &str, expect: &[&str]) {
    let f = sb.write(name, content);
    let before = sb.dump();
    let r = sb.expect(2, &["hr", "import", f.to_str().unwrap()]);
    for part in expect {
        assert!(
            r.stderr.contains(part),
            "stderr lacks `{part}`: {}",
            r.stderr
        );
    }
    assert!(
        r.stderr.contains(name),
        "stderr does not name the file: {}",
        r.stderr
    );
    assert_eq!(before, sb.dump(), "a rejected import changed the store");
}

#[test]
fn bad_input_names_file_line_and_field_and_changes_nothing() {
    let sb = Sandbox::new();
    sb.ok(&[
        "hr",
        "import",
        fixture("hr/people-bom.csv").to_str().unwrap(),
    ]);
    rejects(
        &sb,
        "missing.csv",
        "employee_id,name\nE1,Ann\n",
        &["line 1", "`email`", "missing"],
    );
    rejects(
        &sb,
        "empty-id.csv",
        "employee_id,email\nE1,a@example.com\n,b@example.com\n",
        &["line 3", "`employee_id`", "empty"],
    );
    rejects(
        &sb,
        "dup.csv",
        "employee_id,email\nE1,a@example.com\nE2,b@example.com\nE1,c@example.com\n",
        &["line 4", "`employee_id`", "duplicate"],
    );
    rejects(
        &sb,
        "date.csv",
        "employee_id,email,termination_date\nE1,a@example.com,31/02/2026\n",
        &["line 2", "`termination_date`", "31/02/2026"],
    );
    rejects(
        &sb,
        "broken.json",
        "[{\"employee_id\": \"E1\", \"email\": ",
        &["line 1", "malformed JSON"],
    );
    rejects(
        &sb,
        "missing-email.json",
        "[{\"employee_id\": \"E1\", \"email\": \"a@example.com\"}, {\"employee_id\": \"E2\"}]",
        &["$[1].email", "`email`"],
    );
    rejects(
        &sb,
        "bad-scim.json",
        r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"Resources":[{"userName":"x@example.com","active":"no","externalId":"E1"}]}"#,
        &["$.Resources[0].active", "`active`"],
    );
    rejects(
        &sb,
        "not-scim.json",
        r#"{"schemas":["urn:example:other"],"Resources":[]}"#,
        &["--format"],
    );
}

fn staff_csv(ids: std::ops::Range<usize>) -> String {
    let mut csv = String::from("employee_id,email\n");
    for i in ids {
        csv.push_str(&format!("E{i},p{i}@example.com\n"));
    }
    csv
}

#[test]
fn a_snapshot_that_makes_a_mass_departure_is_refused_without_the_flag() {
    let sb = Sandbox::new();
    let all = sb.write("all.csv", &staff_csv(0..60));
    sb.ok(&[
        "hr",
        "import",
        all.to_str().unwrap(),
        "--as-of",
        "2026-01-01",
    ]);
    // A truncated export: 20 of 60 people left at once (the default limit is 6).
    let cut = sb.write("cut.csv", &staff_csv(0..40));
    let run = sb.expect(
        2,
        &[
            "hr",
            "import",
            cut.to_str().unwrap(),
            "--as-of",
            "2026-02-01",
        ],
    );
    assert!(run.stderr.contains("20 people leavers"), "{}", run.stderr);
    assert!(
        run.stderr.contains("--allow-mass-departure"),
        "{}",
        run.stderr
    );
    assert!(
        people(&sb, Some("leaver")).is_empty(),
        "the refused snapshot changed nothing"
    );
    sb.ok(&[
        "hr",
        "import",
        cut.to_str().unwrap(),
        "--as-of",
        "2026-02-01",
        "--allow-mass-departure",
    ]);
    assert_eq!(people(&sb, Some("leaver")).len(), 20);
}

#[test]
fn a_header_only_export_is_refused_and_makes_nobody_a_leaver() {
    let sb = Sandbox::new();
    let all = sb.write("all.csv", &staff_csv(0..3));
    sb.ok(&[
        "hr",
        "import",
        all.to_str().unwrap(),
        "--as-of",
        "2026-01-01",
    ]);
    let empty = sb.write("empty.csv", "employee_id,email\n");
    let run = sb.expect(2, &["hr", "import", empty.to_str().unwrap()]);
    assert!(run.stderr.contains("holds no people"), "{}", run.stderr);
    assert!(people(&sb, Some("leaver")).is_empty());
}

/// Progress lines count in words: `1 person, 1 leaver` (plural only when the count is not 1).
#[test]
fn progress_lines_say_one_leaver_not_one_leavers() {
    let sb = Sandbox::new();
    let hr = sb.write(
        "hr.csv",
        "employee_id,email,status,termination_date\nE1,ann@example.com,terminated,2026-03-01\n",
    );
    let r = sb.ok(&[
        "hr",
        "import",
        hr.to_str().unwrap(),
        "--as-of",
        "2026-04-01",
    ]);
    assert!(
        r.stderr.contains("1 person, 0 joined, 1 leaver, 0 movers"),
        "{}",
        r.stderr
    );
}
