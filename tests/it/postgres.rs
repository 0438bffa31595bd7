//! The PostgreSQL store, through the binary: the same steps on a PostgreSQL store and on a SQLite
//! store give the same findings and a chain `audit verify` accepts; workers on shards of one
//! PostgreSQL store find what one worker finds; `store migrate` copies a SQLite store with its
//! chain (same head); a server that cannot be reached is a clear error naming the host, never the
//! password.
//!
//! Each test gets a new, empty database from [`residual_test_support::postgres::fresh_database`]; without a server
//! (and without `RESIDUAL_TEST_POSTGRES_REQUIRED`) the tests say so and pass.

use crate::harness::{fixture, Sandbox};
use serde_json::Value;
use std::process::{Command, Stdio};

/// A sandbox whose store is the PostgreSQL database `url` (its key files in the sandbox).
fn pg_sandbox(url: &str) -> Sandbox {
    let mut sb = Sandbox::new();
    sb.now = Some("2026-11-27T00:00:00Z".into());
    sb.env.push(("RESIDUAL_DB".into(), url.into()));
    let keys = sb.dir.path().to_string_lossy().into_owned();
    sb.env.push(("RESIDUAL_KEY_DIR".into(), keys));
    sb
}

/// HR import, three inventory systems scanned, as a sandbox does it.
fn import_and_scan(sb: &Sandbox) {
    sb.ok(&[
        "hr",
        "import",
        fixture("hr/example.csv").to_str().unwrap(),
        "--as-of",
        "2026-11-01",
    ]);
    write_three_systems(sb);
    sb.ok(&["scan"]);
}

/// Three inventory scanners on the example export: three sweep units.
fn write_three_systems(sb: &Sandbox) {
    let crm = fixture("inventory/crm.csv");
    let crm = crm.to_str().unwrap();
    sb.write(
        "residual.toml",
        &format!(
            "[[scanner]]\nname = \"crm\"\nkind = \"inventory\"\nfile = \"{crm}\"\n\
             [[scanner]]\nname = \"erp\"\nkind = \"inventory\"\nfile = \"{crm}\"\n\
             [[scanner]]\nname = \"wiki\"\nkind = \"inventory\"\nfile = \"{crm}\"\n"
        ),
    );
}

/// Every finding by the fields that do not depend on the backend or on which run raised it.
fn findings(sb: &Sandbox) -> Vec<(String, String, String, String, String, String)> {
    let mut v: Vec<_> = sb
        .findings("all")
        .iter()
        .map(|f: &Value| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
            (
                s("id"),
                s("rule"),
                s("system"),
                s("account"),
                s("state"),
                s("severity"),
            )
        })
        .collect();
    v.sort();
    v
}

/// The head `audit verify` prints (`head SEQ:HASH`), asserting it passed.
fn verified_head(sb: &Sandbox) -> String {
    let r = sb.ok(&["audit", "verify"]);
    let all = format!("{}{}", r.stdout, r.stderr);
    all.lines()
        .find_map(|l| l.trim().strip_prefix("head ").map(str::to_string))
        .unwrap_or_else(|| panic!("no head in `audit verify` output: {all}"))
}

#[test]
fn the_same_steps_on_postgresql_and_on_sqlite_give_the_same_findings_and_a_verified_chain() {
    let Some(url) = residual_test_support::postgres::fresh_database() else {
        return;
    };
    let pg = pg_sandbox(&url);
    import_and_scan(&pg);
    let mut lite = Sandbox::new();
    lite.now = pg.now.clone();
    import_and_scan(&lite);

    let found = findings(&pg);
    assert!(!found.is_empty(), "the example export has findings");
    assert_eq!(found, findings(&lite));
    verified_head(&pg);
    // A second scan of the same input changes nothing and keeps the chain intact.
    pg.ok(&["scan"]);
    assert_eq!(findings(&pg), found);
    verified_head(&pg);
}

