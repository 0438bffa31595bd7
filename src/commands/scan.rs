//! `residual scan`: run scanners, record each run with its observations, evaluate the rules, and
//! apply the finding lifecycle — all of one run in one transaction.
//!
//! Without arguments it is the nightly job: import the configured HR source when it changed, then
//! run every configured scanner. Exit 3 when any run was partial or failed (those runs resolve
//! nothing), else 1 when `--fail-on` is given and an open finding of the scanned systems reaches it.

use super::verify::Verifier;
use super::{codehost, Context, Exit, UsageError};
use crate::cli::{AwsArgs, Format, ScanArgs, ScanCommand, ScanOptions, VerifyArgs};
use crate::config::ScannerConfig;
use crate::evaluate;
use crate::link::PeopleIndex;
use crate::output;
use crate::rules::RuleSet;
use crate::severity::Severity;
use crate::store::findings::{self as table, Filter};
use crate::store::{people, Store};
use residual_scanners::aws_iam::{self, AwsScanConfig, TagKeys};
use residual_scanners::{inventory, RunStatus, ScanReport};
use std::io::Write;
use std::path::Path;

pub fn run(ctx: &Context, args: ScanArgs) -> anyhow::Result<Exit> {
    let mut store = ctx.open_store()?;
    match args.scanner {
        Some(ScanCommand::Inventory {
            system,
            file,
            partial,
            options,
        }) => {
            let mut report = scan_inventory(ctx, &system, &file)?;
            if partial && report.status == RunStatus::Complete {
                report.status = RunStatus::Partial;
                report.errors.push("declared partial with --partial".into());
            }
            let status = record(ctx, &mut store, report)?;
            finish(ctx, &store, &[status], options)
        }
        Some(ScanCommand::Git {
            paths,
            name,
            full,
            verify,
            options,
        }) => {
            if name.is_some() && paths.len() > 1 {
                return Err(UsageError("--name names one repository; give one path".into()).into());
            }
            let mut statuses = Vec::new();
            for path in &paths {
                let verifier = verify
                    .verify
                    .then(|| Verifier::new(super::verify::settings(ctx, &verify)));
                statuses.push(scan_git(
                    ctx,
                    &mut store,
                    path,
                    name.as_deref(),
                    full,
                    verifier.as_ref(),
                )?);
            }
            finish(ctx, &store, &statuses, options)
        }
        Some(ScanCommand::Aws { aws, options }) => {
            let mut statuses = Vec::new();
            for report in sweep_aws(ctx, aws_configs_from_args(&aws))? {
                statuses.push(record(ctx, &mut store, report)?);
            }
            finish(ctx, &store, &statuses, options)
        }
        Some(ScanCommand::Github { github, options }) => {
            let cfg = codehost::github_config_from_args(&github)?;
            let status = record(ctx, &mut store, codehost::sweep_github(ctx, cfg)?)?;
            finish(ctx, &store, &[status], options)
        }
        Some(ScanCommand::Gitlab { gitlab, options }) => {
            let cfg = codehost::gitlab_config_from_args(&gitlab);
            let status = record(ctx, &mut store, codehost::sweep_gitlab(ctx, cfg)?)?;
            finish(ctx, &store, &[status], options)
        }
        None => {
            let chosen = choose(ctx, &args.names)?;
            if args.names.is_empty() {
                if let Some(hr) = &ctx.config.hr {
                    let source = ctx.config.resolve(&hr.source);
                    drop(store);
                    super::hr::import(ctx, &source, hr.format, ctx.now, true)?;
                    store = ctx.open_store()?;
                }
            }
            if chosen.is_empty() {
                return Err(UsageError(
                    "no scanners configured: add [[scanner]] entries to the configuration, or run e.g. \
                     `residual scan inventory --system NAME FILE`"
                        .into(),
                )
                .into());
            }
            let mut statuses = Vec::new();
            for s in chosen {
                let reports = match s.kind.as_str() {
                    "inventory" => {
                        let file = s
                            .file
                            .as_deref()
                            .map(|f| ctx.config.resolve(f))
                            .unwrap_or_default();
                        vec![scan_inventory(
                            ctx,
                            s.system.as_deref().unwrap_or(&s.name),
                            &file,
                        )?]
                    }
                    "aws-iam" | "aws" => sweep_aws(ctx, aws_configs_from_entry(s))?,
                    "github" => vec![codehost::sweep_github(
                        ctx,
                        codehost::github_config_from_entry(ctx, s)?,
                    )?],
                    "gitlab" => vec![codehost::sweep_gitlab(
                        ctx,
                        codehost::gitlab_config_from_entry(s)?,
                    )?],
                    "git" => {
                        for path in &s.paths {
                            let path = ctx.config.resolve(path);
                            let verifier = (s.verify == Some(true)).then(|| {
                                Verifier::new(super::verify::settings(ctx, &VerifyArgs::default()))
                            });
                            statuses.push(scan_git(
                                ctx,
                                &mut store,
                                &path,
                                None,
                                false,
                                verifier.as_ref(),
                            )?);
                        }
                        Vec::new()
                    }
                    other => {
                        return Err(UsageError(format!(
                            "scanner `{}`: unknown kind `{other}`",
                            s.name
                        ))
                        .into())
                    }
                };
                for report in reports {
                    statuses.push(record(ctx, &mut store, report)?);
                }
            }
            finish(ctx, &store, &statuses, args.options)
        }
    }
}

