//! A real PostgreSQL for tests: one server per test binary, a new empty database per call.
//!
//! [`fresh_database`] returns the URL of a database that no other test has seen. The first call
//! in a test binary finds the server:
//!
//! - `RESIDUAL_TEST_POSTGRES` set: that server (a URL whose user may create databases; CI's
//!   `.ci/run` starts one and sets it). Its databases are named `residual_test_<time>_…` and
//!   outlive the test binary; the first use of the server by a later test binary drops those
//!   older than an hour ([`Server::drop_stale`]).
//! - otherwise it starts one itself with `postgres-server.sh` beside this crate's manifest (the
//!   newest `/usr/lib/postgresql/*/bin`, Debian's package `postgresql`): initdb into a temporary
//!   directory, `postgres` on a free loopback port, as the `postgres` user when the tests run as
//!   root (initdb refuses root). As with [`crate::moto`], the script's standard input is a pipe
//!   whose write end lives in a static here and is never written: when the test binary exits,
//!   however it exits, the pipe closes and the script stops the server and removes its directory.
//! - no PostgreSQL binaries: `None`, so a test can skip (and says so once on stderr) — unless
//!   `RESIDUAL_TEST_POSTGRES_REQUIRED` is set (CI sets it), which turns the skip into a panic.
//!
//! The server runs with TLS (a throwaway CA made when it starts: [`Server::tls`]) and keeps trust
//! authentication for every role but the members of [`PASSWORD_GROUP`], which must give a
//! password ([`Server::password_login`]): TLS verification and wrong passwords are tested against
//! a real server. A given server tells where its CA files are with [`TLS_DIR_ENV`].
//!
//! Databases are made and queried with `psql` (the client the server package ships), so this
//! crate needs no PostgreSQL driver of its own and does not pin the version the store uses.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// The server URL to use instead of starting one (`postgres://user[:password]@host:port/db`).
pub const SERVER_ENV: &str = "RESIDUAL_TEST_POSTGRES";
/// When set (to anything but empty), a missing PostgreSQL fails the tests instead of skipping.
pub const REQUIRED_ENV: &str = "RESIDUAL_TEST_POSTGRES_REQUIRED";

/// The prefix of every database [`fresh_database`] creates.
pub const DATABASE_PREFIX: &str = "residual_test_";

/// The directory holding the CA files of a given server (`RESIDUAL_TEST_POSTGRES`): `ca.crt`,
/// the CA that signed its certificate, and `other-ca.crt`, one that did not. A server this
/// binary starts has them in its own directory.
pub const TLS_DIR_ENV: &str = "RESIDUAL_TEST_POSTGRES_TLS_DIR";

/// The role whose members must log in with a password (SCRAM) over TCP: `postgres-server.sh`
/// creates it and puts it first in pg_hba.conf.
pub const PASSWORD_GROUP: &str = "residual_test_password";

/// The server a test binary uses.
pub struct Server {
    /// A URL of the server's maintenance database, as a user that may create databases.
    pub admin_url: String,
    /// The `psql` that talks to it.
    psql: PathBuf,
    /// The directory a server this binary started lives in (removed when it stops).
    pub dir: Option<PathBuf>,
    /// Where the server's CA files are (`ca.crt`, `other-ca.crt`), when it has TLS.
    tls_dir: Option<PathBuf>,
    /// Held so a started server is this binary's for its whole life.
    _child: Option<Mutex<Child>>,
    /// Held, never written: closing it (at exit) stops a started server.
    _stdin: Option<Mutex<ChildStdin>>,
}

/// Where the server comes from, decided from the environment and what is installed.
#[derive(Debug, PartialEq, Eq)]
enum Plan {
    /// Use the server at this URL.
    Given(String),
    /// Start one with the binaries in this directory.
    Start(PathBuf),
    /// No PostgreSQL here; the tests skip.
    Skip,
    /// No PostgreSQL here, and the tests must not skip.
    Fail(String),
}