#[test]
fn workers_on_shards_of_one_postgresql_store_find_what_one_worker_finds() {
    let (Some(one_url), Some(two_url)) = (
        residual_test_support::postgres::fresh_database(),
        residual_test_support::postgres::fresh_database(),
    ) else {
        return;
    };
    let one = pg_sandbox(&one_url);
    import_and_scan(&one);

    let two = pg_sandbox(&two_url);
    two.ok(&[
        "hr",
        "import",
        fixture("hr/example.csv").to_str().unwrap(),
        "--as-of",
        "2026-11-01",
    ]);
    write_three_systems(&two);
    let workers: Vec<_> = (0..2)
        .map(|k| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_residual"));
            cmd.args(["scan", "--shard", &format!("{k}/2")])
                .current_dir(two.dir.path())
                .env_remove("RESIDUAL_CONFIG")
                .env("RESIDUAL_NOW", two.now.as_deref().unwrap_or_default())
                .envs(two.env.iter().map(|(k, v)| (k, v)))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            cmd.spawn().expect("start a worker")
        })
        .collect();
    for w in workers {
        let out = w.wait_with_output().expect("wait for a worker");
        assert_eq!(
            out.status.code(),
            Some(0),
            "worker: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(findings(&two), findings(&one));
    verified_head(&two);
}

#[test]
fn store_migrate_copies_a_sqlite_store_and_its_chain_with_the_same_head() {
    let Some(url) = residual_test_support::postgres::fresh_database() else {
        return;
    };
    let mut lite = Sandbox::new();
    lite.now = Some("2026-11-27T00:00:00Z".into());
    import_and_scan(&lite);
    let head = verified_head(&lite);
    let sqlite_findings = findings(&lite);

    let db = lite.db();
    lite.ok(&[
        "store",
        "migrate",
        "--from",
        db.to_str().unwrap(),
        "--to",
        &url,
    ]);
    // The same directory, now with the PostgreSQL store: the copy's key files were written to
    // the current directory of the copy (RESIDUAL_KEY_DIR unset), this one.
    let keys = lite.dir.path().to_string_lossy().into_owned();
    let copy = Sandbox {
        dir: lite.dir,
        now: lite.now,
        env: vec![
            ("RESIDUAL_DB".into(), url.clone()),
            ("RESIDUAL_KEY_DIR".into(), keys),
        ],
    };
    assert_eq!(verified_head(&copy), head);
    assert_eq!(findings(&copy), sqlite_findings);
    // The copy is a working store: the next scan extends its chain.
    copy.ok(&["scan"]);
    verified_head(&copy);

    // A target with rows is refused, nothing written.
    let again = copy.expect(
        2,
        &[
            "store",
            "migrate",
            "--from",
            db.to_str().unwrap(),
            "--to",
            &url,
        ],
    );
    assert!(
        again.stderr.contains("not empty"),
        "says why: {}",
        again.stderr
    );
}

#[test]
fn an_unreachable_server_is_an_error_naming_the_host_and_never_the_password() {
    let mut sb = Sandbox::new();
    // Port 1 on the loopback: nothing listens there.
    sb.env.push((
        "RESIDUAL_DB".into(),
        "postgres://residual:s3cret-pw@127.0.0.1:1/residual?sslmode=disable".into(),
    ));
    let r = sb.expect(2, &["runs"]);
    assert!(
        r.stderr.contains("127.0.0.1:1"),
        "names the host: {}",
        r.stderr
    );
    assert!(!r.stderr.contains("s3cret-pw"), "no password: {}", r.stderr);
    let hr = fixture("hr/example.csv");
    let r = sb.expect(
        2,
        &[
            "hr",
            "import",
            hr.to_str().unwrap(),
            "--as-of",
            "2026-11-01",
        ],
    );
    assert!(r.stderr.contains("127.0.0.1:1"), "{}", r.stderr);
    assert!(!r.stderr.contains("s3cret-pw"), "{}", r.stderr);
}

#[test]
fn a_writer_waits_for_another_holding_the_write_lock_and_gives_up_with_exit_4() {
    let Some(url) = residual_test_support::postgres::fresh_database() else {
        return;
    };
    let sb = pg_sandbox(&url);
    let hr = fixture("hr/example.csv");
    let hr = hr.to_str().unwrap();
    sb.ok(&["hr", "import", hr, "--as-of", "2026-11-01"]);
    // Another writer in the middle of its transaction: it holds the store's advisory lock
    // ("residual" in ASCII, as every write transaction takes it).
    let mut other = ::postgres::Client::connect(&url, ::postgres::NoTls).expect("connect");
    let mut tx = other.transaction().expect("begin");
    tx.batch_execute("SELECT pg_advisory_xact_lock(8243121589465735532)")
        .expect("the write lock");
    let r = sb.expect(
        4,
        &[
            "--lock-timeout",
            "1",
            "hr",
            "import",
            hr,
            "--as-of",
            "2026-11-02",
        ],
    );
    assert!(
        r.stderr.contains("another residual process"),
        "{}",
        r.stderr
    );
    tx.rollback().expect("release");
    sb.ok(&["hr", "import", hr, "--as-of", "2026-11-02"]);
    verified_head(&sb);
}

#[test]
fn a_report_pack_is_made_from_a_postgresql_store_and_verifies() {
    let Some(url) = residual_test_support::postgres::fresh_database() else {
        return;
    };
    let sb = pg_sandbox(&url);
    import_and_scan(&sb);
    let head = verified_head(&sb);
    let out = sb.path("pack");
    sb.ok(&["report", "--out", out.to_str().unwrap()]);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    // No file to hash: the field says so (null) rather than a digest of something else, and
    // the audit head names the store's state.
    assert!(manifest["store_sha256"].is_null(), "{manifest}");
    assert_eq!(manifest["audit_head"].as_str(), Some(head.as_str()));
    assert!(out.join("index.html").is_file());
    sb.ok(&["report", "verify", out.to_str().unwrap()]);
}

#[test]
fn the_daemon_refuses_a_postgresql_store_and_says_what_to_run_instead() {
    // No server needed: the refusal comes before any connection.
    let sb = pg_sandbox("postgres://residual:hunter2-not-real@127.0.0.1:1/residual");
    write_three_systems(&sb);
    let r = sb.expect(2, &["daemon", "--once"]);
    assert!(r.stderr.contains("--shard"), "{}", r.stderr);
    assert!(r.stderr.contains("127.0.0.1:1"), "{}", r.stderr);
    assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
    assert!(!sb.dir.path().join("postgres:").exists());
}

/// `host:port` of a URL (what error messages name).
fn host_port(url: &str) -> String {
    let after = url.split_once('@').map_or(url, |(_, h)| h);
    after.split(['/', '?']).next().unwrap_or(after).to_string()
}

/// `url` with `options` added to its query string.
fn with_options(url: &str, options: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{options}")
}

/// A fresh database and the server's CA files; `None` when the tests skip.
fn tls_database() -> Option<(String, residual_test_support::postgres::Tls)> {
    let server = residual_test_support::postgres::server()?;
    let tls = server.tls_or_skip()?;
    Some((server.fresh_database(), tls))
}

#[test]
fn verify_full_with_the_ca_that_signed_the_server_connects_and_works() {
    let Some((url, tls)) = tls_database() else {
        return;
    };
    let ca = tls.ca.to_string_lossy().into_owned();
    let sb = pg_sandbox(&with_options(
        &url,
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    ));
    import_and_scan(&sb);
    verified_head(&sb);
    // The CA file from PGSSLROOTCERT when the URL names none, as libpq reads it.
    let mut env_ca = pg_sandbox(&with_options(&url, "sslmode=verify-full"));
    env_ca.env.push(("PGSSLROOTCERT".into(), ca));
    env_ca.ok(&["runs"]);
}

#[test]
fn verify_full_refuses_a_server_whose_certificate_another_ca_signed_naming_the_host() {
    let Some((url, tls)) = tls_database() else {
        return;
    };
    let other = tls.other_ca.to_string_lossy().into_owned();
    for sslmode in ["verify-full", "verify-ca"] {
        let sb = pg_sandbox(&with_options(
            &url,
            &format!("sslmode={sslmode}&sslrootcert={other}"),
        ));
        let r = sb.expect(2, &["runs"]);
        assert!(
            r.stderr.contains(&host_port(&url)),
            "names the host: {}",
            r.stderr
        );
        assert!(r.stderr.contains("certificate"), "says why: {}", r.stderr);
        // Which CAs were trusted, so that the operator knows what to fix.
        assert!(
            r.stderr.contains(&format!("trusts the CA file {other}")),
            "names the CA file: {}",
            r.stderr
        );
    }
}

#[test]
fn verify_full_checks_the_host_name_and_verify_ca_does_not() {
    let Some((url, tls)) = tls_database() else {
        return;
    };
    // The server's address under a name its certificate does not have (hostaddr= connects to
    // the address; TLS checks the name).
    let port = host_port(&url)
        .rsplit_once(':')
        .map(|(_, p)| p.to_string())
        .expect("a port");
    let misnamed = url.replace(&host_port(&url), &format!("not-the-server.invalid:{port}"));
    let ca = tls.ca.to_string_lossy().into_owned();
    let full = pg_sandbox(&with_options(
        &misnamed,
        &format!("hostaddr=127.0.0.1&sslmode=verify-full&sslrootcert={ca}"),
    ));
    let r = full.expect(2, &["runs"]);
    assert!(r.stderr.contains("not-the-server.invalid"), "{}", r.stderr);
    assert!(r.stderr.contains("certificate"), "{}", r.stderr);
    let ca_only = pg_sandbox(&with_options(
        &misnamed,
        &format!("hostaddr=127.0.0.1&sslmode=verify-ca&sslrootcert={ca}"),
    ));
    ca_only.ok(&[
        "hr",
        "import",
        fixture("hr/example.csv").to_str().unwrap(),
        "--as-of",
        "2026-11-01",
    ]);
    ca_only.ok(&["runs"]);
}

#[test]
fn sslmode_require_connects_to_a_tls_server() {
    let Some((url, _tls)) = tls_database() else {
        return;
    };
    let sb = pg_sandbox(&with_options(&url, "sslmode=require"));
    import_and_scan(&sb);
    verified_head(&sb);
}

/// The test server's role that logs in with a password; `None` (the test skips) when there is
/// no server, or no such role where PostgreSQL is not required.
fn password_login() -> Option<residual_test_support::postgres::PasswordLogin> {
    let server = residual_test_support::postgres::server()?;
    let login = server.password_login();
    if login.is_none() {
        assert!(
            !residual_test_support::postgres::required(),
            "the test server has no password group"
        );
        eprintln!("note: the test PostgreSQL server has no password login: skipped");
    }
    login
}

#[test]
fn a_wrong_password_is_an_error_naming_host_and_user_and_never_the_password() {
    let Some(login) = password_login() else {
        return;
    };
    let wrong = "wrong-pw-Zq81x";
    // In the URL.
    let in_url = login.url.replacen(
        &format!("{}@", login.user),
        &format!("{}:{wrong}@", login.user),
        1,
    );
    let sb = pg_sandbox(&in_url);
    let r = sb.expect(2, &["runs"]);
    assert!(
        r.stderr.contains(&host_port(&login.url)),
        "names the host: {}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&login.user),
        "names the user: {}",
        r.stderr
    );
    assert!(r.stderr.contains("password"), "says why: {}", r.stderr);
    sb.assert_not_leaked(&format!("{}{}", r.stdout, r.stderr), &[wrong]);
    // In PGPASSWORD.
    let mut sb = pg_sandbox(&login.url);
    sb.env.push(("PGPASSWORD".into(), wrong.into()));
    let r = sb.expect(2, &["runs"]);
    assert!(r.stderr.contains(&login.user), "{}", r.stderr);
    sb.assert_not_leaked(&format!("{}{}", r.stdout, r.stderr), &[wrong]);
    // The right one works.
    let mut sb = pg_sandbox(&login.url);
    sb.env.push(("PGPASSWORD".into(), login.password.clone()));
    import_and_scan(&sb);
    let r = sb.ok(&["runs"]);
    sb.assert_not_leaked(&format!("{}{}", r.stdout, r.stderr), &[&login.password]);
}

#[test]
fn a_password_file_gives_the_password_and_one_others_may_read_is_ignored_as_libpq_does() {
    use std::os::unix::fs::PermissionsExt;
    let Some(login) = password_login() else {
        return;
    };
    let probe = pg_sandbox(&login.url);
    let file = probe.path("pgpass");
    // A line for another user first: only the line that matches host, port, database and user
    // counts (`*` matches anything; `\:` is a colon in the password).
    std::fs::write(
        &file,
        format!(
            "# comment\n*:*:*:someone-else:not-it\n*:*:*:{}:{}\n",
            login.user, login.password
        ),
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let file = file.display().to_string();
    // PGPASSFILE names it.
    let mut sb = pg_sandbox(&login.url);
    sb.env.push(("PGPASSFILE".into(), file.clone()));
    import_and_scan(&sb);
    let r = sb.ok(&["runs"]);
    sb.assert_not_leaked(&format!("{}{}", r.stdout, r.stderr), &[&login.password]);
    // `passfile=` in the URL names it.
    let sb = pg_sandbox(&with_options(&login.url, &format!("passfile={file}")));
    let r = sb.ok(&["runs"]);
    sb.assert_not_leaked(&format!("{}{}", r.stdout, r.stderr), &[&login.password]);
    // A password file that others may read is not used (libpq's rule), and the message says so.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut sb = pg_sandbox(&login.url);
    sb.env.push(("PGPASSFILE".into(), file.clone()));
    let r = sb.expect(2, &["runs"]);
    assert!(
        r.stderr.contains(&file) && r.stderr.contains("0600"),
        "names the file and the fix: {}",
        r.stderr
    );
    sb.assert_not_leaked(&format!("{}{}", r.stdout, r.stderr), &[&login.password]);
}

#[test]
fn audit_verify_on_postgresql_reports_an_event_whose_detail_is_not_json_instead_of_failing() {
    let Some(server) = residual_test_support::postgres::server() else {
        return;
    };
    let url = server.fresh_database();
    let sb = pg_sandbox(&url);
    import_and_scan(&sb);
    verified_head(&sb);
    // An event appended behind residual's back, its detail not JSON (PostgreSQL 15 and older
    // cannot test a text for JSON in SQL without failing the whole query).
    server.query(
        &url,
        "INSERT INTO finding_events (seq, finding_id, event, at, run_id, detail, prev_hash, hash, scheme) \
         SELECT seq + 1, finding_id, event, at, run_id, 'not json', hash, hash, scheme \
         FROM finding_events ORDER BY seq DESC LIMIT 1",
    );
    let seq = server.query(&url, "SELECT max(seq) FROM finding_events");
    let r = sb.run(&["audit", "verify"]);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert_ne!(r.code, 0, "a forged event must not verify: {all}");
    assert!(!all.contains("invalid input syntax"), "{all}");
    assert!(all.contains(&seq), "names the forged event {seq}: {all}");
}
