//! The two GraphQL reads of the GitHub sweep, where one query replaces many REST calls:
//!
//! - a batch of repositories per query: the CODEOWNERS file at each of its three locations and
//!   the environment names (REST would need up to four calls per repository);
//! - the org's SAML external identities (GHEC): login ↔ SAML `nameId`, one page of 100 per query.

use super::codeowners::LOCATIONS;
use serde_json::{json, Value};

/// What one repository's batch entry says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RepoExtras {
    /// The first CODEOWNERS file found: (path, text).
    pub codeowners: Option<(String, String)>,
    /// Environment names (first 100).
    pub environments: Vec<String>,
}

/// A query for `repos` (`owner`, `name`), aliased `r0`, `r1`, ….
pub(crate) fn repo_batch_query(
    repos: &[(&str, &str)],
    codeowners: bool,
    environments: bool,
) -> Value {
    let mut q = String::from("query {");
    for (i, (owner, name)) in repos.iter().enumerate() {
        q.push_str(&format!(
            " r{i}: repository(owner: {}, name: {}) {{",
            quote(owner),
            quote(name)
        ));
        if codeowners {
            for (j, path) in LOCATIONS.iter().enumerate() {
                q.push_str(&format!(
                    " c{j}: object(expression: {}) {{ ... on Blob {{ text }} }}",
                    quote(&format!("HEAD:{path}"))
                ));
            }
        }
        if environments {
            q.push_str(" environments(first: 100) { nodes { name } }");
        }
        q.push_str(" __typename }");
    }
    q.push_str(" }");
    json!({ "query": q })
}

/// Reads the answer to [`repo_batch_query`]: one entry per repository (`None` when the answer
/// lacks it), plus the GraphQL error messages.
pub(crate) fn parse_repo_batch(answer: &Value, n: usize) -> (Vec<Option<RepoExtras>>, Vec<String>) {
    let errors = graphql_errors(answer);
    let data = answer.get("data");
    let out = (0..n)
        .map(|i| {
            let repo = data?.get(format!("r{i}"))?;
            if repo.is_null() {
                return None;
            }
            let codeowners = LOCATIONS.iter().enumerate().find_map(|(j, path)| {
                let text = repo.get(format!("c{j}"))?.get("text")?.as_str()?;
                Some((path.to_string(), text.to_string()))
            });
            let environments = repo
                .pointer("/environments/nodes")
                .and_then(Value::as_array)
                .map(|nodes| {
                    nodes
                        .iter()
                        .filter_map(|n| n.get("name").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            Some(RepoExtras {
                codeowners,
                environments,
            })
        })
        .collect();
    (out, errors)
}

/// The SAML external identities query, one page of 100 after `cursor`.
pub(crate) fn saml_query(org: &str, cursor: Option<&str>) -> Value {
    json!({
        "query": "query($org: String!, $after: String) { organization(login: $org) { samlIdentityProvider { externalIdentities(first: 100, after: $after) { pageInfo { hasNextPage endCursor } nodes { samlIdentity { nameId emails { value } } user { login } } } } } }",
        "variables": { "org": org, "after": cursor },
    })
}

/// One page of SAML identities.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SamlPage {
    /// (login, emails: `nameId` first when it is an email, then `emails[].value`).
    pub identities: Vec<(String, Vec<String>)>,
    /// The cursor of the next page, if there is one.
    pub next: Option<String>,
    /// False when the org has no SAML identity provider (not GHEC, or SAML not configured).
    pub configured: bool,
}

/// Reads one answer to [`saml_query`]; `Err` carries the GraphQL errors.
pub(crate) fn parse_saml_page(answer: &Value) -> Result<SamlPage, String> {
    let errors = graphql_errors(answer);
    if !errors.is_empty() {
        return Err(errors.join("; "));
    }
    let Some(idp) = answer.pointer("/data/organization/samlIdentityProvider") else {
        return Err("the answer has no data.organization".into());
    };
    if idp.is_null() {
        return Ok(SamlPage::default());
    }
    let ids = idp.get("externalIdentities").unwrap_or(&Value::Null);
    let mut page = SamlPage {
        configured: true,
        ..SamlPage::default()
    };
    for node in ids
        .get("nodes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(login) = node.pointer("/user/login").and_then(Value::as_str) else {
            continue; // an identity not linked to a GitHub user yet
        };
        let mut emails = Vec::new();
        if let Some(name_id) = node.pointer("/samlIdentity/nameId").and_then(Value::as_str) {
            if name_id.contains('@') {
                emails.push(name_id.to_string());
            }
        }
        for e in node
            .pointer("/samlIdentity/emails")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(v) = e.get("value").and_then(Value::as_str) {
                if !emails.iter().any(|x| x.eq_ignore_ascii_case(v)) {
                    emails.push(v.to_string());
                }
            }
        }
        page.identities.push((login.to_string(), emails));
    }
    let has_next = ids
        .pointer("/pageInfo/hasNextPage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if has_next {
        page.next = ids
            .pointer("/pageInfo/endCursor")
            .and_then(Value::as_str)
            .map(str::to_string);
    }
    Ok(page)
}

fn graphql_errors(answer: &Value) -> Vec<String> {
    answer
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| {
            e.get("message")
                .and_then(Value::as_str)
                .unwrap_or("GraphQL error without message")
                .to_string()
        })
        .collect()
}

/// A GraphQL string literal (JSON string syntax is valid GraphQL string syntax).
fn quote(s: &str) -> String {
    Value::String(s.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_answers_map_back_to_repositories() {
        let q = repo_batch_query(&[("o", "a"), ("o", "b\"x")], true, true);
        let text = q["query"].as_str().unwrap_or_default();
        assert!(text.contains(r#"r1: repository(owner: "o", name: "b\"x")"#));
        let answer = json!({"data": {
            "r0": {"c0": null, "c1": {"text": "* @alice\n"}, "c2": null,
                   "environments": {"nodes": [{"name": "prod"}]}},
            "r1": null
        }});
        let (extras, errors) = parse_repo_batch(&answer, 2);
        assert!(errors.is_empty());
        assert_eq!(
            extras[0],
            Some(RepoExtras {
                codeowners: Some(("CODEOWNERS".into(), "* @alice\n".into())),
                environments: vec!["prod".into()],
            })
        );
        assert_eq!(extras[1], None);
    }

    #[test]
    fn saml_pages_give_logins_and_emails() {
        let answer = json!({"data": {"organization": {"samlIdentityProvider": {"externalIdentities": {
        "pageInfo": {"hasNextPage": true, "endCursor": "Y3Vy"},
        "nodes": [
            {"samlIdentity": {"nameId": "ada@example.com", "emails": [{"value": "ADA@example.com"}, {"value": "ada.l@example.com"}]}, "user": {"login": "ada"}},
            {"samlIdentity": {"nameId": "x@example.com"}, "user": null}
        ]}}}}});
        let page = parse_saml_page(&answer).unwrap_or_default();
        assert_eq!(
            page.identities,
            vec![(
                "ada".to_string(),
                vec![
                    "ada@example.com".to_string(),
                    "ada.l@example.com".to_string()
                ]
            )]
        );
        assert_eq!(page.next.as_deref(), Some("Y3Vy"));
        let none = json!({"data": {"organization": {"samlIdentityProvider": null}}});
        assert!(!parse_saml_page(&none).unwrap_or_default().configured);
    }
}
