//! `residual remediate`: the plan for the selected open findings (table, JSON or a reviewed shell
//! script), and with `--apply` the plan carried out: the allowed actions made one by one by the
//! scanners crate, each outcome chained under its findings, then a re-sweep of the touched
//! systems through the ordinary scan pipeline, which alone resolves findings.
//!
//! Without `--apply` nothing is written anywhere (the store is opened read-only). `--apply`
//! refuses, changing nothing, when no action is allowed by `[policy.remediate] allow`, when the
//! plan holds more actions than `--max-actions`, or without `--yes` when no one at a terminal
//! confirmed the list.

use super::{Context, Exit, UsageError};
use crate::cli::{RemediateArgs, RemediateFormat};
use crate::findings::EventKind;
use crate::pipeline::targets;
use crate::remediate::plan::{self, Inputs};
use crate::remediate::{Action, Change, Plan};
use crate::rules::RuleSet;
use crate::store::findings::{self as table, Filter, Finding};
use crate::store::remediation::{self, ActionEvent};
use crate::store::Store;
use anyhow::Context as _;
use residual_scanners::remediate::{
    self as apply_to, AwsChange, GithubChange, GitlabChange, Outcome,
};
use residual_scanners::SystemId;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, IsTerminal, Write};

pub fn run(ctx: &Context, args: RemediateArgs) -> anyhow::Result<Exit> {
    if !args.apply {
        let store = ctx.read_store()?;
        let plan = build(ctx, &store, &args)?;
        render(&plan, format(args.format), ctx)?;
        return Ok(Exit::Ok);
    }
    // A missing store is a usage error, as for the plan: --apply must not create an empty one.
    drop(ctx.read_store()?);
    let mut store = ctx.open_store()?;
    let plan = build(ctx, &store, &args)?;
    let chosen: Vec<&Action> = plan.applicable().collect();
    check_apply(&plan, &chosen, &args)?;
    if chosen.is_empty() {
        render(&plan, format(args.format), ctx)?;
        ctx.progress("remediate: nothing to apply");
        return Ok(Exit::Ok);
    }
    confirm(&chosen, args.yes)?;
    say_what_is_left(ctx, &plan);
    let results = carry_out(ctx, &chosen);
    remediation::record(
        &mut store,
        &residual_scanners::time::format_time(&ctx.now),
        &events_of(&results, &actor(&args)),
    )
    .context("recording the actions in the audit chain")?;
    for r in &results {
        ctx.progress(format!(
            "remediate: {} {}: {}{}",
            r.action.kind,
            r.action.target,
            r.outcome.as_str(),
            match &r.outcome {
                Outcome::Failed { message } => format!(" ({message})"),
                Outcome::AlreadyDone { detail } => format!(" ({detail})"),
                Outcome::Done => String::new(),
            }
        ));
    }
    let covered = resweep(ctx, &mut store, &results)?;
    print_results(&verdicts(&store, &results)?, format(args.format))?;
    let failed = results
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Failed { .. }));
    Ok(if failed || !covered {
        Exit::Scanner
    } else {
        Exit::Ok
    })
}

/// The actions `--apply` leaves (blocked), and how many tasks and refused findings the plan holds.
fn say_what_is_left(ctx: &Context, plan: &Plan) {
    for a in plan.actions.iter().filter(|a| a.blocked.is_some()) {
        ctx.progress(format!(
            "remediate: not applied: {} {} ({})",
            a.kind,
            a.target,
            a.blocked.as_deref().unwrap_or_default()
        ));
    }
    if !plan.tasks.is_empty() || !plan.refused.is_empty() {
        ctx.progress(format!(
            "remediate: {} tasks by hand and {} refused findings are not applied; `residual remediate` without --apply lists them",
            plan.tasks.len(),
            plan.refused.len()
        ));
    }
}

