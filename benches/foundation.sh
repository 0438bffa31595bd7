#!/usr/bin/env bash
# Foundation benchmark: import a 100,000-person HR CSV, then scan and evaluate a 1,000,000-row
# inventory export twice (the second run sees every account and finding unchanged). Prints wall
# time and peak memory of each step and the store's size after each scan.
# Usage: benches/foundation.sh [WORKDIR]
# Phase timings of one scan: RESIDUAL_LOG=residual=debug target/release/residual --db DB scan ...
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
cargo build --release --quiet
bin="${RESIDUAL_BIN:-$PWD/target/release/residual}"
python3 benches/gen_foundation.py "$work" 100000 1000000
cd "$work"
rm -f bench.db bench.db-wal bench.db-shm
step() {
    local label="$1"; shift
    /usr/bin/time -f "$label: wall %e s, user %U s, sys %S s, peak %M KiB" "$@" >/dev/null
}
store() {
    echo "store after $1: $(cat bench.db bench.db-wal 2>/dev/null | wc -c) bytes"
}
step "hr import (100k people)" "$bin" --db bench.db -q hr import hr.csv --as-of 2026-11-01
step "scan + evaluate (1M rows), first run" "$bin" --db bench.db -q scan inventory --system bench inventory.csv
store "the first run"
step "scan + evaluate (1M rows), second run" "$bin" --db bench.db -q scan inventory --system bench inventory.csv
store "the second run"
step "findings --format json (all open)" "$bin" --db bench.db findings --format json
step "cases --format json (about 10,000 leaver cases)" "$bin" --db bench.db cases --format json
rm -rf pack
step "report --out pack (the evidence pack)" "$bin" --db bench.db -q report --out pack
echo "pack: $(du -sb pack | cut -f1) bytes"
step "report verify pack" "$bin" --db bench.db report verify pack
