//! `links`: how each account of a system was linked to a person, by the latest run that linked it
//! differently (`run_id`): a run that links an account the same way again writes nothing.
//!
//! A row per account, kept small (schema 16): the system by its number (`store::systems`), the
//! method by a code ([`METHODS`]) and the confidence in thousandths, which every confidence
//! linking gives is a whole number of.

use super::db::{params, Connection, OptionalExtension, Transaction};
use super::Result;
use crate::link::{Link, LinkMethod};
use residual_scanners::Account;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// A link reduced to a hash of (account) → hash of (person, method, confidence), in memory only:
/// one sequential read of a system's links costs far less than a lookup per account.
fn hashed(account: &str, employee_id: &str, method: i64, confidence: i64) -> (u128, u64) {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        account.hash(&mut h);
        h.finish()
    };
    let mut v = DefaultHasher::new();
    (employee_id, method, confidence).hash(&mut v);
    (
        (u128::from(half(1)) << 64) | u128::from(half(2)),
        v.finish(),
    )
}

/// Each link method's code in the `method` column. Codes are stored: a method keeps its code,
/// and a new one takes the next.
pub(super) const METHODS: &[(LinkMethod, i64)] = &[
    (LinkMethod::HrColumn, 1),
    (LinkMethod::Email, 2),
    (LinkMethod::Alias, 3),
    (LinkMethod::EmployeeId, 4),
    (LinkMethod::Tag, 5),
    (LinkMethod::NameLocalPart, 6),
    (LinkMethod::Owner, 7),
    (LinkMethod::NoreplyLogin, 8),
    (LinkMethod::Verification, 9),
    (LinkMethod::UserName, 10),
    (LinkMethod::ExternalId, 11),
];

/// A method's code (as [`METHODS`] lists them: a new method goes in both).
fn method_code(method: LinkMethod) -> i64 {
    match method {
        LinkMethod::HrColumn => 1,
        LinkMethod::Email => 2,
        LinkMethod::Alias => 3,
        LinkMethod::EmployeeId => 4,
        LinkMethod::Tag => 5,
        LinkMethod::NameLocalPart => 6,
        LinkMethod::Owner => 7,
        LinkMethod::NoreplyLogin => 8,
        LinkMethod::Verification => 9,
        LinkMethod::UserName => 10,
        LinkMethod::ExternalId => 11,
    }
}

/// The statement that copies the text links of schema 15 (`links`) into the table of schema 16
/// (`links_new` until the old one is dropped; both backends, run by the migration).
pub(super) fn from_text_sql() -> String {
    let cases: String = METHODS
        .iter()
        .map(|(m, code)| format!(" WHEN '{}' THEN {code}", m.as_str()))
        .collect();
    format!(
        "INSERT INTO links_new (system, account, employee_id, method, confidence, run_id) \
         SELECT s.id, l.account, l.employee_id, CASE l.method{cases} ELSE 0 END, \
                CAST(round(l.confidence * 1000) AS INTEGER), l.run_id \
         FROM links l JOIN systems s ON s.name = l.system"
    )
}

/// A confidence as stored: in thousandths.
fn thousandths(confidence: f64) -> i64 {
    (confidence * 1000.0).round() as i64
}

/// A confidence as read: the nearest `f64` to the thousandths stored, the very value linking
/// gave (`0.9` is stored 900 and read `900.0 / 1000.0`, which is `0.9`).
fn confidence(thousandths: i64) -> f64 {
    thousandths as f64 / 1000.0
}

fn known(tx: &Transaction, system: i64) -> Result<HashMap<u128, u64>> {
    let mut stmt =
        tx.prepare("SELECT account, employee_id, method, confidence FROM links WHERE system = ?1")?;
    let mut rows = stmt.query([system])?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next()? {
        let (key, value) = hashed(
            r.get_ref(0)?.as_str()?,
            r.get_ref(1)?.as_str()?,
            r.get(2)?,
            r.get(3)?,
        );
        out.insert(key, value);
    }
    Ok(out)
}

/// Records how the run's accounts (`accounts[index]`) were linked to people, unless `basis`
/// (what the links were made from: the input a complete full run read and the people and policy
/// linking used) is what the system's links were last recorded from: the same accounts linked
/// against the same people then gave the links the store holds, and comparing them again would
/// find nothing. A run without a basis (partial, targeted, no input digest) records as it
/// always did, and forgets the basis.
pub fn record_from(
    tx: &Transaction,
    system: &str,
    run_id: i64,
    accounts: &[Account],
    links: &[(usize, Link)],
    basis: Option<&str>,
) -> Result<()> {
    let mut pending = Pending::default();
    for (index, link) in links {
        if let Some(a) = accounts.get(*index) {
            pending.add(&a.name, link);
        }
    }
    record_pending(tx, system, run_id, &pending, basis)
}

