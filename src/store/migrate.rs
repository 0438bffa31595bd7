//! `store migrate`: copies a SQLite store, chain included, into an empty PostgreSQL store.
//!
//! The target gets the schema by the same migrations, then every table's rows as they are
//! (ids, sequence numbers, hashes, the chain seal), in one transaction under the write lock, so a
//! copy is all or nothing and `audit verify` on it finds the same head. Identity columns are then
//! moved past the copied ids. The key files go with the store: the chain key (without it no one
//! can verify or extend the copy's chain) and the fingerprint key (so later scans recognise the
//! same secrets) are copied to where the PostgreSQL store looks for them, unless a key is already
//! there: the same key is fine, another one is refused.

use super::db::{Connection, ValueRef};
use super::{migrations, Result, StoreError};
use crate::keys;
use std::path::{Path, PathBuf};

/// What a copy did.
#[derive(Debug, Default)]
pub struct Copied {
    /// Rows per table, in copy order.
    pub tables: Vec<(String, u64)>,
    /// Key files written for the target (source → target).
    pub keys: Vec<(PathBuf, PathBuf)>,
}

/// Why a copy was refused.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("{to} is not a PostgreSQL URL (postgres://…): `store migrate` copies a SQLite store into PostgreSQL")]
    NotPostgres { to: String },
    #[error("{from} does not exist")]
    NoSource { from: PathBuf },
    #[error("the target store {to} is not empty (table {table} has rows): copy only into an empty database; nothing was written")]
    NotEmpty { to: String, table: String },
    #[error("the target's {what} {} exists and differs from the source's {}: move it away or use the same key; nothing was written", target.display(), original.display())]
    KeyDiffers {
        what: &'static str,
        original: PathBuf,
        target: PathBuf,
    },
    #[error("key file {}: {source}", path.display())]
    KeyIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Tables referenced by others' foreign keys: copied first.
const REFERENCED_FIRST: &[&str] = &["snapshots", "scan_runs", "remediation_texts"];

/// Copies the SQLite store at `from` into the empty PostgreSQL store `to`.
pub fn copy(from: &Path, to: &Path) -> std::result::Result<Copied, MigrateError> {
    let to_text = to.to_string_lossy().to_string();
    if !super::db::pg::is_url(&to_text) {
        return Err(MigrateError::NotPostgres { to: to_text });
    }
    let shown = super::db::pg::redact(&to_text);
    if !from.exists() {
        return Err(MigrateError::NoSource {
            from: from.to_path_buf(),
        });
    }
    // The source as it is: a store of an older schema is refused with the upgrade hint.
    let source = super::Store::open_read_only(from)?;
    let mut target = Connection::open(to).map_err(StoreError::from)?;
    super::bookkeeping(|| migrations::migrate(&mut target, Path::new(&shown)))?;
    let tables = tables_of(&target)?;
    for t in &tables {
        let any: bool = target
            .query_row(&format!("SELECT EXISTS (SELECT 1 FROM {t})"), [], |r| {
                r.get(0)
            })
            .map_err(StoreError::from)?;
        if any {
            return Err(MigrateError::NotEmpty {
                to: shown,
                table: t.clone(),
            });
        }
    }
    let key_plan = plan_keys(from, to)?;

    let mut copied = Copied::default();
    let tx = target.transaction().map_err(StoreError::from)?;
    for table in &tables {
        let n = copy_table(source.conn(), &tx, table)?;
        copied.tables.push((table.clone(), n));
    }
    reset_identities(&tx)?;
    tx.commit().map_err(StoreError::from)?;
    for (src, dst) in key_plan {
        write_key(&src, &dst)?;
        copied.keys.push((src, dst));
    }
    Ok(copied)
}

/// The target's tables (less the schema bookkeeping), referenced ones first.
fn tables_of(target: &Connection) -> Result<Vec<String>> {
    let mut stmt = target.prepare(
        "SELECT table_name FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
           AND table_name <> 'residual_schema' ORDER BY table_name",
    )?;
    let mut names: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<super::db::Result<_>>()?;
    names.sort_by_key(|n| {
        REFERENCED_FIRST
            .iter()
            .position(|r| r == n)
            .unwrap_or(REFERENCED_FIRST.len())
    });
    Ok(names)
}

