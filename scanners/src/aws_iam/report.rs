//! The IAM credential report: one CSV row per IAM user, as `GetCredentialReport` returns it (the
//! `Content` blob, already base64-decoded by the SDK).
//!
//! Columns, as AWS documents them: `user, arn, user_creation_time, password_enabled,
//! password_last_used, password_last_changed, password_next_rotation, mfa_active,
//! access_key_1_active, access_key_1_last_rotated, access_key_1_last_used_date,
//! access_key_1_last_used_region, access_key_1_last_used_service, access_key_2_…, cert_1_active,
//! cert_1_last_rotated, cert_2_active, cert_2_last_rotated`. Values `N/A`, `no_information` and
//! `not_supported` mean "no value". The `<root_account>` row describes the account root, which is
//! nobody's account; it is skipped here. Columns are found by header name, so a report with extra or
//! reordered columns still parses.

use crate::time::parse_time;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// The name AWS gives the account root's row.
pub(crate) const ROOT_ACCOUNT_ROW: &str = "<root_account>";

/// One access key slot of a report row (`access_key_1_*` or `access_key_2_*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct KeySlot {
    pub active: bool,
    /// When the key was created or last rotated.
    pub last_rotated: Option<DateTime<Utc>>,
    pub last_used: Option<DateTime<Utc>>,
    pub last_used_region: Option<String>,
    pub last_used_service: Option<String>,
}

impl KeySlot {
    /// Whether the slot holds a key at all (an inactive key still has a rotation time).
    pub(super) fn present(&self) -> bool {
        self.active || self.last_rotated.is_some()
    }
}

/// One signing certificate slot of a report row (`cert_1_*` or `cert_2_*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct CertSlot {
    pub active: bool,
    pub last_rotated: Option<DateTime<Utc>>,
}

impl CertSlot {
    pub(super) fn present(&self) -> bool {
        self.active || self.last_rotated.is_some()
    }
}

/// What the credential report says about one IAM user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct ReportRow {
    pub user: String,
    pub arn: Option<String>,
    pub user_creation_time: Option<DateTime<Utc>>,
    /// Whether the user has a console password (login profile).
    pub password_enabled: bool,
    pub password_last_used: Option<DateTime<Utc>>,
    pub password_last_changed: Option<DateTime<Utc>>,
    pub mfa_active: bool,
    pub access_keys: [KeySlot; 2],
    pub certs: [CertSlot; 2],
}

impl ReportRow {
    /// Whether the report shows any access key (active or not) for this user.
    pub(super) fn has_access_keys(&self) -> bool {
        self.access_keys.iter().any(KeySlot::present)
    }

    /// Whether the report shows any signing certificate for this user.
    pub(super) fn has_certs(&self) -> bool {
        self.certs.iter().any(CertSlot::present)
    }
}

/// A credential report that cannot be read.
#[derive(Debug, thiserror::Error)]
pub(super) enum ReportError {
    #[error("credential report: {0}")]
    Csv(#[from] csv::Error),
    #[error("credential report: line {line}: column `{column}`: {message}")]
    Invalid {
        line: u64,
        column: String,
        message: String,
    },
    #[error("credential report: no `user` column in the header")]
    NoUserColumn,
}

fn absent(v: &str) -> bool {
    matches!(
        v.trim(),
        "" | "N/A" | "no_information" | "not_supported" | "not_available"
    )
}

/// Parses the report CSV into rows keyed by user name (the root row is left out).
pub(super) fn parse_credential_report(
    content: &[u8],
) -> Result<HashMap<String, ReportRow>, ReportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(content);
    let headers = reader.headers()?.clone();
    let index: HashMap<&str, usize> = headers
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim(), i))
        .collect();
    if !index.contains_key("user") {
        return Err(ReportError::NoUserColumn);
    }
    let mut rows = HashMap::new();
    for record in reader.records() {
        let record = record?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let get = |column: &str| -> Option<&str> {
            index
                .get(column)
                .and_then(|i| record.get(*i))
                .filter(|v| !absent(v))
        };
        let time = |column: &str| -> Result<Option<DateTime<Utc>>, ReportError> {
            match get(column) {
                None => Ok(None),
                Some(v) => parse_time(v)
                    .map(Some)
                    .map_err(|message| ReportError::Invalid {
                        line,
                        column: column.to_string(),
                        message,
                    }),
            }
        };
        let flag =
            |column: &str| get(column).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let Some(user) = get("user").map(str::to_string) else {
            continue;
        };
        if user == ROOT_ACCOUNT_ROW {
            continue;
        }
        let key = |n: u8| -> Result<KeySlot, ReportError> {
            Ok(KeySlot {
                active: flag(&format!("access_key_{n}_active")),
                last_rotated: time(&format!("access_key_{n}_last_rotated"))?,
                last_used: time(&format!("access_key_{n}_last_used_date"))?,
                last_used_region: get(&format!("access_key_{n}_last_used_region"))
                    .map(str::to_string),
                last_used_service: get(&format!("access_key_{n}_last_used_service"))
                    .map(str::to_string),
            })
        };
        let cert = |n: u8| -> Result<CertSlot, ReportError> {
            Ok(CertSlot {
                active: flag(&format!("cert_{n}_active")),
                last_rotated: time(&format!("cert_{n}_last_rotated"))?,
            })
        };
        let row = ReportRow {
            arn: get("arn").map(str::to_string),
            user_creation_time: time("user_creation_time")?,
            password_enabled: flag("password_enabled"),
            password_last_used: time("password_last_used")?,
            password_last_changed: time("password_last_changed")?,
            mfa_active: flag("mfa_active"),
            access_keys: [key(1)?, key(2)?],
            certs: [cert(1)?, cert(2)?],
            user: user.clone(),
        };
        rows.insert(user, row);
    }
    Ok(rows)
}

