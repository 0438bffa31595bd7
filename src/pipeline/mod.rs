//! Orchestration: the few ways data flows through the core, each one function that takes a plan
//! and returns typed values, printing nothing (progress goes to the [`Progress`] the command
//! supplies).
//!
//! - [`hr_import`]: import an HR snapshot into the store, or read one into memory for the gate.
//! - [`repository`]: observe a repository — history, the working tree where asked, CODEOWNERS,
//!   workflow secrets, `.residualignore`, optional verification — the one step `scan git` and
//!   `gate` share, so both see the same things.
//! - [`sweep`]: sweep a system with its scanner and record the run ([`record`]).
//! - [`gate`]: gate a repository against HR, writing nothing anywhere.

pub mod cases;
pub mod gate;
pub mod hr_import;
pub mod incremental;
pub mod record;
pub mod repository;
pub mod sweep;
pub mod targets;
pub mod units;

use crate::evaluate::Policy;
use crate::exceptions::{ExceptionPolicy, ExceptionsError};
use crate::hr::HrError;
use crate::keys::{FingerprintKey, KeyError};
use crate::rules::RuleError;
use crate::store::StoreError;
use chrono::{DateTime, Utc};
use residual_scanners::git::GitError;
use residual_scanners::inventory::InventoryError;
use residual_scanners::secrets::{self, LoadError, Matcher, MatcherError};
use residual_scanners::verify::VerifyError;

pub use crate::progress::Progress;

/// What every orchestration step needs besides its own plan.
#[derive(Clone)]
pub struct Context {
    /// The time evaluation runs as of.
    pub now: DateTime<Utc>,
    /// Read the clock again for each run recorded, instead of `now`: a job that shares the
    /// store with other workers dates each run's events when it writes them, since the audit
    /// chain never goes back in time (false with `--now`).
    pub live_clock: bool,
    pub policy: Policy,
    /// The configured exceptions file (resolved), if any, and the cap on an exception's life.
    pub exceptions: ExceptionPolicy,
    pub progress: Progress,
    /// The systems and time limits leaver and mover cases are judged with.
    pub cases: crate::cases::CaseScope,
}

/// Orchestration could not finish. Each variant keeps its source's message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input that no other error describes (a missing repository, an unreadable CODEOWNERS).
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hr(#[from] HrError),
    #[error(transparent)]
    Rules(#[from] RuleError),
    #[error(transparent)]
    Patterns(#[from] LoadError),
    #[error(transparent)]
    Matcher(#[from] MatcherError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    #[error(transparent)]
    Sweep(#[from] residual_scanners::SweepError),
    #[error(transparent)]
    Exceptions(#[from] ExceptionsError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;

/// The built-in secret patterns under `key`: the one matcher every scanner that looks for
/// secrets (git history, CI variables) uses.
pub fn secret_matcher(key: &FingerprintKey) -> Result<Matcher> {
    Ok(Matcher::new(secrets::builtin()?, key.bytes())?)
}
