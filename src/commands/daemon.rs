//! `residual daemon`: run the configured scanners on their cron schedules until stopped (or for
//! `--runs` scheduled runs), and sweep every configured system as soon as a new HR snapshot
//! brings leavers or movers (`[hr] watch_interval`) — aws-iam targeted at their IAM users
//! (`pipeline::sweep::Focus`), the rest in full; scheduled firings and re-sweeps stay full. `--plan` prints the coming firings and
//! exits; `--once` does one watch-and-sweep cycle and exits.
//!
//! Jobs run one at a time, in the order [`jobs::due`] gives (first firing, then configuration
//! order). One daemon per store ([`lock`]); SIGTERM or SIGINT stops it after the run in progress
//! (a second signal ends it at once: SQLite rolls the open transaction back), exit 0. A run that
//! fails is logged and the daemon carries on.

use super::{nightly, summary, Context, Exit, UsageError};
use crate::cli::{DaemonArgs, LogFormatArg, PlanFormat, ScanOptions};
use crate::config::CatchUp;
use crate::daemon::jobs::{self, Job};
use crate::daemon::lock;
use crate::daemon::log::{Log, LogFormat};
use crate::daemon::state::State;
use chrono::{DateTime, SecondsFormat, Utc};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn run(ctx: &Context, args: DaemonArgs) -> anyhow::Result<Exit> {
    let log = Log {
        format: match args.log_format {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        },
        quiet: ctx.quiet,
    };
    let jobs = jobs_of(ctx)?;
    if args.plan {
        return plan(ctx, &jobs, args.count, args.format);
    }
    if crate::store::is_server(&ctx.db) {
        // The one-daemon-per-store lock and the catch-up state are files beside a SQLite store;
        // a shared PostgreSQL store is swept by jobs that a scheduler starts instead.
        return Err(UsageError(format!(
            "the daemon needs a SQLite store (its lock and catch-up state are files beside it); \
             {} is a PostgreSQL store: run `residual scan --shard K/N` from a scheduler instead \
             (README: Running at scale)",
            crate::store::shown(&ctx.db)
        ))
        .into());
    }
    crate::daemon::log::install(log.format);
    let _lock = lock::acquire(&ctx.db).map_err(|e| UsageError(e.to_string()))?;
    if args.once {
        return Ok(match watch_cycle(ctx, &log, true)? {
            Cycle::Swept(exit) => exit,
            Cycle::Quiet => Exit::Ok,
        });
    }
    if jobs.is_empty() && ctx.config.hr.is_none() {
        return Err(UsageError(
            "nothing to do: no scanner in the configuration has a `schedule`, and there is no \
             [hr] source to watch"
                .into(),
        )
        .into());
    }
    let stop = stop_on_signals()?;
    let mut daemon = Daemon {
        ctx,
        log,
        jobs: &jobs,
        state: State::load(&ctx.db)?,
        max_runs: args.runs,
        done: 0,
    };
    daemon.serve(&stop)?;
    if stop.load(Ordering::SeqCst) {
        log.info("stopped by a signal; exiting");
    }
    Ok(Exit::Ok)
}

/// The scanners with a schedule, in configuration order.
fn jobs_of(ctx: &Context) -> anyhow::Result<Vec<Job>> {
    let mut jobs = Vec::new();
    for s in &ctx.config.scanners {
        if let Some(schedule) = ctx.config.schedule_of(s).map_err(UsageError)? {
            jobs.push(Job {
                name: s.name.clone(),
                schedule,
                catch_up: s.catch_up.unwrap_or(ctx.config.daemon.catch_up),
            });
        }
    }
    Ok(jobs)
}

/// SIGTERM and SIGINT set the returned flag; a second one while it is set ends the process
/// at once (exit 1).
fn stop_on_signals() -> anyhow::Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [SIGTERM, SIGINT] {
        // Registered first, so that it sees the flag the first signal set.
        signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(&stop))?;
        signal_hook::flag::register(sig, Arc::clone(&stop))?;
    }
    Ok(stop)
}

