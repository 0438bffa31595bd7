//! What IAM tags and attached policies say, as identity hints, attributes and grants: shared by
//! the translation of users and of roles, so neither depends on the other.

use super::config::TagKeys;
use crate::{Grant, GrantKind, IdentityHints};
use aws_sdk_iam::types::{AttachedPolicy, PolicyDetail, Tag};
use std::collections::BTreeMap;

/// The named values that are present, as attributes.
pub(super) fn present_attributes<const N: usize>(
    pairs: [(&str, Option<&str>); N],
) -> BTreeMap<String, String> {
    pairs
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), v?.to_string())))
        .collect()
}

pub(super) fn tag_value<'a>(tags: &'a [Tag], keys: &[String]) -> Option<&'a str> {
    keys.iter().find_map(|k| {
        tags.iter()
            .find(|t| t.key().eq_ignore_ascii_case(k))
            .map(|t| t.value().trim())
            .filter(|v| !v.is_empty())
    })
}

pub(super) fn hints_from_tags(tags: &[Tag], keys: &TagKeys) -> IdentityHints {
    IdentityHints {
        emails: tag_value(tags, &keys.email)
            .map(|v| {
                v.split([',', ';', ' '])
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        employee_id: tag_value(tags, &keys.employee_id).map(str::to_string),
        owner: tag_value(tags, &keys.owner).map(str::to_string),
        created_by: None,
    }
}

pub(super) fn tag_attributes(tags: &[Tag], attributes: &mut BTreeMap<String, String>) {
    for t in tags {
        attributes.insert(format!("tag:{}", t.key()), t.value().to_string());
    }
}

/// Managed (target = policy ARN) and inline (target = `inline:<name>`) policies of an account.
pub(super) fn policy_grants(
    account: &str,
    attached: &[AttachedPolicy],
    inline: &[PolicyDetail],
    grants: &mut Vec<Grant>,
) {
    for p in attached {
        let Some(arn) = p.policy_arn() else { continue };
        let mut attributes = BTreeMap::new();
        attributes.insert("attachment".into(), "managed".into());
        if let Some(name) = p.policy_name() {
            attributes.insert("policy_name".into(), name.to_string());
        }
        grants.push(Grant {
            account: account.to_string(),
            kind: GrantKind::Policy,
            target: arn.to_string(),
            attributes,
            facets: Default::default(),
        });
    }
    for p in inline {
        let Some(name) = p.policy_name() else {
            continue;
        };
        let mut attributes = BTreeMap::new();
        attributes.insert("attachment".into(), "inline".into());
        attributes.insert("policy_name".into(), name.to_string());
        grants.push(Grant {
            account: account.to_string(),
            kind: GrantKind::Policy,
            target: format!("inline:{name}"),
            attributes,
            facets: Default::default(),
        });
    }
}
