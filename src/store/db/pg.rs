//! The PostgreSQL side of the store: connecting (URL, password from the URL, `PGPASSWORD` or a
//! password file, TLS by `sslmode`), the write lock, prepared-statement cache, and mapping
//! values to and from [`ValueRef`].
//!
//! Driver: `tokio-postgres` (sfackler/rust-postgres, the crate under the synchronous `postgres`
//! client): widely used and kept current with PostgreSQL releases. The store is synchronous, so
//! each connection owns a current-thread runtime and every call waits on it (`block_on`): the
//! store keeps one code path for both backends (`sqlx` would make every store call async). It is
//! what the `postgres` crate does inside; we drive `tokio-postgres` ourselves for one thing that
//! crate cannot do: read a query's rows as they arrive (see [`Rows`]) while the connection stays
//! usable for the statements a caller runs between two rows. No tokio type leaves this module.
//!
//! Streaming: a query's rows come one at a time from the connection (the driver's channel holds
//! one message of rows), so `findings --format json` over 200,000 findings holds a few rows, not
//! the whole result. Only the newest result can be read from the connection: a statement sent
//! while an older result is still being read first reads the rest of it into memory (the server
//! sends a result whole before the next answer, so nothing else could be read anyway). Nested
//! reads therefore cost what they cost before; a plain loop over rows costs a few rows.
//!
//! Single writer: every write transaction takes `pg_advisory_xact_lock(LOCK_KEY)` first, so
//! writers queue as they do on SQLite's one write lock and the hash chain stays one chain. The
//! wait is bounded by `lock_timeout` (`--lock-timeout`), which fails as "locked" like SQLite's
//! busy timeout.

use super::batch::{self, Batch, Pending};
use super::{Error, Params, Result, StatementCache, ValueRef};
use bytes::BytesMut;
use futures_util::Stream as _;
use postgres::types::{IsNull, Type};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::os::unix::fs::PermissionsExt as _;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::str::FromStr;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio_postgres::config::Host;

/// The advisory lock every write transaction takes: one per database, whatever the schema.
/// (An arbitrary constant: "residual" in ASCII.)
const LOCK_KEY: i64 = 0x7265_7369_6475_616c;

/// Whether `location` (a `--db` value) names a PostgreSQL server rather than a SQLite file.
pub fn is_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// A connection URL with its password (and any `password=` option) taken out: what messages
/// and logs may name.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            format!("{user}@{host}")
        }
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|kv| !kv.starts_with("password="))
                .collect();
            if kept.is_empty() {
                path.to_string()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Why a connection could not be made or a statement failed, without a secret: the server's
/// message and SQLSTATE for a server error, the I/O cause for a connection failure.
pub(super) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut s = e.to_string();
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                s.push_str(": ");
                s.push_str(&c.to_string());
                cause = c.source();
            }
            s
        }
    }
}

/// A PostgreSQL connection and its prepared statements.
pub(crate) struct Client {
    /// The connection's own runtime (current-thread): the connection makes progress only while
    /// a call here waits on it.
    runtime: tokio::runtime::Runtime,
    /// `None` only while the client is dropped (see [`Drop`]).
    client: Option<tokio_postgres::Client>,
    /// The task that runs the connection; awaited when the client is dropped.
    connection: Option<tokio::task::JoinHandle<()>>,
    /// The result whose rows are read from the connection now, if any (see [`Rows`]).
    streaming: RefCell<Weak<RefCell<Streamed>>>,
    statements: StatementCache,
    /// Inside `BEGIN` … `COMMIT`: a statement outside one commits by itself (autocommit).
    in_transaction: Cell<bool>,
    /// Rows of plain `INSERT … VALUES` statements not sent yet, per statement in the order each
    /// first came (see [`Batch`]).
    pending: RefCell<Vec<Pending>>,
}

