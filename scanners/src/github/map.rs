//! GitHub payloads → observations. Pure functions: no I/O, no judgement.

use super::codeowners::{Owner, Rule};
use super::payload::{
    permission, text, time, Collaborator, CredentialAuthorization, DeployKey, Hook, Installation,
    Invitation, PatGrant, Secret, User,
};
pub(crate) use crate::code_host::{attrs, pseudo_account};
use crate::facets::{CiVariable, CodeOwner, CredentialFacets, GrantFacets};
use crate::{Account, AccountKind, Credential, CredentialKind, Grant, GrantKind, IdentityHints};
use chrono::{DateTime, SubsecRound, Utc};
use std::collections::BTreeMap;

/// The pseudo-account that holds the org's own secrets, variables and webhooks.
pub(crate) fn org_pseudo_account(org: &str) -> String {
    format!("org:{org}")
}

/// The pseudo-account that holds a repository's secrets, variables and keys without an adder.
pub(crate) fn repo_pseudo_account(full_name: &str) -> String {
    format!("repo:{full_name}")
}

/// An org member (`role` is `admin` or `member`); bots are service accounts.
pub(crate) fn member_account(u: &User, role: &str, two_factor: Option<bool>) -> Account {
    let kind = if u.kind.as_deref() == Some("Bot") {
        AccountKind::Service
    } else {
        AccountKind::User
    };
    let mut attributes = attrs([
        ("role", role.to_string()),
        ("membership", "member".into()),
        ("id", u.id.map(|i| i.to_string()).unwrap_or_default()),
    ]);
    if let Some(tf) = two_factor {
        attributes.insert("two_factor".into(), tf.to_string());
    }
    if u.site_admin == Some(true) {
        attributes.insert("site_admin".into(), "true".into());
    }
    Account {
        name: u.login.clone(),
        kind,
        enabled: Some(true),
        created_at: None,
        last_used_at: None,
        hints: IdentityHints {
            emails: u.email.iter().cloned().collect(),
            ..IdentityHints::default()
        },
        attributes,
    }
}

/// An outside collaborator: not an org member, but a collaborator on at least one repository.
pub(crate) fn outside_collaborator_account(u: &User) -> Account {
    let mut a = member_account(u, "", None);
    a.attributes.remove("role");
    a.attributes
        .insert("membership".into(), "outside_collaborator".into());
    a.attributes
        .insert("outside_collaborator".into(), "true".into());
    a
}

/// Org membership with its role.
pub(crate) fn org_member_grant(login: &str, org: &str, role: &str) -> Grant {
    Grant {
        account: login.to_string(),
        kind: GrantKind::OrgMember,
        target: org.to_string(),
        attributes: attrs([("role", role.to_string())]),
        facets: Default::default(),
    }
}

/// A pending (`failed = false`) or failed invitation; `None` when it names neither login nor email.
pub(crate) fn invitation_grant(inv: &Invitation, org: &str, failed: bool) -> Option<Grant> {
    let account = text(&inv.login).or(text(&inv.email))?.to_string();
    let mut attributes = attrs([
        ("state", if failed { "failed" } else { "pending" }.into()),
        ("invitation_id", inv.id.to_string()),
        ("role", text(&inv.role).unwrap_or_default().to_string()),
        ("email", text(&inv.email).unwrap_or_default().to_string()),
        (
            "inviter",
            inv.inviter
                .as_ref()
                .map(|u| u.login.clone())
                .unwrap_or_default(),
        ),
        (
            "invitation_source",
            text(&inv.invitation_source).unwrap_or_default().to_string(),
        ),
        (
            "failed_reason",
            text(&inv.failed_reason).unwrap_or_default().to_string(),
        ),
    ]);
    if let Some(t) = time(&inv.created_at) {
        attributes.insert("created_at".into(), crate::time::format_time(&t));
    }
    if let Some(t) = time(&inv.failed_at) {
        attributes.insert("failed_at".into(), crate::time::format_time(&t));
    }
    Some(Grant {
        account,
        kind: GrantKind::Invitation,
        target: org.to_string(),
        attributes,
        facets: Default::default(),
    })
}

