#!/usr/bin/env bash
# Full-history secret scan of one repository by residual, the floor (git inflating every
# object once), Kingfisher and Nosey Parker, interleaved round by round in one session; prints
# every run (wall, user+sys CPU, peak RSS) and the medians, with ratios to the floor and to
# Nosey Parker.
#
#   benches/git_speed.sh REPO [ROUNDS]     (REPO: a bare clone, e.g. of rust-lang/cargo)
#
# Needs GNU time and a release build: `cargo build --release -p residual-scanners --example
# git_scan_bench` (the scanner without the store) and `cargo build --release` (`residual scan
# git`, store writes included). Peers are optional and skipped when absent: Kingfisher
# (`pip install kingfisher-bin==2.14.0`), Nosey Parker (built from source, `NOSEYPARKER=path`).
# Every residual run uses a fresh store, so each is a full scan.
set -euo pipefail
repo=${1:?usage: $0 REPO [ROUNDS]}
rounds=${2:-5}
here=$(dirname "$0")
bench=${RESIDUAL_GIT_BENCH:-$here/../target/release/examples/git_scan_bench}
bin=${RESIDUAL_BIN:-$here/../target/release/residual}
np=${NOSEYPARKER:-$(command -v noseyparker || true)}
kf=$(command -v kingfisher || true)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# run NAME COMMAND...: one timed run, recorded under NAME.
run() {
  local name=$1
  shift
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || true
  read -r wall user sys kib < <(tail -n 1 "$work/time")
  printf '%-22s %7.2f s wall %7.2f s cpu %6d MiB\n' "$name" "$wall" "$(echo "$user + $sys" | bc)" $((kib / 1024))
  echo "$wall" >>"$work/$name.wall"
  echo "$user + $sys" | bc >>"$work/$name.cpu"
  echo $((kib / 1024)) >>"$work/$name.rss"
}

names=(floor git_scan_bench residual)
for i in $(seq "$rounds"); do
  run floor git --git-dir="$repo" cat-file --batch-all-objects --batch --unordered
  run git_scan_bench "$bench" "$repo"
  rm -rf "$work/db"
  mkdir "$work/db"
  run residual "$bin" --db "$work/db/r.db" --quiet scan git "$repo"
  if [ -n "$kf" ]; then
    run kingfisher "$kf" scan "$repo" --turbo --no-validate --format json --output "$work/kf.json"
  fi
  if [ -n "$np" ]; then
    rm -rf "$work/np"
    run noseyparker "$np" scan --datastore "$work/np" "$repo"
  fi
done
[ -n "$kf" ] && names+=(kingfisher)
[ -n "$np" ] && names+=(noseyparker)

floor=$(median "$work/floor.wall")
np_wall=$([ -n "$np" ] && median "$work/noseyparker.wall" || echo "")
echo
printf '%-22s %10s %10s %10s %9s %9s\n' what "wall s" "cpu s" "peak MiB" "/floor" "/NP"
for n in "${names[@]}"; do
  w=$(median "$work/$n.wall")
  printf '%-22s %10s %10s %10s %9s %9s\n' "$n" "$w" "$(median "$work/$n.cpu")" "$(median "$work/$n.rss")" \
    "$(awk -v a="$w" -v b="$floor" 'BEGIN {printf "%.2f", a / b}')" \
    "$([ -n "$np_wall" ] && awk -v a="$w" -v b="$np_wall" 'BEGIN {printf "%.2f", a / b}' || echo -)"
done
