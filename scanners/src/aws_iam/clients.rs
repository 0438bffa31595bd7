//! The AWS clients of one sweep: the SDK configuration (profile, endpoint, retry, timeouts, an
//! assumed role) and IAM and STS clients that count every HTTP attempt they make.

use super::config::AwsScanConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::interceptors::{
    BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_iam::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_iam::error::BoxError;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Counts every HTTP attempt (retries included) and adds the configured extra headers.
#[derive(Debug)]
pub(crate) struct CallInterceptor {
    pub(crate) calls: Arc<AtomicU64>,
    pub(crate) headers: Vec<(String, String)>,
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
pub(crate) async fn sdk_config(config: &AwsScanConfig) -> SdkConfig {
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

/// Whether the AWS config and credentials files (`AWS_CONFIG_FILE`,
/// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/`) define `profile`; the SDK would otherwise go
/// on without it and fail later with an unrelated error.
pub(super) async fn profile_exists(profile: &str) -> Result<(), String> {
    let files = aws_runtime::env_config::file::EnvConfigFiles::default();
    let set = aws_config::profile::load(
        &aws_types::os_shim_internal::Fs::real(),
        &aws_types::os_shim_internal::Env::real(),
        &files,
        None,
    )
    .await
    .map_err(|e| format!("cannot read the AWS config files for --profile {profile}: {e}"))?;
    if set.get_profile(profile).is_some() {
        return Ok(());
    }
    let known: Vec<&str> = set.profiles().collect();
    Err(format!(
        "AWS profile {profile} is missing from the AWS config and credentials files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config and ~/.aws/credentials); profiles there: {}",
        if known.is_empty() { "none".to_string() } else { known.join(", ") }
    ))
}
