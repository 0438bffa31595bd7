//! Benchmark driver for the git scanner: scans one repository's full history (or incrementally,
//! from a file of known objects) and prints the run's statistics as JSON on stdout.
//!
//! ```text
//! cargo run --release -p residual-scanners --example git_scan_bench -- REPO \
//!     [--save-known FILE] [--known FILE] [--threads N] [--max-blob-bytes N] [--rules DIR] [--by-id]
//! ```
//!
//! `--by-id` reads every blob by id instead of walking packs in their delta order (to measure
//! what the walk saves).
//!
//! `--rules DIR` loads the patterns from a `rules/secrets` directory instead of the built-in copy
//! (an older rule set, to measure what new rules cost on the same engine).
//!
//! `--save-known` writes the commits and blobs this run covered (one `c <id>` / `b <id>` per
//! line); `--known` reads such a file and makes the run incremental. See `benches/git_scan.md`.

use residual_scanners::git::{scan_repository, BlobMatcher, GitScanOptions, KnownObjects, Oid};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("git_scan_bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut repo: Option<PathBuf> = None;
    let mut known_file: Option<PathBuf> = None;
    let mut save_file: Option<PathBuf> = None;
    let mut rules: Option<PathBuf> = None;
    let mut options = GitScanOptions::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--known" => known_file = args.next().map(PathBuf::from),
            "--save-known" => save_file = args.next().map(PathBuf::from),
            "--rules" => rules = Some(PathBuf::from(args.next().ok_or("--rules needs DIR")?)),
            "--by-id" => options.walk_packs = false,
            "--threads" => options.threads = args.next().ok_or("--threads needs N")?.parse()?,
            "--max-blob-bytes" => {
                options.max_blob_bytes = args.next().ok_or("--max-blob-bytes needs N")?.parse()?
            }
            _ if repo.is_none() => repo = Some(PathBuf::from(arg)),
            other => return Err(format!("unexpected argument `{other}`").into()),
        }
    }
    let repo = repo.ok_or("usage: git_scan_bench REPO [--known FILE] [--save-known FILE]")?;
    if let Some(file) = &known_file {
        options.known = read_known(file)?;
    }
    let matcher = bench_matcher(rules.as_deref())?;
    let clock = Instant::now();
    let scan = scan_repository(&repo, &options, matcher.as_ref())?;
    let wall = clock.elapsed();
    if let Some(file) = &save_file {
        let mut known = options.known.clone();
        known.commits.extend(scan.new_commits.iter().copied());
        known.blobs.extend(scan.new_blobs.iter().copied());
        write_known(file, &known)?;
    }
    let out = serde_json::json!({
        "repository": repo.display().to_string(),
        "wall_seconds": wall.as_secs_f64(),
        "incremental": scan.incremental,
        "stats": scan.stats,
        "accounts": scan.report.observations.accounts.len(),
        "credentials": scan.report.observations.credentials.len(),
        "hits": scan.hits.len(),
        "new_blobs": scan.new_blobs.len(),
        "new_commits": scan.new_commits.len(),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

fn read_known(file: &PathBuf) -> Result<KnownObjects, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut known = KnownObjects::default();
    for (n, line) in text.lines().enumerate() {
        let (kind, id) = line
            .split_once(' ')
            .ok_or_else(|| format!("{}:{}: expected `c ID` or `b ID`", file.display(), n + 1))?;
        let id: Oid = id.parse()?;
        match kind {
            "c" => known.commits.insert(id),
            "b" => known.blobs.insert(id),
            _ => return Err(format!("{}:{}: unknown kind `{kind}`", file.display(), n + 1).into()),
        };
    }
    Ok(known)
}

fn write_known(file: &PathBuf, known: &KnownObjects) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(file)?);
    for id in &known.commits {
        writeln!(out, "c {id}")?;
    }
    for id in &known.blobs {
        writeln!(out, "b {id}")?;
    }
    out.flush()?;
    Ok(())
}

/// The built-in secret patterns (or those of `rules`), with a fixed benchmark fingerprint key.
fn bench_matcher(
    rules: Option<&std::path::Path>,
) -> Result<Box<dyn BlobMatcher>, Box<dyn std::error::Error>> {
    let patterns = match rules {
        Some(dir) => residual_scanners::secrets::load_dir(dir)?,
        None => residual_scanners::secrets::builtin()?,
    };
    Ok(Box::new(residual_scanners::secrets::Matcher::new(
        patterns,
        b"git_scan_bench",
    )?))
}
