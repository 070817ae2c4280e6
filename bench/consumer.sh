#!/usr/bin/env bash
# Consumer throughput: N ticket events pre-loaded into a real SQS queue, then crm-local's
# event source emulation (long-poll 10, the ticket-consumer handler, batch delete) drains
# them into notifications. Prints events per second.
#   bash bench/consumer.sh [events]            # LocalStack from PyPI on 127.0.0.1:4567
#   SQS_BENCH_ENDPOINT=http://127.0.0.1:4566 bash bench/consumer.sh   # an endpoint already up
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-2000}"
TOOLS_DIR="${CRM_TOOLS_DIR:-$HOME/.cache/simplecrm-tools}"
LS_VENV="$TOOLS_DIR/localstack-venv"
SERVER="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DB=crm_bench_consumer
URL="${SERVER%/*}/$DB"
export AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true

ENDPOINT="${SQS_BENCH_ENDPOINT:-}"
if [ -z "$ENDPOINT" ]; then
    ENDPOINT=http://127.0.0.1:4567
    if [ ! -x "$LS_VENV/bin/python" ]; then
        python3 -m venv "$LS_VENV"
        # The pins of LOCAL-AWS.md: newer releases need Python 3.12+.
        "$LS_VENV/bin/pip" install -q 'localstack-core[runtime]==4.13.1' 'cbor2<6' 'pyopenssl<26' 'cryptography<47' service-identity boto3
    fi
    root=$(mktemp -d)
    OVERRIDE_IN_DOCKER=0 FILESYSTEM_ROOT="$root" GATEWAY_LISTEN=127.0.0.1:4567 SERVICES=sqs EAGER_SERVICE_LOADING=1 \
        DISABLE_EVENTS=1 SQS_ENDPOINT_STRATEGY=path LOCALSTACK_HOST=127.0.0.1:4567 \
        "$LS_VENV/bin/python" -m localstack.runtime.main >"$root/localstack.log" 2>&1 &
    ls_pid=$!
    trap 'kill $ls_pid 2>/dev/null || true' EXIT
    for _ in $(seq 1 120); do
        curl -fs "$ENDPOINT/_localstack/health" 2>/dev/null | grep -q '"sqs": "running"' && break
        sleep 0.5
    done
fi
PY="$LS_VENV/bin/python"
[ -x "$PY" ] || PY="$TOOLS_DIR/moto-venv/bin/python"

cargo build -q --release -p crm-local
BIN=target/release/crm-local
psql "$SERVER" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
DATABASE_URL="$URL" LOG_FORMAT=pretty RUST_LOG=warn "$BIN" migrate
ids=$(psql "$URL" -Atc "
    INSERT INTO tenants (id, name) VALUES (gen_random_uuid(), 'Bench') RETURNING id" | head -1)
ticket=$(psql "$URL" -Atc "
    WITH c AS (INSERT INTO customers (tenant_id, id, name, email) VALUES ('$ids', gen_random_uuid(), 'C', 'c@bench.test') RETURNING tenant_id, id)
    INSERT INTO tickets (tenant_id, id, customer_id, title, description) SELECT tenant_id, gen_random_uuid(), id, 'Bench', '' FROM c RETURNING id" | head -1)

QUEUE_URL=$("$PY" - "$ENDPOINT" "$N" "$ids" "$ticket" <<'PY'
import json, sys, uuid, boto3
endpoint, n, tenant, ticket = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1")
url = sqs.create_queue(QueueName=f"bench-{uuid.uuid4().hex[:8]}")["QueueUrl"]
for start in range(0, n, 10):
    entries = [{"Id": str(i), "MessageBody": json.dumps({
        "eventId": str(uuid.uuid4()), "type": "ticket.status_changed", "tenantId": tenant, "ticketId": ticket,
        "actorId": str(uuid.uuid4()), "occurredAt": "2026-11-25T16:00:00Z",
        "before": {"status": "OPEN"}, "after": {"status": "IN_PROGRESS"}})} for i in range(min(10, n - start))]
    sqs.send_message_batch(QueueUrl=url, Entries=entries)
print(url)
PY
)
echo "loaded $N events into $QUEUE_URL"

start=$(date +%s.%N)
DATABASE_URL="$URL" SQS_QUEUE_URL="$QUEUE_URL" AWS_ENDPOINT_URL="$ENDPOINT" LISTEN_ADDR=127.0.0.1:3997 RUST_LOG=warn "$BIN" &
api_pid=$!
while [ "$(psql "$URL" -Atc 'SELECT count(*) FROM notifications')" -lt "$N" ]; do sleep 0.2; done
end=$(date +%s.%N)
kill -TERM $api_pid; wait $api_pid || true
python3 -c "n=$N; s=$end-$start; print(f'consumed {n} events in {s:.1f} s: {n/s:.0f} events/s (one crm-local poller, release build, endpoint $ENDPOINT)')"
psql "$SERVER" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
