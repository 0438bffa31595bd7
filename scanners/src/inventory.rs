//! The inventory scanner: a user export (CSV or JSONL) of a system we have no API scanner for,
//! turned into accounts and group grants.
//!
//! Columns: `account` (required), `email`, `employee_id`, `status` (`active`/`enabled` or
//! `disabled`/`suspended`), `created_at`, `last_login`, `kind` (`user`, `service`, `token`, `key`),
//! `owner` (email or employee id of a non-human account's owner), `groups` (`;`-separated). Other
//! columns are kept as account attributes. A bad row is an input error naming file, line and field:
//! the run is not recorded at all, because a half-read export would look like removed accounts.

use crate::time::parse_time;
use crate::{
    Account, AccountKind, Grant, GrantKind, IdentityHints, Observations, RunStatus, ScanReport,
};
use chrono::Utc;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::hash::BuildHasher;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The scanner kind, as it appears in [`ScanReport::scanner`].
pub const SCANNER: &str = "inventory";

/// A bad inventory export. Line numbers are 1-based lines of the file (the CSV header is line 1).
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{file}: cannot read")]
    Io {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}: field `{field}`: {message}")]
    Invalid {
        file: PathBuf,
        line: u64,
        field: String,
        message: String,
    },
}

/// The two export shapes we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InventoryFormat {
    Csv,
    Jsonl,
}

impl InventoryFormat {
    /// Recognises the format from the extension, else from the first non-blank byte (`{` is JSONL).
    pub fn detect(path: &Path, head: &[u8]) -> InventoryFormat {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
        {
            Some(e) if e == "jsonl" || e == "ndjson" => InventoryFormat::Jsonl,
            Some(e) if e == "csv" => InventoryFormat::Csv,
            _ => match head.iter().find(|b| !b.is_ascii_whitespace()) {
                Some(b'{') => InventoryFormat::Jsonl,
                _ => InventoryFormat::Csv,
            },
        }
    }
}

/// Rows of an export before validation, whatever its format, as the reading thread hands them
/// over: each row's non-empty fields, keyed by the (shared) column name, all rows' fields in one
/// list. A short list beats a map here (rows have a dozen fields at most), and one list per batch
/// beats one per row: a million rows must not cost a million lists, each allocated on the
/// reading thread and freed on the other.
#[derive(Default)]
struct Rows {
    /// Each row's line and the end of its fields in `fields`.
    rows: Vec<(u64, usize)>,
    fields: Vec<(Arc<str>, String)>,
}

impl Rows {
    fn with_capacity(rows: usize) -> Rows {
        Rows {
            rows: Vec::with_capacity(rows),
            fields: Vec::with_capacity(rows * 8),
        }
    }

    /// Keeps a non-empty field of the row being read (the key is shared, counted only when kept).
    fn field(&mut self, key: &Arc<str>, value: &str) {
        let v = value.trim();
        if !v.is_empty() {
            self.fields.push((key.clone(), v.to_string()));
        }
    }

    /// Ends the row being read, which began on `line`.
    fn end_row(&mut self, line: u64) {
        self.rows.push((line, self.fields.len()));
    }
}

/// One row's fields, taken one by one as they are validated; what is left are the account's
/// attributes.
struct Row<'b> {
    fields: &'b mut [(Arc<str>, String)],
    /// Fields not taken yet: `fields[..left]`.
    left: usize,
}

impl<'b> Row<'b> {
    fn new(fields: &'b mut [(Arc<str>, String)]) -> Row<'b> {
        let left = fields.len();
        Row { fields, left }
    }

    /// The first field named `name`; the last field left takes its place (as a vector's
    /// `swap_remove` does: which of two same-named attributes is kept depends on this order).
    fn take(&mut self, name: &str) -> Option<String> {
        let i = self.fields[..self.left]
            .iter()
            .position(|(k, _)| &**k == name)?;
        self.left -= 1;
        self.fields.swap(i, self.left);
        Some(std::mem::take(&mut self.fields[self.left].1))
    }

    /// The fields not taken, in order.
    fn rest(self) -> impl Iterator<Item = (String, String)> + 'b {
        self.fields[..self.left]
            .iter_mut()
            .map(|(k, v)| (k.to_string(), std::mem::take(v)))
    }
}

/// Fills batches of rows on the reading thread and hands each full one over.
struct Batches<'p> {
    path: &'p Path,
    batch: Rows,
    tx: std::sync::mpsc::SyncSender<Rows>,
}