/// One configured scanner by name, after importing the configured HR source when it changed: what
/// the daemon runs at each firing.
pub fn run_named(ctx: &Context, name: &str) -> anyhow::Result<Exit> {
    if let Some(hr) = &ctx.config.hr {
        super::hr::import(
            ctx,
            &ctx.config.resolve(&hr.source),
            hr.format,
            ctx.now,
            true,
        )?;
    }
    run(
        ctx,
        ScanArgs {
            scanner: None,
            names: vec![name.to_string()],
            options: ScanOptions::default(),
        },
    )
}

fn choose<'c>(ctx: &'c Context, names: &[String]) -> anyhow::Result<Vec<&'c ScannerConfig>> {
    if names.is_empty() {
        return Ok(ctx.config.scanners.iter().collect());
    }
    names
        .iter()
        .map(|n| {
            ctx.config
                .scanners
                .iter()
                .find(|s| &s.name == n)
                .ok_or_else(|| {
                    let known: Vec<&str> = ctx
                        .config
                        .scanners
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect();
                    UsageError(format!(
                        "no scanner named `{n}` in the configuration (configured: {})",
                        known.join(", ")
                    ))
                    .into()
                })
        })
        .collect()
}

/// Reads an export. A file that cannot be read is a failed run (the export did not arrive
/// tonight); a file with a bad row is an input error that records nothing.
fn scan_inventory(ctx: &Context, system: &str, file: &Path) -> anyhow::Result<ScanReport> {
    ctx.progress(format!(
        "scan inventory:{system}: reading {}",
        file.display()
    ));
    let started_at = chrono::Utc::now();
    match inventory::scan_inventory(system, file) {
        Ok(report) => Ok(report),
        Err(e @ inventory::InventoryError::Io { .. }) => Ok(ScanReport {
            scanner: "inventory".into(),
            system: format!("inventory:{system}"),
            status: RunStatus::Failed,
            started_at,
            finished_at: chrono::Utc::now(),
            observations: Default::default(),
            errors: vec![format!("{:#}", anyhow::Error::new(e))],
            calls: 0,
        }),
        Err(e) => Err(e.into()),
    }
}

fn aws_configs_from_args(a: &AwsArgs) -> Vec<AwsScanConfig> {
    let base = AwsScanConfig {
        profile: a.profile.clone(),
        endpoint_url: a.endpoint_url.clone(),
        region: a.region.clone(),
        external_id: a.external_id.clone(),
        ..AwsScanConfig::default()
    };
    with_roles(
        base,
        a.role_arns
            .iter()
            .map(|r| (r.clone(), a.external_id.clone()))
            .collect(),
    )
}

