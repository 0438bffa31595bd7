//! The store: a SQLite file (WAL mode, mode 0600; the embedded default) or a PostgreSQL database
//! (`--db postgres://…`, the shared store of several workers), with the same numbered migrations,
//! hash chain and exit codes.
//!
//! Every other module reaches the database through [`Store`] and the table-family modules below;
//! they speak to it through [`db`], which hides which backend it is. Each HR import and each scan
//! run is written inside one transaction: an interrupted run leaves the store as it was.

pub mod audit;
pub mod cases;
pub mod db;
pub mod events;
pub mod exceptions;
pub mod findings;
pub mod focus;
pub mod git;
pub mod leases;
pub mod links;
pub mod migrate;
pub mod migrations;
mod observation_content;
pub use observation_content::ContentError;
pub mod observations;
pub mod people;
pub mod record;
pub mod remediation;
pub mod runs;
pub mod seal;
pub mod systems;

use crate::keys::{ChainKey, KeyError};
use db::Connection;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How long a write waits for another process's write lock before giving up (`--lock-timeout`).
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// Set by the commit hook of every store this process opened for writing, once one of its
/// transactions committed: the process-level fact "this command changed the store" that the exit
/// code must respect (exit 2 promises nothing changed).
static COMMITTED: AtomicBool = AtomicBool::new(false);

/// Set while the store writes bookkeeping that a failing command takes back (a run's `started`
/// row, deleted again when its input is refused): such a commit is not a change of what the
/// store says.
static BOOKKEEPING: AtomicBool = AtomicBool::new(false);

/// Runs `write` as bookkeeping (see [`BOOKKEEPING`]).
pub(crate) fn bookkeeping<T>(write: impl FnOnce() -> T) -> T {
    BOOKKEEPING.store(true, Ordering::SeqCst);
    let out = write();
    BOOKKEEPING.store(false, Ordering::SeqCst);
    out
}

/// Records that a transaction committed (SQLite's commit hook; PostgreSQL's commit).
pub(crate) fn note_commit() {
    if !BOOKKEEPING.load(Ordering::SeqCst) {
        COMMITTED.store(true, Ordering::SeqCst);
    }
}

/// Whether any transaction of this process committed to a store (schema migrations of the open
/// itself excluded).
pub fn committed_in_this_process() -> bool {
    COMMITTED.load(Ordering::SeqCst)
}

