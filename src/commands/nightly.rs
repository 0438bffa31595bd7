//! The nightly job, shared by `scan` without a scanner and each `daemon` firing (not a command
//! itself): import the configured HR source when it changed, then sweep the chosen configured
//! scanners and record each run.

use super::{Context, UsageError};
use crate::config::ScannerConfig;
use crate::pipeline::hr_import::{self, ImportPlan};
use crate::pipeline::record::Recorded;
use crate::pipeline::{sweep, units};
use crate::store::Store;

/// Sweeps the configured scanners `names` (all when empty), importing the configured HR source
/// first when `import_hr`.
pub fn sweep(
    ctx: &Context,
    store: &mut Store,
    names: &[String],
    import_hr: bool,
) -> anyhow::Result<Vec<Recorded>> {
    let chosen = choose(ctx, names)?;
    if import_hr {
        import_configured_hr(ctx, store)?;
    }
    if chosen.is_empty() {
        return Err(UsageError(
            "no scanners configured: add [[scanner]] entries to the configuration, or run e.g. \
             `residual scan inventory --system NAME FILE`"
                .into(),
        )
        .into());
    }
    let cx = ctx.pipeline();
    Ok(sweep::configured(
        &cx,
        store,
        &ctx.db,
        &ctx.config,
        &chosen,
    )?)
}

/// Sweeps the units `selection` picks out of the configured scanners `names` (all when empty),
/// each under a lease that lives `lease_ttl` unless renewed (see `store::leases`), without
/// importing HR: what `scan --shard K/N` and `scan --unit ID` run. Each run is dated by the
/// clock when it is written (other workers chain events meanwhile), unless `--now` is given.
pub fn sweep_units(
    ctx: &Context,
    store: &mut Store,
    names: &[String],
    selection: &units::Selection,
    lease_ttl: std::time::Duration,
) -> anyhow::Result<sweep::UnitsDone> {
    let chosen = choose(ctx, names)?;
    if chosen.is_empty() {
        return Err(UsageError(
            "no scanners configured: add [[scanner]] entries to the configuration".into(),
        )
        .into());
    }
    let all = units::of_entries(&ctx.config, &chosen)?;
    let picked = units::select(all, selection)?;
    if picked.is_empty() {
        ctx.progress("scan: no sweep unit falls in this share: nothing to sweep");
    }
    let mut cx = ctx.pipeline();
    cx.live_clock = !ctx.now_overridden;
    let plan = sweep::UnitsPlan {
        db: &ctx.db,
        config: &ctx.config,
        focus: None,
        lease_ttl,
    };
    Ok(sweep::units_of(&cx, store, &plan, picked)?)
}

/// The sweep units of the configured scanners `names` (all when empty).
pub fn list_units<'c>(ctx: &'c Context, names: &[String]) -> anyhow::Result<Vec<units::Unit<'c>>> {
    let chosen = choose(ctx, names)?;
    Ok(units::of_entries(&ctx.config, &chosen)?)
}

/// Sweeps every configured scanner for the people `employees` (new leavers and movers): aws-iam
/// only their IAM users when any are known (a targeted sweep), everything else in full.
pub fn sweep_for_people(
    ctx: &Context,
    store: &mut Store,
    employees: &[String],
) -> anyhow::Result<Vec<Recorded>> {
    sweep_focused(ctx, store, &[], employees)
}

/// [`sweep`] of the configured scanners `names` (all when empty) for the people `employees`
/// (see [`sweep_for_people`]), without importing HR.
pub fn sweep_focused(
    ctx: &Context,
    store: &mut Store,
    names: &[String],
    employees: &[String],
) -> anyhow::Result<Vec<Recorded>> {
    let chosen = choose(ctx, names)?;
    if chosen.is_empty() {
        return Err(UsageError(
            "no scanners configured: add [[scanner]] entries to the configuration".into(),
        )
        .into());
    }
    let focus = sweep::Focus {
        aws_users: crate::store::focus::aws_users(store.conn(), employees)?,
    };
    let cx = ctx.pipeline();
    Ok(sweep::configured_for(
        &cx,
        store,
        &ctx.db,
        &ctx.config,
        &chosen,
        Some(&focus),
    )?)
}

/// Imports the configured HR source unless it is unchanged since the last import: what the
/// nightly scan and each daemon firing do first, so a new leaver is swept at once. Returns what
/// the import brought (`None` without an HR source or when the file was unchanged).
pub fn import_configured_hr(
    ctx: &Context,
    store: &mut Store,
) -> anyhow::Result<Option<crate::store::people::ImportSummary>> {
    let mut imported = None;
    if let Some(hr) = &ctx.config.hr {
        let source = ctx.config.resolve(&hr.source);
        if let Some(command) = &hr.command {
            crate::daemon::hr_command::refresh(command, &ctx.config.base, &source)
                .map_err(|e| UsageError(format!("{e:#}")))?;
        }
        let cases = ctx.case_scope();
        let plan = ImportPlan {
            file: &source,
            format: hr.format,
            as_of: ctx.now,
            skip_unchanged: true,
            max_departures: hr.max_departures,
            // The nightly job never confirms a mass departure: a person runs `hr import` for that.
            allow_mass_departure: false,
            cases: &cases,
        };
        let snapshot = hr_import::read_snapshot(&plan)?;
        imported = hr_import::import(store, &plan, snapshot, ctx.now, &ctx.progress_sink())?;
    }
    Ok(imported)
}

/// The configured scanners `names` asks for (all of them when empty).
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
