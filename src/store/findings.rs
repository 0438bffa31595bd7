//! `findings`: one row per finding with its current state; history lives in `finding_events`.
//!
//! The lifecycle is decided in `crate::findings` (pure); [`apply`] writes its transitions here and
//! appends one hash-chained event each.
//!
//! `last_seen` as shown is derived: a finding that is not resolved was seen by every complete run
//! of its system since it was last written (a complete run that did not see it would have resolved
//! it), so a complete run that sees a finding unchanged does not rewrite its row, and listing
//! takes the later of the stored `last_seen` and the evaluation time of the system's latest
//! complete run. Partial runs, which prove nothing by absence, write `last_seen` of what they saw.

use super::db::{params, Connection, Transaction};
use super::db::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use super::events::EventWriter;
use super::{Result, Tx};
use crate::evaluate::Candidate;
use crate::findings::{Current, FindingState, Transition};
use chrono::{DateTime, Utc};
use residual_scanners::time::format_time;
use residual_scanners::RunStatus;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A finding as every output shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub id: String,
    pub rule: String,
    pub severity: String,
    pub state: FindingState,
    pub employee_id: Option<String>,
    pub system: String,
    pub account: String,
    pub subject: String,
    pub live: Option<bool>,
    pub first_seen: String,
    pub last_seen: String,
    pub resolved_at: Option<String>,
    pub resolved_by_run: Option<i64>,
    pub exception_id: Option<String>,
    pub evidence: serde_json::Value,
    pub remediation: String,
    /// The coverage unit the finding was last raised under (absent for findings recorded before
    /// units): a run that covers it and no longer raises the finding resolves it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

const COLUMNS: &str =
    "f.id, f.rule, f.severity, f.state, f.employee_id, f.system, f.account, f.subject, f.live, f.first_seen, \
    CASE WHEN f.state != 'resolved' AND r.id > f.last_run AND r.evaluated_at IS NOT NULL \
      THEN r.evaluated_at ELSE f.last_seen END, \
    f.resolved_at, f.resolved_by_run, f.exception_id, f.evidence, f.remediation, f.remediation_text, f.unit";

/// Findings joined with the latest complete run of their system, which `last_seen` is derived
/// from (see the module comment). A row that refers to its rule's remediation text instead of
/// holding it filled in (see [`Writer::candidate`]) gets it from [`RemediationTexts`]: filling it
/// in here, in Rust, from the handful of texts read once, is about twice as fast as SQL's
/// `replace()` over a join for every row.
const FROM: &str = "findings f \
    LEFT JOIN (SELECT system, MAX(id) AS id FROM scan_runs WHERE status = 'complete' AND targeted IS NULL GROUP BY system) latest \
      ON latest.system = f.system \
    LEFT JOIN scan_runs r ON r.id = latest.id";

/// The rules' remediation texts by id (a few dozen rows), read once per listing.
struct RemediationTexts(HashMap<i64, String>);

impl RemediationTexts {
    fn read(conn: &Connection) -> Result<RemediationTexts> {
        let mut stmt = conn.prepare("SELECT id, text FROM remediation_texts")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        Ok(RemediationTexts(rows.collect::<super::db::Result<_>>()?))
    }

    /// The remediation of a finding: its own text, or its rule's text filled in with its system
    /// and account (in that order, as the text was always filled in).
    fn fill(&self, own: String, text_id: Option<i64>, system: &str, account: &str) -> String {
        match text_id.and_then(|id| self.0.get(&id)) {
            Some(text) => text
                .replace("{system}", system)
                .replace("{account}", account),
            None => own,
        }
    }
}

impl FromSql for FindingState {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        FindingState::parse(text)
            .ok_or_else(|| FromSqlError::Other(format!("unknown finding state `{text}`")))
    }
}

fn from_row(r: &super::db::Row, texts: &RemediationTexts) -> super::db::Result<Finding> {
    let evidence: String = r.get(14)?;
    let (system, account): (String, String) = (r.get(5)?, r.get(6)?);
    let remediation = texts.fill(r.get(15)?, r.get(16)?, &system, &account);
    Ok(Finding {
        id: r.get(0)?,
        rule: r.get(1)?,
        severity: r.get(2)?,
        state: r.get(3)?,
        employee_id: r.get(4)?,
        system,
        account,
        subject: r.get(7)?,
        live: r.get::<_, Option<i64>>(8)?.map(|v| v != 0),
        first_seen: r.get(9)?,
        last_seen: r.get(10)?,
        resolved_at: r.get(11)?,
        resolved_by_run: r.get(12)?,
        exception_id: r.get(13)?,
        evidence: serde_json::from_str(&crate::evidence_text::unpack(&evidence))
            .unwrap_or(serde_json::Value::Null),
        remediation,
        unit: r.get(17)?,
    })
}

