//! Linking accounts to people: account → person, with how the link was made and a confidence.
//!
//! Order of preference (the first method that finds someone wins):
//! 1. an explicit HR column naming the account (`aws_user`, `github_login`, `gitlab_user`,
//!    `entra_upn`, `okta_user`, or for an inventory system `NAME`, an unknown HR column
//!    `<NAME>_user` / `<NAME>_account`),
//! 2. an email the system gives for the account (or an account name that is an email) equal to a
//!    person's email, then to one of their aliases (case-insensitive),
//! 3. an employee id the system carries,
//! 4. for systems that ask for it, an account name equal to the local part of a person's email.
//!
//! When two people share an email (a rehire under a new id), a person still in HR wins.

use crate::person::Person;
use residual_scanners::{Account, IdentityHints, SystemId};
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkMethod {
    HrColumn,
    Email,
    Alias,
    EmployeeId,
    Tag,
    NameLocalPart,
    Owner,
    NoreplyLogin,
    Verification,
    /// An Identity Center user name: an email, or a value of the HR column `aws_sso_user`.
    UserName,
    /// An Identity Center external id (the IdP's SCIM id): an employee id, or the HR column
    /// `external_id` / `scim_id`.
    ExternalId,
}

impl LinkMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkMethod::HrColumn => "hr-column",
            LinkMethod::Email => "email",
            LinkMethod::Alias => "alias",
            LinkMethod::EmployeeId => "employee-id",
            LinkMethod::Tag => "tag",
            LinkMethod::NameLocalPart => "name-local-part",
            LinkMethod::Owner => "owner",
            LinkMethod::NoreplyLogin => "noreply-login",
            LinkMethod::Verification => "verification",
            LinkMethod::UserName => "user-name",
            LinkMethod::ExternalId => "external-id",
        }
    }

    /// How sure a link made this way is.
    pub fn confidence(self) -> f64 {
        match self {
            LinkMethod::HrColumn | LinkMethod::Verification => 1.0,
            LinkMethod::Email | LinkMethod::EmployeeId | LinkMethod::ExternalId => 0.9,
            LinkMethod::UserName => 0.85,
            LinkMethod::Alias | LinkMethod::Tag | LinkMethod::NoreplyLogin | LinkMethod::Owner => {
                0.8
            }
            LinkMethod::NameLocalPart => 0.5,
        }
    }
}

/// An account (or an owner hint) tied to a person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub employee_id: String,
    pub method: LinkMethod,
    pub confidence: f64,
}

impl Link {
    fn new(employee_id: &str, method: LinkMethod) -> Link {
        Link {
            employee_id: employee_id.to_string(),
            method,
            confidence: method.confidence(),
        }
    }
}

/// Lookup tables over all known people, built once per evaluation.
pub struct PeopleIndex<'a> {
    by_id: HashMap<&'a str, &'a Person>,
    by_email: HashMap<String, &'a Person>,
    by_alias: HashMap<String, &'a Person>,
    by_local_part: HashMap<String, &'a Person>,
    /// column → lower-cased value → person, for the HR columns that name accounts.
    by_column: HashMap<String, HashMap<String, &'a Person>>,
    /// Any account-naming column value → person, for owner hints that are logins.
    by_login: HashMap<String, &'a Person>,
    /// HR `external_id` / `scim_id` values → person, for Identity Center external ids.
    by_external_id: HashMap<String, &'a Person>,
}

/// `s` lower-cased, copied only when it has upper-case letters: most names and emails an export
/// gives are lower-case already, and linking a million accounts lower-cased each one.
fn lower(s: &str) -> std::borrow::Cow<'_, str> {
    let unchanged = if s.is_ascii() {
        !s.bytes().any(|b| b.is_ascii_uppercase())
    } else {
        // Exactly when `to_lowercase` would give `s` back: every character maps to itself.
        s.chars().all(|c| {
            let mut l = c.to_lowercase();
            l.next() == Some(c) && l.next().is_none()
        })
    };
    if unchanged {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.to_lowercase())
    }
}

