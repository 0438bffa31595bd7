//! `GetAccountAuthorizationDetails`: every user, role and group of the account with tags, group
//! memberships, attached and inline policies, trust policies and role last use, one call per page.

use super::sweep::{CallError, Sweep};
use aws_sdk_iam::types::{EntityType, GroupDetail, RoleDetail, UserDetail};

/// The account's users, roles and groups as the bulk listing returned them.
#[derive(Default)]
pub(super) struct AuthDetails {
    pub(super) users: Vec<UserDetail>,
    pub(super) roles: Vec<RoleDetail>,
    pub(super) groups: Vec<GroupDetail>,
    /// Pages read: none means the account's inventory is unknown and the run failed.
    pub(super) pages: u32,
}

impl Sweep {
    /// All pages for users, roles and groups. Returns what was read and the error that stopped
    /// it, if any.
    pub(super) async fn authorization_details(&self) -> (AuthDetails, Option<CallError>) {
        let mut details = AuthDetails::default();
        let read = self
            .pages(
                "GetAccountAuthorizationDetails",
                |marker| {
                    self.iam
                        .get_account_authorization_details()
                        .filter(EntityType::User)
                        .filter(EntityType::Role)
                        .filter(EntityType::Group)
                        .set_marker(marker)
                        .into_paginator()
                        .page_size(self.config.page_size)
                        .send()
                },
                |page| {
                    details.pages += 1;
                    details
                        .users
                        .extend(page.user_detail_list().iter().cloned());
                    details
                        .roles
                        .extend(page.role_detail_list().iter().cloned());
                    details
                        .groups
                        .extend(page.group_detail_list().iter().cloned());
                },
            )
            .await;
        (details, read.err())
    }
}
