//! Coverage: what a scan run read completely, unit by unit, and why it missed the rest.
//!
//! A *unit* is the smallest part of a system a run can vouch for: an IAM credential kind
//! (`users:access-keys`), one part of one repository (`repos:ORG/NAME:deploy-keys`), a
//! repository's `history`. Units form a hierarchy by `:`: a missed unit also misses every unit
//! below it (a missed `users` listing proves no `users:access-keys`, a missed `repos` listing no
//! `repos:ORG/NAME:*`). The unit [`EVERYTHING`] stands for a failure no unit can be named for:
//! missing it misses every unit, so an error a scanner cannot attribute resolves nothing.
//!
//! The scanners say which units they missed and why ([`Miss`]); the core asks which unit each
//! observation belongs to ([`credential_unit`], [`grant_unit`], [`account_unit`]) — the same
//! functions, so both sides name units the same way — and resolves a finding only when the run
//! did not miss its unit ([`is_covered`]).
//!
//! A *targeted* run (an IAM sweep of a few users, see [`TARGETED`]) turns this around: it
//! vouches only for the units it lists as covered and what they contain, never for everything it
//! did not miss. Its units are per user (`users:access-keys:ann`), which is why IAM credentials
//! belong to per-user units below their kind's unit: a full run that misses `users:access-keys`
//! still misses every user's keys.

use crate::{Account, AccountKind, Credential, CredentialKind, Grant, GrantKind, RunStatus};
use serde::{Deserialize, Serialize};

/// The unit that stands for the whole system: missed when a failure cannot be attributed.
pub const EVERYTHING: &str = "*";

/// Why a unit was not covered. Tells the reader what to do: grant an action, switch a kind
/// back on, wait for the provider, or read the error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "class")]
pub enum MissClass {
    /// Switched off in the configuration: *not covered*, never *none seen*.
    Disabled,
    /// The provider refused the call: a configuration gap, fixed by granting `action`.
    AccessDenied { action: String },
    /// 5xx, throttling or timeouts that outlasted the retries: try again later.
    Transient,
    /// Anything else (a malformed answer, a missing object).
    Error,
}

impl MissClass {
    pub fn as_str(&self) -> &'static str {
        match self {
            MissClass::Disabled => "disabled",
            MissClass::AccessDenied { .. } => "access-denied",
            MissClass::Transient => "transient",
            MissClass::Error => "error",
        }
    }

    /// The class of a failed HTTP exchange: 401/403 deny, 408/429/5xx are transient.
    pub fn of_http(status: Option<u16>, action: &str) -> MissClass {
        match status {
            Some(401 | 403) => MissClass::AccessDenied {
                action: action.to_string(),
            },
            Some(408 | 429) | Some(500..=599) => MissClass::Transient,
            _ => MissClass::Error,
        }
    }
}

/// One unit a run could not cover, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Miss {
    pub unit: String,
    #[serde(flatten)]
    pub class: MissClass,
    pub reason: String,
}

impl Miss {
    pub fn new(unit: impl Into<String>, class: MissClass, reason: impl Into<String>) -> Miss {
        Miss {
            unit: unit.into(),
            class,
            reason: reason.into(),
        }
    }

    /// A failure no unit can be named for: it misses [`EVERYTHING`].
    pub fn unattributed(reason: impl Into<String>) -> Miss {
        Miss::new(EVERYTHING, MissClass::Error, reason)
    }

    /// How the miss reads in a run's errors and in `residual runs`; a miss of [`EVERYTHING`]
    /// reads as its reason alone.
    pub fn describe(&self) -> String {
        if self.unit == EVERYTHING {
            return self.reason.clone();
        }
        let what = match &self.class {
            MissClass::AccessDenied { action } => format!("access denied (grant {action})"),
            other => other.as_str().to_string(),
        };
        format!("{} not covered: {what}: {}", self.unit, self.reason)
    }
}

/// One unit of a run: covered, or missed with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    pub name: String,
    /// `None` when the unit was covered completely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed: Option<Miss>,
}

impl Unit {
    pub fn is_covered(&self) -> bool {
        self.missed.is_none()
    }
}

