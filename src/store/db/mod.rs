//! The store's database layer: one connection type that is either SQLite (the embedded default,
//! `rusqlite`) or PostgreSQL (the shared store, see [`pg`]), with the small statement API the
//! table-family modules use (`execute`, `query_row`, `prepare` → `query`/`query_map`), one
//! parameter/column value type ([`ValueRef`]) and one error type.
//!
//! Store modules write SQL once, in SQLite's dialect with `?N` placeholders; [`dialect`] rewrites
//! it for PostgreSQL (cached per text). The rare statement that cannot be rewritten is written
//! twice, side by side, and picks its text with [`Connection::is_postgres`]. Nothing outside
//! `src/store/` sees rusqlite or postgres types.
//!
//! SQLite statements bind borrowed values straight into rusqlite (no copy); PostgreSQL
//! statements are prepared once per connection and text, and their rows read as they arrive;
//! a callback may still query again while rows are read (see [`pg`]).

mod batch;
pub mod dialect;
pub mod pg;
mod tls;
mod value;

pub use value::{FromSql, FromSqlError, FromSqlResult, Params, ToSql, ValueRef};

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// Builds the parameters of one statement from values of mixed types.
#[macro_export]
macro_rules! params {
    () => {
        &[] as &[&dyn $crate::store::db::ToSql]
    };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::store::db::ToSql),+] as &[&dyn $crate::store::db::ToSql]
    };
}
pub use crate::params;