/// What [`connect`] could not do, naming the server (never the password).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("database {url}: not a valid PostgreSQL URL: {reason}")]
    Url { url: String, reason: String },
    #[error("database {url}: password file {file}: {source}")]
    PassFile {
        url: String,
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("database {url}: sslmode={mode} is not supported (use disable, prefer, require, verify-ca or verify-full)")]
    SslMode { url: String, mode: String },
    /// `server`: `host:port as user` (one field, so that this error stays as small as it was).
    #[error("database {url}: cannot connect to {server}: {reason}")]
    Connect {
        url: String,
        server: String,
        reason: String,
    },
}

/// Connects to the server `url` names, with the password from the URL, `PGPASSWORD`, or the
/// password file (`passfile=` in the URL, `PGPASSFILE`, `~/.pgpass`), and TLS as `sslmode` says.
pub(crate) fn connect(
    url: &str,
    lock_timeout: Duration,
) -> std::result::Result<Client, ConnectError> {
    let shown = redact(url);
    let (url_without, passfile) = take_option(url, "passfile");
    let (url_without, sslmode) = take_option(&url_without, "sslmode");
    let (url_without, root_cert) = take_option(&url_without, "sslrootcert");
    let mut config =
        tokio_postgres::Config::from_str(&url_without).map_err(|e| ConnectError::Url {
            url: shown.clone(),
            reason: describe(&e),
        })?;
    let host = hosts(&config);
    if config.get_user().is_none() {
        if let Ok(user) = std::env::var("PGUSER").or_else(|_| std::env::var("USER")) {
            config.user(&user);
        }
    }
    // Why a password file that exists was not used, told with a refused login.
    let passfile_note = set_password(&mut config, passfile.as_deref(), &shown)?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    config.application_name("residual");
    let tls =
        super::tls::mode(sslmode.as_deref(), root_cert).map_err(|mode| ConnectError::SslMode {
            url: shown.clone(),
            mode,
        })?;
    let server = format!("{host} as {}", config.get_user().unwrap_or("(no user)"));
    let fail = |reason: String| ConnectError::Connect {
        url: shown.clone(),
        server: server.clone(),
        reason,
    };
    let hint = super::tls::hint(&tls);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(format!("cannot start the connection's runtime: {e}")))?;
    let (client, connection) =
        super::tls::connect(&runtime, &mut config, tls).map_err(|e| match e {
            super::tls::ConnectFailure::Server(e) => {
                let reason = describe(&e);
                match (hint.as_deref(), passfile_note.as_deref()) {
                    (Some(hint), _) if reason.contains("certificate") => {
                        fail(format!("{reason} ({hint})"))
                    }
                    (_, Some(note)) => fail(format!("{reason} ({note})")),
                    _ => fail(reason),
                }
            }
            super::tls::ConnectFailure::RootCert(reason) => fail(reason),
        })?;
    let client = Client {
        runtime,
        client: Some(client),
        connection: Some(connection),
        streaming: RefCell::new(Weak::new()),
        statements: RefCell::default(),
        in_transaction: Cell::new(false),
        pending: RefCell::new(Vec::new()),
    };
    client
        .batch(&format!(
            "SET lock_timeout = {}; SET client_min_messages = warning",
            lock_timeout.as_millis()
        ))
        .map_err(|e| fail(e.to_string()))?;
    Ok(client)
}

/// `host:port` of the first host the config names (for messages).
fn hosts(config: &tokio_postgres::Config) -> String {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    match config.get_hosts().first() {
        Some(Host::Tcp(h)) => format!("{h}:{port}"),
        #[cfg(unix)]
        Some(Host::Unix(p)) => format!("{}:{port}", p.display()),
        None => format!("localhost:{port}"),
    }
}

/// `url` without its `name=` query option, and the option's value.
fn take_option(url: &str, name: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let mut value = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|kv| match kv.split_once('=') {
            Some((k, v)) if k == name => {
                value = Some(v.to_string());
                false
            }
            _ => true,
        })
        .collect();
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, value)
}

