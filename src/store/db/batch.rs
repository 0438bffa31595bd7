//! Rows of single-row `INSERT`s held back and sent as multi-row statements (PostgreSQL only):
//! one round trip per batch instead of one per row. What can be batched is decided from the
//! statement's PostgreSQL text, by [`Batch::of`]:
//!
//! - a plain `INSERT INTO t (…) VALUES (…)`: every row is one row inserted;
//! - an upsert `INSERT INTO t (…) VALUES (…) ON CONFLICT (k, …) DO UPDATE SET …` whose conflict
//!   clause has no parameter and no `WHERE`: every row is one row inserted or updated, whatever
//!   the table holds, so the count a caller gets back (1) is the count it would have got. Its rows
//!   are sent `VALUES (…), (…) ON CONFLICT …`; PostgreSQL refuses such a statement when two of
//!   its rows have the same key ("cannot affect row a second time"), so a row whose key is
//!   already held sends the held rows first ([`must_send_first`]), and so does a row for a table
//!   another statement holds upserts for (the later write must land later).
//!
//! Not batched: `DO NOTHING` (a caller may count the rows it inserted), `RETURNING`, `SELECT`,
//! `UPDATE` (a caller may count the rows it changed), a conflict clause with a parameter or a
//! `WHERE`, a row tuple with a call, an expression or a literal with a comma in it.

use super::ValueRef;
use std::collections::HashSet;
use std::sync::Arc;

/// A single-row `INSERT` that can be sent for many rows at once, cut into its head (up to
/// `VALUES`), its row tuple and its tail (the conflict clause, or nothing).
pub(crate) struct Batch {
    pub(super) head: String,
    tuple: String,
    tail: String,
    /// The highest placeholder number of the tuple: the parameters of one row.
    params: usize,
    /// The table it writes.
    table: String,
    /// An upsert's conflict key, as the placeholder numbers (from 1) of its columns.
    key: Option<Vec<usize>>,
}

impl Batch {
    /// The batch of a statement's PostgreSQL text, when it can be batched (see the module).
    pub(super) fn of(text: &str) -> Option<Batch> {
        let t = text.trim().trim_end_matches(';').trim_end();
        let upper = t.to_ascii_uppercase();
        if !upper.starts_with("INSERT INTO")
            || upper.contains("RETURNING")
            || upper.contains("SELECT")
        {
            return None;
        }
        let at = upper.find(" VALUES (")? + " VALUES ".len();
        let (head, rest) = t.split_at(at);
        let close = rest.find(')')?;
        let (tuple, tail) = rest.split_at(close + 1);
        if !list(tuple)?.iter().all(|item| plain_value(item)) {
            return None;
        }
        let params = placeholders(tuple).into_iter().max()?;
        let table = head["INSERT INTO".len()..]
            .split_whitespace()
            .next()?
            .split('(')
            .next()?
            .to_string();
        let tail = tail.trim();
        let key = if tail.is_empty() {
            None
        } else {
            Some(conflict_key(head, tuple, tail)?)
        };
        Some(Batch {
            head: head.to_string(),
            tuple: tuple.to_string(),
            tail: tail.to_string(),
            params,
            table,
            key,
        })
    }

    /// Rows per statement: PostgreSQL takes at most 65,535 parameters.
    pub(super) fn rows(&self) -> usize {
        (65_535 / self.params.max(1)).clamp(1, 1000)
    }

    /// The statement for `n` rows: the tuple repeated, its placeholders numbered on, then the
    /// conflict clause.
    pub(super) fn text(&self, n: usize) -> String {
        let mut sql = self.head.clone();
        for k in 0..n {
            if k > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&renumber(&self.tuple, k * self.params));
        }
        if !self.tail.is_empty() {
            sql.push(' ');
            sql.push_str(&self.tail);
        }
        sql
    }

    /// An upsert row's conflict key, as bytes to compare; `None` for a plain insert.
    fn key_of(&self, row: &[Owned]) -> Option<Vec<u8>> {
        let key = self.key.as_ref()?;
        let mut out = Vec::new();
        for n in key {
            match row.get(n - 1).map(Owned::as_ref) {
                None | Some(ValueRef::Null) => out.push(0),
                Some(ValueRef::Integer(i)) => {
                    out.push(1);
                    out.extend(i.to_le_bytes());
                }
                Some(ValueRef::Real(f)) => {
                    out.push(2);
                    out.extend(f.to_bits().to_le_bytes());
                }
                Some(ValueRef::Text(b)) | Some(ValueRef::Blob(b)) => {
                    out.push(3);
                    out.extend((b.len() as u64).to_le_bytes());
                    out.extend(b);
                }
            }
        }
        Some(out)
    }
}