/// Filters for listing findings; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub state: Option<String>,
    pub system: Option<String>,
    pub rule: Option<String>,
    pub employee_id: Option<String>,
}

pub fn list(conn: &Connection, f: &Filter) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    for_each(conn, f, |finding| {
        out.push(finding);
        Ok(())
    })?;
    Ok(out)
}

/// Calls `each` for every finding that `f` selects, in listing order, one row in memory at a
/// time (a large store's findings do not fit comfortably in memory as one list).
pub fn for_each(
    conn: &Connection,
    f: &Filter,
    mut each: impl FnMut(Finding) -> std::result::Result<(), super::StoreError>,
) -> Result<()> {
    let sql = format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE (?1 IS NULL OR f.state = ?1) AND (?2 IS NULL OR f.system = ?2) \
         AND (?3 IS NULL OR f.rule = ?3) AND (?4 IS NULL OR f.employee_id = ?4) \
         ORDER BY CASE f.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, \
         f.system, f.account, f.rule, f.subject"
    );
    let texts = RemediationTexts::read(conn)?;
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(params![f.state, f.system, f.rule, f.employee_id], |r| {
        from_row(r, &texts)
    })?;
    for row in rows {
        each(row?)?;
    }
    Ok(())
}

pub fn get(conn: &Connection, id: &str) -> Result<Option<Finding>> {
    use super::db::OptionalExtension;
    let texts = RemediationTexts::read(conn)?;
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM {FROM} WHERE f.id = ?1"),
            [id],
            |r| from_row(r, &texts),
        )
        .optional()?)
}

/// The findings of `system` (every state), by id: what planning a run starts from.
pub fn current_for_system(tx: &Transaction, system: &str) -> Result<HashMap<String, Current>> {
    let mut stmt = tx
        .prepare("SELECT id, state, exception_id, content, unit FROM findings WHERE system = ?1")?;
    let rows = stmt.query_map([system], current_row)?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

/// The findings exceptions may change outside a run: excepted ones, and any an exception names.
/// (Two indexed queries: one with `OR` would read every finding on every run.)
pub fn current_for_exceptions(conn: &Connection) -> Result<HashMap<String, Current>> {
    let mut out = HashMap::new();
    for sql in [
        "SELECT id, state, exception_id, content, unit FROM findings WHERE state = 'excepted'",
        "SELECT id, state, exception_id, content, unit FROM findings WHERE id IN (SELECT finding_id FROM exceptions)",
    ] {
        let mut stmt = conn.prepare(sql)?;
        for row in stmt.query_map([], current_row)? {
            let (id, current) = row?;
            out.insert(id, current);
        }
    }
    Ok(out)
}

fn current_row(r: &super::db::Row) -> super::db::Result<(String, Current)> {
    Ok((
        r.get(0)?,
        Current {
            state: r.get(1)?,
            exception_id: r.get(2)?,
            content: r.get(3)?,
            unit: r.get(4)?,
        },
    ))
}

/// A digest of what a run writes into a finding's row from its candidate: equal digests mean
/// the row would be rewritten with the same values.
fn content_of(c: &Candidate, remediation: &str) -> i64 {
    let mut h = Sha256::new();
    let live = match c.live {
        None => "",
        Some(true) => "1",
        Some(false) => "0",
    };
    for part in [
        c.severity.as_str(),
        c.employee_id.as_deref().unwrap_or("\u{0}"),
        live,
        &*c.evidence.json(),
        remediation,
    ] {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    let d = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    i64::from_be_bytes(first)
}

/// Where transitions come from: a scan run (its id and status), or exception changes outside one.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// A scan run; a `targeted` one is never the latest complete run `last_seen` is derived
    /// from, so it writes `last_seen` of what it saw, as a partial run does.
    Run {
        id: i64,
        status: RunStatus,
        targeted: bool,
    },
    Exceptions,
}

/// The statements transitions are written with.
struct Writer<'t> {
    insert: super::db::Statement<'t>,
    update: super::db::Statement<'t>,
    except: super::db::Statement<'t>,
    expire: super::db::Statement<'t>,
    resolve: super::db::Statement<'t>,
    terms: super::db::Statement<'t>,
    add_text: super::db::Statement<'t>,
    text_id: super::db::Statement<'t>,
    /// Remediation texts by their id in `remediation_texts`, once looked up.
    texts: HashMap<std::sync::Arc<str>, i64>,
}