/// Sets `config`'s password when the URL has none: from `PGPASSWORD`, else the password file.
/// Returns why a password file that exists was not used, if it was not.
fn set_password(
    config: &mut tokio_postgres::Config,
    passfile: Option<&str>,
    shown: &str,
) -> std::result::Result<Option<String>, ConnectError> {
    if config.get_password().is_some() {
        return Ok(None);
    }
    if let Some(pw) = std::env::var_os("PGPASSWORD").filter(|p| !p.is_empty()) {
        config.password(pw.to_string_lossy().as_bytes());
        return Ok(None);
    }
    let found =
        password_from_file(config, passfile).map_err(|(file, source)| ConnectError::PassFile {
            url: shown.to_string(),
            file,
            source,
        })?;
    match found {
        FilePassword::Found(pw) => {
            config.password(pw.as_bytes());
            Ok(None)
        }
        FilePassword::Ignored(note) => {
            tracing::warn!("{note}");
            Ok(Some(note))
        }
        FilePassword::None => Ok(None),
    }
}

/// What a password file gave for a connection.
enum FilePassword {
    Found(String),
    /// A file exists but was not used: why, naming it and the fix.
    Ignored(String),
    None,
}

/// The password for `config` in a libpq password file (`host:port:database:user:password`, `*`
/// matches anything, `\` escapes `:` and `\`): the one `passfile` names, else `PGPASSFILE`, else
/// `~/.pgpass` when it exists. As libpq does, a file that its group or others may read is not
/// used: a password others can read is not a secret, and a store would otherwise accept one.
fn password_from_file(
    config: &tokio_postgres::Config,
    passfile: Option<&str>,
) -> std::result::Result<FilePassword, (String, std::io::Error)> {
    let explicit = passfile
        .map(str::to_string)
        .or_else(|| std::env::var("PGPASSFILE").ok().filter(|p| !p.is_empty()));
    let path = match explicit {
        Some(p) => std::path::PathBuf::from(p),
        None => match std::env::var_os("HOME") {
            Some(home) => {
                let p = std::path::Path::new(&home).join(".pgpass");
                if !p.exists() {
                    return Ok(FilePassword::None);
                }
                p
            }
            None => return Ok(FilePassword::None),
        },
    };
    let shown = path.display().to_string();
    let mode = std::fs::metadata(&path)
        .map_err(|e| (shown.clone(), e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Ok(FilePassword::Ignored(format!(
            "password file {shown} not used: its group or others may read it (mode {:04o}); \
             make it private with `chmod 0600 {shown}`",
            mode & 0o777
        )));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| (shown, e))?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        _ => "localhost".to_string(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let db = config.get_dbname().unwrap_or_default().to_string();
    let user = config.get_user().unwrap_or_default().to_string();
    let wanted = [host.as_str(), port.as_str(), db.as_str(), user.as_str()];
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_passfile_line(line);
        if fields.len() != 5 {
            continue;
        }
        if fields[..4]
            .iter()
            .zip(wanted)
            .all(|(f, w)| f == "*" || f == w)
        {
            return Ok(FilePassword::Found(fields[4].clone()));
        }
    }
    Ok(FilePassword::None)
}

fn split_passfile_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(n), Some(f)) = (chars.next(), fields.last_mut()) {
                    f.push(n);
                }
            }
            ':' => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

impl Drop for Client {
    fn drop(&mut self) {
        // Closing the request channel makes the connection say goodbye (Terminate) and end;
        // waiting for it keeps "unexpected EOF" out of the server's log.
        drop(self.client.take());
        if let Some(connection) = self.connection.take() {
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(2), connection).await });
        }
    }
}

impl Client {
    /// The driver's client: there until the connection is dropped.
    fn pg(&self) -> &tokio_postgres::Client {
        self.client
            .as_ref()
            .expect("the client is taken only when the connection is dropped")
    }

    /// Waits for `request` to be answered, the connection running meanwhile.
    fn wait<T>(
        &self,
        request: impl std::future::Future<Output = std::result::Result<T, postgres::Error>>,
    ) -> Result<T> {
        Ok(self.runtime.block_on(request)?)
    }

