//! HR tables: `snapshots`, `people` (current state), `snapshot_people` (each snapshot as imported)
//! and `person_events` (leaver, mover, joined, rejoined).

use super::db::{params, Connection, OptionalExtension, Row, Transaction};
use super::Result;
use crate::hr::diff::SnapshotChanges;
use crate::hr::{HrStatus, PersonRecord};
use crate::person::Person;
use chrono::{DateTime, Utc};
use residual_scanners::time::{format_time, parse_time};
use std::collections::{BTreeMap, HashMap};

/// A snapshot as listed by `hr snapshots`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SnapshotInfo {
    pub id: i64,
    pub as_of: String,
    pub imported_at: String,
    pub source: String,
    pub format: String,
    /// SHA-256 of the imported file, so an unchanged export is not imported twice by `scan`.
    pub digest: String,
    pub people: i64,
}

fn time_col(row: &Row, i: usize) -> super::db::Result<Option<DateTime<Utc>>> {
    let s: Option<String> = row.get(i)?;
    Ok(s.and_then(|s| parse_time(&s).ok()))
}

fn json_col<T: serde::de::DeserializeOwned + Default>(row: &Row, i: usize) -> super::db::Result<T> {
    let s: String = row.get(i)?;
    Ok(serde_json::from_str(&s).unwrap_or_default())
}

const PERSON_COLUMNS: &str =
    "employee_id, email, name, hr_status, terminated_at, present, department, \
     title, manager, aliases, github_login, gitlab_user, aws_user, moved_at, previous_department, \
     previous_title, previous_manager, attributes";

fn person_from_row(row: &Row) -> super::db::Result<Person> {
    let status: String = row.get(3)?;
    let aliases: Vec<String> = json_col(row, 9)?;
    let attributes: BTreeMap<String, String> = json_col(row, 17)?;
    Ok(Person {
        record: PersonRecord {
            employee_id: row.get(0)?,
            email: row.get(1)?,
            name: row.get(2)?,
            status: HrStatus::parse(&status).unwrap_or(HrStatus::Active),
            terminated_at: time_col(row, 4)?,
            department: row.get(6)?,
            title: row.get(7)?,
            manager: row.get(8)?,
            aliases,
            github_login: row.get(10)?,
            gitlab_user: row.get(11)?,
            aws_user: row.get(12)?,
            role_changed_at: None,
            attributes,
        },
        present: row.get::<_, i64>(5)? != 0,
        moved_at: time_col(row, 13)?,
        previous_department: row.get(14)?,
        previous_title: row.get(15)?,
        previous_manager: row.get(16)?,
    })
}

/// Every person the store knows, by employee id.
pub fn load_all(conn: &Connection) -> Result<HashMap<String, Person>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {PERSON_COLUMNS}, role_changed_at FROM people"
    ))?;
    let rows = stmt.query_map([], |row| {
        let mut p = person_from_row(row)?;
        p.record.role_changed_at = time_col(row, 18)?;
        Ok(p)
    })?;
    let mut out = HashMap::new();
    for p in rows {
        let p = p?;
        out.insert(p.record.employee_id.clone(), p);
    }
    Ok(out)
}

/// The latest snapshot, if any.
pub fn latest_snapshot(conn: &Connection) -> Result<Option<SnapshotInfo>> {
    Ok(conn
        .query_row(
            "SELECT id, as_of, imported_at, source, format, digest, people FROM snapshots ORDER BY id DESC LIMIT 1",
            [],
            snapshot_from_row,
        )
        .optional()?)
}

fn snapshot_from_row(r: &Row) -> super::db::Result<SnapshotInfo> {
    Ok(SnapshotInfo {
        id: r.get(0)?,
        as_of: r.get(1)?,
        imported_at: r.get(2)?,
        source: r.get(3)?,
        format: r.get(4)?,
        digest: r.get(5)?,
        people: r.get(6)?,
    })
}

