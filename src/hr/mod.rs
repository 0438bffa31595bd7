//! HR snapshots: reading an HR export (CSV, JSON, SCIM 2.0) into [`PersonRecord`]s, and comparing
//! a snapshot with the previous one to derive leaver and mover events (see [`diff`]).
//!
//! Readers validate everything before anything is written: a bad file is an [`HrError`] naming the
//! file, the line (or JSON path) and the field, and the store is not touched.

pub mod csv;
pub mod diff;
pub mod json;
pub mod scim;

use chrono::{DateTime, Utc};
use residual_scanners::time::parse_time;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

/// Where in the input a problem is: a CSV line or a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Line(u64),
    JsonPath(String),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::JsonPath(p) => write!(f, "{p}"),
        }
    }
}

/// A bad HR file.
#[derive(Debug, thiserror::Error)]
pub enum HrError {
    #[error("{file}: cannot read")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: {location}: field `{field}`: {message}")]
    Invalid {
        file: PathBuf,
        location: Location,
        field: String,
        message: String,
    },
    #[error("{file}: cannot tell the format ({reason}); pass --format csv, json or scim")]
    UnknownFormat { file: PathBuf, reason: String },
}

/// The HR file formats we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HrFormat {
    Csv,
    Json,
    Scim,
}

impl HrFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            HrFormat::Csv => "csv",
            HrFormat::Json => "json",
            HrFormat::Scim => "scim",
        }
    }
}

/// What HR says about employment, before termination dates are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HrStatus {
    Active,
    Leaver,
}

impl HrStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HrStatus::Active => "active",
            HrStatus::Leaver => "leaver",
        }
    }

    /// Accepts the words HR systems use; `on_leave` is still employed, so active.
    pub fn parse(s: &str) -> Option<HrStatus> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace([' ', '-'], "_")
            .as_str()
        {
            "" | "active" | "on_leave" | "leave" | "employed" => Some(HrStatus::Active),
            "terminated" | "leaver" | "inactive" | "left" | "departed" => Some(HrStatus::Leaver),
            _ => None,
        }
    }
}

/// One person as one HR snapshot describes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonRecord {
    pub employee_id: String,
    /// Primary email, lower-cased.
    pub email: String,
    pub name: Option<String>,
    pub status: HrStatus,
    pub terminated_at: Option<DateTime<Utc>>,
    pub department: Option<String>,
    pub title: Option<String>,
    /// The manager's employee id.
    pub manager: Option<String>,
    /// Further emails, lower-cased.
    pub aliases: Vec<String>,
    pub github_login: Option<String>,
    pub gitlab_user: Option<String>,
    pub aws_user: Option<String>,
    pub role_changed_at: Option<DateTime<Utc>>,
    /// Columns we do not know, kept as they came.
    pub attributes: BTreeMap<String, String>,
}

impl PersonRecord {
    /// True when HR says the person left, or their termination date is not after `now`.
    pub fn is_leaver_at(&self, now: DateTime<Utc>) -> bool {
        self.status == HrStatus::Leaver || self.terminated_at.is_some_and(|t| t <= now)
    }
}

/// A file read into records, with the format it was read as.
pub struct ParsedSnapshot {
    pub format: HrFormat,
    pub people: Vec<PersonRecord>,
}

/// Reads an HR file, recognising the format from `format`, else from the extension and content.
pub fn read_snapshot(path: &Path, format: Option<HrFormat>) -> Result<ParsedSnapshot, HrError> {
    let bytes = std::fs::read(path).map_err(|source| HrError::Io {
        file: path.to_path_buf(),
        source,
    })?;
    parse_snapshot(path, bytes, format)
}

/// Parses the bytes of an HR file already read from `path` (named in errors).
pub fn parse_snapshot(
    path: &Path,
    bytes: Vec<u8>,
    format: Option<HrFormat>,
) -> Result<ParsedSnapshot, HrError> {
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = line_of_offset(e.as_bytes(), e.utf8_error().valid_up_to());
            return Err(HrError::Invalid {
                file: path.to_path_buf(),
                location: Location::Line(line),
                field: "file".into(),
                message: "is not UTF-8".into(),
            });
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let format = match format {
        Some(f) => f,
        None => detect_format(path, text)?,
    };
    let people = match format {
        HrFormat::Csv => csv::read(path, text)?,
        HrFormat::Json => json::read(path, text)?,
        HrFormat::Scim => scim::read(path, text)?,
    };
    if people.is_empty() {
        // A failed export (header only, `[]`, a SCIM page without Resources) would otherwise make
        // every person a leaver and open findings for all of them.
        return Err(HrError::Invalid {
            file: path.to_path_buf(),
            location: match format {
                HrFormat::Csv => Location::Line(1),
                HrFormat::Json | HrFormat::Scim => Location::JsonPath("$".into()),
            },
            field: "people".into(),
            message: "the snapshot holds no people; an empty export is refused, not imported \
                      (it would turn everyone into a leaver)"
                .into(),
        });
    }
    Ok(ParsedSnapshot { format, people })
}

