//! The `aws-iam` scanner: one AWS account's IAM users, roles and groups, every credential that can
//! authenticate as a user, and every grant that authorises one, as observations.
//!
//! # How the sweep reads an account
//!
//! Large accounts are the norm, so the sweep reads in bulk and goes per user only for what the
//! bulk calls omit:
//!
//! | data | source | calls |
//! | --- | --- | --- |
//! | account id | `sts:GetCallerIdentity` | 1 |
//! | console password, password last use, MFA flag, access key status/rotation/last use, certificate status | credential report (`GenerateCredentialReport` / `GetCredentialReport`) | 2 or a few while AWS builds it |
//! | users, roles, groups, tags, group membership, attached and inline policies, trust policies, role last use | `GetAccountAuthorizationDetails` (filter `User`, `Role`, `Group`) | one per page |
//! | virtual MFA devices with their user | `ListVirtualMFADevices` (`Assigned`) | one per page |
//! | service-specific credentials (CodeCommit, Keyspaces, Bedrock API keys) | `ListServiceSpecificCredentials` with `AllUsers` | one per page |
//! | SSH public keys | `ListSSHPublicKeys` | one per user (no account-wide listing exists) |
//! | access key ids | `ListAccessKeys` | one per user **whose report row shows a key** |
//! | signing certificate ids | `ListSigningCertificates` | one per user whose report row shows a certificate |
//! | hardware / FIDO MFA serials | `ListMFADevices` | one per user with MFA that has no assigned virtual device |
//!
//! The report has no key ids, so a key is matched to its report slot by creation time; when that
//! is ambiguous the sweep asks `GetAccessKeyLastUsed` for that one key. A user without a report row
//! (created after the report was generated, or the report could not be read) gets the per-user
//! calls for everything (`ListAccessKeys` + `GetAccessKeyLastUsed`, `ListSigningCertificates`,
//! `ListMFADevices`, `GetLoginProfile`).
//!
//! AWS regenerates a credential report at most every four hours. Everything whose *absence*
//! resolves a finding is therefore read live: key ids and statuses come from `ListAccessKeys`,
//! users from `GetAccountAuthorizationDetails`. A stale report can delay the sighting of a key or
//! password created since it was generated; it cannot make a removed one look gone before it is.
//!
//! # Targeted sweeps
//!
//! [`scan_aws_iam_users`] sweeps a few named users (new leavers and movers): the same
//! account-wide calls, then the per-user calls of those users only — for one leaver with an
//! access key about 7 calls where a full sweep of 2,000 users needs over 2,000. Its report holds
//! only those users and vouches only for their per-user units (`users:access-keys:<user>`, ...,
//! under [`coverage::TARGETED`]): what it did not look at is neither seen nor gone.
//!
//! # Failure
//!
//! Every call goes through the SDK's standard retry (exponential backoff with jitter on throttling
//! and transient errors) and then through a bounded retry of our own on throttling. A call that
//! still fails misses its coverage unit ([`crate::coverage`]): `users` and `roles` for the
//! authorization details, `users:<kind>` for a credential kind (`users:access-keys`,
//! `users:service-credentials`, ...), `users:access-keys:last-used` for a key whose last use could
//! not be read. The miss is classed: `AccessDenied` (a configuration gap, naming the IAM action to
//! grant, e.g. `iam:ListServiceSpecificCredentials`), `Transient` (5xx, throttling, no answer) or
//! `Error`. The run is [`RunStatus::Partial`] and still vouches for every unit it covered. A kind
//! switched off ([`AwsScanConfig::service_specific_credentials`]) is a `Disabled` miss: not
//! covered, but the run stays complete. A credential report that cannot be read is a warning:
//! every user is then asked per user, and only a console password's last use (which the report
//! alone has) is missed. When the account cannot be identified at all (no credentials, endpoint
//! unreachable) or no inventory page could be read, the run is [`RunStatus::Failed`]. After
//! several consecutive users fail, the remaining per-user calls are skipped (and every per-user
//! unit is missed) instead of waiting out every retry.
//!
//! # Mapping
//!
//! * IAM user → [`Account`](crate::Account) named by the user name, kind [`AccountKind::User`](crate::AccountKind::User) or
//!   [`AccountKind::Service`](crate::AccountKind::Service) when a kind tag (`kind`/`type` by default) says `service`, `bot` or
//!   `robot`. Hints come from tags ([`TagKeys`]), attributes carry `arn`, `path`, `user_id`,
//!   `permissions_boundary` and every tag as `tag:<key>`. `last_used_at` is the console
//!   password's last use (`password_last_used` of the report). `enabled` is always `Some(true)`:
//!   IAM has no disabled state for a user. A user that exists can authenticate with any credential
//!   it holds, and anyone allowed `iam:CreateAccessKey` or `iam:CreateLoginProfile` can give it
//!   one, so "no credential right now" is not "disabled"; whether it can sign in today is told by
//!   its credentials, each observed with its own `active` flag.
//! * IAM role → [`Account`](crate::Account) named `role/<RoleName>` (IAM user and role names are separate
//!   namespaces, so the prefix keeps a role from colliding with a user of the same name), kind
//!   [`AccountKind::Role`](crate::AccountKind::Role), last used from `RoleLastUsed`, the trust policy's principals as
//!   `trust:*` attributes.
//! * Credentials: access keys (`id` = access key id), console password (`id` =
//!   `login-profile:<user>`), SSH keys, service-specific credentials, signing certificates, MFA
//!   devices (`id` = serial number). Inactive ones are observed with `active = false`.
//! * Grants: group membership (target = group name), managed and inline policies attached to users
//!   and roles (target = policy ARN or `inline:<name>`), and role trust: a role whose trust policy
//!   names an IAM user of this account gives that user a [`GrantKind::RoleTrust`](crate::GrantKind::RoleTrust) grant whose
//!   target is the role ARN.
//!
//! No secret value is ever read: IAM list calls return metadata only.
//!
//! # Known limits
//!
//! * A user with an assigned virtual MFA device is not asked for other MFA devices
//!   (`ListMFADevices`), so a second, hardware or FIDO device of the same user is not observed.
//!   MFA devices are a second factor, never a way in on their own.
//! * The account root (`<root_account>` row of the report) is nobody's account and is skipped.
//! * `AssumeRole` calls made by the credentials provider (with [`AwsScanConfig::role_arn`]) are
//!   not counted in [`ScanReport::calls`]; everything the sweep itself sends is.

