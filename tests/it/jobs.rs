//! Sweeps as jobs, through the binary: `scan --shard K/N` splits the configured sweep units
//! between workers without coordination, `scan --unit ID` sweeps one, and a lease per unit in
//! the store keeps two workers off one unit; a worker killed mid-sweep leaves a lease that dies
//! with it and a run that the next worker marks `interrupted`.
//!
//! The workers are real `residual` processes on one SQLite store. AWS accounts are moto's,
//! entered by role assumption through an organisation (as in `aws_org.rs`), so these tests hold
//! moto's default account. A sweep is held open deterministically by an inventory export that is
//! a named pipe: its reader blocks until the test writes the export.

use crate::aws_org::runs;
use crate::harness::{fixture, Sandbox};
use residual_test_support::moto;
use residual_test_support::moto_sso::Sso;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HR: &str = "employee_id,email,status,termination_date,aws_user\n\
E1,ann@example.com,terminated,2026-03-01,ann\n\
E2,bea@example.com,active,,bea\n";

/// A sandbox with the HR snapshot imported and one organisation-wide aws-iam scanner `org`.
fn org_sandbox() -> Sandbox {
    crate::aws_org::org_sandbox(HR, "")
}

/// The leaver `ann` with an access key, the active `bea`, and an orphan in `account`.
async fn people_in(account: &str) {
    let c = moto::seed_clients(account).await;
    for user in ["ann", "bea", "svc-orphan"] {
        c.iam.create_user().user_name(user).send().await.unwrap();
    }
    c.iam
        .create_access_key()
        .user_name("ann")
        .send()
        .await
        .unwrap();
}

/// `residual ARGS` started in the sandbox, as [`Sandbox::run`] runs it, without waiting.
fn spawn(sb: &Sandbox, args: &[&str]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_residual"));
    cmd.args(args)
        .current_dir(sb.dir.path())
        .env("RESIDUAL_DB", sb.db())
        .env_remove("RESIDUAL_CONFIG")
        .env_remove("RESIDUAL_NOW")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(now) = &sb.now {
        cmd.env("RESIDUAL_NOW", now);
    }
    cmd.spawn().expect("start residual")
}

