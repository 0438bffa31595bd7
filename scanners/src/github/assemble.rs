//! The last step of a sweep: accounts deduplicated, SAML emails added as hints, and an account
//! for every login that only appears as the holder of a credential or grant.

use crate::code_host::attrs;
use crate::{Account, AccountKind, Credential, Grant, GrantKind, IdentityHints, Observations};
use std::collections::{BTreeMap, HashMap};

/// Deduplicates accounts (a login seen as member and outside collaborator keeps the first),
/// adds SAML emails, and adds an account for every login that holds a credential or grant but is
/// not a member (a deploy key's adder who left the org, an invitee, a CODEOWNERS entry): the
/// core only looks at credentials and grants through accounts.
pub(super) fn assemble(
    accounts: Vec<Account>,
    credentials: Vec<Credential>,
    grants: Vec<Grant>,
    saml: &HashMap<String, Vec<String>>,
) -> Observations {
    let mut by_name: BTreeMap<String, Account> = BTreeMap::new();
    for a in accounts {
        by_name.entry(a.name.clone()).or_insert(a);
    }
    let mut referenced: BTreeMap<String, &'static str> = BTreeMap::new();
    for c in &credentials {
        referenced.entry(c.account.clone()).or_insert("none");
    }
    for g in &grants {
        let how = if g.kind == GrantKind::Invitation {
            "invited"
        } else {
            "none"
        };
        referenced.entry(g.account.clone()).or_insert(how);
    }
    for (name, membership) in referenced {
        if by_name.contains_key(&name) {
            continue;
        }
        let emails = if name.contains('@') {
            vec![name.clone()]
        } else {
            Vec::new()
        };
        by_name.insert(
            name.clone(),
            Account {
                name,
                kind: AccountKind::User,
                enabled: None,
                created_at: None,
                last_used_at: None,
                hints: IdentityHints {
                    emails,
                    ..IdentityHints::default()
                },
                attributes: attrs([("membership", membership.to_string())]),
            },
        );
    }
    for (login, emails) in saml {
        if let Some(a) = by_name.get_mut(login) {
            for e in emails {
                if !a.hints.emails.iter().any(|x| x.eq_ignore_ascii_case(e)) {
                    a.hints.emails.push(e.clone());
                }
            }
            a.attributes.insert("saml_linked".into(), "true".into());
        }
    }
    Observations {
        accounts: by_name.into_values().collect(),
        credentials,
        grants,
    }
}
