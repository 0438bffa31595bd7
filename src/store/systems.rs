//! `systems`: each system's name (`kind:scope`) once, and the small number the tables with a row
//! per account refer to it by. A million links each holding `inventory:bench` cost 13 MB; the
//! number costs nothing (SQLite stores 0 and 1 in the row's header alone, and small numbers in
//! a byte).

use super::db::{Connection, OptionalExtension};
use super::Result;

/// The number of `system`, given it one if it has none yet.
pub fn id(conn: &Connection, system: &str) -> Result<i64> {
    if let Some(id) = find(conn, system)? {
        return Ok(id);
    }
    // Another writer of a shared store may name it first: theirs is kept, and read back.
    conn.execute(
        "INSERT INTO systems (name) VALUES (?1) ON CONFLICT (name) DO NOTHING",
        [system],
    )?;
    Ok(
        conn.query_row("SELECT id FROM systems WHERE name = ?1", [system], |r| {
            r.get(0)
        })?,
    )
}

/// The number of `system`, if it has one (a system never written has none, and no rows).
pub fn find(conn: &Connection, system: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row("SELECT id FROM systems WHERE name = ?1", [system], |r| {
            r.get(0)
        })
        .optional()?)
}
