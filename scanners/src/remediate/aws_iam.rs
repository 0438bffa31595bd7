//! AWS IAM changes: each one reads the user's current state (one list call), and makes its call
//! only when the state is not already the wanted one. Before any change, `sts:GetCallerIdentity`
//! checks that the credentials reach the account the findings are about: a profile pointing at
//! another account changes nothing.
//!
//! What it costs: two calls per change (read, write), one for a change already done, plus one
//! identity call per batch. No retries beyond the SDK's own for throttling.

use super::{runtime, AwsChange, Outcome, RemediateError};
use crate::aws_iam::{AwsScanConfig, Clients};
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_iam::types::StatusType;

/// The account the configuration's credentials reach (blocking).
pub fn account_of(config: &AwsScanConfig) -> Result<String, RemediateError> {
    runtime()?.block_on(async {
        let clients = Clients::new(config).await;
        identity(&clients).await
    })
}

/// Carries out `changes` in order in `account` (blocking), one [`Outcome`] per change. Errs,
/// changing nothing, when the credentials reach another account.
pub fn apply(
    config: &AwsScanConfig,
    account: &str,
    changes: &[AwsChange],
) -> Result<Vec<Outcome>, RemediateError> {
    runtime()?.block_on(async {
        let clients = Clients::new(config).await;
        let reached = identity(&clients).await?;
        if reached != account {
            return Err(RemediateError::WrongAccount {
                wanted: account.to_string(),
                reached,
            });
        }
        let mut out = Vec::with_capacity(changes.len());
        for change in changes {
            out.push(one(&clients.iam, change).await);
        }
        Ok(out)
    })
}

async fn identity(clients: &Clients) -> Result<String, RemediateError> {
    let who = clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| RemediateError::Identity(DisplayErrorContext(&e).to_string()))?;
    who.account()
        .map(str::to_string)
        .ok_or_else(|| RemediateError::Identity("STS named no account".into()))
}

/// An SDK error in words, or "already done" when it says the thing is gone.
fn failed_or_gone<E>(e: aws_sdk_iam::error::SdkError<E>, what: &str) -> Outcome
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if e.code() == Some("NoSuchEntity") {
        return Outcome::AlreadyDone {
            detail: format!("{what} no longer exists"),
        };
    }
    Outcome::Failed {
        message: DisplayErrorContext(&e).to_string(),
    }
}

fn already(detail: impl Into<String>) -> Outcome {
    Outcome::AlreadyDone {
        detail: detail.into(),
    }
}

/// Whether `status` is Inactive (the wanted state of a deactivation).
fn inactive(status: Option<&StatusType>) -> bool {
    matches!(status, Some(StatusType::Inactive))
}

async fn one(iam: &aws_sdk_iam::Client, change: &AwsChange) -> Outcome {
    match change {
        AwsChange::DeactivateAccessKey { user, key_id } => {
            access_key(iam, user, key_id, false).await
        }
        AwsChange::DeleteAccessKey { user, key_id } => access_key(iam, user, key_id, true).await,
        AwsChange::DeleteLoginProfile { user } => login_profile(iam, user).await,
        AwsChange::DeactivateSshKey { user, key_id } => ssh_key(iam, user, key_id).await,
        AwsChange::DeactivateSigningCertificate {
            user,
            certificate_id,
        } => signing_certificate(iam, user, certificate_id).await,
        AwsChange::DeactivateServiceCredential {
            user,
            credential_id,
        } => service_credential(iam, user, credential_id).await,
        AwsChange::RemoveFromGroup { user, group } => self::group(iam, user, group).await,
        AwsChange::DetachUserPolicy { user, policy_arn } => {
            user_policy(iam, user, policy_arn).await
        }
    }
}

/// Deactivates (or, with `delete`, deletes) one access key, once it is seen to exist.
async fn access_key(iam: &aws_sdk_iam::Client, user: &str, key_id: &str, delete: bool) -> Outcome {
    let keys = match iam.list_access_keys().user_name(user).send().await {
        Ok(k) => k,
        Err(e) => return failed_or_gone(e, &format!("user {user}")),
    };
    let Some(key) = keys
        .access_key_metadata()
        .iter()
        .find(|k| k.access_key_id() == Some(key_id))
    else {
        return already(format!("access key {key_id} no longer exists"));
    };
    if delete {
        return match iam
            .delete_access_key()
            .user_name(user)
            .access_key_id(key_id)
            .send()
            .await
        {
            Ok(_) => Outcome::Done,
            Err(e) => failed_or_gone(e, &format!("access key {key_id}")),
        };
    }
    if inactive(key.status()) {
        return already(format!("access key {key_id} is already inactive"));
    }
    match iam
        .update_access_key()
        .user_name(user)
        .access_key_id(key_id)
        .status(StatusType::Inactive)
        .send()
        .await
    {
        Ok(_) => Outcome::Done,
        Err(e) => failed_or_gone(e, &format!("access key {key_id}")),
    }
}

