//! The org-level lists: members by role with their two-factor status, outside collaborators,
//! pending and failed invitations, App installations, org webhooks, fine-grained PAT grants and
//! SAML SSO credential authorizations.

use super::{map, payload, GithubScanConfig};
use crate::code_host::Part;
use crate::rest::{encode, RestClient};
use crate::Account;
use payload::{Invitation, User};
use std::collections::BTreeSet;

/// The org-level part of a sweep.
pub(super) struct OrgLists {
    pub(super) part: Part,
    /// The org's pseudo-account, with its webhooks as attributes.
    pub(super) org_account: Account,
    /// Whether every member list was read (a run that read neither members nor repositories
    /// failed).
    pub(super) members_read: bool,
}

pub(super) async fn sweep_org(cfg: &GithubScanConfig, rest: &RestClient) -> OrgLists {
    let org = cfg.org.as_str();
    let o = encode(org);
    let mut part = Part::default();
    let mut org_account = map::pseudo_account(&map::org_pseudo_account(org), "org");
    let members_read = sweep_members(rest, org, &mut part).await;
    if let Some(users) = part
        .list::<User>(rest, &format!("/orgs/{o}/outside_collaborators"), None)
        .await
    {
        part.accounts
            .extend(users.iter().map(map::outside_collaborator_account));
    }
    for (route, failed) in [
        (format!("/orgs/{o}/invitations"), false),
        (format!("/orgs/{o}/failed_invitations"), true),
    ] {
        // Every invitation grant maps to one unit: a list that fails misses exactly that.
        if let Some(invs) = part
            .list_unit::<Invitation>(crate::coverage::INVITATIONS, rest, &route, None)
            .await
        {
            part.grants.extend(
                invs.iter()
                    .filter_map(|i| map::invitation_grant(i, org, failed)),
            );
        }
    }
    let route = format!("/orgs/{o}/installations");
    if let Some(insts) = part
        .list::<payload::Installation>(rest, &route, Some("installations"))
        .await
    {
        part.accounts
            .extend(insts.iter().map(map::installation_account));
    }
    if let Some(hooks) = part
        .list::<payload::Hook>(rest, &format!("/orgs/{o}/hooks"), None)
        .await
    {
        org_account.attributes.extend(map::hook_attributes(&hooks));
    }
    OrgLists {
        part,
        org_account,
        members_read,
    }
}

/// Members by role, with their 2FA status where the token may see it (org owners only; else a
/// note). Returns whether every member list was read.
async fn sweep_members(rest: &RestClient, org: &str, part: &mut Part) -> bool {
    let o = encode(org);
    let no_2fa: Option<BTreeSet<String>> = {
        let mut probe = Part::default();
        let route = format!("/orgs/{o}/members?filter=2fa_disabled");
        let list = probe.list::<User>(rest, &route, None).await;
        if list.is_none() {
            part.notes.push(format!(
                "two-factor status unknown (org owners only): {}",
                probe.errors.join("; ")
            ));
        }
        list.map(|l| l.into_iter().map(|u| u.login).collect())
    };
    let mut members_read = true;
    for role in ["admin", "member"] {
        let route = format!("/orgs/{o}/members?role={role}");
        match part.list::<User>(rest, &route, None).await {
            Some(users) => {
                for u in users {
                    let tf = no_2fa.as_ref().map(|s| !s.contains(&u.login));
                    part.grants.push(map::org_member_grant(&u.login, org, role));
                    part.accounts.push(map::member_account(&u, role, tf));
                }
            }
            None => members_read = false,
        }
    }
    members_read
}

/// Fine-grained PAT grants (needs an App installation token) and SAML SSO credential
/// authorizations (GitHub Enterprise Cloud), each when configured.
pub(super) async fn sweep_tokens(cfg: &GithubScanConfig, rest: &RestClient) -> Part {
    let mut part = Part::default();
    let o = encode(&cfg.org);
    if cfg.fine_grained_pats {
        if let Some(grants) = part
            .list::<payload::PatGrant>(rest, &format!("/orgs/{o}/personal-access-tokens"), None)
            .await
        {
            part.credentials
                .extend(grants.iter().map(map::pat_grant_credential));
        }
    }
    if cfg.sso_credentials {
        let route = format!("/orgs/{o}/credential-authorizations");
        if let Some(auths) = part
            .list::<payload::CredentialAuthorization>(rest, &route, None)
            .await
        {
            part.credentials
                .extend(auths.iter().map(map::sso_credential));
        }
    }
    part
}