    /// Makes the connection free for another statement: the rest of a result still being read
    /// is read into memory first (see the module comment).
    fn settle(&self) {
        let Some(open) = self.streaming.borrow().upgrade() else {
            return;
        };
        let mut open = open.borrow_mut();
        if let Some(mut rows) = open.rows.take() {
            loop {
                match self
                    .runtime
                    .block_on(std::future::poll_fn(|cx| rows.as_mut().poll_next(cx)))
                {
                    Some(Ok(row)) => open.waiting.push_back(row),
                    Some(Err(e)) => {
                        open.failed = Some(e);
                        break;
                    }
                    None => break,
                }
            }
        }
    }

    /// The next row of `open`, `None` after the last.
    fn next_row(&self, open: &RefCell<Streamed>) -> Result<Option<postgres::Row>> {
        let mut open = open.borrow_mut();
        if let Some(row) = open.waiting.pop_front() {
            return Ok(Some(row));
        }
        if let Some(e) = open.failed.take() {
            return Err(e.into());
        }
        let Some(rows) = open.rows.as_mut() else {
            return Ok(None);
        };
        // One wait for READ_AHEAD rows (or the rest), not one per row: a wait on the runtime
        // costs about what reading a row does.
        let mut arrived = Vec::new();
        let end = self.runtime.block_on(std::future::poll_fn(|cx| loop {
            match rows.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(row))) => {
                    arrived.push(row);
                    if arrived.len() >= READ_AHEAD {
                        return Poll::Ready(None);
                    }
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Some(e))),
                Poll::Ready(None) => return Poll::Ready(Some(None)),
                // Wait for a full read-ahead (or the end): fewer, fuller waits.
                Poll::Pending => return Poll::Pending,
            }
        }));
        if let Some(failed) = end {
            open.rows = None;
            open.failed = failed;
        }
        open.waiting.extend(arrived);
        match open.waiting.pop_front() {
            Some(row) => Ok(Some(row)),
            None => match open.failed.take() {
                Some(e) => Err(e.into()),
                None => Ok(None),
            },
        }
    }

    /// Forgets the statements prepared so far: after a change of a table's columns, a statement
    /// prepared before reads the old row type, which the server refuses ("cached plan must not
    /// change result type"); the next use prepares it again.
    pub(super) fn forget_statements(&self) {
        self.statements.borrow_mut().clear();
    }

    pub(super) fn batch(&self, sql: &str) -> Result<()> {
        self.flush()?;
        self.settle();
        self.wait(self.pg().batch_execute(sql))
    }

    pub(super) fn begin_write(&self) -> Result<()> {
        self.batch(&format!("BEGIN; SELECT pg_advisory_xact_lock({LOCK_KEY})"))?;
        self.in_transaction.set(true);
        Ok(())
    }

    /// `COMMIT` or `ROLLBACK`.
    pub(super) fn end(&self, sql: &str) -> Result<()> {
        if sql == "ROLLBACK" {
            self.pending.borrow_mut().clear();
        }
        let sent = self.flush();
        self.in_transaction.set(false);
        match sent {
            Ok(()) => self.batch(sql),
            Err(e) => {
                // The transaction failed with the rows; end it so the connection stays usable.
                let _ = self.wait(self.pg().batch_execute("ROLLBACK"));
                Err(e)
            }
        }
    }

    /// Sends the rows held back, as multi-row `INSERT`s of up to [`Batch::rows`] rows each.
    fn flush(&self) -> Result<()> {
        let all = std::mem::take(&mut *self.pending.borrow_mut());
        for pending in &all {
            self.send(pending)?;
        }
        Ok(())
    }

    fn send(&self, pending: &Pending) -> Result<()> {
        self.settle();
        for chunk in pending.rows.chunks(pending.batch.rows()) {
            let sql = pending.batch.text(chunk.len());
            let stmt = self
                .runtime
                .block_on(self.pg().prepare(&sql))
                .map_err(|e| Error::Prepare {
                    sql: pending.batch.head.clone(),
                    reason: describe(&e),
                })?;
            let params: Vec<Param<'_>> = chunk
                .iter()
                .flat_map(|row| row.iter().map(|v| Param(v.as_ref())))
                .collect();
            let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                .iter()
                .map(|v| v as &(dyn postgres::types::ToSql + Sync))
                .collect();
            self.wait(self.pg().execute(&stmt, &refs))?;
        }
        Ok(())
    }

    /// A statement that writes and ran outside a transaction committed by itself: what SQLite's
    /// commit hook reports for a SQLite store.
    fn autocommitted(&self, s: &Prepared) {
        if s.writes && !self.in_transaction.get() {
            crate::store::note_commit();
        }
    }

    /// Holds one row of a batchable `INSERT` (see [`super::batch`]) back until another kind of
    /// statement, the end of the transaction or a full batch sends it: one round trip per batch
    /// instead of per row (the foundation scan writes a row per observation and one per change,
    /// alternating: each statement keeps its own rows, sent in the order the statements first
    /// came, so that rows referred to go first). It counts as one row written; a failure (a
    /// constraint) surfaces when the batch is sent, inside the same transaction.
    fn hold<P: Params>(&self, batch: &Arc<Batch>, params: &P) -> Result<usize> {
        let row = batch::Row::new(
            batch,
            (0..params.count())
                .map(|i| batch::Owned::from(params.value(i)))
                .collect(),
        );
        if batch::must_send_first(&self.pending.borrow(), batch, &row) {
            self.flush()?;
        }
        let full = batch::hold(&mut self.pending.borrow_mut(), batch, row);
        if full {
            self.flush()?;
        }
        Ok(1)
    }

    /// Makes every later transaction of this session read-only (the gate, reports).
    pub(crate) fn read_only(&self) -> Result<()> {
        self.batch("SET default_transaction_read_only = on")
    }

    /// Sets how long a statement waits for a lock (the advisory write lock included).
    pub(crate) fn set_lock_timeout(&self, timeout: Duration) -> Result<()> {
        self.batch(&format!("SET lock_timeout = {}", timeout.as_millis()))
    }

    pub(super) fn prepare(&self, sql: &str) -> Result<Prepared> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let text = super::dialect::postgres(sql);
        let batch = Batch::of(&text).map(Arc::new);
        self.settle();
        let stmt = self
            .runtime
            .block_on(self.pg().prepare(&text))
            .map_err(|e| Error::Prepare {
                sql: text.split_whitespace().collect::<Vec<_>>().join(" "),
                reason: describe(&e),
            })?;
        let head = sql.trim_start().get(..6).unwrap_or("").to_ascii_uppercase();
        let s = Prepared {
            stmt,
            writes: head != "SELECT" && !head.starts_with("WITH"),
            batch,
        };
        self.statements
            .borrow_mut()
            .insert(sql.to_string(), s.clone());
        Ok(s)
    }

    pub(super) fn execute<P: Params>(&self, p: &Prepared, params: &P) -> Result<usize> {
        if let (Some(batch), true) = (&p.batch, self.in_transaction.get()) {
            return self.hold(batch, params);
        }
        self.flush()?;
        self.settle();
        let s = &p.stmt;
        let values = bind(s, params);
        let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = values
            .iter()
            .map(|v| v as &(dyn postgres::types::ToSql + Sync))
            .collect();
        let n = if s.columns().is_empty() {
            self.wait(self.pg().execute(s, &refs))? as usize
        } else {
            // `INSERT … RETURNING` run for its effect.
            self.wait(self.pg().query(s, &refs))?.len()
        };
        self.autocommitted(p);
        Ok(n)
    }

    /// Runs a query; its rows are read as they arrive (see [`Rows`]).
    pub(super) fn query<P: Params>(&self, p: &Prepared, params: &P) -> Result<Rows<'_>> {
        self.flush()?;
        self.settle();
        let values = bind(&p.stmt, params);
        let rows = self.wait(
            self.pg().query_raw(
                &p.stmt,
                values
                    .iter()
                    .map(|v| v as &(dyn postgres::types::ToSql + Sync)),
            ),
        )?;
        self.autocommitted(p);
        let open = Rc::new(RefCell::new(Streamed {
            rows: Some(Box::pin(rows)),
            waiting: VecDeque::new(),
            failed: None,
        }));
        *self.streaming.borrow_mut() = Rc::downgrade(&open);
        Ok(Rows { client: self, open })
    }
}

