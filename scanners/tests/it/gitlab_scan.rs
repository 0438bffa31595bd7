//! The GitLab scanner against a fake GitLab on 127.0.0.1 serving the documentation examples.

use residual_scanners::github::NoMatcher;
use residual_scanners::gitlab::{scan_gitlab, GitlabScanConfig};
use residual_scanners::{CredentialKind, GrantKind, RunStatus};
use residual_test_support::fake_host::gitlab as gl;
use residual_test_support::fake_host::{self, Fake, Fault, Flavor, Shape};
use serde_json::json;
use std::time::Duration;

fn config(fake: &Fake) -> GitlabScanConfig {
    let mut cfg = GitlabScanConfig::new("acme");
    cfg.api_url = fake.url.clone();
    cfg.token = Some("glpat-for-tests".to_string().into());
    cfg.policy.base_backoff = Duration::from_millis(10);
    cfg.policy.max_retries = 2;
    cfg
}

/// `acme` (id 10) with subgroup `acme/platform` (id 11) and projects `acme/api` (21), `acme/platform/infra` (22).
fn group_tree(fake: &Fake) {
    fake.set_object("/groups/acme", gl::group(10, "acme"));
    fake.set_list(
        "/groups/10/descendant_groups",
        Shape::Array,
        vec![gl::subgroup(11, "acme/platform")],
    );
    fake.set_list(
        "/groups/10/projects?include_subgroups=true",
        Shape::Array,
        vec![
            gl::project(21, "acme/api"),
            gl::project(22, "acme/platform/infra"),
        ],
    );
    for id in [10, 11] {
        fake.set_list(&format!("/groups/{id}/members"), Shape::Array, vec![]);
        fake.set_list(&format!("/groups/{id}/variables"), Shape::Array, vec![]);
    }
    for id in [21, 22] {
        fake.set_list(&format!("/projects/{id}/variables"), Shape::Array, vec![]);
    }
}

#[tokio::test]
async fn members_and_ci_variables_of_a_group_tree_are_observed() {
    let fake = Fake::start(Flavor::Gitlab).await;
    group_tree(&fake);
    fake.set_list(
        "/groups/10/members",
        Shape::Array,
        vec![
            gl::member(1, "ada", 50, Some("ada@example.com")),
            gl::member(2, "bob", 30, None),
        ],
    );
    fake.set_list(
        "/groups/11/members",
        Shape::Array,
        vec![gl::member(2, "bob", 40, None)],
    );
    fake.set_list(
        "/groups/11/variables",
        Shape::Array,
        vec![gl::variable(
            "DEPLOY_TOKEN",
            json!(["glpat", "-PLANTEDsecretVALUE123"].concat()),
            true,
            "production",
        )],
    );
    let doc_examples = fake_host::fixture("gitlab", "project-variables.json")
        .as_array()
        .cloned()
        .unwrap_or_default();
    fake.set_list("/projects/21/variables", Shape::Array, doc_examples);
    let matcher = |v: &str| {
        if v.starts_with("glpat-") {
            vec![("gitlab-pat".to_string(), "fp-9c1d".to_string(), None)]
        } else {
            vec![]
        }
    };
    let r = scan_gitlab(&config(&fake), &matcher).await;
    assert_eq!(r.status, RunStatus::Complete, "{:?}", r.errors);
    assert_eq!(r.system, "gitlab:acme");
    let ada = r
        .observations
        .accounts
        .iter()
        .find(|a| a.name == "ada")
        .expect("ada");
    assert_eq!(ada.hints.emails, vec!["ada@example.com".to_string()]);
    assert_eq!(ada.attributes["saml_extern_uid"], "ABC-1234567890");
    let bob_platform = r
        .observations
        .grants
        .iter()
        .find(|g| g.account == "bob" && g.target == "acme/platform")
        .expect("bob in platform");
    assert_eq!(bob_platform.kind, GrantKind::Group);
    assert_eq!(bob_platform.attributes["access_level"], "40");
    assert_eq!(bob_platform.attributes["role"], "maintainer");
    let token = r
        .observations
        .credentials
        .iter()
        .find(|c| {
            c.id.starts_with("gitlab-variable:group:acme/platform:DEPLOY_TOKEN")
        })
        .expect("group variable");
    assert_eq!(token.kind, CredentialKind::CiVariable);
    assert_eq!(token.account, "group:acme/platform");
    assert_eq!(token.attributes["pattern_id"], "gitlab-pat");
    assert_eq!(token.attributes["masked"], "true");
    assert_eq!(token.attributes["environment_scope"], "production");
    let variable = token
        .facets
        .ci_variable
        .as_ref()
        .expect("a CI variable facet");
    assert_eq!(variable.masked, Some(true));
    assert_eq!(variable.scope, "group:acme/platform");
    crate::facets::assert_facets_match_attributes(&r.observations);
    assert_eq!(
        r.observations
            .credentials
            .iter()
            .filter(|c| c.account == "project:acme/api")
            .count(),
        2
    );
    let dump = serde_json::to_string(&r).unwrap_or_default();
    assert!(
        !dump.contains("PLANTEDsecretVALUE"),
        "a variable value leaked"
    );
    assert!(fake
        .log()
        .iter()
        .all(|l| l.private_token.as_deref() == Some("glpat-for-tests")));
}

