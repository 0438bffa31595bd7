//! How the sweep calls IAM: the state its tasks share, our bounded retry on throttling (after the
//! SDK's own), listings read through the SDK's paginators, and the error text a report records.

use super::config::AwsScanConfig;
use crate::coverage::{Miss, MissClass};
use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_async::future::pagination_stream::PaginationStream;
use chrono::{DateTime, Utc};
use std::future::Future;

/// Everything one sweep shares between its tasks.
pub(super) struct Sweep {
    pub(super) iam: aws_sdk_iam::Client,
    pub(super) config: AwsScanConfig,
    /// The account's own id: only user principals of this account get role-trust grants.
    pub(super) account_id: String,
}

/// A page of an IAM listing: whether more pages follow, and the marker to ask for them with.
pub(super) trait Page {
    fn truncated(&self) -> bool;
    fn next_marker(&self) -> Option<&str>;
}

macro_rules! iam_pages {
    ($($output:ty),* $(,)?) => {$(
        impl Page for $output {
            fn truncated(&self) -> bool {
                self.is_truncated()
            }
            fn next_marker(&self) -> Option<&str> {
                self.marker()
            }
        }
    )*};
}

use aws_sdk_iam::operation as op;
iam_pages!(
    op::get_account_authorization_details::GetAccountAuthorizationDetailsOutput,
    op::list_access_keys::ListAccessKeysOutput,
    op::list_mfa_devices::ListMfaDevicesOutput,
    op::list_service_specific_credentials::ListServiceSpecificCredentialsOutput,
    op::list_signing_certificates::ListSigningCertificatesOutput,
    op::list_ssh_public_keys::ListSshPublicKeysOutput,
    op::list_virtual_mfa_devices::ListVirtualMfaDevicesOutput,
);

/// The pages of one listing as the SDK's paginator sends them, started at a marker.
pub(super) type Pages<P, E> = PaginationStream<Result<P, SdkError<E, HttpResponse>>>;

impl Sweep {
    /// Sends one call through our bounded retry on throttling (the SDK has already retried).
    pub(super) async fn send<T, E, F, Fut>(&self, mut op: F) -> Result<T, SdkError<E, HttpResponse>>
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

    /// Reads every page of a listing through the SDK's paginator (`start(marker)`), handing each
    /// page to `each` as it arrives. A page still throttled after the SDK's retries is asked for
    /// again from its marker, with the same bounded retry as [`Sweep::send`] gives a single call.
    /// The error that stopped the listing is returned; the pages before it were handed over.
    pub(super) async fn pages<P, E>(
        &self,
        operation: &str,
        start: impl Fn(Option<String>) -> Pages<P, E>,
        mut each: impl FnMut(P),
    ) -> Result<(), CallError>
    where
        P: Page,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let mut marker: Option<String> = None;
        let mut wait = self.config.throttle_backoff;
        let mut retried = 0;
        'resume: loop {
            let mut pages = start(marker.clone());
            while let Some(page) = pages.next().await {
                let page = match page {
                    Ok(p) => p,
                    Err(e) if is_throttling(&e) && retried < self.config.throttle_retries => {
                        tokio::time::sleep(wait).await;
                        wait = wait.saturating_mul(2);
                        retried += 1;
                        continue 'resume;
                    }
                    Err(e) => return Err(self.describe(operation, &e)),
                };
                (wait, retried) = (self.config.throttle_backoff, 0);
                let next = next_marker(page.truncated(), page.next_marker());
                each(page);
                // Stop on IsTruncated, not on the paginator's view of the marker: no extra call.
                match next.map_err(|e| CallError::malformed(operation, e))? {
                    Some(m) => marker = Some(m),
                    None => return Ok(()),
                }
            }
            // The paginator stopped on its own (a repeated marker): nothing more to read.
            return Ok(());
        }
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

/// A call that failed after every retry: what the report says, and the class of the failure.
#[derive(Debug, Clone)]
pub(super) struct CallError {
    pub(super) reason: String,
    pub(super) class: MissClass,
}

impl CallError {
    /// An answer that cannot be read (a truncated listing without a marker, a report without
    /// content): neither a denial nor transient.
    pub(super) fn malformed(operation: &str, message: impl std::fmt::Display) -> CallError {
        CallError {
            reason: format!("{operation}: {message}"),
            class: MissClass::Error,
        }
    }

    /// The failure as a missed `unit`.
    pub(super) fn miss(self, unit: &str) -> Miss {
        Miss::new(unit, self.class, self.reason)
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl Sweep {
    /// Where this sweep's IAM calls go, as error messages name it.
    pub(super) fn iam_endpoint(&self) -> String {
        super::error_text::endpoint(self.config.endpoint_url.as_deref(), "iam.amazonaws.com")
    }

    /// [`describe`] for a call this sweep sent.
    pub(super) fn describe<E>(&self, operation: &str, err: &SdkError<E, HttpResponse>) -> CallError
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        describe(operation, &self.iam_endpoint(), err)
    }
}

/// The error recorded in a report: the operation, the endpoint, then the service's code and
/// message or the cause chain in words, classed as a denial (naming the IAM action to grant),
/// transient (5xx, throttling, no answer) or other. `operation` starts with the API operation's
/// name (`ListAccessKeys ann`).
pub(super) fn describe<E>(
    operation: &str,
    endpoint: &str,
    err: &SdkError<E, HttpResponse>,
) -> CallError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
{
    let status = err.raw_response().map(|r| r.status().as_u16());
    let denied = matches!(
        err.code(),
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation")
    ) || status == Some(403);
    let action = operation.split_whitespace().next().unwrap_or(operation);
    let class = if denied {
        MissClass::AccessDenied {
            action: format!("iam:{action}"),
        }
    } else if is_throttling(err)
        || status.is_some_and(|s| s >= 500)
        || matches!(
            err,
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)
        )
    {
        MissClass::Transient
    } else {
        MissClass::Error
    };
    CallError {
        reason: super::error_text::sdk_error(operation, endpoint, err),
        class,
    }
}

/// `Some(next marker)` while a listing is truncated; an error when it is truncated without one.
pub(super) fn next_marker(truncated: bool, marker: Option<&str>) -> Result<Option<String>, String> {
    match (truncated, marker) {
        (false, _) => Ok(None),
        (true, Some(m)) if !m.is_empty() => Ok(Some(m.to_string())),
        (true, _) => Err("the listing is truncated but has no Marker".into()),
    }
}

pub(super) fn to_chrono(t: &aws_sdk_iam::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}
