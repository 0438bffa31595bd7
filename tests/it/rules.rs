//! Every residual-access rule's own examples, through `residual rules check`.

use crate::harness::Sandbox;

#[test]
fn every_rule_passes_its_own_examples() {
    let sb = Sandbox::new();
    let r = sb.ok(&["rules", "check"]);
    assert!(r.stdout.contains(" 0 failed"), "{}", r.stdout);
}

#[test]
fn the_rules_directory_on_disk_matches_the_built_in_rules() {
    let sb = Sandbox::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/access");
    let r = sb.ok(&["rules", "check", "--dir", dir.to_str().unwrap()]);
    assert!(r.stdout.contains(" 0 failed"), "{}", r.stdout);
}

#[test]
fn a_rule_whose_example_does_not_hold_fails_the_check() {
    let sb = Sandbox::new();
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("rules/access/leaver-active-account.toml"),
    )
    .unwrap()
    .replace(
        "name = \"a disabled account is not residual access\"\nmatches = false",
        "name = \"flipped\"\nmatches = true",
    );
    sb.write("rules/leaver-active-account.toml", &text);
    let r = sb.expect(
        1,
        &[
            "rules",
            "check",
            "--dir",
            sb.path("rules").to_str().unwrap(),
        ],
    );
    assert!(
        r.stdout
            .contains("FAIL leaver-active-account: example `flipped`"),
        "{}",
        r.stdout
    );
}

#[test]
fn every_rule_maps_to_frameworks_and_has_remediation() {
    let sb = Sandbox::new();
    let rules = sb.ok(&["rules", "list", "--format", "json"]).json();
    let rules = rules.as_array().unwrap();
    assert!(rules.len() >= 13);
    for r in rules {
        assert!(r["frameworks"].to_string().contains("NIST"), "{r}");
    }
}

/// `rules list` shows each rule's framework mapping: a list in JSON, a column in CSV and tables.
#[test]
fn rules_list_shows_the_framework_mapping_as_a_list_and_a_column() {
    let sb = Sandbox::new();
    let rules = sb.ok(&["rules", "list", "--format", "json"]).json();
    let first = &rules[0];
    let frameworks = first["frameworks"].as_array().expect("a list");
    assert!(frameworks.len() > 1, "{first}");
    let csv = sb.ok(&["rules", "list", "--format", "csv"]).stdout;
    let header = csv.lines().next().unwrap();
    assert!(header.split(',').any(|c| c == "frameworks"), "{csv}");
    let first_framework = frameworks[0].as_str().unwrap();
    assert!(csv.contains(first_framework), "{csv}");
}
