//! `observations` and `observation_changes`: what each system holds, stored as what changed.
//!
//! One row per thing a system holds — an account (its grants folded in), a credential, or a grant
//! of an account the scanner did not list — keyed by (system, type, account, subject, kind), with
//! the run that first saw it, the last run known to have seen it, the complete run that no longer
//! saw it (`gone_run`) and the content as last seen. Each run adds one
//! `observation_changes` row per observation that changed, went or came back after it went; a
//! change row keeps the content from before the change, so history reads back from the current
//! content. A first appearance has no row: `first_run` is it (a first sweep of a million accounts
//! would otherwise write a million rows that say only that).
//!
//! An observation still present (`gone_run` NULL) was seen by every complete run of its system
//! since it appeared — a complete run that missed it would have marked it gone — so a complete
//! sweep that finds everything unchanged writes nothing here. A partial run records what it saw
//! (new, changed, and `last_run` of what it saw unchanged) but never marks anything gone: what it
//! did not see proves nothing.

use super::db::{params, Connection, OptionalExtension, Transaction};
use super::observation_content::{self as content, Decoded, RowType};
use super::Result;
use residual_scanners::{
    ByAccount, Credential, CredentialKind, Grant, Observations, Prehashed, RunStatus,
};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

// Keys are hashes already ([`key_of`]): maps take them as they are.
type KeyMap<V> = HashMap<Key, V, BuildHasherDefault<Prehashed>>;
type KeySet = HashSet<Key, BuildHasherDefault<Prehashed>>;

/// The identity of an observation within its system, hashed to 128 bits ([`key_of`]) so that a
/// million of them cost a compact map rather than a million cloned strings; only in memory,
/// never stored. Two halves rather than a `u128`, whose 16-byte alignment would pad every entry
/// of a map of [`Known`] from 32 to 48 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key(u64, u64);

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Either half is a hash already; one is plenty to place it.
        state.write_u64(self.0);
    }
}

/// How many of each kind of change one run wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    pub appeared: usize,
    pub changed: usize,
    pub gone: usize,
}

/// One observation as a run presents it, before it is compared with what the store holds.
struct Row<'a> {
    row_type: RowType,
    account: &'a str,
    subject: &'a str,
    kind: &'static str,
    active: Option<i64>,
}

/// An observation the store holds for the system, by key: its id, and in one word the
/// [`content_hash`] of its stored content (61 bits of it), whether it is gone and what the run
/// being compared made of it. A comparing run holds one per observation: a million of them took
/// 100 MB at 48 bytes a map entry with their keys (and two sets of the run's own besides), 67
/// MB at 32.
struct Known {
    id: i64,
    word: u64,
}

/// What the run being compared made of an observation the store holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Seen {
    Not = 0,
    /// Seen with the content the store holds.
    Unchanged = 1,
    /// Seen changed, or back after it had gone: its row was written.
    Written = 2,
}

impl Known {
    const CONTENT: u64 = (1 << 61) - 1;
    const GONE: u64 = 1 << 61;
    const SEEN_SHIFT: u32 = 62;

    fn new(id: i64, content: u64, gone: bool) -> Known {
        let gone = if gone { Known::GONE } else { 0 };
        Known {
            id,
            word: (content & Known::CONTENT) | gone,
        }
    }

    /// Whether `content` (a [`content_hash`]) is the stored content's.
    fn holds(&self, content: u64) -> bool {
        self.word & Known::CONTENT == content & Known::CONTENT
    }

    fn gone(&self) -> bool {
        self.word & Known::GONE != 0
    }

    fn seen(&self) -> Seen {
        match self.word >> Known::SEEN_SHIFT {
            0 => Seen::Not,
            1 => Seen::Unchanged,
            _ => Seen::Written,
        }
    }

    fn see(&mut self, seen: Seen) {
        let rest = self.word & !(3 << Known::SEEN_SHIFT);
        self.word = rest | ((seen as u64) << Known::SEEN_SHIFT);
    }
}

/// The [`Key`] of an observation.
fn key_of(row_type: &str, account: &str, subject: &str, kind: &str) -> Key {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        (row_type, account, subject, kind).hash(&mut h);
        h.finish()
    };
    Key(half(1), half(2))
}

/// What a query selects for an observation's subject (of `observations` aliased `o`): an account
/// row's subject is its own name, stored empty (schema 14) and read from `account`.
const SUBJECT: &str = "CASE WHEN o.type = 1 THEN o.account ELSE o.subject END";

/// [`SUBJECT`] as the migrations that run before schema 21 read it, when `type` held the name.
const SUBJECT_BY_NAME: &str = "CASE WHEN o.type = 'account' THEN o.account ELSE o.subject END";

/// A row's type as read: its code (schema 21 and later; see [`RowType::code`]).
fn row_type(stored: super::db::ValueRef<'_>) -> Result<RowType> {
    Ok(RowType::from_code(stored.as_i64()?))
}

/// What the `subject` column holds for a row: nothing for an account (see [`SUBJECT`]).
fn stored_subject<'a>(row: &Row<'a>) -> &'a str {
    match row.row_type {
        RowType::Account => "",
        _ => row.subject,
    }
}

/// A hash of content, to tell whether a run's content is what the store holds without holding
/// that content in memory. Made afresh from the stored bytes whenever a run compares (schema 20
/// dropped the stored digest: 9 MB of a million accounts), so it need only be stable within
/// the process.
fn content_hash(data: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    data.hash(&mut h);
    h.finish()
}

/// The digest of stored content the `digest` column held (schemas 4 to 19): the first 8 bytes of
/// its SHA-256. Only the migrations that wrote that column use it.
fn digest_of(data: &[u8]) -> i64 {
    let d = Sha256::digest(data);
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    i64::from_be_bytes(first)
}

/// Computes the digests a migration could not (SQL has no SHA-256): rows moved over from a store
/// that kept full copies per run.
pub(super) fn fill_digests(tx: &Connection) -> Result<()> {
    // Collected first: updating rows under an open cursor over the same table is not defined.
    let mut digests: Vec<(String, i64, i64)> = Vec::new();
    {
        let mut select =
            tx.prepare("SELECT system, id, data FROM observations WHERE digest IS NULL")?;
        let mut rows = select.query([])?;
        while let Some(r) = rows.next()? {
            let digest = digest_of(r.get_ref(2)?.as_str()?.as_bytes());
            digests.push((r.get(0)?, r.get(1)?, digest));
        }
    }
    let mut update =
        tx.prepare("UPDATE observations SET digest = ?3 WHERE system = ?1 AND id = ?2")?;
    for (system, id, digest) in digests {
        update.execute(params![system, id, digest])?;
    }
    Ok(())
}

/// Everything the store holds for `system`, by key, and the highest id in use.
fn load_known(tx: &Transaction, system: i64) -> Result<(KeyMap<Known>, i64)> {
    let mut stmt = tx.prepare(&format!(
        "SELECT o.id, o.type, o.account, {SUBJECT}, o.kind, o.data, o.gone_run IS NOT NULL \
             FROM observations o WHERE o.system = ?1"
    ))?;
    let mut rows = stmt.query([system])?;
    let mut known = KeyMap::default();
    let mut max_id = 0;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        let key = key_of(
            row_type(r.get_ref(1)?)?.as_str(),
            r.get_ref(2)?.as_str()?,
            r.get_ref(3)?.as_str()?,
            r.get_ref(4)?.as_str()?,
        );
        known.insert(
            key,
            Known::new(id, content_hash(r.get_ref(5)?.as_bytes()?), r.get(6)?),
        );
        max_id = max_id.max(id);
    }
    Ok((known, max_id))
}