fn aws_configs_from_entry(s: &ScannerConfig) -> Vec<AwsScanConfig> {
    let mut base = AwsScanConfig {
        profile: s.profile.clone(),
        endpoint_url: s.endpoint_url.clone(),
        role_arn: s.role_arn.clone(),
        external_id: s.external_id.clone(),
        ..AwsScanConfig::default()
    };
    if let Some(r) = &s.region {
        base.region = r.clone();
    }
    if let Some(b) = s.service_specific_credentials {
        base.service_specific_credentials = b;
    }
    if let Some(t) = &s.tags {
        let defaults = TagKeys::default();
        base.tag_keys = TagKeys {
            email: t.email.clone().unwrap_or(defaults.email),
            employee_id: t.employee_id.clone().unwrap_or(defaults.employee_id),
            owner: t.owner.clone().unwrap_or(defaults.owner),
            kind: defaults.kind,
        };
    }
    with_roles(
        base,
        s.accounts
            .iter()
            .map(|a| (a.role_arn.clone(), a.external_id.clone()))
            .collect(),
    )
}

/// Scans one repository, records the run, and remembers its objects once the run is stored.
/// With a verifier, the whole history is read (secret values are never stored, so the secrets
/// of objects read by earlier runs are only at hand when read again) and each verifiable secret
/// is checked with its provider before the run is evaluated.
fn scan_git(
    ctx: &Context,
    store: &mut Store,
    path: &Path,
    name: Option<&str>,
    full: bool,
    verifier: Option<&Verifier>,
) -> anyhow::Result<Recorded> {
    let full = full || verifier.is_some();
    let mut matcher = super::git::matcher(ctx)?;
    if let Some(v) = verifier {
        matcher = v.attach(matcher);
    }
    let mut scan = super::git::scan_for_store(ctx, store, path, name, full, &matcher)?;
    let system = scan.report.system.clone();
    if let Some(v) = verifier {
        v.verify_into(ctx, &system, &mut scan.report.observations)?;
    }
    let recorded = record(ctx, store, scan.report.clone())?;
    super::git::remember(store, &system, &scan, full)?;
    Ok(recorded)
}

/// One config per account: the base alone, or one per role to assume.
fn with_roles(base: AwsScanConfig, roles: Vec<(String, Option<String>)>) -> Vec<AwsScanConfig> {
    if roles.is_empty() {
        return vec![base];
    }
    roles
        .into_iter()
        .map(|(role, external_id)| AwsScanConfig {
            role_arn: Some(role),
            external_id: external_id.or_else(|| base.external_id.clone()),
            ..base.clone()
        })
        .collect()
}

/// Runs the aws-iam sweeps one account after another on a tokio runtime.
fn sweep_aws(ctx: &Context, configs: Vec<AwsScanConfig>) -> anyhow::Result<Vec<ScanReport>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut reports = Vec::new();
    for config in configs {
        let target = config
            .role_arn
            .clone()
            .unwrap_or_else(|| "the default account".into());
        ctx.progress(format!("scan aws-iam: sweeping {target}"));
        reports.push(runtime.block_on(aws_iam::scan_aws_iam(&config)));
    }
    Ok(reports)
}

/// A run as `finish` needs it.
pub struct Recorded {
    pub system: String,
    pub status: RunStatus,
}

