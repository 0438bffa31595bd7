//! `residual hr import|people|snapshots`.

use super::{Context, Exit, UsageError};
use crate::cli::{Format, HrCommand, PeopleStatus};
use crate::hr::{self, diff, HrFormat};
use crate::output;
use crate::store::people;
use chrono::{DateTime, Utc};
use residual_scanners::time::{format_time, parse_time};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::Path;

pub fn run(ctx: &Context, cmd: HrCommand) -> anyhow::Result<Exit> {
    match cmd {
        HrCommand::Import {
            file,
            format,
            as_of,
        } => {
            let as_of = match as_of {
                None => ctx.now,
                Some(s) => parse_time(&s).map_err(|m| UsageError(format!("--as-of: {m}")))?,
            };
            import(ctx, &file, format, as_of, false)?;
            Ok(Exit::Ok)
        }
        HrCommand::People { status, format } => people_list(ctx, status, format),
        HrCommand::Snapshots(f) => {
            let store = ctx.open_store()?;
            let list = people::list_snapshots(store.conn())?;
            let cols = ["id", "as_of", "imported_at", "source", "format", "people"];
            output::write(
                &mut std::io::stdout().lock(),
                output::default_format(f.format),
                &cols,
                &list,
            )?;
            Ok(Exit::Ok)
        }
    }
}

/// Imports one snapshot in one transaction. With `skip_unchanged`, a file identical to the last
/// imported one is not imported again (nightly runs re-read the same export).
pub fn import(
    ctx: &Context,
    file: &Path,
    format: Option<HrFormat>,
    as_of: DateTime<Utc>,
    skip_unchanged: bool,
) -> anyhow::Result<Option<people::ImportSummary>> {
    let started = std::time::Instant::now();
    let bytes = std::fs::read(file).map_err(|source| hr::HrError::Io {
        file: file.to_path_buf(),
        source,
    })?;
    let digest = hex::encode(Sha256::digest(&bytes));
    let parsed = hr::parse_snapshot(file, bytes, format)?;
    let mut store = ctx.open_store()?;
    if skip_unchanged {
        if let Some(last) = people::latest_snapshot(store.conn())? {
            if last.digest == digest {
                ctx.progress(format!(
                    "hr: {} unchanged since snapshot {}; not re-imported",
                    file.display(),
                    last.id
                ));
                return Ok(None);
            }
        }
    }
    let known = people::load_all(store.conn())?;
    let size = parsed.people.len();
    let changes = diff::apply_snapshot(&known, parsed.people, as_of);
    let tx = store.transaction()?;
    let summary = people::write_snapshot(
        &tx,
        &file.display().to_string(),
        parsed.format.as_str(),
        &digest,
        as_of,
        ctx.now,
        size,
        &changes,
    )?;
    tx.commit()?;
    ctx.progress(format!(
        "hr: snapshot {} as of {} from {} ({}): {} people, {} joined, {} leavers, {} movers ({:.2}s)",
        summary.snapshot_id,
        format_time(&as_of),
        file.display(),
        parsed.format.as_str(),
        summary.people,
        summary.joined,
        summary.leavers,
        summary.movers,
        started.elapsed().as_secs_f64()
    ));
    Ok(Some(summary))
}

/// A person as `hr people` lists them.
#[derive(Serialize)]
struct PersonRow<'a> {
    employee_id: &'a str,
    email: &'a str,
    name: Option<&'a str>,
    status: &'static str,
    terminated_at: Option<String>,
    moved_at: Option<String>,
    department: Option<&'a str>,
    previous_department: Option<&'a str>,
    title: Option<&'a str>,
    manager: Option<&'a str>,
    in_hr: bool,
    aliases: &'a [String],
    github_login: Option<&'a str>,
    gitlab_user: Option<&'a str>,
    aws_user: Option<&'a str>,
}

fn people_list(
    ctx: &Context,
    status: Option<PeopleStatus>,
    format: Option<Format>,
) -> anyhow::Result<Exit> {
    let store = ctx.open_store()?;
    let all = people::load_all(store.conn())?;
    let mut list: Vec<_> = all
        .values()
        .filter(|p| match status {
            None => true,
            Some(PeopleStatus::Leaver) => p.is_leaver(ctx.now),
            Some(PeopleStatus::Active) => !p.is_leaver(ctx.now),
            Some(PeopleStatus::Mover) => p.is_mover(ctx.now),
        })
        .collect();
    list.sort_by(|a, b| a.employee_id().cmp(b.employee_id()));
    let rows: Vec<PersonRow> = list
        .iter()
        .map(|p| {
            let r = &p.record;
            let leaver = p.is_leaver(ctx.now);
            PersonRow {
                employee_id: &r.employee_id,
                email: &r.email,
                name: r.name.as_deref(),
                status: p.status_at(ctx.now).as_str(),
                terminated_at: r
                    .terminated_at
                    .filter(|_| leaver || r.terminated_at.is_some())
                    .as_ref()
                    .map(format_time),
                moved_at: p.moved_at.as_ref().map(format_time),
                department: r.department.as_deref(),
                previous_department: p.previous_department.as_deref(),
                title: r.title.as_deref(),
                manager: r.manager.as_deref(),
                in_hr: p.present,
                aliases: &r.aliases,
                github_login: r.github_login.as_deref(),
                gitlab_user: r.gitlab_user.as_deref(),
                aws_user: r.aws_user.as_deref(),
            }
        })
        .collect();
    let cols = [
        "employee_id",
        "email",
        "status",
        "terminated_at",
        "moved_at",
        "department",
        "title",
    ];
    output::write(
        &mut std::io::stdout().lock(),
        output::default_format(format),
        &cols,
        &rows,
    )?;
    Ok(Exit::Ok)
}
