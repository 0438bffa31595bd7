//! SAML external identities of the org over GraphQL (GitHub Enterprise Cloud): login → the
//! emails the identity provider knows, as link hints.

use super::{graphql, GithubScanConfig};
use crate::code_host::Part;
use crate::rest::RestClient;
use std::collections::HashMap;

pub(super) async fn saml_identities(
    cfg: &GithubScanConfig,
    rest: &RestClient,
    part: &mut Part,
) -> HashMap<String, Vec<String>> {
    let route = cfg.graphql_route();
    let mut out = HashMap::new();
    let mut cursor: Option<String> = None;
    for _ in 0..cfg.policy.max_pages {
        let answer = match rest
            .post_json(&route, &graphql::saml_query(&cfg.org, cursor.as_deref()))
            .await
            .and_then(|a| a.json(&route))
        {
            Ok(a) => a,
            Err(e) => {
                part.errors.push(format!("SAML identities: {e}"));
                return out;
            }
        };
        match graphql::parse_saml_page(&answer) {
            Ok(page) => {
                if !page.configured {
                    part.notes
                        .push("the org has no SAML identity provider".to_string());
                }
                out.extend(page.identities);
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => return out,
                }
            }
            Err(e) => {
                part.errors.push(format!("SAML identities: {e}"));
                return out;
            }
        }
    }
    part.errors.push(format!(
        "SAML identities: more than {} pages",
        cfg.policy.max_pages
    ));
    out
}
