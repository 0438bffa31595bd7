//! Getting the credential report: generated on request, waited for while AWS builds it, then
//! parsed by [`super::report`]. One report answers for every user's console password, MFA flag,
//! key and certificate status in two calls.

use super::report::{parse_credential_report, ReportRow};
use super::sweep::{CallError, Sweep};
use aws_sdk_iam::types::ReportStateType;
use std::collections::HashMap;
use std::time::Duration;

impl Sweep {
    /// The credential report, generated if needed and waited for.
    pub(super) async fn credential_report(&self) -> Result<HashMap<String, ReportRow>, CallError> {
        let deadline = tokio::time::Instant::now() + self.config.report_timeout;
        let mut wait = Duration::from_millis(500);
        loop {
            let generated = self
                .send(|| self.iam.generate_credential_report().send())
                .await
                .map_err(|e| self.describe("GenerateCredentialReport", &e))?;
            let complete = generated.state() == Some(&ReportStateType::Complete);
            if complete || generated.state() == Some(&ReportStateType::Started) {
                // moto (and AWS, for a fresh small account) may already have it: try to read it.
                match self.send(|| self.iam.get_credential_report().send()).await {
                    Ok(out) => {
                        let content = out.content().ok_or_else(|| {
                            CallError::malformed(
                                "GetCredentialReport",
                                "the response has no Content",
                            )
                        })?;
                        return parse_credential_report(content.as_ref())
                            .map_err(|e| CallError::malformed("GetCredentialReport", e));
                    }
                    Err(e) => {
                        let not_yet = e.as_service_error().is_some_and(|s| {
                            s.is_credential_report_not_ready_exception()
                                || s.is_credential_report_not_present_exception()
                                || s.is_credential_report_expired_exception()
                        });
                        if !not_yet || complete {
                            return Err(self.describe("GetCredentialReport", &e));
                        }
                    }
                }
            }
            if tokio::time::Instant::now() + wait > deadline {
                return Err(CallError {
                    reason: format!(
                        "GenerateCredentialReport: the report was not ready after {}s",
                        self.config.report_timeout.as_secs()
                    ),
                    class: crate::coverage::MissClass::Transient,
                });
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }
}