/// A statement failed, or a row was not what it should be.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// A PostgreSQL statement failed (its cause is in the message, not chained: one line).
    #[error("{}", pg::describe(.0))]
    Postgres(postgres::Error),
    /// A statement PostgreSQL could not prepare, with its text (SQL, never a value).
    #[error("{reason}, in: {sql}")]
    Prepare { sql: String, reason: String },
    #[error("stored value: {0}")]
    Value(#[from] FromSqlError),
    #[error("query returned no rows")]
    NoRows,
    #[error(transparent)]
    Connect(#[from] pg::ConnectError),
    #[error("column {0}: stored type {1} cannot be read")]
    ColumnType(usize, String),
}

impl Error {
    /// Whether another process held the write lock past the lock timeout: SQLite busy/locked,
    /// PostgreSQL `lock_not_available` (55P03, `lock_timeout`).
    pub fn is_locked(&self) -> bool {
        match self {
            Error::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            Error::Postgres(e) => {
                e.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE)
                    || e.code() == Some(&postgres::error::SqlState::QUERY_CANCELED)
            }
            _ => false,
        }
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Error {
        Error::Postgres(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// `.optional()` on a single-row result: no row is `None`, not an error.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(Error::NoRows) | Err(Error::Sqlite(rusqlite::Error::QueryReturnedNoRows)) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// An open database connection.
pub struct Connection {
    inner: Inner,
}

enum Inner {
    Sqlite(rusqlite::Connection),
    // Boxed: a PostgreSQL client is three times a SQLite connection's size.
    Postgres(Box<pg::Client>),
}

impl Connection {
    pub(in crate::store) fn from_sqlite(conn: rusqlite::Connection) -> Connection {
        Connection {
            inner: Inner::Sqlite(conn),
        }
    }

    pub(in crate::store) fn from_postgres(client: pg::Client) -> Connection {
        Connection {
            inner: Inner::Postgres(Box::new(client)),
        }
    }

    /// Opens a connection to an existing store, without migrating it: a SQLite file or a
    /// PostgreSQL URL (a second connection of one process, e.g. the lease renewals).
    pub fn open(location: &std::path::Path) -> Result<Connection> {
        match location.to_str().filter(|l| pg::is_url(l)) {
            Some(url) => Ok(Connection::from_postgres(pg::connect(
                url,
                crate::store::DEFAULT_LOCK_TIMEOUT,
            )?)),
            None => Ok(Connection::from_sqlite(rusqlite::Connection::open(
                location,
            )?)),
        }
    }

    /// How long a statement waits for another writer (SQLite's busy timeout, PostgreSQL's
    /// `lock_timeout`).
    pub fn busy_timeout(&self, timeout: std::time::Duration) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.busy_timeout(timeout)?),
            Inner::Postgres(c) => c.set_lock_timeout(timeout),
        }
    }

    /// An in-memory SQLite database (tests).
    #[cfg(test)]
    pub fn open_in_memory() -> Result<Connection> {
        Ok(Connection::from_sqlite(
            rusqlite::Connection::open_in_memory()?,
        ))
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self.inner, Inner::Postgres(_))
    }

    /// The SQLite connection, for what only SQLite has (pragmas, hooks); `None` on PostgreSQL.
    pub(in crate::store) fn sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.inner {
            Inner::Sqlite(c) => Some(c),
            Inner::Postgres(_) => None,
        }
    }

    pub(in crate::store) fn sqlite_mut(&mut self) -> Option<&mut rusqlite::Connection> {
        match &mut self.inner {
            Inner::Sqlite(c) => Some(c),
            Inner::Postgres(_) => None,
        }
    }

    /// Forgets prepared statements after a migration changed the schema: SQLite prepares
    /// again by itself, PostgreSQL refuses a cached statement whose row type changed.
    pub(in crate::store) fn forget_statements(&self) {
        if let Inner::Postgres(c) = &self.inner {
            c.forget_statements();
        }
    }

    pub(in crate::store) fn postgres(&self) -> Option<&pg::Client> {
        match &self.inner {
            Inner::Postgres(c) => Some(c),
            Inner::Sqlite(_) => None,
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        self.prepare(sql)?.execute(params)
    }

    /// Runs several statements without parameters (schema, test fixtures).
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Inner::Postgres(c) => c.batch(&dialect::postgres_script(sql)),
        }
    }

    /// Runs a query that returns one row, reading it with `f`; no row is [`Error::NoRows`].
    pub fn query_row<T, P: Params, F>(&self, sql: &str, params: P, f: F) -> Result<T>
    where
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        self.prepare(sql)?.query_row(params, f)
    }

    /// Prepares a statement (SQLite text; rewritten and cached on PostgreSQL).
    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        Ok(Statement {
            inner: match &self.inner {
                Inner::Sqlite(c) => StatementInner::Sqlite(c.prepare_cached(sql)?),
                Inner::Postgres(c) => StatementInner::Postgres(c, c.prepare(sql)?),
            },
        })
    }

    /// Starts a transaction that takes the write lock at once: `BEGIN IMMEDIATE` on SQLite; on
    /// PostgreSQL `BEGIN` and the store's transaction-level advisory lock, so that writers are
    /// serialised as on SQLite (one hash chain, one run bookkeeping).
    pub fn transaction(&mut self) -> Result<Transaction<'_>> {
        self.begin_write()
    }

    pub(crate) fn begin_write(&self) -> Result<Transaction<'_>> {
        match &self.inner {
            Inner::Sqlite(c) => c.execute_batch("BEGIN IMMEDIATE")?,
            Inner::Postgres(c) => c.begin_write()?,
        }
        Ok(Transaction {
            conn: self,
            done: Cell::new(false),
            writes: true,
        })
    }

    fn end(&self, sql: &str) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Inner::Postgres(c) => c.end(sql),
        }
    }
}

/// An open transaction on a [`Connection`] (it derefs to it). Rolled back when dropped without
/// [`Transaction::commit`].
pub struct Transaction<'c> {
    conn: &'c Connection,
    done: Cell<bool>,
    writes: bool,
}

impl std::ops::Deref for Transaction<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Transaction<'_> {
    /// Commits; a failed commit is rolled back when the transaction is dropped.
    pub fn commit(self) -> Result<()> {
        self.conn.end("COMMIT")?;
        self.done.set(true);
        if self.writes && self.conn.is_postgres() {
            // SQLite's commit hook says this for SQLite stores.
            super::note_commit();
        }
        Ok(())
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.done.get() {
            // A failed rollback leaves nothing to do: the connection is dropped with the store.
            let _ = self.conn.end("ROLLBACK");
        }
    }
}

/// A prepared statement.
pub struct Statement<'c> {
    inner: StatementInner<'c>,
}