impl<'t> Writer<'t> {
    fn new(tx: &'t Transaction) -> Result<Writer<'t>> {
        Ok(Writer {
            insert: tx.prepare(
                "INSERT INTO findings (id, rule, severity, state, system, account, subject, employee_id, live, first_seen, \
                   last_seen, last_run, exception_id, evidence, remediation, content, unit, remediation_text) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12, ?13, '', ?14, ?15, ?16)",
            )?,
            update: tx.prepare(
                "UPDATE findings SET severity = ?2, state = ?3, employee_id = ?4, live = ?5, last_seen = ?6, last_run = ?7, \
                   exception_id = ?8, evidence = ?9, remediation = ?10, content = ?11, unit = ?12, remediation_text = NULL, \
                   resolved_at = CASE WHEN ?3 = 'resolved' THEN resolved_at ELSE NULL END, \
                   resolved_by_run = CASE WHEN ?3 = 'resolved' THEN resolved_by_run ELSE NULL END \
                 WHERE id = ?1",
            )?,
            except: tx.prepare(
                "UPDATE findings SET state = 'excepted', exception_id = ?2 WHERE id = ?1 AND state = 'open'",
            )?,
            expire: tx.prepare(
                "UPDATE findings SET state = 'open', exception_id = NULL WHERE id = ?1 AND state = 'excepted'",
            )?,
            resolve: tx.prepare(
                "UPDATE findings SET state = 'resolved', resolved_at = ?2, resolved_by_run = ?3, live = 0 WHERE id = ?1",
            )?,
            terms: tx.prepare("SELECT expires_at, approver FROM exceptions WHERE id = ?1")?,
            add_text: tx.prepare(
                "INSERT INTO remediation_texts (text) VALUES (?1) ON CONFLICT(text) DO NOTHING",
            )?,
            text_id: tx.prepare("SELECT id FROM remediation_texts WHERE text = ?1")?,
            texts: HashMap::new(),
        })
    }

    /// The expiry and approver of exception `id`, as stored.
    fn exception_terms(&mut self, id: &str) -> Result<(Option<String>, Option<String>)> {
        use super::db::OptionalExtension;
        Ok(self
            .terms
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .map_or((None, None), |(e, a)| (Some(e), Some(a))))
    }

    /// The id of remediation text `text` in `remediation_texts`, added when new.
    fn text(&mut self, text: &std::sync::Arc<str>) -> Result<i64> {
        if let Some(id) = self.texts.get(text) {
            return Ok(*id);
        }
        self.add_text.execute([&**text])?;
        let id: i64 = self.text_id.query_row([&**text], |r| r.get(0))?;
        self.texts.insert(text.clone(), id);
        Ok(id)
    }

    /// Writes a candidate's row as a run saw it; `insert` for a new finding. A new row refers to
    /// its rule's remediation text (filled in with its system and account when read) instead of
    /// holding a copy: a large system has hundreds of thousands of findings of a few rules. A
    /// rewritten row holds the text filled in, as every row did before.
    fn candidate(
        &mut self,
        id: &str,
        c: &Candidate,
        exception: Option<&str>,
        at: &str,
        run: i64,
        insert: bool,
    ) -> Result<()> {
        let state = if exception.is_some() {
            FindingState::Excepted
        } else {
            FindingState::Open
        };
        let remediation = c.remediation();
        let content = content_of(c, &remediation);
        let live = c.live.map(i64::from);
        let evidence = c.evidence.packed();
        if insert {
            let text = self.text(&c.remediation_template)?;
            self.insert.execute(params![
                id,
                c.rule.as_str(),
                c.severity.as_str(),
                state.as_str(),
                c.system,
                c.account,
                c.subject,
                c.employee_id,
                live,
                at,
                run,
                exception,
                evidence,
                content,
                c.unit,
                text
            ])?;
        } else {
            self.update.execute(params![
                id,
                c.severity.as_str(),
                state.as_str(),
                c.employee_id,
                live,
                at,
                run,
                exception,
                evidence,
                remediation,
                content,
                c.unit
            ])?;
        }
        Ok(())
    }
}

/// Whether a run that saw the finding `cur` again must rewrite its row: always for a run whose
/// time `last_seen` is not derived from (partial or targeted), else only when something it
/// would write differs.
fn must_rewrite(
    cur: Option<&Current>,
    c: &Candidate,
    exception: Option<&str>,
    last_seen_derived: bool,
) -> bool {
    let Some(cur) = cur else { return true };
    let state = if exception.is_some() {
        FindingState::Excepted
    } else {
        FindingState::Open
    };
    !last_seen_derived
        || cur.unit.as_deref() != Some(c.unit.as_str())
        || cur.state != state
        || cur.exception_id.as_deref() != exception
        || cur.content != Some(content_of(c, &c.remediation()))
}

/// Writes planned transitions and appends their events, inside the caller's transaction.
/// `current` is what the plan started from; `at` the time of the run or of the change.
pub fn apply(
    tx: &Tx,
    source: Source,
    current: &HashMap<String, Current>,
    transitions: &[Transition],
    at: &str,
) -> Result<()> {
    let mut events = EventWriter::new(tx)?;
    let mut w = Writer::new(tx)?;
    let run_id = match source {
        Source::Run { id, .. } => Some(id),
        Source::Exceptions => None,
    };
    for t in transitions {
        let Some(detail) = w.transition(source, current, t, at)? else {
            continue;
        };
        if let Some(kind) = t.event() {
            events.append(t.id(), kind, at, run_id, &detail)?;
        }
    }
    Ok(())
}

impl Writer<'_> {
    /// Writes one transition's row change and returns the detail of its event (`None` for a
    /// finding seen again, which appends none).
    fn transition(
        &mut self,
        source: Source,
        current: &HashMap<String, Current>,
        t: &Transition,
        at: &str,
    ) -> Result<Option<serde_json::Value>> {
        let id = t.id();
        let run_id = match source {
            Source::Run { id, .. } => id,
            Source::Exceptions => 0,
        };
        let detail = match t {
            Transition::Opened {
                candidate: c,
                exception,
                ..
            } => {
                self.candidate(id, c, exception.as_deref(), at, run_id, true)?;
                json!({"rule": c.rule.as_str(), "severity": c.severity, "subject": c.subject})
            }
            Transition::Seen {
                candidate: c,
                exception,
                ..
            } => {
                self.seen(source, current.get(id), id, c, exception.as_deref(), at)?;
                return Ok(None);
            }
            Transition::Reopened {
                candidate: c,
                exception,
                ..
            } => {
                self.candidate(id, c, exception.as_deref(), at, run_id, false)?;
                json!({"subject": c.subject})
            }
            Transition::Excepted { exception, .. } => {
                self.except.execute(params![id, exception])?;
                // What the exception said when it took effect, so that `audit verify` can tell
                // an exception edited afterwards.
                let (expires_at, approver) = self.exception_terms(exception)?;
                json!({"exception": exception, "expires_at": expires_at, "approver": approver})
            }
            Transition::ExceptionExpired { exception, .. } => {
                self.expire.execute([id])?;
                json!({"exception": exception})
            }
            Transition::Resolved { run, unit, .. } => {
                self.resolve.execute(params![id, at, run])?;
                let status = match source {
                    Source::Run { status, .. } => status.as_str(),
                    Source::Exceptions => "complete",
                };
                json!({"proof": {"scan_run": run, "status": status, "unit": unit}})
            }
            Transition::ExceptionPolicy {
                reopens, detail, ..
            } => {
                if *reopens {
                    self.expire.execute([id])?;
                }
                detail.clone()
            }
        };
        Ok(Some(detail))
    }