/// Evaluates a report against the people in the store and writes run, links and findings in one
/// transaction.
pub fn record(ctx: &Context, store: &mut Store, report: ScanReport) -> anyhow::Result<Recorded> {
    let started = std::time::Instant::now();
    let rules = RuleSet::builtin()?;
    let policy = ctx.config.policy();
    let known = people::load_all(store.conn())?;
    if known.is_empty() {
        ctx.progress("warning: no HR snapshot imported yet; every account is an orphan (run `residual hr import FILE`)");
    }
    let index = PeopleIndex::new(known.values());
    tracing::debug!(elapsed = ?started.elapsed(), peak_kib = peak_rss_kib(), "people loaded");
    let facts = crate::facts::for_observations(store, &report.observations)?;
    let evaluation = evaluate::evaluate(
        &rules,
        &policy,
        &facts,
        ctx.now,
        &index,
        &report.system,
        &report.observations,
    );
    super::exceptions::sync(ctx, store)?;
    tracing::debug!(elapsed = ?started.elapsed(), peak_kib = peak_rss_kib(), candidates = evaluation.candidates.len(), "evaluated");
    let recorded = crate::store::record::scan_run(
        store,
        &report,
        &evaluation.links,
        &evaluation.candidates,
        ctx.now,
    )?;
    tracing::debug!(elapsed = ?started.elapsed(), peak_kib = peak_rss_kib(), "recorded");
    let (run_id, outcome) = (recorded.run_id, recorded.outcome);
    let seen = (
        report.observations.accounts.len(),
        report.observations.credentials.len(),
        report.observations.grants.len(),
        evaluation.links.len(),
    );
    let complete = report.status == RunStatus::Complete;
    let (accounts, credentials, grants, linked) = seen;
    ctx.progress(format!(
        "scan {}: run {run_id} {}: {} accounts, {} credentials, {} grants, {} linked; findings: {} new, {} reopened, {} still open, {} resolved, {} excepted ({:.2}s)",
        report.system,
        report.status.as_str(),
        accounts,
        credentials,
        grants,
        linked,
        outcome.opened,
        outcome.reopened,
        outcome.seen,
        outcome.resolved,
        outcome.excepted,
        started.elapsed().as_secs_f64(),
    ));
    for e in &report.errors {
        ctx.progress(format!("scan {}: {e}", report.system));
    }
    if !complete {
        ctx.progress(format!(
            "scan {}: run {run_id} is {}: nothing was resolved",
            report.system,
            report.status.as_str()
        ));
    }
    Ok(Recorded {
        system: report.system,
        status: report.status,
    })
}

fn finish(
    ctx: &Context,
    store: &Store,
    runs: &[Recorded],
    options: ScanOptions,
) -> anyhow::Result<Exit> {
    let ScanOptions { format, gate } = options;
    let mut systems: Vec<String> = runs.iter().map(|r| r.system.clone()).collect();
    systems.dedup();
    let summary = table::open_summary(store.conn(), &systems)?;
    let total: i64 = summary.iter().map(|s| s.count).sum();
    match format {
        // Asked for a format: every open finding of the scanned systems, for a file or a pipe.
        Some(f) => {
            let open = open_findings(store, &systems)?;
            output::write(
                &mut std::io::stdout().lock(),
                f,
                super::findings::COLUMNS,
                &open,
            )?;
        }
        // A person at a terminal: the findings when there are few, else counts by rule.
        None if !ctx.quiet => {
            let mut out = std::io::stdout().lock();
            if total <= 50 {
                let open = open_findings(store, &systems)?;
                output::write(&mut out, Format::Table, super::findings::COLUMNS, &open)?;
            } else {
                output::write(
                    &mut out,
                    Format::Table,
                    &["severity", "rule", "system", "count"],
                    &summary,
                )?;
                writeln!(
                    out,
                    "{total} open findings; `residual findings --format json` lists them all"
                )?;
            }
        }
        None => {}
    }
    if runs.iter().any(|r| r.status != RunStatus::Complete) {
        return Ok(Exit::Scanner);
    }
    let failing = gate.fail_on.is_some_and(|t| {
        summary
            .iter()
            .any(|s| Severity::parse(&s.severity).is_some_and(|sev| sev >= t))
    });
    Ok(if failing { Exit::Findings } else { Exit::Ok })
}

fn open_findings(store: &Store, systems: &[String]) -> anyhow::Result<Vec<table::Finding>> {
    let mut open = Vec::new();
    for system in systems {
        open.extend(table::list(
            store.conn(),
            &Filter {
                state: Some("open".into()),
                system: Some(system.clone()),
                ..Filter::default()
            },
        )?);
    }
    Ok(open)
}

/// The process's peak resident memory in KiB (Linux), for the phase timings at debug level.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
