//! Teams, nested: each team's members (maintainers and members) and the repositories it grants,
//! with the parent teams whose members inherit them.

use super::{map, payload, GithubScanConfig};
use crate::code_host::Part;
use crate::rest::{encode, RestClient};
use payload::{Repository, Team, User};
use std::collections::HashMap;

pub(super) async fn sweep_teams(cfg: &GithubScanConfig, rest: &RestClient) -> Part {
    let mut part = Part::default();
    let o = encode(&cfg.org);
    let Some(teams) = part
        .list::<Team>(rest, &format!("/orgs/{o}/teams"), None)
        .await
    else {
        return part;
    };
    let parent_of: HashMap<&str, &str> = teams
        .iter()
        .filter_map(|t| {
            t.parent
                .as_ref()
                .map(|p| (t.slug.as_str(), p.slug.as_str()))
        })
        .collect();
    for t in &teams {
        let base = format!("/orgs/{o}/teams/{}", encode(&t.slug));
        let mut members = Vec::new();
        for role in ["maintainer", "member"] {
            if let Some(users) = part
                .list::<User>(rest, &format!("{base}/members?role={role}"), None)
                .await
            {
                members.extend(users.into_iter().map(|u| (u.login, role.to_string())));
            }
        }
        let repos = part
            .list::<Repository>(rest, &format!("{base}/repos"), None)
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|r| {
                let p = payload::permission(&r.role_name, &r.permissions);
                (r.full_name, p)
            })
            .collect();
        let mut parents = Vec::new();
        let mut cur = t.slug.as_str();
        while let Some(p) = parent_of.get(cur) {
            if parents.iter().any(|x: &String| x == p) || parents.len() > 32 {
                break;
            }
            parents.push(p.to_string());
            cur = p;
        }
        part.grants.extend(map::team_grants(&map::TeamView {
            slug: &t.slug,
            name: t.name.as_deref(),
            parents,
            members,
            repos,
        }));
    }
    part
}
