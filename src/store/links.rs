//! `links`: how each account of a system was linked to a person, by the latest run that linked it
//! differently (`run_id`): a run that links an account the same way again writes nothing.

use super::Result;
use crate::link::Link;
use residual_scanners::Account;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// A link reduced to a hash of (account) → hash of (person, method, confidence), in memory only:
/// one sequential read of a system's links costs far less than a lookup per account.
fn hashed(account: &str, employee_id: &str, method: &str, confidence: f64) -> (u128, u64) {
    let half = |salt: u8| {
        let mut h = DefaultHasher::new();
        salt.hash(&mut h);
        account.hash(&mut h);
        h.finish()
    };
    let mut v = DefaultHasher::new();
    (employee_id, method, confidence.to_bits()).hash(&mut v);
    (
        (u128::from(half(1)) << 64) | u128::from(half(2)),
        v.finish(),
    )
}

fn known(tx: &Transaction, system: &str) -> Result<HashMap<u128, u64>> {
    let mut stmt =
        tx.prepare("SELECT account, employee_id, method, confidence FROM links WHERE system = ?1")?;
    let mut rows = stmt.query([system])?;
    let mut out = HashMap::new();
    while let Some(r) = rows.next()? {
        let (key, value) = hashed(
            r.get_ref(0)?.as_str()?,
            r.get_ref(1)?.as_str()?,
            r.get_ref(2)?.as_str()?,
            r.get(3)?,
        );
        out.insert(key, value);
    }
    Ok(out)
}

/// Records how the run's accounts (`accounts[index]`) were linked to people.
pub fn record(
    tx: &Transaction,
    system: &str,
    run_id: i64,
    accounts: &[Account],
    links: &[(usize, Link)],
) -> Result<()> {
    let known = known(tx, system)?;
    let mut upsert = tx.prepare(
        "INSERT INTO links (system, account, employee_id, method, confidence, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT(system, account) DO UPDATE SET employee_id = excluded.employee_id, method = excluded.method, \
           confidence = excluded.confidence, run_id = excluded.run_id",
    )?;
    // In key order: a first run writes its many links as appends to the table's B-tree rather
    // than as inserts all over it (the export's order is not the key's).
    let mut ordered: Vec<(&Account, &Link)> = links
        .iter()
        .filter_map(|(index, link)| accounts.get(*index).map(|a| (a, link)))
        .collect();
    ordered.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    for (account, link) in ordered {
        let (key, value) = hashed(
            &account.name,
            &link.employee_id,
            link.method.as_str(),
            link.confidence,
        );
        if known.get(&key) == Some(&value) {
            continue;
        }
        upsert.execute(params![
            system,
            account.name,
            link.employee_id,
            link.method.as_str(),
            link.confidence,
            run_id
        ])?;
    }
    Ok(())
}

/// The person and confidence `account` of `system` is linked to, if it is.
pub fn of(conn: &Connection, system: &str, account: &str) -> Result<Option<(String, f64)>> {
    Ok(conn
        .query_row(
            "SELECT employee_id, confidence FROM links WHERE system = ?1 AND account = ?2",
            [system, account],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}
