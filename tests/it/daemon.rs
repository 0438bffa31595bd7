//! `residual daemon` through the binary: `--plan`, schedule errors, no starvation, one daemon
//! per store, SIGTERM (between runs, during a run, and twice during a run), catching up a missed
//! firing, and a new leaver in HR swept by `--once`.
//! Tests that wait for a firing use per-second schedules and the real clock.

use crate::harness::Sandbox;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const ACCOUNTS: &str =
    "account,email,status\nann,ann@example.com,active\nlee,lee@example.com,active\n";

/// A sandbox with the inventory exports `crm` and `ledger` and a configuration `extra` is
/// appended to.
fn sandbox(config: &str) -> Sandbox {
    let sb = Sandbox::new();
    sb.write("crm.csv", ACCOUNTS);
    sb.write("ledger.csv", ACCOUNTS);
    sb.write("residual.toml", config);
    sb
}

fn scanner(name: &str, schedule: &str, extra: &str) -> String {
    format!(
        "[[scanner]]\nname = \"{name}\"\nkind = \"inventory\"\nfile = \"{name}.csv\"\n\
         schedule = \"{schedule}\"\n{extra}\n"
    )
}

/// The scan runs in the store (none when there is no store yet).
fn runs(sb: &Sandbox) -> Vec<Value> {
    if !sb.db().exists() {
        return Vec::new();
    }
    sb.ok(&["runs", "--format", "json"])
        .json()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn plan_prints_the_next_firings_in_each_zone_as_json() {
    let mut sb = sandbox(&format!(
        "{}{}",
        scanner("crm", "0 2 * * 1", "timezone = \"Europe/Berlin\""),
        scanner("ledger", "@daily", "")
    ));
    sb.now = Some("2026-01-01T00:00:00Z".into());
    let plan = sb
        .ok(&["daemon", "--plan", "--count", "2", "--format", "json"])
        .json();
    let want = serde_json::json!([
        {"scanner": "crm", "at": "2026-01-05T02:00:00+01:00"},
        {"scanner": "crm", "at": "2026-01-12T02:00:00+01:00"},
        {"scanner": "ledger", "at": "2026-01-02T00:00:00Z"},
        {"scanner": "ledger", "at": "2026-01-03T00:00:00Z"},
    ]);
    assert_eq!(plan, want);
    let table = sb.ok(&["daemon", "--plan", "--count", "1"]).stdout;
    assert!(
        table.contains("crm      2026-01-05T02:00:00+01:00"),
        "{table}"
    );
    assert!(runs(&sb).is_empty(), "--plan runs nothing");
}

#[test]
fn a_bad_schedule_names_the_scanner_and_echoes_what_was_written() {
    let sb = sandbox(&scanner("crm", "0 2 * * 8", ""));
    let r = sb.expect(2, &["daemon", "--plan"]);
    assert!(
        r.stderr.contains("scanner `crm`: schedule `0 2 * * 8`"),
        "{}",
        r.stderr
    );
    let sb = sandbox(&scanner(
        "crm",
        "0 2 * * *",
        "timezone = \"Europe/Berlinn\"",
    ));
    let r = sb.expect(2, &["daemon", "--plan"]);
    assert!(r.stderr.contains("`Europe/Berlinn`"), "{}", r.stderr);
}

#[test]
fn two_scanners_on_one_schedule_both_run_in_config_order() {
    let sb = sandbox(&format!(
        "{}{}",
        scanner("ledger", "* * * * * *", ""),
        scanner("crm", "* * * * * *", "")
    ));
    let r = sb.ok(&["daemon", "--runs", "2"]);
    let systems: Vec<String> = runs(&sb)
        .iter()
        .map(|r| r["system"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(systems.len(), 2, "{systems:?}\n{}", r.stderr);
    assert!(
        systems.contains(&"inventory:crm".to_string()),
        "{systems:?}"
    );
    assert!(
        systems.contains(&"inventory:ledger".to_string()),
        "{systems:?}"
    );
    let ledger = r.stderr.find("running `ledger`").expect("ledger ran");
    let crm = r.stderr.find("running `crm`").expect("crm ran");
    assert!(ledger < crm, "config order: {}", r.stderr);
}

#[test]
fn runs_zero_is_refused() {
    let sb = sandbox(&scanner("crm", "* * * * * *", ""));
    sb.expect(2, &["daemon", "--runs", "0"]);
    assert!(runs(&sb).is_empty());
}

/// A daemon in the background, with its stderr lines sent to a channel.
pub(crate) struct Background {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: String,
}

impl Background {
    pub(crate) fn start(sb: &Sandbox) -> Background {
        let mut child = Command::new(env!("CARGO_BIN_EXE_residual"))
            .arg("daemon")
            .current_dir(sb.dir.path())
            .env("RESIDUAL_DB", sb.db())
            .env_remove("RESIDUAL_CONFIG")
            .env_remove("RESIDUAL_NOW")
            .envs(sb.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the daemon");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Background {
            child,
            lines,
            seen: String::new(),
        }
    }

    /// Waits (60 s at most) for a stderr line containing `text`.
    fn wait_for(&mut self, text: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                self.seen.push_str(&line);
                self.seen.push('\n');
                if line.contains(text) {
                    return;
                }
            }
        }
        panic!("no `{text}` from the daemon; it said:\n{}", self.seen);
    }

    /// Sends SIGTERM to this test's own child and returns its exit code and the rest of stderr.
    pub(crate) fn terminate(self) -> (i32, String) {
        self.sigterm();
        self.exit()
    }

    /// Sends SIGTERM to this test's own child (by its PID) and returns at once.
    fn sigterm(&self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
    }

    /// Waits for the child to exit; its exit code and the rest of stderr.
    fn exit(mut self) -> (i32, String) {
        let status = self.child.wait().expect("wait");
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push_str(&line);
            self.seen.push('\n');
        }
        (status.code().unwrap_or(-1), std::mem::take(&mut self.seen))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // A failed assertion must not leave the daemon running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_second_daemon_on_one_store_exits_2_naming_the_holder() {
    let sb = sandbox(&scanner("crm", "0 0 1 1 *", ""));
    let mut first = Background::start(&sb);
    first.wait_for("next run");
    let r = sb.expect(2, &["daemon", "--runs", "1"]);
    let pid = first.child.id();
    assert!(r.stderr.contains(&format!("PID {pid}")), "{}", r.stderr);
    // `--once` takes the same lock.
    sb.expect(2, &["daemon", "--once"]);
    let (code, _) = first.terminate();
    assert_eq!(code, 0);
    // Released: a daemon starts again.
    sb.ok(&["daemon", "--once"]);
}

#[test]
fn sigterm_stops_the_daemon_with_exit_0_and_a_log_line() {
    let sb = sandbox(&scanner("crm", "0 0 1 1 *", ""));
    let mut daemon = Background::start(&sb);
    daemon.wait_for("next run");
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("stopped by a signal"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
}

#[test]
fn a_firing_missed_while_down_runs_once_at_start_or_is_skipped_with_catch_up_none() {
    let sb = sandbox(&scanner("crm", "* * * * * *", ""));
    sb.ok(&["daemon", "--runs", "1"]);
    assert_eq!(runs(&sb).len(), 1);
    std::thread::sleep(Duration::from_millis(2100));
    let r = sb.ok(&["daemon", "--runs", "1"]);
    assert!(r.stderr.contains("missed its firing"), "{}", r.stderr);
    assert!(r.stderr.contains("catch_up = \"last\""), "{}", r.stderr);
    assert_eq!(runs(&sb).len(), 2);

    sb.write(
        "residual.toml",
        &scanner("crm", "* * * * * *", "catch_up = \"none\""),
    );
    std::thread::sleep(Duration::from_millis(2100));
    let r = sb.ok(&["daemon", "--runs", "1"]);
    assert!(
        r.stderr.contains("skipped (catch_up = \"none\")"),
        "{}",
        r.stderr
    );
    // Skipped, then the next firing ran.
    assert_eq!(runs(&sb).len(), 3);
}

const HR_BOTH_ACTIVE: &str = "employee_id,email,name,status,termination_date\n\
    E1,ann@example.com,Ann Active,active,\n\
    E2,lee@example.com,Lee Leaver,active,\n";
const HR_LEE_LEFT: &str = "employee_id,email,name,status,termination_date\n\
    E1,ann@example.com,Ann Active,active,\n\
    E2,lee@example.com,Lee Leaver,terminated,2026-01-01\n";

#[test]
fn once_sweeps_every_scanner_when_the_hr_source_brings_a_leaver() {
    let sb = sandbox(&format!(
        "[hr]\nsource = \"hr.csv\"\nwatch_interval = \"1s\"\n\n{}{}",
        scanner("crm", "0 0 1 1 *", ""),
        scanner("ledger", "0 0 1 1 *", "")
    ));
    sb.write("hr.csv", HR_BOTH_ACTIVE);
    let r = sb.ok(&["daemon", "--once"]);
    assert!(r.stderr.contains("nothing to sweep"), "{}", r.stderr);
    let r = sb.ok(&["daemon", "--once"]);
    assert!(r.stderr.contains("HR source unchanged"), "{}", r.stderr);
    assert!(runs(&sb).is_empty());

    sb.write("hr.csv", HR_LEE_LEFT);
    let r = sb.ok(&["daemon", "--once", "--log-format", "json"]);
    // Every line, the sweep's progress too, is one JSON object.
    for line in r.stderr.lines() {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}\n{}", r.stderr));
        assert!(v["ts"].is_string() && v["msg"].is_string(), "{line}");
    }
    assert!(r.stderr.contains("1 leaver(s)"), "{}", r.stderr);
    assert!(
        r.stderr.contains("of E2"),
        "the case change is printed: {}",
        r.stderr
    );
    assert_eq!(runs(&sb).len(), 2, "both scanners swept");
    let lee: Vec<Value> = sb
        .findings("open")
        .into_iter()
        .filter(|f| f.to_string().contains("lee"))
        .collect();
    assert_eq!(lee.len(), 2, "Lee's account in each system: {lee:?}");
}

#[test]
fn the_running_daemon_sweeps_a_new_leaver_at_its_next_look_at_the_hr_source() {
    let sb = sandbox(&format!(
        "[hr]\nsource = \"hr.csv\"\nwatch_interval = \"1s\"\n\n{}",
        scanner("crm", "0 0 1 1 *", "")
    ));
    sb.write("hr.csv", HR_BOTH_ACTIVE);
    let mut daemon = Background::start(&sb);
    daemon.wait_for("nothing to sweep");
    sb.write("hr.csv", HR_LEE_LEFT);
    daemon.wait_for("sweeping every configured scanner now");
    daemon.wait_for("inventory:crm: run 1 complete");
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !stderr.contains("unchanged"),
        "quiet while nothing changes: {stderr}"
    );
    // Every log line, the import's and the sweep's too, starts with an RFC 3339 timestamp and
    // carries no colour codes.
    for line in stderr.lines() {
        let ts = line.split(' ').next().unwrap_or_default();
        assert!(
            chrono::DateTime::parse_from_rfc3339(ts).is_ok(),
            "{line}\n{stderr}"
        );
    }
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
    let runs = runs(&sb);
    assert_eq!(runs.len(), 1, "{stderr}");
    assert_eq!(runs[0]["system"], "inventory:crm");
    assert!(
        sb.findings("open")
            .iter()
            .any(|f| f.to_string().contains("lee")),
        "{stderr}"
    );
}

