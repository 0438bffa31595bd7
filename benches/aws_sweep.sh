#!/bin/sh
# Benchmark of the aws-iam sweep against moto (see benches/README-aws.md).
# Needs python3 with `moto[server]`; all traffic stays on 127.0.0.1.
# Extra arguments go to the benchmark, e.g. `benches/aws_sweep.sh --users 500`.
set -eu
cd "$(dirname "$0")/.."
exec cargo run -p residual-scanners --example aws_sweep -- \
    --users 2000 --keys-per-user 2 --roles 500 --groups 100 --concurrency 8 "$@"