/// The statements one run's changes are written with.
struct Writer<'t> {
    /// The system's number (`store::systems`).
    system: i64,
    insert: super::db::Statement<'t>,
    update: super::db::Statement<'t>,
    reappear: super::db::Statement<'t>,
    seen: super::db::Statement<'t>,
    gone: super::db::Statement<'t>,
    change: super::db::Statement<'t>,
    change_keeping: super::db::Statement<'t>,
}

impl<'t> Writer<'t> {
    fn new(tx: &'t Transaction, system: i64) -> Result<Writer<'t>> {
        Ok(Writer {
            system,
            insert: tx.prepare(
                "INSERT INTO observations (system, id, type, account, subject, kind, active, \
                   first_run, last_run, gone_run, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, NULL, ?9)",
            )?,
            update: tx.prepare(
                "UPDATE observations SET active = ?3, data = ?4, last_run = ?5 \
                 WHERE system = ?1 AND id = ?2",
            )?,
            // `first_run` stays the run that first saw it: its first `appeared` is read from it.
            reappear: tx.prepare(
                "UPDATE observations SET active = ?3, data = ?4, last_run = ?5, \
                   gone_run = NULL WHERE system = ?1 AND id = ?2",
            )?,
            seen: tx.prepare("UPDATE observations SET last_run = ?3 WHERE system = ?1 AND id = ?2")?,
            // SQLite's two-argument MAX is PostgreSQL's GREATEST.
            gone: tx.prepare(if tx.is_postgres() {
                "UPDATE observations SET gone_run = ?3, last_run = GREATEST(last_run, ?4) \
                 WHERE system = ?1 AND id = ?2"
            } else {
                "UPDATE observations SET gone_run = ?3, last_run = MAX(last_run, ?4) \
                 WHERE system = ?1 AND id = ?2"
            })?,
            change: tx.prepare(
                "INSERT INTO observation_changes (run_id, observation, change, previous) VALUES (?1, ?2, ?3, NULL)",
            )?,
            change_keeping: tx.prepare(
                "INSERT INTO observation_changes (run_id, observation, change, previous) \
                 SELECT ?1, id, ?3, data FROM observations WHERE system = ?4 AND id = ?2",
            )?,
        })
    }
}

/// What recording a run's observations needs to know of the run.
#[derive(Debug, Clone, Copy)]
pub struct RunFacts<'a> {
    pub run_id: i64,
    pub status: RunStatus,
    /// The system's complete run before this one (the last run that saw what this run no longer
    /// sees).
    pub previous_complete: Option<i64>,
    /// The accounts a targeted run looked at; empty for a full sweep.
    pub targeted: &'a [&'a str],
    /// The digest of the input the run read whole (an export file), when it has one.
    pub input: Option<&'a str>,
}

/// The form observations take from an input: stored beside the input's digest, so that a
/// build that would translate the same input differently compares again. Change it when a
/// scanner's translation of the same input changes.
const FORM: &str = "compact-1";

/// What a run read, as the store remembers it: the digest of the input a complete full run
/// read whole, with the form and version that translated it; `None` for any other run.
pub(super) fn input_key(run: &RunFacts) -> Option<String> {
    let whole = run.status == RunStatus::Complete && run.targeted.is_empty();
    run.input
        .filter(|_| whole)
        .map(|digest| format!("{digest} {FORM} {}", env!("CARGO_PKG_VERSION")))
}

/// Compares what one run saw of `system` with what the store holds and writes the difference,
/// inside the run's transaction. A run targeted at some accounts marks gone only what those
/// accounts held: what it did not look at, it did not see go.
///
/// A complete full run of the very input the system's observations were last written from (the
/// same export file, by digest) holds what the store holds: it is not compared again, and
/// writes nothing, as the comparison would have found.
pub fn record(
    tx: &Transaction,
    system: &str,
    run: &RunFacts,
    obs: &Observations,
) -> Result<Changes> {
    let mut comparison = Comparison::begin(tx, system, run)?;
    comparison.batch(tx, obs)?;
    comparison.finish(tx, run)
}

/// One run's observations compared with what the store holds, batch by batch, inside the run's
/// transaction: [`begin`](Comparison::begin) reads what the store holds (a key and digest per
/// observation, not its content), each [`batch`](Comparison::batch) writes what appeared or
/// changed among the observations it is given, and [`finish`](Comparison::finish), once the
/// run's status is known, marks what a complete run did not see as gone (or, for any other run,
/// notes the run on what it saw unchanged). A run handed over in batches thus never holds all
/// its observations at once; [`record`] is the same with one batch.
///
/// A batch holds accounts with their grants (and credentials): a grant whose account is not in
/// its batch is taken as a grant of an account the scanner did not list.
pub struct Comparison {
    system: String,
    /// Its number, which the observations' rows hold (`store::systems`).
    system_id: i64,
    run_id: i64,
    /// The key the run's input would be stored under, were the run complete ([`input_key`]).
    expected_input: Option<String>,
    /// The store's observations of the system were last written from this very input: the
    /// batches are not compared (see [`record`]).
    same_input: bool,
    /// What the store holds, each marked with what this run made of it.
    known: KeyMap<Known>,
    max_id: i64,
    /// What this run saw that the store did not hold (to take the first of a key seen twice).
    new_keys: KeySet,
    changes: Changes,
    data: Vec<u8>,
}

impl Comparison {
    /// Starts comparing `run` of `system`, as far as it is known before its first batch (a
    /// run's status can only get worse by its end: a complete run may turn out partial).
    pub fn begin(tx: &Transaction, system: &str, run: &RunFacts) -> Result<Comparison> {
        let expected_input = input_key(run);
        let stored: Option<String> = tx
            .query_row(
                "SELECT input FROM observation_inputs WHERE system = ?1",
                [system],
                |r| r.get(0),
            )
            .optional()?;
        let same_input = expected_input.is_some() && stored == expected_input;
        let system_id = super::systems::id(tx, system)?;
        let (known, max_id) = if same_input {
            (KeyMap::default(), 0)
        } else {
            load_known(tx, system_id)?
        };
        Ok(Comparison {
            system: system.to_string(),
            system_id,
            run_id: run.run_id,
            expected_input,
            same_input,
            known,
            max_id,
            new_keys: KeySet::default(),
            changes: Changes::default(),
            data: Vec::with_capacity(1024),
        })
    }

