//! Every account of an AWS Organization (`accounts = "organization"`): the organisation's active
//! accounts from `organizations:ListAccounts` (run from the management or a delegated-admin
//! account), narrowed by `include`/`exclude` (account ids, or OU / root ids whose accounts at any
//! depth are meant), each swept by assuming the same role name (`role_name`, optional
//! `external_id`) in it — one [`ScanReport`] per account, filed under `aws-iam:<account id>`, so
//! that one account that cannot be entered is one failed run, not a failed organisation.
//!
//! The credential report is asynchronous (generate, then poll until AWS built it), so it is first
//! requested in every account at once ([`request_reports`]); the sweeps that follow,
//! `concurrency` accounts at a time, then mostly find it ready instead of waiting for each in
//! turn. Entering an account costs one `sts:AssumeRole` per phase (two per account), not counted
//! in [`ScanReport::calls`] (see the module's known limits).

use super::clients::sdk_config;
use super::{scan_aws_iam, AwsScanConfig, SCANNER};
use crate::ScanReport;
use aws_sdk_organizations::types::AccountState;
use futures_util::stream::{self, StreamExt};
use std::collections::BTreeSet;

/// How to sweep every account of an organisation.
#[derive(Debug, Clone)]
pub struct Organization {
    /// How to reach AWS as the management (or delegated-admin) account, and the settings every
    /// account's sweep inherits.
    pub base: AwsScanConfig,
    /// The role assumed in every account (`arn:aws:iam::<account>:role/<role_name>`).
    pub role_name: String,
    /// The external id the role's trust policy requires, if any.
    pub external_id: Option<String>,
    /// Only these accounts (ids, or OU/root ids for the accounts below them); empty: all.
    pub include: Vec<String>,
    /// Never these accounts (ids, or OU/root ids).
    pub exclude: Vec<String>,
    /// Accounts swept at once (default 4).
    pub concurrency: usize,
}

/// The system of an account's runs.
pub fn system_of(account_id: &str) -> String {
    format!("{SCANNER}:{account_id}")
}

/// The scan settings of one member account: the base, entered through the role.
pub fn account_config(org: &Organization, account_id: &str) -> AwsScanConfig {
    AwsScanConfig {
        role_arn: Some(format!(
            "arn:aws:iam::{account_id}:role/{}",
            org.role_name.trim_start_matches('/')
        )),
        external_id: org.external_id.clone(),
        ..org.base.clone()
    }
}

/// The active accounts to sweep, sorted, or why the organisation could not be listed.
pub async fn member_accounts(org: &Organization) -> Result<Vec<String>, String> {
    let sdk = sdk_config(&org.base).await;
    let client = aws_sdk_organizations::Client::new(&sdk);
    let endpoint = super::error_text::endpoint(
        org.base.endpoint_url.as_deref(),
        "organizations.us-east-1.amazonaws.com",
    );
    let describe = |op: &str, e: &dyn std::fmt::Display| format!("{op} at {endpoint}: {e}");
    let pages = client
        .list_accounts()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| super::error_text::sdk_error("ListAccounts", &endpoint, &e))?;
    let active: BTreeSet<String> = pages
        .iter()
        .flat_map(|p| p.accounts())
        .filter(|a| {
            // `State` replaced `Status`; an account that says neither is taken as active.
            match (a.state(), a.status()) {
                (Some(s), _) => *s == AccountState::Active,
                (None, Some(s)) => s.as_str().eq_ignore_ascii_case("active"),
                (None, None) => true,
            }
        })
        .filter_map(|a| a.id().map(str::to_string))
        .collect();
    let expand = |ids: &[String]| {
        let client = client.clone();
        let ids = ids.to_vec();
        async move {
            let mut out = BTreeSet::new();
            for id in ids {
                if id.starts_with("ou-") || id.starts_with("r-") {
                    out.extend(accounts_below(&client, &id).await.map_err(|e| {
                        describe("ListAccountsForParent/ListOrganizationalUnitsForParent", &e)
                    })?);
                } else {
                    out.insert(id);
                }
            }
            Ok::<_, String>(out)
        }
    };
    let include = expand(&org.include).await?;
    let exclude = expand(&org.exclude).await?;
    Ok(active
        .into_iter()
        .filter(|a| org.include.is_empty() || include.contains(a))
        .filter(|a| !exclude.contains(a))
        .collect())
}

/// Every account below an OU or root, at any depth.
async fn accounts_below(
    client: &aws_sdk_organizations::Client,
    parent: &str,
) -> Result<BTreeSet<String>, String> {
    let mut out = BTreeSet::new();
    let mut parents = vec![parent.to_string()];
    while let Some(p) = parents.pop() {
        let pages = client
            .list_accounts_for_parent()
            .parent_id(&p)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| super::error_text::chain(&e))?;
        out.extend(
            pages
                .iter()
                .flat_map(|p| p.accounts())
                .filter_map(|a| a.id().map(str::to_string)),
        );
        let pages = client
            .list_organizational_units_for_parent()
            .parent_id(&p)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| super::error_text::chain(&e))?;
        parents.extend(
            pages
                .iter()
                .flat_map(|p| p.organizational_units())
                .filter_map(|u| u.id().map(str::to_string)),
        );
    }
    Ok(out)
}

/// Asks every account to start building its credential report, all at once; an account that
/// cannot be entered is left to its sweep, which says why.
pub async fn request_reports(org: &Organization, accounts: &[String]) {
    stream::iter(accounts)
        .map(|a| async move {
            let sdk = sdk_config(&account_config(org, a)).await;
            let iam = aws_sdk_iam::Client::new(&sdk);
            let _ = iam.generate_credential_report().send().await;
        })
        .buffer_unordered(accounts.len().max(1))
        .collect::<Vec<()>>()
        .await;
}

/// Sweeps every account, `concurrency` at a time; one report per account, in the order given,
/// each filed under `aws-iam:<account id>` (also one that could not be entered).
pub async fn sweep_accounts(org: &Organization, accounts: &[String]) -> Vec<ScanReport> {
    request_reports(org, accounts).await;
    let mut reports: Vec<(usize, ScanReport)> = stream::iter(accounts.iter().enumerate())
        .map(|(i, a)| async move {
            let mut report = scan_aws_iam(&account_config(org, a)).await;
            report.system = system_of(a);
            (i, report)
        })
        .buffer_unordered(org.concurrency.max(1))
        .collect()
        .await;
    reports.sort_by_key(|(i, _)| *i);
    reports.into_iter().map(|(_, r)| r).collect()
}

/// [`member_accounts`] on a runtime of its own, for the blocking core.
pub fn member_accounts_blocking(org: &Organization) -> Result<Vec<String>, String> {
    runtime()?.block_on(member_accounts(org))
}

/// [`sweep_accounts`] on a runtime of its own; a runtime that cannot start fails every account.
pub fn sweep_accounts_blocking(org: &Organization, accounts: &[String]) -> Vec<ScanReport> {
    match runtime() {
        Ok(rt) => rt.block_on(sweep_accounts(org, accounts)),
        Err(e) => accounts
            .iter()
            .map(|a| {
                ScanReport::failed(
                    SCANNER,
                    system_of(a),
                    chrono::Utc::now(),
                    vec![e.clone()],
                    0,
                )
            })
            .collect(),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the scanners' async runtime: {e}"))
}
