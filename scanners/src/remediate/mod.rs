//! Remediation: the changes `residual remediate --apply` makes to a system, and what each one
//! found when it was made. The core plans the [`Change`]s (which finding, which policy allows it);
//! this module only carries them out, one call at a time, and says for each whether it was done,
//! was already done, or failed. It never decides that access is gone: the re-sweep that follows
//! does.
//!
//! Every change reads the current state first, so that applying the same plan twice is a no-op
//! the second time ([`Outcome::AlreadyDone`]) rather than a second write. Failures are returned,
//! never retried blindly: a mutating call that failed is for a person to look at.

pub mod aws_iam;
pub mod github;
pub mod gitlab;

use serde::{Deserialize, Serialize};

/// One change to AWS IAM, on one user of the account the configuration reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "kebab-case")]
pub enum AwsChange {
    /// `UpdateAccessKey Status=Inactive`.
    DeactivateAccessKey { user: String, key_id: String },
    /// `DeleteAccessKey` (only with `--allow-delete`).
    DeleteAccessKey { user: String, key_id: String },
    /// `DeleteLoginProfile`: the console password.
    DeleteLoginProfile { user: String },
    /// `UpdateSSHPublicKey Status=Inactive`.
    DeactivateSshKey { user: String, key_id: String },
    /// `UpdateSigningCertificate Status=Inactive`.
    DeactivateSigningCertificate {
        user: String,
        certificate_id: String,
    },
    /// `UpdateServiceSpecificCredential Status=Inactive`.
    DeactivateServiceCredential { user: String, credential_id: String },
    /// `RemoveUserFromGroup`.
    RemoveFromGroup { user: String, group: String },
    /// `DetachUserPolicy` (a managed policy).
    DetachUserPolicy { user: String, policy_arn: String },
}

impl AwsChange {
    /// The IAM API action, as an IAM policy names it (`iam:UpdateAccessKey`).
    pub fn api_call(&self) -> &'static str {
        match self {
            AwsChange::DeactivateAccessKey { .. } => "iam:UpdateAccessKey",
            AwsChange::DeleteAccessKey { .. } => "iam:DeleteAccessKey",
            AwsChange::DeleteLoginProfile { .. } => "iam:DeleteLoginProfile",
            AwsChange::DeactivateSshKey { .. } => "iam:UpdateSSHPublicKey",
            AwsChange::DeactivateSigningCertificate { .. } => "iam:UpdateSigningCertificate",
            AwsChange::DeactivateServiceCredential { .. } => "iam:UpdateServiceSpecificCredential",
            AwsChange::RemoveFromGroup { .. } => "iam:RemoveUserFromGroup",
            AwsChange::DetachUserPolicy { .. } => "iam:DetachUserPolicy",
        }
    }

    /// The user the change is made on.
    pub fn user(&self) -> &str {
        match self {
            AwsChange::DeactivateAccessKey { user, .. }
            | AwsChange::DeleteAccessKey { user, .. }
            | AwsChange::DeleteLoginProfile { user }
            | AwsChange::DeactivateSshKey { user, .. }
            | AwsChange::DeactivateSigningCertificate { user, .. }
            | AwsChange::DeactivateServiceCredential { user, .. }
            | AwsChange::RemoveFromGroup { user, .. }
            | AwsChange::DetachUserPolicy { user, .. } => user,
        }
    }
}

/// One change to a GitHub organisation, over the REST API (routes as GitHub's OpenAPI
/// description names them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "kebab-case")]
pub enum GithubChange {
    /// `DELETE /orgs/{org}/members/{username}`: the membership (and its team memberships).
    RemoveMember { org: String, login: String },
    /// `DELETE /orgs/{org}/invitations/{invitation_id}`: cancel a pending invitation.
    CancelInvitation { org: String, invitation_id: u64 },
    /// `DELETE /repos/{owner}/{repo}/collaborators/{username}`.
    RemoveCollaborator { repo: String, login: String },
    /// `DELETE /repos/{owner}/{repo}/keys/{key_id}` (only with `--allow-delete`).
    DeleteDeployKey { repo: String, key_id: u64 },
    /// `POST /orgs/{org}/personal-access-tokens/{pat_id}` `{"action": "revoke"}`: the org access
    /// of a fine-grained token (GitHub App auth).
    RevokePat { org: String, pat_id: u64 },
    /// `DELETE /orgs/{org}/credential-authorizations/{credential_id}`: a credential's SAML SSO
    /// authorization (GitHub Enterprise Cloud).
    RevokeSsoAuthorization { org: String, credential_id: u64 },
}

