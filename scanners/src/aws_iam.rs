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
//! # Failure
//!
//! Every call goes through the SDK's standard retry (exponential backoff with jitter on throttling
//! and transient errors) and then through a bounded retry of our own on throttling. A call that
//! still fails is recorded in [`ScanReport::errors`] and makes the run [`RunStatus::Partial`]; the
//! report is still returned with everything that was read. When the account cannot be identified at
//! all (no credentials, endpoint unreachable) or no inventory page could be read, the run is
//! [`RunStatus::Failed`]. After several consecutive users fail, the remaining per-user calls are
//! skipped (and the run says how many users were not swept) instead of waiting out every retry.
//!
//! # Mapping
//!
//! * IAM user → [`Account`] named by the user name, kind [`AccountKind::User`] or
//!   [`AccountKind::Service`] when a kind tag (`kind`/`type` by default) says `service`, `bot` or
//!   `robot`. Hints come from tags ([`TagKeys`]), attributes carry `arn`, `path`, `user_id`,
//!   `permissions_boundary` and every tag as `tag:<key>`. `last_used_at` is the console
//!   password's last use (`password_last_used` of the report). `enabled` is always `Some(true)`:
//!   IAM has no disabled state for a user. A user that exists can authenticate with any credential
//!   it holds, and anyone allowed `iam:CreateAccessKey` or `iam:CreateLoginProfile` can give it
//!   one, so "no credential right now" is not "disabled"; whether it can sign in today is told by
//!   its credentials, each observed with its own `active` flag.
//! * IAM role → [`Account`] named `role/<RoleName>` (IAM user and role names are separate
//!   namespaces, so the prefix keeps a role from colliding with a user of the same name), kind
//!   [`AccountKind::Role`], last used from `RoleLastUsed`, the trust policy's principals as
//!   `trust:*` attributes.
//! * Credentials: access keys (`id` = access key id), console password (`id` =
//!   `login-profile:<user>`), SSH keys, service-specific credentials, signing certificates, MFA
//!   devices (`id` = serial number). Inactive ones are observed with `active = false`.
//! * Grants: group membership (target = group name), managed and inline policies attached to users
//!   and roles (target = policy ARN or `inline:<name>`), and role trust: a role whose trust policy
//!   names an IAM user of this account gives that user a [`GrantKind::RoleTrust`] grant whose
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

mod report;
mod trust;

pub use report::{parse_credential_report, slot_for_key, ReportError, ReportRow};
pub use trust::{parse_trust_policy, Trust, TrustPolicyError, TrustedPrincipal};

