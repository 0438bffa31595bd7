//! `residual scan gitlab` through the binary and a real store, against the fake GitLab of
//! `test-support/src/fake_host.rs` (documentation payloads): a leaver who is a maintainer of the group
//! and a masked group variable holding a token they could read → `leaver-org-member` and
//! `shared-secret-needs-rotation` (GitLab does not say when a variable changed, so liveness is
//! unknown); the leaver removed → resolved; a 500 → partial, exit 3, nothing resolved. The
//! variable's value appears in no output and not in the database files.

use crate::harness::{Run, Sandbox};
use residual_test_support::fake_host::gitlab as gl;
use residual_test_support::fake_host::{Fake, Fault, Flavor, Shape};
use serde_json::{json, Value};

const HR: &str = "employee_id,email,status,termination_date,department,gitlab_user\n\
E1,ann@example.com,terminated,2026-03-01,Engineering,ann\n\
E2,ben@example.com,active,,Engineering,ben\n";

/// `acme` (10) with subgroup `acme/platform` (11) and project `acme/platform/infra` (21).
fn load_group(fake: &Fake, token: &str) {
    fake.set_object("/groups/acme", gl::group(10, "acme"));
    fake.set_list(
        "/groups/10/descendant_groups",
        Shape::Array,
        vec![gl::subgroup(11, "acme/platform")],
    );
    fake.set_list(
        "/groups/10/projects?include_subgroups=true",
        Shape::Array,
        vec![gl::project(21, "acme/platform/infra")],
    );
    fake.set_list(
        "/groups/10/members",
        Shape::Array,
        vec![
            gl::member(1, "ann", 40, None),
            gl::member(2, "ben", 30, None),
        ],
    );
    fake.set_list("/groups/11/members", Shape::Array, vec![]);
    fake.set_list("/groups/10/variables", Shape::Array, vec![]);
    fake.set_list(
        "/groups/11/variables",
        Shape::Array,
        vec![
            gl::variable("DEPLOY_TOKEN", json!(token), true, "production"),
            gl::variable("REGION", json!("eu-west-1"), false, "*"),
        ],
    );
    fake.set_list("/projects/21/variables", Shape::Array, vec![]);
}

fn run(sb: &Sandbox, code: i32, args: &[&str]) -> Run {
    tokio::task::block_in_place(|| sb.expect(code, args))
}

fn triples(findings: &[Value]) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = findings
        .iter()
        .filter(|f| f["system"] == "gitlab:acme")
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
async fn a_gitlab_sweep_finds_a_leavers_group_access_and_the_secrets_they_could_read() {
    // A fake GitLab token, assembled at run time so that no scanner flags this file.
    let token = ["glpat-", "Xk9vQ2mLrT", "8sWn4bYc1Z"].concat();
    let fake = Fake::start(Flavor::Gitlab).await;
    load_group(&fake, &token);

    let mut sb = Sandbox::new();
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
        .push(("GITLAB_TOKEN".into(), "glpat-for-tests-only".into()));
    let scan = |sb: &Sandbox, code: i32| {
        run(
            sb,
            code,
            &[
                "scan",
                "gitlab",
                "--group",
                "acme",
                "--api-url",
                &fake.url,
                "--max-retries",
                "0",
                "--format",
                "json",
            ],
        )
    };

    let first = scan(&sb, 0);
    let got = triples(first.json().as_array().unwrap());
    assert!(
        has(&got, "leaver-org-member", "ann/group/acme", "E1"),
        "{got:#?}"
    );
    assert!(
        has(
            &got,
            "shared-secret-needs-rotation",
            "group:acme/platform/ci-variable/gitlab-variable:group:acme/platform:DEPLOY_TOKEN:production#gitlab-pat:",
            "E1"
        ),
        "{got:#?}"
    );
    assert!(
        !got.iter().any(|(_, s, _)| s.contains("REGION")),
        "a plain variable is not a secret: {got:#?}"
    );
    assert!(!got.iter().any(|(_, _, e)| e == "E2"), "{got:#?}");
    let rotation = first
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "shared-secret-needs-rotation")
        .cloned()
        .unwrap();
    assert_eq!(rotation["severity"], "medium");
    assert!(rotation["live"].is_null(), "{rotation:#}");

    // A 500 on the subgroup's variables: partial, exit 3, and ann's removal resolves nothing.
    fake.set_list(
        "/groups/10/members",
        Shape::Array,
        vec![gl::member(2, "ben", 30, None)],
    );
    fake.fault("/groups/11/variables", Fault::Status(500), Some(1));
    let partial = scan(&sb, 3);
    assert!(partial.stderr.contains("partial"), "{}", partial.stderr);
    assert!(triples(&sb.findings("resolved")).is_empty());

    // The next complete run resolves the membership and the rotation finding (ann no longer
    // reaches the group: the grants of the run decide the scope).
    let last = scan(&sb, 0);
    let resolved = triples(&sb.findings("resolved"));
    assert!(
        has(&resolved, "leaver-org-member", "ann/group/acme", "E1"),
        "{resolved:#?}"
    );
    assert!(
        triples(&sb.findings("open")).is_empty(),
        "{:#?}",
        sb.findings("open")
    );

    for out in [&first, &partial, &last] {
        for text in [&out.stdout, &out.stderr] {
            assert!(!text.contains(&token), "the variable's value was printed");
            assert!(
                !text.contains("glpat-for-tests-only"),
                "the token was printed"
            );
        }
    }
    for file in ["residual.db", "residual.db-wal"] {
        if let Ok(bytes) = std::fs::read(sb.path(file)) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(&token),
                "the variable's value is in {file}"
            );
        }
    }
}
