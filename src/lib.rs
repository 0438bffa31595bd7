//! `residual`: access that outlived the person.
//!
//! The core library behind the `residual` binary: HR snapshots ([`hr`]), the SQLite store
//! ([`store`]), linking accounts to people ([`link`]), residual-access rules ([`rules`]) and their
//! evaluation ([`evaluate`]), the finding lifecycle ([`findings`]), leaver and mover cases ([`cases`]), exceptions as policy
//! ([`exceptions`]), the fingerprint key ([`keys`]), verification ([`verification`]), the
//! orchestration that ties them together and prints nothing ([`pipeline`]), outputs, the access-review evidence pack ([`report`]) and the thin
//! commands. The scanners — the only code that talks to the outside world — live in the
//! `residual-scanners` crate and return observations per scan run.

#![warn(unreachable_pub)]

pub mod cases;
pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod evaluate;
pub mod evidence_text;
pub mod exceptions;
pub mod facts;
pub mod findings;
pub mod hr;
pub mod keys;
pub mod link;
pub mod output;
pub mod person;
pub mod pipeline;
pub mod progress;
pub mod remediate;
pub mod report;
pub mod rule_id;
pub mod rules;
pub mod schedule;
pub mod severity;
pub mod store;
pub mod verification;