/// The units of a run: every `expected` unit, covered unless a miss names it or a unit above it,
/// plus each miss (the first reason per unit is kept, with a count of the others).
pub fn units(expected: &[String], misses: &[Miss]) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::new();
    for m in misses {
        match out.iter_mut().find(|u| u.name == m.unit) {
            Some(u) => {
                if let Some(first) = u.missed.as_mut() {
                    if !first.reason.ends_with("more)") {
                        first.reason.push_str(" (and more)");
                    }
                }
            }
            None => out.push(Unit {
                name: m.unit.clone(),
                missed: Some(m.clone()),
            }),
        }
    }
    for name in expected {
        if out.iter().any(|u| &u.name == name) {
            continue;
        }
        let missed = misses.iter().find(|m| contains(&m.unit, name)).cloned();
        out.push(Unit {
            name: name.clone(),
            missed,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// Whether unit `outer` contains unit `inner`: the same unit, a unit above it by `:`, or
/// [`EVERYTHING`].
pub fn contains(outer: &str, inner: &str) -> bool {
    outer == EVERYTHING
        || outer == inner
        || (inner.len() > outer.len()
            && inner.starts_with(outer)
            && inner.as_bytes()[outer.len()] == b':')
}

/// Whether a run with `units` and `status` vouches for `unit`: not failed, and no missed unit
/// contains it; a targeted run ([`TARGETED`]) also only where a unit it covered contains it. A
/// `None` unit (a finding recorded before units existed) is vouched for only by a full run that
/// missed nothing, and a report without units only when it is complete.
pub fn is_covered(status: RunStatus, units: &[Unit], unit: Option<&str>) -> bool {
    if status == RunStatus::Failed {
        return false;
    }
    if units.is_empty() {
        // A report that names no units (from before coverage): all or nothing, as then.
        return status == RunStatus::Complete;
    }
    let targeted = is_targeted(units);
    let mut missed = units.iter().filter_map(|u| u.missed.as_ref());
    match unit {
        Some(unit) if targeted => {
            !missed.any(|m| contains(&m.unit, unit))
                && units
                    .iter()
                    .any(|u| u.is_covered() && !is_target_unit(&u.name) && contains(&u.name, unit))
        }
        None if targeted => false,
        Some(unit) => !missed.any(|m| contains(&m.unit, unit)),
        // A finding from before units may be of a kind switched off: only a run that missed
        // nothing at all vouches for it.
        None => status == RunStatus::Complete && missed.next().is_none(),
    }
}

/// The status units give a run that read something usable: complete iff every unit is covered
/// or switched off in the configuration. A unit switched off is still *not covered* — its
/// findings never resolve ([`is_covered`]) — but the configuration chose it: the scanner did not
/// fail, and a run partial for it forever would hide the runs that really are.
pub fn status_of(units: &[Unit]) -> RunStatus {
    let complete = units.iter().all(|u| match &u.missed {
        None => true,
        Some(m) => m.class == MissClass::Disabled,
    });
    if complete {
        RunStatus::Complete
    } else {
        RunStatus::Partial
    }
}

/// The scanner family of a system (`aws-iam:123` → `aws-iam`).
fn family(system: &str) -> &str {
    crate::SystemId::parse(system).kind
}

/// The prefix of the units that mark a targeted run: one `targeted:<account>` unit per account
/// it looked at. A run that lists them vouches only for the units it lists as covered (and what
/// they contain); everything else is out of its scope, neither covered nor missed.
pub const TARGETED: &str = "targeted";

fn is_target_unit(name: &str) -> bool {
    name.strip_prefix(TARGETED)
        .is_some_and(|rest| rest.starts_with(':'))
}

/// The unit that says a targeted run looked at `account`.
pub fn target_unit(account: &str) -> String {
    format!("{TARGETED}:{account}")
}

/// Whether `units` are a targeted run's.
pub fn is_targeted(units: &[Unit]) -> bool {
    units.iter().any(|u| is_target_unit(&u.name))
}

/// The accounts a targeted run looked at (empty for a full run), in unit order.
pub fn targeted_accounts(units: &[Unit]) -> Vec<&str> {
    units
        .iter()
        .filter_map(|u| u.name.strip_prefix(TARGETED)?.strip_prefix(':'))
        .collect()
}

/// The kinds of credential an IAM user can hold, each under its own unit.
pub const IAM_CREDENTIAL_KINDS: [CredentialKind; 6] = [
    CredentialKind::AccessKey,
    CredentialKind::ConsolePassword,
    CredentialKind::SshKey,
    CredentialKind::ServiceCredential,
    CredentialKind::SigningCertificate,
    CredentialKind::MfaDevice,
];

/// The unit of one IAM user's credentials of one kind: `users:<kind>:<user>`, below the kind's
/// unit (IAM user names cannot hold a `:`).
pub fn iam_user_credential_unit(kind: CredentialKind, user: &str) -> String {
    format!("{}:{user}", iam_credential_unit(kind))
}

/// The unit of the last use of one IAM user's credentials of one kind:
/// `users:<kind>:last-used:<user>`, below the kind's last-use unit, which is what the sweep
/// misses when a source of last-use times (the credential report) cannot be read.
pub fn iam_user_last_used_unit(kind: CredentialKind, user: &str) -> String {
    format!("{}:last-used:{user}", iam_credential_unit(kind))
}

/// The unit of one IAM user's existence: `users:account:<user>`, below `users` (the listing
/// that shows it). No credential kind is named `account`, so it meets no kind's unit.
pub fn iam_user_account_unit(user: &str) -> String {
    format!("users:account:{user}")
}

/// The unit of one IAM user's groups and attached and inline policies: `users:grants:<user>`.
pub fn iam_user_grants_unit(user: &str) -> String {
    format!("users:grants:{user}")
}

/// Every unit a targeted IAM run vouches for when it looked at `user`: the user's marker
/// ([`target_unit`]), the user itself and its groups and policies (the authorization details
/// list every user whole), and, per credential kind, the user's credentials and their last use.
/// Role trust naming the user stays under `roles`: a targeted run does not vouch for roles.
pub fn iam_user_units(user: &str) -> Vec<String> {
    let mut v = vec![
        target_unit(user),
        iam_user_account_unit(user),
        iam_user_grants_unit(user),
    ];
    for k in IAM_CREDENTIAL_KINDS {
        v.push(iam_user_credential_unit(k, user));
        v.push(iam_user_last_used_unit(k, user));
    }
    v
}

/// The IAM unit of each per-user credential kind.
pub fn iam_credential_unit(kind: CredentialKind) -> &'static str {
    match kind {
        CredentialKind::AccessKey => "users:access-keys",
        CredentialKind::ConsolePassword => "users:console-passwords",
        CredentialKind::SshKey => "users:ssh-keys",
        CredentialKind::ServiceCredential => "users:service-credentials",
        CredentialKind::SigningCertificate => "users:signing-certificates",
        CredentialKind::MfaDevice => "users:mfa-devices",
        _ => "users",
    }
}

/// Every unit an IAM sweep reads.
pub fn iam_units() -> Vec<String> {
    let mut v = vec!["users".to_string(), "roles".to_string()];
    for k in [
        CredentialKind::AccessKey,
        CredentialKind::ConsolePassword,
        CredentialKind::SshKey,
        CredentialKind::ServiceCredential,
        CredentialKind::SigningCertificate,
        CredentialKind::MfaDevice,
    ] {
        v.push(iam_credential_unit(k).to_string());
    }
    v
}

/// The unit of a code host's pending and failed org invitations.
/// The unit of one AWS account's IAM Identity Center assignments (`aws-sso` sweeps).
pub fn assignments_unit(account_id: &str) -> String {
    format!("{SSO_ASSIGNMENTS}:{account_id}")
}

/// The part of an `aws-sso` sweep that reads account assignments.
pub const SSO_ASSIGNMENTS: &str = "assignments";

pub const INVITATIONS: &str = "invitations";

/// The unit of the CI secrets and variables of one scope (`repo:ORG/NAME`, `org`,
/// `env:ORG/NAME:ENV`): `ci-variables:SCOPE`.
pub fn ci_variables_unit(scope_label: &str) -> String {
    format!("ci-variables:{scope_label}")
}

/// The unit of one part of one repository on a code host: `repos:ORG/NAME:PART`.
pub fn repo_unit(full_name: &str, part: &str) -> String {
    format!("repos:{full_name}:{part}")
}

/// The unit of the last use of a credential: what `credential-used-after-departure` rests on,
/// below the credential's own unit, so that a source of last-use times (the IAM credential
/// report) can be missed on its own.
pub fn last_used_unit(system: &str, c: &Credential) -> String {
    match family(system) {
        "aws-iam" => iam_user_last_used_unit(c.kind, &c.account),
        _ => format!("{}:last-used", credential_unit(system, c)),
    }
}

/// The unit of an account's own last use (a login): for IAM the console password's last use,
/// which only the credential report tells.
pub fn account_last_used_unit(system: &str, a: &Account) -> String {
    match family(system) {
        "aws-iam" => iam_user_last_used_unit(CredentialKind::ConsolePassword, &a.name),
        _ => format!("{}:last-used", account_unit(system, a)),
    }
}

/// Identity providers (`entra`, `okta`): the user listing.
pub const IDP_USERS: &str = "users";
/// Identity providers: group memberships (Entra: transitive).
pub const IDP_GROUPS: &str = "groups";
/// Identity providers: assignments of users to applications.
pub const IDP_APP_ASSIGNMENTS: &str = "app-assignments";
/// Identity providers: administrator roles (Entra directory roles, Okta admin roles).
pub const IDP_ADMIN_ROLES: &str = "admin-roles";
/// The attribute an identity provider's non-human account and its credentials carry naming
/// the listing they came from (`applications`, `service-principals`, `api-tokens`): their unit.
pub const IDP_LISTING_ATTRIBUTE: &str = "listing";

fn is_idp(system: &str) -> bool {
    matches!(family(system), "entra" | "okta")
}

/// The unit of an identity provider's observation that came from listing `listing`.
fn idp_listing_unit(attributes: &std::collections::BTreeMap<String, String>) -> String {
    attributes
        .get(IDP_LISTING_ATTRIBUTE)
        .cloned()
        .unwrap_or_else(|| IDP_USERS.to_string())
}

/// The unit a credential observation belongs to.
pub fn credential_unit(system: &str, c: &Credential) -> String {
    if is_idp(system) {
        return idp_listing_unit(&c.attributes);
    }
    match family(system) {
        "aws-iam" => iam_user_credential_unit(c.kind, &c.account),
        "git" => git_unit(!c.account.is_empty()),
        "inventory" => "accounts".into(),
        // Identity Center holds no credentials; a user is its own way in.
        "aws-sso" => "users".into(),
        _ => match (c.kind, c.attributes.get("repo")) {
            (CredentialKind::DeployKey, Some(repo)) => repo_unit(repo, "deploy-keys"),
            (CredentialKind::CiVariable | CredentialKind::SecretInCode, _) => {
                match c.facets.ci_variable.as_ref().map(|v| v.scope.as_str()) {
                    Some(scope) if !scope.is_empty() => ci_variables_unit(scope),
                    _ => "ci-variables".into(),
                }
            }
            (kind, _) => format!("{}s", kind.as_str()),
        },
    }
}

/// The unit a grant observation belongs to.
pub fn grant_unit(system: &str, g: &Grant) -> String {
    if is_idp(system) {
        return match g.kind {
            GrantKind::AppAssignment => IDP_APP_ASSIGNMENTS.into(),
            GrantKind::AdminRole => IDP_ADMIN_ROLES.into(),
            _ => IDP_GROUPS.into(),
        };
    }
    match family(system) {
        "aws-iam" => match g.kind {
            GrantKind::RoleTrust => "roles".into(),
            _ if g.account.starts_with("role/") => "roles".into(),
            _ => iam_user_grants_unit(&g.account),
        },
        "git" => "worktree".into(),
        "inventory" => "accounts".into(),
        "aws-sso" => match (g.kind, g.attributes.get("account_id")) {
            (GrantKind::Assignment, Some(account)) => assignments_unit(account),
            (GrantKind::Assignment, None) => "assignments".into(),
            _ => "groups".into(),
        },
        _ => match g.kind {
            GrantKind::Collaborator if g.facets.codeowner.is_some() => {
                match g.facets.codeowner.as_ref().map(|o| o.repo.as_str()) {
                    Some(repo) if !repo.is_empty() => repo_unit(repo, "codeowners"),
                    _ => "codeowners".into(),
                }
            }
            GrantKind::Collaborator if g.target.contains('/') => {
                repo_unit(&g.target, "collaborators")
            }
            GrantKind::Collaborator => "outside-collaborators".into(),
            GrantKind::OrgMember => "members".into(),
            GrantKind::Team => "teams".into(),
            GrantKind::Invitation => INVITATIONS.into(),
            other => format!("{}s", other.as_str()),
        },
    }
}

/// The unit an account observation belongs to.
pub fn account_unit(system: &str, a: &Account) -> String {
    if is_idp(system) {
        return idp_listing_unit(&a.attributes);
    }
    match family(system) {
        "aws-iam" if a.kind == AccountKind::Role => "roles".into(),
        "aws-iam" => iam_user_account_unit(&a.name),
        // A permission set's owner comes from its tags.
        "aws-sso" if a.kind == AccountKind::Role => "permission-sets:tags".into(),
        "aws-sso" => "users".into(),
        "git" => git_unit(a.attributes.contains_key("commits")),
        "inventory" => "accounts".into(),
        _ => "members".into(),
    }
}

/// Git: what history shows (commit authors, secrets a commit introduced: they have an author) is
/// `history`; what only the checked-out tree shows (CODEOWNERS, a secret outside any commit) is
/// `worktree`.
fn git_unit(from_history: bool) -> String {
    if from_history {
        "history".into()
    } else {
        "worktree".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn miss(unit: &str) -> Miss {
        Miss::new(unit, MissClass::Transient, "HTTP 500")
    }

    #[test]
    fn a_missed_unit_misses_the_units_below_it_and_no_other() {
        assert!(contains("users", "users:access-keys"));
        assert!(contains("repos", "repos:o/a:deploy-keys"));
        assert!(contains("repos:o/a", "repos:o/a:deploy-keys"));
        assert!(!contains("repos:o/a", "repos:o/ab:deploy-keys"));
        assert!(!contains("users:access-keys", "users"));
        assert!(contains(EVERYTHING, "history"));
    }

    #[test]
    fn expected_units_are_covered_unless_a_miss_contains_them() {
        let expected = vec!["users".to_string(), "users:ssh-keys".into(), "roles".into()];
        let u = units(&expected, &[miss("users")]);
        let covered: Vec<&str> = u
            .iter()
            .filter(|u| u.is_covered())
            .map(|u| u.name.as_str())
            .collect();
        assert_eq!(covered, ["roles"]);
        assert_eq!(status_of(&u), RunStatus::Partial);
    }

    #[test]
    fn a_unit_switched_off_leaves_the_run_complete_but_is_not_covered() {
        let off = Miss::new("users:service-credentials", MissClass::Disabled, "off");
        let u = units(&["users:service-credentials".to_string()], &[off]);
        assert_eq!(status_of(&u), RunStatus::Complete);
        assert!(!is_covered(
            RunStatus::Complete,
            &u,
            Some("users:service-credentials")
        ));
        assert!(!is_covered(RunStatus::Complete, &u, None));
    }

    #[test]
    fn a_unit_is_vouched_for_when_nothing_missed_contains_it() {
        let u = units(
            &["users:access-keys".to_string(), "users:ssh-keys".into()],
            &[miss("users:service-credentials")],
        );
        assert!(is_covered(
            RunStatus::Partial,
            &u,
            Some("users:access-keys:last-used")
        ));
        assert!(!is_covered(
            RunStatus::Partial,
            &u,
            Some("users:service-credentials")
        ));
        assert!(!is_covered(RunStatus::Partial, &u, None), "legacy finding");
        assert!(!is_covered(RunStatus::Failed, &[], Some("users")));
        assert!(is_covered(RunStatus::Complete, &[], None));
    }

    #[test]
    fn a_targeted_run_vouches_only_for_the_users_it_looked_at() {
        let u = units(&iam_user_units("ann"), &[]);
        assert_eq!(targeted_accounts(&u), ["ann"]);
        assert_eq!(status_of(&u), RunStatus::Complete);
        let ann = iam_user_credential_unit(CredentialKind::AccessKey, "ann");
        let ben = iam_user_credential_unit(CredentialKind::AccessKey, "ben");
        assert!(is_covered(RunStatus::Complete, &u, Some(&ann)));
        assert!(!is_covered(RunStatus::Complete, &u, Some(&ben)));
        assert!(!is_covered(
            RunStatus::Complete,
            &u,
            Some("users:access-keys")
        ));
        assert!(!is_covered(RunStatus::Complete, &u, Some("users")));
        assert!(!is_covered(RunStatus::Complete, &u, None));
        assert!(is_covered(
            RunStatus::Complete,
            &u,
            Some(&iam_user_account_unit("ann"))
        ));
        assert!(is_covered(
            RunStatus::Complete,
            &u,
            Some(&iam_user_grants_unit("ann"))
        ));
        assert!(!is_covered(
            RunStatus::Complete,
            &u,
            Some(&iam_user_account_unit("ben"))
        ));
        assert!(!is_covered(RunStatus::Complete, &u, Some("roles")));
        // A kind the targeted run missed for everyone stays uncovered for its users too.
        let u = units(&iam_user_units("ann"), &[miss("users:access-keys")]);
        assert!(!is_covered(RunStatus::Partial, &u, Some(&ann)));
        let used = iam_user_last_used_unit(CredentialKind::AccessKey, "ann");
        let u = units(
            &iam_user_units("ann"),
            &[miss("users:access-keys:last-used")],
        );
        assert!(!is_covered(RunStatus::Partial, &u, Some(&used)));
        assert!(is_covered(RunStatus::Partial, &u, Some(&ann)));
    }

    #[test]
    fn a_full_iam_run_that_misses_a_kind_misses_every_users_credentials_of_it() {
        let u = units(&iam_units(), &[miss("users:access-keys")]);
        let ann = iam_user_credential_unit(CredentialKind::AccessKey, "ann");
        assert!(!is_covered(RunStatus::Partial, &u, Some(&ann)));
        let ssh = iam_user_credential_unit(CredentialKind::SshKey, "ann");
        assert!(is_covered(RunStatus::Partial, &u, Some(&ssh)));
        assert!(targeted_accounts(&u).is_empty());
    }

    #[test]
    fn an_unattributed_error_covers_nothing() {
        let u = units(&["history".to_string()], &[Miss::unattributed("boom")]);
        assert!(!is_covered(RunStatus::Partial, &u, Some("history")));
    }

    #[test]
    fn identity_provider_observations_fall_in_their_listings_unit() {
        let mut app = Account {
            name: "application/1".into(),
            kind: AccountKind::App,
            enabled: Some(true),
            created_at: None,
            last_used_at: None,
            hints: Default::default(),
            attributes: Default::default(),
        };
        assert_eq!(account_unit("entra:t", &app), "users");
        assert_eq!(account_last_used_unit("okta:o", &app), "users:last-used");
        app.attributes
            .insert(IDP_LISTING_ATTRIBUTE.into(), "applications".into());
        assert_eq!(account_unit("entra:t", &app), "applications");
        let g = Grant {
            account: "ann".into(),
            kind: GrantKind::AdminRole,
            target: "Global Administrator".into(),
            attributes: Default::default(),
            facets: Default::default(),
        };
        assert_eq!(grant_unit("okta:o", &g), "admin-roles");
    }

    #[test]
    fn http_status_says_the_class() {
        assert_eq!(
            MissClass::of_http(Some(403), "GET /x"),
            MissClass::AccessDenied {
                action: "GET /x".into()
            }
        );
        assert_eq!(MissClass::of_http(Some(503), "x"), MissClass::Transient);
        assert_eq!(MissClass::of_http(Some(404), "x"), MissClass::Error);
    }
}
