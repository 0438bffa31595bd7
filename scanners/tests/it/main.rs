//! The integration tests of `residual-scanners`: one test binary with one module per scanner or
//! engine, so the SDK stack is linked once instead of once per file, and the tests that need moto
//! share one server. Shared fakes come from the `residual-test-support` crate.

mod aws_iam_fixtures;
mod aws_iam_moto;
mod aws_iam_outage;
mod aws_iam_targeted;
mod aws_sso_bench;
mod facets;
mod git_history;
mod git_secrets;
mod github_bench;
mod github_fixtures;
mod github_scan;
mod gitlab_scan;
mod secret_recall;
mod secret_rules;
mod verify;
