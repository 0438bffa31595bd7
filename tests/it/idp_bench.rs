//! The benchmark of issue 17 (an `#[ignore]`d test that prints its figures, since the fake
//! identity providers only start from Rust): one sweep of an Entra ID tenant and one of an Okta
//! org of `RESIDUAL_BENCH_USERS` users (default 10,000), 20% of them assigned to applications,
//! through `residual scan NAME` on a real store — the requests sent and the wall time of each.
//! The fakes page like the providers (999 a page for Graph, 200 for Okta). Run it with
//!
//! ```sh
//! cargo test -p residual --test it -- idp_bench --ignored --nocapture
//! ```
//!
//! Results are in `benches/README.md`.

use crate::harness::Sandbox;
use residual_test_support::fake_idp::{entra as g, okta as o, FakeIdp, Provider};
use serde_json::Value;
use std::fmt::Write as _;
use std::time::Instant;

const GROUPS: usize = 10;
const APPS: usize = 50;

fn users() -> usize {
    std::env::var("RESIDUAL_BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// People E0..E{n}; every tenth has left.
fn hr(n: usize) -> String {
    let mut csv = String::from("employee_id,email,status,termination_date\n");
    for i in 0..n {
        let (status, left) = if i % 10 == 0 {
            ("terminated", "2026-03-01")
        } else {
            ("active", "")
        };
        let _ = writeln!(csv, "E{i},user{i}@example.com,{status},{left}");
    }
    csv
}

/// Users `0..n` in the shape `f` builds; groups of `n / GROUPS`; APPS applications sharing
/// the assignments of the first fifth of the users.
fn load_entra(fake: &FakeIdp, n: usize) {
    let users: Vec<Value> = (0..n)
        .map(|i| {
            g::user(
                &format!("u{i}"),
                &format!("user{i}@contoso.com"),
                Some(&format!("user{i}@example.com")),
                true,
                Some(&format!("E{i}")),
                "2025-11-02T08:00:00Z",
                Some("2026-02-01T00:00:00Z"),
            )
        })
        .collect();
    fake.set_list("/v1.0/users", users);
    let groups: Vec<Value> = (0..GROUPS)
        .map(|k| g::named(&format!("g{k}"), &format!("Group {k}")))
        .collect();
    fake.set_list("/v1.0/groups", groups);
    for k in 0..GROUPS {
        let members: Vec<Value> = (0..n)
            .filter(|i| i % GROUPS == k)
            .map(|i| g::user_ref(&format!("u{i}"), &format!("user{i}@contoso.com")))
            .collect();
        fake.set_list(
            &format!("/v1.0/groups/g{k}/transitiveMembers/microsoft.graph.user"),
            members,
        );
    }
    fake.set_list("/v1.0/directoryRoles", vec![]);
    let apps: Vec<Value> = (0..APPS)
        .map(|k| {
            g::app(
                &format!("a{k}"),
                &format!("app-{k}"),
                &format!("App {k}"),
                vec![g::user_ref(
                    &format!("u{k}"),
                    &format!("user{k}@contoso.com"),
                )],
                vec![g::secret(
                    &format!("k{k}"),
                    "abc",
                    "2025-01-01T00:00:00Z",
                    "2099-01-01T00:00:00Z",
                )],
            )
        })
        .collect();
    fake.set_list("/v1.0/applications", apps.clone());
    let sps: Vec<Value> = (0..APPS)
        .map(|k| {
            g::app(
                &format!("sp{k}"),
                &format!("app-{k}"),
                &format!("App {k}"),
                vec![],
                vec![],
            )
        })
        .collect();
    fake.set_list("/v1.0/servicePrincipals", sps);
    for k in 0..APPS {
        let assigned: Vec<Value> = (0..n / 5)
            .filter(|i| i % APPS == k)
            .map(|i| {
                g::assignment(
                    &format!("as{i}"),
                    &format!("u{i}"),
                    &format!("sp{k}"),
                    &format!("App {k}"),
                )
            })
            .collect();
        fake.set_list(
            &format!("/v1.0/servicePrincipals/sp{k}/appRoleAssignedTo"),
            assigned,
        );
    }
}

fn load_okta(fake: &FakeIdp, n: usize) {
    let users: Vec<Value> = (0..n)
        .map(|i| {
            o::user(
                &format!("00u{i}"),
                &format!("user{i}@example.com"),
                "ACTIVE",
                Some("2026-02-01T00:00:00.000Z"),
                Some(&format!("E{i}")),
            )
        })
        .collect();
    fake.set_list("/api/v1/users", users.clone());
    let groups: Vec<Value> = (0..GROUPS)
        .map(|k| o::group(&format!("00g{k}"), &format!("Group {k}")))
        .collect();
    fake.set_list("/api/v1/groups", groups);
    for k in 0..GROUPS {
        let members: Vec<Value> = users
            .iter()
            .enumerate()
            .filter(|(i, _)| i % GROUPS == k)
            .map(|(_, u)| u.clone())
            .collect();
        fake.set_list(&format!("/api/v1/groups/00g{k}/users"), members);
        // Admin roles granted through a group: none here, but each group's list is read.
        fake.set_list(&format!("/api/v1/groups/00g{k}/roles"), vec![]);
    }
    let apps: Vec<Value> = (0..APPS)
        .map(|k| o::app(&format!("0oa{k}"), &format!("App {k}")))
        .collect();
    fake.set_list("/api/v1/apps", apps);
    for k in 0..APPS {
        let assigned: Vec<Value> = (0..n / 5)
            .filter(|i| i % APPS == k)
            .map(|i| o::app_user(&format!("00u{i}")))
            .collect();
        fake.set_list(&format!("/api/v1/apps/0oa{k}/users"), assigned);
    }
    fake.set_list("/api/v1/iam/assignees/users", vec![]);
    fake.set_list("/api/v1/api-tokens", vec![]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn idp_bench() {
    let n = users();
    let secret = ["bench-", "secret"].concat();
    let graph = FakeIdp::start(Provider::Graph, &secret, 999).await;
    load_entra(&graph, n);
    let okta = FakeIdp::start(Provider::Okta, &secret, 200).await;
    load_okta(&okta, n);

    let mut sb = Sandbox::with_hr("2026-06-01T00:00:00Z", &hr(n), "2026-04-01");
    sb.env.extend([
        ("AZURE_CLIENT_ID".into(), "bench".into()),
        ("AZURE_CLIENT_SECRET".into(), secret.clone()),
        ("OKTA_API_TOKEN".into(), secret.clone()),
    ]);
    let config = sb
        .write(
            "residual.toml",
            &format!(
                "[[scanner]]\nname = \"entra\"\nkind = \"entra\"\ntenant_id = \"bench\"\n\
                 graph_url = \"{g}\"\nlogin_url = \"{g}\"\n\n\
                 [[scanner]]\nname = \"okta\"\nkind = \"okta\"\napi_url = \"{o}\"\n",
                g = graph.url,
                o = okta.url
            ),
        )
        .to_string_lossy()
        .into_owned();
    for (name, fake) in [("entra", &graph), ("okta", &okta)] {
        let before = fake.log().len();
        let started = Instant::now();
        tokio::task::block_in_place(|| sb.ok(&["--config", &config, "scan", name]));
        let secs = started.elapsed().as_secs_f64();
        let calls = fake.log().len() - before;
        let findings = tokio::task::block_in_place(|| sb.findings("open"))
            .iter()
            .filter(|f| f["system"].as_str().is_some_and(|s| s.starts_with(name)))
            .count();
        println!(
            "idp_bench {name}: {n} users, {} with app assignments: {calls} requests, {secs:.2} s, {findings} open findings",
            n / 5
        );
    }
}