pub fn list_snapshots(conn: &Connection) -> Result<Vec<SnapshotInfo>> {
    let mut stmt = conn.prepare(
        "SELECT id, as_of, imported_at, source, format, digest, people FROM snapshots ORDER BY id",
    )?;
    let rows = stmt.query_map([], snapshot_from_row)?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

/// What an import wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportSummary {
    pub snapshot_id: i64,
    pub people: usize,
    pub leavers: usize,
    pub movers: usize,
    pub joined: usize,
}

/// Writes one snapshot and the changes it caused, inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub fn write_snapshot(
    tx: &Transaction,
    source: &str,
    format: &str,
    digest: &str,
    as_of: DateTime<Utc>,
    now: DateTime<Utc>,
    snapshot_size: usize,
    changes: &SnapshotChanges,
) -> Result<ImportSummary> {
    let snapshot_id: i64 = tx.query_row(
        "INSERT INTO snapshots (as_of, imported_at, source, format, digest, people) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         RETURNING id",
        params![format_time(&as_of), format_time(&now), source, format, digest, snapshot_size as i64],
        |r| r.get(0),
    )?;
    write_people(tx, snapshot_id, changes)?;
    write_events(tx, snapshot_id, changes)?;
    let count = |k| changes.events.iter().filter(|e| e.kind == k).count();
    use crate::hr::diff::EventKind;
    Ok(ImportSummary {
        snapshot_id,
        people: snapshot_size,
        leavers: count(EventKind::Leaver),
        movers: count(EventKind::Mover),
        joined: count(EventKind::Joined),
    })
}

/// Upserts the current state of each changed person, and keeps the record of each person present
/// in snapshot `snapshot_id` as imported.
fn write_people(tx: &Transaction, snapshot_id: i64, changes: &SnapshotChanges) -> Result<()> {
    let mut upsert = tx.prepare(
        "INSERT INTO people (employee_id, email, name, hr_status, terminated_at, present, department, \
           title, manager, aliases, github_login, gitlab_user, aws_user, moved_at, previous_department, \
           previous_title, previous_manager, attributes, first_snapshot, last_snapshot, role_changed_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?19, ?20) \
         ON CONFLICT(employee_id) DO UPDATE SET email = excluded.email, name = excluded.name, \
           hr_status = excluded.hr_status, terminated_at = excluded.terminated_at, present = excluded.present, \
           department = excluded.department, title = excluded.title, manager = excluded.manager, \
           aliases = excluded.aliases, github_login = excluded.github_login, gitlab_user = excluded.gitlab_user, \
           aws_user = excluded.aws_user, moved_at = excluded.moved_at, \
           previous_department = excluded.previous_department, previous_title = excluded.previous_title, \
           previous_manager = excluded.previous_manager, attributes = excluded.attributes, \
           last_snapshot = CASE WHEN excluded.present = 1 THEN excluded.last_snapshot ELSE people.last_snapshot END, \
           role_changed_at = excluded.role_changed_at",
    )?;
    let mut history = tx.prepare(
        "INSERT INTO snapshot_people (snapshot_id, employee_id, record) VALUES (?1, ?2, ?3)",
    )?;
    for p in &changes.people {
        let r = &p.record;
        upsert.execute(params![
            r.employee_id,
            r.email,
            r.name,
            r.status.as_str(),
            r.terminated_at.as_ref().map(format_time),
            p.present as i64,
            r.department,
            r.title,
            r.manager,
            serde_json::to_string(&r.aliases)?,
            r.github_login,
            r.gitlab_user,
            r.aws_user,
            p.moved_at.as_ref().map(format_time),
            p.previous_department,
            p.previous_title,
            p.previous_manager,
            serde_json::to_string(&r.attributes)?,
            snapshot_id,
            r.role_changed_at.as_ref().map(format_time),
        ])?;
        if p.present {
            history.execute(params![snapshot_id, r.employee_id, compact_record(r)?])?;
        }
    }
    Ok(())
}