/// The proof: the configured scanners of the touched systems sweep again (aws-iam targeted at the
/// people whose findings were acted on), and only a run that covers a finding's unit and no
/// longer sees it resolves the finding. Says each case whose
/// state the sweep changed; `false` when a system could not be swept completely (or no scanner
/// sweeps it).
fn resweep(ctx: &Context, store: &mut Store, results: &[Carried]) -> anyhow::Result<bool> {
    let scanners = scanners_of(results);
    if scanners.is_empty() {
        ctx.progress(
            "remediate: no configured scanner sweeps the touched systems; run `residual scan` to verify",
        );
        return Ok(false);
    }
    ctx.progress(format!(
        "remediate: re-sweeping {} to verify",
        scanners.join(", ")
    ));
    // Targeted where the scanner can be (aws-iam: only these people's IAM users, once a full
    // sweep has linked them); a targeted run resolves only what it looked at.
    let mut employees: Vec<String> = results
        .iter()
        .filter_map(|r| r.action.employee_id.clone())
        .collect();
    employees.sort();
    employees.dedup();
    let runs = super::nightly::sweep_focused(ctx, store, &scanners, &employees)?;
    for change in runs.iter().flat_map(|r| &r.cases) {
        ctx.progress(crate::pipeline::cases::describe(change));
    }
    Ok(runs.iter().all(|r| !r.could_not_cover))
}

fn format(asked: Option<RemediateFormat>) -> RemediateFormat {
    asked.unwrap_or_else(|| {
        if std::io::stdout().is_terminal() {
            RemediateFormat::Table
        } else {
            RemediateFormat::Json
        }
    })
}

/// The plan for the findings the arguments select.
fn build(ctx: &Context, store: &Store, args: &RemediateArgs) -> anyhow::Result<Plan> {
    let findings = select(store, args)?;
    let rules = RuleSet::builtin()?;
    let people = crate::store::people::load_all(store.conn())?;
    let mut systems: Vec<String> = findings.iter().map(|f| f.system.clone()).collect();
    systems.sort();
    systems.dedup();
    let latest_runs = remediation::latest_runs(store.conn(), &systems)?;
    let mut observed = HashMap::new();
    for system in systems
        .iter()
        .filter(|s| s.starts_with("aws-iam:") || s.starts_with("gitlab:"))
    {
        if let Some(obs) = crate::store::observations::latest_complete(store.conn(), system)? {
            observed.insert(system.clone(), obs);
        }
    }
    Ok(plan::plan(&Inputs {
        findings: &findings,
        rules: &rules,
        people: &people,
        latest_runs: &latest_runs,
        observed: &observed,
        now: ctx.now,
        mover_grace_days: ctx.config.policy.mover_grace_days,
        allow: &ctx.config.policy.remediate.allow,
        allow_delete: args.allow_delete,
    }))
}

/// The open findings `--finding`, `--employee`, `--case`, `--rule` and `--system` select (all
/// open findings without them). A named finding that is not open is an error: it says so rather
/// than planning nothing.
fn select(store: &Store, args: &RemediateArgs) -> anyhow::Result<Vec<Finding>> {
    let mut employees = args.employees.clone();
    if let Some(case) = &args.case {
        let id = crate::cases::parse_case_id(case).ok_or_else(|| {
            UsageError(format!(
                "--case {case}: give a case id as `residual cases` shows it (CASE-N)"
            ))
        })?;
        let employee = remediation::case_employee(store.conn(), id)?
            .ok_or_else(|| UsageError(format!("--case {case}: no such leaver or mover case")))?;
        employees.push(employee);
    }
    for id in &args.findings {
        match table::get(store.conn(), id)? {
            None => return Err(UsageError(format!("--finding {id}: no such finding")).into()),
            Some(f) if f.state.as_str() != "open" => {
                return Err(UsageError(format!(
                    "--finding {id}: the finding is {}, not open",
                    f.state.as_str()
                ))
                .into())
            }
            Some(_) => {}
        }
    }
    let filter = Filter {
        state: Some("open".into()),
        rule: args.rule.clone(),
        ..Filter::default()
    };
    Ok(table::list(store.conn(), &filter)?
        .into_iter()
        .filter(|f| args.findings.is_empty() || args.findings.contains(&f.id))
        .filter(|f| {
            employees.is_empty()
                || f.employee_id
                    .as_ref()
                    .is_some_and(|e| employees.contains(e))
        })
        .filter(|f| {
            args.system
                .as_deref()
                .is_none_or(|s| system_matches(s, &f.system))
        })
        .collect())
}