struct Daemon<'a> {
    ctx: &'a Context,
    log: Log,
    jobs: &'a [Job],
    state: State,
    max_runs: Option<u64>,
    done: u64,
}

/// How often a waiting daemon looks at the stop flag.
const TICK: Duration = Duration::from_millis(200);

/// When the daemon next looks at the HR source and next re-sweeps open cases.
struct Timers {
    watch: Option<Duration>,
    next_watch: Option<Instant>,
    reverify: Option<Duration>,
    next_reverify: Option<Instant>,
}

impl Timers {
    fn due(&self) -> bool {
        let now = Instant::now();
        self.next_watch.is_some_and(|t| now >= t) || self.next_reverify.is_some_and(|t| now >= t)
    }
}

impl Daemon<'_> {
    /// Catches up, then runs due jobs and watches the HR source until stopped or `--runs`.
    fn serve(&mut self, stop: &AtomicBool) -> anyhow::Result<()> {
        let started = Utc::now();
        if self.catch_up(started, stop)? {
            return Ok(());
        }
        let mut timers = self.timers()?;
        let mut checked = started;
        let mut announced = None;
        while !stop.load(Ordering::SeqCst) {
            let wake = jobs::next_wake(self.jobs, checked);
            if wake != announced {
                self.announce(wake, checked);
                announced = wake;
            }
            // Sleep in ticks until a firing, a look at the HR source, or a signal.
            while !(stop.load(Ordering::SeqCst)
                || wake.is_some_and(|w| Utc::now() >= w)
                || timers.due())
            {
                std::thread::sleep(TICK);
            }
            if stop.load(Ordering::SeqCst) {
                break;
            }
            self.watch_and_reverify(&mut timers);
            let now = Utc::now();
            if self.run_due(checked, now, stop)? {
                return Ok(());
            }
            checked = now;
        }
        Ok(())
    }

    /// The HR watch and open-case re-sweep intervals, both first due as configured.
    fn timers(&self) -> anyhow::Result<Timers> {
        let config = &self.ctx.config;
        let watch = config
            .hr
            .as_ref()
            .map(|_| config.watch_interval().map_err(UsageError))
            .transpose()?;
        // Open cases are swept again every reverify interval until verified or excepted.
        let reverify = (!config.scanners.is_empty())
            .then(|| config.reverify_interval().map_err(UsageError))
            .transpose()?;
        Ok(Timers {
            watch,
            // The first look at the HR source is at start: a leaver added while the daemon
            // was down is swept now, not one interval later.
            next_watch: watch.map(|_| Instant::now()),
            reverify,
            next_reverify: reverify.map(|r| Instant::now() + r),
        })
    }

    /// Logs which jobs fire next and when.
    fn announce(&self, wake: Option<DateTime<Utc>>, checked: DateTime<Utc>) {
        if let Some(w) = wake {
            let names: Vec<&str> = jobs::due(self.jobs, checked, w)
                .iter()
                .map(|d| self.jobs[d.job].name.as_str())
                .collect();
            self.log
                .info(format!("next run: {} at {}", names.join(", "), stamp(w)));
        }
    }

    /// Looks at the HR source and re-sweeps open cases when their intervals are due; a failure
    /// is logged and retried at the next interval.
    fn watch_and_reverify(&self, timers: &mut Timers) {
        if let (Some(w), Some(t)) = (timers.watch, timers.next_watch) {
            if Instant::now() >= t {
                timers.next_watch = Some(Instant::now() + w);
                match watch_cycle(&self.clock_ctx(), &self.log, false) {
                    // The new leavers were just swept (aws-iam targeted at them): the next
                    // re-sweep, a full one that can prove their cases, is an interval from now.
                    Ok(Cycle::Swept(_)) => {
                        timers.next_reverify = timers.reverify.map(|r| Instant::now() + r)
                    }
                    Ok(Cycle::Quiet) => {}
                    Err(e) => self
                        .log
                        .warn(format!("watching the HR source failed: {e:#}")),
                }
            }
        }
        if let (Some(r), Some(t)) = (timers.reverify, timers.next_reverify) {
            if Instant::now() >= t {
                timers.next_reverify = Some(Instant::now() + r);
                if let Err(e) = reverify_open_cases(&self.clock_ctx(), &self.log) {
                    self.log
                        .warn(format!("re-sweeping open cases failed: {e:#}"));
                }
            }
        }
    }

    /// Runs every job due between `checked` and `now`; true when the daemon should stop.
    fn run_due(
        &mut self,
        checked: DateTime<Utc>,
        now: DateTime<Utc>,
        stop: &AtomicBool,
    ) -> anyhow::Result<bool> {
        for due in jobs::due(self.jobs, checked, now) {
            if stop.load(Ordering::SeqCst) {
                // Left unrecorded: a restarted daemon catches it up.
                return Ok(true);
            }
            let name = &self.jobs[due.job].name;
            if due.firings > 1 {
                self.log.info(format!(
                    "`{name}`: {} firings from {} to {} coalesced into one run (a run \
                     overlapped them)",
                    due.firings,
                    stamp(due.first),
                    stamp(due.last)
                ));
            }
            if self.run_job(due.job, due.last)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Runs once each job whose last firing was missed while the daemon was down (`catch_up =
    /// "last"`), or logs that it is skipped. True when `--runs` is reached.
    fn catch_up(&mut self, now: DateTime<Utc>, stop: &AtomicBool) -> anyhow::Result<bool> {
        for (i, job) in self.jobs.iter().enumerate() {
            let Some(missed) = jobs::missed(job, self.state.handled(&job.name), now) else {
                continue;
            };
            if stop.load(Ordering::SeqCst) {
                return Ok(true);
            }
            match job.catch_up {
                CatchUp::Last => {
                    self.log.info(format!(
                        "`{}` missed its firing at {} while the daemon was down: running it now \
                         (catch_up = \"last\")",
                        job.name,
                        stamp(missed)
                    ));
                    if self.run_job(i, missed)? {
                        return Ok(true);
                    }
                }
                CatchUp::None => {
                    self.log.info(format!(
                        "`{}` missed its firing at {} while the daemon was down: skipped \
                         (catch_up = \"none\")",
                        job.name,
                        stamp(missed)
                    ));
                    self.state.record(&job.name, missed)?;
                }
            }
        }
        Ok(false)
    }

    /// Runs job `i` for its firing `firing` and records it handled. True when `--runs` is
    /// reached.
    fn run_job(&mut self, i: usize, firing: DateTime<Utc>) -> anyhow::Result<bool> {
        let name = &self.jobs[i].name;
        self.log
            .info(format!("running `{name}` (firing {})", stamp(firing)));
        match run_named(&self.clock_ctx(), name) {
            Ok(exit) => self
                .log
                .info(format!("`{name}` finished (exit {})", exit as u8)),
            Err(e) => self.log.warn(format!("run of `{name}` failed: {e:#}")),
        }
        self.state.record(name, firing)?;
        self.done += 1;
        Ok(self.max_runs.is_some_and(|m| self.done >= m))
    }

    /// The context of one run: the clock's time now.
    fn clock_ctx(&self) -> Context {
        Context {
            db: self.ctx.db.clone(),
            config: self.ctx.config.clone(),
            now: Utc::now(),
            now_overridden: false,
            quiet: self.ctx.quiet,
            lock_timeout: self.ctx.lock_timeout,
        }
    }
}

/// One configured scanner by name, after importing the configured HR source when it changed.
fn run_named(ctx: &Context, name: &str) -> anyhow::Result<Exit> {
    let mut store = ctx.open_store()?;
    let recorded = nightly::sweep(ctx, &mut store, &[name.to_string()], true)?;
    summary::finish(ctx, &store, &recorded, ScanOptions::default())
}

/// One look at the HR source: import it when it changed and, when that brings leavers or
/// movers, sweep every configured scanner now and print the cases that changed. Unless
/// `chatty` (`--once`), an unchanged source says nothing: the loop looks every minute.
fn watch_cycle(ctx: &Context, log: &Log, chatty: bool) -> anyhow::Result<Cycle> {
    if ctx.config.hr.is_none() {
        log.info("no [hr] source in the configuration: nothing to watch");
        return Ok(Cycle::Quiet);
    }
    let mut store = ctx.open_store()?;
    let import_ctx = Context {
        db: ctx.db.clone(),
        config: ctx.config.clone(),
        now: ctx.now,
        now_overridden: ctx.now_overridden,
        quiet: ctx.quiet || !chatty,
        lock_timeout: ctx.lock_timeout,
    };
    let Some(imported) = nightly::import_configured_hr(&import_ctx, &mut store)? else {
        if chatty {
            log.info("HR source unchanged: nothing to sweep");
        }
        return Ok(Cycle::Quiet);
    };
    if imported.leavers + imported.movers == 0 {
        log.info("new HR snapshot without new leavers or movers: nothing to sweep");
        return Ok(Cycle::Quiet);
    }
    if ctx.config.scanners.is_empty() {
        log.warn(format!(
            "new HR snapshot with {} leaver(s) and {} mover(s), but no scanner is configured",
            imported.leavers, imported.movers
        ));
        return Ok(Cycle::Quiet);
    }
    log.info(format!(
        "new HR snapshot with {} leaver(s) and {} mover(s): sweeping every configured scanner now \
         (aws-iam targeted at their IAM users once a full sweep has run)",
        imported.leavers, imported.movers
    ));
    let people = crate::store::focus::leavers_and_movers(store.conn(), imported.snapshot_id)?;
    let recorded = nightly::sweep_for_people(ctx, &mut store, &people)?;
    Ok(Cycle::Swept(summary::finish(
        ctx,
        &store,
        &recorded,
        ScanOptions::default(),
    )?))
}

/// What a look at the HR source did.
enum Cycle {
    /// Nothing to sweep.
    Quiet,
    /// Swept every configured scanner, with this exit.
    Swept(Exit),
}

/// Sweeps every configured scanner again when a leaver or mover case is open, so that a case is
/// verified soon after the access is gone rather than at the next scheduled firing.
fn reverify_open_cases(ctx: &Context, log: &Log) -> anyhow::Result<()> {
    let mut store = ctx.open_store()?;
    let open = crate::pipeline::cases::read(&store, &ctx.case_scope(), None, ctx.now)?
        .iter()
        .filter(|c| c.state == crate::cases::CaseState::Open)
        .count();
    if open == 0 {
        return Ok(());
    }
    log.info(format!(
        "{open} open case(s): re-sweeping every configured scanner (policy.reverify_interval)"
    ));
    let recorded = nightly::sweep(ctx, &mut store, &[], false)?;
    summary::finish(ctx, &store, &recorded, ScanOptions::default())?;
    Ok(())
}

/// One planned firing.
#[derive(serde::Serialize)]
struct Firing {
    scanner: String,
    at: String,
}

/// `--plan`: the next `count` firings of every scheduled scanner after `ctx.now`.
fn plan(
    ctx: &Context,
    jobs: &[Job],
    count: u64,
    format: Option<PlanFormat>,
) -> anyhow::Result<Exit> {
    if jobs.is_empty() {
        return Err(UsageError("no scanner in the configuration has a `schedule`".into()).into());
    }
    let n = usize::try_from(count).unwrap_or(usize::MAX);
    let firings: Vec<Firing> = jobs
        .iter()
        .flat_map(|job| {
            job.schedule
                .upcoming(ctx.now, n)
                .into_iter()
                .map(|t| Firing {
                    scanner: job.name.clone(),
                    at: t.to_rfc3339_opts(SecondsFormat::Secs, true),
                })
        })
        .collect();
    let mut out = std::io::stdout().lock();
    match format {
        Some(PlanFormat::Json) => {
            serde_json::to_writer_pretty(&mut out, &firings)?;
            writeln!(out)?;
        }
        Some(PlanFormat::Table) | None => {
            let width = firings
                .iter()
                .map(|f| f.scanner.len())
                .max()
                .unwrap_or(0)
                .max("scanner".len());
            writeln!(out, "{:<width$}  at", "scanner")?;
            for f in &firings {
                writeln!(out, "{:<width$}  {}", f.scanner, f.at)?;
            }
        }
    }
    Ok(Exit::Ok)
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}