/// A GitHub App installed on the org.
pub(crate) fn installation_account(i: &Installation) -> Account {
    let name = text(&i.app_slug)
        .map(str::to_string)
        .unwrap_or_else(|| format!("app-installation-{}", i.id));
    Account {
        name,
        kind: AccountKind::App,
        enabled: Some(text(&i.suspended_at).is_none()),
        created_at: time(&i.created_at),
        last_used_at: None,
        hints: IdentityHints::default(),
        attributes: attrs([
            ("installation_id", i.id.to_string()),
            (
                "app_id",
                i.app_id.map(|a| a.to_string()).unwrap_or_default(),
            ),
            (
                "target_type",
                text(&i.target_type).unwrap_or_default().to_string(),
            ),
            (
                "repository_selection",
                text(&i.repository_selection)
                    .unwrap_or_default()
                    .to_string(),
            ),
            (
                "suspended_by",
                i.suspended_by
                    .as_ref()
                    .map(|u| u.login.clone())
                    .unwrap_or_default(),
            ),
        ]),
    }
}

/// One team, as the sweep saw it.
pub(crate) struct TeamView<'a> {
    pub slug: &'a str,
    pub name: Option<&'a str>,
    /// Ancestors, nearest first.
    pub parents: Vec<String>,
    /// (login, `maintainer` or `member`). GitHub lists child-team members under the parent too.
    pub members: Vec<(String, String)>,
    /// (`owner/repo`, permission) the team grants.
    pub repos: Vec<(String, String)>,
}

/// One Team grant per member, carrying the team's ancestry and repository permissions.
pub(crate) fn team_grants(t: &TeamView<'_>) -> Vec<Grant> {
    let mut shared = attrs([
        ("team_name", t.name.unwrap_or_default().to_string()),
        ("parents", t.parents.join(",")),
    ]);
    for (repo, perm) in &t.repos {
        shared.insert(format!("repo:{repo}"), perm.clone());
    }
    t.members
        .iter()
        .map(|(login, role)| {
            let mut attributes = shared.clone();
            attributes.insert("team_role".into(), role.clone());
            Grant {
                account: login.clone(),
                kind: GrantKind::Team,
                target: t.slug.to_string(),
                attributes,
                facets: Default::default(),
            }
        })
        .collect()
}

/// A direct repository collaborator.
pub(crate) fn collaborator_grant(c: &Collaborator, full_name: &str) -> Grant {
    Grant {
        account: c.login.clone(),
        kind: GrantKind::Collaborator,
        target: full_name.to_string(),
        attributes: attrs([
            ("permission", permission(&c.role_name, &c.permissions)),
            ("affiliation", "direct".into()),
        ]),
        facets: Default::default(),
    }
}

/// A deploy key: owned by its adder when GitHub knows it, else by the repository.
pub(crate) fn deploy_key_credential(k: &DeployKey, full_name: &str) -> Credential {
    let added_by = text(&k.added_by).map(str::to_string);
    Credential {
        account: added_by
            .clone()
            .unwrap_or_else(|| repo_pseudo_account(full_name)),
        kind: CredentialKind::DeployKey,
        id: format!("{full_name}#{}", k.id),
        active: k.enabled.unwrap_or(true),
        created_at: time(&k.created_at),
        last_used_at: time(&k.last_used),
        hints: IdentityHints {
            created_by: added_by,
            ..IdentityHints::default()
        },
        attributes: attrs([
            ("repo", full_name.to_string()),
            ("title", text(&k.title).unwrap_or_default().to_string()),
            (
                "read_only",
                k.read_only.map(|b| b.to_string()).unwrap_or_default(),
            ),
            (
                "verified",
                k.verified.map(|b| b.to_string()).unwrap_or_default(),
            ),
        ]),
        facets: Default::default(),
    }
}

