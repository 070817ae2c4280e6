#!/usr/bin/env bash
# LocalStack init hook (docker-compose mounts this folder at /etc/localstack/init/ready.d):
# creates the events queue and its dead-letter queue.
set -euo pipefail
# shellcheck source=/dev/null
. /etc/localstack/queues.env
dlq_url=$(awslocal sqs create-queue --queue-name "$EVENTS_DLQ" --query QueueUrl --output text)
dlq_arn=$(awslocal sqs get-queue-attributes --queue-url "$dlq_url" --attribute-names QueueArn --query Attributes.QueueArn --output text)
awslocal sqs create-queue --queue-name "$EVENTS_QUEUE" --attributes "{
  \"VisibilityTimeout\": \"$VISIBILITY_TIMEOUT\",
  \"RedrivePolicy\": \"{\\\"deadLetterTargetArn\\\":\\\"$dlq_arn\\\",\\\"maxReceiveCount\\\":\\\"$MAX_RECEIVE_COUNT\\\"}\"
}"
echo "queues ready: $EVENTS_QUEUE (DLQ $EVENTS_DLQ after $MAX_RECEIVE_COUNT receives)"
