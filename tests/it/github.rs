//! `residual scan github` through the binary and a real store, against the fake GitHub of
//! `test-support/src/fake_host.rs` (OpenAPI example payloads) and a real IAM API (moto) for the AWS key
//! that a CI variable holds: a leaver who is a member, an outside collaborator, an invitee, a
//! codeowner, a deploy key added by a leaver, an Actions secret last updated before the leaver
//! left in a repository the leaver could write, and a variable holding the leaver's AWS key.
//! Then the leaver is removed (the finding resolves), then a 500 (partial run, exit 3, nothing
//! resolves). The variable's secret appears in no output and not in the database files.

use crate::harness::{Run, Sandbox};
use residual_test_support::fake_host::github as gh;
use residual_test_support::fake_host::{with, Fake, Fault, Flavor, Shape};
use residual_test_support::moto;
use serde_json::{json, Value};

const ACCOUNT: &str = moto::DEFAULT_ACCOUNT;

/// ann (E1) member and team writer who left, ben (E2) active member, cat (E3) outside collaborator
/// who left, dan (E4) invited by email after leaving.
const HR: &str = "employee_id,email,status,termination_date,department,aws_user,github_login\n\
E1,ann@example.com,terminated,2026-03-01,Engineering,ann,ann-gh\n\
E2,ben@example.com,active,,Engineering,,ben-gh\n\
E3,cat@example.com,terminated,2026-02-01,Contractors,,cat-gh\n\
E4,dan@example.com,terminated,2026-01-15,Engineering,,\n";

/// An access key of ann's IAM user whose id the `aws-access-key-id` pattern accepts (moto's ids
/// may hold digits outside base32: create until one fits, deleting the others).
async fn ann_key() -> String {
    let c = moto::seed_clients(ACCOUNT).await;
    c.iam.create_user().user_name("ann").send().await.unwrap();
    for _ in 0..100 {
        let k = c
            .iam
            .create_access_key()
            .user_name("ann")
            .send()
            .await
            .unwrap();
        let id = k.access_key().unwrap().access_key_id().to_string();
        let base32 = id.len() == 20
            && id[4..]
                .bytes()
                .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
        if base32 {
            return id;
        }
        c.iam
            .delete_access_key()
            .user_name("ann")
            .access_key_id(&id)
            .send()
            .await
            .unwrap();
    }
    panic!("moto gave no base32 access key id in 100 tries");
}

/// Every org-level list the sweep reads, empty.
pub(crate) fn empty_org(fake: &Fake) {
    for route in [
        "/orgs/acme/members?role=admin",
        "/orgs/acme/members?role=member",
        "/orgs/acme/members?filter=2fa_disabled",
        "/orgs/acme/outside_collaborators",
        "/orgs/acme/invitations",
        "/orgs/acme/failed_invitations",
        "/orgs/acme/hooks",
        "/orgs/acme/teams",
        "/orgs/acme/repos?type=all",
    ] {
        fake.set_list(route, Shape::Array, vec![]);
    }
    fake.set_list(
        "/orgs/acme/installations",
        Shape::Wrapped("installations"),
        vec![],
    );
    for store in ["actions", "dependabot", "codespaces"] {
        fake.set_list(
            &format!("/orgs/acme/{store}/secrets"),
            Shape::Wrapped("secrets"),
            vec![],
        );
    }
    fake.set_list(
        "/orgs/acme/actions/variables",
        Shape::Wrapped("variables"),
        vec![],
    );
}

