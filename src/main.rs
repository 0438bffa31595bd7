//! The `residual` binary: parse flags into one [`Context`], dispatch to the command, and map the
//! outcome to the documented exit codes (0 clean, 1 findings at or above `--fail-on`, 2 usage or
//! input error, 3 a scanner could not complete, 4 the store stayed locked).
//!
//! Exit 2 promises that nothing changed: an error after this process committed anything to the
//! store is exit 3 instead, and says what was kept. A closed stdout (`residual findings | head`)
//! is the reader's choice, not an error.

use clap::Parser;
use residual::cli::{Cli, Command};
use residual::commands::{self, Context, Exit, UsageError};
use residual::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

// mimalloc rather than the system's malloc: a sweep allocates and frees millions of small strings
// (rows, names, evidence), and glibc's malloc and free were about a third of the CPU of an
// unchanged 1M-row inventory run (perf; figures in benches/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // No colour codes in a log file or a journal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RESIDUAL_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match run(cli) {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(e) => ExitCode::from(exit_for_error(&e) as u8),
    }
}

/// Says what went wrong and picks the exit code that tells the truth about the store.
fn exit_for_error(e: &anyhow::Error) -> Exit {
    let broken_pipe = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    });
    let committed = residual::store::committed_in_this_process();
    if broken_pipe {
        // The reader stopped reading; whatever was recorded stays recorded.
        return if committed { Exit::Scanner } else { Exit::Ok };
    }
    eprintln!("error: {e:#}");
    if committed {
        eprintln!(
            "error: what this command recorded before the error is kept in the store (see `residual runs`); exit 3"
        );
        return Exit::Scanner;
    }
    if commands::is_store_locked(e) {
        eprintln!(
            "error: another residual process is writing the store; nothing changed, run again (or raise --lock-timeout)"
        );
        return Exit::Locked;
    }
    Exit::Input
}

fn run(cli: Cli) -> anyhow::Result<Exit> {
    let config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => {
            let default = PathBuf::from("residual.toml");
            if default.exists() {
                Config::load(&default)?
            } else {
                Config::default()
            }
        }
    };
    let now = match &cli.now {
        Some(s) => {
            residual_scanners::time::parse_time(s).map_err(|m| UsageError(format!("--now: {m}")))?
        }
        None => chrono::Utc::now(),
    };
    let db = cli
        .db
        .clone()
        .or_else(|| config.db.as_ref().map(|p| config.resolve(p)))
        .unwrap_or_else(|| PathBuf::from("residual.db"));
    let ctx = Context {
        db,
        config,
        now,
        now_overridden: cli.now.is_some(),
        quiet: cli.quiet,
        lock_timeout: std::time::Duration::from_secs(cli.lock_timeout),
    };
    match cli.command {
        Command::Hr(cmd) => commands::hr::run(&ctx, cmd),
        Command::Scan(args) => commands::scan::run(&ctx, args),
        Command::Daemon(args) => commands::daemon::run(&ctx, args),
        Command::Gate(args) => commands::gate::run(&ctx, args),
        Command::Runs(args) => commands::runs::run(&ctx, args),
        Command::Findings(args) => commands::findings::run(&ctx, args),
        Command::Cases(args) => commands::cases::list(&ctx, args),
        Command::Case(args) => commands::cases::show(&ctx, args),
        Command::Exceptions(cmd) => commands::exceptions::run(&ctx, cmd),
        Command::Audit(cmd) => commands::audit::run(&ctx, cmd),
        Command::Report(args) => commands::report::run(&ctx, args),
        Command::Rules(cmd) => commands::rules::run(&ctx, cmd),
        Command::Remediate(args) => commands::remediate::run(&ctx, args),
        Command::Store(cmd) => commands::store::run(&ctx, cmd),
    }
}
