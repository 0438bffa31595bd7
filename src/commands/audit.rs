//! `residual audit verify|log`: the hash-chained finding history.

use super::{Context, Exit};
use crate::cli::AuditCommand;
use crate::output;
use crate::store::events;

pub fn run(ctx: &Context, cmd: AuditCommand) -> anyhow::Result<Exit> {
    let store = ctx.read_store()?;
    match cmd {
        AuditCommand::Verify => {
            let v = events::verify(store.conn())?;
            match v.first_bad {
                None => {
                    println!("audit chain intact: {} events", v.events);
                    Ok(Exit::Ok)
                }
                Some((seq, why)) => {
                    println!("audit chain BROKEN at event {seq}: {why}");
                    Ok(Exit::Findings)
                }
            }
        }
        AuditCommand::Log { finding, format } => {
            let list = events::list(store.conn(), finding.as_deref())?;
            let cols = ["seq", "at", "finding_id", "event", "run_id", "detail"];
            output::write(
                &mut std::io::stdout().lock(),
                output::default_format(format),
                &cols,
                &list,
            )?;
            Ok(Exit::Ok)
        }
    }
}