/// Where a secret or variable lives.
#[derive(Debug, Clone)]
pub(crate) enum Scope {
    Org(String),
    Repo(String),
    Environment { repo: String, environment: String },
}

impl Scope {
    /// `org`, `repo:<owner/repo>`, `env:<owner/repo>:<environment>`.
    pub(crate) fn label(&self) -> String {
        match self {
            Scope::Org(_) => "org".to_string(),
            Scope::Repo(r) => format!("repo:{r}"),
            Scope::Environment { repo, environment } => format!("env:{repo}:{environment}"),
        }
    }

    /// The pseudo-account the secret belongs to.
    pub(crate) fn account(&self) -> String {
        match self {
            Scope::Org(o) => org_pseudo_account(o),
            Scope::Repo(r) | Scope::Environment { repo: r, .. } => repo_pseudo_account(r),
        }
    }
}

/// An Actions, Dependabot or Codespaces secret (`store`), with the repositories an org secret
/// reaches when its visibility is `selected`.
pub(crate) fn secret_credential(
    store: &str,
    scope: &Scope,
    s: &Secret,
    selected: Option<&[String]>,
) -> Credential {
    let mut attributes = attrs([
        ("store", store.to_string()),
        ("scope", scope.label()),
        ("name", s.name.clone()),
        (
            "visibility",
            text(&s.visibility).unwrap_or_default().to_string(),
        ),
    ]);
    if let Scope::Environment { environment, .. } = scope {
        attributes.insert("environment".into(), environment.clone());
    }
    if let Some(t) = time(&s.updated_at) {
        attributes.insert("updated_at".into(), crate::time::format_time(&t));
    }
    if let Some(repos) = selected {
        attributes.insert("repositories".into(), repos.join(","));
    }
    Credential {
        account: scope.account(),
        kind: CredentialKind::CiVariable,
        id: format!("{store}:{}:{}", scope.label(), s.name),
        active: true,
        created_at: time(&s.created_at),
        last_used_at: None,
        hints: IdentityHints::default(),
        attributes,
        facets: CredentialFacets {
            ci_variable: Some(Box::new(ci_variable(
                store,
                scope,
                time(&s.updated_at),
                selected,
            ))),
            ..CredentialFacets::default()
        },
    }
}

/// The typed facts of a GitHub secret or variable, from what its attributes show.
pub(crate) fn ci_variable(
    store: &str,
    scope: &Scope,
    updated_at: Option<DateTime<Utc>>,
    selected: Option<&[String]>,
) -> CiVariable {
    CiVariable {
        store: store.to_string(),
        scope: scope.label(),
        repositories: selected.map(<[String]>::to_vec),
        // As the `updated_at` attribute shows it: to the second.
        updated_at: updated_at.map(|t| t.trunc_subsecs(0)),
        ..CiVariable::default()
    }
}

/// A fine-grained PAT granted access to the org.
pub(crate) fn pat_grant_credential(p: &PatGrant) -> Credential {
    let mut attributes = attrs([
        (
            "token_name",
            text(&p.token_name).unwrap_or_default().to_string(),
        ),
        (
            "token_id",
            p.token_id.map(|i| i.to_string()).unwrap_or_default(),
        ),
        (
            "repository_selection",
            text(&p.repository_selection)
                .unwrap_or_default()
                .to_string(),
        ),
        ("token_type", "fine-grained".into()),
    ]);
    if let Some(t) = time(&p.token_expires_at) {
        attributes.insert("token_expires_at".into(), crate::time::format_time(&t));
    }
    if let Some(t) = time(&p.token_last_used_at) {
        attributes.insert("last_used".into(), crate::time::format_time(&t));
    }
    Credential {
        account: p.owner.login.clone(),
        kind: CredentialKind::Token,
        id: format!("pat:{}", p.id),
        active: p.token_expired != Some(true),
        created_at: time(&p.access_granted_at),
        last_used_at: time(&p.token_last_used_at),
        hints: IdentityHints::default(),
        attributes,
        facets: Default::default(),
    }
}

