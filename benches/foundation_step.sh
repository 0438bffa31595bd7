#!/usr/bin/env bash
# One run of the foundation benchmark from a prepared store, for timing two builds side by side
# (`farm-bench ... --vs "benches/foundation_step.sh first $BEFORE $WORK/before" -- benches/foundation_step.sh first $AFTER $WORK/after`).
# Each build needs stores it wrote itself: an older build may not read a newer schema, and a
# newer one would upgrade an older store inside the timing.
#
# Usage: benches/foundation_step.sh prepare BIN DIR INPUTS   HR-only store (DIR/hr) and the store
#                                                          after a first run (DIR/after1) of BIN
#        benches/foundation_step.sh first|second|nightly BIN DIR
#   first    the first scan of INPUTS/inventory.csv, from a copy of DIR/hr
#   second   the same export again (nothing changed), from a copy of DIR/after1
#   nightly  INPUTS/inventory-nightly.csv (1% of rows changed), from a copy of DIR/after1
# The copy is made inside the timing (a few hundred MB for second and nightly: about 0.1 s); the
# wall time and peak of the scan alone are appended to DIR/STEP.time.
# INPUTS comes from `python3 benches/gen_foundation.py INPUTS` and is remembered in DIR/inputs.
set -euo pipefail
step="$1" bin="$(realpath "$2")" dir="$3"
case "$step" in
prepare)
    inputs="$(realpath "$4")"
    rm -rf "$dir" && mkdir -p "$dir/hr"
    echo "$inputs" >"$dir/inputs"
    (cd "$dir/hr" && "$bin" --db s.db -q hr import "$inputs/hr.csv" --as-of 2026-11-01)
    cp -r "$dir/hr" "$dir/after1"
    (cd "$dir/after1" && "$bin" --db s.db -q scan inventory --system bench "$inputs/inventory.csv" >/dev/null)
    exit 0
    ;;
first) from=hr export=inventory.csv ;;
second) from=after1 export=inventory.csv ;;
nightly) from=after1 export=inventory-nightly.csv ;;
*)
    echo "error: unknown step \`$step\` (prepare, first, second or nightly)" >&2
    exit 2
    ;;
esac
inputs="$(cat "$dir/inputs")"
rm -rf "$dir/run" && cp -r "$dir/$from" "$dir/run"
cd "$dir/run"
/usr/bin/time -a -o "$dir/$step.time" -f "%e s %M KiB" \
    "$bin" --db s.db -q scan inventory --system bench "$inputs/$export" >/dev/null
