#!/usr/bin/env bash
# Query plans on a tenant of many tickets: creates a database, migrates it, loads
# bench/load.sql (3 tenants) and prints bench/explain.sql's EXPLAIN ANALYZE output.
#   bash bench/plans.sh [tickets] [customers]
set -euo pipefail
cd "$(dirname "$0")/.."
TICKETS="${1:-100000}"
CUSTOMERS="${2:-5000}"
SERVER="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB="crm_plans"
URL="${SERVER%/*}/$DB"
psql "$SERVER" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
DATABASE_URL="$URL" LOG_FORMAT=pretty cargo run -q -p crm-local -- migrate
start=$(date +%s)
psql "$URL" -q -v tenants=3 -v big_tickets="$TICKETS" -v big_customers="$CUSTOMERS" -v small_tickets=100 -f bench/load.sql
echo "loaded $TICKETS tickets and $CUSTOMERS customers in $(($(date +%s) - start)) s"
psql "$URL" -f bench/explain.sql