/// `--system`: a system id (`aws-iam:123456789012`), its kind (`aws-iam`) or its name.
fn system_matches(asked: &str, system: &str) -> bool {
    SystemId::parse(system).answers_to(asked)
}

/// The refusals of `--apply` that leave everything unchanged.
fn check_apply(plan: &Plan, chosen: &[&Action], args: &RemediateArgs) -> anyhow::Result<()> {
    if chosen.is_empty() && !plan.actions.is_empty() {
        let mut why: Vec<&str> = plan
            .actions
            .iter()
            .filter_map(|a| a.blocked.as_deref())
            .collect();
        why.sort();
        why.dedup();
        return Err(UsageError(format!(
            "--apply: no action of the plan may be applied, nothing was changed: {}. \
             Allow action kinds in [policy.remediate] allow of the configuration (e.g. allow = [\"aws-iam:*\"])",
            why.join("; ")
        ))
        .into());
    }
    if chosen.len() > args.max_actions {
        return Err(UsageError(format!(
            "--apply: the plan holds {} actions, more than --max-actions {}; nothing was changed. \
             Narrow the selection (--employee, --finding, --system) or raise --max-actions",
            chosen.len(),
            args.max_actions
        ))
        .into());
    }
    Ok(())
}

/// `--yes`, or a person at a terminal who read the list and said yes.
fn confirm(chosen: &[&Action], yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err(UsageError(
            "--apply changes systems: confirm with --yes when not run at a terminal; nothing was changed"
                .into(),
        )
        .into());
    }
    let mut err = std::io::stderr().lock();
    writeln!(
        err,
        "residual remediate will make these {} changes:",
        chosen.len()
    )?;
    for a in chosen {
        writeln!(err, "  {}  {}  ({})", a.kind, a.target, a.system)?;
    }
    write!(err, "Apply them? [y/N] ")?;
    err.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes") {
        Ok(())
    } else {
        Err(UsageError("not confirmed; nothing was changed".into()).into())
    }
}

/// Who ran the command: `--actor`, else the OS user.
fn actor(args: &RemediateArgs) -> String {
    args.actor
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// One action and what carrying it out found.
struct Carried<'a> {
    action: &'a Action,
    outcome: Outcome,
    /// The configured scanner that reaches the action's system (what re-sweeps it).
    scanner: Option<String>,
}

/// Carries out `chosen`, system by system, in the plan's order within each.
fn carry_out<'a>(ctx: &Context, chosen: &[&'a Action]) -> Vec<Carried<'a>> {
    let mut by_system: BTreeMap<&str, Vec<&'a Action>> = BTreeMap::new();
    for a in chosen {
        by_system.entry(&a.system).or_default().push(a);
    }
    let mut out = Vec::new();
    for (system, actions) in by_system {
        let (outcomes, scanner) = carry_out_in(ctx, system, &actions);
        for (action, outcome) in actions.into_iter().zip(outcomes) {
            out.push(Carried {
                action,
                outcome,
                scanner: scanner.clone(),
            });
        }
    }
    out
}