/// Copies every row of `table`, by column name (the two schemas were made by the same
/// migrations, but `ALTER TABLE … ADD COLUMN` order is not relied on).
fn copy_table(source: &Connection, target: &Connection, table: &str) -> Result<u64> {
    let mut cols = target.prepare(
        "SELECT column_name FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = ?1 ORDER BY ordinal_position",
    )?;
    let columns: Vec<String> = cols
        .query_map([table], |r| r.get(0))?
        .collect::<super::db::Result<_>>()?;
    let list = columns.join(", ");
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    let mut insert = target.prepare(&format!(
        "INSERT INTO {table} ({list}) VALUES ({})",
        placeholders.join(", ")
    ))?;
    let mut read = source.prepare(&format!("SELECT {list} FROM {table}"))?;
    let mut rows = read.query([])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let values = (0..columns.len())
            .map(|i| r.get_ref(i))
            .collect::<super::db::Result<Vec<ValueRef<'_>>>>()?;
        let params: Vec<&dyn super::db::ToSql> =
            values.iter().map(|v| v as &dyn super::db::ToSql).collect();
        insert.execute(params.as_slice())?;
        n += 1;
    }
    Ok(n)
}

/// Moves each identity column's sequence past the copied ids.
fn reset_identities(target: &Connection) -> Result<()> {
    let mut stmt = target.prepare(
        "SELECT table_name, column_name FROM information_schema.columns \
         WHERE table_schema = current_schema() AND is_identity = 'YES'",
    )?;
    let identities: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<super::db::Result<_>>()?;
    for (table, column) in identities {
        target.execute_batch(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', '{column}'), \
             COALESCE((SELECT MAX({column}) FROM {table}), 0) + 1, false)"
        ))?;
    }
    Ok(())
}

/// The key files to copy: (source file, target file) for each key the source has and the target
/// lacks; a target key that exists must be the same.
fn plan_keys(from: &Path, to: &Path) -> std::result::Result<Vec<(PathBuf, PathBuf)>, MigrateError> {
    let mut plan = Vec::new();
    let pairs = [
        (
            "chain key",
            chain_key_of_file(from),
            keys::chain_key_file(to),
        ),
        ("fingerprint key", keys::key_file(from), keys::key_file(to)),
    ];
    for (what, src, dst) in pairs {
        if !src.exists() || src == dst {
            continue;
        }
        if dst.exists() {
            let same = std::fs::read(&src).ok() == std::fs::read(&dst).ok();
            if !same {
                return Err(MigrateError::KeyDiffers {
                    what,
                    original: src,
                    target: dst,
                });
            }
            continue;
        }
        plan.push((src, dst));
    }
    Ok(plan)
}

/// The source store's own chain key file (`RESIDUAL_CHAIN_KEY_FILE` names the target's).
fn chain_key_of_file(db: &Path) -> PathBuf {
    let mut p = db.as_os_str().to_owned();
    p.push(".chain-key");
    PathBuf::from(p)
}

fn write_key(src: &Path, dst: &Path) -> std::result::Result<(), MigrateError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| MigrateError::KeyIo { path, source }
    };
    let bytes = std::fs::read(src).map_err(io(src))?;
    if let Some(dir) = dst.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    write_private(dst, &bytes).map_err(io(dst))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// Observation content that a SQLite store still holds as text (it did not read back, so
    /// schema 13 left it as it was) is copied into PostgreSQL's BYTEA column as its bytes, not
    /// through BYTEA's escape syntax (which would reject or rewrite the backslashes): the
    /// driver layer binds text to a BYTEA parameter as raw bytes.
    #[test]
    fn content_left_as_text_is_copied_as_bytes() {
        let mut locations = crate::store::testing::locations().into_iter();
        let (Some((_dir, from)), Some((_keys, to))) = (locations.next(), locations.next()) else {
            return;
        };
        {
            let store = Store::open(&from).expect("sqlite store");
            store
                .conn()
                .execute(
                    "INSERT INTO scan_runs (scanner, system, status, started_at, finished_at, accounts, \
                       credentials, grants, calls, errors) VALUES ('inventory', 'inventory:crm', 'complete', \
                       '2026-06-01T00:00:00Z', '2026-06-01T00:00:00Z', 1, 0, 0, 0, '[]')",
                    [],
                )
                .expect("run");
            store
                .conn()
                .execute(
                    "INSERT INTO systems (id, name) VALUES (1, 'inventory:crm')",
                    [],
                )
                .expect("system");
            store
                .conn()
                .execute(
                    "INSERT INTO observations (system, id, type, account, subject, kind, active, \
                       first_run, last_run, gone_run, data) \
                     VALUES (1, 1, 1, 'ann', 'ann', 'user', 1, 1, 1, NULL, 'not \\ content, C:\\temp')",
                    [],
                )
                .expect("observation");
        }
        copy(&from, &to).expect("copied");
        let store = Store::open(&to).expect("postgres store");
        let data: Vec<u8> = store
            .conn()
            .query_row("SELECT data FROM observations", [], |r| r.get(0))
            .expect("data");
        assert_eq!(data, br"not \ content, C:\temp");
    }
}