/// The org: members, an outside collaborator, an invitation, a team, one repository `acme/api`
/// with a deploy key, a secret, a variable holding `aws_value`, and CODEOWNERS.
fn load_org(fake: &Fake, aws_value: &str) {
    empty_org(fake);
    fake.set_list(
        "/orgs/acme/members?role=member",
        Shape::Array,
        vec![gh::user("ann-gh", 1), gh::user("ben-gh", 2)],
    );
    fake.set_list(
        "/orgs/acme/outside_collaborators",
        Shape::Array,
        vec![gh::user("cat-gh", 3)],
    );
    let invitation = with(
        &gh::template("org-invitations.json", None),
        json!({"id": 77, "login": null, "email": "dan@example.com", "failed_at": null}),
    );
    fake.set_list("/orgs/acme/invitations", Shape::Array, vec![invitation]);
    fake.set_list(
        "/orgs/acme/teams",
        Shape::Array,
        vec![gh::team("platform", None)],
    );
    let team = "/orgs/acme/teams/platform";
    fake.set_list(
        &format!("{team}/members?role=maintainer"),
        Shape::Array,
        vec![],
    );
    fake.set_list(
        &format!("{team}/members?role=member"),
        Shape::Array,
        vec![gh::user("ann-gh", 1)],
    );
    fake.set_list(
        &format!("{team}/repos"),
        Shape::Array,
        vec![with(
            &gh::repo("acme", "api", 10),
            json!({"role_name": "write"}),
        )],
    );
    fake.set_list(
        "/orgs/acme/repos?type=all",
        Shape::Array,
        vec![gh::repo("acme", "api", 10)],
    );
    let repo = "/repos/acme/api";
    fake.set_list(
        &format!("{repo}/collaborators?affiliation=direct"),
        Shape::Array,
        vec![gh::collaborator("cat-gh", "write")],
    );
    fake.set_list(
        &format!("{repo}/keys"),
        Shape::Array,
        vec![gh::deploy_key(501, Some("ann-gh"), None, true)],
    );
    fake.set_list(
        &format!("{repo}/actions/secrets"),
        Shape::Wrapped("secrets"),
        vec![gh::secret("NPM_TOKEN", "2025-06-01T10:00:00Z")],
    );
    fake.set_list(
        &format!("{repo}/actions/variables"),
        Shape::Wrapped("variables"),
        vec![
            gh::variable("AWS_CREDS", json!(aws_value)),
            gh::variable("REGION", json!("eu-west-1")),
        ],
    );
    fake.with_graphql(|g| {
        g.codeowners.insert(
            "acme/api".into(),
            (
                ".github/CODEOWNERS".into(),
                "* @ann-gh\n/docs/ @ben-gh\n".into(),
            ),
        );
    });
}

fn run(sb: &Sandbox, code: i32, args: &[&str]) -> Run {
    tokio::task::block_in_place(|| sb.expect(code, args))
}