/// Checks that `email` is one address: one `@` with text on both sides, and no whitespace,
/// control or invisible (zero-width, byte-order mark) characters that would make two spellings of
/// one address link to different people.
pub fn check_email(email: &str) -> Result<(), String> {
    if let Some(c) = email.chars().find(|c| {
        c.is_whitespace()
            || c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{00ad}')
    }) {
        return Err(format!(
            "contains the character U+{:04X}, which no email address has",
            c as u32
        ));
    }
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            Ok(())
        }
        _ => Err(format!(
            "`{email}` is not one email address (exactly one `@` with text on both sides)"
        )),
    }
}

fn line_of_offset(text: &[u8], offset: usize) -> u64 {
    1 + text.iter().take(offset).filter(|b| **b == b'\n').count() as u64
}

fn detect_format(path: &Path, text: &str) -> Result<HrFormat, HrError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if ext.as_deref() == Some("csv") {
        return Ok(HrFormat::Csv);
    }
    let first = text.trim_start().chars().next();
    match first {
        Some('[') => Ok(HrFormat::Json),
        Some('{') => {
            // A JSON object is SCIM only when it says so; look before parsing the whole file.
            let doc: serde_json::Value =
                serde_json::from_str(text).map_err(|e| json::syntax_error(path, e))?;
            let is_list = doc
                .get("schemas")
                .and_then(|s| s.as_array())
                .is_some_and(|s| s.iter().any(|v| v.as_str() == Some(scim::LIST_RESPONSE)));
            if is_list {
                Ok(HrFormat::Scim)
            } else {
                Err(HrError::UnknownFormat {
                    file: path.to_path_buf(),
                    reason: format!(
                        "a JSON object whose `schemas` does not name {}",
                        scim::LIST_RESPONSE
                    ),
                })
            }
        }
        _ if ext.as_deref() == Some("json") => Ok(HrFormat::Json),
        _ => Ok(HrFormat::Csv),
    }
}

/// The raw fields of one CSV row or JSON object, with where they came from; shared by the CSV and
/// plain-JSON readers, which accept the same field names.
pub(crate) struct RawPerson<'a> {
    pub path: &'a Path,
    /// Where the record starts (line or JSON path); fields are named relative to it.
    pub at: Location,
    pub fields: BTreeMap<String, String>,
}

impl RawPerson<'_> {
    fn error(&self, field: &str, message: impl Into<String>) -> HrError {
        let location = match &self.at {
            Location::Line(n) => Location::Line(*n),
            Location::JsonPath(p) => Location::JsonPath(format!("{p}.{field}")),
        };
        HrError::Invalid {
            file: self.path.to_path_buf(),
            location,
            field: field.to_string(),
            message: message.into(),
        }
    }

    fn take(&mut self, field: &str) -> Option<String> {
        self.fields
            .remove(field)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn take_time(&mut self, field: &str) -> Result<Option<DateTime<Utc>>, HrError> {
        match self.take(field) {
            None => Ok(None),
            Some(v) => parse_time(&v).map(Some).map_err(|m| self.error(field, m)),
        }
    }

    /// Validates and converts the fields into a record.
    pub(crate) fn into_record(mut self) -> Result<PersonRecord, HrError> {
        let employee_id = self.take("employee_id").ok_or_else(|| {
            self.error("employee_id", "is empty; every person needs an employee id")
        })?;
        let email = self
            .take("email")
            .ok_or_else(|| self.error("email", "is empty; every person needs an email"))?
            .to_lowercase();
        check_email(&email).map_err(|m| self.error("email", m))?;
        let status = match self.take("status") {
            None => HrStatus::Active,
            Some(s) => HrStatus::parse(&s).ok_or_else(|| {
                self.error(
                    "status",
                    format!("`{s}` is not one of active, on_leave, terminated, leaver, inactive"),
                )
            })?,
        };
        let terminated_at = self.take_time("termination_date")?;
        let role_changed_at = self.take_time("role_changed_at")?;
        let aliases: Vec<String> = self
            .take("emails")
            .map(|a| {
                a.split([';', ','])
                    .map(|e| e.trim().to_lowercase())
                    .filter(|e| !e.is_empty() && *e != email)
                    .collect()
            })
            .unwrap_or_default();
        for alias in &aliases {
            check_email(alias).map_err(|m| self.error("emails", m))?;
        }
        let record = PersonRecord {
            name: self.take("name"),
            status,
            terminated_at,
            department: self.take("department"),
            title: self.take("title"),
            manager: self.take("manager"),
            aliases,
            github_login: self.take("github_login"),
            gitlab_user: self.take("gitlab_user"),
            aws_user: self.take("aws_user"),
            role_changed_at,
            employee_id,
            email,
            attributes: std::mem::take(&mut self.fields)
                .into_iter()
                .filter(|(_, v)| !v.trim().is_empty())
                .collect(),
        };
        Ok(record)
    }
}