/// The outcomes of `actions` (all of one system), and the scanner that reaches the system.
fn carry_out_in(
    ctx: &Context,
    system: &str,
    actions: &[&Action],
) -> (Vec<Outcome>, Option<String>) {
    let aws: Vec<AwsChange> = actions
        .iter()
        .filter_map(|a| match &a.change {
            Change::AwsIam { change, .. } => Some(change.clone()),
            _ => None,
        })
        .collect();
    let github: Vec<GithubChange> = actions
        .iter()
        .filter_map(|a| match &a.change {
            Change::Github { change, .. } => Some(change.clone()),
            _ => None,
        })
        .collect();
    let gitlab: Vec<GitlabChange> = actions
        .iter()
        .filter_map(|a| match &a.change {
            Change::Gitlab { change, .. } => Some(change.clone()),
            _ => None,
        })
        .collect();
    let n = actions.len();
    if let Some(account) = system.strip_prefix("aws-iam:").filter(|_| aws.len() == n) {
        return match aws_target(ctx, account) {
            Ok((name, config)) => {
                ctx.progress(format!(
                    "remediate: applying {n} changes in {system} (scanner {name})"
                ));
                let outcomes = apply_to::aws_iam::apply(&config, account, &aws)
                    .unwrap_or_else(|e| fail_all(n, &e.to_string()));
                (outcomes, Some(name))
            }
            Err(message) => (fail_all(n, &message), None),
        };
    }
    if let Some(org) = system.strip_prefix("github:").filter(|_| github.len() == n) {
        return match github_target(ctx, org) {
            Ok((name, config)) => {
                ctx.progress(format!(
                    "remediate: applying {n} changes in {system} (scanner {name})"
                ));
                let outcomes = apply_to::github::apply(config, &github)
                    .unwrap_or_else(|e| fail_all(n, &e.to_string()));
                (outcomes, Some(name))
            }
            Err(message) => (fail_all(n, &message), None),
        };
    }
    if let Some(group) = system.strip_prefix("gitlab:").filter(|_| gitlab.len() == n) {
        return match gitlab_target(ctx, group) {
            Ok((name, config)) => {
                ctx.progress(format!(
                    "remediate: applying {n} changes in {system} (scanner {name})"
                ));
                let outcomes = apply_to::gitlab::apply(config, &gitlab)
                    .unwrap_or_else(|e| fail_all(n, &e.to_string()));
                (outcomes, Some(name))
            }
            Err(message) => (fail_all(n, &message), None),
        };
    }
    (
        fail_all(n, &format!("{system}: this build cannot change it")),
        None,
    )
}

/// The configured gitlab scanner of `group`: its token and API URL make the changes.
fn gitlab_target(
    ctx: &Context,
    group: &str,
) -> Result<(String, residual_scanners::gitlab::GitlabScanConfig), String> {
    let entry = ctx
        .config
        .scanners
        .iter()
        .find(|s| s.kind == "gitlab" && s.group.as_deref() == Some(group))
        .ok_or_else(|| format!("no gitlab scanner is configured for the {group} group"))?;
    targets::gitlab_from_entry(entry)
        .map(|c| (entry.name.clone(), c))
        .map_err(|e| e.to_string())
}

/// The configured github scanner of `org`: its token (or App) and API URL make the changes.
fn github_target(
    ctx: &Context,
    org: &str,
) -> Result<(String, residual_scanners::github::GithubScanConfig), String> {
    let entry = ctx
        .config
        .scanners
        .iter()
        .find(|s| s.kind == "github" && s.org.as_deref() == Some(org))
        .ok_or_else(|| format!("no github scanner is configured for the {org} organisation"))?;
    targets::github_from_entry(&ctx.config, entry)
        .map(|c| (entry.name.clone(), c))
        .map_err(|e| e.to_string())
}

fn fail_all(n: usize, message: &str) -> Vec<Outcome> {
    (0..n)
        .map(|_| Outcome::Failed {
            message: message.to_string(),
        })
        .collect()
}

/// The configured aws-iam scanner whose credentials reach `account`: the one that sweeps it,
/// so the change is made with the same credentials (and the same endpoint) as the sweep.
fn aws_target(
    ctx: &Context,
    account: &str,
) -> Result<(String, residual_scanners::aws_iam::AwsScanConfig), String> {
    let mut tried = Vec::new();
    for s in ctx.config.scanners.iter().filter(|s| s.kind == "aws-iam") {
        for config in targets::aws_from_entry(s) {
            match apply_to::aws_iam::account_of(&config) {
                Ok(a) if a == account => return Ok((s.name.clone(), config)),
                Ok(a) => tried.push(format!("{} reaches {a}", s.name)),
                Err(e) => tried.push(format!("{}: {e}", s.name)),
            }
        }
    }
    Err(if tried.is_empty() {
        format!("no aws-iam scanner is configured; account {account} cannot be reached")
    } else {
        format!(
            "no configured aws-iam scanner reaches account {account} ({})",
            tried.join("; ")
        )
    })
}

/// One chained event per finding an action served.
fn events_of(results: &[Carried], actor: &str) -> Vec<ActionEvent> {
    let mut out = Vec::new();
    for r in results {
        let kind = match r.outcome {
            Outcome::Done => EventKind::RemediationApplied,
            Outcome::AlreadyDone { .. } => EventKind::RemediationSkipped,
            Outcome::Failed { .. } => EventKind::RemediationFailed,
        };
        let detail = serde_json::json!({
            "action": r.action.kind,
            "call": r.action.call,
            "target": r.action.target,
            "system": r.action.system,
            "actor": actor,
            "result": r.outcome,
        });
        for id in &r.action.finding_ids {
            out.push(ActionEvent {
                finding_id: id.clone(),
                kind,
                detail: detail.clone(),
            });
        }
    }
    out
}

