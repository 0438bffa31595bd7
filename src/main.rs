//! The `residual` binary: parse flags into one [`Context`], dispatch to the command, and map the
//! outcome to the documented exit codes (0 clean, 1 findings at or above `--fail-on`, 2 usage or
//! input error, 3 a scanner could not complete).

use clap::Parser;
use residual::cli::{Cli, Command};
use residual::commands::{self, Context, Exit, UsageError};
use residual::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RESIDUAL_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    match run(cli) {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(Exit::Input as u8)
        }
    }
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
    };
    match cli.command {
        Command::Hr(cmd) => commands::hr::run(&ctx, cmd),
        Command::Scan(args) => commands::scan::run(&ctx, args),
        Command::Daemon { runs } => commands::daemon::run(&ctx, runs),
        Command::Gate(args) => commands::gate::run(&ctx, args),
        Command::Runs(args) => commands::runs::run(&ctx, args),
        Command::Findings(args) => commands::findings::run(&ctx, args),
        Command::Exceptions(cmd) => commands::exceptions::run(&ctx, cmd),
        Command::Audit(cmd) => commands::audit::run(&ctx, cmd),
        Command::Rules(cmd) => commands::rules::run(&ctx, cmd),
    }
}