    /// Compares the observations `obs` (the next batch of the run) and writes what appeared or
    /// changed.
    pub fn batch(&mut self, tx: &Transaction, obs: &Observations) -> Result<()> {
        if self.same_input {
            return Ok(());
        }
        let mut w = Writer::new(tx, self.system_id)?;
        let grants_of = ByAccount::new(&obs.grants, |g: &Grant| g.account.as_str());
        for a in &obs.accounts {
            let grants: Vec<&Grant> = grants_of.get(&a.name).collect();
            let mut data = std::mem::take(&mut self.data);
            data.clear();
            content::encode_account(a, &grants, &mut data)?;
            let row = Row {
                row_type: RowType::Account,
                account: &a.name,
                subject: &a.name,
                kind: a.kind.as_str(),
                active: a.enabled.map(i64::from),
            };
            let put = self.put(&mut w, row, &data);
            self.data = data;
            put?;
        }
        for c in &obs.credentials {
            let mut data = std::mem::take(&mut self.data);
            data.clear();
            content::encode_credential(c, &mut data)?;
            let row = Row {
                row_type: RowType::Credential,
                account: &c.account,
                subject: &c.id,
                kind: c.kind.as_str(),
                active: Some(i64::from(c.active)),
            };
            let put = self.put(&mut w, row, &data);
            self.data = data;
            put?;
        }
        let listed: HashSet<&str> = obs.accounts.iter().map(|a| a.name.as_str()).collect();
        for g in grants_of.orphans(&listed) {
            let mut data = std::mem::take(&mut self.data);
            data.clear();
            content::encode_grant(g, &mut data)?;
            let row = Row {
                row_type: RowType::Grant,
                account: &g.account,
                subject: &g.target,
                kind: g.kind.as_str(),
                active: None,
            };
            let put = self.put(&mut w, row, &data);
            self.data = data;
            put?;
        }
        Ok(())
    }

    /// Compares one observation with what the store holds of it and writes the difference.
    fn put(&mut self, w: &mut Writer, row: Row, data: &[u8]) -> Result<()> {
        let key = key_of(row.row_type.as_str(), row.account, row.subject, row.kind);
        let run_id = self.run_id;
        match self.known.get_mut(&key) {
            // The same observation twice in one run: the first one stands.
            Some(k) if k.seen() != Seen::Not => {}
            None if !self.new_keys.insert(key) => {}
            None => {
                self.max_id += 1;
                w.insert.execute(params![
                    w.system,
                    self.max_id,
                    row.row_type.code(),
                    row.account,
                    stored_subject(&row),
                    row.kind,
                    row.active,
                    run_id,
                    data
                ])?;
                // No change row: `first_run` says when it appeared (see `changes_of_run`).
                self.changes.appeared += 1;
            }
            Some(k) if k.gone() => {
                k.see(Seen::Written);
                w.change_keeping
                    .execute(params![run_id, k.id, "appeared", w.system])?;
                w.reappear
                    .execute(params![w.system, k.id, row.active, data, run_id])?;
                self.changes.appeared += 1;
            }
            Some(k) if !k.holds(content_hash(data)) => {
                k.see(Seen::Written);
                w.change_keeping
                    .execute(params![run_id, k.id, "changed", w.system])?;
                w.update
                    .execute(params![w.system, k.id, row.active, data, run_id])?;
                self.changes.changed += 1;
            }
            Some(k) => k.see(Seen::Unchanged),
        }
        Ok(())
    }

    /// Ends the comparison of `run` (its status now final): a complete run marks gone what it
    /// did not see, any other notes itself on what it saw unchanged; then the input the system's
    /// observations were written from is remembered (or forgotten).
    pub fn finish(mut self, tx: &Transaction, run: &RunFacts) -> Result<Changes> {
        let input = input_key(run);
        if self.same_input {
            if input.is_some() && input == self.expected_input {
                return Ok(Changes::default());
            }
            // The same input, in a run that is not complete after all: it saw everything the
            // store holds as present, unchanged.
            tx.execute(
                "UPDATE observations SET last_run = ?2 WHERE system = ?1 AND gone_run IS NULL",
                params![self.system_id, run.run_id],
            )?;
        } else {
            let mut w = Writer::new(tx, self.system_id)?;
            if run.status == RunStatus::Complete {
                self.mark_gone(tx, &mut w, run)?;
            } else {
                let mut seen: Vec<i64> = self
                    .known
                    .values()
                    .filter(|k| k.seen() == Seen::Unchanged)
                    .map(|k| k.id)
                    .collect();
                seen.sort_unstable();
                for id in seen {
                    w.seen.execute(params![w.system, id, run.run_id])?;
                }
            }
        }
        match input {
            Some(input) => tx.execute(
                "INSERT INTO observation_inputs (system, input) VALUES (?1, ?2) \
                 ON CONFLICT(system) DO UPDATE SET input = excluded.input",
                params![self.system, input],
            )?,
            // Anything else may have changed what the system's observations say of their input.
            None => tx.execute(
                "DELETE FROM observation_inputs WHERE system = ?1",
                [&self.system],
            )?,
        };
        Ok(self.changes)
    }

    /// Marks gone what the complete `run` did not see (of the accounts it looked at, when
    /// targeted).
    fn mark_gone(&mut self, tx: &Transaction, w: &mut Writer, run: &RunFacts) -> Result<()> {
        let mut known = std::mem::take(&mut self.known);
        known.retain(|_, k| !k.gone() && k.seen() == Seen::Not);
        if !run.targeted.is_empty() {
            let scope = keys_of_accounts(tx, self.system_id, run.targeted)?;
            known.retain(|key, _| scope.contains(key));
        }
        let mut gone: Vec<i64> = known.values().map(|k| k.id).collect();
        gone.sort_unstable();
        for id in gone {
            w.gone
                .execute(params![w.system, id, run.run_id, run.previous_complete])?;
            w.change.execute(params![run.run_id, id, "gone"])?;
            self.changes.gone += 1;
        }
        Ok(())
    }
}

/// The keys of what `accounts` hold in `system` (present or gone).
fn keys_of_accounts(tx: &Transaction, system: i64, accounts: &[&str]) -> Result<KeySet> {
    let mut stmt = tx.prepare(&format!(
        "SELECT o.type, o.account, {SUBJECT}, o.kind FROM observations o \
             WHERE o.system = ?1 AND o.account = ?2"
    ))?;
    let mut keys = KeySet::default();
    for account in accounts {
        let mut rows = stmt.query(params![system, account])?;
        while let Some(r) = rows.next()? {
            keys.insert(key_of(
                row_type(r.get_ref(0)?)?.as_str(),
                r.get_ref(1)?.as_str()?,
                r.get_ref(2)?.as_str()?,
                r.get_ref(3)?.as_str()?,
            ));
        }
    }
    Ok(keys)
}

/// Drops the history of `system` from before run `cutoff`: change rows of earlier runs and
/// observations that were already gone by then.
pub fn prune(tx: &Transaction, system: &str, cutoff: i64) -> Result<()> {
    tx.execute(
        "DELETE FROM observation_changes WHERE run_id IN \
           (SELECT id FROM scan_runs WHERE system = ?1 AND id < ?2)",
        params![system, cutoff],
    )?;
    tx.execute(
        "DELETE FROM observations WHERE system = (SELECT id FROM systems WHERE name = ?1) \
           AND gone_run < ?2",
        params![system, cutoff],
    )?;
    Ok(())
}

