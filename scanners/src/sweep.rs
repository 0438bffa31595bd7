//! The one scanner interface: a [`Target`] in, a [`ScanReport`] out, blocking.
//!
//! The core does not build async runtimes and does not know which scanner is async: [`sweep`]
//! builds and owns the tokio runtime of the run, and draws one line between the two kinds of
//! failure a sweep can meet:
//!
//! * the system could not be read (unreachable, no credentials, the export did not arrive
//!   tonight): a [`RunStatus::Failed`](crate::RunStatus::Failed) report, recorded like any run,
//!   that resolves nothing;
//! * the input is wrong (a bad row in an export): a [`SweepError`], and nothing is recorded,
//!   because a half-read input would look like removed accounts.
//!
//! Git repositories have their own call ([`crate::git::scan_repository`]) because a git scan
//! returns more than a report (the objects it read, for the next incremental run); its report is
//! the same [`ScanReport`].

use crate::aws_iam::{self, AwsScanConfig};
use crate::aws_sso::{self, SsoScanConfig};
use crate::ci_variable::ValueMatcher;
use crate::entra::{self, EntraScanConfig};
use crate::github::{self, GithubScanConfig};
use crate::gitlab::{self, GitlabScanConfig};
use crate::inventory::{self, InventoryError};
use crate::okta::{self, OktaScanConfig};
use crate::ScanReport;
use chrono::Utc;
use std::path::PathBuf;

/// One system to sweep: what a `[[scanner]]` entry or a `residual scan KIND` command names.
#[derive(Debug)]
pub enum Target {
    /// A user export (CSV or JSONL) of `system`, filed under `inventory:<system>`.
    Inventory { system: String, file: PathBuf },
    /// One AWS account's IAM (one target per account when several roles are assumed).
    AwsIam(AwsScanConfig),
    /// One IAM Identity Center instance and the assignments it makes in the organisation.
    AwsSso(SsoScanConfig),
    /// One GitHub organisation.
    Github(GithubScanConfig),
    /// One GitLab group and its subgroups.
    Gitlab(GitlabScanConfig),
    /// One Microsoft Entra ID tenant.
    Entra(EntraScanConfig),
    /// One Okta org.
    Okta(OktaScanConfig),
}

impl Target {
    /// The scanner kind, as it appears in [`ScanReport::scanner`].
    pub fn scanner(&self) -> &'static str {
        match self {
            Target::Inventory { .. } => inventory::SCANNER,
            Target::AwsIam(_) => aws_iam::SCANNER,
            Target::AwsSso(_) => aws_sso::SCANNER,
            Target::Github(_) => github::SCANNER,
            Target::Gitlab(_) => gitlab::SCANNER,
            Target::Entra(_) => entra::SCANNER,
            Target::Okta(_) => okta::SCANNER,
        }
    }
}

/// Why a sweep recorded nothing. A system that could not be read is not an error: it is a
/// failed report.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The input is wrong (file, line and field named); fix it and run again.
    #[error(transparent)]
    Inventory(InventoryError),
    /// The async runtime the network scanners run on could not be started (out of threads or
    /// file descriptors).
    #[error("cannot start the scanners' async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

/// Sweeps one target and returns its scan run's report. Blocks the calling thread; the network
/// scanners run on a tokio runtime built for this call and dropped with it.
///
/// `matcher` is shown the values of CI variables (GitHub, GitLab) and must not keep them; the
/// other scanners do not use it.
pub fn sweep(target: &Target, matcher: &dyn ValueMatcher) -> Result<ScanReport, SweepError> {
    match target {
        Target::Inventory { system, file } => sweep_inventory(system, file),
        Target::AwsIam(config) => Ok(runtime()?.block_on(aws_iam::scan_aws_iam(config))),
        Target::AwsSso(config) => Ok(runtime()?.block_on(aws_sso::scan_aws_sso(config))),
        Target::Github(config) => Ok(runtime()?.block_on(github::scan_github(config, matcher))),
        Target::Gitlab(config) => Ok(runtime()?.block_on(gitlab::scan_gitlab(config, matcher))),
        Target::Entra(config) => Ok(runtime()?.block_on(entra::scan_entra(config))),
        Target::Okta(config) => Ok(runtime()?.block_on(okta::scan_okta(config))),
    }
}