/// The placeholder numbers of the conflict key of `INSERT INTO t (cols) VALUES (tuple) tail`,
/// when `tail` is `ON CONFLICT (cols) DO UPDATE SET …` without a parameter or a `WHERE` and each
/// key column's value is a placeholder.
fn conflict_key(head: &str, tuple: &str, tail: &str) -> Option<Vec<usize>> {
    let upper = tail.to_ascii_uppercase();
    let target = upper.strip_prefix("ON CONFLICT")?.trim_start();
    if !target.starts_with('(')
        || !upper.contains(" DO UPDATE SET ")
        || upper.contains(" WHERE ")
        || tail.contains('$')
    {
        return None;
    }
    let key_columns = list(&tail[tail.len() - target.len()..])?;
    let columns = list(&head[head.find('(')?..])?;
    let values = list(tuple)?;
    if columns.len() != values.len() {
        return None;
    }
    key_columns
        .iter()
        .map(|k| {
            let at = columns.iter().position(|c| c.eq_ignore_ascii_case(k))?;
            values[at].strip_prefix('$')?.parse().ok()
        })
        .collect()
}

/// Whether a row tuple's item is one a multi-row statement can repeat as it is: a placeholder,
/// `NULL`, a number, or a string literal with no quote, comma or parenthesis in it (the
/// findings' empty `''`). A call or an expression is not.
fn plain_value(item: &str) -> bool {
    let literal = item
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
        .is_some_and(|inner| !inner.contains(['\'', ',', '(', ')']));
    let placeholder = item
        .strip_prefix('$')
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
    let number = !item.is_empty()
        && item
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-');
    placeholder || literal || number || item.eq_ignore_ascii_case("NULL")
}

/// The items of the parenthesised list `text` starts with, trimmed.
fn list(text: &str) -> Option<Vec<&str>> {
    let inner = text.strip_prefix('(')?;
    let inner = &inner[..inner.find(')')?];
    Some(inner.split(',').map(str::trim).collect())
}

/// The `$N` numbers in `text`.
fn placeholders(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' {
            let mut n = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                n.push(*d);
                chars.next();
            }
            if let Ok(n) = n.parse() {
                out.push(n);
            }
        }
    }
    out
}

/// `text` with every `$N` made `$(N + by)`.
fn renumber(text: &str, by: usize) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '$' {
            let mut n = String::new();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                n.push(*d);
                chars.next();
            }
            match n.parse::<usize>() {
                Ok(n) => out.push_str(&(n + by).to_string()),
                Err(_) => out.push_str(&n),
            }
        }
    }
    out
}

/// Rows held back for one [`Batch`], in the order they came.
pub(super) struct Pending {
    pub(super) batch: Arc<Batch>,
    pub(super) rows: Vec<Vec<Owned>>,
    /// The conflict keys of the rows (upserts).
    keys: HashSet<Vec<u8>>,
}

/// A row to hold: its values and, for an upsert, its key.
pub(super) struct Row {
    values: Vec<Owned>,
    key: Option<Vec<u8>>,
}

impl Row {
    /// `values` (one statement's parameters) as a row of `batch`.
    pub(super) fn new(batch: &Batch, values: Vec<Owned>) -> Row {
        let key = batch.key_of(&values);
        Row { values, key }
    }
}

/// Whether the rows held must be sent before `row` of `batch` is held: an upsert's key already
/// held, or the same table held by another statement where either is an upsert (the later write
/// must land later).
pub(super) fn must_send_first(held: &[Pending], batch: &Arc<Batch>, row: &Row) -> bool {
    held.iter().any(|p| {
        if Arc::ptr_eq(&p.batch, batch) {
            row.key.as_ref().is_some_and(|k| p.keys.contains(k))
        } else {
            p.batch.table == batch.table && (p.batch.key.is_some() || batch.key.is_some())
        }
    })
}

/// Holds `row` of `batch` (after its statement's earlier rows); whether that statement now
/// holds enough rows to be sent.
pub(super) fn hold(held: &mut Vec<Pending>, batch: &Arc<Batch>, row: Row) -> bool {
    let at = match held.iter().position(|p| Arc::ptr_eq(&p.batch, batch)) {
        Some(at) => at,
        None => {
            held.push(Pending {
                batch: Arc::clone(batch),
                rows: Vec::new(),
                keys: HashSet::new(),
            });
            held.len() - 1
        }
    };
    let pending = &mut held[at];
    if let Some(key) = row.key {
        pending.keys.insert(key);
    }
    pending.rows.push(row.values);
    pending.rows.len() >= 10 * batch.rows()
}

