//! `residual report --out DIR` writes the access-review evidence pack from the store (read-only),
//! and `residual report verify DIR` re-checks one: its files against the manifest, and its audit
//! head against the store's chain.

use super::{Context, Exit, UsageError};
use crate::cli::{ReportArgs, ReportCommand};
use crate::report::{self, gather::Origin, manifest, Period, Request};
use crate::store::audit;
use anyhow::Context as _;
use chrono::{DateTime, Duration, Utc};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

pub fn run(ctx: &Context, args: ReportArgs) -> anyhow::Result<Exit> {
    if let Some(ReportCommand::Verify { dir }) = args.command {
        return verify(ctx, &dir);
    }
    let Some(out) = args.out.as_deref() else {
        return Err(UsageError(
            "report: give --out DIR (the directory to write the pack into), or `report verify DIR`"
                .into(),
        )
        .into());
    };
    let period = period_of(&args)?;
    prepare_dir(out, args.force)?;
    let store = ctx.read_store()?;
    let scope = ctx.case_scope();
    let origin = Origin {
        organisation: ctx.config.report.organisation.clone(),
        config_digest: ctx.config.digest.clone(),
        scope: &scope,
        now: ctx.now,
    };
    let request = Request {
        period,
        employees: args.employee.clone(),
        html_cases: args.html_cases,
    };
    let pack = report::gather(&store, &origin, &request)?;
    let files = write_artefacts(out, &pack, &store)?;
    let manifest_text = manifest::render(&pack, &files)?;
    let manifest_path = out.join(report::MANIFEST);
    std::fs::write(&manifest_path, &manifest_text)
        .with_context(|| format!("writing {}", manifest_path.display()))?;
    let figures = report::figures::of(&pack);
    ctx.progress(format!(
        "report: {} cases ({} verified, {} open, {} overdue, {} excepted), {} findings ({} open), {} events; written to {}",
        pack.cases.len(),
        figures.verified,
        figures.open,
        figures.overdue,
        figures.excepted,
        pack.findings.len(),
        figures.open_findings,
        pack.events,
        out.display()
    ));
    // The manifest's own digest, to record elsewhere (a ticket): `report verify` cannot check the
    // manifest against itself.
    println!(
        "manifest sha256 {}",
        manifest::entry(out, report::MANIFEST)?.sha256
    );
    println!("audit head {}", report::audit_log::head_line(&pack));
    Ok(Exit::Ok)
}

/// The period of `--since` and `--until`; an empty one is a usage error.
fn period_of(args: &ReportArgs) -> anyhow::Result<Period> {
    let period = Period {
        since: args
            .since
            .as_deref()
            .map(|s| date("--since", s, false))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|s| date("--until", s, true))
            .transpose()?,
    };
    if let (Some(s), Some(u)) = (period.since, period.until) {
        if s > u {
            return Err(UsageError(format!(
                "--since {} is after --until {}: the period is empty",
                report::time(&s),
                report::time(&u)
            ))
            .into());
        }
    }
    Ok(period)
}

/// Writes every artefact of the pack into `out`, each flushed and hashed for the manifest.
fn write_artefacts(
    out: &Path,
    pack: &report::Pack,
    store: &crate::store::Store,
) -> anyhow::Result<Vec<manifest::FileEntry>> {
    type Render<'a> = Box<dyn Fn(&mut dyn Write) -> anyhow::Result<()> + 'a>;
    let render = |f: fn(&report::Pack, &mut dyn Write) -> std::io::Result<()>| -> Render {
        Box::new(move |w: &mut dyn Write| Ok(f(pack, w)?))
    };
    let artefacts: [(&str, Render); 9] = [
        (report::HTML, render(report::html::write)),
        (report::CASES_CSV, render(report::csv::cases)),
        (report::CASE_SYSTEMS_CSV, render(report::csv::case_systems)),
        (report::FINDINGS_CSV, render(report::csv::findings)),
        (report::EXCEPTIONS_CSV, render(report::csv::exceptions)),
        (
            report::AUDIT_JSONL,
            Box::new(|w: &mut dyn Write| Ok(report::audit_log::events(pack, store, w)?)),
        ),
        (report::AUDIT_HEAD, render(report::audit_log::head)),
        (report::OCSF_JSONL, render(report::ocsf::write)),
        (report::ASFF_JSON, render(report::asff::write)),
    ];
    let mut files = Vec::new();
    for (name, write) in &artefacts {
        let path = out.join(name);
        let file = File::create(&path).with_context(|| format!("writing {}", path.display()))?;
        let mut w = BufWriter::new(file);
        write(&mut w).with_context(|| format!("writing {}", path.display()))?;
        w.flush()
            .with_context(|| format!("writing {}", path.display()))?;
        drop(w);
        files.push(
            manifest::entry(out, name).with_context(|| format!("hashing {}", path.display()))?,
        );
    }
    drop(artefacts);
    Ok(files)
}

