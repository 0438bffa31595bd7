//! `deploy/postgres/roles.sql` on a real PostgreSQL server: the owner runs migrations, the worker
//! reads and writes rows but changes no schema and only appends to the audit chain, the reader
//! only reads, and the script can be run again after a migration.
//!
//! The store's real migrations are the PostgreSQL backend's; here the owner creates tables of the
//! same names and kinds (the chain, the seal, the schema version, a table with a sequence), which
//! is what the script's grants and revokes depend on. Each test starts a server of its own,
//! because roles belong to the whole server, not to one database.

use residual_test_support::postgres::{self, Server};
use std::path::PathBuf;
use std::process::Command;

/// The script under test.
fn roles_sql() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/postgres/roles.sql")
}

/// A server of this test's own, or `None` (skip) without PostgreSQL binaries unless required.
fn own_server() -> Option<Server> {
    match postgres::server_bindir() {
        Some(bindir) => Some(postgres::start(&bindir)),
        None if std::env::var_os(postgres::REQUIRED_ENV).is_some_and(|v| !v.is_empty()) => {
            panic!(
                "{} is set, but no PostgreSQL binaries were found",
                postgres::REQUIRED_ENV
            )
        }
        None => {
            eprintln!("note: no PostgreSQL server binaries: skipped");
            None
        }
    }
}

/// Runs roles.sql as the server's superuser, as an administrator would.
fn run_roles_sql(server: &Server) {
    let out = Command::new(server.psql())
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &server.admin_url,
            "-f",
        ])
        .arg(roles_sql())
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "roles.sql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What a first migration leaves, created by the owner role.
fn migrate_as_owner(server: &Server) {
    let owner = server.url_as("residual_owner", "residual");
    server.query(
        &owner,
        "CREATE TABLE residual_schema (version BIGINT NOT NULL);
         INSERT INTO residual_schema VALUES (11);
         CREATE TABLE scan_runs (id BIGSERIAL PRIMARY KEY, status TEXT NOT NULL);
         CREATE TABLE finding_events (seq BIGINT PRIMARY KEY, hash TEXT NOT NULL);
         CREATE TABLE chain_seal (id INTEGER PRIMARY KEY, mac TEXT NOT NULL);",
    );
}

/// A server set up as docs/postgres.md says: roles.sql, the owner's migration, roles.sql again.
fn set_up() -> Option<Server> {
    let server = own_server()?;
    run_roles_sql(&server);
    migrate_as_owner(&server);
    run_roles_sql(&server);
    Some(server)
}

/// Asserts that `sql` as `url`'s role is refused for want of privilege.
fn refused(server: &Server, url: &str, sql: &str) {
    match server.try_query(url, sql) {
        Ok(out) => panic!("{sql:?} was allowed (printed {out:?})"),
        Err(message) => assert!(
            message.contains("permission denied") || message.contains("must be owner"),
            "{sql:?} failed, but not for want of privilege: {message}"
        ),
    }
}

#[test]
fn the_worker_writes_rows_but_no_schema_and_only_appends_to_the_chain() {
    let Some(server) = set_up() else { return };
    let worker = server.url_as("residual_worker", "residual");
    server.query(&worker, "INSERT INTO scan_runs (status) VALUES ('running')");
    server.query(&worker, "UPDATE scan_runs SET status = 'complete'");
    server.query(&worker, "INSERT INTO finding_events VALUES (1, 'h1')");
    server.query(&worker, "INSERT INTO chain_seal VALUES (1, 'm')");
    assert_eq!(
        server.query(&worker, "SELECT version FROM residual_schema"),
        "11"
    );
    assert_eq!(
        server.query(&worker, "SELECT status FROM scan_runs"),
        "complete"
    );
    server.query(&worker, "DELETE FROM scan_runs");

    refused(
        &server,
        &worker,
        "UPDATE finding_events SET hash = 'forged'",
    );
    refused(&server, &worker, "DELETE FROM finding_events");
    refused(&server, &worker, "TRUNCATE finding_events");
    refused(&server, &worker, "UPDATE chain_seal SET mac = 'forged'");
    refused(&server, &worker, "DELETE FROM chain_seal");
    refused(&server, &worker, "UPDATE residual_schema SET version = 12");
    refused(&server, &worker, "CREATE TABLE extra (id INTEGER)");
    refused(
        &server,
        &worker,
        "ALTER TABLE scan_runs ADD COLUMN extra TEXT",
    );
    refused(&server, &worker, "DROP TABLE scan_runs");
    assert_eq!(
        server.query(
            &worker,
            "SELECT rolsuper OR rolcreatedb OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ),
        "f"
    );
}

#[test]
fn the_reader_only_reads() {
    let Some(server) = set_up() else { return };
    let reader = server.url_as("residual_reader", "residual");
    assert_eq!(
        server.query(&reader, "SELECT count(*) FROM finding_events"),
        "0"
    );
    refused(
        &server,
        &reader,
        "INSERT INTO scan_runs (status) VALUES ('running')",
    );
    refused(
        &server,
        &reader,
        "INSERT INTO finding_events VALUES (1, 'h1')",
    );
    refused(&server, &reader, "CREATE TABLE extra (id INTEGER)");
}

#[test]
fn tables_a_later_migration_adds_are_granted_without_running_the_script_again() {
    let Some(server) = set_up() else { return };
    let owner = server.url_as("residual_owner", "residual");
    server.query(
        &owner,
        "CREATE TABLE leases (unit TEXT PRIMARY KEY, id BIGSERIAL)",
    );
    let worker = server.url_as("residual_worker", "residual");
    server.query(&worker, "INSERT INTO leases (unit) VALUES ('aws-iam:1')");
    let reader = server.url_as("residual_reader", "residual");
    assert_eq!(
        server.query(&reader, "SELECT unit FROM leases"),
        "aws-iam:1"
    );
}

#[test]
fn the_worker_role_has_a_connection_limit() {
    let Some(server) = set_up() else { return };
    assert_eq!(
        server.query(
            &server.admin_url,
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = 'residual_worker'"
        ),
        "16"
    );
}