impl Batches<'_> {
    /// Ends the row being read and hands the batch over when it is full.
    fn end_row(&mut self, line: u64) -> Result<(), InventoryError> {
        self.batch.end_row(line);
        if self.batch.rows.len() == BATCH {
            self.hand_over()?;
        }
        Ok(())
    }

    fn hand_over(&mut self) -> Result<(), InventoryError> {
        let full = std::mem::replace(&mut self.batch, Rows::with_capacity(BATCH));
        // A closed channel: the other side stopped at a bad row; its error stands.
        self.tx.send(full).map_err(|_| stopped(self.path))
    }
}

/// Reads an inventory export of `system` and returns one complete scan run's report.
pub fn scan_inventory(system: &str, path: &Path) -> Result<ScanReport, InventoryError> {
    let started_at = Utc::now();
    let mut obs = Observations::default();
    // One batch of every account: the list is handed over once, not copied batch by batch.
    let digest = read_in_batches(path, usize::MAX, |batch: Observations| {
        obs = batch;
        Ok::<(), InventoryError>(())
    })?;
    // The lists grew by doubling: give back what they did not fill.
    obs.accounts.shrink_to_fit();
    obs.grants.shrink_to_fit();
    let mut report = export_report(system, started_at, Some(digest));
    report.calls = obs.accounts.len() as u64;
    report.observations = obs;
    Ok(report)
}

/// The report of a run over the export of `system` that read it whole (its digest given), as
/// yet without observations: one unit, the export, read whole or not at all. A run that hands
/// the accounts over in batches ([`read_in_batches`]) records this report and counts them itself.
pub fn export_report(
    system: &str,
    started_at: chrono::DateTime<Utc>,
    digest: Option<String>,
) -> ScanReport {
    let mut report = ScanReport {
        scanner: SCANNER.into(),
        system: format!("{SCANNER}:{system}"),
        input_digest: digest,
        status: RunStatus::Complete,
        started_at,
        finished_at: Utc::now(),
        observations: Observations::default(),
        errors: Vec::new(),
        coverage: Vec::new(),
        calls: 0,
    };
    report.settle(&[UNIT.to_string()], Vec::new());
    report
}

/// The SHA-256 of the export at `path` as [`ScanReport::input_digest`] names it, read in one
/// pass over the file (a fraction of a second for a million rows): a run that hands accounts
/// over in batches needs it before the first batch, to know whether the store holds this very
/// export already. A file that cannot be read is an [`InventoryError::Io`].
pub fn export_digest(path: &Path) -> Result<String, InventoryError> {
    let io = |source| InventoryError::Io {
        file: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut digest = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        digest.update(&buf[..n]);
    }
    Ok(format!("sha256:{}", hex::encode(digest.finalize())))
}

/// Reads the export at `path` and hands its accounts over to `each`, in the export's order, in
/// batches of up to `batch` accounts with their grants (an account's grants are in its row, so
/// always in its batch); returns the digest of the file as read ([`export_digest`]'s form).
///
/// A bad row is an [`InventoryError::Invalid`] after the batches before it were handed over:
/// whoever writes batches must be able to take them back (the store writes a run in one
/// transaction). An error of `each` stops the reading and is returned as it is.
pub fn read_in_batches<E: From<InventoryError>>(
    path: &Path,
    batch: usize,
    mut each: impl FnMut(Observations) -> Result<(), E>,
) -> Result<String, E> {
    let io = |source| InventoryError::Io {
        file: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut digest = Sha256::new();
    let mut reader = BufReader::with_capacity(
        1 << 20,
        Digesting {
            inner: file,
            digest: &mut digest,
        },
    );
    let head = reader.fill_buf().map_err(io)?.to_vec();
    let mut obs = Observations::default();
    let mut names = Names::default();
    // The sink's error, kept while the reader is stopped with a placeholder of its own type.
    let mut failed: Option<E> = None;
    let mut push = |line: u64, row: Row<'_>| -> Result<(), InventoryError> {
        let (account, grants) = parse_row(path, line, row)?;
        if !names.insert(&account.name) {
            return Err(invalid(
                path,
                line,
                "account",
                format!("duplicate account `{}`", account.name),
            ));
        }
        obs.grants.extend(grants);
        obs.accounts.push(account);
        if obs.accounts.len() >= batch {
            if let Err(e) = each(std::mem::take(&mut obs)) {
                failed = Some(e);
                return Err(stopped(path));
            }
        }
        Ok(())
    };
    let format = InventoryFormat::detect(path, &head);
    let read = read_rows(path, format, &mut reader, &mut push);
    if let Some(e) = failed {
        return Err(e);
    }
    read?;
    drop(reader);
    if !obs.accounts.is_empty() {
        each(obs)?;
    }
    Ok(format!("sha256:{}", hex::encode(digest.finalize())))
}

