//! The names of the remediation actions this build can plan: a leaf that the rule loader checks
//! rule files against without depending on the planner (which reads rules and the store).

/// Every action kind this build can plan; a rule file naming another is refused at load.
pub const KNOWN_ACTIONS: &[&str] = &[
    "aws-iam:deactivate-access-key",
    "aws-iam:delete-access-key",
    "aws-iam:delete-login-profile",
    "aws-iam:deactivate-ssh-key",
    "aws-iam:deactivate-signing-certificate",
    "aws-iam:deactivate-service-credential",
    "aws-iam:remove-from-group",
    "aws-iam:detach-user-policy",
    "github:remove-member",
    "github:cancel-invitation",
    "github:remove-collaborator",
    "github:delete-deploy-key",
    "github:revoke-pat",
    "github:revoke-sso-authorization",
    "gitlab:remove-member",
];