/// A person's record as `snapshot_people` keeps it: without what the row's key says (the
/// employee id) and without empty parts (null, `[]`, `{}`), which read back as such
/// ([`stored_record`]), its field names packed (`evidence_text::HR_RECORDS`; schema 22). Nulls
/// were a third of each record (100,000 people: 316 bytes a record whole, 179 so, ~100 packed).
/// Rows written whole or unpacked before still read back the same.
fn compact_record(r: &PersonRecord) -> serde_json::Result<String> {
    let mut value = serde_json::to_value(r)?;
    if let serde_json::Value::Object(fields) = &mut value {
        fields.remove("employee_id");
        fields.retain(|_, v| match v {
            serde_json::Value::Null => false,
            serde_json::Value::Array(a) => !a.is_empty(),
            serde_json::Value::Object(o) => !o.is_empty(),
            _ => true,
        });
    }
    let json = serde_json::to_string(&value)?;
    Ok(crate::evidence_text::pack_with(&crate::evidence_text::HR_RECORDS, &json).into_owned())
}

/// Reads back a record [`compact_record`] stored (or one stored whole). Nothing reads the
/// snapshots' archive yet; this is the form's other half, kept beside it and tested.
#[cfg(test)]
fn stored_record(employee_id: &str, text: &str) -> serde_json::Result<PersonRecord> {
    let text = crate::evidence_text::unpack_with(&crate::evidence_text::HR_RECORDS, text);
    let mut value: serde_json::Value = serde_json::from_str(&text)?;
    if let serde_json::Value::Object(fields) = &mut value {
        fields.insert("employee_id".into(), employee_id.into());
        fields
            .entry("aliases")
            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
        fields
            .entry("attributes")
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
    }
    serde_json::from_value(value)
}

/// Records the leaver, mover, joined and rejoined events snapshot `snapshot_id` brought.
fn write_events(tx: &Transaction, snapshot_id: i64, changes: &SnapshotChanges) -> Result<()> {
    let mut event = tx.prepare(
        "INSERT INTO person_events (snapshot_id, employee_id, kind, effective_at, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for e in &changes.events {
        event.execute(params![
            snapshot_id,
            e.employee_id,
            e.kind.as_str(),
            format_time(&e.effective_at),
            e.detail.to_string()
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> PersonRecord {
        PersonRecord {
            employee_id: "E1".into(),
            email: "ann@example.com".into(),
            name: Some("Ann".into()),
            status: HrStatus::Active,
            terminated_at: None,
            department: Some("Legal".into()),
            title: None,
            manager: Some("E2".into()),
            aliases: Vec::new(),
            github_login: None,
            gitlab_user: None,
            aws_user: None,
            role_changed_at: None,
            attributes: BTreeMap::new(),
        }
    }

    #[test]
    fn a_compact_record_leaves_out_its_key_and_empty_parts_and_reads_back_the_same() {
        let plain = record();
        let text = compact_record(&plain).expect("compact");
        let json = r#"{"department":"Legal","email":"ann@example.com","manager":"E2","name":"Ann","status":"active"}"#;
        assert_eq!(
            crate::evidence_text::unpack_with(&crate::evidence_text::HR_RECORDS, &text),
            json
        );
        assert!(
            text.len() * 2 < json.len() + 20,
            "packed: {} bytes",
            text.len()
        );
        assert_eq!(
            stored_record("E1", json).expect("read"),
            plain,
            "unpacked, as before"
        );
        assert_eq!(stored_record("E1", &text).expect("read"), plain);

        let full = PersonRecord {
            terminated_at: Some(parse_time("2026-03-01T00:00:00Z").expect("time")),
            aliases: vec!["a@corp.example".into()],
            attributes: BTreeMap::from([("site".to_string(), String::new())]),
            name: Some(String::new()),
            ..record()
        };
        let text = compact_record(&full).expect("compact");
        assert_eq!(stored_record("E1", &text).expect("read"), full);
        let whole = serde_json::to_string(&full).expect("whole");
        assert_eq!(
            stored_record("E1", &whole).expect("read"),
            full,
            "a row written whole by an older build"
        );
    }
}
