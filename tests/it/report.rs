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
