//! Reading one Identity Center instance into a [`Directory`], every listing through the SDK's
//! paginators, independent listings at once and per-item calls `concurrency` at a time.
//!
//! | data | calls |
//! | --- | --- |
//! | the instance and its identity store | `sso:ListInstances`, 1 |
//! | users, groups | `identitystore:ListUsers`, `ListGroups`: one per page |
//! | memberships | `identitystore:ListGroupMemberships`: one per group (and page) |
//! | permission sets | `sso:ListPermissionSets` per page, then per set `DescribePermissionSet`, `ListManagedPoliciesInPermissionSet`, `ListCustomerManagedPolicyReferencesInPermissionSet`, `GetInlinePolicyForPermissionSet`, `ListTagsForResource` |
//! | accounts and their names | `organizations:ListAccounts`: one per page |
//! | assignments | per account `sso:ListPermissionSetsProvisionedToAccount`, then `ListAccountAssignments` per permission set provisioned there |
//!
//! A failed call misses its coverage unit (`users`, `groups`, `permission-sets`,
//! `permission-sets:tags`, `accounts`, `assignments:ACCOUNT`) with why; memberships or accounts
//! that could not be read also miss `assignments`, since a group's assignments reach its members.

use super::directory::{Assignment, Directory, Group, PermissionSet, Principal, User};
use super::SsoScanConfig;
use crate::aws_iam::error_text;
use crate::coverage::{Miss, MissClass};
use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

pub use crate::coverage::assignments_unit;

pub(super) const USERS: &str = "users";
pub(super) const GROUPS: &str = "groups";
pub(super) const PERMISSION_SETS: &str = "permission-sets";
pub(super) const TAGS: &str = "permission-sets:tags";
pub(super) const ACCOUNTS: &str = "accounts";
pub(super) const ASSIGNMENTS: &str = crate::coverage::SSO_ASSIGNMENTS;

/// The clients of one sweep, counting every HTTP attempt in `calls`.
pub(super) struct Clients {
    pub(super) sso: aws_sdk_ssoadmin::Client,
    pub(super) store: aws_sdk_identitystore::Client,
    pub(super) orgs: aws_sdk_organizations::Client,
    pub(super) calls: Arc<AtomicU64>,
}

impl Clients {
    pub(super) async fn new(config: &SsoScanConfig) -> Clients {
        let calls = Arc::new(AtomicU64::new(0));
        let interceptor = || crate::aws_iam::clients::CallInterceptor {
            calls: calls.clone(),
            headers: config.aws.extra_headers.clone(),
        };
        let sdk = crate::aws_iam::clients::sdk_config(&config.aws).await;
        Clients {
            sso: aws_sdk_ssoadmin::Client::from_conf(
                aws_sdk_ssoadmin::config::Builder::from(&sdk)
                    .interceptor(interceptor())
                    .build(),
            ),
            store: aws_sdk_identitystore::Client::from_conf(
                aws_sdk_identitystore::config::Builder::from(&sdk)
                    .interceptor(interceptor())
                    .build(),
            ),
            orgs: aws_sdk_organizations::Client::from_conf(
                aws_sdk_organizations::config::Builder::from(&sdk)
                    .interceptor(interceptor())
                    .build(),
            ),
            calls,
        }
    }
}

/// One sweep's clients and settings.
pub(super) struct Reader<'a> {
    pub(super) clients: &'a Clients,
    pub(super) config: &'a SsoScanConfig,
}

type Sdk<E> = SdkError<E, HttpResponse>;