/// A targeted sweep of the IAM users `users` of one AWS account (see
/// [`aws_iam::scan_aws_iam_users`]), blocking like [`sweep`].
pub fn sweep_aws_iam_users(
    config: &AwsScanConfig,
    users: &[String],
) -> Result<ScanReport, SweepError> {
    Ok(runtime()?.block_on(aws_iam::scan_aws_iam_users(config, users)))
}

/// An export that cannot be read is a failed run (it did not arrive); a bad row is an error.
fn sweep_inventory(system: &str, file: &std::path::Path) -> Result<ScanReport, SweepError> {
    let started_at = Utc::now();
    match inventory::scan_inventory(system, file) {
        Ok(report) => Ok(report),
        Err(e @ InventoryError::Io { .. }) => Ok(ScanReport::failed(
            inventory::SCANNER,
            format!("{}:{system}", inventory::SCANNER),
            started_at,
            vec![error_chain(&e)],
            0,
        )),
        Err(e) => Err(SweepError::Inventory(e)),
    }
}

/// `error: its source: its source's source`, the way the command line prints error chains.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn runtime() -> Result<tokio::runtime::Runtime, SweepError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(SweepError::Runtime)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ci_variable::NoMatcher;
    use crate::RunStatus;
    use std::path::Path;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../fixtures/inventory")
            .join(name)
    }

    #[test]
    fn an_inventory_target_sweeps_the_export_into_a_complete_report() {
        let target = Target::Inventory {
            system: "crm".into(),
            file: fixture("crm.csv"),
        };
        let report = sweep(&target, &NoMatcher).expect("the fixture is a valid export");
        assert_eq!(report.scanner, "inventory");
        assert_eq!(report.system, "inventory:crm");
        assert_eq!(report.status, RunStatus::Complete);
        assert!(!report.observations.accounts.is_empty());
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    }

    #[test]
    fn a_missing_export_is_a_failed_report_that_names_the_file() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = dir.path().join("absent.csv");
        let target = Target::Inventory {
            system: "crm".into(),
            file: file.clone(),
        };
        let report = sweep(&target, &NoMatcher).expect("a missing file is not an input error");
        assert_eq!(report.status, RunStatus::Failed);
        assert_eq!(report.system, "inventory:crm");
        assert_eq!(report.scanner, "inventory");
        assert!(report.observations.accounts.is_empty());
        assert_eq!(report.errors.len(), 1);
        let error = &report.errors[0];
        assert!(
            error.starts_with(&format!("{}: cannot read: ", file.display())),
            "{error}"
        );
    }

    #[test]
    fn a_bad_row_is_an_error_and_no_report() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let file = dir.path().join("bad.csv");
        std::fs::write(
            &file,
            "account,email\nalice,a@example.com\nalice,b@example.com\n",
        )
        .expect("the export is written");
        let target = Target::Inventory {
            system: "crm".into(),
            file,
        };
        match sweep(&target, &NoMatcher) {
            Err(SweepError::Inventory(InventoryError::Invalid { line, field, .. })) => {
                assert_eq!((line, field.as_str()), (3, "account"));
            }
            other => panic!("expected an input error, got {other:?}"),
        }
    }

    #[test]
    fn the_target_names_its_scanner() {
        let target = Target::Gitlab(GitlabScanConfig::new("acme"));
        assert_eq!(target.scanner(), "gitlab");
        let target = Target::AwsIam(AwsScanConfig::default());
        assert_eq!(target.scanner(), "aws-iam");
    }
}
