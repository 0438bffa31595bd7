//! Secrets and variables: the org's Actions, Dependabot and Codespaces secrets (names and
//! metadata; GitHub never returns their values) and Actions variables, whose values are shown to
//! the [`ValueMatcher`] and dropped.

use super::map::{self, Scope};
use super::{payload, GithubScanConfig};
use crate::ci_variable::{variable_credentials, ReadableVariable, ValueMatcher};
use crate::code_host::Part;
use crate::rest::{encode, RestClient};
use crate::Credential;
use payload::{Repository, Secret, Variable};

/// The three secret stores: (store label, URL segment).
pub(super) const STORES: [(&str, &str); 3] = [
    ("actions", "actions"),
    ("dependabot", "dependabot"),
    ("codespaces", "codespaces"),
];

pub(super) async fn sweep_org_secrets(
    cfg: &GithubScanConfig,
    rest: &RestClient,
    matcher: &dyn ValueMatcher,
) -> Part {
    let mut part = Part::default();
    let o = encode(&cfg.org);
    let scope = Scope::Org(cfg.org.clone());
    for (store, seg) in STORES {
        let route = format!("/orgs/{o}/{seg}/secrets");
        let Some(secrets) = part.list::<Secret>(rest, &route, Some("secrets")).await else {
            continue;
        };
        for s in secrets {
            let selected = if s.visibility.as_deref() == Some("selected") {
                let r = format!("{route}/{}/repositories", encode(&s.name));
                part.list::<Repository>(rest, &r, Some("repositories"))
                    .await
                    .map(|v| v.into_iter().map(|r| r.full_name).collect::<Vec<_>>())
            } else {
                None
            };
            part.credentials.push(map::secret_credential(
                store,
                &scope,
                &s,
                selected.as_deref(),
            ));
        }
    }
    let route = format!("/orgs/{o}/actions/variables");
    if let Some(vars) = part.list::<Variable>(rest, &route, Some("variables")).await {
        for v in vars {
            let selected = if v.visibility.as_deref() == Some("selected") {
                let r = format!("{route}/{}/repositories", encode(&v.name));
                part.list::<Repository>(rest, &r, Some("repositories"))
                    .await
                    .map(|v| v.into_iter().map(|r| r.full_name).collect::<Vec<_>>())
            } else {
                None
            };
            part.credentials.extend(variable_observation(
                &scope,
                &v,
                selected.as_deref(),
                matcher,
            ));
        }
    }
    part
}

/// An Actions variable → CiVariable credentials; the value goes to the matcher and nowhere else.
pub(super) fn variable_observation(
    scope: &Scope,
    v: &Variable,
    selected: Option<&[String]>,
    matcher: &dyn ValueMatcher,
) -> Vec<Credential> {
    let mut attributes = map::attrs([
        ("store", "actions-variable".into()),
        ("scope", scope.label()),
        ("name", v.name.clone()),
        (
            "visibility",
            payload::text(&v.visibility).unwrap_or_default().to_string(),
        ),
    ]);
    if let Some(t) = payload::time(&v.updated_at) {
        attributes.insert("updated_at".into(), crate::time::format_time(&t));
    }
    if let Some(repos) = selected {
        attributes.insert("repositories".into(), repos.join(","));
    }
    variable_credentials(
        ReadableVariable {
            account: scope.account(),
            id: format!("actions-variable:{}:{}", scope.label(), v.name),
            value: v.value.as_str(),
            created_at: payload::time(&v.created_at),
            attributes,
            variable: map::ci_variable(
                "actions-variable",
                scope,
                payload::time(&v.updated_at),
                selected,
            ),
        },
        matcher,
    )
}