    /// A finding a run saw again: its row is rewritten only when the run's time is not derived
    /// for it or something it would write differs (see [`must_rewrite`]).
    fn seen(
        &mut self,
        source: Source,
        cur: Option<&Current>,
        id: &str,
        c: &Candidate,
        exception: Option<&str>,
        at: &str,
    ) -> Result<()> {
        if let Source::Run {
            id: run,
            status,
            targeted,
        } = source
        {
            let derived = status == RunStatus::Complete && !targeted;
            if must_rewrite(cur, c, exception, derived) {
                self.candidate(id, c, exception, at, run, false)?;
            }
        }
        Ok(())
    }
}

/// Records `changes` (exceptions revoked or changed, already written to `exceptions`) on their
/// findings, turns excepted findings whose exception is no longer live back to `open`, and open
/// findings that a live exception covers to `excepted`, inside the caller's transaction. Returns
/// how many transitions were applied.
pub fn apply_exceptions(
    tx: &Tx,
    changes: &[crate::findings::ExceptionChange],
    now: DateTime<Utc>,
) -> Result<usize> {
    let current = current_for_exceptions(tx)?;
    let covers = super::exceptions::covers(tx)?;
    let transitions = crate::findings::plan_exceptions(&current, changes, &covers, now);
    apply(
        tx,
        Source::Exceptions,
        &current,
        &transitions,
        &format_time(&now),
    )?;
    Ok(transitions.len())
}

