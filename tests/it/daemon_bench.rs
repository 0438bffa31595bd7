//! The benchmark of issue 14 (an `#[ignore]`d test that prints its figures, since the fake
//! GitHub host only starts from Rust): the wall time from the HR file changing to the new
//! leaver's findings being in the store, on the local fakes — an inventory export, an IAM
//! account in moto and an org on the fake GitHub host, each holding an account of every person.
//!
//! Each round marks one more person a leaver in `hr.csv` and measures until `residual findings
//! --employee ID` lists the leaver's findings in all three systems: first through
//! `residual daemon --once` (what a cron job or systemd timer runs), then through the
//! long-running daemon with `watch_interval = "1s"`. A first round, not counted, makes the
//! first sweep of each system (every observation new). Run it with
//!
//! ```sh
//! cargo test -p residual --test it -- daemon_bench --ignored --nocapture
//! ```
//!
//! `RESIDUAL_BENCH_PEOPLE` (default 500) and `RESIDUAL_BENCH_ROUNDS` (default 5) set the size;
//! results are in `benches/README.md`.

use crate::daemon::Background;
use crate::harness::Sandbox;
use residual_test_support::fake_host::github::{self as gh, OrgSpec};
use residual_test_support::fake_host::{Fake, Flavor};
use residual_test_support::moto;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// The systems every person has an account in, as `findings` names them.
const SYSTEMS: [&str; 3] = ["inventory:crm", "aws-iam:123456789012", "github:acme"];

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The HR snapshot with people `E0..E{people}` where the first `leavers` have left.
fn hr(people: usize, leavers: usize) -> String {
    let mut csv =
        String::from("employee_id,email,name,status,termination_date,aws_user,github_login\n");
    for i in 0..people {
        let (status, left) = if i < leavers {
            ("terminated", "2026-01-01")
        } else {
            ("active", "")
        };
        let _ = writeln!(
            csv,
            "E{i},user{i}@example.com,User {i},{status},{left},user{i},user{i}"
        );
    }
    csv
}

/// The systems in which `residual findings --employee` lists open findings of `employee`.
fn systems_with_findings(sb: &Sandbox, employee: &str) -> BTreeSet<String> {
    let r = sb.ok(&["findings", "--employee", employee, "--format", "json"]);
    r.json()
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["system"].as_str().map(str::to_string))
        .collect()
}

