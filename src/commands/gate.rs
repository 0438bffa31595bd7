//! `residual gate`: the CI gate of one repository (see [`crate::pipeline::gate`]). It writes
//! nothing anywhere: HR from `--hr` is read into memory, the store is opened read-only (and not
//! created when it does not exist), and without a fingerprint key in the environment or beside
//! the store a key held in memory for this run is used.

use super::{Context, Exit, UsageError};
use crate::cli::GateCommand;
use crate::keys::{self, FingerprintKey, KeySource};
use crate::output;
use crate::pipeline::gate::{self, GatePlan, HrSource};
use crate::store::Store;
use residual_scanners::RunStatus;
use std::io::Write;

pub fn run(ctx: &Context, args: GateCommand) -> anyhow::Result<Exit> {
    let store;
    let hr = match &args.hr {
        Some(path) => HrSource::File { path, format: None },
        None => {
            store = open_read_only(ctx)?;
            HrSource::Store(&store)
        }
    };
    let key = FingerprintKey::load_read_only(&ctx.db)?;
    if *key.source() == KeySource::Ephemeral {
        ctx.progress(format!(
            "gate: warning: no fingerprint key ({} or {}); using one held in memory for this run, so finding ids of secrets are not stable across runs and exceptions of them will not match",
            keys::KEY_ENV,
            keys::key_file(&ctx.db).display()
        ));
    }
    let plan = GatePlan {
        path: &args.path,
        since: args.since.as_deref(),
        fail_on: args.fail_on,
        hr,
        verify: ctx.verify_settings(&args.verify),
    };
    let outcome = gate::gate(&ctx.pipeline(), plan, &key)?;
    for note in &outcome.notes {
        // A warning about how complete the look was is not progress: --quiet keeps it.
        eprintln!("gate: warning: {note}");
    }
    let mut out: Box<dyn Write> = match &args.output {
        Some(file) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(file)
                .map_err(|e| UsageError(format!("{}: {e}", file.display())))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    output::gate::write(&mut out, args.format, &outcome, &args.path)?;
    if outcome.status != RunStatus::Complete {
        return Ok(Exit::Scanner);
    }
    Ok(if outcome.blocking > 0 {
        Exit::Findings
    } else {
        Exit::Ok
    })
}

/// The store, read-only ([`Context::read_store`]); without one the gate says how to give it HR.
fn open_read_only(ctx: &Context) -> anyhow::Result<Store> {
    if !crate::store::may_exist(&ctx.db) {
        return Err(UsageError(format!(
            "no HR snapshot in {}: run `residual hr import FILE` or pass --hr FILE",
            crate::store::shown(&ctx.db)
        ))
        .into());
    }
    ctx.read_store()
}