/// Between two people claiming the same key, keep the one still in HR.
fn prefer<'a>(map: &mut HashMap<String, &'a Person>, key: String, p: &'a Person) {
    map.entry(key)
        .and_modify(|cur| {
            if !cur.present && p.present {
                *cur = p;
            }
        })
        .or_insert(p);
}

impl<'a> PeopleIndex<'a> {
    pub fn new(people: impl IntoIterator<Item = &'a Person>) -> PeopleIndex<'a> {
        let mut ix = PeopleIndex {
            by_id: HashMap::new(),
            by_email: HashMap::new(),
            by_alias: HashMap::new(),
            by_local_part: HashMap::new(),
            by_column: HashMap::new(),
            by_login: HashMap::new(),
            by_external_id: HashMap::new(),
        };
        for p in people {
            let r = &p.record;
            ix.by_id.insert(r.employee_id.as_str(), p);
            prefer(&mut ix.by_email, r.email.to_lowercase(), p);
            if let Some((local, _)) = r.email.split_once('@') {
                prefer(&mut ix.by_local_part, local.to_lowercase(), p);
            }
            for a in &r.aliases {
                prefer(&mut ix.by_alias, a.to_lowercase(), p);
            }
            let columns = [
                ("aws_user", &r.aws_user),
                ("github_login", &r.github_login),
                ("gitlab_user", &r.gitlab_user),
            ];
            for (col, v) in columns {
                if let Some(v) = v {
                    ix.add_column(col, v, p);
                }
            }
            for (k, v) in &r.attributes {
                if matches!(k.to_lowercase().as_str(), "external_id" | "scim_id") {
                    prefer(&mut ix.by_external_id, v.trim().to_lowercase(), p);
                }
                // `_upn`: Entra's `entra_upn`, a user principal name that differs from the email.
                if k.ends_with("_user")
                    || k.ends_with("_account")
                    || k.ends_with("_login")
                    || k.ends_with("_upn")
                {
                    ix.add_column(&k.to_lowercase(), v, p);
                }
            }
        }
        ix
    }

    fn add_column(&mut self, col: &str, value: &str, p: &'a Person) {
        let v = value.to_lowercase();
        self.by_column
            .entry(col.to_string())
            .or_default()
            .insert(v.clone(), p);
        prefer(&mut self.by_login, v, p);
    }

    pub fn person(&self, employee_id: &str) -> Option<&'a Person> {
        self.by_id.get(employee_id).copied()
    }

    /// The HR columns that name accounts of `system` (`aws-iam:123…`, `github:org`, `inventory:crm`).
    pub fn columns_for(system: &str) -> Vec<String> {
        let SystemId { kind, scope: name } = SystemId::parse(system);
        match kind {
            "aws-iam" => vec!["aws_user".into()],
            "aws-sso" => vec!["aws_sso_user".into()],
            "github" => vec!["github_login".into()],
            "gitlab" => vec!["gitlab_user".into()],
            // Git systems hold commit authors (emails) and, from CODEOWNERS, GitHub logins.
            "git" => vec!["github_login".into()],
            // Identity providers: HR columns for when the UPN or login differs from the email.
            "entra" => vec!["entra_upn".into(), "entra_user".into()],
            "okta" => vec!["okta_user".into(), "okta_login".into()],
            _ => {
                let name = name.to_lowercase().replace('-', "_");
                vec![
                    format!("{name}_user"),
                    format!("{name}_account"),
                    format!("{name}_login"),
                ]
            }
        }
    }

    /// Links an account to a person, or says nobody matches. `columns` are the HR columns that
    /// name accounts of its system ([`PeopleIndex::columns_for`], computed once per run).
    pub fn link_account(
        &self,
        columns: &[String],
        account: &Account,
        by_local_part: bool,
    ) -> Option<Link> {
        self.account_holder(columns, account, by_local_part)
            .map(|(link, _)| link)
    }