/// The most rows one read takes off the connection: what arrived, never more than this.
const READ_AHEAD: usize = 256;

/// The rows of one query, read from the connection as they are asked for.
pub(crate) struct Rows<'c> {
    client: &'c Client,
    open: Rc<RefCell<Streamed>>,
}

impl Rows<'_> {
    /// The next row, `None` after the last.
    pub(super) fn next(&mut self) -> Result<Option<postgres::Row>> {
        self.client.next_row(&self.open)
    }
}

/// A result being read: the driver's stream while the connection serves it, and the rows read
/// ahead (with the error that ended them, if one did) when another statement needed the
/// connection first.
struct Streamed {
    rows: Option<Pin<Box<tokio_postgres::RowStream>>>,
    waiting: VecDeque<postgres::Row>,
    failed: Option<postgres::Error>,
}

/// A prepared statement, whether it writes, and whether its rows can be batched.
#[derive(Clone)]
pub(crate) struct Prepared {
    stmt: postgres::Statement,
    writes: bool,
    batch: Option<Arc<Batch>>,
}

fn bind<'p, P: Params>(_s: &postgres::Statement, params: &'p P) -> Vec<Param<'p>> {
    (0..params.count())
        .map(|i| Param(params.value(i)))
        .collect()
}

/// A [`ValueRef`] bound as a PostgreSQL parameter, converted to the type the server inferred.
#[derive(Debug)]
struct Param<'a>(ValueRef<'a>);

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl postgres::types::ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
        match self.0 {
            ValueRef::Null => Ok(IsNull::Yes),
            ValueRef::Integer(i) => match *ty {
                Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
                Type::BOOL => (i != 0).to_sql(ty, out),
                Type::FLOAT8 => (i as f64).to_sql(ty, out),
                Type::FLOAT4 => (i as f32).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::UNKNOWN => i.to_string().to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            ValueRef::Real(f) => match *ty {
                Type::FLOAT4 => (f as f32).to_sql(ty, out),
                _ => f.to_sql(ty, out),
            },
            ValueRef::Text(t) => match *ty {
                Type::BYTEA => t.to_sql(ty, out),
                _ => std::str::from_utf8(t)?.to_sql(ty, out),
            },
            ValueRef::Blob(b) => b.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

/// Column `idx` of `row` as a [`ValueRef`].
pub(super) fn value(row: &postgres::Row, idx: usize) -> Result<ValueRef<'_>> {
    let ty = row
        .columns()
        .get(idx)
        .ok_or_else(|| Error::ColumnType(idx, "missing".into()))?
        .type_()
        .clone();
    let v = match ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(idx)?.map(ValueRef::Integer),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(idx)?
            .map(|i| ValueRef::Integer(i64::from(i))),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(idx)?
            .map(|i| ValueRef::Integer(i64::from(i))),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(idx)?
            .map(|b| ValueRef::Integer(i64::from(b))),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(idx)?.map(ValueRef::Real),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(idx)?
            .map(|f| ValueRef::Real(f64::from(f))),
        Type::BYTEA => row.try_get::<_, Option<&[u8]>>(idx)?.map(ValueRef::Blob),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => row
            .try_get::<_, Option<&str>>(idx)?
            .map(|s| ValueRef::Text(s.as_bytes())),
        other => return Err(Error::ColumnType(idx, other.name().to_string())),
    };
    Ok(v.unwrap_or(ValueRef::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection to a new database on the test server; `None` when the tests skip.
    fn fresh() -> Option<super::super::Connection> {
        let url = residual_test_support::postgres::fresh_database()?;
        Some(super::super::Connection::open(std::path::Path::new(&url)).expect("connect"))
    }

    #[test]
    fn rows_are_read_as_they_arrive_not_collected_before_the_first_is_read() {
        let Some(conn) = fresh() else {
            return;
        };
        // The server fails at the 4,000th row: a reader that collects the result first never
        // sees a row; one that streams reads the rows sent before the failure.
        let mut stmt = conn
            .prepare("SELECT 4000 / (4000 - g) FROM generate_series(1, 8000) g")
            .expect("prepare");
        let mut rows = stmt
            .query([])
            .expect("the first rows arrive before the failure");
        let first = rows.next().expect("a row").expect("some row");
        assert_eq!(first.get::<_, i64>(0).expect("a number"), 1);
        let mut read = 1;
        let failure = loop {
            match rows.next() {
                Ok(Some(_)) => read += 1,
                Ok(None) => panic!("the failure must end the rows"),
                Err(e) => break e.to_string(),
            }
        };
        assert_eq!(read, 3999);
        assert!(failure.contains("division by zero"), "{failure}");
    }

    #[test]
    fn statements_run_between_two_rows_are_answered_and_the_rows_go_on() {
        let Some(conn) = fresh() else {
            return;
        };
        conn.execute_batch("CREATE TABLE seen (n BIGINT)")
            .expect("table");
        let mut stmt = conn
            .prepare("SELECT g FROM generate_series(1, 5000) g ORDER BY g")
            .expect("prepare");
        let mut rows = stmt.query([]).expect("query");
        let mut n = 0_i64;
        while let Some(row) = rows.next().expect("a row") {
            n += 1;
            assert_eq!(row.get::<_, i64>(0).expect("a number"), n);
            if n % 1000 == 1 {
                // A read and a write on the same connection while the rows are being read.
                let total: i64 = conn
                    .query_row("SELECT count(*) FROM seen", [], |r| r.get(0))
                    .expect("a nested read");
                assert_eq!(total, n / 1000);
                conn.execute("INSERT INTO seen (n) VALUES (?1)", crate::params![n])
                    .expect("a nested write");
            }
        }
        assert_eq!(n, 5000);
    }

    #[test]
    fn upserts_held_back_land_in_order_even_for_a_repeated_key() {
        let Some(mut conn) = fresh() else {
            return;
        };
        conn.execute_batch("CREATE TABLE t (k BIGINT PRIMARY KEY, v TEXT)")
            .expect("table");
        let upsert =
            "INSERT INTO t (k, v) VALUES (?1, ?2) ON CONFLICT(k) DO UPDATE SET v = excluded.v";
        let tx = conn.transaction().expect("begin");
        for (k, v) in [(1, "a"), (2, "b"), (1, "c"), (3, "d"), (2, "e")] {
            assert_eq!(tx.execute(upsert, crate::params![k, v]).expect("upsert"), 1);
        }
        // Another statement on the same table, then the upsert again on its row.
        tx.execute(
            "INSERT INTO t (k, v) VALUES (?1, ?2)",
            crate::params![4, "f"],
        )
        .expect("insert");
        tx.execute(upsert, crate::params![4, "g"]).expect("upsert");
        let read = |tx: &super::super::Transaction<'_>| -> Vec<(i64, String)> {
            let mut stmt = tx
                .prepare("SELECT k, v FROM t ORDER BY k")
                .expect("prepare");
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("query")
                .collect::<Result<_>>()
                .expect("rows")
        };
        let want: Vec<(i64, String)> = [(1, "c"), (2, "e"), (3, "d"), (4, "g")]
            .iter()
            .map(|(k, v)| (*k, v.to_string()))
            .collect();
        assert_eq!(
            read(&tx),
            want,
            "a read inside the transaction sees every write"
        );
        tx.commit().expect("commit");
    }

    #[test]
    fn the_password_never_survives_redaction() {
        assert_eq!(
            redact("postgres://ann:s3cret@db.example.com:5432/residual?password=x&sslmode=require"),
            "postgres://ann@db.example.com:5432/residual?sslmode=require"
        );
    }
}