/// Finds the report slot that describes the access key created at `created` (to the second): the
/// report has no key ids, only "key 1" and "key 2" with their rotation times. Returns `None` when
/// no slot matches or when two matching slots disagree about last use, so that the caller asks
/// `GetAccessKeyLastUsed` instead of guessing.
pub(super) fn slot_for_key(row: &ReportRow, created: DateTime<Utc>) -> Option<&KeySlot> {
    let secs = created.timestamp();
    let mut matching = row
        .access_keys
        .iter()
        .filter(|s| s.last_rotated.is_some_and(|t| t.timestamp() == secs));
    let first = matching.next()?;
    let same_use = |s: &KeySlot| {
        s.last_used == first.last_used
            && s.last_used_region == first.last_used_region
            && s.last_used_service == first.last_used_service
    };
    if matching.all(same_use) {
        Some(first)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::123456789012:root,2014-01-01T00:00:00+00:00,not_supported,2026-01-02T03:04:05+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
alice,arn:aws:iam::123456789012:user/alice,2020-01-01T00:00:00+00:00,true,2026-02-01T08:00:00+00:00,2025-06-01T00:00:00+00:00,N/A,true,true,2024-01-01T10:00:00+00:00,2026-02-03T09:00:00+00:00,eu-west-1,s3,false,2023-01-01T10:00:00+00:00,N/A,N/A,N/A,true,2022-05-05T05:05:05+00:00,false,N/A
";

    #[test]
    fn parses_rows_and_skips_the_root() {
        let rows = parse_credential_report(REPORT.as_bytes()).unwrap();
        assert_eq!(rows.len(), 1);
        let alice = &rows["alice"];
        assert!(alice.password_enabled && alice.mfa_active);
        assert!(alice.has_access_keys() && alice.has_certs());
        assert_eq!(
            alice.access_keys[0].last_used_service.as_deref(),
            Some("s3")
        );
        assert!(!alice.access_keys[1].active);
        assert!(alice.access_keys[1].present());
        assert_eq!(alice.access_keys[1].last_used, None);
    }

    #[test]
    fn matches_keys_to_slots_by_creation_second() {
        let rows = parse_credential_report(REPORT.as_bytes()).unwrap();
        let alice = &rows["alice"];
        let created = parse_time("2024-01-01T10:00:00.123Z").unwrap();
        let slot = slot_for_key(alice, created).unwrap();
        assert_eq!(slot.last_used_region.as_deref(), Some("eu-west-1"));
        assert!(slot_for_key(alice, parse_time("2021-01-01").unwrap()).is_none());
    }

    #[test]
    fn a_bad_time_names_line_and_column() {
        let bad = REPORT.replace("2026-02-01T08:00:00+00:00", "yesterday");
        let err = parse_credential_report(bad.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 3") && err.contains("password_last_used"),
            "{err}"
        );
    }
}
