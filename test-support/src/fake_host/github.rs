//! GitHub state for the fake: items built from the OpenAPI examples in `fixtures/github/`, and
//! answers to the GraphQL queries the scanner sends.

use super::{fixture, with, Fake, Shape};
use serde_json::{json, Value};
use std::collections::HashMap;

/// The first item of a list fixture (or of its wrapped list), as a template.
pub fn template(name: &str, key: Option<&str>) -> Value {
    let v = fixture("github", name);
    let list = match key {
        Some(k) => v.get(k).cloned().unwrap_or(Value::Null),
        None => v,
    };
    list.get(0)
        .cloned()
        .unwrap_or_else(|| panic!("{name}: empty"))
}

/// A `simple-user`.
pub fn user(login: &str, id: u64) -> Value {
    with(
        &template("org-members.json", None),
        json!({"login": login, "id": id, "type": "User"}),
    )
}

/// A bot `simple-user`.
pub fn bot(login: &str, id: u64) -> Value {
    with(&user(login, id), json!({"type": "Bot"}))
}

/// A `minimal-repository` named `org/name`.
pub fn repo(org: &str, name: &str, id: u64) -> Value {
    with(
        &template("org-repos.json", None),
        json!({"name": name, "full_name": format!("{org}/{name}"), "id": id}),
    )
}

/// A `collaborator` with a role name.
pub fn collaborator(login: &str, role: &str) -> Value {
    with(
        &template("repo-collaborators.json", None),
        json!({"login": login, "role_name": role}),
    )
}

/// A `deploy-key`.
pub fn deploy_key(
    id: u64,
    added_by: Option<&str>,
    last_used: Option<&str>,
    enabled: bool,
) -> Value {
    with(
        &template("repo-deploy-keys.json", None),
        json!({"id": id, "added_by": added_by, "last_used": last_used, "enabled": enabled, "title": format!("key {id}")}),
    )
}

/// A repository Actions secret.
pub fn secret(name: &str, updated_at: &str) -> Value {
    with(
        &template("repo-actions-secrets.json", Some("secrets")),
        json!({"name": name, "updated_at": updated_at}),
    )
}

/// A repository Actions variable.
pub fn variable(name: &str, value: Value) -> Value {
    with(
        &template("repo-actions-variables.json", Some("variables")),
        json!({"name": name, "value": value}),
    )
}

/// A `team`, optionally nested.
pub fn team(slug: &str, parent: Option<&str>) -> Value {
    let parent = parent.map(|p| {
        json!({"id": 2, "node_id": "MDQ6VGVhbTI=", "url": "https://api.github.com/teams/2",
               "members_url": "https://api.github.com/teams/2/members{/member}", "name": p,
               "description": "", "permission": "pull", "privacy": "closed",
               "notification_setting": "notifications_enabled",
               "html_url": format!("https://github.com/orgs/o/teams/{p}"),
               "repositories_url": "https://api.github.com/teams/2/repos", "slug": p, "type": "organization"})
    });
    with(
        &template("org-teams.json", None),
        json!({"slug": slug, "name": slug, "parent": parent}),
    )
}

/// What the fake's GraphQL endpoint knows.
#[derive(Default)]
pub struct GraphqlState {
    /// `owner/repo` → (path, CODEOWNERS text).
    pub codeowners: HashMap<String, (String, String)>,
    /// `owner/repo` → environment names.
    pub environments: HashMap<String, Vec<String>>,
    /// (login, SAML nameId).
    pub saml: Vec<(String, String)>,
    /// Requests answered.
    pub queries: usize,
}

/// Answers the repository batch query and the SAML identities query.
pub fn answer_graphql(state: &GraphqlState, q: &Value) -> Value {
    let text = q.get("query").and_then(Value::as_str).unwrap_or("");
    if text.contains("samlIdentityProvider") {
        let after: usize = q
            .pointer("/variables/after")
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let page: Vec<Value> = state
            .saml
            .iter()
            .skip(after)
            .take(100)
            .map(|(login, name_id)| json!({"samlIdentity": {"nameId": name_id, "emails": []}, "user": {"login": login}}))
            .collect();
        let next = after + page.len();
        return json!({"data": {"organization": {"samlIdentityProvider": {"externalIdentities": {
            "pageInfo": {"hasNextPage": next < state.saml.len(), "endCursor": next.to_string()},
            "nodes": page}}}}});
    }
    let mut data = serde_json::Map::new();
    let mut rest = text;
    while let Some(pos) = rest.find(": repository(owner: ") {
        let alias_start = rest[..pos].rfind(' ').map(|i| i + 1).unwrap_or(0);
        let alias = rest[alias_start..pos].to_string();
        let args = &rest[pos + ": repository(".len()..];
        let close = args.find(')').unwrap_or(args.len());
        let owner = quoted_after(&args[..close], "owner: ");
        let name = quoted_after(&args[..close], "name: ");
        let full = format!("{owner}/{name}");
        let mut repo = serde_json::Map::new();
        let found = state.codeowners.get(&full);
        for (j, path) in [".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"]
            .iter()
            .enumerate()
        {
            let v = match found {
                Some((p, t)) if p == path => json!({"text": t}),
                _ => Value::Null,
            };
            repo.insert(format!("c{j}"), v);
        }
        let envs: Vec<Value> = state
            .environments
            .get(&full)
            .into_iter()
            .flatten()
            .map(|e| json!({"name": e}))
            .collect();
        repo.insert("environments".into(), json!({"nodes": envs}));
        repo.insert("__typename".into(), json!("Repository"));
        data.insert(alias, Value::Object(repo));
        rest = &args[close..];
    }
    json!({"data": data})
}

