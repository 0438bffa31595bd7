//! Numbered schema migrations. A migration is appended, never edited: `user_version` (SQLite) or
//! the one row of `residual_schema` (PostgreSQL) records how many have run, and a database from a
//! newer residual is refused rather than misread.
//!
//! PostgreSQL runs the same list, rewritten by [`db::dialect`](super::db::dialect). A PostgreSQL
//! store is always created empty by this build, so the data moves of old migrations (statements
//! `INSERT INTO … SELECT` from the tables they replace, and the rewrites in [`after`]) have
//! nothing to move there and are left out: they are SQLite's history, not schema.

use super::db::{Connection, OptionalExtension};
use super::{Result, StoreError};
use std::path::Path;

const MIGRATIONS: &[&str] = &[
    // 1: HR snapshots, people, scan runs, observations, links, findings, events, exceptions.
    r#"
    CREATE TABLE snapshots (
        id INTEGER PRIMARY KEY,
        as_of TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        source TEXT NOT NULL,
        format TEXT NOT NULL,
        digest TEXT NOT NULL,
        people INTEGER NOT NULL
    );
    -- Current state of every person ever seen; `present` is 0 once they left the HR export.
    CREATE TABLE people (
        employee_id TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        name TEXT,
        hr_status TEXT NOT NULL,
        terminated_at TEXT,
        present INTEGER NOT NULL,
        department TEXT,
        title TEXT,
        manager TEXT,
        aliases TEXT NOT NULL,
        github_login TEXT,
        gitlab_user TEXT,
        aws_user TEXT,
        moved_at TEXT,
        previous_department TEXT,
        previous_title TEXT,
        previous_manager TEXT,
        role_changed_at TEXT,
        attributes TEXT NOT NULL,
        first_snapshot INTEGER NOT NULL REFERENCES snapshots(id),
        last_snapshot INTEGER NOT NULL REFERENCES snapshots(id)
    );
    CREATE TABLE snapshot_people (
        snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
        employee_id TEXT NOT NULL,
        record TEXT NOT NULL,
        PRIMARY KEY (snapshot_id, employee_id)
    ) WITHOUT ROWID;
    CREATE TABLE person_events (
        id INTEGER PRIMARY KEY,
        snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),
        employee_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        effective_at TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE INDEX person_events_by_person ON person_events(employee_id);
    CREATE TABLE scan_runs (
        id INTEGER PRIMARY KEY,
        scanner TEXT NOT NULL,
        system TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        accounts INTEGER NOT NULL,
        credentials INTEGER NOT NULL,
        grants INTEGER NOT NULL,
        calls INTEGER NOT NULL,
        errors TEXT NOT NULL
    );
    CREATE INDEX scan_runs_by_system ON scan_runs(system, id);
    -- What one run saw: one row per account (its grants folded into `data`), one per credential
    -- (indexed: liveness lookups by credential id), and one per grant of an account not listed.
    CREATE TABLE observations (
        run_id INTEGER NOT NULL REFERENCES scan_runs(id),
        type TEXT NOT NULL,
        account TEXT NOT NULL,
        subject TEXT NOT NULL,
        kind TEXT NOT NULL,
        active INTEGER,
        data TEXT NOT NULL
    );
    CREATE INDEX observations_by_run ON observations(run_id);
    CREATE INDEX observations_by_credential ON observations(subject) WHERE type = 'credential';
    CREATE TABLE links (
        system TEXT NOT NULL,
        account TEXT NOT NULL,
        employee_id TEXT NOT NULL,
        method TEXT NOT NULL,
        confidence REAL NOT NULL,
        run_id INTEGER NOT NULL REFERENCES scan_runs(id),
        PRIMARY KEY (system, account)
    ) WITHOUT ROWID;
    CREATE TABLE findings (
        id TEXT PRIMARY KEY,
        rule TEXT NOT NULL,
        severity TEXT NOT NULL,
        state TEXT NOT NULL,
        system TEXT NOT NULL,
        account TEXT NOT NULL,
        subject TEXT NOT NULL,
        employee_id TEXT,
        live INTEGER,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        resolved_at TEXT,
        resolved_by_run INTEGER,
        last_run INTEGER NOT NULL,
        exception_id TEXT,
        evidence TEXT NOT NULL,
        remediation TEXT NOT NULL
    );
    CREATE INDEX findings_by_system ON findings(system, state);
    -- Append-only; each row carries the hash of the previous one (see store::events).
    CREATE TABLE finding_events (
        seq INTEGER PRIMARY KEY,
        finding_id TEXT NOT NULL,
        event TEXT NOT NULL,
        at TEXT NOT NULL,
        run_id INTEGER,
        detail TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX finding_events_by_finding ON finding_events(finding_id);
    CREATE TRIGGER finding_events_no_update BEFORE UPDATE ON finding_events
        BEGIN SELECT RAISE(ABORT, 'finding_events is append-only'); END;
    CREATE TRIGGER finding_events_no_delete BEFORE DELETE ON finding_events
        BEGIN SELECT RAISE(ABORT, 'finding_events is append-only'); END;
    CREATE TABLE exceptions (
        id TEXT PRIMARY KEY,
        finding_id TEXT NOT NULL,
        reason TEXT NOT NULL,
        approver TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        source TEXT NOT NULL
    );
    CREATE INDEX exceptions_by_finding ON exceptions(finding_id);
    "#,
    // 2: git objects each repository's complete runs covered, so later runs read only new ones.
    r#"
    CREATE TABLE git_objects (
        repo TEXT NOT NULL,
        kind TEXT NOT NULL,
        oid TEXT NOT NULL,
        PRIMARY KEY (repo, kind, oid)
    ) WITHOUT ROWID;
    "#,
    // 3: the same objects as packed sets: one row per kind per complete run holding the 20-byte
    // ids back to back. A row per object cost ~0.3 s of B-tree inserts per 100k objects on every
    // full scan; a set is one insert. Old rows move over as one-object sets, compacted later.
    r#"
    CREATE TABLE git_object_sets (
        repo TEXT NOT NULL,
        kind TEXT NOT NULL,
        seq INTEGER NOT NULL,
        oids BLOB NOT NULL,
        PRIMARY KEY (repo, kind, seq)
    ) WITHOUT ROWID;
    INSERT INTO git_object_sets (repo, kind, seq, oids)
        SELECT repo, kind, row_number() OVER (PARTITION BY repo, kind), unhex(oid)
        FROM git_objects WHERE unhex(oid) IS NOT NULL AND length(oid) = 40;
    DROP TABLE git_objects;
    "#,
    // 4: observations as what changed. A full copy of every account, credential and grant per
    // run cost ~500 MB per run of a million-account system; now one row per observation of a
    // system (first run, last run known to see it, the complete run that no longer saw it, its
    // content and a digest of it) and one row per change. What the latest complete run of each
    // system saw moves over; digests are filled in by `after` below. Runs keep the time their
    // findings were evaluated at, and findings a digest of their content, so that a run that
    // sees a finding unchanged need not rewrite it (see store::findings).
    r#"
    DROP INDEX observations_by_run;
    DROP INDEX observations_by_credential;
    ALTER TABLE observations RENAME TO observations_v3;
    CREATE TABLE observations (
        system TEXT NOT NULL,
        id INTEGER NOT NULL,
        type TEXT NOT NULL,
        account TEXT NOT NULL,
        subject TEXT NOT NULL,
        kind TEXT NOT NULL,
        active INTEGER,
        digest INTEGER,
        first_run INTEGER NOT NULL,
        last_run INTEGER NOT NULL,
        gone_run INTEGER,
        data TEXT NOT NULL,
        PRIMARY KEY (system, id)
    ) WITHOUT ROWID;
    CREATE INDEX observations_by_credential ON observations(subject) WHERE type = 'credential';
    -- `previous`: the content before a change (or before a return, for `appeared`).
    CREATE TABLE observation_changes (
        run_id INTEGER NOT NULL,
        observation INTEGER NOT NULL,
        change TEXT NOT NULL,
        previous TEXT,
        PRIMARY KEY (run_id, observation)
    ) WITHOUT ROWID;
    INSERT INTO observations (system, id, type, account, subject, kind, active, digest, first_run,
                              last_run, gone_run, data)
        SELECT system, row_number() OVER (PARTITION BY system ORDER BY first), type, account,
               subject, kind, active, NULL, run_id, run_id, NULL, data
        FROM (SELECT r.system AS system, o.type AS type, o.account AS account,
                     o.subject AS subject, o.kind AS kind, o.active AS active,
                     o.run_id AS run_id, o.data AS data, MIN(o.rowid) AS first
              FROM observations_v3 o JOIN scan_runs r ON r.id = o.run_id
              WHERE o.run_id IN (SELECT MAX(id) FROM scan_runs WHERE status = 'complete' GROUP BY system)
              GROUP BY o.run_id, o.type, o.account, o.subject, o.kind);
    DROP TABLE observations_v3;
    ALTER TABLE scan_runs ADD COLUMN evaluated_at TEXT;
    ALTER TABLE findings ADD COLUMN content INTEGER;
    -- Exception expiry runs before every scan: find excepted findings without reading them all.
    CREATE INDEX findings_by_state ON findings(state);
    "#,
    // 5: coverage. Each finding keeps the coverage unit it was raised under (NULL for findings
    // from before: only a run that missed nothing resolves those); each run its units, covered
    // or missed with why (JSON), and the process that runs it, so that a run row still `started`
    // whose process is gone reads as `interrupted`.
    r#"
    ALTER TABLE findings ADD COLUMN unit TEXT;
    ALTER TABLE scan_runs ADD COLUMN coverage TEXT;
    ALTER TABLE scan_runs ADD COLUMN pid INTEGER;
    "#,
    // 6: exceptions are revoked, never deleted: when (`revoked_at`), why, by whom, and how —
    // `file` when the entry left the exceptions file, `cli` for `exceptions revoke`. A revoked
    // row covers nothing; the file's entry that matched it is not re-created from the same terms.
    r#"
    ALTER TABLE exceptions ADD COLUMN revoked_at TEXT;
    ALTER TABLE exceptions ADD COLUMN revoked_reason TEXT;
    ALTER TABLE exceptions ADD COLUMN revoked_by TEXT;
    ALTER TABLE exceptions ADD COLUMN revoked_via TEXT;
    "#,
    // 7: a keyed audit chain. Each event records the scheme its hash was made with: events
    // written so far keep their plain SHA-256 hashes (history is never re-hashed), new ones are
    // HMAC-SHA256 under the chain key kept outside the store. `chain_seal` says, under that key,
    // where the keyed part starts (and which snapshots and runs came before the chain covered
    // them), so that rewriting every event back to plain SHA-256 does not verify. It is written
    // once, by the first write that has the key (see store::seal).
    r#"
    ALTER TABLE finding_events ADD COLUMN scheme TEXT NOT NULL DEFAULT 'sha256';
    CREATE TABLE chain_seal (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        legacy_events INTEGER NOT NULL,
        legacy_head TEXT NOT NULL,
        legacy_runs INTEGER NOT NULL,
        legacy_snapshots INTEGER NOT NULL,
        mac TEXT NOT NULL
    );
    CREATE TRIGGER chain_seal_no_update BEFORE UPDATE ON chain_seal
        BEGIN SELECT RAISE(ABORT, 'chain_seal is write-once'); END;
    CREATE TRIGGER chain_seal_no_delete BEFORE DELETE ON chain_seal
        BEGIN SELECT RAISE(ABORT, 'chain_seal is write-once'); END;
    "#,
    // 8: cases — the last judged state of each leaver/mover case (id = the person event's id),
    // so that a write can tell which cases changed and chain an event for each.
    r#"
    CREATE TABLE cases (
        id INTEGER PRIMARY KEY,
        employee_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        verified_at TEXT,
        changed_at TEXT NOT NULL
    );
    "#,
    // 9: targeted runs. A run that looked only at some accounts (a leaver's IAM user) lists them
    // as a JSON array in `targeted` (NULL for a full sweep): such a run is never the latest
    // complete run of its system, and proves no case.
    r#"
    ALTER TABLE scan_runs ADD COLUMN targeted TEXT;
    "#,
    // 10: leases — which worker sweeps which sweep unit now (`store::leases`): the holder
    // (`host:pid:random`), when it took the lease and when it expires (milliseconds since the
    // epoch, the real clock), and the scan run it started under it (marked `interrupted` by
    // whoever takes the lease after the holder died).
    r#"
    CREATE TABLE leases (
        unit TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        taken_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        run_id INTEGER
    );
    "#,
    // 11: a smaller, faster store. Observation content in a compact form (store::observation_content):
    // the name once, in the row's key; short keys; times as seconds. Content stored whole is
    // rewritten, with its digest, by `after` (SQL cannot parse it), so that the next run compares
    // like with like. A new finding refers to its rule's remediation text (`remediation_text`,
    // filled in with its system and account when read) instead of holding a copy; rows written
    // before keep theirs. Each system's observations (and links, with the people and policy
    // linking used) remember the input they were last written from, so that a run of an
    // unchanged export is not compared again.
    r#"
    CREATE TABLE remediation_texts (
        id INTEGER PRIMARY KEY,
        text TEXT NOT NULL UNIQUE
    );
    ALTER TABLE findings ADD COLUMN remediation_text INTEGER REFERENCES remediation_texts(id);
    -- The input (an export's digest) each system's observations were last written from by a
    -- complete full run: a run of the same input again need not compare them (store::observations).
    CREATE TABLE observation_inputs (
        system TEXT PRIMARY KEY,
        input TEXT NOT NULL
    ) WITHOUT ROWID;
    -- The same for each system's links, with the HR snapshot and policy linking used.
    CREATE TABLE link_inputs (
        system TEXT PRIMARY KEY,
        basis TEXT NOT NULL
    ) WITHOUT ROWID;
    -- then: compact observation content
    "#,
    // 12: a first appearance is read from `first_run` instead of a change row each (a first sweep
    // of a million accounts wrote a million rows that said only that; store::observations). Rows
    // of an `appeared` that `first_run` already says go; a return after going keeps its row (it
    // holds the content from before), and so does a first appearance whose `first_run` a return
    // moved on (builds before this one did).
    r#"
    DELETE FROM observation_changes WHERE change = 'appeared' AND previous IS NULL
        AND EXISTS (SELECT 1 FROM scan_runs r JOIN observations o ON o.system = r.system
                    WHERE r.id = observation_changes.run_id AND o.id = observation_changes.observation
                      AND o.first_run = observation_changes.run_id);
    "#,
    // 13: observation content as MessagePack (store::observation_content): the shapes of the
    // compact JSON of schema 11, two fifths smaller. SQLite keeps the bytes in the TEXT columns
    // as a BLOB; PostgreSQL's columns become BYTEA. `after` does both and rewrites the content,
    // with its digest, on either (SQL cannot parse it).
    r#"
    -- then: binary observation content
    "#,
    // 14: an account row's subject is its own name, which `account` already holds: it is kept
    // empty and read from `account` (store::observations; 11 MB of a million accounts).
    r#"
    UPDATE observations SET subject = '' WHERE type = 'account';
    "#,
    // 15: each event's hash as its 32 bytes, and its previous hash not at all: it is the hash of
    // the row before (store::events; 22 MB of a quarter million events). `after` rewrites the
    // rows on either backend (the chain's triggers refuse an UPDATE, and PostgreSQL changes the
    // columns' type); no hash is made again.
    r#"
    -- then: binary event hashes
    "#,
    // 16: systems by number, and links kept small: a row per linked account named its system
    // in full and its method in words, with an 8-byte confidence (26 MB of a million links).
    // `systems` numbers every system; `links` refers to it, codes the method and keeps the
    // confidence in thousandths (store::links). `after` moves the links on either backend.
    r#"
    CREATE TABLE systems (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
    );
    -- then: links by number
    "#,
    // 17: observations name their system by number as well (15 MB of a million accounts).
    // `after` rebuilds the table on either backend, in key order; the content column is a BLOB
    // (BYTEA) from here on, which is what it has held since schema 13.
    r#"
    -- then: observations by system number
    "#,
    // 18: the index that finds excepted findings (exception expiry, before every scan) holds
    // only those: an entry per finding in every state cost 3 MB of a million-account system
    // and no query of another state uses it (they go by system, or by id).
    r#"
    DROP INDEX findings_by_state;
    CREATE INDEX findings_excepted ON findings(state) WHERE state = 'excepted';
    "#,
    // 19: an account's content leaves its kind to the row's `kind` column, which holds the same
    // (7 MB of a million accounts; store::observation_content). `after` rewrites the content,
    // with its digest, on either backend; content that still holds it reads as before.
    r#"
    -- then: account content without its kind
    "#,
    // 20: no stored digest of each observation's content: a run that compares hashes the content
    // as it reads it (store::observations; 9 MB of a million accounts, and a first run makes
    // no digests at all).
    r#"
    ALTER TABLE observations DROP COLUMN digest;
    "#,
    // 21: an observation's type as a code (1 account, 2 credential, 3 grant), not its name
    // (store::observations; 7 MB of a million accounts). `after` rebuilds the table on either
    // backend, in key order (SQLite cannot change a column's type in place).
    r#"
    -- then: observation types as codes
    "#,
    // 22: event details and the HR records of each snapshot are written packed (store::events,
    // store::people; 8 and 7 MB of the foundation benchmark). Nothing is rewritten: what was
    // written before reads as it is. The number tells a build that would read packed details as
    // plain JSON (and find every new event's hash wrong) to refuse the store instead.
    r#"
    -- event details and HR records packed from here on
    "#,
];

/// The markers of the migrations whose content `after` rewrites (matched by text, not by
/// number, so that renumbering the list keeps them).
const COMPACT_CONTENT: &str = "-- then: compact observation content";
const BINARY_CONTENT: &str = "-- then: binary observation content";
const BINARY_HASHES: &str = "-- then: binary event hashes";
const LINKS_BY_NUMBER: &str = "-- then: links by number";
const OBSERVATIONS_BY_NUMBER: &str = "-- then: observations by system number";
const KIND_FROM_ROW: &str = "-- then: account content without its kind";
const TYPES_AS_CODES: &str = "-- then: observation types as codes";

/// The observations table of schema 21, made beside the old one under a name of its own (a
/// PostgreSQL key takes its table's name at creation) and filled from it in key order.
const OBSERVATIONS_TYPED: &str = "
    CREATE TABLE observations_v21 (
        system INTEGER NOT NULL,
        id INTEGER NOT NULL,
        type INTEGER NOT NULL,
        account TEXT NOT NULL,
        subject TEXT NOT NULL,
        kind TEXT NOT NULL,
        active INTEGER,
        first_run INTEGER NOT NULL,
        last_run INTEGER NOT NULL,
        gone_run INTEGER,
        data BLOB NOT NULL,
        PRIMARY KEY (system, id)
    ) WITHOUT ROWID;
    INSERT INTO observations_v21 (system, id, type, account, subject, kind, active, first_run,
                                  last_run, gone_run, data)
        SELECT system, id,
               CASE type WHEN 'account' THEN 1 WHEN 'credential' THEN 2 ELSE 3 END,
               account, subject, kind, active, first_run, last_run, gone_run, data
        FROM observations ORDER BY system, id;
    DROP TABLE observations;
    ALTER TABLE observations_v21 RENAME TO observations;
    CREATE INDEX observations_by_credential ON observations(subject) WHERE type = 2;
";

/// The observations table of schema 17, made beside the old one and filled from it before it
/// takes the old one's name (so that PostgreSQL's key of the new table keeps a name of its own).
const OBSERVATIONS_TABLE: &str = "
    INSERT INTO systems (name) SELECT DISTINCT system FROM observations
        WHERE system NOT IN (SELECT name FROM systems) ORDER BY system;
    CREATE TABLE observations_new (
        system INTEGER NOT NULL,
        id INTEGER NOT NULL,
        type TEXT NOT NULL,
        account TEXT NOT NULL,
        subject TEXT NOT NULL,
        kind TEXT NOT NULL,
        active INTEGER,
        digest INTEGER,
        first_run INTEGER NOT NULL,
        last_run INTEGER NOT NULL,
        gone_run INTEGER,
        data BLOB NOT NULL,
        PRIMARY KEY (system, id)
    ) WITHOUT ROWID;
    INSERT INTO observations_new (system, id, type, account, subject, kind, active, digest,
                                  first_run, last_run, gone_run, data)
        SELECT s.id, o.id, o.type, o.account, o.subject, o.kind, o.active, o.digest,
               o.first_run, o.last_run, o.gone_run, o.data
        FROM observations o JOIN systems s ON s.name = o.system ORDER BY s.id, o.id;
    DROP TABLE observations;
    ALTER TABLE observations_new RENAME TO observations;
    CREATE INDEX observations_by_credential ON observations(subject) WHERE type = 'credential';
";

/// The links table of schema 16, made beside the old one and filled from it by
/// [`super::links::from_text_sql`] before it takes the old one's name.
const LINKS_TABLE: &str = "
    INSERT INTO systems (name) SELECT DISTINCT system FROM links ORDER BY system;
    CREATE TABLE links_new (
        system INTEGER NOT NULL,
        account TEXT NOT NULL,
        employee_id TEXT NOT NULL,
        method INTEGER NOT NULL,
        confidence INTEGER NOT NULL,
        run_id INTEGER NOT NULL,
        PRIMARY KEY (system, account)
    ) WITHOUT ROWID;
";

/// Hashes as bytes, previous hashes dropped, on SQLite: the rows are rewritten with the chain's
/// no-update trigger lifted for the statement (inside the migration's transaction). Text that is
/// not a hash (none residual wrote) is kept as it is, and still reads.
const SQLITE_BINARY_HASHES: &str = "
    DROP TRIGGER finding_events_no_update;
    UPDATE finding_events SET hash = COALESCE(unhex(hash), hash), prev_hash = x'';
    CREATE TRIGGER finding_events_no_update BEFORE UPDATE ON finding_events
        BEGIN SELECT RAISE(ABORT, 'finding_events is append-only'); END;
";

/// The same on PostgreSQL, where the columns become BYTEA (a change of type fires no row trigger).
const POSTGRES_BINARY_HASHES: &str = "
    ALTER TABLE finding_events
        ALTER COLUMN hash TYPE BYTEA USING CASE WHEN hash ~ '^([0-9a-f]{2})*$'
            THEN decode(hash, 'hex') ELSE convert_to(hash, 'UTF8') END,
        ALTER COLUMN prev_hash TYPE BYTEA USING ''::bytea;
";

/// PostgreSQL's TEXT takes no bytes that are not UTF-8: the content columns become BYTEA, with
/// what they held (JSON) as its UTF-8 bytes, which read back as before.
const POSTGRES_BINARY_CONTENT: &str = "
    ALTER TABLE observations ALTER COLUMN data TYPE BYTEA USING convert_to(data, 'UTF8');
    ALTER TABLE observation_changes ALTER COLUMN previous TYPE BYTEA
        USING convert_to(previous, 'UTF8');
";

/// What a migration needs beyond SQL, run in its transaction right after it. The data moves of
/// older migrations are SQLite's history (see the module comment); the binary content one runs
/// on both, since a PostgreSQL store of schema 12 may hold content.
fn after(version: i64, sql: &str, tx: &Connection) -> Result<()> {
    let postgres = tx.is_postgres();
    match version {
        4 if !postgres => super::observations::fill_digests(tx),
        _ if sql.contains(COMPACT_CONTENT) && !postgres => {
            super::observations::recode_content(tx, false)
        }
        _ if sql.contains(KIND_FROM_ROW) => super::observations::recode_content(tx, true),
        _ if sql.contains(TYPES_AS_CODES) => Ok(tx.execute_batch(OBSERVATIONS_TYPED)?),
        _ if sql.contains(BINARY_HASHES) => Ok(tx.execute_batch(if postgres {
            POSTGRES_BINARY_HASHES
        } else {
            SQLITE_BINARY_HASHES
        })?),
        _ if sql.contains(LINKS_BY_NUMBER) => {
            tx.execute_batch(LINKS_TABLE)?;
            tx.execute(&super::links::from_text_sql(), [])?;
            Ok(tx.execute_batch("DROP TABLE links; ALTER TABLE links_new RENAME TO links")?)
        }
        _ if sql.contains(OBSERVATIONS_BY_NUMBER) => Ok(tx.execute_batch(OBSERVATIONS_TABLE)?),
        _ if sql.contains(BINARY_CONTENT) => {
            if postgres {
                tx.execute_batch(POSTGRES_BINARY_CONTENT)?;
            }
            super::observations::recode_content(tx, false)
        }
        _ => Ok(()),
    }
}

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Builds the schema of version `version` as an older build left it (tests of later migrations).
#[cfg(test)]
pub(crate) fn schema_of_version(conn: &Connection, version: usize) {
    if conn.is_postgres() {
        conn.execute_batch("CREATE TABLE residual_schema (version BIGINT NOT NULL)")
            .expect("schema version table");
    }
    for (i, sql) in MIGRATIONS[..version].iter().enumerate() {
        let text = match conn.is_postgres() {
            true => postgres_text(sql),
            false => sql.to_string(),
        };
        conn.execute_batch(&text).expect("old schema");
        // What a migration does beyond SQL changes the schema too (PostgreSQL's column types).
        after((i + 1) as i64, sql, conn).expect("old schema's rewrites");
        conn.forget_statements();
    }
    set_version(conn, version as i64).expect("version");
}

/// Builds the schema as it was just before the migration that compacted observation content
/// (tests of that migration, whatever its number).
#[cfg(test)]
pub(crate) fn schema_before_compact_content(conn: &Connection) {
    let before = MIGRATIONS
        .iter()
        .position(|m| m.contains(COMPACT_CONTENT))
        .expect("the compacting migration");
    schema_of_version(conn, before);
}

/// The schema version of the store: SQLite's `user_version`, PostgreSQL's `residual_schema`
/// (0 for a new database).
pub(super) fn version(conn: &Connection) -> Result<i64> {
    match conn.sqlite() {
        Some(c) => Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?),
        None => {
            let exists: bool = conn.query_row(
                "SELECT to_regclass('residual_schema') IS NOT NULL",
                [],
                |r| r.get(0),
            )?;
            if !exists {
                return Ok(0);
            }
            Ok(conn
                .query_row("SELECT version FROM residual_schema", [], |r| r.get(0))
                .optional()?
                .unwrap_or(0))
        }
    }
}

fn set_version(conn: &Connection, version: i64) -> Result<()> {
    match conn.sqlite() {
        Some(c) => Ok(c.pragma_update(None, "user_version", version)?),
        None => {
            conn.execute("DELETE FROM residual_schema", [])?;
            conn.execute(
                "INSERT INTO residual_schema (version) VALUES (?1)",
                [version],
            )?;
            Ok(())
        }
    }
}

/// A migration's text for PostgreSQL: its statements less the data moves (see the module
/// comment). Statements are split at `;` unless the migration has triggers (whose bodies hold
/// `;`); those migrations move no data.
fn postgres_text(sql: &str) -> String {
    if sql.contains("CREATE TRIGGER") {
        return sql.to_string();
    }
    sql.split(';')
        .filter(|stmt| {
            let code = stmt
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with("--"))
                .unwrap_or("");
            !code.starts_with("INSERT INTO")
        })
        .collect::<Vec<_>>()
        .join(";")
}

pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let current = version(conn)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    if conn.is_postgres() && current < SCHEMA_VERSION {
        // Concurrent first opens race to create it; the loser's statement is a no-op.
        conn.execute_batch("CREATE TABLE IF NOT EXISTS residual_schema (version BIGINT NOT NULL)")?;
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        // Several workers may open a new store at once: each migration takes the write lock
        // first and is skipped when another process ran it meanwhile.
        let tx = conn.transaction()?;
        let now_at = version(&tx)?;
        if now_at > i as i64 {
            continue;
        }
        if tx.is_postgres() {
            tx.execute_batch(&postgres_text(sql))?;
        } else {
            tx.execute_batch(sql)?;
        }
        after((i + 1) as i64, sql, &tx)?;
        set_version(&tx, (i + 1) as i64)?;
        tx.commit()?;
        conn.forget_statements();
    }
    if current < SCHEMA_VERSION {
        give_back_space(conn);
    }
    Ok(())
}

/// After an upgrade that rebuilt tables (schemas 16 and 17 do), a SQLite file keeps the old
/// tables' pages as free pages: a 405 MB store upgraded to schema 18 held 507 MB, 148 MB of it
/// free. When a quarter of the file is free, it is rewritten once (`VACUUM`, ~2 s for that
/// store). Best effort: a file that cannot be rewritten now (no disk room for the copy, another
/// process reading) keeps its free pages, which later writes reuse.
fn give_back_space(conn: &Connection) {
    let Some(sqlite) = conn.sqlite() else {
        return;
    };
    let pages = |pragma: &str| sqlite.pragma_query_value(None, pragma, |r| r.get::<_, i64>(0));
    let (Ok(free), Ok(all)) = (pages("freelist_count"), pages("page_count")) else {
        return;
    };
    if all == 0 || free * 4 < all {
        return;
    }
    // VACUUM builds the compacted copy as a temporary database: on disk, not in memory (where
    // the store keeps its other temporaries), or a large store's copy would sit in memory whole.
    let temp_store: i64 = sqlite
        .pragma_query_value(None, "temp_store", |r| r.get(0))
        .unwrap_or(0);
    let compacted = sqlite
        .pragma_update(None, "temp_store", "FILE")
        .and_then(|()| sqlite.execute_batch("VACUUM"));
    if let Err(e) = compacted {
        tracing::warn!(
            free_pages = free,
            "the upgraded store could not be compacted now ({e}); its free pages are reused by later writes"
        );
    }
    if let Err(e) = sqlite.pragma_update(None, "temp_store", temp_store) {
        tracing::warn!("temp_store could not be set back after compacting: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use residual_scanners::git::Oid;

    /// A store written by a build with schema 2 keeps what it knew of each repository.
    #[test]
    fn git_objects_rows_move_into_packed_sets() {
        let mut conn = Connection::open_in_memory().expect("in-memory sqlite");
        for sql in &MIGRATIONS[..2] {
            conn.execute_batch(sql).expect("old schema");
        }
        set_version(&conn, 2).expect("version");
        let commit = "aa".repeat(20);
        let blob = "0b".repeat(20);
        conn.execute_batch(&format!(
            "INSERT INTO git_objects VALUES ('git:r', 'commit', '{commit}');
             INSERT INTO git_objects VALUES ('git:r', 'blob', '{blob}');
             INSERT INTO git_objects VALUES ('git:r', 'blob', 'not-hex');"
        ))
        .expect("old rows");

        migrate(&mut conn, Path::new(":memory:")).expect("migrate");

        let known = crate::store::git::known(&conn, "git:r").expect("known");
        let parse = |s: &str| s.parse::<Oid>().expect("oid");
        assert!(known.commits.contains(&parse(&commit)));
        assert!(known.blobs.contains(&parse(&blob)));
        assert_eq!(known.blobs.len(), 1);
    }

    /// A store that wrote a change row for every first appearance keeps only the rows
    /// `first_run` does not say: returns (with the content from before), and a first appearance
    /// whose `first_run` an older build moved on to a return. History reads back the same.
    #[test]
    fn appeared_rows_that_first_run_says_go() {
        let mut conn = Connection::open_in_memory().expect("in-memory sqlite");
        schema_of_version(&conn, 11);
        let run = |id: i64| {
            format!(
                "INSERT INTO scan_runs (id, scanner, system, status, started_at, finished_at, accounts, \
                   credentials, grants, calls, errors) VALUES ({id}, 'inventory', 'inventory:crm', 'complete', \
                   '2026-06-01T00:00:00Z', '2026-06-01T00:00:00Z', 1, 0, 0, 0, '[]');"
            )
        };
        let obs = |id: i64, name: &str, first: i64, last: i64| {
            format!(
                "INSERT INTO observations VALUES ('inventory:crm', {id}, 'account', '{name}', '{name}', 'user', 1, 0, \
                   {first}, {last}, NULL, '{{}}');"
            )
        };
        let change = |run: i64, id: i64, change: &str, previous: &str| {
            format!("INSERT INTO observation_changes VALUES ({run}, {id}, '{change}', {previous});")
        };
        conn.execute_batch(
            &[
                run(1),
                run(2),
                run(3),
                // ann: appeared in run 2, still there.
                obs(1, "ann", 2, 3),
                change(2, 1, "appeared", "NULL"),
                // ben: appeared in 1, went in 2, came back in 3 (an older build moved first_run).
                obs(2, "ben", 3, 3),
                change(1, 2, "appeared", "NULL"),
                change(2, 2, "gone", "NULL"),
                change(3, 2, "appeared", "'{}'"),
            ]
            .concat(),
        )
        .expect("old rows");
        // Runs 2 and 3: run 1 is older than the history a store keeps.
        let history = |conn: &Connection| -> Vec<Vec<(String, String, bool)>> {
            (2..=3)
                .map(|id| {
                    crate::store::observations::changes_of_run(conn, id)
                        .expect("history")
                        .into_iter()
                        .map(|c| (c.subject, c.change, c.previous.is_some()))
                        .collect()
                })
                .collect()
        };
        // What the history said before (as the build of that schema read it).
        let before = vec![
            vec![
                ("ann".to_string(), "appeared".to_string(), false),
                ("ben".to_string(), "gone".to_string(), false),
            ],
            vec![("ben".to_string(), "appeared".to_string(), true)],
        ];

        migrate(&mut conn, Path::new(":memory:")).expect("migrate");

        let left: Vec<(i64, i64)> = {
            let mut stmt = conn
                .prepare("SELECT run_id, observation FROM observation_changes ORDER BY 1, 2")
                .expect("prepare");
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("query");
            rows.collect::<crate::store::db::Result<_>>().expect("rows")
        };
        assert_eq!(
            left,
            [(1, 2), (2, 2), (3, 2)],
            "only ann's first appearance went"
        );
        assert_eq!(
            history(&conn),
            before,
            "the history kept reads back the same"
        );
    }

    /// A store that kept a full copy of every observation per run keeps what its latest complete
    /// run saw, once.
    #[test]
    fn full_copies_per_run_become_one_row_per_observation() {
        let mut conn = Connection::open_in_memory().expect("in-memory sqlite");
        for sql in &MIGRATIONS[..3] {
            conn.execute_batch(sql).expect("old schema");
        }
        set_version(&conn, 3).expect("version");
        let run = |id: i64, status: &str| {
            format!(
                "INSERT INTO scan_runs VALUES ({id}, 'inventory', 'inventory:crm', '{status}', \
                 '2026-06-01T00:00:00Z', '2026-06-01T00:00:00Z', 1, 0, 0, 0, '[]');"
            )
        };
        let ann = r#"{"name":"ann","kind":"user","enabled":true,"created_at":null,"last_used_at":null,"hints":{}}"#;
        let old = r#"{"name":"old","kind":"user","enabled":true,"created_at":null,"last_used_at":null,"hints":{}}"#;
        let row = |run: i64, name: &str, data: &str| {
            format!("INSERT INTO observations VALUES ({run}, 'account', '{name}', '{name}', 'user', 1, '{data}');")
        };
        conn.execute_batch(
            &[
                run(1, "complete"),
                row(1, "old", old),
                run(2, "complete"),
                row(2, "ann", ann),
                row(2, "ann", ann),
                run(3, "partial"),
                row(3, "new", ann),
            ]
            .concat(),
        )
        .expect("old rows");

        migrate(&mut conn, Path::new(":memory:")).expect("migrate");

        let obs = crate::store::observations::latest_complete(&conn, "inventory:crm")
            .expect("read")
            .expect("a complete run");
        let names: Vec<&str> = obs.accounts.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["ann"], "the latest complete run's rows, once");
        // (The digests schema 4 filled in went with schema 20: runs hash content as they read.)
    }

    /// Hashes written as hex text (and each row's previous hash) become the 32 bytes alone, on
    /// either backend, and the chain reads and verifies as before: no hash is made again.
    #[test]
    fn event_hashes_become_bytes_and_previous_hashes_are_read_from_the_row_before() {
        use crate::store::events::{self, GENESIS};
        for (_dir, at) in crate::store::testing::locations() {
            let mut conn = Connection::open(&at).expect("open");
            let before = MIGRATIONS
                .iter()
                .position(|m| m.contains(BINARY_HASHES))
                .expect("the migration");
            schema_of_version(&conn, before);
            let hashes = crate::store::seal::tests::plain_events(&conn, 3);

            migrate(&mut conn, &at).expect("migrate");

            let stored: Vec<(i64, i64)> = conn
                .prepare("SELECT length(hash), length(prev_hash) FROM finding_events ORDER BY seq")
                .expect("prepare")
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                .expect("query")
                .collect::<super::super::db::Result<_>>()
                .expect("rows");
            assert_eq!(stored, [(32, 0); 3], "bytes, and no previous hash");
            let listed = events::list(&conn, None).expect("list");
            let read: Vec<&str> = listed.iter().map(|e| e.hash.as_str()).collect();
            assert_eq!(read, hashes, "the same hashes");
            assert_eq!(listed[0].prev_hash, GENESIS);
            assert_eq!(listed[2].prev_hash, hashes[1]);
            let one = events::list(&conn, Some("f1")).expect("one finding");
            assert_eq!(one[1].prev_hash, hashes[0]);
            let walk = events::walk(&conn, None, None).expect("walk");
            assert!(walk.problems.is_empty(), "{:?}", walk.problems);
            assert_eq!(walk.plain, 3);
            assert_eq!(events::head(&conn).expect("head"), (3, hashes[2].clone()));
        }
    }

    /// Links move to numbers, codes and thousandths (on either backend), read back as they were,
    /// and a SQLite file whose rebuilt tables left a quarter of it free is compacted.
    #[test]
    fn links_move_to_system_numbers_and_the_upgraded_file_gives_back_its_space() {
        use crate::link::LinkMethod;
        for (_dir, at) in crate::store::testing::locations() {
            let mut conn = Connection::open(&at).expect("open");
            let before = MIGRATIONS
                .iter()
                .position(|m| m.contains(LINKS_BY_NUMBER))
                .expect("the migration");
            schema_of_version(&conn, before);
            conn.execute_batch(
                "INSERT INTO scan_runs (id, scanner, system, status, started_at, finished_at, accounts, \
                   credentials, grants, calls, errors) VALUES (1, 'inventory', 'inventory:crm', 'complete', \
                   '2026-06-01T00:00:00Z', '2026-06-01T00:00:00Z', 1, 0, 0, 0, '[]')",
            )
            .expect("run");
            let methods = [
                LinkMethod::Email,
                LinkMethod::UserName,
                LinkMethod::HrColumn,
            ];
            {
                let tx = conn.transaction().expect("tx");
                for i in 0..3000_i64 {
                    let method = methods[(i % 3) as usize];
                    tx.execute(
                        "INSERT INTO links (system, account, employee_id, method, confidence, run_id) \
                         VALUES (?1, ?2, ?3, ?4, ?5, 1)",
                        super::super::db::params![
                            if i % 2 == 0 { "inventory:crm" } else { "aws-iam:111111111111" },
                            format!("account-{i:05}-with-a-longer-name-than-most"),
                            format!("E{i:06}"),
                            method.as_str(),
                            method.confidence()
                        ],
                    )
                    .expect("old link");
                }
                tx.commit().expect("commit");
            }

            migrate(&mut conn, &at).expect("migrate");

            for (i, system) in [(0_i64, "inventory:crm"), (1, "aws-iam:111111111111")] {
                let account = format!("account-{i:05}-with-a-longer-name-than-most");
                let method = methods[i as usize];
                assert_eq!(
                    crate::store::links::of(&conn, system, &account).expect("read"),
                    Some((format!("E{i:06}"), method.confidence())),
                    "{system}"
                );
            }
            let count: i64 = conn
                .query_row("SELECT COUNT(*) FROM links", [], |r| r.get(0))
                .expect("count");
            assert_eq!(count, 3000);
            let unknown: i64 = conn
                .query_row("SELECT COUNT(*) FROM links WHERE method = 0", [], |r| {
                    r.get(0)
                })
                .expect("count");
            assert_eq!(unknown, 0, "every method has its code");
            if let Some(sqlite) = conn.sqlite() {
                let free: i64 = sqlite
                    .pragma_query_value(None, "freelist_count", |r| r.get(0))
                    .expect("freelist");
                assert_eq!(free, 0, "the upgraded file was compacted");
            }
        }
    }
}