/// Polls (every 100 ms, 120 s at most) until `employee` has findings in every system; the time
/// from `since`.
fn until_found(sb: &Sandbox, employee: &str, since: Instant) -> Duration {
    let deadline = since + Duration::from_secs(120);
    loop {
        let found = systems_with_findings(sb, employee);
        if SYSTEMS.iter().all(|s| found.contains(*s)) {
            return since.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "{employee}: findings only in {found:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits (120 s at most) until the store holds `n` finished runs.
fn until_runs(sb: &Sandbox, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let r = sb.ok(&["runs", "--format", "json"]);
        let listed = r.json().as_array().cloned().unwrap_or_default();
        let finished = listed.iter().filter(|r| r["status"] != "started").count();
        if finished >= n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{finished} runs of {n}: {listed:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn secs(v: &[Duration]) -> String {
    v.iter()
        .map(|d| format!("{:.2}", d.as_secs_f64()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: cargo test -p residual --test it -- daemon_bench --ignored --nocapture"]
async fn daemon_bench_hr_change_to_findings() {
    let people = knob("RESIDUAL_BENCH_PEOPLE", 500);
    let rounds = knob("RESIDUAL_BENCH_ROUNDS", 5);
    let _account = moto::default_account();
    let moto = moto::moto();
    let seeding = Instant::now();
    let iam = moto::seed_clients(moto::DEFAULT_ACCOUNT).await.iam;
    for i in 0..people {
        let user = format!("user{i}");
        iam.create_user().user_name(&user).send().await.unwrap();
        // Every person who will leave holds an access key, as a leaver's residual access would.
        if i <= 2 * rounds {
            iam.create_access_key()
                .user_name(&user)
                .send()
                .await
                .unwrap();
        }
    }
    let fake = Fake::start(Flavor::Github).await;
    gh::load_org(
        &fake,
        &OrgSpec {
            org: "acme".into(),
            members: people,
            repos: 20,
            teams: people / 50,
            keys_per_repo: 1,
            secrets_per_repo: 1,
        },
    );
    println!(
        "seeded {people} IAM users, org members and inventory accounts in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let mut sb = Sandbox::new();
    let mut accounts = String::from("account,email,status\n");
    for i in 0..people {
        let _ = writeln!(accounts, "user{i},user{i}@example.com,active");
    }
    sb.write("crm.csv", &accounts);
    sb.write(
        "residual.toml",
        &format!(
            "[hr]\nsource = \"hr.csv\"\nwatch_interval = \"1s\"\n\n\
             [[scanner]]\nname = \"crm\"\nkind = \"inventory\"\nfile = \"crm.csv\"\n\n\
             [[scanner]]\nname = \"prod\"\nkind = \"aws-iam\"\nendpoint_url = \"{}\"\n\
             service_specific_credentials = false\n\n\
             [[scanner]]\nname = \"gh\"\nkind = \"github\"\norg = \"acme\"\napi_url = \"{}\"\n",
            moto.endpoint, fake.url
        ),
    );
    sb.env
        .push(("GITHUB_TOKEN".into(), "ghp-fake-token-for-tests".into()));

    tokio::task::block_in_place(|| {
        sb.write("hr.csv", &hr(people, 0));
        sb.ok(&["daemon", "--once"]);

        // The first sweep of each system: every observation is new.
        let t0 = Instant::now();
        sb.write("hr.csv", &hr(people, 1));
        sb.ok(&["daemon", "--once"]);
        let first = until_found(&sb, "E0", t0);

        let mut once = Vec::new();
        let mut once_run = Vec::new();
        for k in 1..=rounds {
            let t0 = Instant::now();
            sb.write("hr.csv", &hr(people, k + 1));
            sb.ok(&["daemon", "--once"]);
            once_run.push(t0.elapsed());
            once.push(until_found(&sb, &format!("E{k}"), t0));
        }

        let mut running = Vec::new();
        let daemon = Background::start(&sb);
        // Its first look at the HR source is at start; the snapshot is the one imported last.
        std::thread::sleep(Duration::from_secs(2));
        for k in rounds + 1..=2 * rounds {
            let t0 = Instant::now();
            sb.write("hr.csv", &hr(people, k + 1));
            running.push(until_found(&sb, &format!("E{k}"), t0));
            // The next round starts after this sweep has recorded all three runs.
            until_runs(&sb, 3 * (k + 1));
        }
        let (code, stderr) = daemon.terminate();
        assert_eq!(code, 0, "{stderr}");

        println!("HR file changed -> leaver's findings in all 3 systems ({people} people):");
        println!("  first sweep (not counted): {:.2} s", first.as_secs_f64());
        println!(
            "  daemon --once: median {:.2} s [{}] (the --once process alone: median {:.2} s)",
            median(once.clone()).as_secs_f64(),
            secs(&once),
            median(once_run.clone()).as_secs_f64()
        );
        println!(
            "  running daemon, watch_interval 1s: median {:.2} s [{}]",
            median(running.clone()).as_secs_f64(),
            secs(&running)
        );
        // What each event-driven sweep cost the IAM API: the first is full (no full sweep had
        // run, so no IAM user was linked yet), the later ones are targeted at the new leaver.
        let listed = sb.ok(&["runs", "--format", "json"]).json();
        for (label, targeted) in [("full", false), ("targeted", true)] {
            let calls: Vec<u64> = listed
                .as_array()
                .into_iter()
                .flatten()
                .filter(|r| r["scanner"] == "aws-iam" && r["targeted"].is_array() == targeted)
                .filter_map(|r| r["calls"].as_u64())
                .collect();
            println!(
                "  aws-iam calls per {label} sweep ({} sweeps, {people} users): {:?}",
                calls.len(),
                calls.iter().collect::<BTreeSet<_>>()
            );
        }
        let worst = once
            .iter()
            .chain(&running)
            .max()
            .copied()
            .unwrap_or_default();
        assert!(worst < Duration::from_secs(60), "over 60 s: {worst:?}");
    });
}