/// Credentials of `kind` with id `id` that systems of `scanner` hold now — seen by their latest
/// complete run, or by a later partial one, and not gone since — with the time that complete run
/// finished: what liveness checks (is this leaked key still active?) are answered from. Systems
/// without a complete run are not asked.
pub fn latest_credentials(
    conn: &Connection,
    scanner: &str,
    kind: CredentialKind,
    id: &str,
) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>, Credential)>> {
    let mut stmt = conn.prepare(
        "SELECT s.name, r.finished_at, o.account, o.subject, o.data FROM observations o \
         JOIN systems s ON s.id = o.system \
         JOIN scan_runs r ON r.id = (SELECT MAX(id) FROM scan_runs \
             WHERE system = s.name AND scanner = ?1 AND status = 'complete' AND targeted IS NULL) \
         WHERE o.type = 2 AND o.kind = ?2 AND o.subject = ?3 AND o.gone_run IS NULL",
    )?;
    let mut rows = stmt.query(params![scanner, kind.as_str(), id])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let system: String = r.get(0)?;
        let finished: String = r.get(1)?;
        let finished = residual_scanners::time::parse_time(&finished).unwrap_or_default();
        let decoded = content::decode(
            RowType::Credential,
            r.get_ref(2)?.as_str()?,
            r.get_ref(3)?.as_str()?,
            kind.as_str(),
            r.get_ref(4)?.as_bytes()?,
        )?;
        if let Decoded::Credential(c) = decoded {
            out.push((system, finished, c));
        }
    }
    Ok(out)
}

/// What `system` holds as of its latest complete run (and any partial run since), or `None`
/// before its first complete run: what an incremental run (which reads only new objects) adds to.
pub fn latest_complete(conn: &Connection, system: &str) -> Result<Option<Observations>> {
    let complete: Option<i64> = conn
        .query_row(
            "SELECT id FROM scan_runs WHERE system = ?1 AND status = 'complete' AND targeted IS NULL LIMIT 1",
            [system],
            |r| r.get(0),
        )
        .optional()?;
    if complete.is_none() {
        return Ok(None);
    }
    let mut obs = Observations::default();
    // A complete run that saw nothing may have left the system no number, and no rows.
    let Some(system) = super::systems::find(conn, system)? else {
        return Ok(Some(obs));
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT o.type, o.account, {SUBJECT}, o.data, o.kind FROM observations o \
             WHERE o.system = ?1 AND o.gone_run IS NULL ORDER BY o.id"
    ))?;
    let mut rows = stmt.query([system])?;
    while let Some(r) = rows.next()? {
        let decoded = content::decode(
            row_type(r.get_ref(0)?)?,
            r.get_ref(1)?.as_str()?,
            r.get_ref(2)?.as_str()?,
            r.get_ref(4)?.as_str()?,
            r.get_ref(3)?.as_bytes()?,
        )?;
        match decoded {
            Decoded::Account(a, grants) => {
                obs.grants.extend(grants);
                obs.accounts.push(a);
            }
            Decoded::Credential(c) => obs.credentials.push(c),
            Decoded::Grant(g) => obs.grants.push(g),
        }
    }
    Ok(Some(obs))
}

/// One change a run made to what a system holds, as history reads it back.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    pub run_id: i64,
    /// `account`, `credential` or `grant`.
    pub observation_type: String,
    pub account: String,
    pub subject: String,
    pub kind: String,
    /// `appeared`, `changed` or `gone`.
    pub change: String,
    /// The content before the change (JSON), where there was one.
    pub previous: Option<String>,
    /// The content now (JSON): as last seen, for one that is gone.
    pub current: String,
}

