//! `links`: how each account of a system was linked to a person, by the latest run that saw the
//! link differently (`run_id`): a run that links an account the same way again writes nothing.

use super::Result;
use crate::link::Link;
use residual_scanners::Account;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

/// Records how the run's accounts (`accounts[index]`) were linked to people.
pub fn record(
    tx: &Transaction,
    system: &str,
    run_id: i64,
    accounts: &[Account],
    links: &[(usize, Link)],
) -> Result<()> {
    // The WHERE makes an unchanged link a lookup rather than a row rewrite.
    let mut upsert = tx.prepare(
        "INSERT INTO links (system, account, employee_id, method, confidence, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
         ON CONFLICT(system, account) DO UPDATE SET employee_id = excluded.employee_id, method = excluded.method, \
           confidence = excluded.confidence, run_id = excluded.run_id \
         WHERE employee_id IS NOT excluded.employee_id OR method IS NOT excluded.method \
           OR confidence IS NOT excluded.confidence",
    )?;
    for (index, link) in links {
        let Some(account) = accounts.get(*index) else {
            continue;
        };
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