impl Reader<'_> {
    fn endpoint(&self, service: &str) -> String {
        let host = format!("{service}.{}.amazonaws.com", self.config.aws.region);
        error_text::endpoint(self.config.aws.endpoint_url.as_deref(), &host)
    }

    /// A failed call as a miss of `unit`: the operation, endpoint and AWS's words, classed.
    fn miss<E>(&self, unit: &str, action: &str, what: &str, err: &Sdk<E>) -> Miss
    where
        E: std::error::Error + ProvideErrorMetadata + 'static,
    {
        let (service, operation) = action.split_once(':').unwrap_or(("sso", action));
        let host = if service == "sso" { "sso" } else { service };
        let reason =
            error_text::sdk_error(&format!("{operation}{what}"), &self.endpoint(host), err);
        Miss::new(unit, class_of(action, err), reason)
    }

    /// The instance to sweep: the configured one, or the only one there is.
    pub(super) async fn instance(&self) -> Result<(String, String), String> {
        let instances = self
            .clients
            .sso
            .list_instances()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.miss("*", "sso:ListInstances", "", &e).reason)?;
        let found: Vec<(String, String)> = instances
            .iter()
            .filter_map(|i| {
                Some((
                    i.instance_arn()?.to_string(),
                    i.identity_store_id()?.to_string(),
                ))
            })
            .collect();
        match &self.config.instance_arn {
            Some(arn) => found
                .into_iter()
                .find(|(a, _)| a == arn)
                .ok_or_else(|| format!("ListInstances: no Identity Center instance {arn}")),
            None => match found.len() {
                1 => Ok(found.into_iter().next().unwrap_or_default()),
                0 => Err("ListInstances: no Identity Center instance is visible to these credentials".into()),
                _ => Err(format!(
                    "ListInstances: {} Identity Center instances; name one with `instance_arn` ({})",
                    found.len(),
                    found.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>().join(", ")
                )),
            },
        }
    }

    /// Reads the whole instance; what could not be read is in the misses.
    pub(super) async fn directory(
        &self,
        instance_arn: &str,
        store_id: String,
    ) -> (Directory, Vec<Miss>) {
        let mut misses = Vec::new();
        let (users, groups, sets, accounts) = tokio::join!(
            self.users(&store_id),
            self.groups(&store_id),
            self.permission_sets(instance_arn),
            self.accounts()
        );
        let users = users.unwrap_or_else(|m| {
            misses.push(m);
            Vec::new()
        });
        let (sets, set_misses) = sets;
        misses.extend(set_misses);
        let groups = match groups {
            Ok(g) => g,
            Err(m) => {
                misses.push(Miss::new(ASSIGNMENTS, m.class.clone(), m.reason.clone()));
                misses.push(m);
                Vec::new()
            }
        };
        let (memberships, member_misses) = self.memberships(&store_id, &groups).await;
        if let Some(m) = member_misses.first() {
            misses.push(Miss::new(ASSIGNMENTS, m.class.clone(), m.reason.clone()));
        }
        misses.extend(member_misses);
        let accounts = match accounts {
            Ok(a) => a,
            Err(m) => {
                misses.push(Miss::new(ASSIGNMENTS, m.class.clone(), m.reason.clone()));
                misses.push(m);
                Vec::new()
            }
        };
        let (assignments, assignment_misses) = self.assignments(instance_arn, &accounts).await;
        misses.extend(assignment_misses);
        let dir = Directory {
            identity_store_id: store_id,
            users,
            groups,
            memberships,
            permission_sets: sets,
            accounts,
            assignments,
        };
        (dir, misses)
    }

    async fn users(&self, store_id: &str) -> Result<Vec<User>, Miss> {
        let users = self
            .clients
            .store
            .list_users()
            .identity_store_id(store_id)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.miss(USERS, "identitystore:ListUsers", "", &e))?;
        Ok(users
            .iter()
            .map(|u| {
                let mut emails: Vec<(bool, String)> = u
                    .emails()
                    .iter()
                    .filter_map(|e| Some((!e.primary(), e.value()?.trim().to_string())))
                    .filter(|(_, v)| !v.is_empty())
                    .collect();
                emails.sort_by_key(|(not_primary, _)| *not_primary);
                User {
                    id: u.user_id().to_string(),
                    user_name: u.user_name().map(str::to_string),
                    display_name: u.display_name().map(str::to_string),
                    emails: emails.into_iter().map(|(_, e)| e).collect(),
                    external_ids: u
                        .external_ids()
                        .iter()
                        .map(|x| (x.issuer().to_string(), x.id().to_string()))
                        .collect(),
                    enabled: u
                        .user_status()
                        .map(|s| !s.as_str().eq_ignore_ascii_case("disabled")),
                    created_at: u.created_at().and_then(to_chrono),
                }
            })
            .collect())
    }

    async fn groups(&self, store_id: &str) -> Result<Vec<Group>, Miss> {
        let groups = self
            .clients
            .store
            .list_groups()
            .identity_store_id(store_id)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.miss(GROUPS, "identitystore:ListGroups", "", &e))?;
        Ok(groups
            .iter()
            .map(|g| Group {
                id: g.group_id().to_string(),
                display_name: g.display_name().map(str::to_string),
            })
            .collect())
    }

    /// Members of every group, `concurrency` groups at a time.
    async fn memberships(
        &self,
        store_id: &str,
        groups: &[Group],
    ) -> (HashMap<String, Vec<String>>, Vec<Miss>) {
        let results: Vec<(String, Result<Vec<String>, Miss>)> = stream::iter(groups)
            .map(|g| async move {
                let members = self
                    .clients
                    .store
                    .list_group_memberships()
                    .identity_store_id(store_id)
                    .group_id(&g.id)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map(|ms| {
                        ms.iter()
                            .filter_map(|m| m.member_id()?.as_user_id().ok().cloned())
                            .collect()
                    })
                    .map_err(|e| {
                        self.miss(
                            GROUPS,
                            "identitystore:ListGroupMemberships",
                            &format!(" {}", g.name()),
                            &e,
                        )
                    });
                (g.id.clone(), members)
            })
            .buffer_unordered(self.config.aws.concurrency.max(1))
            .collect()
            .await;
        let mut memberships = HashMap::new();
        let mut misses = Vec::new();
        for (group, r) in results {
            match r {
                Ok(m) => {
                    memberships.insert(group, m);
                }
                Err(m) => misses.push(m),
            }
        }
        (memberships, misses)
    }

    /// Every permission set with its policies and tags; a set whose details could not be read
    /// misses `permission-sets`.
    async fn permission_sets(&self, instance_arn: &str) -> (Vec<PermissionSet>, Vec<Miss>) {
        let mut misses = Vec::new();
        if !self.config.permission_set_tags {
            misses.push(Miss::new(
                TAGS,
                MissClass::Disabled,
                "reading permission set tags is switched off (`permission_set_tags = false`)",
            ));
        }
        let arns = match self
            .clients
            .sso
            .list_permission_sets()
            .instance_arn(instance_arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
        {
            Ok(a) => a,
            Err(e) => {
                misses.push(self.miss(PERMISSION_SETS, "sso:ListPermissionSets", "", &e));
                return (Vec::new(), misses);
            }
        };
        let results: Vec<Result<(PermissionSet, Option<Miss>), Miss>> = stream::iter(arns)
            .map(|arn| self.permission_set(instance_arn, arn))
            .buffer_unordered(self.config.aws.concurrency.max(1))
            .collect()
            .await;
        let mut sets = Vec::new();
        for r in results {
            match r {
                Ok((ps, tag_miss)) => {
                    sets.push(ps);
                    misses.extend(tag_miss);
                }
                Err(m) => misses.push(m),
            }
        }
        sets.sort_by(|a, b| a.name.cmp(&b.name));
        (sets, misses)
    }

    /// The tags of one permission set (none when reading tags is switched off); a failure
    /// misses `permission-sets:tags` only.
    async fn permission_set_tags(
        &self,
        instance_arn: &str,
        arn: &str,
    ) -> (Vec<(String, String)>, Option<Miss>) {
        if !self.config.permission_set_tags {
            return (Vec::new(), None);
        }
        match self
            .clients
            .sso
            .list_tags_for_resource()
            .instance_arn(instance_arn)
            .resource_arn(arn)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
        {
            Ok(t) => (
                t.iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect(),
                None,
            ),
            Err(e) => (
                Vec::new(),
                Some(self.miss(TAGS, "sso:ListTagsForResource", &format!(" {arn}"), &e)),
            ),
        }
    }

    async fn permission_set(
        &self,
        instance_arn: &str,
        arn: String,
    ) -> Result<(PermissionSet, Option<Miss>), Miss> {
        let sso = &self.clients.sso;
        let what = format!(" {arn}");
        let unit = PERMISSION_SETS;
        let (described, managed, customer, inline) = tokio::join!(
            sso.describe_permission_set()
                .instance_arn(instance_arn)
                .permission_set_arn(&arn)
                .send(),
            sso.list_managed_policies_in_permission_set()
                .instance_arn(instance_arn)
                .permission_set_arn(&arn)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
            sso.list_customer_managed_policy_references_in_permission_set()
                .instance_arn(instance_arn)
                .permission_set_arn(&arn)
                .into_paginator()
                .items()
                .send()
                .try_collect(),
            sso.get_inline_policy_for_permission_set()
                .instance_arn(instance_arn)
                .permission_set_arn(&arn)
                .send(),
        );
        let described =
            described.map_err(|e| self.miss(unit, "sso:DescribePermissionSet", &what, &e))?;
        let managed = managed
            .map_err(|e| self.miss(unit, "sso:ListManagedPoliciesInPermissionSet", &what, &e))?;
        let customer = customer.map_err(|e| {
            self.miss(
                unit,
                "sso:ListCustomerManagedPolicyReferencesInPermissionSet",
                &what,
                &e,
            )
        })?;
        let inline = inline
            .map_err(|e| self.miss(unit, "sso:GetInlinePolicyForPermissionSet", &what, &e))?;
        let (tags, tag_miss) = self.permission_set_tags(instance_arn, &arn).await;
        let ps = described.permission_set();
        Ok((
            PermissionSet {
                name: ps
                    .and_then(|p| p.name())
                    .map(str::to_string)
                    .unwrap_or_else(|| arn.clone()),
                created_at: ps.and_then(|p| p.created_date()).and_then(to_chrono),
                arn,
                managed_policies: managed
                    .iter()
                    .filter_map(|p| p.arn().map(str::to_string))
                    .collect(),
                customer_policies: customer
                    .iter()
                    .map(|c| format!("{}{}", c.path().unwrap_or("/"), c.name()))
                    .collect(),
                inline_policy: inline
                    .inline_policy()
                    .filter(|p| !p.trim().is_empty())
                    .map(str::to_string),
                tags,
            },
            tag_miss,
        ))
    }

    /// The organisation's active accounts with their names.
    async fn accounts(&self) -> Result<Vec<(String, Option<String>)>, Miss> {
        let pages = self
            .clients
            .orgs
            .list_accounts()
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| self.miss(ACCOUNTS, "organizations:ListAccounts", "", &e))?;
        let mut out: Vec<(String, Option<String>)> = pages
            .iter()
            .flat_map(|p| p.accounts())
            .filter(|a| is_active(a))
            .filter_map(|a| Some((a.id()?.to_string(), a.name().map(str::to_string))))
            .collect();
        out.sort();
        if out.is_empty() {
            // An organisation has at least its management account: an empty answer (no
            // organisation, an emulator) vouches for no account's assignments.
            return Err(Miss::new(
                ACCOUNTS,
                MissClass::Error,
                "ListAccounts: no active account listed (is AWS Organizations enabled, and are these the management or delegated-administrator account's credentials?)",
            ));
        }
        Ok(out)
    }

    /// The assignments of every account, `concurrency` accounts at a time; an account whose
    /// assignments could not all be read misses its `assignments:ACCOUNT` unit.
    async fn assignments(
        &self,
        instance_arn: &str,
        accounts: &[(String, Option<String>)],
    ) -> (Vec<Assignment>, Vec<Miss>) {
        let results: Vec<Result<Vec<Assignment>, Miss>> = stream::iter(accounts)
            .map(|(id, _)| self.account_assignments(instance_arn, id))
            .buffer_unordered(self.config.aws.concurrency.max(1))
            .collect()
            .await;
        let mut all = Vec::new();
        let mut misses = Vec::new();
        for r in results {
            match r {
                Ok(a) => all.extend(a),
                Err(m) => misses.push(m),
            }
        }
        (all, misses)
    }

    async fn account_assignments(
        &self,
        instance_arn: &str,
        account_id: &str,
    ) -> Result<Vec<Assignment>, Miss> {
        let unit = assignments_unit(account_id);
        let what = format!(" {account_id}");
        let sets = self
            .clients
            .sso
            .list_permission_sets_provisioned_to_account()
            .instance_arn(instance_arn)
            .account_id(account_id)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| {
                self.miss(
                    &unit,
                    "sso:ListPermissionSetsProvisionedToAccount",
                    &what,
                    &e,
                )
            })?;
        let mut out = Vec::new();
        for ps in sets {
            let found = self
                .clients
                .sso
                .list_account_assignments()
                .instance_arn(instance_arn)
                .account_id(account_id)
                .permission_set_arn(&ps)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| {
                    self.miss(
                        &unit,
                        "sso:ListAccountAssignments",
                        &format!("{what} {ps}"),
                        &e,
                    )
                })?;
            out.extend(found.iter().filter_map(|a| {
                let id = a.principal_id()?.to_string();
                let principal = match a.principal_type()?.as_str() {
                    "GROUP" => Principal::Group(id),
                    _ => Principal::User(id),
                };
                Some(Assignment {
                    account_id: a.account_id().unwrap_or(account_id).to_string(),
                    permission_set_arn: a.permission_set_arn().unwrap_or(&ps).to_string(),
                    principal,
                })
            }));
        }
        Ok(out)
    }
}

/// An account is swept unless Organizations says it is suspended, closed or on its way out.
fn is_active(a: &aws_sdk_organizations::types::Account) -> bool {
    let state = a.state().map(|s| s.as_str().to_ascii_uppercase());
    let status = a.status().map(|s| s.as_str().to_ascii_uppercase());
    match (state, status) {
        (Some(s), _) | (None, Some(s)) => s == "ACTIVE",
        (None, None) => true,
    }
}

/// Denied (naming the action to grant), transient (5xx, throttling, no answer) or other.
fn class_of<E: ProvideErrorMetadata>(action: &str, err: &Sdk<E>) -> MissClass {
    let status = err.raw_response().map(|r| r.status().as_u16());
    let code = err.code().unwrap_or_default();
    if code.starts_with("AccessDenied") || status == Some(403) {
        MissClass::AccessDenied {
            action: action.to_string(),
        }
    } else if code.contains("Throttl")
        || code == "TooManyRequestsException"
        || status.is_some_and(|s| s == 429 || s >= 500)
        || matches!(
            err,
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)
        )
    {
        MissClass::Transient
    } else {
        MissClass::Error
    }
}

fn to_chrono(t: &aws_sdk_iam::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}