/// Open findings counted by severity, rule and system.
#[derive(Debug, Clone, Serialize)]
pub struct OpenCount {
    pub severity: String,
    pub rule: String,
    pub system: String,
    pub count: i64,
}

/// Counts of open findings in `systems`, most severe first.
pub fn open_summary(conn: &Connection, systems: &[String]) -> Result<Vec<OpenCount>> {
    let mut stmt = conn.prepare(
        "SELECT severity, rule, system, COUNT(*) FROM findings WHERE state = 'open' AND system = ?1 \
         GROUP BY severity, rule, system \
         ORDER BY CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END, rule",
    )?;
    let mut out = Vec::new();
    for system in systems {
        let rows = stmt.query_map([system], |r| {
            Ok(OpenCount {
                severity: r.get(0)?,
                rule: r.get(1)?,
                system: r.get(2)?,
                count: r.get(3)?,
            })
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// Every system the store knows: those with findings and those with runs, in name order.
pub fn systems(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt =
        conn.prepare("SELECT system FROM findings UNION SELECT system FROM scan_runs ORDER BY 1")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<super::db::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence_text::EvidenceText;
    use crate::findings::finding_id;
    use crate::severity::Severity;
    use crate::store::Store;

    const EVIDENCE: &str = concat!(
        r#"{"account":{"attributes":{},"created_at":"2024-01-01T00:00:00Z","enabled":true,"#,
        r#""kind":"user","last_used_at":"2026-11-15T08:00:00Z","name":"ann"},"#,
        r#""person":{"departed_at":"2026-05-13T00:00:00Z","email":"ann@example.com","#,
        r#""employee_id":"E1","link":{"confidence":0.9,"method":"email"},"status":"leaver"}}"#
    );

    fn ann() -> Candidate {
        Candidate {
            rule: crate::rule_id::RuleId::LeaverActiveAccount,
            severity: Severity::High,
            system: "inventory:crm".into(),
            account: "ann".into(),
            subject: "ann".into(),
            unit: "accounts".into(),
            employee_id: Some("E1".into()),
            live: Some(true),
            evidence: EvidenceText::from_json(EVIDENCE),
            remediation_template: std::sync::Arc::from("disable {account}"),
        }
    }

    fn stored(store: &Store) -> String {
        store
            .conn()
            .query_row("SELECT evidence FROM findings", [], |r| r.get(0))
            .expect("evidence")
    }

    fn listed(store: &Store) -> serde_json::Value {
        let all = list(store.conn(), &Filter::default()).expect("list");
        assert_eq!(all.len(), 1);
        all[0].evidence.clone()
    }

    /// Evidence is stored packed, at well under half its JSON, and reads back as the JSON it
    /// was; a row stored before (plain JSON) reads as it is. On both backends.
    #[test]
    fn evidence_is_stored_packed_and_reads_back_as_written() {
        for (_dir, mut store) in crate::store::testing::stores() {
            let c = ann();
            let id = finding_id(c.rule.as_str(), &c.system, &c.subject);
            let opened = [Transition::Opened {
                id: id.clone(),
                candidate: &c,
                exception: None,
            }];
            let tx = store.transaction().expect("tx");
            let source = Source::Run {
                id: 1,
                status: RunStatus::Complete,
                targeted: false,
            };
            apply(
                &tx,
                source,
                &HashMap::new(),
                &opened,
                "2026-12-01T00:00:00Z",
            )
            .expect("apply");
            tx.commit().expect("commit");
            let expected: serde_json::Value = serde_json::from_str(EVIDENCE).expect("json");
            let packed = stored(&store);
            assert!(packed.len() * 2 < EVIDENCE.len(), "{} bytes", packed.len());
            assert_eq!(listed(&store), expected);
            store
                .conn()
                .execute(
                    "UPDATE findings SET evidence = ?1 WHERE id = ?2",
                    [EVIDENCE, &id],
                )
                .expect("plain");
            assert_eq!(listed(&store), expected, "a plain row reads as it is");
        }
    }
}
