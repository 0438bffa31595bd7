//! The command a person could run instead of `--apply`, for each change: the AWS CLI, `gh api`
//! or `curl` against the GitLab API. Credentials are never in it (the CLIs read their own
//! configuration), and every value is shell-quoted, so the `--format script` output can be
//! reviewed and run as it is.

use residual_scanners::remediate::{AwsChange, GithubChange, GitlabChange};

/// The AWS CLI command that makes `change` (IAM is global; the account is the one the CLI's
/// credentials reach, which the script's header says to check).
pub fn aws(change: &AwsChange) -> String {
    let u = |user: &str| format!("--user-name {}", quote(user));
    match change {
        AwsChange::DeactivateAccessKey { user, key_id } => format!(
            "aws iam update-access-key {} --access-key-id {} --status Inactive",
            u(user),
            quote(key_id)
        ),
        AwsChange::DeleteAccessKey { user, key_id } => format!(
            "aws iam delete-access-key {} --access-key-id {}",
            u(user),
            quote(key_id)
        ),
        AwsChange::DeleteLoginProfile { user } => {
            format!("aws iam delete-login-profile {}", u(user))
        }
        AwsChange::DeactivateSshKey { user, key_id } => format!(
            "aws iam update-ssh-public-key {} --ssh-public-key-id {} --status Inactive",
            u(user),
            quote(key_id)
        ),
        AwsChange::DeactivateSigningCertificate {
            user,
            certificate_id,
        } => format!(
            "aws iam update-signing-certificate {} --certificate-id {} --status Inactive",
            u(user),
            quote(certificate_id)
        ),
        AwsChange::DeactivateServiceCredential {
            user,
            credential_id,
        } => format!(
            "aws iam update-service-specific-credential {} --service-specific-credential-id {} --status Inactive",
            u(user),
            quote(credential_id)
        ),
        AwsChange::RemoveFromGroup { user, group } => format!(
            "aws iam remove-user-from-group {} --group-name {}",
            u(user),
            quote(group)
        ),
        AwsChange::DetachUserPolicy { user, policy_arn } => format!(
            "aws iam detach-user-policy {} --policy-arn {}",
            u(user),
            quote(policy_arn)
        ),
    }
}

/// The `gh api` command that makes `change` (`gh` reads its own token; for GitHub Enterprise
/// Server add `--hostname HOST`).
pub fn github(change: &GithubChange) -> String {
    match change.post_body() {
        // Only `{"action": "revoke"}` is posted.
        Some(_) => format!("gh api -X POST {} -f action=revoke", quote(&change.route())),
        None => format!("gh api -X DELETE {}", quote(&change.route())),
    }
}

/// The `curl` command that makes `change`: the token is read from `$GITLAB_TOKEN` when the
/// command runs (never written into it), the API URL from `$GITLAB_API` (default gitlab.com).
pub fn gitlab(change: &GitlabChange) -> String {
    format!(
        "curl --fail --request DELETE --header \"PRIVATE-TOKEN: $GITLAB_TOKEN\" \"${{GITLAB_API:-https://gitlab.com/api/v4}}{}\"",
        change.route()
    )
}

/// `s` as one shell word: bare when it holds only safe characters, else single-quoted.
pub fn quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.,:/@+=".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_with_shell_characters_are_single_quoted() {
        assert_eq!(quote("ann"), "ann");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$(x)"), "'$(x)'");
    }
}
