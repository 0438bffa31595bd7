//! AWS `sts:GetCallerIdentity` with the found key id and secret as static credentials. The call
//! needs no permission, changes nothing and answers with the principal's ARN. `InvalidClientTokenId`
//! (the key id does not exist or is deactivated), `SignatureDoesNotMatch` (the secret is not this
//! key's) and `ExpiredToken` mean the found pair does not authenticate: revoked.
//!
//! Test servers: moto's STS does not check signatures, and answers a key it did not create with
//! a default identity (`arn:aws:sts::ACCOUNT:user/moto`), which is not an IAM user ARN and so
//! links to nobody.

use super::{Candidate, Verdict, VerifyConfig};
use aws_sdk_sts::config::retry::RetryConfig;
use aws_sdk_sts::config::timeout::TimeoutConfig;
use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sts::error::ProvideErrorMetadata;
use std::time::Duration;

const DEAD: &[&str] = &[
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
];

pub(super) async fn verify(c: &Candidate, config: &VerifyConfig) -> Verdict {
    let (Some(key_id), Some(secret)) = (c.identifier.as_deref(), c.value_str()) else {
        return Verdict::Error {
            reason: "no access key id beside the secret".into(),
        };
    };
    let credentials = Credentials::new(key_id, secret, None, None, "residual-verify");
    let mut builder = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(credentials)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(config.max_retries + 1)
                .with_initial_backoff(Duration::from_millis(500)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(config.timeout)
                .build(),
        );
    if let Some(url) = &config.aws_endpoint {
        builder = builder.endpoint_url(url);
    }
    let sts = aws_sdk_sts::Client::from_conf(builder.build());
    match sts.get_caller_identity().send().await {
        Ok(identity) => Verdict::Live {
            owner: identity.arn().map(str::to_string),
        },
        Err(e) => {
            let code = e.code().unwrap_or_default().to_string();
            let message = e.message().unwrap_or_default().to_string();
            if DEAD.contains(&code.as_str()) {
                Verdict::Revoked {
                    reason: format!("{code}: {message}"),
                }
            } else if code.is_empty() {
                Verdict::Error {
                    reason: format!(
                        "GetCallerIdentity failed: {}",
                        aws_sdk_sts::error::DisplayErrorContext(&e)
                    ),
                }
            } else {
                Verdict::Error {
                    reason: format!("{code}: {message}"),
                }
            }
        }
    }
}
