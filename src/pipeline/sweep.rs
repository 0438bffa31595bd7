//! Sweep a system and record it: each scanner is called here and only here, its report recorded
//! as one scan run ([`record`]). A scanner that cannot finish gives a `partial` or `failed` run,
//! never an error: the run is still recorded (and resolves nothing).

use super::incremental;
use super::record::{self, record, Recorded, Swept};
use super::repository::{self, RepositoryPlan};
use super::units::{self, Part};
use super::{secret_matcher, targets, Context, Error, Result};
use crate::config::{Config, ScannerConfig};
use crate::keys::FingerprintKey;
use crate::store::{git as git_store, leases, runs, Store};
use crate::verification::{self, VerifyOverrides};
use residual_scanners::aws_iam::organization::{self, Organization};
use residual_scanners::aws_iam::AwsScanConfig;
use residual_scanners::aws_sso::SsoScanConfig;
use residual_scanners::coverage::{Miss, MissClass};
use residual_scanners::entra::EntraScanConfig;
use residual_scanners::github::GithubScanConfig;
use residual_scanners::gitlab::GitlabScanConfig;
use residual_scanners::okta::OktaScanConfig;
use residual_scanners::secrets::Matcher;
use residual_scanners::verify::VerifyConfig;
use residual_scanners::{self as scanners, NoMatcher, RunStatus, Target};
use std::path::Path;

pub use super::record::ExportGuard;

/// Starts a run over an export: a file that cannot be read is a failed run (the export did not
/// arrive tonight); else the run is recorded batch by batch as its rows are read (see
/// [`record::record`]; a pipe is read whole first); a bad row is an input error that records
/// nothing, and an export that is empty or lost more accounts than `guard` allows is a partial
/// run, which resolves nothing.
pub fn inventory(
    cx: &Context,
    store: &Store,
    system: &str,
    file: &Path,
    guard: ExportGuard,
) -> Result<Swept> {
    cx.progress.say(format!(
        "scan inventory:{system}: reading {}",
        file.display()
    ));
    let run = record::start(cx, store, "inventory", &format!("inventory:{system}"))?;
    let regular = std::fs::metadata(file).is_ok_and(|m| m.is_file());
    if !regular {
        // A pipe can be read once only (and a path that is not there fails as it always did):
        // read whole, before recording, as every export once was.
        let target = Target::Inventory {
            system: system.to_string(),
            file: file.to_path_buf(),
        };
        let mut report = record::started(store, run, || Ok(scanners::sweep(&target, &NoMatcher)?))?;
        if report.status == RunStatus::Complete {
            let previous = runs::last_complete_accounts(store.conn(), &report.system)?;
            let accounts = report.observations.accounts.len();
            if let Some(why) = record::cut_short(accounts, previous, guard) {
                report.miss(Miss::new(scanners::inventory::UNIT, MissClass::Error, why));
            }
        }
        return Ok(Swept {
            run,
            report,
            export: None,
        });
    }
    let started_at = chrono::Utc::now();
    let reading = std::time::Instant::now();
    // The digest first: whether the store holds this very export already decides what the
    // batches compare.
    let report = match scanners::inventory::export_digest(file) {
        Ok(digest) => scanners::inventory::export_report(system, started_at, Some(digest)),
        Err(e) => {
            return Ok(Swept {
                run,
                report: record::unreadable_export(system, started_at, &e),
                export: None,
            })
        }
    };
    tracing::debug!(elapsed = ?reading.elapsed(), "export digested");
    Ok(Swept {
        run,
        report,
        export: Some(record::Export {
            file: file.to_path_buf(),
            guard,
        }),
    })
}

/// Sweeps the AWS accounts one after another, each run started before its sweep. The account is
/// only known once the sweep asked STS, so a started row names the account of the role (or the
/// profile, or `default`): see [`AwsScanConfig::tried_system`].
pub fn aws(cx: &Context, store: &Store, configs: Vec<AwsScanConfig>) -> Result<Vec<Swept>> {
    aws_accounts(cx, store, configs, None)
}

/// Sweeps the IAM users `users` of each AWS account (a targeted sweep: the account-wide calls
/// plus those users' per-user calls), each run started before its sweep, as [`aws`] does.
pub fn aws_targeted(
    cx: &Context,
    store: &Store,
    configs: Vec<AwsScanConfig>,
    users: &[String],
) -> Result<Vec<Swept>> {
    aws_accounts(cx, store, configs, Some(users))
}

