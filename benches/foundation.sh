#!/usr/bin/env bash
# Foundation benchmark: import a 100,000-person HR CSV, then scan and evaluate a 1,000,000-row
# inventory export twice (the second run sees every account and finding unchanged), then the same
# export a day later with 1% of its rows changed (the nightly case). Prints wall time and peak
# memory of each step and the store's size after each scan.
# Usage: benches/foundation.sh [WORKDIR]
#   RESIDUAL_BIN=PATH    the binary to time (default: build and use target/release/residual)
#   RESIDUAL_DB=URL      a PostgreSQL store instead of WORKDIR/bench.db: postgres://USER@HOST:PORT/DB
#                        naming an EMPTY database (createdb DB); its size is read with psql
#   PEOPLE=N ROWS=M      smaller inputs, to check the harness (default 100000 and 1000000)
# Phase timings of one scan: RESIDUAL_LOG=residual=debug target/release/residual --db DB scan ...
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
if [ -z "${RESIDUAL_BIN:-}" ]; then
    cargo build --release --quiet
fi
bin="${RESIDUAL_BIN:-$PWD/target/release/residual}"
people="${PEOPLE:-100000}"
rows="${ROWS:-1000000}"
python3 benches/gen_foundation.py "$work" "$people" "$rows"
cd "$work"
case "${RESIDUAL_DB:-}" in
postgres://* | postgresql://*)
    db="$RESIDUAL_DB"
    tables=$(psql -X -A -t -v ON_ERROR_STOP=1 -d "$db" -c \
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
    if [ "$tables" != 0 ]; then
        echo "error: the database of RESIDUAL_DB holds $tables table(s): give an empty one (createdb)" >&2
        exit 2
    fi
    # Key files of a PostgreSQL store go here (the SQLite store keeps them beside its file).
    export RESIDUAL_KEY_DIR="$PWD"
    store() {
        echo "store after $1: $(psql -X -A -t -d "$db" -c 'SELECT pg_database_size(current_database())') bytes (pg_database_size)"
    }
    ;;
*)
    db=bench.db
    rm -f bench.db bench.db-wal bench.db-shm
    store() {
        echo "store after $1: $(cat bench.db bench.db-wal 2>/dev/null | wc -c) bytes"
    }
    ;;
esac
step() {
    local label="$1"; shift
    /usr/bin/time -f "$label: wall %e s, user %U s, sys %S s, peak %M KiB" "$@" >/dev/null
}
step "hr import ($people people)" "$bin" --db "$db" -q hr import hr.csv --as-of 2026-11-01
step "scan + evaluate ($rows rows), first run" "$bin" --db "$db" -q scan inventory --system bench inventory.csv
store "the first run"
step "scan + evaluate ($rows rows), second run" "$bin" --db "$db" -q scan inventory --system bench inventory.csv
store "the second run"
step "scan + evaluate ($rows rows, 1 in 100 changed), third run" "$bin" --db "$db" -q scan inventory --system bench inventory-nightly.csv
store "the third run"
step "findings --format json (all open)" "$bin" --db "$db" findings --format json
step "cases --format json (about 10,000 leaver cases)" "$bin" --db "$db" cases --format json
rm -rf pack
step "report --out pack (the evidence pack)" "$bin" --db "$db" -q report --out pack
echo "pack: $(du -sb pack | cut -f1) bytes"
step "report verify pack" "$bin" --db "$db" report verify pack