/// The configured scanners that sweep the systems the actions touched.
fn scanners_of(results: &[Carried]) -> Vec<String> {
    let mut names: Vec<String> = results.iter().filter_map(|r| r.scanner.clone()).collect();
    names.sort();
    names.dedup();
    names
}

/// What `--apply` prints: each action with its outcome and the state of its findings after the
/// re-sweep.
#[derive(Debug, Serialize)]
struct ResultRow {
    kind: String,
    target: String,
    system: String,
    call: String,
    result: &'static str,
    message: Option<String>,
    finding_ids: Vec<String>,
    /// Each finding's state after the re-sweep (`resolved` only when a complete run proved it).
    findings_after: Vec<String>,
}

fn verdicts(store: &Store, results: &[Carried]) -> anyhow::Result<Vec<ResultRow>> {
    let mut out = Vec::new();
    for r in results {
        let mut after = Vec::new();
        for id in &r.action.finding_ids {
            let state = table::get(store.conn(), id)?
                .map(|f| match f.resolved_by_run {
                    Some(run) if f.state.as_str() == "resolved" => format!("resolved by run {run}"),
                    _ => f.state.as_str().to_string(),
                })
                .unwrap_or_else(|| "gone".into());
            after.push(state);
        }
        out.push(ResultRow {
            kind: r.action.kind.clone(),
            target: r.action.target.clone(),
            system: r.action.system.clone(),
            call: r.action.call.clone(),
            result: r.outcome.as_str(),
            message: match &r.outcome {
                Outcome::Failed { message } => Some(message.clone()),
                Outcome::AlreadyDone { detail } => Some(detail.clone()),
                Outcome::Done => None,
            },
            finding_ids: r.action.finding_ids.clone(),
            findings_after: after,
        });
    }
    Ok(out)
}

fn print_results(rows: &[ResultRow], format: RemediateFormat) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        RemediateFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &serde_json::json!({ "applied": rows }))?;
            writeln!(out)?;
        }
        _ => crate::output::write(
            &mut out,
            crate::cli::Format::Table,
            &["kind", "target", "result", "message", "findings_after"],
            rows,
        )?,
    }
    Ok(())
}

/// Prints the plan in `format`.
fn render(plan: &Plan, format: RemediateFormat, ctx: &Context) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        RemediateFormat::Json => {
            serde_json::to_writer_pretty(&mut out, plan)?;
            writeln!(out)?;
        }
        RemediateFormat::Script => {
            out.write_all(crate::remediate::script::render(plan, ctx.now).as_bytes())?
        }
        RemediateFormat::Table => {
            #[derive(Serialize)]
            struct Row<'a> {
                kind: &'a str,
                target: &'a str,
                reversible: bool,
                status: String,
                command: &'a str,
            }
            let rows: Vec<Row> = plan
                .actions
                .iter()
                .map(|a| Row {
                    kind: &a.kind,
                    target: &a.target,
                    reversible: a.reversible,
                    status: a
                        .blocked
                        .clone()
                        .unwrap_or_else(|| "applies with --apply".into()),
                    command: &a.command,
                })
                .collect();
            let table = crate::cli::Format::Table;
            writeln!(out, "Actions ({}):", rows.len())?;
            crate::output::write(
                &mut out,
                table,
                &["kind", "target", "reversible", "status", "command"],
                &rows,
            )?;
            if !plan.tasks.is_empty() {
                writeln!(out, "\nTasks by hand ({}):", plan.tasks.len())?;
                crate::output::write(
                    &mut out,
                    table,
                    &["finding_id", "rule", "text"],
                    &plan.tasks,
                )?;
            }
            if !plan.refused.is_empty() {
                writeln!(out, "\nRefused ({}):", plan.refused.len())?;
                crate::output::write(
                    &mut out,
                    table,
                    &["finding_id", "rule", "reason"],
                    &plan.refused,
                )?;
            }
        }
    }
    Ok(())
}