/// Deletes the console password, once it is seen to exist.
async fn login_profile(iam: &aws_sdk_iam::Client, user: &str) -> Outcome {
    if let Err(e) = iam.get_login_profile().user_name(user).send().await {
        return failed_or_gone(e, &format!("the login profile of {user}"));
    }
    match iam.delete_login_profile().user_name(user).send().await {
        Ok(_) => Outcome::Done,
        Err(e) => failed_or_gone(e, &format!("the login profile of {user}")),
    }
}

/// Deactivates one SSH public key unless it is inactive already.
async fn ssh_key(iam: &aws_sdk_iam::Client, user: &str, key_id: &str) -> Outcome {
    let keys = match iam.list_ssh_public_keys().user_name(user).send().await {
        Ok(k) => k,
        Err(e) => return failed_or_gone(e, &format!("user {user}")),
    };
    let Some(key) = keys
        .ssh_public_keys()
        .iter()
        .find(|k| k.ssh_public_key_id() == key_id)
    else {
        return already(format!("SSH key {key_id} no longer exists"));
    };
    if inactive(Some(key.status())) {
        return already(format!("SSH key {key_id} is already inactive"));
    }
    match iam
        .update_ssh_public_key()
        .user_name(user)
        .ssh_public_key_id(key_id)
        .status(StatusType::Inactive)
        .send()
        .await
    {
        Ok(_) => Outcome::Done,
        Err(e) => failed_or_gone(e, &format!("SSH key {key_id}")),
    }
}

/// Deactivates one signing certificate unless it is inactive already.
async fn signing_certificate(
    iam: &aws_sdk_iam::Client,
    user: &str,
    certificate_id: &str,
) -> Outcome {
    let certs = match iam.list_signing_certificates().user_name(user).send().await {
        Ok(c) => c,
        Err(e) => return failed_or_gone(e, &format!("user {user}")),
    };
    let Some(cert) = certs
        .certificates()
        .iter()
        .find(|c| c.certificate_id() == certificate_id)
    else {
        return already(format!(
            "signing certificate {certificate_id} no longer exists"
        ));
    };
    if inactive(Some(cert.status())) {
        return already(format!(
            "signing certificate {certificate_id} is already inactive"
        ));
    }
    match iam
        .update_signing_certificate()
        .user_name(user)
        .certificate_id(certificate_id)
        .status(StatusType::Inactive)
        .send()
        .await
    {
        Ok(_) => Outcome::Done,
        Err(e) => failed_or_gone(e, &format!("signing certificate {certificate_id}")),
    }
}

/// Deactivates one service-specific credential unless it is inactive already.
async fn service_credential(iam: &aws_sdk_iam::Client, user: &str, credential_id: &str) -> Outcome {
    let creds = match iam
        .list_service_specific_credentials()
        .user_name(user)
        .send()
        .await
    {
        Ok(c) => c,
        Err(e) => return failed_or_gone(e, &format!("user {user}")),
    };
    let Some(cred) = creds
        .service_specific_credentials()
        .iter()
        .find(|c| c.service_specific_credential_id() == credential_id)
    else {
        return already(format!(
            "service-specific credential {credential_id} no longer exists"
        ));
    };
    if inactive(Some(cred.status())) {
        return already(format!(
            "service-specific credential {credential_id} is already inactive"
        ));
    }
    match iam
        .update_service_specific_credential()
        .user_name(user)
        .service_specific_credential_id(credential_id)
        .status(StatusType::Inactive)
        .send()
        .await
    {
        Ok(_) => Outcome::Done,
        Err(e) => failed_or_gone(e, &format!("service-specific credential {credential_id}")),
    }
}

/// Removes the user from one group, if it is still a member.
async fn group(iam: &aws_sdk_iam::Client, user: &str, group: &str) -> Outcome {
    let groups = match iam
        .list_groups_for_user()
        .user_name(user)
        .max_items(1000)
        .send()
        .await
    {
        Ok(g) => g,
        Err(e) => return failed_or_gone(e, &format!("user {user}")),
    };
    if !groups.groups().iter().any(|g| g.group_name() == group) {
        return already(format!("{user} is no longer in group {group}"));
    }
    match iam
        .remove_user_from_group()
        .user_name(user)
        .group_name(group)
        .send()
        .await
    {
        Ok(_) => Outcome::Done,
        Err(e) => failed_or_gone(e, &format!("group {group}")),
    }
}

/// Detaches one managed policy from the user, if it is still attached.
async fn user_policy(iam: &aws_sdk_iam::Client, user: &str, policy_arn: &str) -> Outcome {
    let attached = match iam
        .list_attached_user_policies()
        .user_name(user)
        .max_items(1000)
        .send()
        .await
    {
        Ok(p) => p,
        Err(e) => return failed_or_gone(e, &format!("user {user}")),
    };
    if !attached
        .attached_policies()
        .iter()
        .any(|p| p.policy_arn() == Some(policy_arn))
    {
        return already(format!(
            "policy {policy_arn} is no longer attached to {user}"
        ));
    }
    match iam
        .detach_user_policy()
        .user_name(user)
        .policy_arn(policy_arn)
        .send()
        .await
    {
        Ok(_) => Outcome::Done,
        Err(e) => failed_or_gone(e, &format!("policy {policy_arn}")),
    }
}