use crate::{
    Account, AccountKind, Credential, CredentialKind, Grant, GrantKind, IdentityHints,
    Observations, RunStatus, ScanReport,
};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::config::interceptors::{
    BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_iam::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_iam::error::{BoxError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::{
    AccessKeyMetadata, AssignmentStatusType, AttachedPolicy, EntityType, GroupDetail, PolicyDetail,
    ReportStateType, RoleDetail, StatusType, Tag, UserDetail,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The scanner kind, as it appears in [`ScanReport::scanner`].
pub const SCANNER: &str = "aws-iam";

/// Consecutive users whose per-user calls all failed before the sweep stops calling per user.
const USER_FAILURE_LIMIT: u32 = 5;

/// Which tags carry identity hints. Keys are matched case-insensitively (`Owner` and `owner` are
/// the same key here, whatever AWS thinks), the first listed key that is present wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagKeys {
    /// Tags holding the person's email (default `email`).
    pub email: Vec<String>,
    /// Tags holding the HR employee id (default `employee_id`).
    pub employee_id: Vec<String>,
    /// Tags naming the owner of a non-human identity (default `owner`).
    pub owner: Vec<String>,
    /// Tags saying what kind of identity a user is (default `kind`, `type`); a value that
    /// [`AccountKind::parse`] reads as anything but a user (`service`, `bot`, `robot`, …) makes
    /// the user an [`AccountKind::Service`].
    pub kind: Vec<String>,
}

impl Default for TagKeys {
    fn default() -> Self {
        TagKeys {
            email: vec!["email".into()],
            employee_id: vec!["employee_id".into()],
            owner: vec!["owner".into()],
            kind: vec!["kind".into(), "type".into()],
        }
    }
}

/// How to reach one AWS account and how hard to try.
///
/// Credentials always come from the default provider chain (environment, shared config and
/// credentials files with [`profile`](Self::profile), SSO caches, web identity, container and
/// instance metadata), never from this struct.
#[derive(Debug, Clone)]
pub struct AwsScanConfig {
    /// A named profile of the shared AWS config files (`--profile`).
    pub profile: Option<String>,
    /// Send every AWS call (IAM and STS) to this endpoint instead of AWS's (`--endpoint-url`);
    /// tests point it at a local moto server.
    pub endpoint_url: Option<String>,
    /// Signing region; IAM is global and signs in `us-east-1` (the default).
    pub region: String,
    /// Assume this role first and sweep the account it belongs to.
    pub role_arn: Option<String>,
    /// The external id the role's trust policy requires, if any.
    pub external_id: Option<String>,
    /// Which tags carry identity hints.
    pub tag_keys: TagKeys,
    /// Read service-specific credentials (`ListServiceSpecificCredentials` with `AllUsers`).
    /// On by default. moto does not implement this call (it answers HTTP 500), so the tests
    /// against moto turn it off and cover the call with AWS-documented responses from
    /// `fixtures/aws/` instead; a real account should leave it on.
    pub service_specific_credentials: bool,
    /// How many per-user calls run at once (default 8).
    pub concurrency: usize,
    /// `MaxItems` asked of every paginated call (default 1000, the most IAM allows).
    pub page_size: i32,
    /// Attempts per call in the SDK's standard retry, the first included (default 5).
    pub max_attempts: u32,
    /// The SDK's initial retry backoff (default 1 s; it doubles, with jitter, up to 20 s).
    pub initial_backoff: Duration,
    /// After the SDK gives up on a throttled call, how many more times we try (default 3).
    pub throttle_retries: u32,
    /// Our first wait before retrying a throttled call; it doubles each time (default 2 s).
    pub throttle_backoff: Duration,
    /// How long to wait for AWS to build the credential report (default 120 s).
    pub report_timeout: Duration,
    /// Connect timeout per attempt (default 5 s).
    pub connect_timeout: Duration,
    /// Timeout of one attempt of one call (default 60 s).
    pub attempt_timeout: Duration,
    /// Extra HTTP headers sent with every call. Meant for tests: moto selects its account from
    /// `x-moto-account-id`, which lets every test have an account of its own on one server.
    pub extra_headers: Vec<(String, String)>,
}

impl Default for AwsScanConfig {
    fn default() -> Self {
        AwsScanConfig {
            profile: None,
            endpoint_url: None,
            region: "us-east-1".into(),
            role_arn: None,
            external_id: None,
            tag_keys: TagKeys::default(),
            service_specific_credentials: true,
            concurrency: 8,
            page_size: 1000,
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            throttle_retries: 3,
            throttle_backoff: Duration::from_secs(2),
            report_timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(60),
            extra_headers: Vec::new(),
        }
    }
}

/// Counts every HTTP attempt (retries included) and adds the configured extra headers.
#[derive(Debug)]
struct CallInterceptor {
    calls: Arc<AtomicU64>,
    headers: Vec<(String, String)>,
}

impl Intercept for CallInterceptor {
    fn name(&self) -> &'static str {
        "residual-aws-iam-calls"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let headers = context.request_mut().headers_mut();
        for (name, value) in &self.headers {
            headers.try_insert(name.clone(), value.clone())?;
        }
        Ok(())
    }
}

/// Builds the shared SDK configuration: region, profile, endpoint, retry, timeouts and, with
/// [`AwsScanConfig::role_arn`], credentials from assuming that role.
pub async fn sdk_config(config: &AwsScanConfig) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(config.max_attempts.max(1))
                .with_initial_backoff(config.initial_backoff),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(config.connect_timeout)
                .operation_attempt_timeout(config.attempt_timeout)
                .build(),
        );
    if let Some(profile) = &config.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &config.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let base = loader.load().await;
    match &config.role_arn {
        None => base,
        Some(role_arn) => {
            let mut builder = aws_config::sts::AssumeRoleProvider::builder(role_arn)
                .session_name("residual-aws-iam")
                .configure(&base);
            if let Some(id) = &config.external_id {
                builder = builder.external_id(id);
            }
            let provider = builder.build().await;
            base.into_builder()
                .credentials_provider(aws_sdk_iam::config::SharedCredentialsProvider::new(
                    provider,
                ))
                .build()
        }
    }
}

/// IAM and STS clients for one account, sharing one call counter.
///
/// Every HTTP attempt either client makes (SDK retries included) adds one to
/// [`calls`](Self::calls), and every request carries [`AwsScanConfig::extra_headers`]. The
/// benchmark and the tests use these clients to seed moto and to measure the naive approach with
/// the same accounting as the sweep.
#[derive(Debug, Clone)]
pub struct Clients {
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub calls: Arc<AtomicU64>,
}

impl Clients {
    /// Builds both clients from [`sdk_config`].
    pub async fn new(config: &AwsScanConfig) -> Clients {
        let calls = Arc::new(AtomicU64::new(0));
        let interceptor = || CallInterceptor {
            calls: calls.clone(),
            headers: config.extra_headers.clone(),
        };
        let sdk = sdk_config(config).await;
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&sdk)
                .interceptor(interceptor())
                .build(),
        );
        let iam = aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(&sdk)
                .interceptor(interceptor())
                .build(),
        );
        Clients { iam, sts, calls }
    }
}

/// Whether an error is AWS telling us to slow down.
fn is_throttling<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    let code_says = matches!(
        err.code(),
        Some(
            "Throttling"
                | "ThrottlingException"
                | "ThrottledException"
                | "RequestThrottledException"
                | "RequestThrottled"
                | "TooManyRequestsException"
                | "RequestLimitExceeded"
                | "SlowDown"
                | "PriorRequestNotComplete"
        )
    );
    code_says
        || err
            .raw_response()
            .is_some_and(|r| r.status().as_u16() == 429)
}

/// The error text recorded in a report: the operation, then the SDK's full error chain.
fn describe<E>(operation: &str, err: &SdkError<E, HttpResponse>) -> String
where
    E: std::error::Error + 'static,
{
    format!("{operation}: {}", DisplayErrorContext(err))
}

