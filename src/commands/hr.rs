//! `residual hr import|people|snapshots`.

use super::{Context, Exit, UsageError};
use crate::cli::{Format, HrCommand, PeopleStatus};
use crate::output;
use crate::pipeline::hr_import::{self, ImportPlan};
use crate::store::people;
use residual_scanners::time::{format_time, parse_time};
use serde::Serialize;

pub fn run(ctx: &Context, cmd: HrCommand) -> anyhow::Result<Exit> {
    match cmd {
        HrCommand::Import {
            file,
            format,
            as_of,
            allow_mass_departure,
        } => {
            let as_of = match as_of {
                None => ctx.now,
                Some(s) => parse_time(&s).map_err(|m| UsageError(format!("--as-of: {m}")))?,
            };
            let cases = ctx.case_scope();
            let plan = ImportPlan {
                file: &file,
                format,
                as_of,
                skip_unchanged: false,
                max_departures: ctx.config.hr.as_ref().and_then(|h| h.max_departures),
                allow_mass_departure,
                cases: &cases,
            };
            let snapshot = hr_import::read_snapshot(&plan)?;
            let mut store = ctx.open_store()?;
            // The exceptions file is synced before every write (a bad file refuses the import
            // before anything is written).
            crate::exceptions::sync(&mut store, &ctx.exceptions_policy(), ctx.now)?;
            hr_import::import(&mut store, &plan, snapshot, ctx.now, &ctx.progress_sink())?;
            Ok(Exit::Ok)
        }
        HrCommand::People { status, format } => people_list(ctx, status, format),
        HrCommand::Snapshots(f) => {
            let store = ctx.read_store()?;
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
    let store = ctx.read_store()?;
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
