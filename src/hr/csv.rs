//! The CSV HR format: a header row naming the fields, one person per row, UTF-8 with or without a
//! byte-order mark, quoted fields allowed. Line numbers in errors are lines of the file.

use super::{HrError, Location, PersonRecord, RawPerson, UniqueIds};
use std::path::Path;

/// Fields every CSV must have in its header.
const REQUIRED: [&str; 2] = ["employee_id", "email"];

pub fn read(path: &Path, text: &str) -> Result<Vec<PersonRecord>, HrError> {
    let invalid = |line: u64, field: &str, message: String| HrError::Invalid {
        file: path.to_path_buf(),
        location: Location::Line(line),
        field: field.to_string(),
        message,
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| invalid(1, "header", e.to_string()))?
        .iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    for (i, h) in headers.iter().enumerate() {
        if let Some(j) = headers[..i].iter().position(|earlier| earlier == h) {
            return Err(invalid(
                1,
                h,
                format!(
                    "column {} and column {} are both named `{h}`; which one holds the value is ambiguous",
                    j + 1,
                    i + 1
                ),
            ));
        }
    }
    for field in REQUIRED {
        if !headers.iter().any(|h| h == field) {
            return Err(invalid(
                1,
                field,
                "required column is missing from the header".into(),
            ));
        }
    }
    let mut people = Vec::new();
    let mut ids = UniqueIds::new();
    let mut record = ::csv::StringRecord::new();
    loop {
        let fallback = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(fallback);
                return Err(invalid(line, "row", e.to_string()));
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(fallback);
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let raw = RawPerson {
            path,
            at: Location::Line(line),
            fields: headers
                .iter()
                .cloned()
                .zip(record.iter().map(str::to_string))
                .collect(),
        };
        let person = raw.into_record()?;
        ids.check(path, &Location::Line(line), &person.employee_id)?;
        people.push(person);
    }
    Ok(people)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_header_columns_are_an_error_naming_both() {
        let e = read(
            Path::new("hr.csv"),
            "employee_id,email,status,Status\nE1,a@example.com,active,terminated\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("line 1"), "{e}");
        assert!(e.contains("column 3 and column 4"), "{e}");
        assert!(e.contains("`status`"), "{e}");
    }
}
