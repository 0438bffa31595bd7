//! A tiny harness for end-to-end tests: a temporary directory with its own store, and the real
//! `residual` binary run in it.

pub mod repo;

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub now: Option<String>,
    /// Extra environment of every run (tokens): set on the child, never on the test process, which
    /// every test of the binary shares.
    pub env: Vec<(String, String)>,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
            now: None,
            env: Vec::new(),
        }
    }

    /// A sandbox whose clock reads `now`, with `hr_csv` imported as the snapshot of `as_of`.
    pub fn with_hr(now: &str, hr_csv: &str, as_of: &str) -> Sandbox {
        let mut sb = Sandbox::new();
        sb.now = Some(now.into());
        let hr = sb.write("hr.csv", hr_csv);
        sb.ok(&["hr", "import", hr.to_str().unwrap(), "--as-of", as_of]);
        sb
    }

    /// A sandbox whose clock reads 2026-11-27 with the shipped example HR snapshot
    /// (`fixtures/hr/example.csv`) imported as of 2026-11-01: what the tests of the example
    /// exports start from.
    pub fn with_example_hr() -> Sandbox {
        let mut sb = Sandbox::new();
        sb.now = Some("2026-11-27T00:00:00Z".into());
        sb.ok(&[
            "hr",
            "import",
            fixture("hr/example.csv").to_str().unwrap(),
            "--as-of",
            "2026-11-01",
        ]);
        sb
    }

    /// Asserts that no value of `values` appears in `outputs` or in the store's files.
    pub fn assert_not_leaked(&self, outputs: &str, values: &[&str]) {
        for value in values {
            assert!(
                !outputs.contains(value),
                "a secret value leaked into output"
            );
            for file in ["residual.db", "residual.db-wal"] {
                let bytes = std::fs::read(self.path(file)).unwrap_or_default();
                assert!(
                    !bytes.windows(value.len()).any(|w| w == value.as_bytes()),
                    "a secret value is stored in {file}"
                );
            }
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn db(&self) -> PathBuf {
        self.path("residual.db")
    }

    /// Writes a file into the sandbox and returns its path.
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.path(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, content).expect("write");
        p
    }

    /// Runs `residual ARGS` with the sandbox's store, at the sandbox's `now` when set.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_residual"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("RESIDUAL_DB", self.db())
            .env_remove("RESIDUAL_CONFIG")
            .env_remove("RESIDUAL_NOW");
        if let Some(now) = &self.now {
            cmd.env("RESIDUAL_NOW", now);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        let out = cmd.output().expect("run residual");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs and asserts the exit code, showing stderr when it differs.
    pub fn ok(&self, args: &[&str]) -> Run {
        self.expect(0, args)
    }

    pub fn expect(&self, code: i32, args: &[&str]) -> Run {
        let r = self.run(args);
        assert_eq!(
            r.code, code,
            "residual {args:?} exited {} (wanted {code})\nstdout: {}\nstderr: {}",
            r.code, r.stdout, r.stderr
        );
        r
    }

    /// Every finding in the store as JSON objects.
    pub fn findings(&self, state: &str) -> Vec<serde_json::Value> {
        let r = self.ok(&["findings", "--state", state, "--format", "json"]);
        r.json().as_array().cloned().unwrap_or_default()
    }

    /// A logical dump of the store (snapshots, people, runs, findings, events) for "nothing
    /// changed" assertions.
    pub fn dump(&self) -> String {
        if !self.db().exists() {
            return String::new();
        }
        let conn = rusqlite::Connection::open(self.db()).expect("open db");
        let mut out = String::new();
        for table in [
            "snapshots",
            "people",
            "person_events",
            "scan_runs",
            "observations",
            "findings",
            "finding_events",
            "exceptions",
        ] {
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM {table} ORDER BY 1"))
                .expect("prepare");
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    let mut s = String::new();
                    for i in 0..n {
                        let v: rusqlite::types::Value = r.get(i)?;
                        s.push_str(&format!("{v:?}|"));
                    }
                    Ok(s)
                })
                .expect("query");
            for row in rows {
                out.push_str(table);
                out.push_str(": ");
                out.push_str(&row.expect("row"));
                out.push('\n');
            }
        }
        out
    }
}

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(rel)
}