impl GithubChange {
    /// The REST route (under the API URL) the change deletes.
    pub fn route(&self) -> String {
        use crate::rest::encode;
        let repo = |r: &str| r.split('/').map(encode).collect::<Vec<_>>().join("/");
        match self {
            GithubChange::RemoveMember { org, login } => {
                format!("/orgs/{}/members/{}", encode(org), encode(login))
            }
            GithubChange::CancelInvitation { org, invitation_id } => {
                format!("/orgs/{}/invitations/{invitation_id}", encode(org))
            }
            GithubChange::RemoveCollaborator { repo: r, login } => {
                format!("/repos/{}/collaborators/{}", repo(r), encode(login))
            }
            GithubChange::DeleteDeployKey { repo: r, key_id } => {
                format!("/repos/{}/keys/{key_id}", repo(r))
            }
            GithubChange::RevokePat { org, pat_id } => {
                format!("/orgs/{}/personal-access-tokens/{pat_id}", encode(org))
            }
            GithubChange::RevokeSsoAuthorization { org, credential_id } => format!(
                "/orgs/{}/credential-authorizations/{credential_id}",
                encode(org)
            ),
        }
    }

    /// The JSON body of a `POST` change; `None` for a `DELETE`.
    pub fn post_body(&self) -> Option<serde_json::Value> {
        match self {
            GithubChange::RevokePat { .. } => Some(serde_json::json!({ "action": "revoke" })),
            _ => None,
        }
    }

    /// The API call as GitHub's documentation names the operation.
    pub fn api_call(&self) -> &'static str {
        match self {
            GithubChange::RemoveMember { .. } => "DELETE /orgs/{org}/members/{username}",
            GithubChange::CancelInvitation { .. } => {
                "DELETE /orgs/{org}/invitations/{invitation_id}"
            }
            GithubChange::RemoveCollaborator { .. } => {
                "DELETE /repos/{owner}/{repo}/collaborators/{username}"
            }
            GithubChange::DeleteDeployKey { .. } => "DELETE /repos/{owner}/{repo}/keys/{key_id}",
            GithubChange::RevokePat { .. } => "POST /orgs/{org}/personal-access-tokens/{pat_id}",
            GithubChange::RevokeSsoAuthorization { .. } => {
                "DELETE /orgs/{org}/credential-authorizations/{credential_id}"
            }
        }
    }
}

/// One change to a GitLab group (REST API v4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "kebab-case")]
pub enum GitlabChange {
    /// `DELETE /groups/:id/members/:user_id` (`:id` the URL-encoded full path).
    RemoveGroupMember {
        group: String,
        user_id: u64,
        username: String,
    },
}

impl GitlabChange {
    /// The REST route (under the API URL) the change deletes.
    pub fn route(&self) -> String {
        match self {
            GitlabChange::RemoveGroupMember { group, user_id, .. } => {
                format!("/groups/{}/members/{user_id}", crate::rest::encode(group))
            }
        }
    }

    /// The API call as GitLab's documentation names it.
    pub fn api_call(&self) -> &'static str {
        match self {
            GitlabChange::RemoveGroupMember { .. } => "DELETE /groups/:id/members/:user_id",
        }
    }
}

/// What carrying out one change found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum Outcome {
    /// The call was made and the system accepted it.
    Done,
    /// The system was already in the wanted state (the key inactive, the membership gone): no
    /// call was made.
    AlreadyDone { detail: String },
    /// The call (or the read before it) failed; nothing is assumed about the system's state.
    Failed { message: String },
}

impl Outcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::AlreadyDone { .. } => "already-done",
            Outcome::Failed { .. } => "failed",
        }
    }
}

/// Why no change of a batch could be attempted.
#[derive(Debug, thiserror::Error)]
pub enum RemediateError {
    /// The credentials reach another account than the findings': nothing is changed.
    #[error("the AWS credentials reach account {reached}, not {wanted}: nothing was changed")]
    WrongAccount { wanted: String, reached: String },
    /// The account could not be identified (`sts:GetCallerIdentity` failed).
    #[error("cannot tell which AWS account the credentials reach: {0}")]
    Identity(String),
    /// The async runtime could not be started.
    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

fn runtime() -> Result<tokio::runtime::Runtime, RemediateError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(RemediateError::Runtime)
}