/// The account names of an export so far, to refuse a duplicate: kept as 128-bit hashes (two
/// independent keyed 64-bit hashes), since a set of a million cloned names would cost more than
/// the accounts' own strings and a batch's accounts are gone once handed over. Two different
/// names share both halves with a chance of about 2^-128 per pair: never, in practice.
#[derive(Default)]
struct Names {
    keys: (
        std::collections::hash_map::RandomState,
        std::collections::hash_map::RandomState,
    ),
    seen: std::collections::HashSet<u128, std::hash::BuildHasherDefault<crate::Prehashed>>,
}

impl Names {
    /// Whether `name` is new (and now known).
    fn insert(&mut self, name: &str) -> bool {
        let key =
            (u128::from(self.keys.0.hash_one(name)) << 64) | u128::from(self.keys.1.hash_one(name));
        self.seen.insert(key)
    }
}

/// How many rows the reading thread hands over at a time.
const BATCH: usize = 2048;

/// Reads the export's rows on a thread of their own and hands them over, in order, to `push` on
/// this one: splitting records into rows costs about what building accounts from them costs,
/// and the machines this runs on have two cores. Rows read before a bad record are handed over
/// too, so the first error by line is the one reported, as when read in one go. What the format's
/// reader leaves unread is read as well: it belongs to the file the digest names.
fn read_rows<R: BufRead + Send>(
    path: &Path,
    format: InventoryFormat,
    reader: R,
    push: &mut impl FnMut(u64, Row<'_>) -> Result<(), InventoryError>,
) -> Result<(), InventoryError> {
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Rows>(8);
        let reading = s.spawn(move || -> Result<(), InventoryError> {
            let mut reader = reader;
            let mut out = Batches {
                path,
                batch: Rows::with_capacity(BATCH),
                tx,
            };
            let read = match format {
                InventoryFormat::Csv => read_csv(path, &mut reader, &mut out),
                InventoryFormat::Jsonl => read_jsonl(path, &mut reader, &mut out),
            };
            if !out.batch.rows.is_empty() {
                out.hand_over()?;
            }
            read?;
            std::io::copy(&mut reader, &mut std::io::sink()).map_err(|source| {
                InventoryError::Io {
                    file: path.to_path_buf(),
                    source,
                }
            })?;
            Ok(())
        });
        let mut built = Ok(());
        'batches: for mut batch in rx.iter() {
            let mut start = 0;
            for &(line, end) in &batch.rows {
                let row = Row::new(&mut batch.fields[start..end]);
                start = end;
                if let Err(e) = push(line, row) {
                    built = Err(e);
                    break 'batches;
                }
            }
        }
        // A reader still handing rows over stops at its next batch.
        drop(rx);
        let read = match reading.join() {
            Ok(read) => read,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        built.and(read)
    })
}

/// What the reading thread returns when the rows' side stopped first (never reported: the rows'
/// side has its own error then).
fn stopped(path: &Path) -> InventoryError {
    InventoryError::Io {
        file: path.to_path_buf(),
        source: std::io::Error::other("stopped reading: a row before was bad"),
    }
}

/// The one coverage unit of an inventory export.
pub const UNIT: &str = "accounts";

/// A reader that digests what passes through it: the export's SHA-256 is taken while it is read,
/// not by reading the file twice.
struct Digesting<'d, R> {
    inner: R,
    digest: &'d mut Sha256,
}

impl<R: Read> Read for Digesting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }
}

fn invalid(path: &Path, line: u64, field: &str, message: impl Into<String>) -> InventoryError {
    InventoryError::Invalid {
        file: path.to_path_buf(),
        line,
        field: field.to_string(),
        message: message.into(),
    }
}

fn read_csv(path: &Path, reader: impl Read, out: &mut Batches) -> Result<(), InventoryError> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let headers: Vec<Arc<str>> = csv
        .headers()
        .map_err(|e| invalid(path, 1, "header", e.to_string()))?
        .iter()
        .map(|h| Arc::from(h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase()))
        .collect();
    if !headers.iter().any(|h| &**h == "account") {
        return Err(invalid(
            path,
            1,
            "account",
            "required column is missing from the header",
        ));
    }
    let mut record = csv::StringRecord::new();
    loop {
        let line = csv.position().line();
        match csv.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(line);
                return Err(invalid(path, line, "row", e.to_string()));
            }
        }
        let line = record.position().map(|p| p.line()).unwrap_or(line);
        for (h, v) in headers.iter().zip(record.iter()) {
            out.batch.field(h, v);
        }
        out.end_row(line)?;
    }
    Ok(())
}