#[test]
fn an_hr_command_is_the_snapshot_and_a_failing_one_changes_nothing() {
    let sb = sandbox(&format!(
        "[hr]\nsource = \"hr.csv\"\ncommand = \"cat export.csv\"\n\n{}",
        scanner("crm", "0 0 1 1 *", "")
    ));
    sb.write("export.csv", HR_BOTH_ACTIVE);
    sb.ok(&["daemon", "--once"]);
    assert_eq!(
        std::fs::read_to_string(sb.path("hr.csv")).unwrap(),
        HR_BOTH_ACTIVE
    );
    sb.write("export.csv", HR_LEE_LEFT);
    let r = sb.ok(&["daemon", "--once"]);
    assert!(r.stderr.contains("1 leaver(s)"), "{}", r.stderr);
    assert_eq!(runs(&sb).len(), 1);

    sb.write(
        "residual.toml",
        &format!(
            "[hr]\nsource = \"hr.csv\"\ncommand = \"exit 7\"\n\n{}",
            scanner("crm", "0 0 1 1 *", "")
        ),
    );
    let before = sb.dump();
    let r = sb.expect(2, &["daemon", "--once"]);
    assert!(r.stderr.contains("hr.command exited"), "{}", r.stderr);
    assert_eq!(sb.dump(), before, "nothing changed");
    assert_eq!(
        std::fs::read_to_string(sb.path("hr.csv")).unwrap(),
        HR_LEE_LEFT,
        "the last good snapshot is kept"
    );
}