/// Whether the links of `system` were last recorded from `basis` (see [`record_from`]): a run
/// with that basis need not collect its links at all.
pub fn recorded_from(tx: &Transaction, system: &str, basis: Option<&str>) -> Result<bool> {
    let Some(basis) = basis else {
        return Ok(false);
    };
    let stored: Option<String> = tx
        .query_row(
            "SELECT basis FROM link_inputs WHERE system = ?1",
            [system],
            |r| r.get(0),
        )
        .optional()?;
    Ok(stored.as_deref() == Some(basis))
}

/// [`record_from`] of links collected as [`Pending`] (a run handed over in batches).
pub fn record_pending(
    tx: &Transaction,
    system: &str,
    run_id: i64,
    pending: &Pending,
    basis: Option<&str>,
) -> Result<()> {
    if recorded_from(tx, system, basis)? {
        return Ok(());
    }
    record(tx, system, run_id, pending)?;
    match basis {
        Some(basis) => tx.execute(
            "INSERT INTO link_inputs (system, basis) VALUES (?1, ?2) \
             ON CONFLICT(system) DO UPDATE SET basis = excluded.basis",
            params![system, basis],
        )?,
        None => tx.execute("DELETE FROM link_inputs WHERE system = ?1", [system])?,
    };
    Ok(())
}

/// Links of a run, kept compactly until they are written: the account names and employee ids
/// back to back in one string, not two strings per link (a million-account run held ~100 MB of
/// them as [`Link`]s with their accounts), and 12 bytes a link besides.
#[derive(Default)]
pub struct Pending {
    text: String,
    links: Vec<PendingLink>,
    /// Links whose account or person is too long for [`PendingLink`]'s lengths.
    long: Vec<(String, Link)>,
}

struct PendingLink {
    /// `text[start..start + account]` is the account, the `person` bytes after it the person.
    start: u32,
    account: u16,
    person: u16,
    /// The confidence as it is stored ([`thousandths`]).
    confidence: u16,
    method: LinkMethod,
}

impl Pending {
    /// Adds that `account` links as `link`. An account name or employee id longer than 64 KiB,
    /// or one past the first 4 GiB of text, is kept as a text of its own (never seen in
    /// practice; the lengths are 16 bits and the offsets 32).
    pub fn add(&mut self, account: &str, link: &Link) {
        let (Ok(start), Ok(account_len), Ok(person_len), Ok(confidence)) = (
            u32::try_from(self.text.len()),
            u16::try_from(account.len()),
            u16::try_from(link.employee_id.len()),
            u16::try_from(thousandths(link.confidence)),
        ) else {
            self.long.push((account.to_string(), link.clone()));
            return;
        };
        self.text.push_str(account);
        self.text.push_str(&link.employee_id);
        self.links.push(PendingLink {
            start,
            account: account_len,
            person: person_len,
            confidence,
            method: link.method,
        });
    }

    /// How many links were added.
    pub fn len(&self) -> usize {
        self.links.len() + self.long.len()
    }

    /// Whether no link was added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every link added: account, person, method and confidence in thousandths.
    fn each(&self) -> impl Iterator<Item = (&str, &str, LinkMethod, i64)> {
        let compact = self.links.iter().map(|l| {
            let confidence = i64::from(l.confidence);
            (self.account(l), self.person(l), l.method, confidence)
        });
        let long = self.long.iter().map(|(a, l)| {
            let confidence = thousandths(l.confidence);
            (a.as_str(), l.employee_id.as_str(), l.method, confidence)
        });
        compact.chain(long)
    }

    fn account(&self, l: &PendingLink) -> &str {
        let from = l.start as usize;
        &self.text[from..from + l.account as usize]
    }

    fn person(&self, l: &PendingLink) -> &str {
        let from = l.start as usize + l.account as usize;
        &self.text[from..from + l.person as usize]
    }
}