fn read_jsonl(path: &Path, reader: impl BufRead, out: &mut Batches) -> Result<(), InventoryError> {
    for (i, line) in reader.lines().enumerate() {
        let n = i as u64 + 1;
        let line = line.map_err(|source| {
            // Bytes that are not UTF-8 are a bad export (exit 2 naming the line), not a read
            // that failed tonight.
            if source.kind() == std::io::ErrorKind::InvalidData {
                invalid(path, n, "row", "is not UTF-8")
            } else {
                InventoryError::Io {
                    file: path.to_path_buf(),
                    source,
                }
            }
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&line)
            .map_err(|e| invalid(path, n, "row", format!("not a JSON object: {e}")))?;
        for (k, v) in value {
            let text = match v {
                serde_json::Value::Null => continue,
                serde_json::Value::String(s) => s,
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|i| {
                        i.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| i.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(";"),
                other => other.to_string(),
            };
            out.batch.field(&Arc::from(k.to_ascii_lowercase()), &text);
        }
        out.end_row(n)?;
    }
    Ok(())
}

fn parse_row(
    path: &Path,
    line: u64,
    mut row: Row<'_>,
) -> Result<(Account, Vec<Grant>), InventoryError> {
    let name = row
        .take("account")
        .ok_or_else(|| invalid(path, line, "account", "is empty"))?;
    let enabled = row
        .take("status")
        .map(|s| parse_status(path, line, s))
        .transpose()?
        .flatten();
    let time = |row: &mut Row<'_>, field: &str| -> Result<_, InventoryError> {
        row.take(field)
            .map(|v| export_time(&v).map_err(|m| invalid(path, line, field, m)))
            .transpose()
    };
    let created_at = time(&mut row, "created_at")?;
    let last_used_at = time(&mut row, "last_login")?;
    let kind = row
        .take("kind")
        .map(|k| parse_kind(path, line, k))
        .transpose()?
        .unwrap_or(AccountKind::User);
    let hints = IdentityHints {
        emails: row.take("email").into_iter().collect(),
        employee_id: row.take("employee_id"),
        owner: row.take("owner"),
        created_by: None,
    };
    let grants = row
        .take("groups")
        .map(|g| group_grants(&name, &g))
        .unwrap_or_default();
    let attributes = row.rest().collect();
    Ok((
        Account {
            name,
            kind,
            enabled,
            created_at,
            last_used_at,
            hints,
            attributes,
        },
        grants,
    ))
}

/// A time of the export: a plain date (`YYYY-MM-DD`, the usual export form, read here without
/// the general parser's format matching: a million rows hold two each) or whatever
/// [`parse_time`] reads, with its message when it is neither.
fn export_time(v: &str) -> Result<chrono::DateTime<Utc>, String> {
    let b = v.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    if b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && digits(0..4)
        && digits(5..7)
        && digits(8..10)
    {
        let number =
            |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        let date =
            chrono::NaiveDate::from_ymd_opt(number(0..4) as i32, number(5..7), number(8..10));
        if let Some(t) = date.and_then(|d| d.and_hms_opt(0, 0, 0)) {
            return Ok(t.and_utc());
        }
    }
    parse_time(v)
}

/// The `status` column: `Some(true)` enabled, `Some(false)` disabled or suspended.
/// Takes the row's own value and lower-cases it in place (no copy per row).
fn parse_status(
    path: &Path,
    line: u64,
    mut status: String,
) -> Result<Option<bool>, InventoryError> {
    status.make_ascii_lowercase();
    match status.as_str() {
        "active" | "enabled" | "true" => Ok(Some(true)),
        "disabled" | "suspended" | "inactive" | "deactivated" | "locked" | "false" => {
            Ok(Some(false))
        }
        other => Err(invalid(
            path,
            line,
            "status",
            format!("`{other}` is not one of active, enabled, disabled, suspended"),
        )),
    }
}

/// The `kind` column. The usual two spellings are taken as they are; any other goes through
/// [`AccountKind::parse`] (which lower-cases a copy).
fn parse_kind(path: &Path, line: u64, kind: String) -> Result<AccountKind, InventoryError> {
    let parsed = match kind.as_str() {
        "user" => Some(AccountKind::User),
        "service" => Some(AccountKind::Service),
        other => AccountKind::parse(other),
    };
    parsed.ok_or_else(|| {
        invalid(
            path,
            line,
            "kind",
            format!("`{kind}` is not one of user, service, token, key"),
        )
    })
}

/// The `groups` column (`;`-separated) as group grants of account `name`.
fn group_grants(name: &str, groups: &str) -> Vec<Grant> {
    groups
        .split(';')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(|g| Grant {
            account: name.to_string(),
            kind: GrantKind::Group,
            target: g.to_string(),
            attributes: BTreeMap::new(),
            facets: Default::default(),
        })
        .collect()
}

#[cfg(test)]
mod utf8_tests {
    use super::*;

    #[test]
    fn export_dates_read_as_the_general_parser_reads_them() {
        for v in [
            "2024-01-01",
            "2024-02-29",
            "1999-12-31",
            "2026-9-01",
            "2024-02-30",
            "2024-13-01",
            "2026-04-23T08:00:00Z",
            "x",
        ] {
            assert_eq!(export_time(v), parse_time(v), "{v}");
        }
    }

    #[test]
    fn a_jsonl_line_that_is_not_utf8_is_bad_input_naming_the_line() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("export.jsonl");
        let mut bytes = b"{\"account\": \"ann\"}\n{\"account\": \"b".to_vec();
        bytes.extend([0xff, 0xfe]);
        bytes.extend(b"\"}\n");
        std::fs::write(&file, bytes).expect("write");
        match scan_inventory("crm", &file) {
            Err(InventoryError::Invalid { line, message, .. }) => {
                assert_eq!(line, 2);
                assert!(message.contains("UTF-8"), "{message}");
            }
            other => panic!("expected bad input on line 2, got {other:?}"),
        }
    }
}

