//! `residual store upgrade`: bring the store to this build's schema; `residual store migrate`:
//! copy a SQLite store into an empty PostgreSQL one (see `store::migrate`), and say what was
//! copied.

use super::{Context, Exit, UsageError};
use crate::cli::StoreCommand;
use crate::store::migrate::{self, MigrateError};

pub fn run(ctx: &Context, cmd: StoreCommand) -> anyhow::Result<Exit> {
    match cmd {
        StoreCommand::Upgrade => {
            // Opening for writing runs the migrations (and nothing else).
            ctx.open_store()?;
            ctx.progress(format!(
                "the store {} is at schema {}",
                crate::store::shown(&ctx.db),
                crate::store::migrations::SCHEMA_VERSION
            ));
            Ok(Exit::Ok)
        }
        StoreCommand::Migrate { from, to } => {
            let copied = match migrate::copy(&from, &to) {
                Ok(c) => c,
                // Refusals are the caller's to fix, and nothing was written: exit 2.
                Err(
                    e @ (MigrateError::NotPostgres { .. }
                    | MigrateError::NoSource { .. }
                    | MigrateError::NotEmpty { .. }
                    | MigrateError::KeyDiffers { .. }),
                ) => return Err(UsageError(e.to_string()).into()),
                Err(e) => return Err(e.into()),
            };
            let rows: u64 = copied.tables.iter().map(|(_, n)| n).sum();
            ctx.progress(format!(
                "copied {} tables ({rows} rows) from {} into {}",
                copied.tables.len(),
                from.display(),
                crate::store::shown(&to)
            ));
            for (src, dst) in &copied.keys {
                ctx.progress(format!(
                    "copied key file {} to {}",
                    src.display(),
                    dst.display()
                ));
            }
            ctx.progress("run `residual audit verify` on the copy: it prints the same head");
            Ok(Exit::Ok)
        }
    }
}