    /// [`PeopleIndex::link_account`], with the person linked to: evaluation needs both, and
    /// looking the person up again by the link's employee id cost a second lookup per account.
    pub fn account_holder(
        &self,
        columns: &[String],
        account: &Account,
        by_local_part: bool,
    ) -> Option<(Link, &'a Person)> {
        let (p, method) = self.find_account(columns, account, by_local_part)?;
        Some((Link::new(p.employee_id(), method), p))
    }

    fn find_account(
        &self,
        columns: &[String],
        account: &Account,
        by_local_part: bool,
    ) -> Option<(&'a Person, LinkMethod)> {
        let name = lower(&account.name);
        for col in columns {
            if let Some(p) = self.by_column.get(col).and_then(|m| m.get(name.as_ref())) {
                return Some((*p, LinkMethod::HrColumn));
            }
        }
        if let Some(found) = self.find_by_hints(&account.hints) {
            return Some(found);
        }
        let name = name.as_ref();
        if name.contains('@') {
            if let Some(found) = self.find_email(name).or_else(|| self.find_noreply(name)) {
                return Some(found);
            }
        }
        if by_local_part {
            if let Some(p) = self.by_local_part.get(name) {
                return Some((*p, LinkMethod::NameLocalPart));
            }
        }
        None
    }

    /// Links an IAM Identity Center user: by an email it carries, then its user name (an email,
    /// or the HR column `aws_sso_user`; with `by_local_part`, an email's local part), then an
    /// external id (`issuer:id` pairs in the `external_ids` attribute) equal to an employee id or
    /// to the HR column `external_id` / `scim_id` — in that order, the method recorded.
    pub fn link_sso_user(&self, account: &Account, by_local_part: bool) -> Option<Link> {
        for email in &account.hints.emails {
            if let Some(l) = self.link_email(&email.to_lowercase()) {
                return Some(l);
            }
        }
        let name = account.name.to_lowercase();
        let by_name = if name.contains('@') {
            self.link_email(&name).map(|l| l.employee_id)
        } else {
            self.by_column
                .get("aws_sso_user")
                .and_then(|m| m.get(&name))
                .map(|p| p.employee_id().to_string())
        };
        if let Some(id) = by_name {
            return Some(Link::new(&id, LinkMethod::UserName));
        }
        let external = account
            .attributes
            .get("external_ids")
            .into_iter()
            .flat_map(|ids| {
                ids.split(',')
                    .map(|pair| pair.rsplit_once(':').map_or(pair, |(_, id)| id).trim())
            });
        for id in external.filter(|id| !id.is_empty()) {
            let person = self
                .person(id)
                .or_else(|| self.by_external_id.get(&id.to_lowercase()).copied());
            if let Some(p) = person {
                return Some(Link::new(p.employee_id(), LinkMethod::ExternalId));
            }
        }
        if by_local_part {
            if let Some(p) = self.by_local_part.get(&name) {
                return Some(Link::new(p.employee_id(), LinkMethod::NameLocalPart));
            }
        }
        None
    }

    /// Links by the emails and employee id a system gave.
    pub fn link_hints(&self, hints: &IdentityHints) -> Option<Link> {
        self.find_by_hints(hints)
            .map(|(p, method)| Link::new(p.employee_id(), method))
    }

    fn find_by_hints(&self, hints: &IdentityHints) -> Option<(&'a Person, LinkMethod)> {
        for email in &hints.emails {
            if let Some(found) = self.find_email(&lower(email)) {
                return Some(found);
            }
        }
        hints
            .employee_id
            .as_deref()
            .and_then(|id| self.person(id.trim()))
            .map(|p| (p, LinkMethod::EmployeeId))
    }

    /// Links an email (already lower-cased) to its person by primary email, then alias.
    pub fn link_email(&self, email: &str) -> Option<Link> {
        self.find_email(email)
            .map(|(p, method)| Link::new(p.employee_id(), method))
    }

