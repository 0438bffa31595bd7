//! Micro benchmark of the secret matcher: throughput in MB/s over a directory of files.
//!
//! Reads every regular file under the corpus directory into memory first (so disk speed is not
//! measured), then scans them all with the built-in patterns, once on one thread and once on
//! every available core, and prints throughput plus the most frequent pattern ids (a quick check
//! for noisy rules). See `benches/README-secrets.md` for the command.
//!
//! Corpus: the first argument that is not a flag, or `RESIDUAL_BENCH_CORPUS`, or
//! `~/.cargo/registry/src`.

use residual_scanners::secrets::{builtin, Matcher};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() {
    let corpus = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("RESIDUAL_BENCH_CORPUS").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/registry/src")))
        .expect("give a corpus directory as argument or RESIDUAL_BENCH_CORPUS");
    let started = Instant::now();
    let patterns = builtin().expect("built-in patterns load");
    let pattern_count = patterns.len();
    let matcher = Matcher::new(patterns, b"bench key").expect("matcher builds");
    let build = started.elapsed();

    let mut files = Vec::new();
    collect(&corpus, &mut files);
    let total: usize = files.iter().map(|(_, b)| b.len()).sum();
    let scanned: usize = files
        .iter()
        .filter(|(_, b)| matcher.skip_reason(b).is_none())
        .map(|(_, b)| b.len())
        .sum();
    println!(
        "corpus {}: {} files, {:.1} MB ({:.1} MB not binary/oversized); {} patterns built in {:.1} ms",
        corpus.display(),
        files.len(),
        total as f64 / 1e6,
        scanned as f64 / 1e6,
        pattern_count,
        build.as_secs_f64() * 1e3
    );

    // Baseline: the cheapest possible pass over the same bytes (count newlines), to put the
    // numbers of a loaded or throttled machine in proportion.
    let t = Instant::now();
    let lines: usize = files
        .iter()
        .map(|(_, b)| memchr::memchr_iter(b'\n', b).count())
        .sum();
    let base = t.elapsed().as_secs_f64();
    println!(
        "baseline : {:.3} s, {:.0} MB/s (memchr newline count, {lines} lines)",
        base,
        total as f64 / 1e6 / base
    );

    // One thread.
    let t = Instant::now();
    let mut per_pattern: BTreeMap<String, usize> = BTreeMap::new();
    let mut suppressed = 0;
    for (path, bytes) in &files {
        for m in matcher.scan(Some(path), bytes) {
            suppressed += usize::from(m.suppressed.is_some());
            *per_pattern.entry(m.pattern_id).or_default() += 1;
        }
    }
    let one = t.elapsed().as_secs_f64();
    let matches: usize = per_pattern.values().sum();
    println!(
        "1 thread : {:.2} s, {:.0} MB/s, {matches} matches ({suppressed} suppressed)",
        one,
        total as f64 / 1e6 / one
    );

    // All cores: files dealt round-robin to threads.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let t = Instant::now();
    let counts: Vec<usize> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|k| {
                let (files, matcher) = (&files, &matcher);
                s.spawn(move || {
                    files
                        .iter()
                        .skip(k)
                        .step_by(threads)
                        .map(|(p, b)| matcher.scan(Some(p), b).len())
                        .sum::<usize>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
    });
    let all = t.elapsed().as_secs_f64();
    println!(
        "{threads} threads: {:.2} s, {:.0} MB/s, {} matches",
        all,
        total as f64 / 1e6 / all,
        counts.iter().sum::<usize>()
    );

    if std::env::var_os("RESIDUAL_BENCH_PER_PATTERN").is_some() {
        per_pattern_costs(&matcher, &files);
    }

    let mut top: Vec<_> = per_pattern.into_iter().collect();
    top.sort_by_key(|entry| std::cmp::Reverse(entry.1));
    println!("most frequent patterns:");
    for (id, n) in top.iter().take(15) {
        println!("  {n:>7}  {id}");
    }
}

/// Where the time goes: the keyword pass alone, then each pattern's regex over the files that
/// contain one of its keywords (what the prefilter lets through), slowest first.
fn per_pattern_costs(matcher: &Matcher, files: &[(String, Vec<u8>)]) {
    use aho_corasick::AhoCorasickBuilder;
    let mut keywords: Vec<String> = matcher
        .patterns()
        .iter()
        .filter(|p| p.paths.is_empty())
        .flat_map(|p| p.keywords.iter().map(|k| k.to_ascii_lowercase()))
        .collect();
    keywords.sort();
    keywords.dedup();
    for kind in [None, Some(aho_corasick::AhoCorasickKind::DFA)] {
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .kind(kind)
            .build(&keywords)
            .expect("automaton builds");
        let t = Instant::now();
        let hits: usize = files
            .iter()
            .map(|(_, b)| ac.find_overlapping_iter(b.as_slice()).count())
            .sum();
        println!(
            "keyword pass alone ({:?}): {:.2} s, {hits} keyword hits",
            ac.kind(),
            t.elapsed().as_secs_f64()
        );
        let mut per_keyword = vec![0usize; keywords.len()];
        for (_, b) in files {
            for hit in ac.find_overlapping_iter(b.as_slice()) {
                per_keyword[hit.pattern().as_usize()] += 1;
            }
        }
        let mut noisy: Vec<_> = per_keyword.iter().zip(&keywords).collect();
        noisy.sort_by_key(|entry| std::cmp::Reverse(*entry.0));
        let noisy: Vec<String> = noisy
            .iter()
            .take(12)
            .map(|(n, k)| format!("{k:?} {n}"))
            .collect();
        println!("  most frequent keywords: {}", noisy.join(", "));
    }
    let mut costs = Vec::new();
    for pattern in matcher.patterns() {
        let own = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(&pattern.keywords)
            .expect("automaton builds");
        let selected: Vec<&[u8]> = files
            .iter()
            .filter(|(p, b)| pattern.applies_to(Some(p)) && own.is_match(b.as_slice()))
            .map(|(_, b)| b.as_slice())
            .collect();
        let bytes: usize = selected.iter().map(|b| b.len()).sum();
        let t = Instant::now();
        let n: usize = selected
            .iter()
            .map(|b| pattern.regex().captures_iter(b).count())
            .sum();
        costs.push((
            t.elapsed().as_secs_f64(),
            pattern.id.clone(),
            selected.len(),
            bytes,
            n,
        ));
    }
    costs.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("slowest regexes (seconds, id, files selected, MB selected, raw matches):");
    for (secs, id, files, bytes, n) in costs.iter().take(20) {
        println!(
            "  {secs:.3}  {id}  {files}  {:.1}  {n}",
            *bytes as f64 / 1e6
        );
    }
}

fn collect(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect(&path, out);
        } else if kind.is_file() {
            if let Ok(bytes) = std::fs::read(&path) {
                out.push((path.display().to_string(), bytes));
            }
        }
    }
}
