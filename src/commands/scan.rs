//! `residual scan`: run scanners, record each run with its observations, evaluate the rules, and
//! apply the finding lifecycle — all of one run in one transaction (see [`crate::pipeline`]).
//!
//! Without arguments it is the nightly job: import the configured HR source when it changed, then
//! run every configured scanner. Exit 3 when any run was partial or failed (those runs resolve
//! nothing), else 1 when `--fail-on` is given and an open finding of the scanned systems reaches it.

use super::nightly;
use super::summary::finish;
use super::{Context, Exit, UsageError};
use crate::cli::{AwsArgs, AwsSsoArgs, GithubArgs, GitlabArgs, ScanArgs, ScanCommand};
use crate::keys::FingerprintKey;
use crate::pipeline::record::record;
use crate::pipeline::sweep::{self, RepositorySweep};
use crate::pipeline::targets;
use crate::pipeline::units::{self, Selection};
use residual_scanners::aws_iam::AwsScanConfig;
use residual_scanners::aws_sso::SsoScanConfig;
use residual_scanners::coverage::{Miss, MissClass};
use residual_scanners::github::GithubScanConfig;
use residual_scanners::gitlab::GitlabScanConfig;
use residual_scanners::RunStatus;
use std::io::Write;

pub fn run(ctx: &Context, args: ScanArgs) -> anyhow::Result<Exit> {
    // A bad share is refused before the store is opened (or created): exit 2 changes nothing.
    if let Some(share) = &args.jobs.shard {
        Selection::parse_share(share).map_err(UsageError)?;
    }
    let mut store = ctx.open_store()?;
    let exit = scan(ctx, &mut store, args)?;
    // After the runs, so that a finding a run just opened is known: an entry of the exceptions
    // file naming no finding is never accepted silently.
    for warning in crate::exceptions::unknown_findings(&store, &ctx.exceptions_policy())? {
        ctx.progress(warning);
    }
    Ok(exit)
}

/// The scan itself: the runs the arguments ask for, recorded, and their summary.
fn scan(
    ctx: &Context,
    store: &mut crate::store::Store,
    mut args: ScanArgs,
) -> anyhow::Result<Exit> {
    if args.scanner.is_some() && !args.employees.is_empty() {
        return Err(UsageError(
            "--employee sweeps configured scanners (`residual scan [NAME...] --employee ID`), \
             not a scanner named on the command line"
                .into(),
        )
        .into());
    }
    match args.scanner.take() {
        Some(command) => scan_named(ctx, store, command),
        None => scan_configured(ctx, store, args),
    }
}

/// `scan inventory|git|aws|aws-sso|github|gitlab …`: one scanner given on the command line.
fn scan_named(
    ctx: &Context,
    store: &mut crate::store::Store,
    command: ScanCommand,
) -> anyhow::Result<Exit> {
    let cx = ctx.pipeline();
    match command {
        ScanCommand::Inventory {
            system,
            file,
            partial,
            allow_empty,
            allow_drop,
            options,
        } => {
            let guard = sweep::ExportGuard {
                allow_empty,
                allow_drop,
                max_drop: ctx.config.policy.max_account_drop,
            };
            let recorded = scan_inventory(&cx, store, &system, &file, guard, partial)?;
            finish(ctx, store, &[recorded], options)
        }
        ScanCommand::Git {
            paths,
            name,
            full,
            verify,
            options,
        } => {
            if name.is_some() && paths.len() > 1 {
                return Err(UsageError("--name names one repository; give one path".into()).into());
            }
            let mut recorded = Vec::new();
            for path in &paths {
                let key = FingerprintKey::load_or_create(&ctx.db)?;
                let plan = RepositorySweep {
                    path,
                    name: name.as_deref(),
                    full,
                    verify: ctx.verify_settings(&verify),
                };
                recorded.push(sweep::repository(&cx, store, &key, plan)?);
            }
            finish(ctx, store, &recorded, options)
        }
        ScanCommand::Aws { aws, options } => {
            let mut recorded = Vec::new();
            for swept in sweep::aws(&cx, store, aws_targets(&aws))? {
                recorded.push(record(&cx, store, swept)?);
            }
            finish(ctx, store, &recorded, options)
        }
        ScanCommand::AwsSso { sso, options } => {
            let swept = sweep::aws_sso(&cx, store, aws_sso_target(&sso))?;
            let recorded = record(&cx, store, swept)?;
            finish(ctx, store, &[recorded], options)
        }
        ScanCommand::Github { github, options } => {
            let target = github_target(&github)?;
            let key = FingerprintKey::load_or_create(&ctx.db)?;
            let swept = sweep::github(&cx, store, &key, target)?;
            let recorded = record(&cx, store, swept)?;
            finish(ctx, store, &[recorded], options)
        }
        ScanCommand::Gitlab { gitlab, options } => {
            let key = FingerprintKey::load_or_create(&ctx.db)?;
            let swept = sweep::gitlab(&cx, store, &key, gitlab_target(&gitlab))?;
            let recorded = record(&cx, store, swept)?;
            finish(ctx, store, &[recorded], options)
        }
    }
}

/// `scan inventory`: one export, recorded; `--partial` makes a complete read resolve nothing.
fn scan_inventory(
    cx: &crate::pipeline::Context,
    store: &mut crate::store::Store,
    system: &str,
    file: &std::path::Path,
    guard: sweep::ExportGuard,
    partial: bool,
) -> anyhow::Result<crate::pipeline::record::Recorded> {
    let mut swept = sweep::inventory(cx, store, system, file, guard)?;
    if partial && swept.report.status == RunStatus::Complete {
        swept.report.miss(Miss::new(
            residual_scanners::inventory::UNIT,
            MissClass::Error,
            "declared partial with --partial",
        ));
    }
    Ok(record(cx, store, swept)?)
}

