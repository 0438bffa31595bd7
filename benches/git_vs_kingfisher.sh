#!/usr/bin/env bash
# Full-history scan of one repository by `residual scan git` (store writes included) and by
# Kingfisher `--turbo`, interleaved in one session, N pairs; prints every run and the medians
# and their ratio. Also times an incremental `scan git` with nothing new.
#
#   benches/git_vs_kingfisher.sh REPO [PAIRS]     (REPO: a bare clone, e.g. of rust-lang/cargo)
#
# Needs: a release build (`cargo build --release`), Kingfisher 2.14 (`pip install
# kingfisher-bin==2.14.0`), GNU time. Each residual run uses a fresh store, so each is a full scan.
set -euo pipefail
repo=${1:?usage: $0 REPO [PAIRS]}
pairs=${2:-3}
bin=${RESIDUAL_BIN:-$(dirname "$0")/../target/release/residual}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for i in $(seq "$pairs"); do
  rm -f "$work"/r.db*
  /usr/bin/time -f "%e %M" -o "$work/time" "$bin" --db "$work/r.db" --quiet scan git "$repo" >/dev/null 2>"$work/err" || true
  read -r wall kib < <(tail -n 1 "$work/time")
  printf 'residual scan git   run %d %7.2f s %6d MiB\n' "$i" "$wall" $((kib / 1024))
  echo "$wall" >>"$work/residual"
  /usr/bin/time -f "%e %M" -o "$work/time" kingfisher scan "$repo" --turbo --no-validate --format json --output "$work/kf.json" >/dev/null 2>"$work/err" || true
  read -r wall kib < <(tail -n 1 "$work/time")
  printf 'kingfisher --turbo  run %d %7.2f s %6d MiB\n' "$i" "$wall" $((kib / 1024))
  echo "$wall" >>"$work/kingfisher"
done
/usr/bin/time -f "%e %M" -o "$work/time" "$bin" --db "$work/r.db" --quiet scan git "$repo" >/dev/null 2>"$work/err" || true
read -r wall kib < <(tail -n 1 "$work/time")
printf 'residual incremental, nothing new %.2f s %d MiB\n' "$wall" $((kib / 1024))

r=$(median "$work/residual")
k=$(median "$work/kingfisher")
echo "median residual $r s, kingfisher --turbo $k s, ratio $(awk -v r="$r" -v k="$k" 'BEGIN {printf "%.2f", r / k}')"
