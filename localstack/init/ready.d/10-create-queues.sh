#!/usr/bin/env bash
# LocalStack init hook (docker-compose mounts this folder at /etc/localstack/init/ready.d):
# creates the events queue, the webhook queue, the export queue and their dead-letter queues.
set -euo pipefail
# shellcheck source=/dev/null
. /etc/localstack/queues.env
create() {
    local queue="$1" dlq="$2" visibility="$3" max_receive="${4:-$MAX_RECEIVE_COUNT}" dlq_url dlq_arn
    dlq_url=$(awslocal sqs create-queue --queue-name "$dlq" --query QueueUrl --output text)
    dlq_arn=$(awslocal sqs get-queue-attributes --queue-url "$dlq_url" --attribute-names QueueArn --query Attributes.QueueArn --output text)
    awslocal sqs create-queue --queue-name "$queue" --attributes "{
  \"VisibilityTimeout\": \"$visibility\",
  \"RedrivePolicy\": \"{\\\"deadLetterTargetArn\\\":\\\"$dlq_arn\\\",\\\"maxReceiveCount\\\":\\\"$max_receive\\\"}\"
}"
}
create "$EVENTS_QUEUE" "$EVENTS_DLQ" "$VISIBILITY_TIMEOUT"
create "$WEBHOOK_QUEUE" "$WEBHOOK_DLQ" "$WEBHOOK_VISIBILITY_TIMEOUT"
create "$EXPORT_QUEUE" "$EXPORT_DLQ" "$EXPORT_VISIBILITY_TIMEOUT" "$EXPORT_MAX_RECEIVE_COUNT"
echo "queues ready: $EVENTS_QUEUE, $WEBHOOK_QUEUE (DLQs $EVENTS_DLQ, $WEBHOOK_DLQ after $MAX_RECEIVE_COUNT receives), $EXPORT_QUEUE (DLQ $EXPORT_DLQ after $EXPORT_MAX_RECEIVE_COUNT)"