/// A credential authorised for SAML SSO (GHEC): classic PAT, OAuth/App token or SSH key.
pub(crate) fn sso_credential(c: &CredentialAuthorization) -> Credential {
    let ctype = text(&c.credential_type).unwrap_or_default();
    let kind = if ctype.eq_ignore_ascii_case("SSH key") {
        CredentialKind::SshKey
    } else {
        CredentialKind::Token
    };
    let mut attributes = attrs([
        ("credential_type", ctype.to_string()),
        (
            "token_last_eight",
            text(&c.token_last_eight).unwrap_or_default().to_string(),
        ),
        (
            "fingerprint",
            text(&c.fingerprint).unwrap_or_default().to_string(),
        ),
        (
            "title",
            text(&c.authorized_credential_title)
                .unwrap_or_default()
                .to_string(),
        ),
        (
            "scopes",
            c.scopes.as_ref().map(|s| s.join(",")).unwrap_or_default(),
        ),
    ]);
    if let Some(t) = time(&c.authorized_credential_expires_at) {
        attributes.insert("expires_at".into(), crate::time::format_time(&t));
    }
    Credential {
        account: c.login.clone(),
        kind,
        id: format!("sso:{}", c.credential_id),
        active: true,
        created_at: time(&c.credential_authorized_at),
        last_used_at: time(&c.credential_accessed_at),
        hints: IdentityHints::default(),
        attributes,
        facets: Default::default(),
    }
}

/// CODEOWNERS entries naming a user or an email, one grant per owner and file, with its patterns.
/// Team owners are left out: team membership grants already say who is in a team.
pub(crate) fn codeowner_grants(rules: &[Rule], full_name: &str, path: &str) -> Vec<Grant> {
    let mut by_owner: BTreeMap<String, (Vec<String>, Vec<usize>)> = BTreeMap::new();
    for r in rules {
        let who = match &r.owner {
            Owner::User(login) => login.clone(),
            Owner::Email(email) => email.clone(),
            Owner::Team { .. } => continue,
        };
        let e = by_owner.entry(who).or_default();
        e.0.push(r.pattern.clone());
        e.1.push(r.line);
    }
    by_owner
        .into_iter()
        .map(|(account, (patterns, lines))| Grant {
            account,
            kind: GrantKind::Collaborator,
            target: format!("{full_name}/{path}"),
            attributes: attrs([
                ("codeowner", "true".into()),
                ("repo", full_name.to_string()),
                ("file", path.to_string()),
                ("pattern", patterns.join(" ")),
                (
                    "lines",
                    lines
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            ]),
            facets: GrantFacets {
                codeowner: Some(Box::new(CodeOwner {
                    repo: full_name.to_string(),
                    file: path.to_string(),
                    patterns,
                    lines: lines.iter().map(|&l| l as u64).collect(),
                })),
            },
        })
        .collect()
}

/// Webhooks as attributes of the pseudo-account: id → `name active=… events=… host=…`. Only the
/// target host is kept: hook URLs and configs can carry secrets.
pub(crate) fn hook_attributes(hooks: &[Hook]) -> BTreeMap<String, String> {
    hooks
        .iter()
        .map(|h| {
            let host = h
                .config
                .as_ref()
                .and_then(|c| c.url.as_deref())
                .and_then(url_host)
                .unwrap_or_default();
            (
                format!("webhook:{}", h.id),
                format!(
                    "{} active={} events={} host={}",
                    h.name.as_deref().unwrap_or("web"),
                    h.active.unwrap_or(true),
                    h.events.as_ref().map(|e| e.join(",")).unwrap_or_default(),
                    host
                ),
            )
        })
        .collect()
}

fn url_host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    Some(host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_hosts_drop_credentials_and_paths() {
        assert_eq!(
            url_host("https://user:pw@hooks.example.com:8443/x?token=y").as_deref(),
            Some("hooks.example.com:8443")
        );
    }
}
