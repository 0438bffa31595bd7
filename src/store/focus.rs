//! Who a targeted sweep looks at: the people an HR snapshot made leavers or movers, and the
//! accounts of theirs a system is known to hold (linked by an earlier run, or named by the HR
//! record itself, e.g. its `aws_user` column).

use super::db::{params, Connection};
use super::Result;
use std::collections::BTreeSet;

/// The employee ids snapshot `snapshot_id` brought leaver or mover events for, in id order.
pub fn leavers_and_movers(conn: &Connection, snapshot_id: i64) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT DISTINCT employee_id FROM person_events \
         WHERE snapshot_id = ?1 AND kind IN ('leaver', 'mover') ORDER BY employee_id",
    )?;
    let ids = stmt.query_map([snapshot_id], |r| r.get::<_, String>(0))?;
    Ok(ids.collect::<super::db::Result<_>>()?)
}

/// The IAM user names of `employees`: the accounts of `aws-iam` systems linked to them, and the
/// `aws_user` of their HR records. Role accounts (`role/NAME`) are not users and are left out.
pub fn aws_users(conn: &Connection, employees: &[String]) -> Result<Vec<String>> {
    let mut users = BTreeSet::new();
    let mut linked = conn.prepare(
        "SELECT l.account FROM links l JOIN systems s ON s.id = l.system \
             WHERE s.name LIKE 'aws-iam:%' AND l.employee_id = ?1",
    )?;
    let mut named = conn.prepare(
        "SELECT aws_user FROM people WHERE employee_id = ?1 AND aws_user IS NOT NULL \
           AND aws_user != ''",
    )?;
    for employee in employees {
        for account in linked.query_map(params![employee], |r| r.get::<_, String>(0))? {
            users.insert(account?);
        }
        for account in named.query_map(params![employee], |r| r.get::<_, String>(0))? {
            users.insert(account?);
        }
    }
    // IAM user names cannot hold a `/`: such an account is a role.
    users.retain(|u| !u.contains('/'));
    Ok(users.into_iter().collect())
}
