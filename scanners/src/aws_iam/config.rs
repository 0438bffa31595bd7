//! What to sweep in one AWS account and how hard to try: [`AwsScanConfig`] and the tags that carry
//! identity hints ([`TagKeys`]).

use std::time::Duration;

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
    /// [`AccountKind::parse`](crate::AccountKind::parse) reads as anything but a user (`service`, `bot`, `robot`, …) makes
    /// the user an [`AccountKind::Service`](crate::AccountKind::Service).
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

impl AwsScanConfig {
    /// The system a run is filed under while the account is not yet known from STS, and for
    /// good when STS cannot be reached: the account of [`role_arn`](Self::role_arn) (the
    /// account the sweep tried to enter), else the profile's name, else `aws-iam:default` (the
    /// default credential chain). A failed run then sits beside the account's other runs instead
    /// of under an `unknown` system that no later run matches.
    pub fn tried_system(&self) -> String {
        let account = self.role_arn.as_deref().and_then(account_of_arn);
        match (account, &self.profile) {
            (Some(account), _) => format!("{}:{account}", super::SCANNER),
            (None, Some(profile)) => format!("{}:profile:{profile}", super::SCANNER),
            (None, None) => format!("{}:default", super::SCANNER),
        }
    }
}

/// The account id of an ARN (`arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`), if it names one.
fn account_of_arn(arn: &str) -> Option<&str> {
    let account = arn.split(':').nth(4)?;
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
}

#[cfg(test)]
mod tests {
    use super::AwsScanConfig;

    fn tried(role_arn: Option<&str>, profile: Option<&str>) -> String {
        AwsScanConfig {
            role_arn: role_arn.map(Into::into),
            profile: profile.map(Into::into),
            ..AwsScanConfig::default()
        }
        .tried_system()
    }

    #[test]
    fn a_run_is_filed_under_the_account_of_its_role_else_the_profile_else_default() {
        let role = Some("arn:aws:iam::210987654321:role/residual-audit");
        assert_eq!(tried(role, Some("audit")), "aws-iam:210987654321");
        assert_eq!(
            tried(Some("arn:aws-us-gov:iam::123456789012:role/x"), None),
            "aws-iam:123456789012"
        );
        assert_eq!(
            tried(Some("not-an-arn"), Some("audit")),
            "aws-iam:profile:audit"
        );
        assert_eq!(tried(None, None), "aws-iam:default");
    }
}
