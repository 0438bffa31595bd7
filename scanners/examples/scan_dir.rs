//! Detection-quality helper: runs the built-in secret patterns over every file below a directory
//! and prints one JSON line per match (`path`, `line`, `pattern_id`, `suppressed`) — never the
//! secret. Used to score the patterns against benchmark repositories (benches/README.md).
//!
//!     cargo run --release -p residual-scanners --example scan_dir -- DIR > matches.jsonl
//!     cargo run --release -p residual-scanners --example scan_dir -- --rules rules/secrets DIR
//!
//! `--rules DIR` loads the patterns from a `rules/secrets` directory instead of the built-in
//! copy, and checks their examples first (failures to stderr): rules can then be edited and
//! measured without rebuilding.

use residual_scanners::secrets::{self, Matcher};
use std::path::Path;

fn walk(dir: &Path, root: &Path, matcher: &Matcher) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.file_name().is_some_and(|n| n == ".git") {
            continue;
        }
        if path.is_dir() {
            walk(&path, root, matcher)?;
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let rel = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .display()
            .to_string();
        for m in matcher.scan(Some(&rel), &bytes) {
            println!(
                "{}",
                serde_json::json!({"path": rel, "line": m.line, "pattern_id": m.pattern_id, "suppressed": m.suppressed.is_some()})
            );
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: scan_dir [--rules RULES_DIR] DIR";
    let mut args = std::env::args().skip(1);
    let mut first = args.next().ok_or(usage)?;
    let patterns = if first == "--rules" {
        let rules = args.next().ok_or(usage)?;
        let patterns = secrets::load_dir(Path::new(&rules))?;
        for failure in secrets::check_examples(&patterns) {
            eprintln!("{failure}");
        }
        first = args.next().ok_or(usage)?;
        patterns
    } else {
        secrets::builtin()?
    };
    let dir = first;
    let matcher = Matcher::new(patterns, b"detection-quality-measurement")?;
    walk(Path::new(&dir), Path::new(&dir), &matcher)?;
    Ok(())
}
