//! One module per command. Each takes the [`Context`] built by `main` from the flags and the
//! configuration, turns its arguments into a plan, hands it to the orchestration in
//! [`crate::pipeline`], renders what comes back, and returns an [`Exit`]. No command calls
//! another; what two commands share lives here or in [`summary`].

pub mod audit;
pub mod cases;
pub mod daemon;
pub mod exceptions;
pub mod findings;
pub mod gate;
pub mod hr;
pub mod nightly;
pub mod remediate;
pub mod report;
pub mod rules;
pub mod runs;
pub mod scan;
pub mod store;
pub mod summary;

use crate::cases::{CasePolicy, CaseScope};
use crate::cli::VerifyArgs;
use crate::config::Config;
use crate::exceptions::ExceptionPolicy;
use crate::pipeline::{self, Progress};
use crate::store::Store;
use crate::verification::{self, VerifyOverrides};
use anyhow::Context as _;
use chrono::{DateTime, Utc};
use residual_scanners::verify::VerifyConfig;
use std::path::PathBuf;

/// The process exit codes, as documented in `--help` and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Clean.
    Ok = 0,
    /// Findings at or above `--fail-on` (or a failed check).
    Findings = 1,
    /// Usage or input error.
    Input = 2,
    /// A scanner could not complete, or the command failed after it had recorded something
    /// (exit 2 would claim nothing changed).
    Scanner = 3,
    /// Another process held the store's write lock past `--lock-timeout`; nothing changed.
    Locked = 4,
}

/// Whether `e` is another process holding the store's write lock past the lock timeout, under
/// whichever error type carried it up (the typed errors that wrap a store error are transparent,
/// so the store error is not itself in the chain).
pub fn is_store_locked(e: &anyhow::Error) -> bool {
    use crate::exceptions::ExceptionsError;
    use crate::pipeline::Error as PipelineError;
    use crate::store::StoreError;
    e.chain().any(|c| {
        let store = c
            .downcast_ref::<StoreError>()
            .or_else(|| match c.downcast_ref::<PipelineError>() {
                Some(PipelineError::Store(s))
                | Some(PipelineError::Exceptions(ExceptionsError::Store(s))) => Some(s),
                _ => None,
            })
            .or_else(|| match c.downcast_ref::<ExceptionsError>() {
                Some(ExceptionsError::Store(s)) => Some(s),
                _ => None,
            });
        store.is_some_and(StoreError::is_locked)
    })
}

/// A bad argument or input that is not tied to a file format (those have their own errors).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Everything a command needs besides its own arguments.
pub struct Context {
    pub db: PathBuf,
    pub config: Config,
    pub now: DateTime<Utc>,
    /// `now` came from `--now` (a test or a replay), not the clock.
    pub now_overridden: bool,
    pub quiet: bool,
    /// How long a store operation waits for another process's lock (`--lock-timeout`).
    pub lock_timeout: std::time::Duration,
}

impl Context {
    /// The store for a command that writes: opened (created, migrated) with its chain key, and
    /// refused before anything is written when `now` is before the audit chain's last event.
    pub fn open_store(&self) -> anyhow::Result<Store> {
        let store = Store::open(&self.db)
            .with_context(|| format!("opening the store {}", crate::store::shown(&self.db)))?;
        store.set_lock_timeout(self.lock_timeout)?;
        self.check_clock(&store)?;
        Ok(store)
    }

    /// Events are never dated before the chain's last one: with `--now` such a time is a
    /// mistake in a test or a replay, with the clock a skewed clock. Either way nothing is
    /// written (the chain's writer refuses it too; this says why before any work is done).
    fn check_clock(&self, store: &Store) -> anyhow::Result<()> {
        let Some(last) = crate::store::events::last(store.conn())? else {
            return Ok(());
        };
        let now = residual_scanners::time::format_time(&self.now);
        if !crate::store::events::is_before(&now, &last.at) {
            return Ok(());
        }
        let message = if self.now_overridden {
            format!(
                "--now {now} is before the audit chain's last event (event {}, at {}): events are never dated before the chain's last one, so nothing was written; --now is for tests and replays, give a time at or after {}",
                last.seq, last.at, last.at
            )
        } else {
            format!(
                "the clock reads {now}, before the audit chain's last event (event {}, at {}): is the clock wrong? Events are never dated before the chain's last one, so nothing was written; fix the clock and run again",
                last.seq, last.at
            )
        };
        Err(UsageError(message).into())
    }

