//! The end-to-end tests of `residual`, through the real binary: one test binary with one module
//! per behaviour area, so the SDK stack is linked once instead of once per file.
//!
//! [`harness`] runs the binary in a sandbox with its own store; what both crates' tests share
//! (moto, the fake code host, the fake credential providers) is the `residual-test-support`
//! crate.

mod harness;

mod audit;
mod aws_errors;
mod aws_iam;
mod aws_org;
mod aws_sso;
mod cases;
mod cli_output;
mod coverage;
mod daemon;
mod daemon_bench;
mod exceptions;
mod exit_codes;
mod gate;
mod git_scan;
mod github;
mod gitlab;
mod hr_import;
mod idp;
mod idp_bench;
mod inventory;
mod jobs;
mod lifecycle;
mod postgres;
mod readme_examples;
mod remediate;
mod report;
mod rules;
mod targeted;
mod verify;