/// A `--since`/`--until` value: a date or RFC 3339 time. A bare date as `--until` means the end of
/// that day.
fn date(flag: &str, s: &str, end_of_day: bool) -> anyhow::Result<DateTime<Utc>> {
    let t = residual_scanners::time::parse_time(s)
        .map_err(|m| UsageError(format!("{flag} `{s}`: {m}")))?;
    let bare_date = !s.contains('T') && !s.contains(' ');
    Ok(if end_of_day && bare_date {
        t + Duration::days(1) - Duration::seconds(1)
    } else {
        t
    })
}

/// Creates `dir`, or accepts it when empty (or with `--force`); refuses a file, or a non-empty
/// directory without `--force`, before anything is read or written.
fn prepare_dir(dir: &Path, force: bool) -> anyhow::Result<()> {
    if dir.exists() {
        if !dir.is_dir() {
            return Err(UsageError(format!(
                "--out {}: is a file, not a directory",
                dir.display()
            ))
            .into());
        }
        let not_empty = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .next()
            .is_some();
        if not_empty && !force {
            return Err(UsageError(format!(
                "--out {}: the directory is not empty; give an empty or new directory, or --force to replace the pack's files in it",
                dir.display()
            ))
            .into());
        }
        if force {
            // A stale file of an earlier pack would fail `report verify` as "not in the manifest".
            for name in report::FILES {
                let p = dir.join(name);
                if p.exists() {
                    std::fs::remove_file(&p)
                        .with_context(|| format!("replacing {}", p.display()))?;
                }
            }
        }
        return Ok(());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))
}

fn verify(ctx: &Context, dir: &Path) -> anyhow::Result<Exit> {
    if !dir.is_dir() {
        return Err(UsageError(format!(
            "report verify {}: no such directory; give the directory `report --out` wrote",
            dir.display()
        ))
        .into());
    }
    // A pack whose manifest is gone or unreadable has changed: exit 1, not a usage error.
    let check = match report::verify::files(dir) {
        Ok(check) => check,
        Err(e) => {
            println!("pack CHANGED: 1 problem");
            println!("  {e}");
            return Ok(Exit::Findings);
        }
    };
    let mut problems = check.problems;
    let head = &check.recorded.audit_head;
    let parsed = head
        .split_once(':')
        .and_then(|(seq, hash)| Some((seq.parse::<i64>().ok()?, hash.to_string())));
    match parsed {
        None => problems.push(format!(
            "{}: audit_head `{head}` is not SEQ:HASH",
            report::MANIFEST
        )),
        Some((seq, hash)) => {
            let store = ctx.read_store()?;
            problems.extend(audit::check_head(store.conn(), seq, &hash)?);
        }
    }
    if problems.is_empty() {
        println!(
            "pack intact: {} files match the manifest; audit head {head} is in the store's chain",
            check.checked
        );
        return Ok(Exit::Ok);
    }
    let n = problems.len();
    println!("pack CHANGED: {n} problem{}", if n == 1 { "" } else { "s" });
    for p in &problems {
        println!("  {p}");
    }
    Ok(Exit::Findings)
}