/// [`aws`], or [`aws_targeted`] at `users` when given.
fn aws_accounts(
    cx: &Context,
    store: &Store,
    configs: Vec<AwsScanConfig>,
    users: Option<&[String]>,
) -> Result<Vec<Swept>> {
    let mut swept = Vec::new();
    for config in configs {
        let account = config
            .role_arn
            .clone()
            .unwrap_or_else(|| "the default account".into());
        cx.progress.say(match users {
            None => format!("scan aws-iam: sweeping {account}"),
            Some(users) => format!(
                "scan aws-iam: targeted sweep of {} in {account}: {}",
                crate::progress::count(users.len() as u64, "IAM user", "IAM users"),
                users.join(", ")
            ),
        });
        let system = config.tried_system();
        let run = record::start(cx, store, "aws-iam", &system)?;
        let report = record::started(store, run, || match users {
            None => Ok(scanners::sweep(&Target::AwsIam(config), &NoMatcher)?),
            Some(users) => Ok(scanners::sweep_aws_iam_users(&config, users)?),
        })?;
        swept.push(Swept {
            run,
            report,
            export: None,
        });
    }
    Ok(swept)
}

/// Whom a sweep is for. Without one (the nightly job, a scheduled firing) every scanner sweeps
/// its whole scope; with one (new leavers and movers) a scanner that can look at a few accounts
/// cheaply sweeps only theirs, and the others sweep in full.
#[derive(Debug, Clone, Default)]
pub struct Focus {
    /// The IAM user names of the people in focus. Empty: aws-iam sweeps in full (nobody's IAM
    /// user is known, and one may exist that no run has linked yet).
    pub aws_users: Vec<String>,
}

/// Sweeps accounts of an AWS Organization (listed by `units::of_entries`, which also files an
/// organisation that cannot be listed as one failed run of `aws-iam:organization`): starts one
/// run per account (`aws-iam:<account id>`), sweeps them `concurrency` at a time and hands back
/// one report per run.
pub fn aws_organization_accounts(
    cx: &Context,
    store: &Store,
    org: &Organization,
    accounts: &[String],
) -> Result<Vec<Swept>> {
    cx.progress.say(format!(
        "scan aws-iam: sweeping {} through role {} ({} at a time)",
        crate::progress::count(accounts.len() as u64, "account", "accounts"),
        org.role_name,
        org.concurrency.max(1)
    ));
    let mut runs = Vec::new();
    for a in accounts {
        runs.push(record::start(
            cx,
            store,
            "aws-iam",
            &organization::system_of(a),
        )?);
    }
    let reports = organization::sweep_accounts_blocking(org, accounts);
    Ok(runs
        .into_iter()
        .zip(reports)
        .map(|(run, report)| Swept {
            run,
            report,
            export: None,
        })
        .collect())
}

/// Sweeps one IAM Identity Center instance. Its system (`aws-sso:<identity store id>`) is known
/// only once the sweep found the instance, so a started row names the configured instance.
pub fn aws_sso(cx: &Context, store: &Store, config: SsoScanConfig) -> Result<Swept> {
    let instance = config
        .instance_arn
        .clone()
        .unwrap_or_else(|| "default".into());
    cx.progress.say(format!(
        "scan aws-sso: sweeping Identity Center instance {instance}"
    ));
    let run = record::start(cx, store, "aws-sso", &format!("aws-sso:{instance}"))?;
    let target = Target::AwsSso(config);
    let report = record::started(store, run, || Ok(scanners::sweep(&target, &NoMatcher)?))?;
    Ok(Swept {
        run,
        report,
        export: None,
    })
}

/// Sweeps one GitHub organisation, CI values run through the secret patterns under `key`.
pub fn github(
    cx: &Context,
    store: &Store,
    key: &FingerprintKey,
    cfg: GithubScanConfig,
) -> Result<Swept> {
    let matcher = secret_matcher(key)?;
    let value_matcher = |v: &str| value_matches(&matcher, v);
    cx.progress
        .say(format!("scan {}: sweeping {}", cfg.system(), cfg.api_url));
    let run = record::start(cx, store, "github", &cfg.system())?;
    let target = Target::Github(cfg);
    let report = record::started(store, run, || Ok(scanners::sweep(&target, &value_matcher)?))?;
    Ok(Swept {
        run,
        report,
        export: None,
    })
}

