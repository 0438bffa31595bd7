//! Reading the exceptions file: every `[[exception]]` entry with the line it is on, so that an
//! error or a warning about it names file:line and the field. Parsing only; whether an entry is
//! new, changed or gone is decided in [`super::plan`].

use super::{expiry, ExceptionsError};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// One entry of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct FileEntry {
    pub finding: String,
    pub reason: String,
    pub approver: String,
    pub expires: DateTime<Utc>,
    /// The line of its `finding` key (1-based): where the entry is.
    pub line: usize,
    /// The line of its `expires` key, which errors about the expiry name.
    pub expires_line: usize,
}

/// The exceptions file as read: where it is, and its entries in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionsFile {
    pub path: PathBuf,
    pub entries: Vec<FileEntry>,
}

impl ExceptionsFile {
    /// The `source` its exceptions are stored with.
    pub fn source(&self) -> String {
        format!("file:{}", self.path.display())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    exception: Vec<Spanned<RawEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    finding: Option<Spanned<String>>,
    reason: Option<Spanned<String>>,
    approver: Option<Spanned<String>>,
    /// A string, or a TOML date / date-time literal.
    expires: Option<Spanned<toml::Value>>,
}

/// Reads and checks the file at `path`.
pub fn read(path: &Path) -> Result<ExceptionsFile, ExceptionsError> {
    let text = std::fs::read_to_string(path).map_err(|source| ExceptionsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// Checks `text` as the file at `path`: the syntax, every field of every entry (present,
/// non-empty, a valid expiry), and one entry per finding.
pub fn parse(path: &Path, text: &str) -> Result<ExceptionsFile, ExceptionsError> {
    let line_of = |offset: usize| {
        text.get(..offset)
            .map_or(0, |before| before.matches('\n').count())
            + 1
    };
    let raw: RawFile = toml::from_str(text).map_err(|e| ExceptionsError::Syntax {
        path: path.to_path_buf(),
        line: e.span().map_or(1, |s| line_of(s.start)),
        message: e.message().trim_end().to_string(),
    })?;
    let bad = |line: usize, field: &'static str, message: String| ExceptionsError::Entry {
        path: path.to_path_buf(),
        line,
        field,
        message,
    };
    let mut entries = Vec::with_capacity(raw.exception.len());
    let mut first_line: HashMap<String, usize> = HashMap::new();
    for spanned in raw.exception {
        let entry_line = line_of(spanned.span().start);
        let raw = spanned.into_inner();
        let text_field = |value: Option<Spanned<String>>, field: &'static str| {
            let value = value.ok_or_else(|| bad(entry_line, field, "missing".into()))?;
            let line = line_of(value.span().start);
            let value = value.into_inner();
            if value.trim().is_empty() {
                return Err(bad(line, field, "must not be empty".into()));
            }
            Ok((value, line))
        };
        let (finding, line) = text_field(raw.finding, "finding")?;
        let (reason, _) = text_field(raw.reason, "reason")?;
        let (approver, _) = text_field(raw.approver, "approver")?;
        let expires = raw
            .expires
            .ok_or_else(|| bad(entry_line, "expires", "missing".into()))?;
        let expires_line = line_of(expires.span().start);
        let expires_text = match expires.into_inner() {
            toml::Value::String(s) => s,
            toml::Value::Datetime(d) => d.to_string(),
            other => {
                return Err(bad(
                    expires_line,
                    "expires",
                    format!("a {} is not a date or a time", other.type_str()),
                ))
            }
        };
        let expires = expiry::parse(&expires_text).map_err(|m| bad(expires_line, "expires", m))?;
        if let Some(first) = first_line.get(&finding) {
            return Err(bad(
                line,
                "finding",
                format!("`{finding}` already has an entry at line {first} (one entry per finding)"),
            ));
        }
        first_line.insert(finding.clone(), line);
        entries.push(FileEntry {
            finding,
            reason,
            approver,
            expires,
            line,
            expires_line,
        });
    }
    Ok(ExceptionsFile {
        path: path.to_path_buf(),
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<ExceptionsFile, ExceptionsError> {
        parse(Path::new("exceptions.toml"), text)
    }

    const GOOD: &str = "# policy\n\n[[exception]]\nfinding = \"f1\"\nreason = \"r\"\napprover = \"a\"\nexpires = \"2026-12-31\"\n\n[[exception]]\nfinding = \"f2\"\nreason = \"r\"\napprover = \"a\"\nexpires = 2026-12-31T10:00:00Z\n";

    #[test]
    fn entries_carry_the_line_of_their_finding() {
        let file = parse_str(GOOD).expect("parses");
        let lines: Vec<usize> = file.entries.iter().map(|e| e.line).collect();
        assert_eq!(lines, [4, 10]);
    }

    #[test]
    fn a_missing_or_empty_field_names_file_line_and_field() {
        let e = parse_str("[[exception]]\nfinding = \"f\"\nreason = \" \"\napprover = \"a\"\nexpires = \"2026-12-31\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("exceptions.toml:3: field `reason`"), "{e}");
        let e =
            parse_str("[[exception]]\nfinding = \"f\"\nreason = \"r\"\nexpires = \"2026-12-31\"\n")
                .unwrap_err()
                .to_string();
        assert!(
            e.contains("exceptions.toml:") && e.contains("`approver`: missing"),
            "{e}"
        );
    }

    #[test]
    fn a_bad_expiry_names_its_line() {
        let e = parse_str("[[exception]]\nfinding = \"f\"\nreason = \"r\"\napprover = \"a\"\nexpires = \"+10000-01-01\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("exceptions.toml:5: field `expires`"), "{e}");
    }

    #[test]
    fn a_syntax_error_and_an_unknown_key_name_their_line() {
        let e = parse_str("[[exception]]\nfinding = \"f\"\nreason = \n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("exceptions.toml:3:"), "{e}");
        let e = parse_str("[[exception]]\nfinding = \"f\"\nexpiry = \"2026-01-01\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("exceptions.toml:3:"), "{e}");
    }

    #[test]
    fn two_entries_for_one_finding_are_refused_naming_both_lines() {
        let twice = "[[exception]]\nfinding = \"f\"\nreason = \"r\"\napprover = \"a\"\nexpires = \"2026-12-31\"\n[[exception]]\nfinding = \"f\"\nreason = \"r2\"\napprover = \"a\"\nexpires = \"2026-12-31\"\n";
        let e = parse_str(twice).unwrap_err().to_string();
        assert!(
            e.starts_with("exceptions.toml:7: field `finding`") && e.contains("line 2"),
            "{e}"
        );
    }
}