/// Waits for a spawned worker; its exit code and stderr.
fn finish(child: Child) -> (i32, String) {
    let out = child.wait_with_output().expect("wait for residual");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// [`finish`], or kills the worker when it runs past `limit` (exit -1).
fn finish_within(mut child: Child, limit: Duration) -> (i32, String) {
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("poll residual").is_none() {
        if Instant::now() > deadline {
            child.kill().expect("kill");
            let (_, stderr) = finish(child);
            return (-1, format!("still running after {limit:?}: {stderr}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    finish(child)
}

/// The unit ids `scan --list-units` prints as JSON with `extra` arguments.
fn units(sb: &Sandbox, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["scan", "--list-units", "--format", "json"];
    args.extend_from_slice(extra);
    let listed = sb.ok(&args).json();
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["unit"].as_str().unwrap().to_string())
        .collect()
}

/// Every finding, by the fields that do not depend on which run or worker raised it.
fn findings(sb: &Sandbox) -> Vec<(String, String, String, String, String)> {
    let mut v: Vec<_> = sb
        .findings("all")
        .iter()
        .map(|f: &Value| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (s("id"), s("rule"), s("system"), s("account"), s("state"))
        })
        .collect();
    v.sort();
    v
}

/// The systems whose runs a worker's progress says it recorded (`scan SYSTEM: run N STATUS: …`).
fn recorded_systems(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| {
            let at = l.find("scan aws-iam:")?;
            let rest = &l[at + "scan ".len()..];
            let (system, after) = rest.split_once(": run ")?;
            after
                .split_whitespace()
                .nth(1)
                .is_some_and(|s| s.starts_with("complete"))
                .then(|| system.to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_workers_on_shards_find_what_one_worker_finds_on_one_chain() {
    let _account = moto::default_account();
    let mut accounts = Sso::connect().await.organization(5).await;
    accounts.push(moto::DEFAULT_ACCOUNT.to_string());
    for a in &accounts {
        people_in(a).await;
    }

    let one = org_sandbox();
    one.ok(&["scan", "org"]);

    let three = org_sandbox();
    let all = units(&three, &[]);
    let mut expected: Vec<String> = accounts.iter().map(|a| format!("aws-iam:{a}")).collect();
    expected.sort();
    let mut listed = all.clone();
    listed.sort();
    assert_eq!(listed, expected, "one unit per account");
    let shares: Vec<Vec<String>> = (0..3)
        .map(|k| units(&three, &["--shard", &format!("{k}/3")]))
        .collect();
    let mut union: Vec<String> = shares.iter().flatten().cloned().collect();
    union.sort();
    assert_eq!(
        union, expected,
        "each unit in exactly one share: {shares:?}"
    );

    let workers: Vec<Child> = (0..3)
        .map(|k| spawn(&three, &["scan", "--shard", &format!("{k}/3")]))
        .collect();
    for (k, w) in workers.into_iter().enumerate() {
        let (code, stderr) = finish(w);
        assert_eq!(code, 0, "worker {k}/3: {stderr}");
        let mut swept = recorded_systems(&stderr);
        swept.sort();
        let mut share = shares[k].clone();
        share.sort();
        assert_eq!(swept, share, "worker {k}/3 swept its share alone: {stderr}");
    }

    assert_eq!(findings(&three), findings(&one));
    assert!(
        findings(&three)
            .iter()
            .any(|f| f.1 == "leaver-active-access-key"),
        "{:#?}",
        findings(&three)
    );
    let complete: Vec<String> = runs(&three)
        .into_iter()
        .filter(|(_, s)| s == "complete")
        .map(|(system, _)| system)
        .collect();
    assert_eq!(complete, expected, "one complete run per account");
    three.ok(&["audit", "verify"]);
    assert!(
        three
            .ok(&["scan", "--list-units", "--format", "json"])
            .json()
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["lease"].is_null()),
        "every lease is released"
    );
}

/// A sandbox with the example HR snapshot and one inventory scanner `crm` whose export is a
/// named pipe: a sweep of it blocks until the test writes the export.
fn piped_export() -> Sandbox {
    let sb = Sandbox::with_example_hr();
    sb.write(
        "residual.toml",
        "[[scanner]]\nname = \"crm\"\nkind = \"inventory\"\nfile = \"crm.csv\"\n",
    );
    let status = Command::new("mkfifo")
        .arg(sb.path("crm.csv"))
        .status()
        .expect("mkfifo");
    assert!(status.success());
    sb
}

/// Waits until `ready` holds of the sandbox (a worker got as far as the test needs).
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Whether a run of `system` is `started` (its worker is sweeping it now).
fn sweeping(sb: &Sandbox, system: &str) -> bool {
    runs(sb).contains(&(system.to_string(), "started".to_string()))
}

/// Writes the example export into the pipe the blocked worker reads.
fn feed(sb: &Sandbox) {
    let export = std::fs::read(fixture("inventory/crm.csv")).expect("fixture");
    std::fs::write(sb.path("crm.csv"), export).expect("write into the pipe");
}

#[test]
fn two_workers_racing_for_one_unit_one_sweeps_and_the_other_skips() {
    let sb = piped_export();
    assert_eq!(units(&sb, &[]), ["inventory:crm"]);
    let first = spawn(&sb, &["scan", "--unit", "inventory:crm"]);
    wait_until("the first worker to start its sweep", || {
        sweeping(&sb, "inventory:crm")
    });

    // Were the lease not respected, the second worker would block on the pipe too: it is given
    // a deadline rather than waited for.
    let second = spawn(&sb, &["scan", "--unit", "inventory:crm"]);
    let (code, stderr) = finish_within(second, Duration::from_secs(30));
    assert_eq!(code, 4, "nothing could run: {stderr}");
    assert!(stderr.contains("skipped: another worker"), "{stderr}");

    feed(&sb);
    let (code, stderr) = finish(first);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        runs(&sb),
        [("inventory:crm".to_string(), "complete".to_string())],
        "one run, by the worker that held the lease"
    );
    let leases: BTreeSet<String> = sb
        .ok(&["scan", "--list-units", "--format", "json"])
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| !u["lease"].is_null())
        .map(|u| u["unit"].to_string())
        .collect();
    assert!(leases.is_empty(), "released: {leases:?}");
}

#[test]
fn a_killed_worker_leaves_its_run_interrupted_and_the_next_worker_sweeps_the_unit() {
    let sb = piped_export();
    let mut first = spawn(&sb, &["scan", "--shard", "0/1"]);
    wait_until("the first worker to start its sweep", || {
        sweeping(&sb, "inventory:crm")
    });
    first.kill().expect("kill -9");
    first.wait().expect("reap");

    // The dead worker's lease is still in the store, naming its run.
    let listed = sb.ok(&["scan", "--list-units", "--format", "json"]).json();
    assert!(!listed[0]["lease"].is_null(), "{listed:#}");

    std::fs::remove_file(sb.path("crm.csv")).expect("remove the pipe");
    std::fs::copy(fixture("inventory/crm.csv"), sb.path("crm.csv")).expect("export");
    let next = sb.ok(&["scan", "--shard", "0/1"]);
    assert!(
        next.stderr.contains("marked interrupted"),
        "{}",
        next.stderr
    );
    assert_eq!(
        runs(&sb),
        [
            ("inventory:crm".to_string(), "complete".to_string()),
            ("inventory:crm".to_string(), "interrupted".to_string()),
        ]
    );
    // Written, not only derived: the row itself says interrupted.
    let dump = sb.dump();
    assert!(dump.contains("interrupted"), "{dump}");
    assert!(!sb.findings("open").is_empty());
    sb.ok(&["audit", "verify"]);
}

#[test]
fn workers_started_at_once_on_a_new_store_create_and_share_it() {
    // The real clock (no --now): each run is dated when it is written, as workers in production
    // do.
    let sb = Sandbox::new();
    let mut config = String::new();
    for name in ["crm", "erp", "wiki", "billing", "chat", "vpn"] {
        std::fs::copy(
            fixture("inventory/crm.csv"),
            sb.path(&format!("{name}.csv")),
        )
        .expect("export");
        config.push_str(&format!(
            "[[scanner]]\nname = \"{name}\"\nkind = \"inventory\"\nfile = \"{name}.csv\"\n"
        ));
    }
    sb.write("residual.toml", &config);
    assert!(!sb.db().exists());
    let workers: Vec<Child> = (0..3)
        .map(|k| spawn(&sb, &["scan", "--shard", &format!("{k}/3")]))
        .collect();
    for (k, w) in workers.into_iter().enumerate() {
        let (code, stderr) = finish(w);
        assert_eq!(code, 0, "worker {k}/3: {stderr}");
    }
    let complete = runs(&sb)
        .into_iter()
        .filter(|(_, s)| s == "complete")
        .count();
    assert_eq!(complete, 6);
    sb.ok(&["audit", "verify"]);
}

#[test]
fn a_sweep_longer_than_its_lease_keeps_the_lease_by_renewing_it() {
    let sb = piped_export();
    // A one-second lease, renewed every third of a second while the sweep waits on the pipe.
    let first = spawn(
        &sb,
        &["scan", "--unit", "inventory:crm", "--lease-ttl", "1"],
    );
    wait_until("the first worker to start its sweep", || {
        sweeping(&sb, "inventory:crm")
    });
    std::thread::sleep(Duration::from_millis(2500));

    let second = spawn(
        &sb,
        &["scan", "--unit", "inventory:crm", "--lease-ttl", "1"],
    );
    let (code, stderr) = finish_within(second, Duration::from_secs(30));
    assert_eq!(code, 4, "the lease is still held: {stderr}");

    feed(&sb);
    let (code, stderr) = finish(first);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        runs(&sb),
        [("inventory:crm".to_string(), "complete".to_string())]
    );
}

#[test]
fn a_lease_left_by_a_worker_on_another_machine_blocks_the_unit_until_it_expires() {
    let sb = Sandbox::with_example_hr();
    sb.write(
        "residual.toml",
        "[[scanner]]\nname = \"crm\"\nkind = \"inventory\"\nfile = \"crm.csv\"\n",
    );
    std::fs::copy(fixture("inventory/crm.csv"), sb.path("crm.csv")).expect("export");
    // What a worker on another host leaves when it dies mid-sweep: its started run, and its
    // lease naming that run (no process id here can tell it is gone).
    let conn = rusqlite::Connection::open(sb.db()).expect("open the store");
    conn.execute(
        "INSERT INTO scan_runs (scanner, system, status, started_at, finished_at, accounts, \
         credentials, grants, calls, errors, pid) VALUES ('inventory', 'inventory:crm', 'started', \
         '2026-11-27T00:00:00Z', '2026-11-27T00:00:00Z', 0, 0, 0, 0, '[]', NULL)",
        [],
    )
    .expect("started run");
    let run = conn.last_insert_rowid();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    conn.execute(
        "INSERT INTO leases (unit, holder, taken_at, expires_at, run_id) \
         VALUES ('inventory:crm', 'worker-elsewhere:7:0abc', ?1, ?2, ?3)",
        rusqlite::params![now_ms, now_ms + 600_000, run],
    )
    .expect("lease");

    let blocked = sb.expect(4, &["scan", "--unit", "inventory:crm"]);
    assert!(
        blocked.stderr.contains("worker-elsewhere:7:0abc"),
        "{}",
        blocked.stderr
    );

    // Its lease expires (nobody renews it).
    conn.execute(
        "UPDATE leases SET expires_at = ?1 WHERE unit = 'inventory:crm'",
        [now_ms - 1],
    )
    .expect("expire");
    let next = sb.ok(&["scan", "--unit", "inventory:crm"]);
    assert!(
        next.stderr.contains(&format!("run {run} was left started")),
        "{}",
        next.stderr
    );
    assert_eq!(
        runs(&sb),
        [
            ("inventory:crm".to_string(), "complete".to_string()),
            ("inventory:crm".to_string(), "interrupted".to_string()),
        ]
    );
    sb.ok(&["audit", "verify"]);
}

#[test]
fn a_share_out_of_range_is_a_usage_error_that_creates_no_store() {
    let sb = Sandbox::new();
    let r = sb.expect(2, &["scan", "--shard", "3/3"]);
    assert!(r.stderr.contains("0 <= K < N"), "{}", r.stderr);
    assert!(!sb.db().exists());
}