#[cfg(test)]
mod batch_tests {
    use super::*;

    fn export(rows: &[&str]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("export.csv");
        let mut csv = String::from("account,groups\n");
        for r in rows {
            csv.push_str(r);
            csv.push('\n');
        }
        std::fs::write(&file, csv).expect("write");
        (dir, file)
    }

    #[test]
    fn accounts_are_handed_over_in_batches_in_export_order_with_their_grants() {
        let (_dir, file) = export(&["a,g1;g2", "b,", "c,g3", "d,", "e,g4"]);
        let mut batches: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        let digest = read_in_batches(&file, 2, |obs: Observations| {
            batches.push((
                obs.accounts.iter().map(|a| a.name.clone()).collect(),
                obs.grants
                    .iter()
                    .map(|g| format!("{}:{}", g.account, g.target))
                    .collect(),
            ));
            Ok::<(), InventoryError>(())
        })
        .expect("read");
        let names: Vec<Vec<String>> = batches.iter().map(|b| b.0.clone()).collect();
        assert_eq!(names, [vec!["a", "b"], vec!["c", "d"], vec!["e"]]);
        assert_eq!(batches[0].1, ["a:g1", "a:g2"]);
        assert_eq!(batches[2].1, ["e:g4"]);
        assert_eq!(digest, export_digest(&file).expect("digest"));
        let whole = scan_inventory("crm", &file).expect("whole");
        assert_eq!(whole.input_digest.as_deref(), Some(digest.as_str()));
        assert_eq!(whole.observations.accounts.len(), 5);
    }

    #[test]
    fn a_duplicate_in_a_later_batch_is_refused_naming_its_line() {
        let (_dir, file) = export(&["a,", "b,", "c,", "a,"]);
        let mut handed = 0;
        let read = read_in_batches(&file, 2, |obs: Observations| {
            handed += obs.accounts.len();
            Ok::<(), InventoryError>(())
        });
        match read {
            Err(InventoryError::Invalid { line, field, .. }) => {
                assert_eq!((line, field.as_str()), (5, "account"));
            }
            other => panic!("expected the duplicate refused, got {other:?}"),
        }
        assert_eq!(handed, 2, "the batch before the bad row was handed over");
    }

    #[test]
    fn an_error_of_whoever_takes_the_batches_stops_the_reading_and_is_returned() {
        let rows: Vec<String> = (0..10).map(|i| format!("u{i},")).collect();
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        let (_dir, file) = export(&rows);
        let mut calls = 0;
        let read = read_in_batches(&file, 3, |_: Observations| {
            calls += 1;
            if calls == 2 {
                return Err(InventoryError::Invalid {
                    file: PathBuf::from("sink"),
                    line: 0,
                    field: "sink".into(),
                    message: "full".into(),
                });
            }
            Ok(())
        });
        assert!(
            matches!(read, Err(InventoryError::Invalid { ref field, .. }) if field == "sink"),
            "{read:?}"
        );
        assert_eq!(calls, 2);
    }
}