enum StatementInner<'c> {
    Sqlite(rusqlite::CachedStatement<'c>),
    Postgres(&'c pg::Client, pg::Prepared),
}

impl Statement<'_> {
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        match &mut self.inner {
            StatementInner::Sqlite(s) => Ok(s
                .execute(rusqlite::params_from_iter((0..params.count()).map(|i| {
                    rusqlite::types::ToSqlOutput::Borrowed(params.value(i).to_sqlite())
                })))?),
            StatementInner::Postgres(c, s) => c.execute(s, &params),
        }
    }

    pub fn query<P: Params>(&mut self, params: P) -> Result<Rows<'_>> {
        Ok(Rows {
            inner: match &mut self.inner {
                StatementInner::Sqlite(s) => RowsInner::Sqlite(s.query(
                    rusqlite::params_from_iter((0..params.count()).map(|i| {
                        rusqlite::types::ToSqlOutput::Borrowed(params.value(i).to_sqlite())
                    })),
                )?),
                StatementInner::Postgres(c, s) => RowsInner::Postgres {
                    rows: c.query(s, &params)?,
                    current: None,
                },
            },
        })
    }

    pub fn query_map<T, P: Params, F>(&mut self, params: P, f: F) -> Result<MappedRows<'_, F>>
    where
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        Ok(MappedRows {
            rows: self.query(params)?,
            f,
        })
    }

    pub fn query_row<T, P: Params, F>(&mut self, params: P, f: F) -> Result<T>
    where
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(r) => f(&r),
            None => Err(Error::NoRows),
        }
    }

    pub fn exists<P: Params>(&mut self, params: P) -> Result<bool> {
        Ok(self.query(params)?.next()?.is_some())
    }
}

/// The rows of a query, read one at a time.
pub struct Rows<'s> {
    inner: RowsInner<'s>,
}

enum RowsInner<'s> {
    Sqlite(rusqlite::Rows<'s>),
    Postgres {
        rows: pg::Rows<'s>,
        current: Option<postgres::Row>,
    },
}

impl Rows<'_> {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Row<'_>>> {
        match &mut self.inner {
            RowsInner::Sqlite(r) => Ok(r.next()?.map(|r| Row {
                inner: RowInner::Sqlite(r),
            })),
            RowsInner::Postgres { rows, current } => {
                *current = rows.next()?;
                Ok(current.as_ref().map(|r| Row {
                    inner: RowInner::Postgres(r),
                }))
            }
        }
    }
}

/// The rows of a query, each read by a function.
pub struct MappedRows<'s, F> {
    rows: Rows<'s>,
    f: F,
}

impl<T, F> Iterator for MappedRows<'_, F>
where
    F: FnMut(&Row<'_>) -> Result<T>,
{
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        let f = &mut self.f;
        match self.rows.next() {
            Ok(Some(r)) => Some(f(&r)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// One row of a query.
pub struct Row<'r> {
    inner: RowInner<'r>,
}

enum RowInner<'r> {
    Sqlite(&'r rusqlite::Row<'r>),
    Postgres(&'r postgres::Row),
}

impl Row<'_> {
    /// The value of column `idx` (from 0).
    pub fn get_ref(&self, idx: usize) -> Result<ValueRef<'_>> {
        match &self.inner {
            RowInner::Sqlite(r) => Ok(ValueRef::from_sqlite(r.get_ref(idx)?)),
            RowInner::Postgres(r) => pg::value(r, idx),
        }
    }

    /// The value of column `idx` (from 0) as `T`.
    pub fn get<I: RowIndex, T: FromSql>(&self, idx: I) -> Result<T> {
        Ok(T::column_result(self.get_ref(idx.index())?)?)
    }
}

/// A column index (rusqlite's shape, so that `r.get::<_, T>(0)` reads the same).
pub trait RowIndex {
    fn index(self) -> usize;
}

impl RowIndex for usize {
    fn index(self) -> usize {
        self
    }
}

/// Prepared PostgreSQL statements of one connection, by their SQLite text.
pub(crate) type StatementCache = RefCell<HashMap<String, pg::Prepared>>;