/// A store could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: db::Error,
    },
    /// A PostgreSQL server could not be reached or refused us (its message names the host).
    #[error(transparent)]
    Connect(#[from] db::pg::ConnectError),
    #[error("database {path}: cannot set file mode 0600")]
    Permissions {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("database {path} has schema version {found}, newer than this residual ({known}); upgrade residual")]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("database {path} has schema version {found}, older than this residual ({known}); upgrade it with `residual store upgrade` (any command that writes it does the same)")]
    TooOld {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(transparent)]
    Sql(#[from] db::Error),
    /// A stored value is not of the type its column promises.
    #[error("stored value: {0}")]
    Value(#[from] db::FromSqlError),
    #[error("stored JSON is corrupt: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Content(#[from] observation_content::ContentError),
    /// Writing a row that was read failed (a closed pipe, a full disk).
    #[error("writing output")]
    Output(#[source] std::io::Error),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the audit chain of this store is keyed, but its chain key {} is missing: restore it (or set RESIDUAL_CHAIN_KEY_FILE to where it is kept); nothing was written, since events no one can verify are worthless", key.display())]
    ChainKeyMissing { key: PathBuf },
    #[error("the chain key {} is not the key this store's audit chain was sealed with (or the seal was edited): use the store's own key, and run `residual audit verify`; nothing was written", key.display())]
    ChainKeyMismatch { key: PathBuf },
    #[error("the chain key {} exists but this store's audit chain, which has events, was never sealed with it: the seal may have been removed; run `residual audit verify` before writing again; nothing was written", key.display())]
    Unsealed { key: PathBuf },
    #[error("this store was opened without its chain key and cannot append to the audit chain")]
    NoChainKey,
    /// An event would be dated before the chain's last one.
    #[error("an event dated {at} would follow the audit chain's last event (event {last_seq}, dated {last_at}, later): events are never dated before the chain's last one; nothing was written")]
    ClockBehind {
        at: String,
        last_seq: i64,
        last_at: String,
    },
}

impl StoreError {
    /// Whether the error is another process holding the store's write lock past the busy
    /// timeout (`SQLITE_BUSY` / `SQLITE_LOCKED`): a retryable condition with its own exit code,
    /// not bad input.
    pub fn is_locked(&self) -> bool {
        match self {
            StoreError::Sql(e) | StoreError::Open { source: e, .. } => e.is_locked(),
            _ => false,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Sql(e.into())
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// An open store.
pub struct Store {
    pub(crate) conn: Connection,
    path: PathBuf,
    /// The key new audit events are MACed with: loaded by [`Store::open`] (which writes), absent
    /// in a read-only store.
    chain_key: Option<ChainKey>,
}

/// A write transaction of a [`Store`]: a [`db::Transaction`] (it derefs to one) that also
/// carries the store's chain key, so every event appended in it is keyed.
pub struct Tx<'s> {
    tx: db::Transaction<'s>,
    chain_key: Option<&'s ChainKey>,
}

impl<'s> std::ops::Deref for Tx<'s> {
    type Target = db::Transaction<'s>;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl Tx<'_> {
    pub fn commit(self) -> db::Result<()> {
        self.tx.commit()
    }

    /// The key events appended in this transaction are MACed with.
    pub fn chain_key(&self) -> Option<&ChainKey> {
        self.chain_key
    }
}

impl Store {
    /// Opens (creating if needed) the database file, restricts it to its owner, and migrates it.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(url) = url_of(path) {
            return Store::open_postgres(path, url, false);
        }
        let existed = path.exists();
        if !existed {
            create_private(path)?;
        }
        let conn = rusqlite::Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source: source.into(),
        })?;
        restrict(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // A scan run of a large system is one big transaction: give it room in memory.
        conn.pragma_update(None, "cache_size", -16384)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.busy_timeout(DEFAULT_LOCK_TIMEOUT)?;
        let mut store = Store {
            conn: Connection::from_sqlite(conn),
            path: path.to_path_buf(),
            chain_key: None,
        };
        migrations::migrate(&mut store.conn, path)?;
        store.chain_key = Some(seal::key_for_writing(&mut store.conn, path)?);
        // Registered after the migrations: creating or upgrading the schema is not a change of
        // what the store says.
        if let Some(sqlite) = store.conn.sqlite_mut() {
            sqlite.commit_hook(Some(|| {
                note_commit();
                false
            }))?;
        }
        for side in ["-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(side);
            let p = PathBuf::from(p);
            if p.exists() {
                restrict(&p)?;
            }
        }
        Ok(store)
    }

    /// Opens an existing store for reading only: nothing is created, migrated or written (the
    /// gate). A store of another schema version is refused rather than upgraded.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        if let Some(url) = url_of(path) {
            return Store::open_postgres(path, url, true);
        }
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX
            | rusqlite::OpenFlags::SQLITE_OPEN_URI;
        let conn = rusqlite::Connection::open_with_flags(path, flags).map_err(|source| {
            StoreError::Open {
                path: path.to_path_buf(),
                source: source.into(),
            }
        })?;
        conn.busy_timeout(DEFAULT_LOCK_TIMEOUT)?;
        let found: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        let known = migrations::SCHEMA_VERSION;
        let path = path.to_path_buf();
        if found > known {
            return Err(StoreError::TooNew { path, found, known });
        }
        if found < known {
            return Err(StoreError::TooOld { path, found, known });
        }
        Ok(Store {
            conn: Connection::from_sqlite(conn),
            path,
            chain_key: None,
        })
    }

    /// Opens the PostgreSQL store `url` names (`path` is the same text as given): connects,
    /// migrates and loads the chain key as [`Store::open`] does for a file; `read_only` checks
    /// the schema version instead and makes every transaction of the session read-only.
    fn open_postgres(path: &Path, url: &str, read_only: bool) -> Result<Store> {
        let client = db::pg::connect(url, DEFAULT_LOCK_TIMEOUT)?;
        let mut conn = Connection::from_postgres(client);
        let shown = PathBuf::from(db::pg::redact(url));
        if read_only {
            if let Some(pg) = conn.postgres() {
                pg.read_only()?;
            }
            let found = migrations::version(&conn)?;
            let known = migrations::SCHEMA_VERSION;
            if found > known {
                return Err(StoreError::TooNew {
                    path: shown,
                    found,
                    known,
                });
            }
            if found < known {
                return Err(StoreError::TooOld {
                    path: shown,
                    found,
                    known,
                });
            }
            return Ok(Store {
                conn,
                path: path.to_path_buf(),
                chain_key: None,
            });
        }
        // Creating the schema or sealing the chain is not a change of what the store says (the
        // commit hook of a SQLite store is registered after both for the same reason).
        bookkeeping(|| migrations::migrate(&mut conn, &shown))?;
        let chain_key = bookkeeping(|| seal::key_for_writing(&mut conn, path))?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            chain_key: Some(chain_key),
        })
    }

    /// How long statements wait for another process's lock before failing as locked
    /// (SQLite's busy timeout; PostgreSQL's `lock_timeout`, the write lock included).
    pub fn set_lock_timeout(&self, timeout: Duration) -> Result<()> {
        match (self.conn.sqlite(), self.conn.postgres()) {
            (Some(c), _) => Ok(c.busy_timeout(timeout).map_err(db::Error::from)?),
            (_, Some(c)) => Ok(c.set_lock_timeout(timeout)?),
            _ => Ok(()),
        }
    }

    /// The file (or the URL, as given) the store was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What messages may name the store by: its file, or its URL without the password.
    pub fn location(&self) -> String {
        let text = self.path.to_string_lossy();
        if db::pg::is_url(&text) {
            db::pg::redact(&text)
        } else {
            self.path.display().to_string()
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.conn.is_postgres()
    }

    /// Starts the one transaction an import or a scan run is written in. It takes the write
    /// lock at once (`BEGIN IMMEDIATE`): a deferred transaction that reads first and writes later
    /// fails at once with "database is locked" when another process wrote in between, instead
    /// of waiting out the busy timeout.
    pub fn transaction(&mut self) -> Result<Tx<'_>> {
        let tx = self.conn.transaction()?;
        Ok(Tx {
            tx,
            chain_key: self.chain_key.as_ref(),
        })
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }
}

