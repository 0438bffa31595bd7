//! One repository: direct collaborators, deploy keys, secrets and variables, webhooks, CODEOWNERS
//! and environments. CODEOWNERS and environment names come batched over GraphQL for many
//! repositories at once, or from the contents API per repository.

use super::secrets::{variable_observation, STORES};
use super::{codeowners, graphql, map, payload, CodeownersSource, GithubScanConfig};
use crate::ci_variable::ValueMatcher;
use crate::code_host::Part;
use crate::coverage;
use crate::rest::{encode, RestClient};
use base64::Engine;
use map::Scope;
use payload::{Environment, Repository, Secret, Variable};

/// CODEOWNERS and environment names per repository, batched over GraphQL; `None` where the
/// batch failed or GraphQL is not used.
pub(super) async fn repo_extras(
    cfg: &GithubScanConfig,
    rest: &RestClient,
    repos: &[Repository],
    part: &mut Part,
) -> Vec<Option<graphql::RepoExtras>> {
    if cfg.codeowners != CodeownersSource::GraphQl {
        return vec![None; repos.len()];
    }
    let route = cfg.graphql_route();
    let mut out = Vec::with_capacity(repos.len());
    for chunk in repos.chunks(cfg.graphql_batch.max(1)) {
        let names: Vec<(&str, &str)> = chunk
            .iter()
            .map(|r| r.full_name.split_once('/').unwrap_or(("", r.name.as_str())))
            .collect();
        let query = graphql::repo_batch_query(&names, true, cfg.environments);
        match rest
            .post_json(&route, &query)
            .await
            .and_then(|a| a.json(&route))
        {
            Ok(answer) => {
                let (extras, errors) = graphql::parse_repo_batch(&answer, chunk.len());
                for (r, e) in chunk.iter().zip(&extras) {
                    if e.is_none() {
                        part.errors.push(format!(
                            "{}: CODEOWNERS and environments not read (GraphQL: {})",
                            r.full_name,
                            errors.join("; ")
                        ));
                    }
                }
                out.extend(extras);
            }
            Err(e) => {
                part.errors.push(format!(
                    "CODEOWNERS and environments of {} repositories not read: {e}",
                    chunk.len()
                ));
                out.extend(chunk.iter().map(|_| None));
            }
        }
    }
    out
}

pub(super) async fn sweep_repo(
    cfg: &GithubScanConfig,
    rest: &RestClient,
    matcher: &dyn ValueMatcher,
    repo: &Repository,
    extras: Option<graphql::RepoExtras>,
) -> Part {
    let full = repo.full_name.as_str();
    let (owner, name) = full
        .split_once('/')
        .unwrap_or((cfg.org.as_str(), repo.name.as_str()));
    let at = RepoAt {
        full,
        base: format!("/repos/{}/{}", encode(owner), encode(name)),
    };
    let mut part = repo_lists(cfg, rest, matcher, &at).await;
    codeowners_and_environments(cfg, rest, matcher, &at, extras, &mut part).await;
    part
}

/// The parts of a repository read as units of their own; what else a repository holds is not yet
/// attributed (a failure there misses the whole run's coverage).
pub(super) const COLLABORATORS: &str = "collaborators";
pub(super) const DEPLOY_KEYS: &str = "deploy-keys";

/// A repository by name (`owner/name`) and REST route (`/repos/owner/name`).
struct RepoAt<'a> {
    full: &'a str,
    base: String,
}

/// Direct collaborators, deploy keys, secrets, Actions variables and (opt-in) webhooks.
async fn repo_lists(
    cfg: &GithubScanConfig,
    rest: &RestClient,
    matcher: &dyn ValueMatcher,
    at: &RepoAt<'_>,
) -> Part {
    let mut part = Part::default();
    repo_access(&mut part, rest, at).await;
    repo_ci_values(&mut part, cfg, rest, matcher, at).await;
    if cfg.repo_webhooks {
        let (full, base) = (at.full, at.base.as_str());
        if let Some(hooks) = part
            .list::<payload::Hook>(rest, &format!("{base}/hooks"), None)
            .await
        {
            let mut a = map::pseudo_account(&map::repo_pseudo_account(full), "repository");
            a.attributes.extend(map::hook_attributes(&hooks));
            part.accounts.push(a);
        }
    }
    part
}

/// Direct collaborators as grants and deploy keys as credentials, each its own unit.
async fn repo_access(part: &mut Part, rest: &RestClient, at: &RepoAt<'_>) {
    let (full, base) = (at.full, at.base.as_str());
    if let Some(collabs) = part
        .list_unit::<payload::Collaborator>(
            &coverage::repo_unit(full, COLLABORATORS),
            rest,
            &format!("{base}/collaborators?affiliation=direct"),
            None,
        )
        .await
    {
        part.grants
            .extend(collabs.iter().map(|c| map::collaborator_grant(c, full)));
    }
    if let Some(keys) = part
        .list_unit::<payload::DeployKey>(
            &coverage::repo_unit(full, DEPLOY_KEYS),
            rest,
            &format!("{base}/keys"),
            None,
        )
        .await
    {
        part.credentials
            .extend(keys.iter().map(|k| map::deploy_key_credential(k, full)));
    }
}

