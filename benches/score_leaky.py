#!/usr/bin/env python3
"""Scores secret matches against Plazmaz/leaky-repo's `.leaky-meta/secrets.csv`, the way its own
benchmark does: per file, distinct matched lines count as true positives up to the file's "risk"
lines; lines beyond risk + informative lines are false positives.

    python3 benches/score_leaky.py LEAKY_REPO_CHECKOUT MATCHES.jsonl
"""
import collections
import json
import sys
from pathlib import Path

repo, matches = Path(sys.argv[1]), sys.argv[2]
truth = {}
for line in (repo / ".leaky-meta/secrets.csv").read_text().splitlines():
    if line.startswith("#") or not line.strip():
        continue
    name, risk, info = line.split(",")[:3]
    truth[name] = (int(risk), int(info))
found = collections.defaultdict(set)
for line in open(matches):
    m = json.loads(line)
    if not m.get("suppressed") and not m["path"].startswith(".leaky-meta/"):
        found[m["path"]].add(m["line"])
expected = sum(r for r, _ in truth.values())
tp = fp = 0
for path, lines in found.items():
    risk, info = truth.get(path, (0, 0))
    tp += min(len(lines), risk)
    fp += max(0, len(lines) - risk - info)
missed = sorted(p for p, (r, _) in truth.items() if r and p not in found)
print(f"true positives {tp}/{expected} (recall {tp / expected:.2f}), false positives {fp}, files found {len(found)}")
print(f"files with risk lines and no match ({len(missed)}): {', '.join(missed)}")