/// `scan [NAME…]`: the configured scanners, all or named, or the units of a job, or the sweep
/// focused on some people.
fn scan_configured(
    ctx: &Context,
    store: &mut crate::store::Store,
    args: ScanArgs,
) -> anyhow::Result<Exit> {
    if !args.employees.is_empty() {
        if args.names.is_empty() {
            nightly::import_configured_hr(ctx, store)?;
        }
        let recorded = nightly::sweep_focused(ctx, store, &args.names, &args.employees)?;
        return finish(ctx, store, &recorded, args.options);
    }
    if args.jobs.list_units {
        return list_units(ctx, store, &args);
    }
    if args.jobs.shard.is_some() || !args.jobs.units.is_empty() {
        let selection = match &args.jobs.shard {
            Some(share) => Selection::parse_share(share).map_err(UsageError)?,
            None => Selection::Named(args.jobs.units.clone()),
        };
        let ttl = std::time::Duration::from_secs(args.jobs.lease_ttl.max(1));
        let done = nightly::sweep_units(ctx, store, &args.names, &selection, ttl)?;
        let exit = finish(ctx, store, &done.recorded, args.options)?;
        return Ok(nothing_could_run(ctx, &done).unwrap_or(exit));
    }
    let import_hr = args.names.is_empty();
    let recorded = nightly::sweep(ctx, store, &args.names, import_hr)?;
    finish(ctx, store, &recorded, args.options)
}

/// Exit 4 when every unit of the job was skipped because other workers hold their leases: the
/// job changed nothing and its units are not swept yet (run it again later, or leave them to the
/// workers that hold them). Skipping some units while sweeping others changes no exit code.
fn nothing_could_run(ctx: &Context, done: &sweep::UnitsDone) -> Option<Exit> {
    if !done.recorded.is_empty() || done.skipped.is_empty() {
        return None;
    }
    ctx.progress(format!(
        "scan: every unit of this job is being swept by another worker ({}): nothing was swept",
        done.skipped.len()
    ));
    Some(Exit::Locked)
}

/// `scan --list-units`: each unit's id, its share under `--shard K/N` when given, and the lease
/// on it; one line each, or JSON with `--format json`.
fn list_units(ctx: &Context, store: &crate::store::Store, args: &ScanArgs) -> anyhow::Result<Exit> {
    let share = match &args.jobs.shard {
        Some(s) => Some(Selection::parse_share(s).map_err(UsageError)?),
        None => None,
    };
    let n = match share {
        Some(Selection::Share { n, .. }) => Some(n),
        _ => None,
    };
    let units = nightly::list_units(ctx, &args.names)?;
    let leases = crate::store::leases::list(store.conn())?;
    let rows: Vec<serde_json::Value> = units
        .iter()
        .filter(|u| match share {
            Some(Selection::Share { k, n }) => units::share_of(&u.id, n) == k,
            _ => true,
        })
        .map(|u| {
            let lease = leases.iter().find(|l| l.unit == u.id);
            serde_json::json!({
                "unit": u.id,
                "scanner": u.entry.name,
                "share": n.map(|n| units::share_of(&u.id, n)),
                "lease": lease,
            })
        })
        .collect();
    let mut out = std::io::stdout().lock();
    if matches!(args.options.format, Some(crate::cli::Format::Json)) {
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)?;
        return Ok(Exit::Ok);
    }
    for (u, row) in units.iter().zip(&rows) {
        let mut line = format!("{}\t{}", u.id, u.entry.name);
        if let (Some(n), Some(share)) = (n, row["share"].as_u64()) {
            line.push_str(&format!("\tshare {share}/{n}"));
        }
        if let Some(l) = leases.iter().find(|l| l.unit == u.id) {
            line.push_str(&format!(
                "\tleased by {} (expires in {}s)",
                l.holder, l.expires_in
            ));
        }
        writeln!(out, "{line}")?;
    }
    Ok(Exit::Ok)
}

fn aws_targets(a: &AwsArgs) -> Vec<AwsScanConfig> {
    let base = AwsScanConfig {
        profile: a.profile.clone(),
        endpoint_url: a.endpoint_url.clone(),
        region: a.region.clone(),
        external_id: a.external_id.clone(),
        ..AwsScanConfig::default()
    };
    targets::aws_with_roles(
        base,
        a.role_arns
            .iter()
            .map(|r| (r.clone(), a.external_id.clone()))
            .collect(),
    )
}

fn aws_sso_target(a: &AwsSsoArgs) -> SsoScanConfig {
    SsoScanConfig {
        aws: AwsScanConfig {
            profile: a.profile.clone(),
            endpoint_url: a.endpoint_url.clone(),
            region: a.region.clone(),
            role_arn: a.role_arn.clone(),
            external_id: a.external_id.clone(),
            ..AwsScanConfig::default()
        },
        instance_arn: a.instance_arn.clone(),
        permission_set_tags: !a.no_permission_set_tags,
    }
}

fn github_target(a: &GithubArgs) -> anyhow::Result<GithubScanConfig> {
    Ok(targets::github(
        &a.org,
        a.api_url.as_deref(),
        (a.app_id, a.app_key.clone(), a.installation_id),
        a.max_retries,
    )?)
}

fn gitlab_target(a: &GitlabArgs) -> GitlabScanConfig {
    targets::gitlab(
        &a.group,
        a.api_url.as_deref(),
        a.instance_variables,
        a.max_retries,
    )
}