fn quoted_after(s: &str, label: &str) -> String {
    s.find(label)
        .and_then(|i| {
            serde_json::Deserializer::from_str(&s[i + label.len()..])
                .into_iter::<String>()
                .next()
        })
        .and_then(Result::ok)
        .unwrap_or_default()
}

/// A whole org for the fake, in a few numbers: used by the benchmark.
pub struct OrgSpec {
    pub org: String,
    pub members: usize,
    pub repos: usize,
    pub teams: usize,
    pub keys_per_repo: usize,
    pub secrets_per_repo: usize,
}

/// Loads `spec` into `fake`: members (1 in 50 admins), teams with 50 members and 20 repositories
/// each, repositories with 2 direct collaborators, keys, secrets and 1 variable.
pub fn load_org(fake: &Fake, spec: &OrgSpec) {
    let users = load_org_level(fake, spec);
    load_teams(fake, spec, &users);
    load_repos(fake, spec);
}

/// The organisation's members (1 in 50 admins) and its empty org-level lists; returns the users.
fn load_org_level(fake: &Fake, spec: &OrgSpec) -> Vec<Value> {
    let o = &spec.org;
    let users: Vec<Value> = (0..spec.members)
        .map(|i| user(&format!("user{i}"), i as u64 + 1))
        .collect();
    let (admins, members): (Vec<_>, Vec<_>) = users
        .iter()
        .cloned()
        .enumerate()
        .partition(|(i, _)| i % 50 == 0);
    fake.set_list(
        &format!("/orgs/{o}/members?role=admin"),
        Shape::Array,
        admins.into_iter().map(|x| x.1).collect(),
    );
    fake.set_list(
        &format!("/orgs/{o}/members?role=member"),
        Shape::Array,
        members.into_iter().map(|x| x.1).collect(),
    );
    fake.set_list(
        &format!("/orgs/{o}/members?filter=2fa_disabled"),
        Shape::Array,
        vec![],
    );
    for route in [
        "outside_collaborators",
        "invitations",
        "failed_invitations",
        "hooks",
    ] {
        fake.set_list(&format!("/orgs/{o}/{route}"), Shape::Array, vec![]);
    }
    fake.set_list(
        &format!("/orgs/{o}/installations"),
        Shape::Wrapped("installations"),
        vec![],
    );
    for store in ["actions", "dependabot", "codespaces"] {
        fake.set_list(
            &format!("/orgs/{o}/{store}/secrets"),
            Shape::Wrapped("secrets"),
            vec![],
        );
    }
    fake.set_list(
        &format!("/orgs/{o}/actions/variables"),
        Shape::Wrapped("variables"),
        vec![],
    );
    users
}

/// The repositories and the teams, each team with 50 members and 20 repositories.
fn load_teams(fake: &Fake, spec: &OrgSpec, users: &[Value]) {
    let o = &spec.org;
    let repos: Vec<Value> = (0..spec.repos)
        .map(|i| repo(o, &format!("repo{i}"), i as u64 + 1))
        .collect();
    fake.set_list(
        &format!("/orgs/{o}/repos?type=all"),
        Shape::Array,
        repos.clone(),
    );
    let teams: Vec<Value> = (0..spec.teams)
        .map(|t| team(&format!("team{t}"), None))
        .collect();
    fake.set_list(&format!("/orgs/{o}/teams"), Shape::Array, teams);
    for t in 0..spec.teams {
        let base = format!("/orgs/{o}/teams/team{t}");
        fake.set_list(
            &format!("{base}/members?role=maintainer"),
            Shape::Array,
            vec![users[t].clone()],
        );
        fake.set_list(
            &format!("{base}/members?role=member"),
            Shape::Array,
            users.iter().skip(t * 50 + 1).take(49).cloned().collect(),
        );
        fake.set_list(
            &format!("{base}/repos"),
            Shape::Array,
            repos.iter().skip(t * 20).take(20).cloned().collect(),
        );
    }
}

/// Each repository's 2 direct collaborators, deploy keys, secrets and 1 variable.
fn load_repos(fake: &Fake, spec: &OrgSpec) {
    let o = &spec.org;
    for i in 0..spec.repos {
        let base = format!("/repos/{o}/repo{i}");
        fake.set_list(
            &format!("{base}/collaborators?affiliation=direct"),
            Shape::Array,
            vec![
                collaborator(&format!("user{}", i % spec.members.max(1)), "write"),
                collaborator(&format!("user{}", (i + 1) % spec.members.max(1)), "admin"),
            ],
        );
        fake.set_list(
            &format!("{base}/keys"),
            Shape::Array,
            (0..spec.keys_per_repo)
                .map(|k| {
                    deploy_key(
                        (i * 10 + k) as u64,
                        Some(&format!("user{}", i % spec.members.max(1))),
                        None,
                        true,
                    )
                })
                .collect(),
        );
        fake.set_list(
            &format!("{base}/actions/secrets"),
            Shape::Wrapped("secrets"),
            (0..spec.secrets_per_repo)
                .map(|s| secret(&format!("SECRET_{s}"), "2024-01-10T14:59:22Z"))
                .collect(),
        );
        fake.set_list(
            &format!("{base}/actions/variables"),
            Shape::Wrapped("variables"),
            vec![variable("REGION", json!("eu-west-1"))],
        );
    }
}
