#!/usr/bin/env bash
# The benchmark (docs/benchmarks.md): a fresh database with 100 tenants, one of 1,000,000
# tickets; in-process latency, throughput, the consumer and every Lambda package, each
# next to its ceiling; writes bench/RESULTS.md. bench/harness.py does the work.
#   bash bench/run.sh                 # everything (the first run builds a release package per function)
#   bash bench/run.sh --no-packages   # skip the per-function packages
#   bash bench/run.sh --smoke         # every step on a tiny data set, seconds each (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
# pgbench comes with PostgreSQL's Debian packages, wrk from Debian; nothing else is fetched.
need=()
command -v pgbench >/dev/null || need+=(postgresql-contrib)
command -v wrk >/dev/null || need+=(wrk)
if [ ${#need[@]} -gt 0 ]; then
    echo "installing ${need[*]} from Debian"
    SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
exec python3 bench/harness.py "$@"
