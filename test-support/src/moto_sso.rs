//! Seeding moto's IAM Identity Center (identity store, SSO admin) and Organizations in its
//! default account, through the AWS SDKs themselves: users, groups, memberships, permission
//! sets, member accounts and account assignments.
//!
//! The `residual` binary cannot send moto's `x-moto-account-id` header, so everything here writes
//! moto's default account: hold [`crate::moto::default_account`] while using it.
//!
//! moto falls short of AWS in three ways the seeding makes up for: a permission set created
//! without `SessionDuration` answers it as the number 3600 where AWS (and the SDK) have an
//! ISO 8601 duration, so every set is created with `PT1H`; `CreateAccountAssignment` does
//! not provision the permission set (AWS does it implicitly), so [`Sso::permission_set`]
//! provisions each set once; and `ListPermissionSetsProvisionedToAccount` ignores the account,
//! so every account lists every provisioned set (more calls on moto than on AWS, same result).

use crate::moto::moto;
use aws_sdk_identitystore::types::{Email, MemberId};
use aws_sdk_ssoadmin::types::{PrincipalType, TargetType};

/// Clients for moto's default account.
pub struct Sso {
    pub admin: aws_sdk_ssoadmin::Client,
    pub store: aws_sdk_identitystore::Client,
    pub orgs: aws_sdk_organizations::Client,
    pub instance_arn: String,
    pub identity_store_id: String,
}

macro_rules! client {
    ($sdk:ident) => {{
        let conf = $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::latest())
            .region($sdk::config::Region::new("us-east-1"))
            .endpoint_url(moto().endpoint.clone())
            .credentials_provider($sdk::config::Credentials::new(
                "testing", "testing", None, None, "moto",
            ))
            .build();
        $sdk::Client::from_conf(conf)
    }};
}

impl Sso {
    /// Clients, and moto's one Identity Center instance of the default account.
    pub async fn connect() -> Sso {
        let admin = client!(aws_sdk_ssoadmin);
        let instances = admin.list_instances().send().await.expect("ListInstances");
        let instance = instances
            .instances()
            .first()
            .expect("moto has one instance");
        Sso {
            instance_arn: instance
                .instance_arn()
                .expect("an instance ARN")
                .to_string(),
            identity_store_id: instance
                .identity_store_id()
                .expect("an identity store id")
                .to_string(),
            admin,
            store: client!(aws_sdk_identitystore),
            orgs: client!(aws_sdk_organizations),
        }
    }

    /// A user with a user name and a primary email; its user id.
    pub async fn user(&self, user_name: &str, email: &str) -> String {
        let out = self
            .store
            .create_user()
            .identity_store_id(&self.identity_store_id)
            .user_name(user_name)
            .display_name(user_name)
            .name(
                aws_sdk_identitystore::types::Name::builder()
                    .given_name(user_name)
                    .family_name("Example")
                    .build(),
            )
            .emails(Email::builder().value(email).primary(true).build())
            .send()
            .await
            .expect("CreateUser");
        out.user_id().to_string()
    }

    /// A group; its group id.
    pub async fn group(&self, name: &str) -> String {
        let out = self
            .store
            .create_group()
            .identity_store_id(&self.identity_store_id)
            .display_name(name)
            .send()
            .await
            .expect("CreateGroup");
        out.group_id().to_string()
    }

    /// Puts a user in a group; the membership id.
    pub async fn member(&self, group_id: &str, user_id: &str) -> String {
        let out = self
            .store
            .create_group_membership()
            .identity_store_id(&self.identity_store_id)
            .group_id(group_id)
            .member_id(MemberId::UserId(user_id.to_string()))
            .send()
            .await
            .expect("CreateGroupMembership");
        out.membership_id().to_string()
    }

    /// Takes a user out of a group.
    pub async fn remove_member(&self, membership_id: &str) {
        self.store
            .delete_group_membership()
            .identity_store_id(&self.identity_store_id)
            .membership_id(membership_id)
            .send()
            .await
            .expect("DeleteGroupMembership");
    }

    /// A provisioned permission set with AWS managed policies; its ARN.
    pub async fn permission_set(&self, name: &str, managed: &[&str]) -> String {
        let out = self
            .admin
            .create_permission_set()
            .instance_arn(&self.instance_arn)
            .name(name)
            // moto's default is the number 3600, which the SDK refuses: AWS answers ISO 8601.
            .session_duration("PT1H")
            .send()
            .await
            .expect("CreatePermissionSet");
        let arn = out
            .permission_set()
            .and_then(|p| p.permission_set_arn())
            .expect("a permission set ARN")
            .to_string();
        for policy in managed {
            self.admin
                .attach_managed_policy_to_permission_set()
                .instance_arn(&self.instance_arn)
                .permission_set_arn(&arn)
                .managed_policy_arn(format!("arn:aws:iam::aws:policy/{policy}"))
                .send()
                .await
                .expect("AttachManagedPolicyToPermissionSet");
        }
        self.admin
            .provision_permission_set()
            .instance_arn(&self.instance_arn)
            .permission_set_arn(&arn)
            .target_type(aws_sdk_ssoadmin::types::ProvisionTargetType::AllProvisionedAccounts)
            .send()
            .await
            .expect("ProvisionPermissionSet");
        arn
    }

    /// An organisation with `n` member accounts besides the management account; their ids.
    pub async fn organization(&self, n: usize) -> Vec<String> {
        self.orgs
            .create_organization()
            .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
            .send()
            .await
            .expect("CreateOrganization");
        let mut ids = Vec::new();
        for i in 0..n {
            let out = self
                .orgs
                .create_account()
                .account_name(format!("member-{i}"))
                .email(format!("aws+member-{i}@example.com"))
                .send()
                .await
                .expect("CreateAccount");
            let id = out
                .create_account_status()
                .and_then(|s| s.account_id())
                .expect("an account id");
            ids.push(id.to_string());
        }
        ids
    }

    /// Assigns a permission set in an account to a user (`group = false`) or a group.
    pub async fn assign(&self, account: &str, permission_set: &str, principal: &str, group: bool) {
        self.admin
            .create_account_assignment()
            .instance_arn(&self.instance_arn)
            .target_id(account)
            .target_type(TargetType::AwsAccount)
            .permission_set_arn(permission_set)
            .principal_type(if group {
                PrincipalType::Group
            } else {
                PrincipalType::User
            })
            .principal_id(principal)
            .send()
            .await
            .expect("CreateAccountAssignment");
    }
}