/// The pure decision behind [`server`]: a given URL wins, then installed binaries; without
/// either the tests skip, unless they are required.
fn plan(given: Option<String>, bindir: Option<PathBuf>, required: bool) -> Plan {
    if let Some(url) = given.filter(|u| !u.trim().is_empty()) {
        return Plan::Given(url.trim().to_string());
    }
    match bindir {
        Some(dir) => Plan::Start(dir),
        None if required => Plan::Fail(format!(
            "{REQUIRED_ENV} is set, but no PostgreSQL server binaries were found \
             (/usr/lib/postgresql/*/bin, or initdb on PATH) and {SERVER_ENV} is not set: \
             install Debian's package postgresql, or point {SERVER_ENV} at a server"
        )),
        None => Plan::Skip,
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` with a server in it, else the directory of
/// `initdb` on PATH.
pub fn server_bindir() -> Option<PathBuf> {
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = version_key(&entry.file_name().to_string_lossy())?;
            let bin = entry.path().join("bin");
            bin.join("postgres").is_file().then_some((version, bin))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin);
    newest.or_else(|| {
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path).find(|dir| dir.join("initdb").is_file())
    })
}

/// "15" → [15], "9.6" → [9, 6]: major versions compared as numbers, not text ("9" < "15").
fn version_key(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

/// The `psql` to run: the server package's, else the one on PATH.
fn psql_binary(bindir: Option<&Path>) -> PathBuf {
    bindir
        .map(|dir| dir.join("psql"))
        .filter(|psql| psql.is_file())
        .unwrap_or_else(|| PathBuf::from("psql"))
}

/// Whether the PostgreSQL tests must not skip ([`REQUIRED_ENV`]).
pub fn required() -> bool {
    std::env::var_os(REQUIRED_ENV).is_some_and(|v| !v.is_empty())
}

static SERVER: OnceLock<Option<Server>> = OnceLock::new();

/// One CREATE DATABASE at a time: it copies template1, which must have no other user at that
/// moment, and the tests of one binary ask in parallel.
static CREATING: Mutex<()> = Mutex::new(());

/// The test binary's PostgreSQL server, found or started on first use; `None` when there is
/// none and none is required.
pub fn server() -> Option<&'static Server> {
    SERVER
        .get_or_init(|| {
            let required = required();
            let bindir = server_bindir();
            match plan(std::env::var(SERVER_ENV).ok(), bindir.clone(), required) {
                Plan::Given(url) => {
                    assert!(
                        url.contains("://"),
                        "{SERVER_ENV} must be a postgres:// URL, not a key=value string"
                    );
                    let server = Server {
                        admin_url: url,
                        psql: psql_binary(bindir.as_deref()),
                        dir: None,
                        tls_dir: std::env::var_os(TLS_DIR_ENV)
                            .filter(|d| !d.is_empty())
                            .map(PathBuf::from),
                        _child: None,
                        _stdin: None,
                    };
                    server.drop_stale();
                    Some(server)
                }
                Plan::Start(bindir) => Some(start(&bindir)),
                Plan::Skip => {
                    eprintln!(
                        "note: no PostgreSQL server binaries found and {SERVER_ENV} is not set: \
                         the PostgreSQL tests are skipped (install Debian's package postgresql)"
                    );
                    None
                }
                Plan::Fail(why) => panic!("{why}"),
            }
        })
        .as_ref()
}

/// The script that runs a throwaway server (shared with `.ci/run`).
pub fn server_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("postgres-server.sh")
}

/// Starts a server of this process's own with the binaries in `bindir`; it stops when the
/// returned value is dropped or the process exits. [`server`] keeps one for the whole binary.
pub fn start(bindir: &Path) -> Server {
    let script = server_script();
    let mut child = Command::new("bash")
        .arg(&script)
        .arg(bindir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", script.display()));
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    // The script gives up on its own (60 s per try), so this read ends.
    BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("reading {}'s first line: {e}", script.display()));
    let mut words = line.split_whitespace();
    let (Some("READY"), Some(url), Some(dir)) = (words.next(), words.next(), words.next()) else {
        panic!(
            "could not start a PostgreSQL server for the tests with {}: {}",
            script.display(),
            line.trim()
        );
    };
    let stdin = child.stdin.take().expect("piped stdin");
    let tls_dir = Path::new(dir).join("tls");
    Server {
        admin_url: url.to_string(),
        psql: psql_binary(Some(bindir)),
        dir: Some(PathBuf::from(dir)),
        tls_dir: tls_dir.join("ca.crt").is_file().then_some(tls_dir),
        _child: Some(Mutex::new(child)),
        _stdin: Some(Mutex::new(stdin)),
    }
}

/// The URL of a new, empty database on the test binary's server (see the module comment);
/// `None` when PostgreSQL is not available and not required.
pub fn fresh_database() -> Option<String> {
    server().map(Server::fresh_database)
}

impl Server {
    /// Creates a database with a name no other call returns and gives its URL.
    pub fn fresh_database(&self) -> String {
        let name = unique_name();
        let _one = CREATING.lock().unwrap_or_else(|e| e.into_inner());
        self.query(&self.admin_url, &format!("CREATE DATABASE {name}"));
        with_database(&self.admin_url, &name)
            .unwrap_or_else(|| panic!("cannot put a database name into {}", self.admin_url))
    }

    /// The URL of `database` on this server as `user`, with the admin URL's host, port and
    /// options (and no password: for a server that trusts loopback, as a started one does).
    pub fn url_as(&self, user: &str, database: &str) -> String {
        let url = with_database(&self.admin_url, database)
            .unwrap_or_else(|| panic!("cannot put a database name into {}", self.admin_url));
        let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", &url));
        let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        format!("{scheme}://{user}@{host}")
    }

    /// Drops the test databases and roles that earlier test binaries left on this server
    /// ([`is_stale`]: older than [`STALE_AFTER_SECS`]); their names. A given server's are
    /// dropped when a test binary first uses it: a test binary cannot drop its own at exit (a
    /// test's database is in use until the binary ends, and statics are never dropped), and
    /// a server this binary started is removed whole.
    pub fn drop_stale(&self) -> Vec<String> {
        let now = now_secs();
        let listed = |sql: &str| -> Vec<String> {
            self.try_query(&self.admin_url, sql)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .filter(|name| is_stale(name, now))
                .collect()
        };
        let mut dropped = Vec::new();
        for db in listed("SELECT datname FROM pg_database WHERE datname LIKE 'residual\\_test\\_%'")
        {
            // FORCE (PostgreSQL 13 and later) ends a dead run's lingering sessions.
            let gone = self
                .try_query(
                    &self.admin_url,
                    &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
                )
                .or_else(|_| {
                    self.try_query(&self.admin_url, &format!("DROP DATABASE IF EXISTS {db}"))
                });
            if gone.is_ok() {
                dropped.push(db);
            }
        }
        for role in listed("SELECT rolname FROM pg_roles WHERE rolname LIKE 'residual\\_test\\_%'")
        {
            if self
                .try_query(&self.admin_url, &format!("DROP ROLE IF EXISTS {role}"))
                .is_ok()
            {
                dropped.push(role);
            }
        }
        dropped
    }

    /// The server's CA files, when it runs with TLS (see [`Tls`]); `None` when it does not or
    /// this binary cannot tell (a given server without [`TLS_DIR_ENV`]).
    pub fn tls(&self) -> Option<Tls> {
        let dir = self.tls_dir.as_ref()?;
        let tls = Tls {
            ca: dir.join("ca.crt"),
            other_ca: dir.join("other-ca.crt"),
        };
        (tls.ca.is_file() && tls.other_ca.is_file()).then_some(tls)
    }

    /// [`Server::tls`], or `None` after saying on stderr that TLS tests skip; a panic instead
    /// when PostgreSQL is required ([`REQUIRED_ENV`]: CI must not skip them).
    pub fn tls_or_skip(&self) -> Option<Tls> {
        let tls = self.tls();
        if tls.is_none() {
            let why = format!(
                "the test PostgreSQL server has no TLS: started without the openssl binary, or \
                 given by {SERVER_ENV} without {TLS_DIR_ENV}"
            );
            assert!(!required(), "{REQUIRED_ENV} is set, and {why}");
            eprintln!("note: {why}: the TLS tests are skipped");
        }
        tls
    }

    /// A new login role that must give its password (a member of [`PASSWORD_GROUP`]) and a new
    /// database it owns; `None` when the server has no such group (a given server not started
    /// by `postgres-server.sh`).
    pub fn password_login(&self) -> Option<PasswordLogin> {
        let group = self.query(
            &self.admin_url,
            &format!("SELECT count(*) FROM pg_roles WHERE rolname = '{PASSWORD_GROUP}'"),
        );
        if group != "1" {
            return None;
        }
        let user = unique_name();
        let password = format!("pw-{:016x}", random_u64());
        self.query(
            &self.admin_url,
            &format!("CREATE ROLE {user} LOGIN PASSWORD '{password}' IN ROLE {PASSWORD_GROUP}"),
        );
        let name = unique_name();
        let _one = CREATING.lock().unwrap_or_else(|e| e.into_inner());
        self.query(
            &self.admin_url,
            &format!("CREATE DATABASE {name} OWNER {user}"),
        );
        Some(PasswordLogin {
            url: self.url_as(&user, &name),
            user,
            password,
        })
    }

    /// The `psql` that talks to this server.
    pub fn psql(&self) -> &Path {
        &self.psql
    }

    /// Runs `sql` on the database at `url` with `psql` and returns what it printed (unaligned,
    /// tuples only: one row a line, columns separated by `|`). Panics with psql's message when
    /// the statement fails.
    pub fn query(&self, url: &str, sql: &str) -> String {
        self.try_query(url, sql)
            .unwrap_or_else(|message| panic!("psql failed on {sql:?}: {message}"))
    }

    /// [`Server::query`], with psql's error message when the statement fails (a test of what a
    /// role may not do).
    pub fn try_query(&self, url: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(&self.psql)
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                url,
                "-c",
                sql,
            ])
            // A server that does not answer fails the test instead of hanging it.
            .env("PGCONNECT_TIMEOUT", "10")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} (Debian's package postgresql-client): {e}",
                    self.psql.display()
                )
            });
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
        }
    }
}

/// The CA files of a server with TLS.
pub struct Tls {
    /// The CA that signed the server's certificate (for 127.0.0.1, ::1 and localhost).
    pub ca: PathBuf,
    /// A CA that signed nothing the server has.
    pub other_ca: PathBuf,
}

/// A role that logs in with a password, and a database of its own.
pub struct PasswordLogin {
    /// The database's URL as the role, without the password.
    pub url: String,
    pub user: String,
    pub password: String,
}

/// A random number (the standard library's per-process random keys, and the time).
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    hasher.finish()
}

/// A database name unique to this process and call: prefix, creation time (Unix seconds, so
/// that a later run can tell a stale one: [`is_stale`]), pid, counter, and a random part so that
/// two test binaries sharing a server never meet. Lower case letters, digits and `_`: no quoting
/// needed.
fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{DATABASE_PREFIX}{}_{}_{}_{:08x}",
        now_secs(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        random_u64() as u32
    )
}

/// How old a test database (or role) on a given server must be before a later test binary
/// drops it: far longer than a test binary runs.
pub const STALE_AFTER_SECS: u64 = 3600;

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// Whether `name` is a test database (or role) that an earlier run left: made by
/// [`unique_name`] more than [`STALE_AFTER_SECS`] before `now`, or named the way names were
/// before they carried their time (prefix, pid, counter, random part). Anything else is not ours.
fn is_stale(name: &str, now: u64) -> bool {
    let Some(rest) = name.strip_prefix(DATABASE_PREFIX) else {
        return false;
    };
    let parts: Vec<&str> = rest.split('_').collect();
    let numeric = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
    let hex = |p: &str| p.len() == 8 && p.chars().all(|c| c.is_ascii_hexdigit());
    match parts.as_slice() {
        [made, pid, n, random] if numeric(pid) && numeric(n) && hex(random) => made
            .parse::<u64>()
            .is_ok_and(|made| now.saturating_sub(made) > STALE_AFTER_SECS),
        [pid, n, random] => numeric(pid) && numeric(n) && hex(random),
        _ => false,
    }
}

/// `url` with its database (the path) replaced by `name`, its query string kept; `None` when it
/// is not a URL.
fn with_database(url: &str, name: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap_or(before_query);
    let mut out = format!("{scheme}://{authority}/{name}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_server_url_wins_over_installed_binaries() {
        assert_eq!(
            plan(
                Some("postgres://u@h:5/db".into()),
                Some("/bin".into()),
                true
            ),
            Plan::Given("postgres://u@h:5/db".into())
        );
    }

    #[test]
    fn installed_binaries_are_started_when_no_url_is_given() {
        assert_eq!(
            plan(Some(" ".into()), Some("/pg/bin".into()), false),
            Plan::Start("/pg/bin".into())
        );
    }

    #[test]
    fn without_postgres_the_tests_skip_unless_it_is_required() {
        assert_eq!(plan(None, None, false), Plan::Skip);
        let Plan::Fail(why) = plan(None, None, true) else {
            panic!("a required PostgreSQL that is missing must fail");
        };
        assert!(
            why.contains(REQUIRED_ENV) && why.contains("postgresql"),
            "{why}"
        );
    }

    #[test]
    fn versions_compare_as_numbers() {
        assert!(version_key("15") > version_key("9.6"));
        assert_eq!(version_key("main"), None);
    }

    #[test]
    fn the_database_of_a_url_is_replaced_and_its_options_kept() {
        assert_eq!(
            with_database("postgres://u:p%2Fw@127.0.0.1:5432/postgres", "x").as_deref(),
            Some("postgres://u:p%2Fw@127.0.0.1:5432/x")
        );
        assert_eq!(
            with_database("postgresql://u@h?sslmode=require", "x").as_deref(),
            Some("postgresql://u@h/x?sslmode=require")
        );
        assert_eq!(
            with_database("postgres://h:1/a/b?c=d", "x").as_deref(),
            Some("postgres://h:1/x?c=d")
        );
        assert_eq!(with_database("host=h dbname=d", "x"), None);
    }

    #[test]
    fn a_url_for_another_role_keeps_host_port_and_options() {
        let server = Server {
            admin_url: "postgres://admin:pw@127.0.0.1:5433/postgres?sslmode=disable".into(),
            psql: "psql".into(),
            dir: None,
            tls_dir: None,
            _child: None,
            _stdin: None,
        };
        assert_eq!(
            server.url_as("worker", "residual"),
            "postgres://worker@127.0.0.1:5433/residual?sslmode=disable"
        );
    }

    #[test]
    fn a_test_database_is_stale_an_hour_after_it_was_made_and_other_names_never_are() {
        let now = 1_800_000_000;
        let made = |secs: u64| format!("{DATABASE_PREFIX}{secs}_4242_3_0badcafe");
        assert!(!is_stale(&made(now - 60), now));
        assert!(is_stale(&made(now - STALE_AFTER_SECS - 1), now));
        // Names from before they carried their time.
        assert!(is_stale(&format!("{DATABASE_PREFIX}4242_3_0badcafe"), now));
        for other in [
            "residual",
            "residual_test",
            PASSWORD_GROUP,
            "residual_test_foundation",
            "postgres",
        ] {
            assert!(!is_stale(other, now), "{other}");
        }
        assert!(!is_stale(&unique_name(), now_secs()));
    }

    #[test]
    fn stale_test_databases_are_dropped_and_fresh_ones_kept() {
        let Some(server) = server() else {
            return;
        };
        let stale = format!(
            "{DATABASE_PREFIX}{}_1_0_deadbeef",
            now_secs() - STALE_AFTER_SECS - 60
        );
        server.query(&server.admin_url, &format!("CREATE DATABASE {stale}"));
        let fresh = server.fresh_database();
        let dropped = server.drop_stale();
        assert!(dropped.contains(&stale), "{dropped:?}");
        let left = server.query(
            &server.admin_url,
            "SELECT string_agg(datname, ',') FROM pg_database",
        );
        assert!(!left.split(',').any(|d| d == stale), "{left}");
        let fresh_name = fresh.rsplit('/').next().unwrap_or_default();
        assert!(left.split(',').any(|d| d == fresh_name), "{left}");
    }

    #[test]
    fn names_are_unique_and_need_no_quoting() {
        let (a, b) = (unique_name(), unique_name());
        assert_ne!(a, b);
        assert!(a.starts_with(DATABASE_PREFIX));
        assert!(a
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
    }

    /// The tables of a database's `public` schema.
    fn tables(server: &Server, url: &str) -> String {
        server.query(
            url,
            "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables \
             WHERE table_schema = 'public'",
        )
    }

    #[test]
    fn two_fresh_databases_are_distinct_and_empty_and_answer_queries() {
        let Some(server) = server() else {
            return; // skipped, and said so by server()
        };
        let (a, b) = (server.fresh_database(), server.fresh_database());
        assert_ne!(a, b);
        assert_eq!(tables(server, &a), "");
        assert_eq!(tables(server, &b), "");
        server.query(&a, "CREATE TABLE people (id int primary key, email text)");
        server.query(&a, "INSERT INTO people VALUES (1, 'ada@example.com')");
        assert_eq!(
            server.query(&a, "SELECT id, email FROM people"),
            "1|ada@example.com"
        );
        assert_eq!(tables(server, &a), "people");
        assert_eq!(
            tables(server, &b),
            "",
            "a table made in one fresh database shows in another"
        );
        assert_eq!(server.query(&b, "SELECT current_database()"), {
            let name = b.rsplit('/').next().unwrap_or_default();
            name.to_string()
        });
    }

    #[test]
    fn a_started_server_stops_and_leaves_no_directory_when_its_owner_lets_go() {
        let Some(bindir) = server_bindir() else {
            eprintln!("note: no PostgreSQL server binaries: skipped");
            return;
        };
        let started = start(&bindir);
        let dir = started
            .dir
            .clone()
            .expect("a started server has a directory");
        let port = started
            .admin_url
            .rsplit_once(':')
            .and_then(|(_, rest)| rest.split('/').next())
            .expect("a port in the URL")
            .to_string();
        assert_eq!(started.query(&started.admin_url, "SELECT 1"), "1");
        assert!(dir.join("data").is_dir());
        let ready = |port: &str| {
            Command::new(bindir.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", port])
                .status()
                .is_ok_and(|s| s.success())
        };
        assert!(ready(&port));
        // What the test binary's exit does to the static server: the pipe closes.
        let Server { _child, _stdin, .. } = started;
        drop(_stdin);
        let status = _child
            .expect("a started server has a child")
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .wait()
            .expect("the script exits");
        assert!(status.success(), "the script exited with {status}");
        assert!(
            !ready(&port),
            "the server still answers after its pipe closed"
        );
        assert!(!dir.exists(), "{} is still there", dir.display());
    }
}
