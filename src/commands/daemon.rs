//! `residual daemon`: run the configured scanners on their cron schedules, forever (or for `--runs`
//! scheduled runs). Before each run the configured HR source is re-imported when it changed, so a
//! new leaver is swept at the next firing. A run that fails is reported and the daemon carries on.

use super::{nightly, summary, Context, Exit, UsageError};
use crate::cli::ScanOptions;
use crate::schedule;
use chrono::Utc;

pub fn run(ctx: &Context, max_runs: Option<u64>) -> anyhow::Result<Exit> {
    let mut jobs = Vec::new();
    for s in &ctx.config.scanners {
        if let Some(expr) = &s.schedule {
            let parsed = schedule::parse(expr)
                .map_err(|e| UsageError(format!("scanner `{}`: schedule `{expr}`: {e}", s.name)))?;
            jobs.push((s.name.clone(), parsed));
        }
    }
    if jobs.is_empty() {
        return Err(UsageError("no scanner in the configuration has a `schedule`".into()).into());
    }
    let mut done = 0u64;
    let mut worst = Exit::Ok;
    loop {
        let now = Utc::now();
        let Some((when, name)) = jobs
            .iter()
            .filter_map(|(name, s)| schedule::next_after(s, now).map(|t| (t, name.clone())))
            .min()
        else {
            return Ok(worst);
        };
        ctx.progress(format!(
            "daemon: next run of `{name}` at {}",
            residual_scanners::time::format_time(&when)
        ));
        if let Ok(wait) = (when - Utc::now()).to_std() {
            std::thread::sleep(wait);
        }
        let run_ctx = Context {
            db: ctx.db.clone(),
            config: ctx.config.clone(),
            now: Utc::now(),
            now_overridden: false,
            quiet: ctx.quiet,
            lock_timeout: ctx.lock_timeout,
        };
        match run_named(&run_ctx, &name) {
            Ok(exit) => {
                if exit as u8 > worst as u8 {
                    worst = exit;
                }
            }
            Err(e) => {
                ctx.progress(format!("daemon: run of `{name}` failed: {e:#}"));
                worst = Exit::Scanner;
            }
        }
        done += 1;
        if max_runs.is_some_and(|m| done >= m) {
            return Ok(worst);
        }
    }
}

/// One configured scanner by name, after importing the configured HR source when it changed.
fn run_named(ctx: &Context, name: &str) -> anyhow::Result<Exit> {
    let mut store = ctx.open_store()?;
    let recorded = nightly::sweep(ctx, &mut store, &[name.to_string()], true)?;
    summary::finish(ctx, &store, &recorded, ScanOptions::default())
}
