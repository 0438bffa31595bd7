//! The GitHub scanner against a fake GitHub on 127.0.0.1 serving the OpenAPI examples.

use residual_scanners::github::{
    scan_github, CodeownersSource, GithubAuth, GithubScanConfig, NoMatcher,
};
use residual_scanners::{CredentialKind, GrantKind, RunStatus, ScanReport};
use residual_test_support::fake_host::github::{self as gh, template};
use residual_test_support::fake_host::{fixture, with, Fake, Fault, Flavor, Shape};
use serde_json::{json, Value};
use std::time::Duration;

fn config(fake: &Fake) -> GithubScanConfig {
    let mut cfg =
        GithubScanConfig::new("o", GithubAuth::Token("t0k3n-for-tests".to_string().into()));
    cfg.api_url = fake.url.clone();
    cfg.policy.base_backoff = Duration::from_millis(10);
    cfg.policy.max_retries = 2;
    cfg.policy.request_timeout = Duration::from_secs(5);
    cfg
}

/// An org with nothing in it: every list the sweep reads exists and is empty.
fn empty_org(fake: &Fake) {
    for route in [
        "/orgs/o/members?role=admin",
        "/orgs/o/members?role=member",
        "/orgs/o/members?filter=2fa_disabled",
        "/orgs/o/outside_collaborators",
        "/orgs/o/invitations",
        "/orgs/o/failed_invitations",
        "/orgs/o/hooks",
        "/orgs/o/teams",
        "/orgs/o/repos?type=all",
        "/orgs/o/personal-access-tokens",
        "/orgs/o/credential-authorizations",
    ] {
        fake.set_list(route, Shape::Array, vec![]);
    }
    fake.set_list(
        "/orgs/o/installations",
        Shape::Wrapped("installations"),
        vec![],
    );
    for store in ["actions", "dependabot", "codespaces"] {
        fake.set_list(
            &format!("/orgs/o/{store}/secrets"),
            Shape::Wrapped("secrets"),
            vec![],
        );
    }
    fake.set_list(
        "/orgs/o/actions/variables",
        Shape::Wrapped("variables"),
        vec![],
    );
}

/// A repository `o/<name>` with empty lists.
fn empty_repo(fake: &Fake, name: &str) {
    let base = format!("/repos/o/{name}");
    fake.set_list(
        &format!("{base}/collaborators?affiliation=direct"),
        Shape::Array,
        vec![],
    );
    fake.set_list(&format!("{base}/keys"), Shape::Array, vec![]);
    for store in ["actions", "dependabot", "codespaces"] {
        fake.set_list(
            &format!("{base}/{store}/secrets"),
            Shape::Wrapped("secrets"),
            vec![],
        );
    }
    fake.set_list(
        &format!("{base}/actions/variables"),
        Shape::Wrapped("variables"),
        vec![],
    );
}

fn repos(fake: &Fake, names: &[&str]) {
    let list = names
        .iter()
        .enumerate()
        .map(|(i, n)| gh::repo("o", n, i as u64 + 1))
        .collect();
    fake.set_list("/orgs/o/repos?type=all", Shape::Array, list);
    for n in names {
        empty_repo(fake, n);
    }
}

fn account<'a>(r: &'a ScanReport, name: &str) -> &'a residual_scanners::Account {
    r.observations
        .accounts
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no account {name}: {:?}",
                r.observations
                    .accounts
                    .iter()
                    .map(|a| &a.name)
                    .collect::<Vec<_>>()
            )
        })
}

fn credential<'a>(r: &'a ScanReport, id: &str) -> &'a residual_scanners::Credential {
    r.observations
        .credentials
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| {
            panic!(
                "no credential {id}: {:?}",
                r.observations
                    .credentials
                    .iter()
                    .map(|c| &c.id)
                    .collect::<Vec<_>>()
            )
        })
}