fn to_chrono(t: &aws_sdk_iam::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

fn status_active(status: Option<&StatusType>) -> bool {
    matches!(status, Some(StatusType::Active))
}

fn status_str(status: Option<&StatusType>) -> String {
    status.map(|s| s.as_str().to_string()).unwrap_or_default()
}

/// Everything one sweep shares between its tasks.
struct Sweep {
    iam: aws_sdk_iam::Client,
    config: AwsScanConfig,
    /// The account's own id: only user principals of this account get role-trust grants.
    account_id: String,
}

impl Sweep {
    /// Sends one call through our bounded retry on throttling (the SDK has already retried).
    async fn send<T, E, F, Fut>(&self, mut op: F) -> Result<T, SdkError<E, HttpResponse>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata,
    {
        let mut wait = self.config.throttle_backoff;
        let mut retried = 0;
        loop {
            match op().await {
                Err(e) if is_throttling(&e) && retried < self.config.throttle_retries => {
                    tokio::time::sleep(wait).await;
                    wait = wait.saturating_mul(2);
                    retried += 1;
                }
                other => return other,
            }
        }
    }

    /// The credential report, generated if needed and waited for.
    async fn credential_report(&self) -> Result<HashMap<String, ReportRow>, String> {
        let deadline = tokio::time::Instant::now() + self.config.report_timeout;
        let mut wait = Duration::from_millis(500);
        loop {
            let generated = self
                .send(|| self.iam.generate_credential_report().send())
                .await
                .map_err(|e| describe("GenerateCredentialReport", &e))?;
            let complete = generated.state() == Some(&ReportStateType::Complete);
            if complete || generated.state() == Some(&ReportStateType::Started) {
                // moto (and AWS, for a fresh small account) may already have it: try to read it.
                match self.send(|| self.iam.get_credential_report().send()).await {
                    Ok(out) => {
                        let content = out
                            .content()
                            .ok_or("GetCredentialReport: the response has no Content")?;
                        return parse_credential_report(content.as_ref())
                            .map_err(|e| e.to_string());
                    }
                    Err(e) => {
                        let not_yet = e.as_service_error().is_some_and(|s| {
                            s.is_credential_report_not_ready_exception()
                                || s.is_credential_report_not_present_exception()
                                || s.is_credential_report_expired_exception()
                        });
                        if !not_yet || complete {
                            return Err(describe("GetCredentialReport", &e));
                        }
                    }
                }
            }
            if tokio::time::Instant::now() + wait > deadline {
                return Err(format!(
                    "GenerateCredentialReport: the report was not ready after {}s",
                    self.config.report_timeout.as_secs()
                ));
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }

    /// All pages of `GetAccountAuthorizationDetails` for users, roles and groups. Returns what was
    /// read and the error that stopped it, if any.
    async fn authorization_details(&self) -> (AuthDetails, Option<String>) {
        let mut details = AuthDetails::default();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .send(|| {
                    self.iam
                        .get_account_authorization_details()
                        .filter(EntityType::User)
                        .filter(EntityType::Role)
                        .filter(EntityType::Group)
                        .max_items(self.config.page_size)
                        .set_marker(marker.clone())
                        .send()
                })
                .await;
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    return (
                        details,
                        Some(describe("GetAccountAuthorizationDetails", &e)),
                    )
                }
            };
            details.pages += 1;
            details
                .users
                .extend(page.user_detail_list().iter().cloned());
            details
                .roles
                .extend(page.role_detail_list().iter().cloned());
            details
                .groups
                .extend(page.group_detail_list().iter().cloned());
            match next_marker(page.is_truncated(), page.marker()) {
                Ok(Some(m)) => marker = Some(m),
                Ok(None) => return (details, None),
                Err(e) => {
                    return (
                        details,
                        Some(format!("GetAccountAuthorizationDetails: {e}")),
                    )
                }
            }
        }
    }

    /// Serial number → (user, enable date) of every assigned virtual MFA device.
    async fn virtual_mfa_devices(&self) -> Result<HashMap<String, Vec<MfaSeen>>, String> {
        let mut by_user: HashMap<String, Vec<MfaSeen>> = HashMap::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .send(|| {
                    self.iam
                        .list_virtual_mfa_devices()
                        .assignment_status(AssignmentStatusType::Assigned)
                        .max_items(self.config.page_size)
                        .set_marker(marker.clone())
                        .send()
                })
                .await
                .map_err(|e| describe("ListVirtualMFADevices", &e))?;
            for device in page.virtual_mfa_devices() {
                if let Some(user) = device.user() {
                    by_user
                        .entry(user.user_name().to_string())
                        .or_default()
                        .push(MfaSeen {
                            serial: device.serial_number().to_string(),
                            enabled_at: device.enable_date().and_then(to_chrono),
                            virtual_device: true,
                        });
                }
            }
            match next_marker(page.is_truncated(), page.marker()) {
                Ok(Some(m)) => marker = Some(m),
                Ok(None) => return Ok(by_user),
                Err(e) => return Err(format!("ListVirtualMFADevices: {e}")),
            }
        }
    }

    /// Every service-specific credential of every user, in one paginated listing.
    async fn service_specific_credentials(&self) -> Result<Vec<Credential>, String> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .send(|| {
                    self.iam
                        .list_service_specific_credentials()
                        .all_users(true)
                        .max_items(self.config.page_size)
                        .set_marker(marker.clone())
                        .send()
                })
                .await
                .map_err(|e| describe("ListServiceSpecificCredentials", &e))?;
            for c in page.service_specific_credentials() {
                let mut attributes = BTreeMap::new();
                attributes.insert("service_name".into(), c.service_name().to_string());
                attributes.insert(
                    "service_user_name".into(),
                    c.service_user_name().to_string(),
                );
                attributes.insert("status".into(), c.status().as_str().to_string());
                if let Some(alias) = c.service_credential_alias() {
                    attributes.insert("alias".into(), alias.to_string());
                }
                if let Some(expires) = c.expiration_date().and_then(to_chrono) {
                    attributes.insert("expires_at".into(), crate::time::format_time(&expires));
                }
                let expired = c
                    .expiration_date()
                    .and_then(to_chrono)
                    .is_some_and(|t| t <= Utc::now());
                out.push(Credential {
                    account: c.user_name().to_string(),
                    kind: CredentialKind::ServiceCredential,
                    id: c.service_specific_credential_id().to_string(),
                    active: matches!(c.status(), StatusType::Active) && !expired,
                    created_at: to_chrono(c.create_date()),
                    last_used_at: None,
                    hints: IdentityHints::default(),
                    attributes,
                });
            }
            match next_marker(page.is_truncated(), page.marker()) {
                Ok(Some(m)) => marker = Some(m),
                Ok(None) => return Ok(out),
                Err(e) => return Err(format!("ListServiceSpecificCredentials: {e}")),
            }
        }
    }

    /// The per-user calls for one user. Errors are collected, not returned: what was read stays.
    async fn sweep_user(&self, job: UserJob) -> UserSweep {
        let mut sweep = UserSweep::default();
        let user = job.user.as_str();
        let row = job.row.as_ref();

        // SSH public keys: no bulk source exists.
        match self.ssh_keys(user).await {
            Ok(creds) => sweep.credentials.extend(creds),
            Err(e) => sweep.errors.push(e),
        }

        // Access keys: ids only come from ListAccessKeys; skip users the report shows without keys.
        if row.is_none_or(ReportRow::has_access_keys) {
            match self.access_keys(user, row).await {
                Ok((creds, error)) => {
                    sweep.credentials.extend(creds);
                    sweep.errors.extend(error);
                }
                Err(e) => sweep.errors.push(e),
            }
        }

        // Signing certificates: ids only come from ListSigningCertificates.
        if row.is_none_or(ReportRow::has_certs) {
            match self.signing_certificates(user).await {
                Ok(creds) => sweep.credentials.extend(creds),
                Err(e) => sweep.errors.push(e),
            }
        }

        // MFA: virtual devices came in bulk; ask per user only when more may exist.
        let mut mfa = job.virtual_mfa;
        if row.is_none_or(|r| r.mfa_active) && mfa.is_empty() {
            match self.mfa_devices(user).await {
                Ok(found) => {
                    for m in found {
                        if !mfa.iter().any(|v| v.serial == m.serial) {
                            mfa.push(m);
                        }
                    }
                }
                Err(e) => sweep.errors.push(e),
            }
        }
        for m in mfa {
            let mut attributes = BTreeMap::new();
            attributes.insert(
                "device_type".into(),
                if m.virtual_device {
                    "virtual"
                } else {
                    "hardware-or-fido"
                }
                .into(),
            );
            sweep.credentials.push(Credential {
                account: user.to_string(),
                kind: CredentialKind::MfaDevice,
                id: m.serial,
                active: true,
                created_at: m.enabled_at,
                last_used_at: None,
                hints: IdentityHints::default(),
                attributes,
            });
        }

        // Console password: from the report row, else GetLoginProfile.
        let login = match row {
            Some(r) if r.password_enabled => Ok(Some(LoginSeen {
                changed_at: r.password_last_changed,
                last_used: r.password_last_used,
                source: "credential-report",
            })),
            Some(_) => Ok(None),
            // Without a report row there is no password last use: GetLoginProfile omits it.
            None => self.login_profile(user).await,
        };
        match login {
            Ok(Some(l)) => {
                let mut attributes = BTreeMap::new();
                attributes.insert("source".into(), l.source.into());
                if let Some(r) = row {
                    attributes.insert("mfa_active".into(), r.mfa_active.to_string());
                }
                sweep.credentials.push(Credential {
                    account: user.to_string(),
                    kind: CredentialKind::ConsolePassword,
                    id: format!("login-profile:{user}"),
                    active: true,
                    created_at: l.changed_at,
                    last_used_at: l.last_used,
                    hints: IdentityHints::default(),
                    attributes,
                });
            }
            Ok(None) => {}
            Err(e) => sweep.errors.push(e),
        }
        sweep
    }

    async fn ssh_keys(&self, user: &str) -> Result<Vec<Credential>, String> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .send(|| {
                    self.iam
                        .list_ssh_public_keys()
                        .user_name(user)
                        .max_items(self.config.page_size)
                        .set_marker(marker.clone())
                        .send()
                })
                .await
                .map_err(|e| describe(&format!("ListSSHPublicKeys {user}"), &e))?;
            for k in page.ssh_public_keys() {
                let mut attributes = BTreeMap::new();
                attributes.insert("status".into(), k.status().as_str().to_string());
                out.push(Credential {
                    account: user.to_string(),
                    kind: CredentialKind::SshKey,
                    id: k.ssh_public_key_id().to_string(),
                    active: matches!(k.status(), StatusType::Active),
                    created_at: to_chrono(k.upload_date()),
                    last_used_at: None,
                    hints: IdentityHints::default(),
                    attributes,
                });
            }
            match next_marker(page.is_truncated(), page.marker()) {
                Ok(Some(m)) => marker = Some(m),
                Ok(None) => return Ok(out),
                Err(e) => return Err(format!("ListSSHPublicKeys {user}: {e}")),
            }
        }
    }

    /// The user's access keys, and the error of a last-use lookup that failed (the key is kept).
    async fn access_keys(
        &self,
        user: &str,
        row: Option<&ReportRow>,
    ) -> Result<(Vec<Credential>, Option<String>), String> {
        let mut keys: Vec<AccessKeyMetadata> = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .send(|| {
                    self.iam
                        .list_access_keys()
                        .user_name(user)
                        .max_items(self.config.page_size)
                        .set_marker(marker.clone())
                        .send()
                })
                .await
                .map_err(|e| describe(&format!("ListAccessKeys {user}"), &e))?;
            keys.extend(page.access_key_metadata().iter().cloned());
            match next_marker(page.is_truncated(), page.marker()) {
                Ok(Some(m)) => marker = Some(m),
                Ok(None) => break,
                Err(e) => return Err(format!("ListAccessKeys {user}: {e}")),
            }
        }
        let mut out = Vec::new();
        let mut first_error = None;
        for key in keys {
            let Some(id) = key.access_key_id() else {
                continue;
            };
            let created = key.create_date().and_then(to_chrono);
            let mut attributes = BTreeMap::new();
            attributes.insert("status".into(), status_str(key.status()));
            let slot = match (row, created) {
                (Some(r), Some(c)) => slot_for_key(r, c),
                _ => None,
            };
            let last_used = match slot {
                Some(s) => {
                    attributes.insert("last_used_source".into(), "credential-report".into());
                    if let Some(v) = &s.last_used_service {
                        attributes.insert("last_used_service".into(), v.clone());
                    }
                    if let Some(v) = &s.last_used_region {
                        attributes.insert("last_used_region".into(), v.clone());
                    }
                    s.last_used
                }
                None => match self
                    .send(|| self.iam.get_access_key_last_used().access_key_id(id).send())
                    .await
                {
                    Ok(out) => {
                        attributes.insert("last_used_source".into(), "GetAccessKeyLastUsed".into());
                        let used = out.access_key_last_used();
                        for (name, value) in [
                            ("last_used_service", used.map(|u| u.service_name())),
                            ("last_used_region", used.map(|u| u.region())),
                        ] {
                            if let Some(v) = value.filter(|v| !v.is_empty() && *v != "N/A") {
                                attributes.insert(name.into(), v.to_string());
                            }
                        }
                        used.and_then(|u| u.last_used_date()).and_then(to_chrono)
                    }
                    Err(e) => {
                        // The key itself was seen: keep it, report the missing last use.
                        first_error
                            .get_or_insert(describe(&format!("GetAccessKeyLastUsed {id}"), &e));
                        attributes.insert("last_used_source".into(), "unknown".into());
                        None
                    }
                },
            };
            out.push(Credential {
                account: user.to_string(),
                kind: CredentialKind::AccessKey,
                id: id.to_string(),
                active: status_active(key.status()),
                created_at: created,
                last_used_at: last_used,
                hints: IdentityHints::default(),
                attributes,
            });
        }
        // A key whose last use could not be read is still a key: keep it, and the error.
        Ok((out, first_error))
    }

    async fn signing_certificates(&self, user: &str) -> Result<Vec<Credential>, String> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .send(|| {
                    self.iam
                        .list_signing_certificates()
                        .user_name(user)
                        .max_items(self.config.page_size)
                        .set_marker(marker.clone())
                        .send()
                })
                .await
                .map_err(|e| describe(&format!("ListSigningCertificates {user}"), &e))?;
            for c in page.certificates() {
                let mut attributes = BTreeMap::new();
                attributes.insert("status".into(), c.status().as_str().to_string());
                out.push(Credential {
                    account: user.to_string(),
                    kind: CredentialKind::SigningCertificate,
                    id: c.certificate_id().to_string(),
                    active: matches!(c.status(), StatusType::Active),
                    created_at: c.upload_date().and_then(to_chrono),
                    last_used_at: None,
                    hints: IdentityHints::default(),
                    attributes,
                });
            }
            match next_marker(page.is_truncated(), page.marker()) {
                Ok(Some(m)) => marker = Some(m),
                Ok(None) => return Ok(out),
                Err(e) => return Err(format!("ListSigningCertificates {user}: {e}")),
            }
        }
    }

    async fn mfa_devices(&self, user: &str) -> Result<Vec<MfaSeen>, String> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .send(|| {
                    self.iam
                        .list_mfa_devices()
                        .user_name(user)
                        .max_items(self.config.page_size)
                        .set_marker(marker.clone())
                        .send()
                })
                .await
                .map_err(|e| describe(&format!("ListMFADevices {user}"), &e))?;
            for d in page.mfa_devices() {
                let serial = d.serial_number().to_string();
                out.push(MfaSeen {
                    virtual_device: serial.contains(":mfa/"),
                    serial,
                    enabled_at: to_chrono(d.enable_date()),
                });
            }
            match next_marker(page.is_truncated(), page.marker()) {
                Ok(Some(m)) => marker = Some(m),
                Ok(None) => return Ok(out),
                Err(e) => return Err(format!("ListMFADevices {user}: {e}")),
            }
        }
    }

    async fn login_profile(&self, user: &str) -> Result<Option<LoginSeen>, String> {
        match self
            .send(|| self.iam.get_login_profile().user_name(user).send())
            .await
        {
            Ok(out) => Ok(out.login_profile().map(|p| LoginSeen {
                changed_at: to_chrono(p.create_date()),
                last_used: None,
                source: "GetLoginProfile",
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_entity_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(describe(&format!("GetLoginProfile {user}"), &e)),
        }
    }
}

/// `Some(next marker)` while a listing is truncated; an error when it is truncated without one.
fn next_marker(truncated: bool, marker: Option<&str>) -> Result<Option<String>, String> {
    match (truncated, marker) {
        (false, _) => Ok(None),
        (true, Some(m)) if !m.is_empty() => Ok(Some(m.to_string())),
        (true, _) => Err("the listing is truncated but has no Marker".into()),
    }
}

#[derive(Default)]
struct AuthDetails {
    users: Vec<UserDetail>,
    roles: Vec<RoleDetail>,
    groups: Vec<GroupDetail>,
    pages: u32,
}

#[derive(Debug, Clone)]
struct MfaSeen {
    serial: String,
    enabled_at: Option<DateTime<Utc>>,
    virtual_device: bool,
}

struct LoginSeen {
    changed_at: Option<DateTime<Utc>>,
    last_used: Option<DateTime<Utc>>,
    source: &'static str,
}

/// The per-user work for one user.
struct UserJob {
    user: String,
    row: Option<ReportRow>,
    virtual_mfa: Vec<MfaSeen>,
}

#[derive(Default)]
struct UserSweep {
    credentials: Vec<Credential>,
    errors: Vec<String>,
}

fn tag_value<'a>(tags: &'a [Tag], keys: &[String]) -> Option<&'a str> {
    keys.iter().find_map(|k| {
        tags.iter()
            .find(|t| t.key().eq_ignore_ascii_case(k))
            .map(|t| t.value().trim())
            .filter(|v| !v.is_empty())
    })
}

