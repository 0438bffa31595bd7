//! `residual findings`: list findings, and gate on them with `--fail-on`.

use super::{Context, Exit, UsageError};
use crate::cli::{FindingsArgs, StateFilter};
use crate::findings::FindingState;
use crate::output::{self, findings::COLUMNS};
use crate::rule_id::RuleId;
use crate::severity::Severity;
use crate::store::findings::{self as table, Filter};
use crate::store::{exceptions, Store};
use residual_scanners::SystemId;
use std::collections::{HashMap, HashSet};

pub fn run(ctx: &Context, args: FindingsArgs) -> anyhow::Result<Exit> {
    // A read: opened read-only, nothing synced. An exception that has expired shows its finding
    // as open now; the next write (a scan) records the change in the chain.
    let store = ctx.read_store()?;
    let now = Policy::read(&store, ctx)?;
    let wanted = match args.state {
        StateFilter::Open => Some("open"),
        StateFilter::Resolved => Some("resolved"),
        StateFilter::Excepted => Some("excepted"),
        StateFilter::All => None,
    };
    // Open findings include excepted ones whose exception expired: read both, then decide.
    // A state shown may differ from the stored one (an exception expired, or the file added
    // one since the last write): read the stored states that can turn into the one asked for.
    let stored_states: Vec<Option<&str>> = match wanted {
        Some("open") | Some("excepted") => vec![Some("open"), Some("excepted")],
        other => vec![other],
    };
    let systems = chosen_systems(&store, args.system.as_deref())?;
    if let Some(rule) = &args.rule {
        if rule.parse::<RuleId>().is_err() {
            let known: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
            return Err(UsageError(format!(
                "--rule {rule}: no such rule; the rules are {}",
                known.join(", ")
            ))
            .into());
        }
    }
    let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
    let mut stream =
        output::Streamer::new(&mut stdout, output::default_format(args.format), COLUMNS)?;
    let mut failing = false;
    for (state, system) in stored_states
        .iter()
        .flat_map(|s| systems.iter().map(move |sys| (*s, sys)))
    {
        let filter = Filter {
            state: state.map(str::to_string),
            system: system.clone(),
            rule: args.rule.clone(),
            employee_id: args.employee.clone(),
        };
        table::for_each(store.conn(), &filter, |mut f| {
            now.apply(&mut f);
            if wanted.is_some_and(|w| f.state.as_str() != w) {
                return Ok(());
            }
            failing |= f.state.as_str() == "open"
                && args
                    .gate
                    .fail_on
                    .is_some_and(|t| Severity::parse(&f.severity).is_some_and(|s| s >= t));
            stream.item(&f).map_err(|e| {
                // Keep the kind, so that a closed pipe stays recognisable as one.
                let kind = e
                    .chain()
                    .find_map(|c| c.downcast_ref::<std::io::Error>().map(|io| io.kind()))
                    .unwrap_or(std::io::ErrorKind::Other);
                crate::store::StoreError::Output(std::io::Error::new(kind, format!("{e:#}")))
            })
        })?;
    }
    stream.finish()?;
    Ok(if failing { Exit::Findings } else { Exit::Ok })
}

/// The systems `--system` names: a system id (`inventory:crm`), its kind alone (`inventory`: every
/// system of that kind) or its name alone (`crm`). `[None]` without the flag. Naming nothing the
/// store knows is an error that lists what it knows, never an empty answer.
fn chosen_systems(store: &Store, asked: Option<&str>) -> anyhow::Result<Vec<Option<String>>> {
    let Some(asked) = asked else {
        return Ok(vec![None]);
    };
    let known = table::systems(store.conn())?;
    if known.iter().any(|s| s == asked) {
        return Ok(vec![Some(asked.to_string())]);
    }
    let matching: Vec<Option<String>> = known
        .iter()
        .filter(|s| SystemId::parse(s).answers_to(asked))
        .map(|s| Some(s.clone()))
        .collect();
    if matching.is_empty() {
        return Err(UsageError(format!(
            "--system {asked}: no such system in the store; it knows {}",
            if known.is_empty() {
                "none yet (run a scan first)".to_string()
            } else {
                known.join(", ")
            }
        ))
        .into());
    }
    Ok(matching)
}

/// The exceptions as they stand now, without writing: the store's with the configured file's
/// changes applied (entries added, edited or removed), as the next write will record them.
struct Policy {
    /// Ids of the exceptions that are live now.
    live: HashSet<String>,
    /// Finding id → the live exception that covers it (the one that expires last).
    covering: HashMap<String, String>,
}

impl Policy {
    fn read(store: &Store, ctx: &Context) -> anyhow::Result<Policy> {
        let stored = exceptions::list(store.conn())?;
        let all = crate::exceptions::as_they_stand(&stored, &ctx.exceptions_policy(), ctx.now)?;
        let live = all
            .iter()
            .filter(|e| e.is_live(ctx.now))
            .map(|e| e.id.clone())
            .collect();
        let covers = exceptions::covers_of(all.iter().filter(|e| e.revoked.is_none()));
        let covering = crate::findings::active_covers(&covers, ctx.now)
            .into_iter()
            .map(|(finding, exception)| (finding.to_string(), exception.to_string()))
            .collect();
        Ok(Policy { live, covering })
    }

    /// A finding as it stands now: excepted by an exception that is no longer live (expired,
    /// revoked, shortened) means open; open but covered by a live exception means excepted.
    fn apply(&self, f: &mut table::Finding) {
        if f.state == FindingState::Excepted
            && !f
                .exception_id
                .as_ref()
                .is_some_and(|e| self.live.contains(e))
        {
            f.state = FindingState::Open;
            f.exception_id = None;
        }
        if f.state == FindingState::Open {
            if let Some(e) = self.covering.get(&f.id) {
                f.state = FindingState::Excepted;
                f.exception_id = Some(e.clone());
            }
        }
    }
}