/// Sweeps one GitLab group and its subgroups.
pub fn gitlab(
    cx: &Context,
    store: &Store,
    key: &FingerprintKey,
    cfg: GitlabScanConfig,
) -> Result<Swept> {
    if cfg.token.is_none() {
        cx.progress.say(format!(
            "scan gitlab:{}: warning: GITLAB_TOKEN is not set; reading anonymously (variables need a token)",
            cfg.group
        ));
    }
    let matcher = secret_matcher(key)?;
    let value_matcher = |v: &str| value_matches(&matcher, v);
    cx.progress.say(format!(
        "scan gitlab:{}: sweeping {}",
        cfg.group, cfg.api_url
    ));
    let run = record::start(cx, store, "gitlab", &format!("gitlab:{}", cfg.group))?;
    let target = Target::Gitlab(cfg);
    let report = record::started(store, run, || Ok(scanners::sweep(&target, &value_matcher)?))?;
    Ok(Swept {
        run,
        report,
        export: None,
    })
}

/// Sweeps one Microsoft Entra ID tenant.
pub fn entra(cx: &Context, store: &Store, cfg: EntraScanConfig) -> Result<Swept> {
    let system = cfg.system();
    identity_provider(cx, store, "entra", system, Target::Entra(cfg))
}

/// Sweeps one Okta org.
pub fn okta(cx: &Context, store: &Store, cfg: OktaScanConfig) -> Result<Swept> {
    let system = cfg.system();
    identity_provider(cx, store, "okta", system, Target::Okta(cfg))
}

fn identity_provider(
    cx: &Context,
    store: &Store,
    scanner: &str,
    system: String,
    target: Target,
) -> Result<Swept> {
    cx.progress.say(format!("scan {system}: sweeping"));
    let run = record::start(cx, store, scanner, &system)?;
    let report = record::started(store, run, || Ok(scanners::sweep(&target, &NoMatcher)?))?;
    Ok(Swept {
        run,
        report,
        export: None,
    })
}

/// The matcher as the scanners' `ValueMatcher`: (pattern id, fingerprint, non-secret id) per
/// match that is not suppressed. The value itself goes nowhere.
fn value_matches(matcher: &Matcher, value: &str) -> Vec<(String, String, Option<String>)> {
    matcher
        .scan(None, value.as_bytes())
        .into_iter()
        .filter(|m| m.suppressed.is_none())
        .map(|m| (m.pattern_id, m.fingerprint, m.identifier))
        .collect()
}

/// One repository to sweep into the store.
pub struct RepositorySweep<'a> {
    pub path: &'a Path,
    /// The system name's NAME in `git:NAME` (default: the directory name).
    pub name: Option<&'a str>,
    /// Read the whole history again instead of the objects no earlier run read.
    pub full: bool,
    /// Verify found secrets with their providers (reads the whole history).
    pub verify: Option<VerifyConfig>,
}

/// Observes one repository, completes an incremental run with the previous complete run's
/// observations, records the run, and remembers its objects once the run is stored. With
/// verification the whole history is read: secret values are never stored, so the secrets of
/// objects read by earlier runs are only at hand when read again.
pub fn repository(
    cx: &Context,
    store: &mut Store,
    key: &FingerprintKey,
    sweep: RepositorySweep,
) -> Result<Recorded> {
    let path = sweep.path;
    if !path.exists() {
        return Err(Error::Input(format!(
            "{}: no such repository",
            path.display()
        )));
    }
    let full = sweep.full || sweep.verify.is_some();
    let system = repository::system_name(path, sweep.name);
    let known = if full {
        Default::default()
    } else {
        git_store::known(store.conn(), &system)?
    };
    cx.progress.say(format!(
        "scan {system}: reading {} ({})",
        path.display(),
        if known.is_empty() {
            "full history"
        } else {
            "new objects only"
        }
    ));
    let plan = RepositoryPlan {
        path,
        system: system.clone(),
        known,
        include_worktree: false,
        verify: sweep.verify,
    };
    let run = record::start(cx, store, "git", &system)?;
    let mut seen = record::started(store, run, || {
        let mut seen = repository::observe(plan, key, &cx.progress)?;
        incremental::complete(store, &mut seen.scan)?;
        Ok(seen)
    })?;
    if !seen.ignored.is_empty() {
        cx.progress.say(format!(
            "scan {system}: {} secret(s) suppressed by .residualignore",
            seen.ignored.len()
        ));
    }
    if seen.shallow {
        // What a shallow clone lacks is unseen, not gone: no history finding may resolve. The
        // working tree (CODEOWNERS) was read whole.
        seen.scan.report.miss(Miss::new(
            scanners::git::HISTORY,
            MissClass::Error,
            format!(
                "{}; no history finding is resolved",
                repository::SHALLOW_NOTE
            ),
        ));
    }
    say_read(cx, &system, &seen.scan.stats);
    let scan = seen.scan;
    let complete = scan.report.status == RunStatus::Complete;
    let recorded = record(
        cx,
        store,
        Swept {
            run,
            report: scan.report,
            export: None,
        },
    )?;
    if complete {
        incremental::remember(store, &system, &scan.new_commits, &scan.new_blobs, full)?;
    }
    Ok(recorded)
}