#[test]
fn an_open_case_is_swept_again_every_reverify_interval_until_verified() {
    let sb = sandbox(&format!(
        "[hr]\nsource = \"hr.csv\"\nwatch_interval = \"1h\"\n\n\
         [policy]\nreverify_interval = \"1s\"\n\n{}",
        scanner("crm", "0 0 1 1 *", "")
    ));
    sb.write("hr.csv", HR_LEE_LEFT);
    let mut daemon = Background::start(&sb);
    daemon.wait_for("inventory:crm: run 1 complete");
    daemon.wait_for("1 open case(s): re-sweeping");
    daemon.wait_for("inventory:crm: run 2 complete");
    // Lee's account is removed: the next re-sweep verifies the case, and the sweeps stop.
    sb.write(
        "crm.csv",
        "account,email,status\nann,ann@example.com,active\n",
    );
    daemon.wait_for("→ verified");
    std::thread::sleep(Duration::from_millis(2500));
    let (code, stderr) = daemon.terminate();
    assert_eq!(code, 0, "{stderr}");
    let after = &stderr[stderr.find("→ verified").expect("verified")..];
    assert!(!after.contains("re-sweeping"), "{stderr}");
}

/// A sandbox whose `crm` export is a named pipe: its run starts (the `started` row is
/// committed) and then waits in `open` until the test writes the export, so the test can
/// signal the daemon while a run is in progress.
fn sandbox_with_a_run_that_waits() -> Sandbox {
    let sb = sandbox(&scanner("crm", "* * * * * *", ""));
    std::fs::remove_file(sb.path("crm.csv")).expect("remove crm.csv");
    let made = Command::new("mkfifo")
        .arg(sb.path("crm.csv"))
        .status()
        .expect("mkfifo");
    assert!(made.success());
    sb
}

