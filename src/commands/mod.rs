//! One module per command. Each takes the [`Context`] built by `main` from the flags and the
//! configuration, does its work through the core modules, and returns an [`Exit`].

pub mod audit;
pub mod codehost;
pub mod daemon;
pub mod exceptions;
pub mod findings;
pub mod fingerprint;
pub mod gate;
pub mod git;
pub mod hr;
pub mod rules;
pub mod runs;
pub mod scan;
pub mod verify;

use crate::config::Config;
use crate::store::Store;
use anyhow::Context as _;
use chrono::{DateTime, Utc};
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
    /// A scanner could not complete.
    Scanner = 3,
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
    pub quiet: bool,
}

impl Context {
    pub fn open_store(&self) -> anyhow::Result<Store> {
        Store::open(&self.db).with_context(|| format!("opening the store {}", self.db.display()))
    }

    /// Progress and summaries go to stderr so that stdout stays machine-readable.
    pub fn progress(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", msg.as_ref());
        }
    }
}