/// Duplicate detection needs the record's location, so readers call this as they go.
pub(crate) struct UniqueIds {
    seen: HashSet<String>,
}

impl UniqueIds {
    pub(crate) fn new() -> Self {
        UniqueIds {
            seen: HashSet::new(),
        }
    }

    pub(crate) fn check(&mut self, path: &Path, at: &Location, id: &str) -> Result<(), HrError> {
        if self.seen.insert(id.to_string()) {
            return Ok(());
        }
        let location = match at {
            Location::Line(n) => Location::Line(*n),
            Location::JsonPath(p) => Location::JsonPath(p.clone()),
        };
        Err(HrError::Invalid {
            file: path.to_path_buf(),
            location,
            field: "employee_id".into(),
            message: format!("duplicate employee id `{id}`"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str, text: &str) -> Result<ParsedSnapshot, HrError> {
        parse_snapshot(Path::new(name), text.as_bytes().to_vec(), None)
    }

    #[test]
    fn a_header_only_csv_is_refused_not_imported() {
        let e = parse("hr.csv", "employee_id,email\n")
            .err()
            .expect("refused");
        assert!(e.to_string().contains("holds no people"), "{e}");
    }

    #[test]
    fn an_empty_json_array_is_refused() {
        let e = parse("hr.json", "[]").err().expect("refused");
        assert!(e.to_string().contains("holds no people"), "{e}");
    }

    #[test]
    fn a_scim_list_without_resources_is_refused() {
        let doc = format!(
            r#"{{"schemas": ["{}"], "totalResults": 0}}"#,
            scim::LIST_RESPONSE
        );
        let e = parse("hr.json", &doc).err().expect("refused");
        assert!(e.to_string().contains("holds no people"), "{e}");
    }

    #[test]
    fn a_scim_page_with_fewer_resources_than_total_results_is_refused() {
        let user = r#"{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "externalId": "E1",
            "userName": "a@example.com", "emails": [{"value": "a@example.com", "primary": true}]}"#;
        let doc = format!(
            r#"{{"schemas": ["{}"], "totalResults": 250, "itemsPerPage": 1, "startIndex": 1, "Resources": [{user}]}}"#,
            scim::LIST_RESPONSE
        );
        let e = parse("hr.json", &doc).err().expect("refused");
        assert!(e.to_string().contains("1 of 250"), "{e}");
    }

    #[test]
    fn emails_need_exactly_one_at_sign() {
        assert!(check_email("lee@example.com").is_ok());
        assert!(check_email("lee@@example.com").is_err());
        assert!(check_email("lee@a@example.com").is_err());
        assert!(check_email("@example.com").is_err());
        assert!(check_email("lee@").is_err());
    }

    #[test]
    fn emails_with_invisible_or_control_characters_are_refused() {
        for bad in [
            "lee\u{200b}@example.com",
            "lee@exa\u{feff}mple.com",
            "lee\t@example.com",
            "le e@example.com",
        ] {
            let e = check_email(bad).expect_err(bad);
            assert!(e.contains("U+"), "{e}");
        }
    }

    #[test]
    fn a_bad_alias_is_an_error_naming_the_emails_field() {
        let e = parse(
            "hr.csv",
            "employee_id,email,emails\nE1,a@example.com,b\u{200b}@example.com\n",
        )
        .err()
        .expect("refused");
        assert!(e.to_string().contains("field `emails`"), "{e}");
    }
}
