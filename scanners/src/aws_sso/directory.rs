//! What an Identity Center sweep read, as plain values: users, groups and memberships from the
//! identity store, permission sets and account assignments from SSO admin, account names from
//! Organizations. [`super::read`] fills it from the APIs, [`super::translate`] turns it into
//! observations; tests build it by hand.

use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// An Identity Center user.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct User {
    pub(super) id: String,
    /// `UserName`; a user without one is named by its id.
    pub(super) user_name: Option<String>,
    pub(super) display_name: Option<String>,
    /// Emails, the primary one first.
    pub(super) emails: Vec<String>,
    /// `(issuer, id)` pairs: the IdP's SCIM ids of this user.
    pub(super) external_ids: Vec<(String, String)>,
    /// `Some(false)` when `UserStatus` is `DISABLED`; `None` when the API says nothing.
    pub(super) enabled: Option<bool>,
    pub(super) created_at: Option<DateTime<Utc>>,
}

impl User {
    /// The name the user is observed under.
    pub(super) fn name(&self) -> &str {
        self.user_name.as_deref().unwrap_or(&self.id)
    }
}

/// An Identity Center group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Group {
    pub(super) id: String,
    /// `DisplayName`; a group without one is named by its id.
    pub(super) display_name: Option<String>,
}

impl Group {
    pub(super) fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.id)
    }
}

/// A permission set with what it grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct PermissionSet {
    pub(super) arn: String,
    pub(super) name: String,
    /// AWS managed policy ARNs attached to it.
    pub(super) managed_policies: Vec<String>,
    /// Customer managed policy references, as `path` + `name`.
    pub(super) customer_policies: Vec<String>,
    /// The inline policy document, when it has one.
    pub(super) inline_policy: Option<String>,
    /// Its tags (key, value); empty when tags were not read.
    pub(super) tags: Vec<(String, String)>,
    pub(super) created_at: Option<DateTime<Utc>>,
}

/// Who an assignment is made to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Principal {
    User(String),
    Group(String),
}

/// One account assignment: a principal may use a permission set in an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Assignment {
    pub(super) account_id: String,
    pub(super) permission_set_arn: String,
    pub(super) principal: Principal,
}

/// Everything one sweep of one Identity Center instance read.
#[derive(Debug, Clone, Default)]
pub(super) struct Directory {
    pub(super) identity_store_id: String,
    pub(super) users: Vec<User>,
    pub(super) groups: Vec<Group>,
    /// Group id → the user ids that are members.
    pub(super) memberships: HashMap<String, Vec<String>>,
    pub(super) permission_sets: Vec<PermissionSet>,
    /// Account id → account name (from Organizations), for the accounts swept.
    pub(super) accounts: Vec<(String, Option<String>)>,
    pub(super) assignments: Vec<Assignment>,
}