/// Waits (60 s at most) until `residual runs` lists one run, `started` by the daemon.
fn wait_for_a_started_run(sb: &Sandbox) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while std::time::Instant::now() < deadline {
        // The daemon may still be creating the store: a read refused meanwhile is retried.
        let r = sb.run(&["runs", "--format", "json"]);
        let listed = if r.code == 0 { r.json() } else { Value::Null };
        if listed[0]["status"] == "started" && listed.as_array().map(Vec::len) == Some(1) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("no started run; runs: {:?}", runs(sb));
}

#[test]
fn sigterm_during_a_run_lets_the_run_finish_then_exits_0() {
    let sb = sandbox_with_a_run_that_waits();
    let mut daemon = Background::start(&sb);
    daemon.wait_for("running `crm`");
    wait_for_a_started_run(&sb);
    daemon.sigterm();
    std::thread::sleep(Duration::from_millis(500));
    // The export arrives after the signal: the run in progress still reads and records it.
    std::fs::write(sb.path("crm.csv"), ACCOUNTS).expect("write the export to the pipe");
    let (code, stderr) = daemon.exit();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("stopped by a signal"), "{stderr}");
    let listed = runs(&sb);
    assert_eq!(
        listed.len(),
        1,
        "no run started after the signal: {listed:?}"
    );
    assert_eq!(listed[0]["status"], "complete", "{listed:?}\n{stderr}");
}

#[test]
fn a_second_sigterm_during_a_run_ends_the_daemon_and_the_run_shows_as_interrupted() {
    let sb = sandbox_with_a_run_that_waits();
    let mut daemon = Background::start(&sb);
    daemon.wait_for("running `crm`");
    wait_for_a_started_run(&sb);
    daemon.sigterm();
    std::thread::sleep(Duration::from_millis(500));
    daemon.sigterm();
    let (code, stderr) = daemon.exit();
    assert_eq!(code, 1, "a second signal ends the daemon at once: {stderr}");
    let listed = runs(&sb);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["status"], "interrupted", "{listed:?}\n{stderr}");
    let table = sb.ok(&["runs"]).stdout;
    assert!(table.contains("interrupted"), "{table}");
}