pub(crate) mod clients;
mod config;
mod credential_report;
mod credentials;
mod details;
pub(crate) mod error_text;
pub mod organization;
mod report;
mod roles;
mod sweep;
mod tags;
mod translate;
mod trust;
mod users;

pub use clients::Clients;
pub use config::{AwsScanConfig, TagKeys};

use crate::coverage::{self, iam_credential_unit, Miss, MissClass};
use crate::{Observations, RunStatus, ScanReport};
use chrono::Utc;
use details::AuthDetails;
use report::ReportRow;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use sweep::{CallError, Sweep};
use users::UserJob;

/// The scanner kind, as it appears in [`ScanReport::scanner`].
pub const SCANNER: &str = "aws-iam";

/// Sweeps one AWS account's IAM and returns what it saw. Never panics on AWS errors: a run that
/// cannot start is [`RunStatus::Failed`], one that lost calls is [`RunStatus::Partial`], both with
/// their reasons in [`ScanReport::errors`].
pub async fn scan_aws_iam(config: &AwsScanConfig) -> ScanReport {
    scan(config, None).await
}

/// A targeted sweep of the IAM users `users` (new leavers and movers): the account-wide calls
/// (STS, the credential report, the authorization details, virtual MFA devices and
/// service-specific credentials) plus the per-user calls of those users only — a handful of
/// calls where a full sweep needs one per user of the account. The report holds only those
/// users' accounts, credentials and grants; its coverage is per user ([`coverage::iam_user_units`],
/// marked [`coverage::TARGETED`]), so it vouches for those users' credentials and for nothing
/// else. A named user the account does not hold is looked at too: it holds nothing.
pub async fn scan_aws_iam_users(config: &AwsScanConfig, users: &[String]) -> ScanReport {
    let focus: BTreeSet<String> = users.iter().cloned().collect();
    scan(config, Some(&focus)).await
}