/// What a repository's read came to: commits, blobs scanned and skipped, matches.
fn say_read(cx: &Context, system: &str, s: &scanners::git::GitStats) {
    cx.progress.say(format!(
        "scan {system}: {}, {} scanned ({} MiB), {} known, {} binary and {} large skipped, {}",
        crate::progress::count(s.commits, "commit", "commits"),
        crate::progress::count(s.blobs_scanned, "blob", "blobs"),
        s.bytes_scanned / (1 << 20),
        s.blobs_known,
        s.skipped_binary,
        s.skipped_large,
        crate::progress::count(s.hits, "match", "matches")
    ));
}

/// Sweeps the configured scanners `entries` and records each run. A scanner that cannot run
/// (a repository path that does not exist, an export with a bad row, a GitHub App key that cannot
/// be read) does not stop the others: it is recorded as a failed run of its system, with why, and
/// the job goes on (a failed run resolves nothing and makes the job exit 3). What no scanner can
/// run without (the store, the keys, the exceptions file, the rules) stops the job. Each unit is
/// swept under a lease (see [`units_of`]); a unit another worker is sweeping is skipped.
pub fn configured(
    cx: &Context,
    store: &mut Store,
    db: &Path,
    config: &Config,
    entries: &[&ScannerConfig],
) -> Result<Vec<Recorded>> {
    configured_for(cx, store, db, config, entries, None)
}

/// [`configured`] for the people of `focus` (when given): aws-iam entries sweep only their IAM
/// users once a full sweep of aws-iam has completed (before that, links are unknown and the first
/// sweep is full); every other scanner sweeps in full.
pub fn configured_for(
    cx: &Context,
    store: &mut Store,
    db: &Path,
    config: &Config,
    entries: &[&ScannerConfig],
    focus: Option<&Focus>,
) -> Result<Vec<Recorded>> {
    let units = units::of_entries(config, entries)?;
    let plan = UnitsPlan {
        db,
        config,
        focus,
        lease_ttl: leases::DEFAULT_TTL,
    };
    Ok(units_of(cx, store, &plan, units)?.recorded)
}

/// How to sweep a list of units.
pub struct UnitsPlan<'a> {
    /// The store's path (where the keys live beside it).
    pub db: &'a Path,
    pub config: &'a Config,
    /// Whom the sweep is for (see [`Focus`]); `None`: everyone.
    pub focus: Option<&'a Focus>,
    /// How long a lease lives without renewal (`--lease-ttl`).
    pub lease_ttl: std::time::Duration,
}

/// What sweeping a list of units did.
pub struct UnitsDone {
    pub recorded: Vec<Recorded>,
    /// The units skipped because another worker holds a live lease on them, with the holder.
    pub skipped: Vec<(String, String)>,
}