    fn find_email(&self, email: &str) -> Option<(&'a Person, LinkMethod)> {
        if let Some(p) = self.by_email.get(email) {
            return Some((*p, LinkMethod::Email));
        }
        self.by_alias.get(email).map(|p| (*p, LinkMethod::Alias))
    }

    /// Links a GitHub commit email `ID+login@users.noreply.github.com` (or `login@…`) to the
    /// person whose HR `github_login` is that login.
    pub fn link_noreply(&self, email: &str) -> Option<Link> {
        self.find_noreply(email)
            .map(|(p, method)| Link::new(p.employee_id(), method))
    }

    fn find_noreply(&self, email: &str) -> Option<(&'a Person, LinkMethod)> {
        let local = email.strip_suffix("@users.noreply.github.com")?;
        let login = local.split_once('+').map_or(local, |(_, l)| l);
        self.by_column
            .get("github_login")
            .and_then(|m| m.get(login))
            .map(|p| (*p, LinkMethod::NoreplyLogin))
    }

    /// Resolves an owner hint: an email, an employee id, or an account login named in HR.
    pub fn link_owner(&self, owner: &str) -> Option<Link> {
        let o = owner.trim();
        let lower = o.to_lowercase();
        if lower.contains('@') {
            return self.link_email(&lower).map(|l| Link {
                method: LinkMethod::Owner,
                confidence: l.confidence,
                ..l
            });
        }
        if let Some(p) = self.person(o) {
            return Some(Link::new(p.employee_id(), LinkMethod::Owner));
        }
        self.by_login
            .get(&lower)
            .map(|p| Link::new(p.employee_id(), LinkMethod::Owner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_casing_copies_only_what_changes_and_gives_what_to_lowercase_gives() {
        for s in [
            "ann@example.com",
            "Ann@Example.com",
            "ǅemal",
            "ΣΑΣ",
            "straße",
            "İx",
            "",
        ] {
            assert_eq!(lower(s), s.to_lowercase(), "{s}");
        }
        assert!(matches!(lower("acct-17"), std::borrow::Cow::Borrowed(_)));
    }
    use crate::hr::{HrStatus, PersonRecord};
    use residual_scanners::AccountKind;
    use std::collections::BTreeMap;

    /// A person still in HR, with only an id and a primary email.
    fn person(employee_id: &str, email: &str) -> Person {
        Person::new(PersonRecord {
            employee_id: employee_id.into(),
            email: email.into(),
            name: None,
            status: HrStatus::Active,
            terminated_at: None,
            department: None,
            title: None,
            manager: None,
            aliases: vec![],
            github_login: None,
            gitlab_user: None,
            aws_user: None,
            role_changed_at: None,
            attributes: BTreeMap::new(),
        })
    }

    fn account(name: &str) -> Account {
        Account {
            name: name.into(),
            kind: AccountKind::User,
            enabled: None,
            created_at: None,
            last_used_at: None,
            hints: IdentityHints::default(),
            attributes: BTreeMap::new(),
        }
    }

    fn with_emails(mut a: Account, emails: &[&str]) -> Account {
        a.hints.emails = emails.iter().map(|e| e.to_string()).collect();
        a
    }

    fn with_employee_id(mut a: Account, id: &str) -> Account {
        a.hints.employee_id = Some(id.into());
        a
    }

    /// Links `a` as an account of `system`.
    fn link(people: &[Person], system: &str, a: &Account, by_local_part: bool) -> Option<Link> {
        let ix = PeopleIndex::new(people);
        ix.link_account(&PeopleIndex::columns_for(system), a, by_local_part)
    }

    fn expect(l: Option<Link>, employee_id: &str, method: LinkMethod, confidence: f64) {
        let l = l.expect("a link");
        assert_eq!(
            (l.employee_id.as_str(), l.method, l.confidence),
            (employee_id, method, confidence)
        );
    }

    #[test]
    fn the_entra_upn_and_okta_user_columns_name_identity_provider_accounts() {
        let mut ann = person("E1", "ann@example.com");
        ann.record
            .attributes
            .insert("entra_upn".into(), "A.Smith@contoso.onmicrosoft.com".into());
        ann.record
            .attributes
            .insert("okta_user".into(), "asmith".into());
        let people = [ann];
        let upn = account("a.smith@contoso.onmicrosoft.com");
        expect(
            link(&people, "entra:tenant", &upn, false),
            "E1",
            LinkMethod::HrColumn,
            1.0,
        );
        expect(
            link(&people, "okta:acme.okta.com", &account("asmith"), false),
            "E1",
            LinkMethod::HrColumn,
            1.0,
        );
        // A column names accounts of its own system only.
        assert!(link(&people, "okta:acme.okta.com", &upn, false).is_none());
        let ix = PeopleIndex::new(&people);
        let owner = ix
            .link_owner("asmith")
            .expect("a login named in HR links as owner");
        assert_eq!(owner.method, LinkMethod::Owner);
    }

    #[test]
    fn an_hr_column_naming_the_account_wins_over_an_email_the_system_gives() {
        let mut ann = person("E1", "ann@example.com");
        ann.record.aws_user = Some("Deploy-Bot".into());
        let ben = person("E2", "ben@example.com");
        let a = with_emails(account("deploy-bot"), &["ben@example.com"]);
        let l = link(&[ann, ben], "aws-iam:1", &a, true);
        expect(l, "E1", LinkMethod::HrColumn, 1.0);
    }

    #[test]
    fn an_hr_column_links_only_accounts_of_its_own_system() {
        let mut ann = person("E1", "ann@example.com");
        ann.record.github_login = Some("ann-gh".into());
        let people = [ann];
        assert!(link(&people, "aws-iam:1", &account("ann-gh"), false).is_none());
        let l = link(&people, "github:acme", &account("ann-gh"), false);
        expect(l, "E1", LinkMethod::HrColumn, 1.0);
    }

    #[test]
    fn an_inventory_system_is_named_by_an_unknown_hr_column_after_it() {
        let mut ann = person("E1", "ann@example.com");
        ann.record
            .attributes
            .insert("crm_prod_account".into(), "A-17".into());
        let l = link(&[ann], "inventory:crm-prod", &account("a-17"), false);
        expect(l, "E1", LinkMethod::HrColumn, 1.0);
    }

    #[test]
    fn an_email_the_system_gives_links_by_primary_email_before_an_employee_id() {
        let ann = person("E1", "ann@example.com");
        let ben = person("E2", "ben@example.com");
        let a = with_employee_id(with_emails(account("x"), &["Ann@Example.com"]), "E2");
        let l = link(&[ann, ben], "inventory:crm", &a, false);
        expect(l, "E1", LinkMethod::Email, 0.9);
    }

    #[test]
    fn an_email_that_is_only_an_alias_links_with_less_confidence() {
        let mut ann = person("E1", "ann@example.com");
        ann.record.aliases = vec!["ann.old@example.com".into()];
        let a = with_emails(account("x"), &["ann.old@example.com"]);
        let l = link(&[ann], "inventory:crm", &a, false);
        expect(l, "E1", LinkMethod::Alias, 0.8);
    }

    #[test]
    fn an_employee_id_the_system_carries_links_when_no_email_does() {
        let ann = person("E1", "ann@example.com");
        let a = with_employee_id(with_emails(account("x"), &["nobody@example.com"]), " E1 ");
        let l = link(&[ann], "inventory:crm", &a, false);
        expect(l, "E1", LinkMethod::EmployeeId, 0.9);
    }

    #[test]
    fn an_account_name_that_is_an_email_links_like_an_email() {
        let ann = person("E1", "ann@example.com");
        let l = link(&[ann], "git:repo", &account("ANN@example.com"), false);
        expect(l, "E1", LinkMethod::Email, 0.9);
    }

    #[test]
    fn a_github_noreply_address_links_to_the_person_with_that_login() {
        let mut ann = person("E1", "ann@example.com");
        ann.record.github_login = Some("ann-gh".into());
        let people = [ann];
        let numbered = account("12345+ann-gh@users.noreply.github.com");
        expect(
            link(&people, "git:repo", &numbered, false),
            "E1",
            LinkMethod::NoreplyLogin,
            0.8,
        );
        let bare = account("ann-gh@users.noreply.github.com");
        expect(
            link(&people, "git:repo", &bare, false),
            "E1",
            LinkMethod::NoreplyLogin,
            0.8,
        );
    }

    #[test]
    fn the_local_part_of_an_email_links_only_where_the_system_asks_for_it() {
        let people = [person("E1", "ann@example.com")];
        assert!(link(&people, "aws-iam:1", &account("ann"), false).is_none());
        let l = link(&people, "aws-iam:1", &account("Ann"), true);
        expect(l, "E1", LinkMethod::NameLocalPart, 0.5);
    }

    #[test]
    fn an_account_nothing_names_links_to_nobody() {
        let people = [person("E1", "ann@example.com")];
        let a = with_employee_id(with_emails(account("ghost"), &["ghost@example.com"]), "E9");
        assert!(link(&people, "inventory:crm", &a, true).is_none());
    }

    #[test]
    fn between_two_people_sharing_an_email_the_one_still_in_hr_wins() {
        let mut gone = person("E1", "ann@example.com");
        gone.present = false;
        let rehired = person("E7", "ann@example.com");
        let a = with_emails(account("x"), &["ann@example.com"]);
        expect(
            link(&[gone.clone(), rehired.clone()], "inventory:crm", &a, false),
            "E7",
            LinkMethod::Email,
            0.9,
        );
        expect(
            link(&[rehired, gone], "inventory:crm", &a, false),
            "E7",
            LinkMethod::Email,
            0.9,
        );
    }

    #[test]
    fn an_owner_hint_links_by_email_with_the_emails_confidence() {
        let mut ann = person("E1", "ann@example.com");
        ann.record.aliases = vec!["ann.old@example.com".into()];
        let people = [ann];
        let ix = PeopleIndex::new(&people);
        expect(
            ix.link_owner(" Ann@Example.com "),
            "E1",
            LinkMethod::Owner,
            0.9,
        );
        expect(
            ix.link_owner("ann.old@example.com"),
            "E1",
            LinkMethod::Owner,
            0.8,
        );
    }

    #[test]
    fn an_owner_hint_links_by_employee_id_then_by_a_login_hr_names() {
        let mut ann = person("E1", "ann@example.com");
        ann.record.gitlab_user = Some("ann-gl".into());
        let people = [ann];
        let ix = PeopleIndex::new(&people);
        expect(ix.link_owner("E1"), "E1", LinkMethod::Owner, 0.8);
        expect(ix.link_owner("ANN-GL"), "E1", LinkMethod::Owner, 0.8);
        assert!(ix.link_owner("nobody").is_none());
        assert!(ix.link_owner("nobody@example.com").is_none());
    }

    #[test]
    fn every_method_has_its_documented_confidence() {
        let expected = [
            (LinkMethod::HrColumn, 1.0),
            (LinkMethod::Verification, 1.0),
            (LinkMethod::Email, 0.9),
            (LinkMethod::EmployeeId, 0.9),
            (LinkMethod::Alias, 0.8),
            (LinkMethod::Tag, 0.8),
            (LinkMethod::NoreplyLogin, 0.8),
            (LinkMethod::Owner, 0.8),
            (LinkMethod::NameLocalPart, 0.5),
        ];
        for (method, confidence) in expected {
            assert_eq!(method.confidence(), confidence, "{}", method.as_str());
        }
    }
}