/// The sweep: every user, or only the users of `focus`.
async fn scan(config: &AwsScanConfig, focus: Option<&BTreeSet<String>>) -> ScanReport {
    let started_at = Utc::now();
    let clients = Clients::new(config).await;
    let calls = clients.calls.clone();
    let failed = |system: String, errors: Vec<String>| {
        ScanReport::failed(
            SCANNER,
            system,
            started_at,
            errors,
            calls.load(Ordering::Relaxed),
        )
    };
    let (account_id, caller) = match identify(config, &clients).await {
        Ok(found) => found,
        Err(e) => return failed(config.tried_system(), vec![e]),
    };
    let system = format!("{SCANNER}:{account_id}");
    // Which account was read, and as whom: what the audit chain records of the run's input.
    let input_digest = Some(format!(
        "account={account_id} caller={}",
        caller.as_deref().unwrap_or("unknown")
    ));
    let sweep = Arc::new(Sweep {
        iam: clients.iam,
        config: config.clone(),
        account_id,
    });
    let mut misses = Vec::new();
    let mut warnings = Vec::new();
    let Some(mut bulk) = read_bulk(&sweep, &mut misses, &mut warnings).await else {
        let errors = misses.iter().map(Miss::describe).collect();
        return failed(system, errors);
    };
    let report_read = std::mem::replace(&mut bulk.report_read, Ok(()));
    let mut obs = Observations::default();
    let mut role_errors = Vec::new();
    translate::translate_inventory(
        &bulk.details,
        &bulk.rows,
        config,
        &sweep.account_id,
        &mut obs,
        &mut role_errors,
    );
    misses.extend(
        role_errors
            .into_iter()
            .map(|e| Miss::new("roles", MissClass::Error, e)),
    );
    service_credentials(&sweep, &mut obs, &mut misses).await;
    let mut jobs = bulk.user_jobs();
    if let Some(focus) = focus {
        jobs.retain(|job| focus.contains(&job.user));
        keep_only(&mut obs, focus);
    }
    let per_user = users::sweep_users(sweep.clone(), jobs).await;
    obs.credentials.extend(per_user.credentials);
    misses.extend(per_user.misses);
    if let Some(why) = report_read.err() {
        misses.extend(report_only_facts(&obs, why));
    }
    sort(&mut obs);
    let expected = expected_units(focus);
    let mut report = ScanReport {
        scanner: SCANNER.into(),
        system,
        input_digest,
        status: RunStatus::Complete,
        started_at,
        finished_at: Utc::now(),
        observations: obs,
        errors: Vec::new(),
        coverage: Vec::new(),
        calls: calls.load(Ordering::Relaxed),
    };
    report.settle(&expected, misses);
    report.errors.extend(warnings);
    report
}

/// The account the credentials in use belong to, and the caller's ARN, from STS (a named profile
/// that does not exist is said so first, rather than as a credentials error).
async fn identify(
    config: &AwsScanConfig,
    clients: &Clients,
) -> Result<(String, Option<String>), String> {
    if let Some(profile) = &config.profile {
        clients::profile_exists(profile).await?;
    }
    let sts_endpoint = error_text::endpoint(
        config.endpoint_url.as_deref(),
        &format!("sts.{}.amazonaws.com", config.region),
    );
    account_id(&clients.sts, &sts_endpoint).await
}

/// Service-specific credentials (CodeCommit, Keyspaces, …), or the unit marked switched off.
async fn service_credentials(sweep: &Sweep, obs: &mut Observations, misses: &mut Vec<Miss>) {
    let service_unit = iam_credential_unit(crate::CredentialKind::ServiceCredential);
    if sweep.config.service_specific_credentials {
        match sweep.service_specific_credentials().await {
            Ok(creds) => obs.credentials.extend(creds),
            Err(e) => misses.push(e.miss(service_unit)),
        }
    } else {
        misses.push(Miss::new(
            service_unit,
            MissClass::Disabled,
            "switched off (`service_specific_credentials = false`)",
        ));
    }
}

/// The units a run vouches for: every IAM unit of the account, or a targeted run's per-user ones.
fn expected_units(focus: Option<&BTreeSet<String>>) -> Vec<String> {
    match focus {
        None => coverage::iam_units(),
        Some(focus) => focus
            .iter()
            .flat_map(|u| coverage::iam_user_units(u))
            .collect(),
    }
}

/// Keeps what the account-wide calls saw of the users in `focus` only: a targeted run reports
/// nothing of the users it did not look at, so that nothing of theirs changes in the store.
fn keep_only(obs: &mut Observations, focus: &BTreeSet<String>) {
    obs.accounts.retain(|a| focus.contains(&a.name));
    obs.credentials.retain(|c| focus.contains(&c.account));
    obs.grants.retain(|g| focus.contains(&g.account));
}

