#!/usr/bin/env python3
"""Scores secret scanners' matches against the labels of benches/secrets_eval/corpus.py.

    python3 benches/secrets_eval/score.py CORPUS_DIR TOOL=FILE [TOOL=FILE ...] [--misses TOOL]

The tool name before an optional `:` suffix picks the reader (the readers of
benches/score_leaky.py: residual scan_dir JSONL, gitleaks JSON, detect-secrets baseline,
Kingfisher JSONL). Per class (the first directory of each path):

- a positive span with at least one matched line is one true positive, however many lines or
  rules matched in it; a positive span without one is a false negative;
- every distinct matched line outside the positive spans is one false positive (a negative span
  or an unlabelled context line);

recall = TP / positive spans, precision = TP / (TP + FP), F1 their harmonic mean. `--misses
TOOL` lists that tool's false negatives and false positives (paths and lines, never values).
"""
import collections
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from score_leaky import READERS, normalise  # noqa: E402


def load_labels(corpus):
    spans = collections.defaultdict(list)
    for line in open(corpus / "labels.jsonl"):
        label = json.loads(line)
        spans[label["path"]].append(label)
    return spans


def score(corpus, spans, pairs):
    found = collections.defaultdict(set)
    for path, line in pairs:
        found[normalise(corpus, path)].add(int(line))
    per_class = collections.defaultdict(lambda: {"tp": 0, "fn": 0, "fp": 0, "neg": 0})
    misses, false_pos = [], []
    for path, labels in spans.items():
        for label in labels:
            if not label["positive"]:
                per_class[label["class"]]["neg"] += 1
                continue
            hit = any(label["first"] <= n <= label["last"] for n in found.get(path, ()))
            per_class[label["class"]]["tp" if hit else "fn"] += 1
            if not hit:
                misses.append(f"{path}:{label['first']}")
    for path, lines in found.items():
        if path == "labels.jsonl":
            continue
        cls = path.split("/")[0]
        positive = [lab for lab in spans.get(path, []) if lab["positive"]]
        for n in sorted(lines):
            if not any(lab["first"] <= n <= lab["last"] for lab in positive):
                per_class[cls]["fp"] += 1
                false_pos.append(f"{path}:{n}")
    return per_class, misses, false_pos


def ratios(s):
    tp, fn, fp = s["tp"], s["fn"], s["fp"]
    recall = tp / (tp + fn) if tp + fn else float("nan")
    precision = tp / (tp + fp) if tp + fp else float("nan")
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return recall, precision, f1


def main(argv):
    corpus = Path(argv[1])
    spans = load_labels(corpus)
    show = argv[argv.index("--misses") + 1] if "--misses" in argv else None
    runs = [a for a in argv[2:] if "=" in a]
    results = {}
    for arg in runs:
        tool, file = arg.split("=", 1)
        results[tool] = score(corpus, spans, READERS[tool.split(":")[0]](file))
    classes = sorted({c for per_class, _, _ in results.values() for c in per_class})
    print("| class | tool | TP | FN | FP | recall | precision | F1 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for cls in classes + ["all"]:
        for tool, (per_class, _, _) in results.items():
            if cls == "all":
                s = {k: sum(v[k] for v in per_class.values()) for k in ("tp", "fn", "fp")}
            else:
                s = per_class[cls]
            recall, precision, f1 = ratios(s)
            print(f"| {cls} | {tool} | {s['tp']} | {s['fn']} | {s['fp']} | {recall:.2f} | {precision:.2f} | {f1:.2f} |")
    if show:
        _, misses, false_pos = results[show]
        print(f"\n{show} false negatives ({len(misses)}): {' '.join(misses)}")
        print(f"{show} false positives ({len(false_pos)}): {' '.join(false_pos)}")


if __name__ == "__main__":
    main(sys.argv)