/// What messages may name the store at `path` by: the file, or the URL without its password.
pub fn shown(path: &Path) -> String {
    match url_of(path) {
        Some(url) => db::pg::redact(url),
        None => path.display().to_string(),
    }
}

/// Whether a store may be at `path`: the file exists, or it is a server's URL (whether the
/// server has a store is found out by connecting).
pub fn may_exist(path: &Path) -> bool {
    url_of(path).is_some() || path.exists()
}

/// Whether `path` names a PostgreSQL store (a URL) rather than a SQLite file.
pub fn is_server(path: &Path) -> bool {
    url_of(path).is_some()
}

/// The PostgreSQL URL `path` is, if it is one.
fn url_of(path: &Path) -> Option<&str> {
    path.to_str().filter(|p| db::pg::is_url(p))
}

#[cfg(unix)]
fn create_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        // Another worker created it a moment ago: the store is shared, not ours to create.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other.map(|_| ()),
    }
    .map_err(|source| StoreError::Permissions {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(not(unix))]
fn create_private(_path: &Path) -> Result<()> {
    Ok(())
}

#[cfg(unix)]
fn restrict(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|source| {
        StoreError::Permissions {
            path: path.to_path_buf(),
            source,
        }
    })
}

#[cfg(not(unix))]
fn restrict(_path: &Path) -> Result<()> {
    Ok(())
}

/// Where the store's unit tests run: every test body runs once per backend.
#[cfg(test)]
pub(crate) mod testing {
    use super::Store;
    use std::path::PathBuf;

    /// A new store on each backend: a SQLite file in a new directory, and, when
    /// `RESIDUAL_TEST_POSTGRES` names a server, a new empty PostgreSQL database on it (the
    /// directory then holds its key files). The directory lives as long as the store is used.
    pub(crate) fn stores() -> Vec<(tempfile::TempDir, Store)> {
        locations()
            .into_iter()
            .map(|(dir, at)| {
                let store = Store::open(&at)
                    .unwrap_or_else(|e| panic!("opening a test store {}: {e}", super::shown(&at)));
                (dir, store)
            })
            .collect()
    }

    /// Where [`stores`] opens its stores (a test that opens them itself).
    pub(crate) fn locations() -> Vec<(tempfile::TempDir, PathBuf)> {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("t.db");
        let mut out = vec![(dir, file)];
        if let Some(url) = fresh_database() {
            out.push((tempfile::tempdir().expect("temp dir"), url));
        }
        out
    }

    /// A new empty database on the test PostgreSQL server (the shared fixture: the server
    /// `RESIDUAL_TEST_POSTGRES` names, or one started for this test binary); its key files go to
    /// a directory of this test process.
    fn fresh_database() -> Option<PathBuf> {
        static KEYS: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
        let url = residual_test_support::postgres::fresh_database()?;
        let keys = KEYS.get_or_init(|| tempfile::tempdir().expect("temp dir"));
        std::env::set_var(crate::keys::KEY_DIR_ENV, keys.path());
        Some(PathBuf::from(url))
    }
}
