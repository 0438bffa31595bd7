#!/usr/bin/env python3
"""Scores secret matches against Plazmaz/leaky-repo's `.leaky-meta/secrets.csv`.

Per file, distinct matched lines count as true positives up to the file's "risk" lines; lines
beyond risk + informative lines are false positives, and every matched line in a file the CSV does
not list is a false positive. This is stricter than leaky-repo's own `.leaky-meta/benchmark.py`,
which counts raw findings (two rules on one line count twice), divides by risk + informative
lines, and ignores files the CSV does not list.

    python3 benches/score_leaky.py LEAKY_REPO_CHECKOUT MATCHES.jsonl
    python3 benches/score_leaky.py LEAKY_REPO_CHECKOUT residual=matches.jsonl \\
        gitleaks=gitleaks.json detect-secrets=ds.json kingfisher=kf.jsonl ...

Each TOOL=FILE names the tool whose output FILE holds; the tool name (before an optional `:`
suffix, `kingfisher:low=kf-low.jsonl`) picks the reader that turns it into (path, line) pairs:

- residual: JSONL of `scan_dir` (`path`, `line`, `suppressed`);
- gitleaks: `gitleaks detect --no-git -f json` report (`File`, `StartLine`);
- detect-secrets: `detect-secrets scan --all-files` baseline (`results` → `line_number`);
- kingfisher: `kingfisher scan --format jsonl` (`finding.path`, `finding.line`; the summary
  line has no `finding`).

Paths are made relative to the checkout; `.git/` and `.leaky-meta/` are left out.
"""
import collections
import json
import sys
from pathlib import Path


def read_residual(path):
    for line in open(path):
        m = json.loads(line)
        if not m.get("suppressed"):
            yield m["path"], m["line"]


def read_gitleaks(path):
    for m in json.load(open(path)) or []:
        yield m["File"], m["StartLine"]


def read_detect_secrets(path):
    for name, secrets in json.load(open(path))["results"].items():
        for s in secrets:
            yield name, s["line_number"]


def read_kingfisher(path):
    for line in open(path):
        m = json.loads(line)
        if "finding" in m:
            yield m["finding"]["path"], m["finding"]["line"]


READERS = {
    "residual": read_residual,
    "gitleaks": read_gitleaks,
    "detect-secrets": read_detect_secrets,
    "kingfisher": read_kingfisher,
}


def normalise(repo, path):
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.relative_to(repo.resolve())
        except ValueError:
            p = p.relative_to(repo)
    text = p.as_posix()
    while text.startswith("./"):
        text = text[2:]
    return text


def truth_of(repo):
    truth = {}
    for line in (repo / ".leaky-meta/secrets.csv").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, risk, info = line.split(",")[:3]
        truth[name.strip()] = (int(risk), int(info))
    return truth


def score(repo, truth, pairs):
    found = collections.defaultdict(set)
    for path, line in pairs:
        path = normalise(repo, path)
        if path.startswith((".git/", ".leaky-meta/")):
            continue
        found[path].add(int(line))
    tp = fp = 0
    fp_files = []
    for path, lines in found.items():
        risk, info = truth.get(path, (0, 0))
        tp += min(len(lines), risk)
        extra = max(0, len(lines) - risk - info)
        fp += extra
        if extra:
            fp_files.append(f"{path} (+{extra})")
    missed = sorted(p for p, (r, _) in truth.items() if r and p not in found)
    return tp, fp, len(found), missed, sorted(fp_files)


def main(argv):
    repo = Path(argv[1])
    truth = truth_of(repo)
    expected = sum(r for r, _ in truth.values())
    missing = [p for p in truth if not (repo / p).exists()]
    if missing:
        print(f"warning: listed in secrets.csv but absent: {', '.join(missing)}", file=sys.stderr)
    runs = []
    for arg in argv[2:]:
        tool, _, file = arg.rpartition("=") if "=" in arg else ("residual", "", arg)
        runs.append((tool, READERS[tool.split(":")[0]], file))
    if len(runs) == 1:
        tool, reader, file = runs[0]
        tp, fp, files, missed, fp_files = score(repo, truth, reader(file))
        print(f"true positives {tp}/{expected} (recall {tp / expected:.2f}), false positives {fp}, files found {files}")
        print(f"files with risk lines and no match ({len(missed)}): {', '.join(missed)}")
        if fp_files:
            print(f"false positives in: {', '.join(fp_files)}")
        return
    print("| tool | true positives / risk lines | recall | false positives | files with risk lines and no match |")
    print("| --- | --- | --- | --- | --- |")
    details = []
    for tool, reader, file in runs:
        tp, fp, _, missed, fp_files = score(repo, truth, reader(file))
        print(f"| {tool} | {tp} / {expected} | {tp / expected:.2f} | {fp} | {len(missed)} |")
        details.append(f"{tool}: missed {', '.join(missed) or '-'}; false positives in {', '.join(fp_files) or '-'}")
    print()
    print("\n".join(details))


if __name__ == "__main__":
    main(sys.argv)