/// (rule, subject, employee) of findings of `system`.
fn triples(findings: &[Value], system: &str) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = findings
        .iter()
        .filter(|f| f["system"] == system)
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_string(),
                f["subject"].as_str().unwrap_or_default().to_string(),
                f["employee_id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn has(list: &[(String, String, String)], rule: &str, subject: &str, employee: &str) -> bool {
    list.iter()
        .any(|(r, s, e)| r == rule && s.contains(subject) && e == employee)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_github_sweep_finds_a_leavers_residual_access_and_resolves_only_on_complete_runs() {
    let _account = moto::default_account();
    let moto = moto::moto();
    let key_id = ann_key().await;
    // A fake secret access key, assembled at run time so that no scanner flags this file.
    let secret = ["Zq8vN3kP/wL5", "tR7yH2mJ+xC4", "bG6dF9sA1eQ0", "uIoP"].concat();
    let aws_value =
        format!("[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n");

    let fake = Fake::start(Flavor::Github).await;
    load_org(&fake, &aws_value);

    let mut sb = Sandbox::new();
    sb.write(
        "residual.toml",
        &format!(
            "[[scanner]]\nname = \"prod\"\nkind = \"aws-iam\"\nendpoint_url = \"{}\"\nservice_specific_credentials = false\n\n\
             [[scanner]]\nname = \"gh\"\nkind = \"github\"\norg = \"acme\"\napi_url = \"{}\"\nmax_retries = 0\n",
            moto.endpoint, fake.url
        ),
    );
    // The whole test runs on one clock: the audit chain refuses events dated before its last.
    sb.now = Some("2026-06-01T00:00:00Z".into());
    let hr = sb.write("hr.csv", HR);
    run(
        &sb,
        0,
        &[
            "hr",
            "import",
            hr.to_str().unwrap(),
            "--as-of",
            "2026-04-01",
        ],
    );
    sb.env
        .push(("GITHUB_TOKEN".into(), "ghp-fake-token-for-tests".into()));

    let aws = run(&sb, 0, &["scan", "prod", "--format", "json"]);
    let first = run(&sb, 0, &["scan", "gh", "--format", "json"]);
    let got = triples(&first.json().as_array().cloned().unwrap(), "github:acme");

    assert!(
        has(&got, "leaver-org-member", "ann-gh/org-member/acme", "E1"),
        "{got:#?}"
    );
    assert!(!has(&got, "leaver-org-member", "ben-gh", "E2"), "{got:#?}");
    assert!(
        has(
            &got,
            "leaver-outside-collaborator",
            "cat-gh/collaborator/acme/api",
            "E3"
        ),
        "{got:#?}"
    );
    assert!(
        has(
            &got,
            "leaver-pending-invitation",
            "dan@example.com/invitation/acme",
            "E4"
        ),
        "{got:#?}"
    );
    assert!(
        has(
            &got,
            "leaver-codeowner",
            "ann-gh/collaborator/acme/api/.github/CODEOWNERS",
            "E1"
        ),
        "{got:#?}"
    );
    assert!(
        has(
            &got,
            "leaver-deploy-key",
            "ann-gh/deploy-key/acme/api#501",
            "E1"
        ),
        "{got:#?}"
    );
    for who in ["E1", "E3"] {
        assert!(
            has(
                &got,
                "shared-secret-needs-rotation",
                &format!("repo:acme/api/ci-variable/actions:repo:acme/api:NPM_TOKEN/for:{who}"),
                who
            ),
            "{got:#?}"
        );
    }
    assert!(
        !got.iter()
            .any(|(r, _, e)| r == "shared-secret-needs-rotation" && e == "E4"),
        "an invitee cannot read secrets: {got:#?}"
    );
    assert!(
        has(
            &got,
            "leaver-credential-in-ci",
            "actions-variable:repo:acme/api:AWS_CREDS#aws-access-key-id:",
            "E1"
        ),
        "{got:#?}"
    );
    assert!(
        !got.iter()
            .any(|(r, s, _)| r == "orphan-account" && s.starts_with("repo:")),
        "pseudo-accounts are not orphans: {got:#?}"
    );
    let in_ci = first
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "leaver-credential-in-ci")
        .cloned()
        .unwrap();
    assert_eq!(in_ci["severity"], "critical");

    // ann is removed from the org: a complete run resolves her membership, nothing else of hers.
    fake.set_list(
        "/orgs/acme/members?role=member",
        Shape::Array,
        vec![gh::user("ben-gh", 2)],
    );
    run(&sb, 0, &["scan", "gh", "--format", "json"]);
    // (Her login is now only named by a team, a key and CODEOWNERS: no longer an active account.)
    let resolved = triples(&sb.findings("resolved"), "github:acme");
    assert!(
        has(
            &resolved,
            "leaver-org-member",
            "ann-gh/org-member/acme",
            "E1"
        ),
        "{resolved:#?}"
    );
    assert!(
        resolved.iter().all(|(r, s, _)| s.starts_with("ann-gh")
            && ["leaver-org-member", "leaver-active-account"].contains(&r.as_str())),
        "{resolved:#?}"
    );

    // cat is removed too, but the deploy keys answer 500: the run is partial and resolves nothing.
    fake.set_list("/orgs/acme/outside_collaborators", Shape::Array, vec![]);
    fake.set_list(
        "/repos/acme/api/collaborators?affiliation=direct",
        Shape::Array,
        vec![],
    );
    fake.fault("/repos/acme/api/keys", Fault::Status(500), None);
    let partial = run(&sb, 3, &["scan", "gh", "--format", "json"]);
    assert!(partial.stderr.contains("partial"), "{}", partial.stderr);
    let open = triples(&sb.findings("open"), "github:acme");
    assert!(
        has(
            &open,
            "leaver-outside-collaborator",
            "cat-gh/collaborator/acme/api",
            "E3"
        ),
        "{open:#?}"
    );
    assert!(
        has(&open, "leaver-deploy-key", "acme/api#501", "E1"),
        "{open:#?}"
    );
    assert_eq!(triples(&sb.findings("resolved"), "github:acme"), resolved);

    // The secret never leaves the sweep: not in any output, not in the store.
    for out in [&aws, &first, &partial] {
        for text in [&out.stdout, &out.stderr] {
            assert!(!text.contains(&secret), "the secret was printed");
            assert!(
                !text.contains("ghp-fake-token-for-tests"),
                "the token was printed"
            );
        }
    }
    for file in ["residual.db", "residual.db-wal"] {
        if let Ok(bytes) = std::fs::read(sb.path(file)) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(&secret), "the secret is in {file}");
            assert!(!text.contains(&aws_value), "the value is in {file}");
        }
    }
    // The fingerprint key was created next to the store, readable by its owner only.
    let key = std::fs::metadata(sb.path("residual.db.key")).expect("key file");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_token_in_the_configuration_file_is_refused_and_a_github_entry_needs_an_org() {
    let sb = Sandbox::new();
    sb.write(
        "residual.toml",
        "[[scanner]]\nname = \"gh\"\nkind = \"github\"\norg = \"acme\"\ntoken = \"ghp_x\"\n",
    );
    let r = sb.expect(2, &["scan", "gh"]);
    assert!(
        r.stderr.contains("residual.toml") && r.stderr.contains("token"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("ghp_x"), "{}", r.stderr);
    sb.write(
        "residual.toml",
        "[[scanner]]\nname = \"gh\"\nkind = \"github\"\n",
    );
    let r = sb.expect(2, &["scan", "gh"]);
    assert!(r.stderr.contains("needs `org`"), "{}", r.stderr);
}