#[tokio::test]
async fn gitlab_lists_are_read_across_pages() {
    let fake = Fake::start(Flavor::Gitlab).await;
    group_tree(&fake);
    fake.set_list(
        "/groups/10/members",
        Shape::Array,
        (0..7)
            .map(|i| gl::member(i, &format!("user{i}"), 30, None))
            .collect(),
    );
    fake.set_list(
        "/projects/22/variables",
        Shape::Array,
        (0..5)
            .map(|i| gl::variable(&format!("V{i}"), json!("x"), false, "*"))
            .collect(),
    );
    let mut cfg = config(&fake);
    cfg.policy.per_page = 2;
    let r = scan_gitlab(&cfg, &NoMatcher).await;
    assert_eq!(r.status, RunStatus::Complete, "{:?}", r.errors);
    assert_eq!(
        r.observations
            .grants
            .iter()
            .filter(|g| g.target == "acme")
            .count(),
        7
    );
    assert_eq!(
        r.observations
            .credentials
            .iter()
            .filter(|c| c.account == "project:acme/platform/infra")
            .count(),
        5
    );
    assert!(fake
        .log()
        .iter()
        .any(|l| l.path_and_query.starts_with("/groups/10/members")
            && l.path_and_query.contains("page=4")));
}

#[tokio::test]
async fn gitlab_throttling_is_retried_and_a_dead_project_makes_the_run_partial() {
    let fake = Fake::start(Flavor::Gitlab).await;
    group_tree(&fake);
    fake.fault(
        "/groups/10/members",
        Fault::SecondaryRateLimit { retry_after: 1 },
        Some(1),
    );
    fake.fault("/projects/22/variables", Fault::Status(500), None);
    let r = scan_gitlab(&config(&fake), &NoMatcher).await;
    assert_eq!(r.status, RunStatus::Partial);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(r.errors[0].contains("/projects/22/variables"));
}

#[tokio::test]
async fn gitlab_slow_answers_time_out() {
    let fake = Fake::start(Flavor::Gitlab).await;
    group_tree(&fake);
    fake.fault(
        "/groups/11/variables",
        Fault::Delay(Duration::from_secs(3)),
        None,
    );
    let mut cfg = config(&fake);
    cfg.policy.request_timeout = Duration::from_millis(200);
    cfg.policy.max_retries = 0;
    let r = scan_gitlab(&cfg, &NoMatcher).await;
    assert_eq!(r.status, RunStatus::Partial);
    assert!(
        r.errors
            .iter()
            .any(|e| e.contains("no answer within 200 ms")),
        "{:?}",
        r.errors
    );
}

#[tokio::test]
async fn an_unknown_group_fails_the_run() {
    let fake = Fake::start(Flavor::Gitlab).await;
    let r = scan_gitlab(&config(&fake), &NoMatcher).await;
    assert_eq!(r.status, RunStatus::Failed);
    assert!(r.errors[0].contains("HTTP 404"), "{:?}", r.errors);
}
