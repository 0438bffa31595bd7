//! The `aws-sso` scanner: one IAM Identity Center instance — its users, groups, memberships,
//! permission sets and the account assignments that give users (directly or through a group) a
//! permission set in an account of the organisation — as observations.
//!
//! How it reads (and what each call costs) is in [`read`]; how what it read becomes accounts and
//! grants is in [`translate`]. Calls grow with pages, groups, permission sets, accounts and the
//! permission sets provisioned to each account — never with users × accounts.
//!
//! The run is filed under `aws-sso:<identity store id>`. Coverage units: `users`, `groups`
//! (memberships), `permission-sets`, `permission-sets:tags` (owner tags), `accounts`,
//! `assignments` and `assignments:<account id>` per account. A run that cannot find its
//! instance is [`RunStatus::Failed`](crate::RunStatus::Failed); one that lost a listing is
//! partial and still vouches for the units it covered.
//!
//! No secret value is read: these APIs return directory metadata only.

mod directory;
mod read;
mod translate;

pub use read::assignments_unit;
pub use translate::PERMISSION_SET_PREFIX;

use crate::aws_iam::AwsScanConfig;
use crate::ScanReport;
use chrono::Utc;
use read::{Clients, Reader};
use std::sync::atomic::Ordering;

/// The scanner kind, as it appears in [`ScanReport::scanner`].
pub const SCANNER: &str = "aws-sso";

/// What to sweep: how to reach AWS (profile, endpoint, region, role to assume, retries, tags and
/// `concurrency`, as for `aws-iam`) and which instance.
#[derive(Debug, Clone)]
pub struct SsoScanConfig {
    /// How to reach AWS; [`AwsScanConfig::region`] is the Identity Center region.
    pub aws: AwsScanConfig,
    /// The instance to sweep; by default the only one the credentials see.
    pub instance_arn: Option<String>,
    /// Read permission set tags (`sso:ListTagsForResource`) for owner hints. On by default;
    /// moto does not implement the call, so tests against moto switch it off (a `Disabled`
    /// miss of `permission-sets:tags`: owner findings then never resolve).
    pub permission_set_tags: bool,
}

impl Default for SsoScanConfig {
    fn default() -> Self {
        SsoScanConfig {
            aws: AwsScanConfig::default(),
            instance_arn: None,
            permission_set_tags: true,
        }
    }
}

/// Sweeps one Identity Center instance. Never panics on AWS errors: a run that cannot find its
/// instance is failed, one that lost calls is partial, both with their reasons.
pub async fn scan_aws_sso(config: &SsoScanConfig) -> ScanReport {
    let started_at = Utc::now();
    let clients = Clients::new(config).await;
    let reader = Reader {
        clients: &clients,
        config,
    };
    let calls = || clients.calls.load(Ordering::Relaxed);
    let (instance_arn, store_id) = match reader.instance().await {
        Ok(found) => found,
        Err(e) => {
            let system = format!(
                "{SCANNER}:{}",
                config.instance_arn.as_deref().unwrap_or("default")
            );
            return ScanReport::failed(SCANNER, system, started_at, vec![e], calls());
        }
    };
    let (dir, misses) = reader.directory(&instance_arn, store_id.clone()).await;
    let obs = translate::observations(&dir, &config.aws.tag_keys);
    let mut expected: Vec<String> = [
        read::USERS,
        read::GROUPS,
        read::PERMISSION_SETS,
        read::TAGS,
        read::ACCOUNTS,
        read::ASSIGNMENTS,
    ]
    .map(str::to_string)
    .to_vec();
    expected.extend(dir.accounts.iter().map(|(id, _)| assignments_unit(id)));
    let mut report = ScanReport {
        scanner: SCANNER.into(),
        system: format!("{SCANNER}:{store_id}"),
        input_digest: Some(format!("instance {instance_arn}")),
        status: crate::RunStatus::Complete,
        started_at,
        finished_at: Utc::now(),
        observations: obs,
        errors: Vec::new(),
        coverage: Vec::new(),
        calls: calls(),
    };
    report.settle(&expected, misses);
    report
}
