#!/usr/bin/env bash
# Builds the hand-labelled corpus (benches/secrets_eval/corpus.py) in a temporary directory,
# runs residual and the peers found on PATH over the same working tree, and prints recall,
# precision and F1 per class (benches/secrets_eval/score.py). Nothing fetched or generated is
# kept; the corpus is rebuilt from its seed each run.
#
#   benches/secrets_eval/run.sh [SEED]
#   RESIDUAL_EVAL_CORPUS=DIR benches/secrets_eval/run.sh    # a corpus with labels.jsonl, e.g.
#                                                           # from ds_fixtures.py
#
# residual: the `scan_dir` example (RESIDUAL_SCAN_DIR=path to a built binary, else cargo run;
# RESIDUAL_RULES=DIR loads rules from DIR instead of the built-in copy). Peers, each skipped
# when absent: gitleaks (`gitleaks detect --no-git`), detect-secrets 1.5 (`scan --all-files`),
# Kingfisher 2.14 (`--no-validate --no-dedup`, default and `--confidence low`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seed=${1:-18}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ -n "${RESIDUAL_EVAL_CORPUS:-}" ]; then
  corpus=$RESIDUAL_EVAL_CORPUS
else
  corpus=$work/corpus
  python3 "$here/corpus.py" "$corpus" --seed "$seed"
fi

runs=()
scan_dir=${RESIDUAL_SCAN_DIR:-}
rules_args=()
[ -n "${RESIDUAL_RULES:-}" ] && rules_args=(--rules "$RESIDUAL_RULES")
if [ -n "$scan_dir" ]; then
  "$scan_dir" "${rules_args[@]}" "$corpus" >"$work/residual.jsonl"
else
  (cd "$here/../.." && cargo run -q -p residual-scanners --example scan_dir -- "${rules_args[@]}" "$corpus") >"$work/residual.jsonl"
fi
runs+=("residual=$work/residual.jsonl")

if command -v gitleaks >/dev/null; then
  gitleaks detect --no-git -s "$corpus" -f json -r "$work/gitleaks.json" >/dev/null 2>&1 || true
  runs+=("gitleaks=$work/gitleaks.json")
fi
if command -v detect-secrets >/dev/null; then
  (cd "$corpus" && detect-secrets scan --all-files . >"$work/ds.json")
  runs+=("detect-secrets=$work/ds.json")
fi
if command -v kingfisher >/dev/null; then
  kingfisher scan "$corpus" --git-history none --no-validate --no-dedup --format jsonl -o "$work/kf.jsonl" >/dev/null 2>&1 || true
  kingfisher scan "$corpus" --git-history none --no-validate --no-dedup --confidence low --format jsonl -o "$work/kf-low.jsonl" >/dev/null 2>&1 || true
  runs+=("kingfisher=$work/kf.jsonl" "kingfisher:low=$work/kf-low.jsonl")
fi
python3 "$here/score.py" "$corpus" "${runs[@]}" ${RESIDUAL_EVAL_MISSES:+--misses residual}