/// The changes run `run_id` made, in the order of the observations they concern: its change
/// rows, and an `appeared` for each observation whose `first_run` it is — unless the run is older
/// than the history [`prune`] keeps (whose cutoff only moves forward, so the one read here is the
/// one the last prune used). Reads every observation of the run's system: for history, not a hot
/// path.
pub fn changes_of_run(conn: &Connection, run_id: i64) -> Result<Vec<Change>> {
    let system: Option<String> = conn
        .query_row(
            "SELECT system FROM scan_runs WHERE id = ?1",
            [run_id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(system) = system else {
        return Ok(Vec::new());
    };
    let kept_from = super::runs::history_cutoff(conn, &system)?.unwrap_or(0);
    let mut stmt = conn.prepare(
        &format!(
            "SELECT c.run_id, o.type, o.account, {SUBJECT}, o.kind, c.change, c.previous, o.data, o.id \
             FROM observation_changes c JOIN observations o \
               ON o.system = (SELECT id FROM systems WHERE name = ?2) AND o.id = c.observation \
             WHERE c.run_id = ?1 \
             UNION ALL \
             SELECT o.first_run, o.type, o.account, {SUBJECT}, o.kind, 'appeared', NULL, o.data, o.id \
             FROM observations o WHERE o.system = (SELECT id FROM systems WHERE name = ?2) \
               AND o.first_run = ?1 AND ?1 >= ?3 \
               AND NOT EXISTS (SELECT 1 FROM observation_changes c WHERE c.run_id = ?1 AND c.observation = o.id) \
             ORDER BY 9"
        ),
    )?;
    let rows = stmt.query_map(params![run_id, system, kept_from], |r| {
        let shape = RowType::from_code(r.get(1)?);
        let row_type = shape.as_str().to_string();
        let account: String = r.get(2)?;
        let subject: String = r.get(3)?;
        let kind: String = r.get(4)?;
        let full = |data: Vec<u8>| content::to_full_json(shape, &account, &subject, &kind, &data);
        let previous: Option<Vec<u8>> = r.get(6)?;
        let current: Vec<u8> = r.get(7)?;
        Ok(Change {
            run_id: r.get(0)?,
            observation_type: row_type.clone(),
            previous: previous.map(full),
            current: full(current),
            account: account.clone(),
            subject: subject.clone(),
            kind: kind.clone(),
            change: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

/// A row's system as the schema a migration runs at keeps it: by name before schema 17, by
/// number since.
enum SystemKey {
    Name(String),
    Number(i64),
}

/// Rewrites content stored in an older form (whole JSON, schema 10 and older; compact JSON,
/// schemas 11 and 12; an account's kind in its content, schemas 11 to 18) in the current one,
/// with its digest, so that the next run compares like with like (a migration: SQL cannot
/// parse it). `by_number`: the schema names systems by number (17 and later). Each runs before
/// schema 20, with the `digest` column still there to keep in step, and before 21 (`type`
/// holds the name).
pub(super) fn recode_content(tx: &Connection, by_number: bool) -> Result<()> {
    // Collected first: updating rows under an open cursor over the same table is not defined.
    let mut rewritten: Vec<(SystemKey, i64, Vec<u8>, i64)> = Vec::new();
    {
        let mut select = tx.prepare(&format!(
            "SELECT o.system, o.id, o.type, o.account, {SUBJECT_BY_NAME}, o.data, o.kind FROM observations o"
        ))?;
        let mut rows = select.query([])?;
        while let Some(r) = rows.next()? {
            let Some(current) = recoded(
                r.get_ref(2)?.as_str()?,
                r.get_ref(3)?.as_str()?,
                r.get_ref(4)?.as_str()?,
                r.get_ref(6)?.as_str()?,
                r.get_ref(5)?.as_bytes()?,
            ) else {
                continue;
            };
            let digest = digest_of(&current);
            let system = match by_number {
                true => SystemKey::Number(r.get(0)?),
                false => SystemKey::Name(r.get(0)?),
            };
            rewritten.push((system, r.get(1)?, current, digest));
        }
    }
    let mut update =
        tx.prepare("UPDATE observations SET data = ?3, digest = ?4 WHERE system = ?1 AND id = ?2")?;
    for (system, id, data, digest) in rewritten {
        match system {
            SystemKey::Number(n) => update.execute(params![n, id, data, digest])?,
            SystemKey::Name(name) => update.execute(params![name, id, data, digest])?,
        };
    }
    let mut previous: Vec<(i64, i64, Vec<u8>)> = Vec::new();
    {
        let system_of_run = match by_number {
            true => "(SELECT s.id FROM systems s WHERE s.name = r.system)",
            false => "r.system",
        };
        let mut select = tx.prepare(&format!(
            "SELECT c.run_id, c.observation, o.type, o.account, {SUBJECT_BY_NAME}, c.previous, o.kind \
                 FROM observation_changes c JOIN scan_runs r ON r.id = c.run_id \
                 JOIN observations o ON o.system = {system_of_run} AND o.id = c.observation \
                 WHERE c.previous IS NOT NULL"
        ))?;
        let mut rows = select.query([])?;
        while let Some(r) = rows.next()? {
            if let Some(current) = recoded(
                r.get_ref(2)?.as_str()?,
                r.get_ref(3)?.as_str()?,
                r.get_ref(4)?.as_str()?,
                r.get_ref(6)?.as_str()?,
                r.get_ref(5)?.as_bytes()?,
            ) {
                previous.push((r.get(0)?, r.get(1)?, current));
            }
        }
    }
    let mut update = tx.prepare(
        "UPDATE observation_changes SET previous = ?3 WHERE run_id = ?1 AND observation = ?2",
    )?;
    for (run, observation, data) in previous {
        update.execute(params![run, observation, data])?;
    }
    Ok(())
}

/// `data` in the current form, when it was stored otherwise and reads back (content that does
/// not is left as it is: it is shown as stored).
fn recoded(
    row_type: &str,
    account: &str,
    subject: &str,
    kind: &str,
    data: &[u8],
) -> Option<Vec<u8>> {
    let decoded = content::decode(RowType::parse(row_type), account, subject, kind, data).ok()?;
    let mut out = Vec::with_capacity(data.len());
    content::encode(&decoded, &mut out).ok()?;
    (out != data).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use residual_scanners::{Account, AccountKind, GrantKind, IdentityHints, ScanReport};

    #[test]
    fn a_known_observation_keeps_its_content_its_going_and_its_sighting_apart() {
        let mut k = Known::new(7, u64::MAX, true);
        assert!(k.gone() && k.holds(u64::MAX) && k.seen() == Seen::Not);
        k.see(Seen::Written);
        assert!(k.gone() && k.holds(u64::MAX) && k.seen() == Seen::Written);
        k.see(Seen::Unchanged);
        assert!(k.gone() && k.holds(u64::MAX) && k.seen() == Seen::Unchanged);
        let k = Known::new(8, 5, false);
        assert!(!k.gone() && k.holds(5) && !k.holds(6) && k.seen() == Seen::Not);
        // What the packing is for: a map entry of a million.
        assert_eq!(std::mem::size_of::<(Key, Known)>(), 32);
    }

    fn account(name: &str, enabled: bool) -> Account {
        Account {
            name: name.into(),
            kind: AccountKind::User,
            enabled: Some(enabled),
            created_at: None,
            last_used_at: None,
            hints: IdentityHints::default(),
            attributes: Default::default(),
        }
    }

    fn report(status: RunStatus, accounts: &[Account]) -> ScanReport {
        let now = chrono::Utc::now();
        ScanReport {
            scanner: "inventory".into(),
            system: "inventory:crm".into(),
            input_digest: None,
            status,
            started_at: now,
            finished_at: now,
            observations: Observations {
                grants: accounts
                    .iter()
                    .map(|a| Grant {
                        account: a.name.clone(),
                        kind: GrantKind::Group,
                        target: "vpn".into(),
                        attributes: Default::default(),
                        facets: Default::default(),
                    })
                    .collect(),
                accounts: accounts.to_vec(),
                credentials: Vec::new(),
            },
            errors: Vec::new(),
            coverage: Vec::new(),
            calls: 0,
        }
    }

    /// Records one run the way a scan does (run row, then observations) and returns its id and
    /// what changed.
    fn run(store: &mut Store, r: &ScanReport) -> (i64, Changes) {
        let tx = store.transaction().expect("tx");
        let id = crate::store::runs::finish(&tx, None, r, chrono::Utc::now()).expect("run");
        let previous = crate::store::runs::previous_complete(&tx, &r.system, id).expect("prev");
        let targeted = residual_scanners::coverage::targeted_accounts(&r.coverage);
        let facts = RunFacts {
            run_id: id,
            status: r.status,
            previous_complete: previous,
            targeted: &targeted,
            input: r.input_digest.as_deref(),
        };
        let changes = record(&tx, &r.system, &facts, &r.observations).expect("record");
        tx.commit().expect("commit");
        (id, changes)
    }

    fn count(store: &Store, sql: &str) -> i64 {
        store
            .conn()
            .query_row(sql, [], |r| r.get(0))
            .expect("count")
    }

    /// A store whose observations were written whole (schema 10 and older) is migrated to the
    /// compact form, and a run that sees the same things again records no change.
    #[test]
    fn content_stored_whole_is_compacted_and_the_next_run_sees_it_unchanged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("old.db");
        let seen = [account("ann", true)];
        let old = report(RunStatus::Complete, &seen);
        {
            let conn = Connection::open(&path).expect("open");
            crate::store::migrations::schema_before_compact_content(&conn);
            conn.execute(
                "INSERT INTO scan_runs (id, scanner, system, status, started_at, finished_at, accounts, \
                   credentials, grants, calls, errors) VALUES (1, 'inventory', 'inventory:crm', 'complete', \
                   '2026-06-01T00:00:00Z', '2026-06-01T00:00:00Z', 1, 0, 1, 0, '[]')",
                [],
            )
            .expect("run");
            // As schema 10 wrote it: the account's fields in order, its grants folded in.
            let account = serde_json::to_string(&seen[0]).expect("json");
            let grants = serde_json::to_string(&old.observations.grants).expect("grants");
            let whole = format!("{},\"grants\":{grants}}}", &account[..account.len() - 1]);
            conn.execute(
                "INSERT INTO observations (system, id, type, account, subject, kind, active, digest, \
                   first_run, last_run, gone_run, data) \
                 VALUES ('inventory:crm', 1, 'account', 'ann', 'ann', 'user', 1, ?1, 1, 1, NULL, ?2)",
                params![digest_of(whole.as_bytes()), whole],
            )
            .expect("observation");
        }
        let mut store = Store::open(&path).expect("migrated");
        let stored: Vec<u8> = store
            .conn()
            .query_row("SELECT data FROM observations", [], |r| r.get(0))
            .expect("data");
        assert_ne!(stored.first(), Some(&b'{'), "rewritten in the current form");
        let (_, changes) = run(&mut store, &old);
        assert_eq!(changes, Changes::default());
        let latest = latest_complete(store.conn(), "inventory:crm")
            .expect("latest")
            .expect("a complete run");
        assert_eq!(latest, old.observations);
    }

    /// A store of schema 12 (content as compact JSON) has its content and the content its
    /// change rows kept rewritten as MessagePack: history reads as before, and a run that sees
    /// the same things again records no change.
    #[test]
    fn compact_json_content_is_recoded_and_the_next_run_sees_it_unchanged() {
        for (_dir, path) in crate::store::testing::locations() {
            compact_json_content_is_recoded_on(&path);
        }
    }

    fn compact_json_content_is_recoded_on(path: &std::path::Path) {
        let now = report(RunStatus::Complete, &[account("ann", false)]);
        {
            let conn = Connection::open(path).expect("open");
            crate::store::migrations::schema_of_version(&conn, 12);
            // Runs 1 and 2 (ids left to each backend, which counts from 1).
            for _ in [1, 2] {
                conn.execute(
                    "INSERT INTO scan_runs (scanner, system, status, started_at, finished_at, accounts, \
                       credentials, grants, calls, errors) VALUES ('inventory', 'inventory:crm', 'complete', \
                       '2026-06-01T00:00:00Z', '2026-06-01T00:00:00Z', 1, 0, 1, 0, '[]')",
                    [],
                )
                .expect("run");
            }
            // As schema 12 wrote them: ann was enabled in run 1 and disabled in run 2.
            let before = r#"{"k":"user","e":true,"g":["vpn"]}"#;
            let after = r#"{"k":"user","e":false,"g":["vpn"]}"#;
            conn.execute(
                "INSERT INTO observations (system, id, type, account, subject, kind, active, digest, \
                   first_run, last_run, gone_run, data) \
                 VALUES ('inventory:crm', 1, 'account', 'ann', 'ann', 'user', 0, ?1, 1, 2, NULL, ?2)",
                params![digest_of(after.as_bytes()), after],
            )
            .expect("observation");
            conn.execute(
                "INSERT INTO observation_changes (run_id, observation, change, previous) \
                 VALUES (2, 1, 'changed', ?1)",
                [before],
            )
            .expect("change");
        }
        let mut store = Store::open(path).expect("migrated");
        for sql in [
            "SELECT data FROM observations",
            "SELECT previous FROM observation_changes",
        ] {
            let stored: Vec<u8> = store
                .conn()
                .query_row(sql, [], |r| r.get(0))
                .expect("content");
            assert_ne!(
                stored.first(),
                Some(&b'{'),
                "{sql}: rewritten as MessagePack"
            );
        }
        let history = changes_of_run(store.conn(), 2).expect("history");
        assert_eq!(history.len(), 1, "{history:#?}");
        assert_eq!(history[0].change, "changed");
        let previous = history[0].previous.as_deref().unwrap_or("");
        assert!(previous.contains("\"enabled\":true"), "{previous}");
        assert!(history[0].current.contains("\"enabled\":false"));
        // Schema 14: the account's name is kept once.
        assert_eq!(history[0].subject, "ann");
        let subject: String = store
            .conn()
            .query_row("SELECT subject FROM observations", [], |r| r.get(0))
            .expect("subject");
        assert_eq!(subject, "");
        let (_, changes) = run(&mut store, &now);
        assert_eq!(changes, Changes::default());
    }

    /// An account's content that still holds its kind (schemas 11 to 18) loses it to the row's
    /// `kind` column on either backend, reads back the same, and the next run of the same
    /// account records no change (the digest was rewritten with the content).
    #[test]
    fn an_accounts_kind_moves_out_of_its_content() {
        for (_dir, path) in crate::store::testing::locations() {
            {
                let conn = Connection::open(&path).expect("open");
                crate::store::migrations::schema_of_version(&conn, 18);
                conn.execute(
                    "INSERT INTO scan_runs (scanner, system, status, started_at, finished_at, accounts, \
                       credentials, grants, calls, errors) VALUES ('inventory', 'inventory:crm', 'complete', \
                       '2026-06-01T00:00:00Z', '2026-06-01T00:00:00Z', 1, 0, 1, 0, '[]')",
                    [],
                )
                .expect("run");
                conn.execute("INSERT INTO systems (name) VALUES ('inventory:crm')", [])
                    .expect("system");
                let old = rmp_serde::to_vec_named(
                    &serde_json::json!({"k": "service", "e": false, "g": ["vpn"]}),
                )
                .expect("MessagePack");
                conn.execute(
                    "INSERT INTO observations (system, id, type, account, subject, kind, active, digest, \
                       first_run, last_run, gone_run, data) \
                     VALUES ((SELECT id FROM systems), 1, 'account', 'ann', '', 'service', 0, ?1, 1, 1, NULL, ?2)",
                    params![digest_of(&old), old],
                )
                .expect("observation");
            }
            let mut store = Store::open(&path).expect("migrated");
            let stored: Vec<u8> = store
                .conn()
                .query_row("SELECT data FROM observations", [], |r| r.get(0))
                .expect("content");
            let top: serde_json::Value = rmp_serde::from_slice(&stored).expect("MessagePack");
            assert!(top.get("k").is_none(), "{top}");
            let obs = latest_complete(store.conn(), "inventory:crm")
                .expect("read")
                .expect("a complete run");
            assert_eq!(obs.accounts[0].kind, AccountKind::Service);
            let mut ann = account("ann", false);
            ann.kind = AccountKind::Service;
            let (_, changes) = run(&mut store, &report(RunStatus::Complete, &[ann]));
            assert_eq!(changes, Changes::default());
        }
    }

    /// A complete run of the same export (by digest) as the one the system's observations were
    /// last written from is not compared again; another export, or a partial run in between,
    /// is.
    #[test]
    fn a_complete_run_of_the_same_input_is_not_compared_again() {
        for (_dir, mut store) in crate::store::testing::stores() {
            let seen = [account("ann", true)];
            let of = |input: &str, status: RunStatus| ScanReport {
                input_digest: Some(input.to_string()),
                ..report(status, &seen)
            };
            run(&mut store, &of("sha256:a", RunStatus::Complete));
            // What only a comparison would notice: the row is gone from the store.
            store
                .conn()
                .execute("DELETE FROM observations", [])
                .expect("delete");
            let (_, same) = run(&mut store, &of("sha256:a", RunStatus::Complete));
            assert_eq!(same, Changes::default(), "the same input is not compared");
            assert_eq!(count(&store, "SELECT COUNT(*) FROM observations"), 0);
            let (_, other) = run(&mut store, &of("sha256:b", RunStatus::Complete));
            assert_eq!(other.appeared, 1, "another input is compared");
            store
                .conn()
                .execute("DELETE FROM observations", [])
                .expect("delete");
            run(&mut store, &of("sha256:b", RunStatus::Partial));
            store
                .conn()
                .execute("DELETE FROM observations", [])
                .expect("delete");
            let (_, after_partial) = run(&mut store, &of("sha256:b", RunStatus::Complete));
            assert_eq!(
                after_partial.appeared, 1,
                "after a partial run, the same input is compared again"
            );
        }
    }

    #[test]
    fn an_unchanged_complete_run_writes_nothing() {
        for (_dir, mut store) in crate::store::testing::stores() {
            let seen = [account("ann", true), account("ben", true)];
            let (_, first) = run(&mut store, &report(RunStatus::Complete, &seen));
            assert_eq!(first.appeared, 2);
            let (second_id, second) = run(&mut store, &report(RunStatus::Complete, &seen));
            assert_eq!(second, Changes::default());
            assert!(changes_of_run(store.conn(), second_id)
                .expect("history")
                .is_empty());
            assert_eq!(count(&store, "SELECT COUNT(*) FROM observations"), 2);
        }
    }

    /// An account row keeps its name once (in `account`; its `subject` column is empty) and
    /// reads back, compares and shows in history as before.
    #[test]
    fn an_account_row_keeps_its_name_once() {
        for (_dir, mut store) in crate::store::testing::stores() {
            let (first_id, _) = run(
                &mut store,
                &report(RunStatus::Complete, &[account("ann", true)]),
            );
            assert_eq!(
                count(
                    &store,
                    "SELECT COUNT(*) FROM observations WHERE type = 1 AND subject = ''"
                ),
                1
            );
            let appeared = changes_of_run(store.conn(), first_id).expect("history");
            assert_eq!(
                (appeared[0].account.as_str(), appeared[0].subject.as_str()),
                ("ann", "ann")
            );
            let (second_id, changes) = run(
                &mut store,
                &report(RunStatus::Complete, &[account("ann", false)]),
            );
            assert_eq!((changes.changed, changes.appeared, changes.gone), (1, 0, 0));
            let changed = changes_of_run(store.conn(), second_id).expect("history");
            assert_eq!(changed[0].subject, "ann");
            let held = latest_complete(store.conn(), "inventory:crm")
                .expect("latest")
                .expect("some");
            assert_eq!(held.accounts[0].name, "ann");
        }
    }

    #[test]
    fn a_targeted_run_marks_gone_only_what_its_accounts_held_and_is_never_the_latest_complete() {
        for (_dir, mut store) in crate::store::testing::stores() {
            let both = [account("ann", true), account("ben", true)];
            let (full, _) = run(&mut store, &report(RunStatus::Complete, &both));
            // Targeted at ann and cat, seeing neither: ann's account went, ben's is not looked at.
            let mut targeted = report(RunStatus::Complete, &[]);
            targeted.coverage = residual_scanners::coverage::units(
                &["targeted:ann".to_string(), "targeted:cat".into()],
                &[],
            );
            let (targeted_id, changes) = run(&mut store, &targeted);
            assert_eq!(changes.gone, 1, "{changes:?}");
            let gone = changes_of_run(store.conn(), targeted_id).expect("history");
            assert_eq!(gone[0].account, "ann");
            assert_eq!(
                count(
                    &store,
                    "SELECT COUNT(*) FROM observations WHERE gone_run IS NULL"
                ),
                1,
                "ben is still held"
            );
            let later = targeted_id + 1;
            let previous =
                crate::store::runs::previous_complete(store.conn(), "inventory:crm", later)
                    .expect("previous");
            assert_eq!(
                previous,
                Some(full),
                "a targeted run is not the latest complete"
            );
        }
    }

    #[test]
    fn changes_read_back_with_the_content_before_them() {
        for (_dir, mut store) in crate::store::testing::stores() {
            run(
                &mut store,
                &report(
                    RunStatus::Complete,
                    &[account("ann", true), account("ben", true)],
                ),
            );
            let (id, changes) = run(
                &mut store,
                &report(
                    RunStatus::Complete,
                    &[account("ann", false), account("cat", true)],
                ),
            );
            assert_eq!(
                changes,
                Changes {
                    appeared: 1,
                    changed: 1,
                    gone: 1
                }
            );
            let history = changes_of_run(store.conn(), id).expect("history");
            let of = |subject: &str| {
                history
                    .iter()
                    .find(|c| c.subject == subject)
                    .unwrap_or_else(|| panic!("no change of {subject}: {history:#?}"))
            };
            assert_eq!(of("ann").change, "changed");
            assert!(of("ann")
                .previous
                .as_deref()
                .unwrap_or("")
                .contains("\"enabled\":true"));
            assert!(of("ann").current.contains("\"enabled\":false"));
            assert_eq!(of("ben").change, "gone");
            assert_eq!(of("cat").change, "appeared");
            let latest = latest_complete(store.conn(), "inventory:crm")
                .expect("latest")
                .expect("a complete run");
            let names: Vec<&str> = latest.accounts.iter().map(|a| a.name.as_str()).collect();
            assert_eq!(names, ["ann", "cat"]);
            assert_eq!(
                latest.grants.len(),
                2,
                "grants fold back out of their accounts"
            );
        }
    }

    /// A first sweep writes no change rows: what appeared is read back from `first_run`, in
    /// the order of the observations, beside the rows a later run writes.
    #[test]
    fn a_first_appearance_writes_no_change_row_and_reads_back_from_first_run() {
        for (_dir, mut store) in crate::store::testing::stores() {
            let (first, changes) = run(
                &mut store,
                &report(
                    RunStatus::Complete,
                    &[account("ann", true), account("ben", true)],
                ),
            );
            assert_eq!(changes.appeared, 2);
            assert_eq!(count(&store, "SELECT COUNT(*) FROM observation_changes"), 0);
            let (second, _) = run(
                &mut store,
                &report(
                    RunStatus::Complete,
                    &[account("ann", false), account("cat", true)],
                ),
            );
            assert_eq!(
                count(&store, "SELECT COUNT(*) FROM observation_changes"),
                2,
                "ann changed, ben went; cat's appearance is its first_run"
            );
            let history = |id| {
                changes_of_run(store.conn(), id)
                    .expect("history")
                    .into_iter()
                    .map(|c| format!("{} {}", c.subject, c.change))
                    .collect::<Vec<_>>()
            };
            assert_eq!(history(first), ["ann appeared", "ben appeared"]);
            assert_eq!(history(second), ["ann changed", "ben gone", "cat appeared"]);
            assert!(history(second + 1).is_empty(), "no such run");
        }
    }

    #[test]
    fn a_partial_run_records_what_it_saw_and_marks_nothing_gone() {
        for (_dir, mut store) in crate::store::testing::stores() {
            run(
                &mut store,
                &report(
                    RunStatus::Complete,
                    &[account("ann", true), account("ben", true)],
                ),
            );
            let (partial, changes) = run(
                &mut store,
                &report(
                    RunStatus::Partial,
                    &[account("ben", true), account("cat", true)],
                ),
            );
            assert_eq!(
                changes,
                Changes {
                    appeared: 1,
                    changed: 0,
                    gone: 0
                }
            );
            assert_eq!(
                count(
                    &store,
                    "SELECT COUNT(*) FROM observations WHERE gone_run IS NULL"
                ),
                3
            );
            let ben_last: i64 = store
                .conn()
                .query_row(
                    "SELECT last_run FROM observations WHERE type = 1 AND account = 'ben'",
                    [],
                    |r| r.get(0),
                )
                .expect("ben");
            assert_eq!(ben_last, partial, "a partial run records what it saw");
        }
    }

    #[test]
    fn an_observation_that_returns_appears_again_in_the_same_row() {
        for (_dir, mut store) in crate::store::testing::stores() {
            let ann = [account("ann", true)];
            let (first_in, _) = run(&mut store, &report(RunStatus::Complete, &ann));
            let (gone_in, _) = run(&mut store, &report(RunStatus::Complete, &[]));
            let (back_in, changes) = run(&mut store, &report(RunStatus::Complete, &ann));
            assert_eq!(changes.appeared, 1);
            let (first, last, gone): (i64, i64, Option<i64>) = store
                .conn()
                .query_row(
                    "SELECT first_run, last_run, gone_run FROM observations WHERE type = 1 AND account = 'ann'",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .expect("ann");
            assert_eq!((first, last, gone), (first_in, back_in, None));
            assert!(gone_in < back_in);
            assert_eq!(count(&store, "SELECT COUNT(*) FROM observations"), 1);
            let history = |id| {
                changes_of_run(store.conn(), id)
                    .expect("history")
                    .into_iter()
                    .map(|c| (c.change, c.previous.is_some()))
                    .collect::<Vec<_>>()
            };
            assert!(
                history(first_in).is_empty(),
                "older than the {} complete runs whose history is kept",
                crate::store::runs::KEEP_COMPLETE_RUNS
            );
            assert_eq!(history(gone_in), [("gone".to_string(), false)]);
            assert_eq!(
                history(back_in),
                [("appeared".to_string(), true)],
                "once, with the content from before it went"
            );
        }
    }

    #[test]
    fn pruning_keeps_what_is_present_and_drops_old_history() {
        for (_dir, mut store) in crate::store::testing::stores() {
            let (first, _) = run(
                &mut store,
                &report(
                    RunStatus::Complete,
                    &[account("ann", true), account("ben", true)],
                ),
            );
            let (second, _) = run(
                &mut store,
                &report(RunStatus::Complete, &[account("ann", true)]),
            );
            let (third, _) = run(
                &mut store,
                &report(RunStatus::Complete, &[account("ann", true)]),
            );
            let tx = store.transaction().expect("tx");
            prune(&tx, "inventory:crm", third).expect("prune");
            tx.commit().expect("commit");
            assert!(changes_of_run(store.conn(), second).expect("h").is_empty());
            assert!(
                changes_of_run(store.conn(), first).expect("h").is_empty(),
                "ann's first appearance is pruned history too"
            );
            let subjects: Vec<String> = latest_complete(store.conn(), "inventory:crm")
                .expect("latest")
                .expect("some")
                .accounts
                .into_iter()
                .map(|a| a.name)
                .collect();
            assert_eq!(subjects, ["ann"]);
            assert_eq!(count(&store, "SELECT COUNT(*) FROM observations"), 1);
        }
    }

    /// Records `r` as a run handed over in batches of `size` accounts (with their grants) does:
    /// begun with the status known before its first batch (`known_as`), finished with its own.
    fn run_in_batches(
        store: &mut Store,
        r: &ScanReport,
        size: usize,
        known_as: RunStatus,
    ) -> (i64, Changes) {
        let tx = store.transaction().expect("tx");
        let id = crate::store::runs::finish(&tx, None, r, chrono::Utc::now()).expect("run");
        let targeted = residual_scanners::coverage::targeted_accounts(&r.coverage);
        let begun = RunFacts {
            run_id: id,
            status: known_as,
            previous_complete: None,
            targeted: &targeted,
            input: r.input_digest.as_deref(),
        };
        let mut comparison = Comparison::begin(&tx, &r.system, &begun).expect("begin");
        for accounts in r.observations.accounts.chunks(size) {
            let names: HashSet<&str> = accounts.iter().map(|a| a.name.as_str()).collect();
            let batch = Observations {
                accounts: accounts.to_vec(),
                grants: r
                    .observations
                    .grants
                    .iter()
                    .filter(|g| names.contains(g.account.as_str()))
                    .cloned()
                    .collect(),
                credentials: Vec::new(),
            };
            comparison.batch(&tx, &batch).expect("batch");
        }
        let previous = crate::store::runs::previous_complete(&tx, &r.system, id).expect("prev");
        let facts = RunFacts {
            previous_complete: previous,
            status: r.status,
            ..begun
        };
        let changes = comparison.finish(&tx, &facts).expect("finish");
        tx.commit().expect("commit");
        (id, changes)
    }

    /// Everything the store holds of observations, one line per row.
    fn held(store: &Store) -> Vec<String> {
        // Content is bytes: shown in hex, which each backend spells its own way.
        let text = |c: &str| match c {
            "data" | "previous" if store.conn().is_postgres() => {
                format!("COALESCE(encode({c}, 'hex'), '-')")
            }
            "data" | "previous" => format!("COALESCE(hex({c}), '-')"),
            _ => format!("COALESCE(CAST({c} AS TEXT), '-')"),
        };
        let columns = |cs: &[&str]| {
            cs.iter()
                .map(|c| text(c))
                .collect::<Vec<_>>()
                .join(" || '|' || ")
        };
        let mut out = Vec::new();
        for sql in [
            format!(
                "SELECT {} FROM observations ORDER BY system, id",
                columns(&[
                    "system",
                    "id",
                    "type",
                    "account",
                    "subject",
                    "kind",
                    "active",
                    "first_run",
                    "last_run",
                    "gone_run",
                    "data"
                ])
            ),
            format!(
                "SELECT {} FROM observation_changes ORDER BY run_id, observation",
                columns(&["run_id", "observation", "change", "previous"])
            ),
            format!(
                "SELECT {} FROM observation_inputs ORDER BY system",
                columns(&["system", "input"])
            ),
        ] {
            let mut stmt = store.conn().prepare(&sql).expect("prepare");
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .expect("query");
            out.extend(rows.map(|r| r.expect("row")));
        }
        out
    }

    /// A run handed over in batches writes what the same run compared whole writes: what
    /// appeared, changed and went, what a partial run saw unchanged, and the input a complete
    /// run read — also when a run of the very input the store holds turns out partial by its
    /// end, after its batches were skipped.
    #[test]
    fn a_run_compared_in_batches_writes_what_a_run_compared_whole_writes() {
        let whole_stores = crate::store::testing::stores();
        let batched_stores = crate::store::testing::stores();
        for ((_a, mut whole), (_b, mut batched)) in whole_stores.into_iter().zip(batched_stores) {
            let with = |input: &str, status: RunStatus, accounts: &[Account]| ScanReport {
                input_digest: Some(input.to_string()),
                ..report(status, accounts)
            };
            let runs = [
                with(
                    "sha256:1",
                    RunStatus::Complete,
                    &[
                        account("ann", true),
                        account("bob", true),
                        account("cy", true),
                    ],
                ),
                with(
                    "sha256:2",
                    RunStatus::Complete,
                    &[
                        account("ann", false),
                        account("cy", true),
                        account("dan", true),
                    ],
                ),
                with(
                    "sha256:3",
                    RunStatus::Partial,
                    &[account("ann", false), account("eve", true)],
                ),
                with(
                    "sha256:4",
                    RunStatus::Complete,
                    &[account("bob", true), account("cy", true)],
                ),
                // The same input again, complete, then found partial only by its end.
                with(
                    "sha256:4",
                    RunStatus::Complete,
                    &[account("bob", true), account("cy", true)],
                ),
                with(
                    "sha256:4",
                    RunStatus::Partial,
                    &[account("bob", true), account("cy", true)],
                ),
            ];
            for r in &runs {
                let (_, one) = run(&mut whole, r);
                let (_, many) = run_in_batches(&mut batched, r, 1, RunStatus::Complete);
                assert_eq!(one, many, "{:?}", r.input_digest);
            }
            assert_eq!(held(&whole), held(&batched));
        }
    }
}