/// Sweeps each unit under a lease: taken before the sweep (a unit another worker holds a live
/// lease on is skipped, and said so), renewed in the background while it runs, released once
/// its run is recorded. The accounts of one organisation are swept together, `concurrency` at a
/// time, as before units existed.
pub fn units_of(
    cx: &Context,
    store: &mut Store,
    plan: &UnitsPlan,
    units: Vec<units::Unit>,
) -> Result<UnitsDone> {
    let entries: Vec<&ScannerConfig> = units.iter().map(|u| u.entry).collect();
    let aws_users = match plan.focus {
        Some(f) => targeted_aws_users(cx, store, f, &entries)?,
        None => None,
    };
    let keeper = leases::Keeper::start(store.path(), plan.lease_ttl);
    let mut done = UnitsDone {
        recorded: Vec::new(),
        skipped: Vec::new(),
    };
    let mut rest = units.as_slice();
    while !rest.is_empty() {
        let n = 1 + rest[1..]
            .iter()
            .take_while(|u| same_org(&rest[0], u))
            .count();
        let (batch, after) = rest.split_at(n);
        rest = after;
        let mut mine = Vec::new();
        for u in batch {
            match leases::take(store, &u.id, plan.lease_ttl)? {
                leases::Taken::Held { holder, expires_in } => {
                    cx.progress.say(format!(
                        "scan {}: skipped: another worker ({holder}) is sweeping it (its lease expires in {}s)",
                        u.id,
                        expires_in.as_secs()
                    ));
                    done.skipped.push((u.id.clone(), holder));
                }
                leases::Taken::Ours { interrupted } => {
                    if let Some(run) = interrupted {
                        cx.progress.say(format!(
                            "scan {}: run {run} was left started under a lease that died (its worker is gone, or stopped renewing it): marked interrupted (it resolves nothing)",
                            u.id
                        ));
                    }
                    keeper.hold(&u.id);
                    mine.push(u);
                }
            }
        }
        if mine.is_empty() {
            continue;
        }
        let swept = sweep_units(cx, store, plan, &mine, aws_users);
        for u in &mine {
            keeper.drop_unit(&u.id);
            if let Err(e) = leases::release(store.conn(), &u.id) {
                tracing::warn!("scan {}: cannot release its lease: {e}", u.id);
            }
        }
        done.recorded.extend(swept?);
    }
    Ok(done)
}

/// Whether `b` is an account of the same organisation entry as the account `a`.
fn same_org(a: &units::Unit, b: &units::Unit) -> bool {
    matches!(
        (&a.part, &b.part),
        (Part::OrgAccount(..), Part::OrgAccount(..))
    ) && a.entry.name == b.entry.name
}

