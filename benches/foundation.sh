#!/usr/bin/env bash
# Foundation benchmark (issue 1/4): import a 100,000-person HR CSV, then scan and evaluate a
# 1,000,000-row inventory export, twice (the second run sees every finding again). Prints wall
# time and peak memory of each step. Usage: benches/foundation.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
cargo build --release --quiet
bin="$PWD/target/release/residual"
python3 benches/gen_foundation.py "$work" 100000 1000000
cd "$work"
rm -f bench.db bench.db-wal bench.db-shm
step() {
    local label="$1"; shift
    /usr/bin/time -f "$label: wall %e s, user %U s, sys %S s, peak %M KiB" "$@" >/dev/null
}
step "hr import (100k people)" "$bin" --db bench.db -q hr import hr.csv --as-of 2026-11-01
step "scan + evaluate (1M rows), first run" "$bin" --db bench.db -q scan inventory --system bench inventory.csv
step "scan + evaluate (1M rows), second run" "$bin" --db bench.db -q scan inventory --system bench inventory.csv
step "findings --format json (all open)" "$bin" --db bench.db findings --format json
ls -la bench.db* | awk '{print "store: " $5 " bytes " $9}'
