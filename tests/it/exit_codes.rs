//! What the exit code promises about the store: 2 means nothing changed, 4 means another process
//! held the lock (nothing changed, run again), and a reader that closes the pipe early is not an
//! error — neither for a read nor after a run was recorded.

use crate::harness::{fixture, Sandbox};
use std::process::{Command, Stdio};

fn setup() -> Sandbox {
    Sandbox::with_example_hr()
}

/// Runs `residual ARGS` in the sandbox with its stdout a pipe whose reading end is already
/// closed, as `residual … | head -0` would leave it: every write fails with EPIPE.
fn with_closed_stdout(sb: &Sandbox, args: &[&str]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_residual"))
        .args(args)
        .current_dir(sb.dir.path())
        .env("RESIDUAL_DB", sb.db())
        .env(
            "RESIDUAL_NOW",
            sb.now.as_deref().unwrap_or("2026-11-27T00:00:00Z"),
        )
        .env_remove("RESIDUAL_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn residual");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_reader_that_closes_the_pipe_is_not_an_error() {
    let sb = setup();
    let csv = fixture("inventory/crm.csv");
    sb.ok(&[
        "scan",
        "inventory",
        "--system",
        "crm",
        csv.to_str().unwrap(),
    ]);
    let (code, stderr) = with_closed_stdout(&sb, &["findings", "--format", "jsonl"]);
    assert_eq!(code, 0, "findings into a closed pipe: {stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}

#[test]
fn a_recorded_run_keeps_its_exit_code_when_stdout_is_closed() {
    let sb = setup();
    let csv = fixture("inventory/crm.csv");
    let (code, stderr) = with_closed_stdout(
        &sb,
        &[
            "scan",
            "inventory",
            "--system",
            "crm",
            csv.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "the run is complete and recorded: {stderr}");
    let runs = sb.ok(&["runs", "--format", "json"]).json();
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "{runs}");
}

#[test]
fn a_store_locked_past_the_timeout_exits_4_and_changes_nothing() {
    let sb = setup();
    let before = sb.dump();
    // Another writer holds the write lock for the whole attempt.
    let mut holder = rusqlite::Connection::open(sb.db()).expect("open store");
    let tx = holder
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .expect("take the write lock");
    let csv = fixture("inventory/crm.csv");
    let started = std::time::Instant::now();
    let r = sb.run(&[
        "--lock-timeout",
        "1",
        "scan",
        "inventory",
        "--system",
        "crm",
        csv.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 4, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("another residual process"),
        "{}",
        r.stderr
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "--lock-timeout 1 waited {:?}",
        started.elapsed()
    );
    tx.rollback().expect("release the lock");
    assert_eq!(sb.dump(), before, "a locked run changed the store");
}

#[test]
fn an_error_after_a_run_was_recorded_is_exit_3_not_2() {
    let sb = setup();
    let crm = fixture("inventory/crm.csv");
    let bad = sb.write(
        "bad.csv",
        "account,status,last_login\nok,active,2026-01-01\nx,active,yesterday\n",
    );
    let config = sb.write(
        "residual.toml",
        &format!(
            "[[scanner]]\nname = \"crm\"\nkind = \"inventory\"\nfile = \"{}\"\n\n\
             [[scanner]]\nname = \"ledger\"\nkind = \"inventory\"\nfile = \"{}\"\n",
            crm.display(),
            bad.display()
        ),
    );
    let r = sb.run(&["--config", config.to_str().unwrap(), "scan"]);
    assert_eq!(
        r.code, 3,
        "the crm run was recorded, the bad export is a failed run: exit 2 would say nothing changed\nstderr: {}",
        r.stderr
    );
    assert!(r.stderr.contains("bad.csv:3"), "{}", r.stderr);
    let runs = sb.ok(&["runs", "--format", "json"]).json();
    let statuses: Vec<(&str, &str)> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["system"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert!(statuses.contains(&("inventory:crm", "complete")), "{runs}");
    assert!(statuses.contains(&("inventory:ledger", "failed")), "{runs}");
}

#[test]
fn a_scanner_that_cannot_start_is_a_failed_run_and_the_others_still_run() {
    let sb = setup();
    let crm = fixture("inventory/crm.csv");
    let config = sb.write(
        "residual.toml",
        &format!(
            "[[scanner]]\nname = \"code\"\nkind = \"git\"\npaths = [\"no-such-repo\"]\n\n\
             [[scanner]]\nname = \"crm\"\nkind = \"inventory\"\nfile = \"{}\"\n",
            crm.display()
        ),
    );
    let r = sb.run(&["--config", config.to_str().unwrap(), "scan"]);
    assert_eq!(r.code, 3, "stderr: {}", r.stderr);
    assert!(r.stderr.contains("no such repository"), "{}", r.stderr);
    let runs = sb.ok(&["runs", "--format", "json"]).json();
    let statuses: Vec<(&str, &str)> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["system"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert!(statuses.contains(&("git:no-such-repo", "failed")), "{runs}");
    assert!(
        statuses.contains(&("inventory:crm", "complete")),
        "the scanner after the bad path still ran: {runs}"
    );
}

/// A store of an older schema is refused by a reading command (exit 2, the file untouched) with
/// the command that upgrades it, and `store upgrade` does, after which reading works.
#[test]
fn an_older_store_is_refused_for_reading_and_store_upgrade_brings_it_current() {
    let sb = setup();
    let current: i64 = {
        let conn = rusqlite::Connection::open(sb.db()).unwrap();
        let v: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        // The last migration only marks a new stored form: running it again changes nothing.
        conn.pragma_update(None, "user_version", v - 1).unwrap();
        v
    };
    let before = std::fs::read(sb.db()).unwrap();
    let r = sb.expect(2, &["findings"]);
    assert!(
        r.stderr.contains("`residual store upgrade`"),
        "{}",
        r.stderr
    );
    assert_eq!(
        std::fs::read(sb.db()).unwrap(),
        before,
        "reading wrote nothing"
    );
    let r = sb.ok(&["store", "upgrade"]);
    assert!(
        r.stderr.contains(&format!("is at schema {current}")),
        "{}",
        r.stderr
    );
    sb.ok(&["findings"]);
}