/// Records how the run's accounts were linked to people.
fn record(tx: &Transaction, system: &str, run_id: i64, pending: &Pending) -> Result<()> {
    let system = super::systems::id(tx, system)?;
    let known = known(tx, system)?;
    let mut upsert = tx.prepare(
        "INSERT INTO links (system, account, employee_id, method, confidence, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT(system, account) DO UPDATE SET employee_id = excluded.employee_id, method = excluded.method, \
           confidence = excluded.confidence, run_id = excluded.run_id",
    )?;
    // In key order: a first run writes its many links as appends to the table's B-tree rather
    // than as inserts all over it (the export's order is not the key's).
    let mut ordered: Vec<(&str, &str, LinkMethod, i64)> = pending.each().collect();
    ordered.sort_by(|a, b| a.0.cmp(b.0));
    for (account, person, method, confidence) in ordered {
        let method = method_code(method);
        // A system's first run knows no links: nothing to hash them against.
        if !known.is_empty() {
            let (key, value) = hashed(account, person, method, confidence);
            if known.get(&key) == Some(&value) {
                continue;
            }
        }
        upsert.execute(params![system, account, person, method, confidence, run_id])?;
    }
    Ok(())
}

/// The person and confidence `account` of `system` is linked to, if it is.
pub fn of(conn: &Connection, system: &str, account: &str) -> Result<Option<(String, f64)>> {
    let Some(system) = super::systems::find(conn, system)? else {
        return Ok(None);
    };
    Ok(conn
        .query_row(
            "SELECT employee_id, confidence FROM links WHERE system = ?1 AND account = ?2",
            params![system, account],
            |r| Ok((r.get(0)?, confidence(r.get(1)?))),
        )
        .optional()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::LinkMethod;
    use crate::store::Store;
    use residual_scanners::{AccountKind, IdentityHints};

    fn ann() -> Account {
        Account {
            name: "ann".into(),
            kind: AccountKind::User,
            enabled: Some(true),
            created_at: None,
            last_used_at: None,
            hints: IdentityHints::default(),
            attributes: Default::default(),
        }
    }

    fn count(store: &Store) -> i64 {
        store
            .conn()
            .query_row("SELECT COUNT(*) FROM links", [], |r| r.get(0))
            .expect("count")
    }

    fn write(store: &mut Store, run: i64, basis: Option<&str>) {
        let accounts = [ann()];
        let links = [(
            0,
            Link {
                employee_id: "E1".into(),
                method: LinkMethod::Email,
                confidence: 0.9,
            },
        )];
        let tx = store.transaction().expect("tx");
        record_from(&tx, "inventory:crm", run, &accounts, &links, basis).expect("links");
        tx.commit().expect("commit");
    }

    /// What only a comparison would notice: the links are gone from the store.
    fn wipe(store: &Store) {
        store.conn().execute("DELETE FROM links", []).expect("wipe");
    }

    /// Every confidence linking gives reads back as the very same number; every method has a
    /// code of its own.
    #[test]
    fn confidences_and_methods_read_back_as_written() {
        for (method, _) in METHODS {
            let c = method.confidence();
            assert_eq!(confidence(thousandths(c)), c, "{}", method.as_str());
        }
        for (method, code) in METHODS {
            assert_eq!(method_code(*method), *code, "{}", method.as_str());
        }
        let mut codes: Vec<i64> = METHODS.iter().map(|(_, c)| *c).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), METHODS.len());
        for (_dir, mut store) in crate::store::testing::stores() {
            let now = chrono::Utc::now();
            let run = crate::store::runs::start(store.conn(), "inventory", "inventory:crm", now)
                .expect("run");
            write(&mut store, run, None);
            let linked = of(store.conn(), "inventory:crm", "ann").expect("read");
            assert_eq!(linked, Some(("E1".to_string(), 0.9)));
            assert_eq!(
                of(store.conn(), "inventory:other", "ann").expect("read"),
                None
            );
        }
    }

    /// Links made from the same input, people and policy as the ones stored are not compared
    /// again; another basis, or none (a partial run), is.
    #[test]
    fn links_of_the_same_basis_are_not_compared_again() {
        for (_dir, mut store) in crate::store::testing::stores() {
            let now = chrono::Utc::now();
            let run = crate::store::runs::start(store.conn(), "inventory", "inventory:crm", now)
                .expect("run");
            write(&mut store, run, Some("b1"));
            wipe(&store);
            write(&mut store, run, Some("b1"));
            assert_eq!(count(&store), 0, "the same basis is not compared");
            write(&mut store, run, Some("b2"));
            assert_eq!(count(&store), 1, "another basis is compared");
            write(&mut store, run, None);
            wipe(&store);
            write(&mut store, run, Some("b2"));
            assert_eq!(count(&store), 1, "a run without a basis forgets it");
        }
    }
}