#[tokio::test]
async fn members_collaborators_invitations_and_apps_become_accounts_and_grants() {
    let fake = Fake::start(Flavor::Github).await;
    empty_org(&fake);
    fake.set_list(
        "/orgs/o/members?role=admin",
        Shape::Array,
        vec![gh::user("ada", 1)],
    );
    fake.set_list(
        "/orgs/o/members?role=member",
        Shape::Array,
        vec![gh::user("bob", 2), gh::bot("deploy-bot", 3)],
    );
    fake.set_list(
        "/orgs/o/members?filter=2fa_disabled",
        Shape::Array,
        vec![gh::user("bob", 2)],
    );
    fake.set_list(
        "/orgs/o/outside_collaborators",
        Shape::Array,
        vec![gh::user("carol", 4)],
    );
    // The invitation examples verbatim: `failed_at: ""` included.
    let invitations = fixture("github", "org-invitations.json")
        .as_array()
        .cloned()
        .unwrap_or_default();
    fake.set_list("/orgs/o/invitations", Shape::Array, invitations);
    let failed = with(
        &template("org-failed-invitations.json", None),
        json!({"login": "dave", "failed_at": "2024-02-01T10:00:00Z", "failed_reason": "Invitation expired"}),
    );
    fake.set_list("/orgs/o/failed_invitations", Shape::Array, vec![failed]);
    let installs = fixture("github", "org-installations.json");
    fake.set_list(
        "/orgs/o/installations",
        Shape::Wrapped("installations"),
        installs["installations"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    fake.set_list(
        "/orgs/o/hooks",
        Shape::Array,
        fixture("github", "org-hooks.json")
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    repos(&fake, &["api"]);
    fake.set_list(
        "/repos/o/api/collaborators?affiliation=direct",
        Shape::Array,
        vec![
            gh::collaborator("carol", "write"),
            with(
                &template("repo-collaborators.json", None),
                json!({"login": "erin", "role_name": null}),
            ),
        ],
    );

    let r = scan_github(&config(&fake), &NoMatcher).await;
    assert_eq!(r.status, RunStatus::Complete, "{:?}", r.errors);
    assert_eq!(r.system, "github:o");

    let ada = account(&r, "ada");
    assert_eq!(ada.attributes["role"], "admin");
    assert_eq!(ada.attributes["two_factor"], "true");
    assert_eq!(account(&r, "bob").attributes["two_factor"], "false");
    assert_eq!(
        account(&r, "deploy-bot").kind,
        residual_scanners::AccountKind::Service
    );
    assert_eq!(
        account(&r, "carol").attributes["outside_collaborator"],
        "true"
    );
    let app = account(&r, "github-actions");
    assert_eq!(app.kind, residual_scanners::AccountKind::App);
    assert_eq!(app.attributes["installation_id"], "25381");
    assert!(account(&r, "org:o")
        .attributes
        .keys()
        .any(|k| k.starts_with("webhook:")));

    let grants = &r.observations.grants;
    assert!(grants.iter().any(|g| g.account == "ada"
        && g.kind == GrantKind::OrgMember
        && g.target == "o"
        && g.attributes["role"] == "admin"));
    let pending = grants
        .iter()
        .find(|g| g.account == "monalisa" && g.kind == GrantKind::Invitation)
        .expect("pending invitation");
    assert_eq!(pending.attributes["state"], "pending");
    assert!(
        !pending.attributes.contains_key("failed_at"),
        "an empty failed_at is not a time"
    );
    assert_eq!(pending.attributes["inviter"], "other_user");
    assert_eq!(account(&r, "monalisa").attributes["membership"], "invited");
    let failed = grants
        .iter()
        .find(|g| g.account == "dave")
        .expect("failed invitation");
    assert_eq!(failed.attributes["state"], "failed");
    assert_eq!(failed.attributes["failed_at"], "2024-02-01T10:00:00Z");
    assert!(grants.iter().any(|g| g.account == "carol"
        && g.kind == GrantKind::Collaborator
        && g.target == "o/api"
        && g.attributes["permission"] == "write"));
    // The example collaborator's `permissions` decide when `role_name` is missing.
    assert!(grants
        .iter()
        .any(|g| g.account == "erin" && g.attributes["permission"] == "write"));
}

#[tokio::test]
async fn nested_teams_carry_their_parents_members_and_repositories() {
    let fake = Fake::start(Flavor::Github).await;
    empty_org(&fake);
    fake.set_list(
        "/orgs/o/teams",
        Shape::Array,
        vec![
            gh::team("platform", None),
            gh::team("sre", Some("platform")),
        ],
    );
    for (slug, maint, members, repo_names) in [
        (
            "platform",
            vec!["ada"],
            vec!["bob", "carol"],
            vec![("api", "admin")],
        ),
        ("sre", vec![], vec!["carol"], vec![("infra", "push")]),
    ] {
        fake.set_list(
            &format!("/orgs/o/teams/{slug}/members?role=maintainer"),
            Shape::Array,
            maint.iter().map(|l| gh::user(l, 1)).collect(),
        );
        fake.set_list(
            &format!("/orgs/o/teams/{slug}/members?role=member"),
            Shape::Array,
            members.iter().map(|l| gh::user(l, 1)).collect(),
        );
        let repos = repo_names
            .iter()
            .map(|(n, p)| with(&gh::repo("o", n, 1), json!({"role_name": p})))
            .collect();
        fake.set_list(&format!("/orgs/o/teams/{slug}/repos"), Shape::Array, repos);
    }
    let r = scan_github(&config(&fake), &NoMatcher).await;
    assert_eq!(r.status, RunStatus::Complete, "{:?}", r.errors);
    let sre = r
        .observations
        .grants
        .iter()
        .find(|g| g.kind == GrantKind::Team && g.target == "sre" && g.account == "carol")
        .expect("sre grant");
    assert_eq!(sre.attributes["parents"], "platform");
    assert_eq!(sre.attributes["repo:o/infra"], "push");
    let ada = r
        .observations
        .grants
        .iter()
        .find(|g| g.target == "platform" && g.account == "ada")
        .expect("platform grant");
    assert_eq!(ada.attributes["team_role"], "maintainer");
    assert_eq!(ada.attributes["repo:o/api"], "admin");
}

#[tokio::test]
async fn deploy_keys_secrets_environments_and_codeowners_are_collected() {
    let fake = Fake::start(Flavor::Github).await;
    empty_org(&fake);
    fake.set_list(
        "/orgs/o/members?role=member",
        Shape::Array,
        vec![gh::user("ada", 1)],
    );
    repos(&fake, &["api"]);
    fake.set_list(
        "/repos/o/api/keys",
        Shape::Array,
        vec![
            gh::deploy_key(7, Some("gone-user"), Some("2025-03-01T00:00:00Z"), true),
            gh::deploy_key(8, None, None, false),
        ],
    );
    fake.set_list(
        "/repos/o/api/actions/secrets",
        Shape::Wrapped("secrets"),
        vec![gh::secret("NPM_TOKEN", "2024-01-10T14:59:22Z")],
    );
    // Org secrets: the examples verbatim, `selected` visibility reaching one repository.
    let org_secrets = fixture("github", "org-actions-secrets.json");
    fake.set_list(
        "/orgs/o/actions/secrets",
        Shape::Wrapped("secrets"),
        org_secrets["secrets"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    fake.set_list(
        "/orgs/o/actions/secrets/GH_TOKEN/repositories",
        Shape::Wrapped("repositories"),
        vec![gh::repo("o", "api", 1)],
    );
    let dependabot = fixture("github", "org-dependabot-secrets.json");
    fake.set_list(
        "/orgs/o/dependabot/secrets",
        Shape::Wrapped("secrets"),
        dependabot["secrets"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    for s in dependabot["secrets"].as_array().into_iter().flatten() {
        let name = s["name"].as_str().unwrap_or_default();
        fake.set_list(
            &format!("/orgs/o/dependabot/secrets/{name}/repositories"),
            Shape::Wrapped("repositories"),
            vec![],
        );
    }
    fake.with_graphql(|g| {
        g.environments
            .insert("o/api".into(), vec!["production".into()]);
        g.codeowners.insert(
            "o/api".into(),
            (
                "CODEOWNERS".into(),
                "# owners\n*.rs @ada @o/platform\n/docs/ writer@example.com\n".into(),
            ),
        );
    });
    fake.set_list(
        "/repos/o/api/environments/production/secrets",
        Shape::Wrapped("secrets"),
        fixture("github", "env-actions-secrets.json")["secrets"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    fake.set_list(
        "/repos/o/api/environments/production/variables",
        Shape::Wrapped("variables"),
        vec![],
    );

    let r = scan_github(&config(&fake), &NoMatcher).await;
    assert_eq!(r.status, RunStatus::Complete, "{:?}", r.errors);

    let k7 = credential(&r, "o/api#7");
    assert_eq!(k7.kind, CredentialKind::DeployKey);
    assert_eq!(k7.account, "gone-user");
    assert_eq!(k7.hints.created_by.as_deref(), Some("gone-user"));
    assert_eq!(k7.attributes["read_only"], "true");
    assert!(k7.active && k7.last_used_at.is_some());
    assert_eq!(account(&r, "gone-user").attributes["membership"], "none");
    let k8 = credential(&r, "o/api#8");
    assert_eq!(k8.account, "repo:o/api");
    assert!(!k8.active);

    let s = credential(&r, "actions:repo:o/api:NPM_TOKEN");
    assert_eq!(s.kind, CredentialKind::CiVariable);
    assert_eq!(s.account, "repo:o/api");
    assert_eq!(s.attributes["updated_at"], "2024-01-10T14:59:22Z");
    let org = credential(&r, "actions:org:GH_TOKEN");
    assert_eq!(org.account, "org:o");
    assert_eq!(org.attributes["visibility"], "selected");
    assert_eq!(org.attributes["repositories"], "o/api");
    assert!(r
        .observations
        .credentials
        .iter()
        .any(|c| c.id.starts_with("dependabot:org:")));
    let env = credential(&r, "actions:env:o/api:production:GH_TOKEN");
    assert_eq!(env.attributes["environment"], "production");

    let owners: Vec<_> = r
        .observations
        .grants
        .iter()
        .filter(|g| g.attributes.get("codeowner").map(String::as_str) == Some("true"))
        .collect();
    assert_eq!(owners.len(), 2, "{owners:?}");
    crate::facets::assert_facets_match_attributes(&r.observations);
    let org_facet = org
        .facets
        .ci_variable
        .as_ref()
        .expect("a CI variable facet");
    assert_eq!(org_facet.repositories, Some(vec!["o/api".to_string()]));
    assert_eq!(org_facet.scope, "org");
    let ada = owners
        .iter()
        .find(|g| g.account == "ada")
        .expect("ada owns");
    assert_eq!(ada.kind, GrantKind::Collaborator);
    assert_eq!(ada.target, "o/api/CODEOWNERS");
    assert_eq!(ada.attributes["pattern"], "*.rs");
    let entry = ada.facets.codeowner.as_ref().expect("a CODEOWNERS facet");
    assert_eq!(
        (entry.file.as_str(), entry.lines.as_slice()),
        ("CODEOWNERS", &[2][..])
    );
    assert!(owners.iter().any(|g| g.account == "writer@example.com"));
    assert_eq!(
        account(&r, "writer@example.com").hints.emails,
        vec!["writer@example.com".to_string()]
    );
}

#[tokio::test]
async fn variable_values_are_matched_and_never_kept() {
    let fake = Fake::start(Flavor::Github).await;
    empty_org(&fake);
    // The org variables example verbatim, including `value: true`.
    let vars = fixture("github", "org-actions-variables.json");
    fake.set_list(
        "/orgs/o/actions/variables",
        Shape::Wrapped("variables"),
        vars["variables"].as_array().cloned().unwrap_or_default(),
    );
    fake.set_list(
        "/orgs/o/actions/variables/ADMIN_EMAIL/repositories",
        Shape::Wrapped("repositories"),
        vec![gh::repo("o", "api", 1)],
    );
    repos(&fake, &["api"]);
    // Assembled at run time so this file holds no credential-shaped literal.
    let planted = [
        "AKIA",
        "IOSFODNN7PLANTED/wJalrXUtnFEMIK7MDENGbPxRfiCYPLANTED",
    ]
    .concat();
    let planted = planted.as_str();
    fake.set_list(
        "/repos/o/api/actions/variables",
        Shape::Wrapped("variables"),
        vec![gh::variable("AWS_CREDS", json!(planted))],
    );
    let matcher = |v: &str| {
        if v.starts_with("AKIA") {
            vec![(
                "aws-access-key-id".to_string(),
                "fp-3f2a".to_string(),
                Some(["AKIA", "IOSFODNN7PLANTED"].concat()),
            )]
        } else {
            vec![]
        }
    };
    let r = scan_github(&config(&fake), &matcher).await;
    assert_eq!(r.status, RunStatus::Complete, "{:?}", r.errors);
    let c = credential(
        &r,
        "actions-variable:repo:o/api:AWS_CREDS#aws-access-key-id:fp-3f2a",
    );
    assert_eq!(c.attributes["pattern_id"], "aws-access-key-id");
    assert_eq!(
        c.attributes["key_id"],
        ["AKIA", "IOSFODNN7PLANTED"].concat()
    );
    let found = c.facets.secret.as_ref().expect("a found secret facet");
    assert_eq!(
        found.key_id.as_deref(),
        Some(["AKIA", "IOSFODNN7PLANTED"].concat().as_str())
    );
    crate::facets::assert_facets_match_attributes(&r.observations);
    let flag = credential(&r, "actions-variable:org:ACTIONS_RUNNER_DEBUG");
    assert_eq!(flag.attributes["value_readable"], "false");
    assert_eq!(
        credential(&r, "actions-variable:org:ADMIN_EMAIL").attributes["repositories"],
        "o/api"
    );
    let dump = serde_json::to_string(&r).unwrap_or_default();
    assert!(
        !dump.contains("wJalrXUtnFEMIK7MDENGbPxRfiCYPLANTED"),
        "the secret part of a value leaked"
    );
    assert!(
        !dump.contains("octocat@github.com"),
        "a variable value leaked"
    );
}

#[tokio::test]
async fn fine_grained_pats_sso_credentials_and_saml_emails_are_read_when_enabled() {
    let fake = Fake::start(Flavor::Github).await;
    empty_org(&fake);
    fake.set_list(
        "/orgs/o/members?role=member",
        Shape::Array,
        vec![gh::user("octocat", 1), gh::user("hubot", 2)],
    );
    fake.set_list(
        "/orgs/o/personal-access-tokens",
        Shape::Array,
        fixture("github", "org-pat-grants.json")
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    fake.set_list(
        "/orgs/o/credential-authorizations",
        Shape::Array,
        fixture("github", "org-credential-authorizations.json")
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    fake.with_graphql(|g| {
        g.saml = (0..150)
            .map(|i| {
                (
                    if i == 149 {
                        "hubot".to_string()
                    } else {
                        format!("u{i}")
                    },
                    format!("person{i}@example.com"),
                )
            })
            .collect()
    });
    let mut cfg = config(&fake);
    cfg.fine_grained_pats = true;
    cfg.sso_credentials = true;
    cfg.saml_identities = true;
    let r = scan_github(&cfg, &NoMatcher).await;
    assert_eq!(r.status, RunStatus::Complete, "{:?}", r.errors);
    let pat = credential(&r, "pat:25381");
    assert_eq!(pat.kind, CredentialKind::Token);
    assert_eq!(pat.account, "octocat");
    assert_eq!(pat.attributes["token_name"], "Some Token");
    assert_eq!(pat.attributes["token_expires_at"], "2023-11-16T15:47:09Z");
    let ssh = credential(&r, "sso:161199");
    assert_eq!(ssh.kind, CredentialKind::SshKey);
    assert!(ssh.last_used_at.is_some());
    assert_eq!(credential(&r, "sso:161195").kind, CredentialKind::Token);
    // The second page of SAML identities links hubot to its email.
    assert_eq!(
        account(&r, "hubot").hints.emails,
        vec!["person149@example.com".to_string()]
    );
}

#[tokio::test]
async fn lists_are_read_across_pages() {
    let fake = Fake::start(Flavor::Github).await;
    empty_org(&fake);
    let users: Vec<Value> = (0..250).map(|i| gh::user(&format!("user{i}"), i)).collect();
    fake.set_list("/orgs/o/members?role=member", Shape::Array, users);
    let names: Vec<String> = (0..3).map(|i| format!("r{i}")).collect();
    repos(&fake, &names.iter().map(String::as_str).collect::<Vec<_>>());
    fake.set_list(
        "/repos/o/r1/keys",
        Shape::Array,
        (0..5)
            .map(|k| gh::deploy_key(k, None, None, true))
            .collect(),
    );
    fake.set_list(
        "/repos/o/r1/actions/secrets",
        Shape::Wrapped("secrets"),
        (0..7)
            .map(|k| gh::secret(&format!("S{k}"), "2024-01-01T00:00:00Z"))
            .collect(),
    );
    let mut cfg = config(&fake);
    cfg.policy.per_page = 2;
    let r = scan_github(&cfg, &NoMatcher).await;
    assert_eq!(r.status, RunStatus::Complete, "{:?}", r.errors);
    assert_eq!(
        r.observations
            .grants
            .iter()
            .filter(|g| g.kind == GrantKind::OrgMember)
            .count(),
        250
    );
    assert_eq!(
        r.observations
            .credentials
            .iter()
            .filter(|c| c.kind == CredentialKind::DeployKey)
            .count(),
        5
    );
    assert_eq!(
        r.observations
            .credentials
            .iter()
            .filter(|c| c.id.starts_with("actions:repo:o/r1:"))
            .count(),
        7
    );
    let log = fake.log();
    assert!(log
        .iter()
        .any(|l| l.path_and_query.starts_with("/orgs/o/members")
            && l.path_and_query.contains("page=125")));
    assert!(log.iter().any(
        |l| l.path_and_query.starts_with("/repos/o/r1/actions/secrets")
            && l.path_and_query.contains("page=4")
    ));
    assert!(log
        .iter()
        .all(|l| l.authorization.as_deref() == Some("Bearer t0k3n-for-tests")));
}

#[tokio::test]
async fn a_secondary_rate_limit_is_waited_out_and_retried() {
    let fake = Fake::start(Flavor::Github).await;
    empty_org(&fake);
    fake.set_list(
        "/orgs/o/members?role=member",
        Shape::Array,
        vec![gh::user("ada", 1)],
    );
    fake.fault(
        "/orgs/o/members",
        Fault::SecondaryRateLimit { retry_after: 1 },
        Some(1),
    );
    let started = std::time::Instant::now();
    let r = scan_github(&config(&fake), &NoMatcher).await;
    assert_eq!(r.status, RunStatus::Complete, "{:?}", r.errors);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retry-after was honoured"
    );
    assert!(r.observations.accounts.iter().any(|a| a.name == "ada"));
    let member_calls = fake
        .log()
        .iter()
        .filter(|l| l.path_and_query.starts_with("/orgs/o/members"))
        .count() as u64;
    assert_eq!(
        member_calls, 4,
        "2FA probe (throttled), retried, then admins and members"
    );
    assert_eq!(r.calls, fake.log().len() as u64);
}

#[tokio::test]
async fn a_persistent_server_error_makes_the_run_partial_and_keeps_the_rest() {
    let fake = Fake::start(Flavor::Github).await;
    empty_org(&fake);
    fake.set_list(
        "/orgs/o/members?role=member",
        Shape::Array,
        vec![gh::user("ada", 1)],
    );
    repos(&fake, &["api", "web"]);
    fake.set_list(
        "/repos/o/web/keys",
        Shape::Array,
        vec![gh::deploy_key(9, Some("ada"), None, true)],
    );
    fake.fault("/repos/o/api/keys", Fault::Status(500), None);
    let r = scan_github(&config(&fake), &NoMatcher).await;
    assert_eq!(r.status, RunStatus::Partial);
    assert!(
        r.errors
            .iter()
            .any(|e| e.contains("/repos/o/api/keys") && e.contains("HTTP 500")),
        "{:?}",
        r.errors
    );
    assert!(r.observations.credentials.iter().any(|c| c.id == "o/web#9"));
    let tries = fake
        .log()
        .iter()
        .filter(|l| l.path_and_query.starts_with("/repos/o/api/keys"))
        .count();
    assert_eq!(tries, 3, "one attempt and two retries");
}

#[tokio::test]
async fn a_slow_server_times_out_and_the_run_is_partial() {
    let fake = Fake::start(Flavor::Github).await;
    empty_org(&fake);
    repos(&fake, &["api"]);
    fake.fault(
        "/repos/o/api/actions/secrets",
        Fault::Delay(Duration::from_secs(3)),
        None,
    );
    let mut cfg = config(&fake);
    cfg.policy.request_timeout = Duration::from_millis(200);
    cfg.policy.max_retries = 1;
    let r = scan_github(&cfg, &NoMatcher).await;
    assert_eq!(r.status, RunStatus::Partial);
    assert!(
        r.errors
            .iter()
            .any(|e| e.contains("/repos/o/api/actions/secrets")
                && e.contains("no answer within 200 ms")),
        "{:?}",
        r.errors
    );
}

#[tokio::test]
async fn a_run_that_cannot_list_members_or_repositories_failed() {
    let fake = Fake::start(Flavor::Github).await;
    fake.fault("/", Fault::Status(502), None);
    let mut cfg = config(&fake);
    cfg.policy.max_retries = 0;
    let r = scan_github(&cfg, &NoMatcher).await;
    assert_eq!(r.status, RunStatus::Failed);
    assert!(!r.errors.is_empty());
}

#[tokio::test]
async fn codeowners_can_be_read_through_the_contents_api() {
    let fake = Fake::start(Flavor::Github).await;
    empty_org(&fake);
    repos(&fake, &["api"]);
    fake.set_list(
        "/repos/o/api/environments",
        Shape::Wrapped("environments"),
        vec![],
    );
    use base64::Engine;
    let text = "* @ada\n/ops/ @bob\n";
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    // GitHub wraps base64 content at 60 characters.
    let wrapped: String = encoded
        .as_bytes()
        .chunks(60)
        .map(|c| format!("{}\n", String::from_utf8_lossy(c)))
        .collect();
    fake.set_object(
        "/repos/o/api/contents/CODEOWNERS",
        with(
            &fixture("github", "repo-content-file.json"),
            json!({"content": wrapped, "path": "CODEOWNERS", "name": "CODEOWNERS"}),
        ),
    );
    let mut cfg = config(&fake);
    cfg.codeowners = CodeownersSource::Contents;
    let r = scan_github(&cfg, &NoMatcher).await;
    assert_eq!(r.status, RunStatus::Complete, "{:?}", r.errors);
    let bob = r
        .observations
        .grants
        .iter()
        .find(|g| g.account == "bob")
        .expect("bob owns /ops/");
    assert_eq!(bob.target, "o/api/CODEOWNERS");
    assert_eq!(bob.attributes["pattern"], "/ops/");
    let tried: Vec<_> = fake
        .log()
        .into_iter()
        .filter(|l| l.path_and_query.contains("/contents/"))
        .map(|l| l.path_and_query)
        .collect();
    assert_eq!(
        tried,
        vec![
            "/repos/o/api/contents/.github/CODEOWNERS",
            "/repos/o/api/contents/CODEOWNERS"
        ]
    );
}

#[tokio::test]
async fn the_default_sweep_sends_four_requests_per_repository() {
    let fake = Fake::start(Flavor::Github).await;
    empty_org(&fake);
    let names: Vec<String> = (0..10).map(|i| format!("r{i}")).collect();
    repos(&fake, &names.iter().map(String::as_str).collect::<Vec<_>>());
    let r = scan_github(&config(&fake), &NoMatcher).await;
    assert_eq!(r.status, RunStatus::Complete, "{:?}", r.errors);
    let per_repo = fake
        .log()
        .iter()
        .filter(|l| l.path_and_query.starts_with("/repos/"))
        .count();
    assert_eq!(per_repo, 40);
    let graphql = fake
        .log()
        .iter()
        .filter(|l| l.path_and_query == "/graphql")
        .count();
    assert_eq!(graphql, 1);
}

#[tokio::test]
async fn a_github_app_finds_its_installation_and_sweeps_with_the_installation_token() {
    let dir = std::env::temp_dir().join(format!("residual-gh-app-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let key = dir.join("app.pem");
    let made = std::process::Command::new("openssl")
        .args(["genrsa", "-traditional", "-out"])
        .arg(&key)
        .arg("2048")
        .output();
    if !made.map(|o| o.status.success()).unwrap_or(false) {
        eprintln!("openssl not available: skipping");
        return;
    }
    let fake = Fake::start(Flavor::Github).await;
    empty_org(&fake);
    fake.set_list(
        "/orgs/o/members?role=member",
        Shape::Array,
        vec![gh::user("ada", 1)],
    );
    fake.set_list(
        "/orgs/o/personal-access-tokens",
        Shape::Array,
        fixture("github", "org-pat-grants.json")
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    let installation = fixture("github", "app-org-installation.json");
    let id = installation["id"].as_u64().unwrap_or(1);
    fake.set_object("/orgs/o/installation", installation);
    fake.set_object(
        &format!("/app/installations/{id}/access_tokens"),
        with(&fixture("github", "app-installation-token.json"), json!({"token": (["ghs", "_installation_token_for_tests"].concat()), "expires_at": "2099-01-01T00:00:00Z"})),
    );
    let mut cfg = config(&fake);
    cfg.auth = GithubAuth::App {
        app_id: 42,
        private_key: key.clone(),
        installation_id: None,
    };
    cfg.fine_grained_pats = true;
    let r = scan_github(&cfg, &NoMatcher).await;
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(r.status, RunStatus::Complete, "{:?}", r.errors);
    assert!(r
        .observations
        .credentials
        .iter()
        .any(|c| c.id == "pat:25381"));
    let log = fake.log();
    let lookup = log
        .iter()
        .find(|l| l.path_and_query == "/orgs/o/installation")
        .expect("installation lookup");
    assert!(
        lookup
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Bearer ey")),
        "the lookup is signed with the App's JWT"
    );
    let members = log
        .iter()
        .find(|l| l.path_and_query.starts_with("/orgs/o/members?role=member"))
        .expect("members read");
    assert_eq!(
        members.authorization.as_deref(),
        Some(
            ["Bearer ghs", "_installation_token_for_tests"]
                .concat()
                .as_str()
        )
    );
    assert_eq!(
        log.iter()
            .filter(|l| l.method == "POST" && l.path_and_query.contains("access_tokens"))
            .count(),
        1,
        "the token is minted once"
    );
}