/// What a credential report that could not be read leaves unknown: the per-user calls read every
/// credential it lists, but only the report has a console password's last use. That is missed
/// (`users:console-passwords:last-used`) only when a console password was seen, since only then
/// does a finding rest on it; otherwise the failure is a warning.
fn report_only_facts(obs: &Observations, why: CallError) -> Option<Miss> {
    let kind = crate::CredentialKind::ConsolePassword;
    obs.credentials
        .iter()
        .any(|c| c.kind == kind)
        .then(|| why.miss(&users::last_used(kind)))
}

/// The account the credentials belong to and the caller's ARN (when the answer names it), or
/// why the account cannot be identified.
async fn account_id(
    sts: &aws_sdk_sts::Client,
    endpoint: &str,
) -> Result<(String, Option<String>), String> {
    match sts.get_caller_identity().send().await {
        Ok(out) => out
            .account()
            .map(|account| (account.to_string(), out.arn().map(str::to_string)))
            .ok_or_else(|| "GetCallerIdentity: the response names no account".to_string()),
        Err(e) => Err(format!(
            "cannot identify the AWS account (credentials, profile, endpoint?): {}",
            error_text::sdk_error("GetCallerIdentity", endpoint, &e)
        )),
    }
}

/// What the account-wide calls read.
struct Bulk {
    details: AuthDetails,
    rows: HashMap<String, ReportRow>,
    virtual_mfa: HashMap<String, Vec<credentials::MfaSeen>>,
    /// Whether the credential report was read, or why not.
    report_read: Result<(), CallError>,
}

impl Bulk {
    /// One job per user, with what the bulk calls already know about them.
    fn user_jobs(mut self) -> VecDeque<UserJob> {
        let rows = &self.rows;
        let virtual_mfa = &mut self.virtual_mfa;
        self.details
            .users
            .iter()
            .filter_map(|u| u.user_name())
            .map(|name| UserJob {
                user: name.to_string(),
                row: rows.get(name).cloned(),
                virtual_mfa: virtual_mfa.remove(name).unwrap_or_default(),
            })
            .collect()
    }
}

/// The credential report, the authorization details and the virtual MFA devices; `None` when no
/// page of the account's inventory could be read (the run failed). A listing cut short misses
/// `users` and `roles` (and so every unit below them); virtual MFA devices that could not be
/// listed miss `users:mfa-devices`. A credential report that could not be read is only a
/// warning: every user is then asked per user for what it would have told (see
/// [`report_only_facts`] for the one fact only it has).
async fn read_bulk(
    sweep: &Sweep,
    misses: &mut Vec<Miss>,
    warnings: &mut Vec<String>,
) -> Option<Bulk> {
    // The report and the inventory do not depend on each other.
    let (report, (details, details_error)) =
        tokio::join!(sweep.credential_report(), sweep.authorization_details());
    let (rows, report_read) = match report {
        Ok(rows) => (rows, Ok(())),
        Err(e) => {
            warnings.push(format!(
                "warning: credential report not read, every user asked per user instead: {e}"
            ));
            (HashMap::new(), Err(e))
        }
    };
    if let Some(e) = details_error {
        misses.push(e.clone().miss("users"));
        misses.push(e.miss("roles"));
        if details.pages == 0 {
            return None;
        }
    }
    let mfa_unit = iam_credential_unit(crate::CredentialKind::MfaDevice);
    let virtual_mfa = sweep.virtual_mfa_devices().await.unwrap_or_else(|e| {
        misses.push(e.miss(mfa_unit));
        HashMap::new()
    });
    Some(Bulk {
        details,
        rows,
        virtual_mfa,
        report_read,
    })
}

/// Accounts by name, credentials and grants by (account, kind, id/target): runs compare stably.
fn sort(obs: &mut Observations) {
    obs.accounts.sort_by(|a, b| a.name.cmp(&b.name));
    obs.credentials.sort_by(|a, b| {
        (a.account.as_str(), a.kind, a.id.as_str()).cmp(&(
            b.account.as_str(),
            b.kind,
            b.id.as_str(),
        ))
    });
    obs.grants.sort_by(|a, b| {
        (a.account.as_str(), a.kind, a.target.as_str()).cmp(&(
            b.account.as_str(),
            b.kind,
            b.target.as_str(),
        ))
    });
}