    /// The store for a command that only reads: opened read-only, never created or migrated, so
    /// that reading leaves the file byte-identical. A missing store is a usage error (a typo in
    /// `--db` must not answer "no findings").
    pub fn read_store(&self) -> anyhow::Result<Store> {
        if !crate::store::may_exist(&self.db) {
            return Err(UsageError(format!(
                "no store at {}: run `residual hr import FILE` or `residual scan` first, or pass --db",
                self.db.display()
            ))
            .into());
        }
        let store = Store::open_read_only(&self.db).with_context(|| {
            format!(
                "opening the store {} to read",
                crate::store::shown(&self.db)
            )
        })?;
        store.set_lock_timeout(self.lock_timeout)?;
        Ok(store)
    }

    /// Progress and summaries go to stderr so that stdout stays machine-readable.
    pub fn progress(&self, msg: impl AsRef<str>) {
        self.progress_sink().say(msg);
    }

    /// Where orchestration says its progress: stderr, or nowhere with `--quiet`.
    pub fn progress_sink(&self) -> Progress {
        if self.quiet {
            Progress::silent()
        } else {
            // Timestamped (or JSON) when the daemon runs: see `crate::daemon::log`.
            Progress::new(|line| eprintln!("{}", crate::daemon::log::decorate(line)))
        }
    }

    /// What orchestration needs from the configuration and the flags.
    pub fn pipeline(&self) -> pipeline::Context {
        pipeline::Context {
            now: self.now,
            live_clock: false,
            policy: self.config.policy(),
            exceptions: self.exceptions_policy(),
            progress: self.progress_sink(),
            cases: self.case_scope(),
        }
    }

    /// What leaver and mover cases are judged with: the grace periods and SLA of the policy, and
    /// the system of every configured scanner, so that one that never ran keeps cases open.
    /// An AWS account or Identity Center instance is known only once its scanner ran: `aws-iam:*`
    /// and `aws-sso:*` stand for it until then.
    pub fn case_scope(&self) -> CaseScope {
        let p = &self.config.policy;
        let systems = self
            .config
            .scanners
            .iter()
            .flat_map(|s| match s.kind.as_str() {
                "inventory" => vec![format!(
                    "inventory:{}",
                    s.system.as_deref().unwrap_or(&s.name)
                )],
                "git" => s
                    .paths
                    .iter()
                    .map(|p| pipeline::repository::system_name(&self.config.resolve(p), None))
                    .collect(),
                "github" => s.org.iter().map(|o| format!("github:{o}")).collect(),
                "gitlab" => s.group.iter().map(|g| format!("gitlab:{g}")).collect(),
                "entra" => vec![pipeline::targets::entra_from_entry(s).system()],
                "okta" => s
                    .api_url
                    .iter()
                    .map(|u| format!("okta:{}", residual_scanners::okta::org_of(u)))
                    .collect(),
                "aws-iam" | "aws" => vec![crate::cases::ANY_AWS_ACCOUNT.to_string()],
                "aws-sso" => vec![crate::cases::ANY_AWS_SSO_INSTANCE.to_string()],
                _ => Vec::new(),
            })
            .collect();
        CaseScope {
            policy: CasePolicy {
                leaver_grace: chrono::Duration::hours(p.leaver_grace_hours),
                mover_grace: chrono::Duration::days(p.mover_grace_days),
                sla: chrono::Duration::hours(p.collapse_sla_hours),
            },
            systems,
        }
    }

    /// The configured exceptions file, resolved against the configuration's directory.
    pub fn exceptions_file(&self) -> Option<PathBuf> {
        self.config
            .exceptions
            .as_ref()
            .map(|p| self.config.resolve(p))
    }

    /// What the configuration says of exceptions: the file, and `policy.max_exception_days`.
    pub fn exceptions_policy(&self) -> ExceptionPolicy {
        ExceptionPolicy {
            file: self.exceptions_file(),
            max_days: self.config.policy.max_exception_days,
        }
    }

    /// The verification settings of `scan git --verify` and `gate --verify`: defaults, then the
    /// configuration's `[verify]`, then the flags. `None` without `--verify`.
    pub fn verify_settings(&self, args: &VerifyArgs) -> Option<VerifyConfig> {
        args.verify.then(|| {
            let overrides = VerifyOverrides {
                aws_endpoint: args.verify_aws_endpoint.clone(),
                github_api: args.verify_github_api.clone(),
                slack_api: args.verify_slack_api.clone(),
                requests_per_second: args.verify_rate,
                max_candidates: args.verify_max,
            };
            verification::settings(&self.config.verify, &overrides)
        })
    }
}