/// Sweeps and records `batch`: one unit, or accounts of one organisation. A unit that cannot run
/// is a failed run of it (see [`configured`]).
fn sweep_units(
    cx: &Context,
    store: &mut Store,
    plan: &UnitsPlan,
    batch: &[&units::Unit],
    aws_users: Option<&[String]>,
) -> Result<Vec<Recorded>> {
    let first = batch[0];
    let s = first.entry;
    let swept = match &first.part {
        Part::Repository(path) => {
            let sweep = RepositorySweep {
                path,
                name: None,
                full: false,
                verify: (s.verify == Some(true)).then(|| {
                    verification::settings(&plan.config.verify, &VerifyOverrides::default())
                }),
            };
            let key = FingerprintKey::load_or_create(plan.db)?;
            let run = repository(cx, store, &key, sweep)
                .or_else(|e| could_not_run(cx, store, s, "git", &first.id, e));
            return Ok(vec![run?]);
        }
        Part::OrgAccount(org, _) => {
            let accounts: Vec<String> = batch
                .iter()
                .filter_map(|u| match &u.part {
                    Part::OrgAccount(_, a) => Some(a.clone()),
                    _ => None,
                })
                .collect();
            aws_organization_accounts(cx, store, org, &accounts)
        }
        Part::Unlisted(e) => {
            let run = record::start(cx, store, "aws-iam", &first.id)?;
            let report =
                scanners::ScanReport::failed("aws-iam", &first.id, cx.now, vec![e.clone()], 0);
            Ok(vec![Swept {
                run,
                report,
                export: None,
            }])
        }
        Part::Account(c) => match aws_users {
            Some(users) => aws_targeted(cx, store, vec![(**c).clone()], users),
            None => aws(cx, store, vec![(**c).clone()]),
        },
        Part::Entry => sweep_entry(cx, store, plan.db, plan.config, s),
    };
    match swept {
        Ok(swept) => {
            let mut recorded = Vec::new();
            for run in swept {
                let export = run.export.is_some();
                match record(cx, store, run) {
                    Ok(run) => recorded.push(run),
                    // An export is read while its run is recorded: one refused as bad input is
                    // a scanner that could not run, as when it was read before.
                    Err(e @ Error::Inventory(_)) if export => {
                        let (scanner, _) = entry_system(s);
                        recorded.push(could_not_run(cx, store, s, scanner, &first.id, e)?);
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(recorded)
        }
        Err(e) => {
            let (scanner, _) = entry_system(s);
            Ok(vec![could_not_run(cx, store, s, scanner, &first.id, e)?])
        }
    }
}

/// The IAM users an aws-iam entry sweeps for `focus`, or `None` for a full sweep: before any
/// full aws-iam sweep completed (no account is linked yet) and when none of the people has a
/// known IAM user (one may exist that no run has linked). Says why a sweep stays full.
fn targeted_aws_users<'f>(
    cx: &Context,
    store: &Store,
    focus: &'f Focus,
    entries: &[&ScannerConfig],
) -> Result<Option<&'f [String]>> {
    if !entries
        .iter()
        .any(|s| matches!(s.kind.as_str(), "aws-iam" | "aws"))
    {
        return Ok(None);
    }
    if !runs::any_complete(store.conn(), "aws-iam")? {
        cx.progress
            .say("scan aws-iam: no full sweep has completed yet, so this one is full");
        return Ok(None);
    }
    if focus.aws_users.is_empty() {
        cx.progress
            .say("scan aws-iam: no IAM user is known for these people, so the sweep is full");
        return Ok(None);
    }
    Ok(Some(focus.aws_users.as_slice()))
}

/// Sweeps one configured entry that is not `git` (those are swept per repository); an aws-iam
/// entry only the IAM users `aws_users` when given.
fn sweep_entry(
    cx: &Context,
    store: &mut Store,
    db: &Path,
    config: &Config,
    s: &ScannerConfig,
) -> Result<Vec<Swept>> {
    Ok(match s.kind.as_str() {
        "inventory" => {
            let file = s
                .file
                .as_deref()
                .map(|f| config.resolve(f))
                .unwrap_or_default();
            let guard = ExportGuard {
                allow_empty: false,
                allow_drop: false,
                max_drop: config.policy.max_account_drop,
            };
            vec![inventory(
                cx,
                store,
                s.system.as_deref().unwrap_or(&s.name),
                &file,
                guard,
            )?]
        }
        // aws-iam entries are swept per account (see `units`); this is the whole entry at once.
        "aws-iam" | "aws" => aws(cx, store, targets::aws_from_entry(s))?,
        "aws-sso" => vec![aws_sso(cx, store, targets::aws_sso_from_entry(s))?],
        "entra" => vec![entra(cx, store, targets::entra_from_entry(s))?],
        "okta" => vec![okta(cx, store, targets::okta_from_entry(s)?)?],
        "github" => {
            let target = targets::github_from_entry(config, s)?;
            vec![github(
                cx,
                store,
                &FingerprintKey::load_or_create(db)?,
                target,
            )?]
        }
        _ => {
            let target = targets::gitlab_from_entry(s)?;
            vec![gitlab(
                cx,
                store,
                &FingerprintKey::load_or_create(db)?,
                target,
            )?]
        }
    })
}

/// The scanner kind and system a configured entry's runs are filed under, as far as it is known
/// before the scanner ran (an AWS account is known only from the account itself).
fn entry_system(s: &ScannerConfig) -> (&'static str, String) {
    match s.kind.as_str() {
        "inventory" => (
            "inventory",
            format!("inventory:{}", s.system.as_deref().unwrap_or(&s.name)),
        ),
        "github" => (
            "github",
            format!("github:{}", s.org.as_deref().unwrap_or(&s.name)),
        ),
        "gitlab" => (
            "gitlab",
            format!("gitlab:{}", s.group.as_deref().unwrap_or(&s.name)),
        ),
        "entra" => ("entra", targets::entra_from_entry(s).system()),
        "okta" => (
            "okta",
            format!(
                "okta:{}",
                residual_scanners::okta::org_of(s.api_url.as_deref().unwrap_or(&s.name))
            ),
        ),
        "aws-sso" => ("aws-sso", format!("aws-sso:{}", s.name)),
        _ => ("aws-iam", format!("aws-iam:{}", s.name)),
    }
}

/// Records the failed run of a configured scanner that could not run, unless the error is one
/// that stops the whole job (the store, the keys, the exceptions file, the rules).
fn could_not_run(
    cx: &Context,
    store: &mut Store,
    s: &ScannerConfig,
    scanner: &str,
    system: &str,
    e: Error,
) -> Result<Recorded> {
    if matches!(
        e,
        Error::Store(_)
            | Error::Key(_)
            | Error::Exceptions(_)
            | Error::Rules(_)
            | Error::Patterns(_)
    ) {
        return Err(e);
    }
    cx.progress.say(format!(
        "scan {system}: scanner `{}` could not run: {e}",
        s.name
    ));
    let run = record::start(cx, store, scanner, system)?;
    let report = scanners::ScanReport::failed(scanner, system, cx.now, vec![e.to_string()], 0);
    record(
        cx,
        store,
        Swept {
            run,
            report,
            export: None,
        },
    )
}