/// A value copied out of its row, kept until its batch is sent.
pub(super) enum Owned {
    Null,
    Integer(i64),
    Real(f64),
    Text(Vec<u8>),
    Blob(Vec<u8>),
}

impl From<ValueRef<'_>> for Owned {
    fn from(v: ValueRef<'_>) -> Owned {
        match v {
            ValueRef::Null => Owned::Null,
            ValueRef::Integer(i) => Owned::Integer(i),
            ValueRef::Real(f) => Owned::Real(f),
            ValueRef::Text(t) => Owned::Text(t.to_vec()),
            ValueRef::Blob(b) => Owned::Blob(b.to_vec()),
        }
    }
}

impl Owned {
    pub(super) fn as_ref(&self) -> ValueRef<'_> {
        match self {
            Owned::Null => ValueRef::Null,
            Owned::Integer(i) => ValueRef::Integer(*i),
            Owned::Real(f) => ValueRef::Real(*f),
            Owned::Text(t) => ValueRef::Text(t),
            Owned::Blob(b) => ValueRef::Blob(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_insert_is_batched_with_its_placeholders_numbered_on() {
        let b = Batch::of("INSERT INTO t (a, b, c) VALUES ($1, $2, $2)").expect("batchable");
        assert_eq!(b.params, 2);
        assert_eq!(
            b.text(3),
            "INSERT INTO t (a, b, c) VALUES ($1, $2, $2), ($3, $4, $4), ($5, $6, $6)"
        );
    }

    #[test]
    fn a_row_with_plain_literals_is_batched() {
        let b =
            Batch::of("INSERT INTO t (a, b, c, d) VALUES ($1, '', NULL, 0)").expect("batchable");
        assert_eq!(
            b.text(2),
            "INSERT INTO t (a, b, c, d) VALUES ($1, '', NULL, 0), ($2, '', NULL, 0)"
        );
    }

    #[test]
    fn an_upsert_is_batched_with_its_conflict_clause_after_the_rows_and_its_key_known() {
        let b = Batch::of(
            "INSERT INTO links (system, account, who) VALUES ($1, $2, $3) \
             ON CONFLICT(system, account) DO UPDATE SET who = excluded.who",
        )
        .expect("batchable");
        assert_eq!(b.key, Some(vec![1, 2]));
        assert_eq!(b.table, "links");
        assert_eq!(
            b.text(2),
            "INSERT INTO links (system, account, who) VALUES ($1, $2, $3), ($4, $5, $6) \
             ON CONFLICT(system, account) DO UPDATE SET who = excluded.who"
        );
    }

    #[test]
    fn inserts_that_answer_or_choose_are_not_batched() {
        for sql in [
            "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING",
            "INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO NOTHING",
            "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO UPDATE SET b = $2",
            "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO UPDATE SET b = excluded.b WHERE t.b < excluded.b",
            "INSERT INTO t (a, b) VALUES (lower($1), $2) ON CONFLICT (a) DO UPDATE SET b = excluded.b",
            "INSERT INTO t (a) VALUES ($1) RETURNING id",
            "INSERT INTO t (a) SELECT a FROM u WHERE b = $1",
            "INSERT INTO t (a, b) VALUES ($1, 'x, y')",
            "INSERT INTO t (a, b) VALUES ($1, $2 || 'x')",
            "UPDATE t SET a = $1",
        ] {
            assert!(Batch::of(sql).is_none(), "{sql}");
        }
    }

    fn row(batch: &Batch, values: &[i64]) -> Row {
        Row::new(batch, values.iter().map(|v| Owned::Integer(*v)).collect())
    }

    #[test]
    fn a_repeated_key_or_another_write_to_an_upserted_table_sends_the_held_rows_first() {
        let upsert = Arc::new(
            Batch::of(
                "INSERT INTO t (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
            )
            .expect("batchable"),
        );
        let plain = Arc::new(Batch::of("INSERT INTO t (k, v) VALUES ($1, $2)").expect("batchable"));
        let other = Arc::new(Batch::of("INSERT INTO u (k) VALUES ($1)").expect("batchable"));
        let mut held = Vec::new();
        assert!(!must_send_first(&held, &upsert, &row(&upsert, &[1, 10])));
        hold(&mut held, &upsert, row(&upsert, &[1, 10]));
        assert!(!must_send_first(&held, &upsert, &row(&upsert, &[2, 20])));
        assert!(must_send_first(&held, &upsert, &row(&upsert, &[1, 11])));
        assert!(must_send_first(&held, &plain, &row(&plain, &[3, 30])));
        assert!(!must_send_first(&held, &other, &row(&other, &[1])));
    }
}