/// The repository's secrets in every store it is configured to read, and its Actions variables.
async fn repo_ci_values(
    part: &mut Part,
    cfg: &GithubScanConfig,
    rest: &RestClient,
    matcher: &dyn ValueMatcher,
    at: &RepoAt<'_>,
) {
    let base = at.base.as_str();
    let repo_scope = Scope::Repo(at.full.to_string());
    // Every secret store and the variables of the repository are one unit: all of their
    // credentials map to it (`coverage::credential_unit`), so a list that fails misses exactly
    // what it would have shown.
    let ci_unit = coverage::ci_variables_unit(&repo_scope.label());
    for (store, seg) in STORES {
        let wanted = match store {
            "dependabot" => cfg.repo_dependabot_secrets,
            "codespaces" => cfg.repo_codespaces_secrets,
            _ => true,
        };
        if !wanted {
            continue;
        }
        if let Some(secrets) = part
            .list_unit::<Secret>(
                &ci_unit,
                rest,
                &format!("{base}/{seg}/secrets"),
                Some("secrets"),
            )
            .await
        {
            part.credentials.extend(
                secrets
                    .iter()
                    .map(|s| map::secret_credential(store, &repo_scope, s, None)),
            );
        }
    }
    let route = format!("{base}/actions/variables");
    if let Some(vars) = part
        .list_unit::<Variable>(&ci_unit, rest, &route, Some("variables"))
        .await
    {
        for v in &vars {
            part.credentials
                .extend(variable_observation(&repo_scope, v, None, matcher));
        }
    }
}

/// CODEOWNERS entries as grants, and each environment's secrets and variables. Both come from
/// the GraphQL batch (`extras`), or from REST with [`CodeownersSource::Contents`].
async fn codeowners_and_environments(
    cfg: &GithubScanConfig,
    rest: &RestClient,
    matcher: &dyn ValueMatcher,
    at: &RepoAt<'_>,
    extras: Option<graphql::RepoExtras>,
    part: &mut Part,
) {
    let (full, base) = (at.full, at.base.as_str());
    let (codeowners, environments) = match (cfg.codeowners, extras) {
        (CodeownersSource::GraphQl, Some(e)) => (e.codeowners, Some(e.environments)),
        (CodeownersSource::GraphQl, None) => (None, None),
        (CodeownersSource::Contents, _) => {
            let co = codeowners_from_contents(rest, base, part).await;
            let envs = if cfg.environments {
                part.list::<Environment>(
                    rest,
                    &format!("{base}/environments"),
                    Some("environments"),
                )
                .await
                .map(|v| v.into_iter().map(|e| e.name).collect())
            } else {
                None
            };
            (co, envs)
        }
        (CodeownersSource::Off, _) => (None, None),
    };
    if let Some((path, text)) = codeowners {
        part.grants.extend(map::codeowner_grants(
            &codeowners::parse(&text),
            full,
            &path,
        ));
    }
    if !cfg.environments {
        return;
    }
    for env in environments.unwrap_or_default() {
        let env_base = format!("{base}/environments/{}", encode(&env));
        let scope = Scope::Environment {
            repo: full.to_string(),
            environment: env.clone(),
        };
        if let Some(secrets) = part
            .list::<Secret>(rest, &format!("{env_base}/secrets"), Some("secrets"))
            .await
        {
            part.credentials.extend(
                secrets
                    .iter()
                    .map(|s| map::secret_credential("actions", &scope, s, None)),
            );
        }
        if let Some(vars) = part
            .list::<Variable>(rest, &format!("{env_base}/variables"), Some("variables"))
            .await
        {
            for v in &vars {
                part.credentials
                    .extend(variable_observation(&scope, v, None, matcher));
            }
        }
    }
}

/// The first CODEOWNERS file found through the contents API; 404 means "not here".
async fn codeowners_from_contents(
    rest: &RestClient,
    base: &str,
    part: &mut Part,
) -> Option<(String, String)> {
    for path in codeowners::LOCATIONS {
        let route = format!("{base}/contents/{path}");
        match rest.get(&route).await.and_then(|a| a.json(&route)) {
            Ok(v) => {
                let file: payload::ContentFile = match serde_json::from_value(v) {
                    Ok(f) => f,
                    Err(e) => {
                        part.errors.push(format!("{route}: not a file: {e}"));
                        return None;
                    }
                };
                return match decode_content(&file) {
                    Some(text) => Some((path.to_string(), text)),
                    None => {
                        part.errors
                            .push(format!("{route}: content is not base64 text"));
                        None
                    }
                };
            }
            Err(e) if e.status() == Some(404) => continue,
            Err(e) => {
                part.errors.push(e.to_string());
                return None;
            }
        }
    }
    None
}

/// Decodes a contents-API file (base64 with line breaks).
pub(crate) fn decode_content(file: &payload::ContentFile) -> Option<String> {
    let content = file.content.as_deref()?;
    if file.encoding.as_deref().unwrap_or("base64") != "base64" {
        return Some(content.to_string());
    }
    let cleaned: String = content
        .replace("\\n", "")
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cleaned)
        .ok()?;
    String::from_utf8(bytes).ok()
}