fn hints_from_tags(tags: &[Tag], keys: &TagKeys) -> IdentityHints {
    IdentityHints {
        emails: tag_value(tags, &keys.email)
            .map(|v| {
                v.split([',', ';', ' '])
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        employee_id: tag_value(tags, &keys.employee_id).map(str::to_string),
        owner: tag_value(tags, &keys.owner).map(str::to_string),
        created_by: None,
    }
}

fn tag_attributes(tags: &[Tag], attributes: &mut BTreeMap<String, String>) {
    for t in tags {
        attributes.insert(format!("tag:{}", t.key()), t.value().to_string());
    }
}

fn policy_grants(
    account: &str,
    attached: &[AttachedPolicy],
    inline: &[PolicyDetail],
    grants: &mut Vec<Grant>,
) {
    for p in attached {
        let Some(arn) = p.policy_arn() else { continue };
        let mut attributes = BTreeMap::new();
        attributes.insert("attachment".into(), "managed".into());
        if let Some(name) = p.policy_name() {
            attributes.insert("policy_name".into(), name.to_string());
        }
        grants.push(Grant {
            account: account.to_string(),
            kind: GrantKind::Policy,
            target: arn.to_string(),
            attributes,
        });
    }
    for p in inline {
        let Some(name) = p.policy_name() else {
            continue;
        };
        let mut attributes = BTreeMap::new();
        attributes.insert("attachment".into(), "inline".into());
        attributes.insert("policy_name".into(), name.to_string());
        grants.push(Grant {
            account: account.to_string(),
            kind: GrantKind::Policy,
            target: format!("inline:{name}"),
            attributes,
        });
    }
}

/// The account name a role is observed under: `role/<RoleName>`.
pub fn role_account_name(role_name: &str) -> String {
    format!("role/{role_name}")
}

/// Turns the bulk data into accounts and grants (credentials come from the per-user sweep).
fn translate_inventory(
    details: &AuthDetails,
    rows: &HashMap<String, ReportRow>,
    config: &AwsScanConfig,
    account_id: &str,
    obs: &mut Observations,
    errors: &mut Vec<String>,
) {
    let groups: HashMap<&str, &GroupDetail> = details
        .groups
        .iter()
        .filter_map(|g| g.group_name().map(|n| (n, g)))
        .collect();
    let users_by_id: HashMap<&str, &str> = details
        .users
        .iter()
        .filter_map(|u| Some((u.user_id()?, u.user_name()?)))
        .collect();

    for u in &details.users {
        let Some(name) = u.user_name() else { continue };
        let tags = u.tags();
        let kind = match tag_value(tags, &config.tag_keys.kind).and_then(AccountKind::parse) {
            Some(AccountKind::User) | None => AccountKind::User,
            Some(_) => AccountKind::Service,
        };
        let mut attributes = BTreeMap::new();
        for (k, v) in [
            ("arn", u.arn()),
            ("path", u.path()),
            ("user_id", u.user_id()),
        ] {
            if let Some(v) = v {
                attributes.insert(k.to_string(), v.to_string());
            }
        }
        if let Some(b) = u
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
        {
            attributes.insert("permissions_boundary".into(), b.to_string());
        }
        tag_attributes(tags, &mut attributes);
        let row = rows.get(name);
        obs.accounts.push(Account {
            name: name.to_string(),
            kind,
            // IAM has no "disabled" state for a user: one that exists can sign in with any
            // credential it holds, and anyone allowed iam:CreateAccessKey can give it one. So an
            // existing user is always enabled; whether it can authenticate *now* is told by its
            // credentials, which are observed one by one (and rules look at those).
            enabled: Some(true),
            created_at: u.create_date().and_then(to_chrono),
            last_used_at: row.and_then(|r| r.password_last_used),
            hints: hints_from_tags(tags, &config.tag_keys),
            attributes,
        });

        for group_name in u.group_list() {
            let mut attributes = BTreeMap::new();
            if let Some(g) = groups.get(group_name.as_str()) {
                if let Some(arn) = g.arn() {
                    attributes.insert("group_arn".into(), arn.to_string());
                }
                if let Some(path) = g.path() {
                    attributes.insert("group_path".into(), path.to_string());
                }
                let attached: Vec<&str> = g
                    .attached_managed_policies()
                    .iter()
                    .filter_map(AttachedPolicy::policy_arn)
                    .collect();
                if !attached.is_empty() {
                    attributes.insert("attached_policies".into(), attached.join(","));
                }
                let inline: Vec<&str> = g
                    .group_policy_list()
                    .iter()
                    .filter_map(PolicyDetail::policy_name)
                    .collect();
                if !inline.is_empty() {
                    attributes.insert("inline_policies".into(), inline.join(","));
                }
            }
            obs.grants.push(Grant {
                account: name.to_string(),
                kind: GrantKind::Group,
                target: group_name.clone(),
                attributes,
            });
        }
        policy_grants(
            name,
            u.attached_managed_policies(),
            u.user_policy_list(),
            &mut obs.grants,
        );
    }

    for r in &details.roles {
        let Some(role_name) = r.role_name() else {
            continue;
        };
        let account_name = role_account_name(role_name);
        let role_arn = r.arn().unwrap_or_default();
        let tags = r.tags();
        let mut attributes = BTreeMap::new();
        for (k, v) in [
            ("arn", r.arn()),
            ("path", r.path()),
            ("role_id", r.role_id()),
        ] {
            if let Some(v) = v {
                attributes.insert(k.to_string(), v.to_string());
            }
        }
        if let Some(region) = r.role_last_used().and_then(|l| l.region()) {
            attributes.insert("last_used_region".into(), region.to_string());
        }
        tag_attributes(tags, &mut attributes);

        let mut trust_attrs: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        if let Some(doc) = r.assume_role_policy_document() {
            match parse_trust_policy(doc) {
                Ok(trusts) => {
                    for t in trusts {
                        let (key, value) = match &t.principal {
                            TrustedPrincipal::User { account, name, arn } => {
                                if account == account_id {
                                    let mut attributes = BTreeMap::new();
                                    attributes.insert("principal".into(), arn.clone());
                                    attributes.insert("role_name".into(), role_name.to_string());
                                    attributes
                                        .insert("conditional".into(), t.conditional.to_string());
                                    obs.grants.push(Grant {
                                        account: name.clone(),
                                        kind: GrantKind::RoleTrust,
                                        target: role_arn.to_string(),
                                        attributes,
                                    });
                                    ("trust:users", arn.clone())
                                } else {
                                    ("trust:external_users", arn.clone())
                                }
                            }
                            TrustedPrincipal::AccountRoot { principal, .. } => {
                                ("trust:account_roots", principal.clone())
                            }
                            TrustedPrincipal::OtherAws(p) => match users_by_id.get(p.as_str()) {
                                // A unique id that still names a live user (rare): a grant too.
                                Some(user) => {
                                    let mut attributes = BTreeMap::new();
                                    attributes.insert("principal".into(), p.clone());
                                    attributes.insert("role_name".into(), role_name.to_string());
                                    attributes
                                        .insert("conditional".into(), t.conditional.to_string());
                                    obs.grants.push(Grant {
                                        account: user.to_string(),
                                        kind: GrantKind::RoleTrust,
                                        target: role_arn.to_string(),
                                        attributes,
                                    });
                                    ("trust:users", p.clone())
                                }
                                None => ("trust:other_principals", p.clone()),
                            },
                            TrustedPrincipal::Federated(p) => ("trust:federated", p.clone()),
                            TrustedPrincipal::Service(p) => ("trust:services", p.clone()),
                            TrustedPrincipal::Anyone => ("trust:anyone", "*".to_string()),
                        };
                        trust_attrs.entry(key).or_default().insert(value);
                    }
                }
                Err(e) => errors.push(format!("role {role_name}: {e}")),
            }
        }
        for (key, values) in trust_attrs {
            attributes.insert(
                key.to_string(),
                values.into_iter().collect::<Vec<_>>().join(","),
            );
        }

        obs.accounts.push(Account {
            name: account_name.clone(),
            kind: AccountKind::Role,
            // A role cannot be disabled; see the user case above.
            enabled: Some(true),
            created_at: r.create_date().and_then(to_chrono),
            last_used_at: r
                .role_last_used()
                .and_then(|l| l.last_used_date())
                .and_then(to_chrono),
            hints: hints_from_tags(tags, &config.tag_keys),
            attributes,
        });
        policy_grants(
            &account_name,
            r.attached_managed_policies(),
            r.role_policy_list(),
            &mut obs.grants,
        );
    }
}

/// A report for a run that could not start.
fn failed(
    started_at: DateTime<Utc>,
    system: String,
    errors: Vec<String>,
    calls: u64,
) -> ScanReport {
    ScanReport::failed(SCANNER, system, started_at, errors, calls)
}

/// Sweeps one AWS account's IAM and returns what it saw. Never panics on AWS errors: a run that
/// cannot start is [`RunStatus::Failed`], one that lost calls is [`RunStatus::Partial`], both with
/// their reasons in [`ScanReport::errors`].
pub async fn scan_aws_iam(config: &AwsScanConfig) -> ScanReport {
    let started_at = Utc::now();
    let clients = Clients::new(config).await;
    let (iam, sts, calls) = (clients.iam, clients.sts, clients.calls);

    let account_id = match sts.get_caller_identity().send().await {
        Ok(out) => match out.account() {
            Some(a) => a.to_string(),
            None => {
                return failed(
                    started_at,
                    format!("{SCANNER}:unknown"),
                    vec!["GetCallerIdentity: the response names no account".into()],
                    calls.load(Ordering::Relaxed),
                )
            }
        },
        Err(e) => {
            return failed(
                started_at,
                format!("{SCANNER}:unknown"),
                vec![format!(
                    "cannot identify the AWS account (credentials, profile, endpoint?): {}",
                    DisplayErrorContext(&e)
                )],
                calls.load(Ordering::Relaxed),
            )
        }
    };
    let system = format!("{SCANNER}:{account_id}");
    let sweep = Arc::new(Sweep {
        iam,
        config: config.clone(),
        account_id: account_id.clone(),
    });
    let mut errors = Vec::new();

    // Bulk reads. The report and the inventory do not depend on each other.
    let (report, (details, details_error)) =
        tokio::join!(sweep.credential_report(), sweep.authorization_details());
    let rows = match report {
        Ok(rows) => rows,
        Err(e) => {
            errors.push(e);
            HashMap::new()
        }
    };
    if let Some(e) = details_error {
        errors.push(e);
        if details.pages == 0 {
            return failed(started_at, system, errors, calls.load(Ordering::Relaxed));
        }
    }
    let mut virtual_mfa = match sweep.virtual_mfa_devices().await {
        Ok(m) => m,
        Err(e) => {
            errors.push(e);
            HashMap::new()
        }
    };

    let mut obs = Observations::default();
    translate_inventory(
        &details,
        &rows,
        config,
        &sweep.account_id,
        &mut obs,
        &mut errors,
    );

    if config.service_specific_credentials {
        match sweep.service_specific_credentials().await {
            Ok(creds) => obs.credentials.extend(creds),
            Err(e) => errors.push(e),
        }
    }

    // Per-user calls, `concurrency` at a time.
    let jobs: VecDeque<UserJob> = details
        .users
        .iter()
        .filter_map(|u| u.user_name())
        .map(|name| UserJob {
            user: name.to_string(),
            row: rows.get(name).cloned(),
            virtual_mfa: virtual_mfa.remove(name).unwrap_or_default(),
        })
        .collect();
    let total = jobs.len();
    let queue = Arc::new(Mutex::new(jobs));
    let consecutive_failures = Arc::new(AtomicU32::new(0));
    let gave_up = Arc::new(AtomicBool::new(false));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..config.concurrency.max(1).min(total.max(1)) {
        let (sweep, queue, failures, gave_up) = (
            sweep.clone(),
            queue.clone(),
            consecutive_failures.clone(),
            gave_up.clone(),
        );
        workers.spawn(async move {
            let mut done = Vec::new();
            loop {
                if gave_up.load(Ordering::Relaxed) {
                    break;
                }
                let job = match queue.lock() {
                    Ok(mut q) => q.pop_front(),
                    Err(_) => None,
                };
                let Some(job) = job else { break };
                let result = sweep.sweep_user(job).await;
                if result.errors.is_empty() {
                    failures.store(0, Ordering::Relaxed);
                } else if failures.fetch_add(1, Ordering::Relaxed) + 1 >= USER_FAILURE_LIMIT {
                    gave_up.store(true, Ordering::Relaxed);
                }
                done.push(result);
            }
            done
        });
    }
    let mut swept = 0usize;
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(results) => {
                for r in results {
                    swept += 1;
                    obs.credentials.extend(r.credentials);
                    errors.extend(r.errors);
                }
            }
            Err(e) => errors.push(format!("a per-user worker stopped: {e}")),
        }
    }
    if swept < total {
        errors.push(format!(
            "per-user calls stopped after {USER_FAILURE_LIMIT} consecutive users failed: \
             {} of {total} users were not swept for SSH keys, access keys, certificates, MFA \
             and console passwords",
            total - swept
        ));
    }

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

    ScanReport {
        scanner: SCANNER.into(),
        system,
        status: if errors.is_empty() {
            RunStatus::Complete
        } else {
            RunStatus::Partial
        },
        started_at,
        finished_at: Utc::now(),
        observations: obs,
        errors,
        calls: calls.load(Ordering::Relaxed),
    }
}
