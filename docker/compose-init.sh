#!/usr/bin/env bash
# One-shot setup for docker-compose.yml: the Pub/Sub topics and subscriptions of every op (with the
# same ack deadline, retry policy and dead-letter policy as Terraform's) and the bucket. Safe to run
# again: "already exists" (409) counts as success.
set -euo pipefail

OPS=(upscale enhance comic background-removal)
PREFIX=imagen
ACK_DEADLINE_S=60
MIN_BACKOFF=10s
MAX_BACKOFF=600s
MAX_DELIVERY_ATTEMPTS=5

put() { # url json
  local code
  code=$(curl -sS -o /tmp/out -w '%{http_code}' -X PUT -H 'content-type: application/json' -d "$2" "$1")
  if [[ $code != 200 && $code != 409 ]]; then
    echo "PUT $1 -> $code: $(cat /tmp/out)" >&2
    exit 1
  fi
}

ps="$PUBSUB/v1/projects/$PROJECT"
for op in "${OPS[@]}"; do
  topic="$PREFIX-$op" dead="$PREFIX-$op-dead-letter"
  put "$ps/topics/$topic" '{}'
  put "$ps/topics/$dead" '{}'
  put "$ps/subscriptions/$dead-sub" "{\"topic\":\"projects/$PROJECT/topics/$dead\",\"ackDeadlineSeconds\":$ACK_DEADLINE_S}"
  put "$ps/subscriptions/$topic-worker" "{\"topic\":\"projects/$PROJECT/topics/$topic\",\"ackDeadlineSeconds\":$ACK_DEADLINE_S,\
\"retryPolicy\":{\"minimumBackoff\":\"$MIN_BACKOFF\",\"maximumBackoff\":\"$MAX_BACKOFF\"},\
\"deadLetterPolicy\":{\"deadLetterTopic\":\"projects/$PROJECT/topics/$dead\",\"maxDeliveryAttempts\":$MAX_DELIVERY_ATTEMPTS}}"
  echo "pubsub: $topic, $topic-worker, $dead, $dead-sub"
done

code=$(curl -sS -o /tmp/out -w '%{http_code}' -X POST -H 'content-type: application/json' \
  -d "{\"name\":\"$BUCKET\"}" "$GCS/storage/v1/b?project=$PROJECT")
if [[ $code != 200 && $code != 409 ]]; then
  echo "create bucket $BUCKET -> $code: $(cat /tmp/out)" >&2
  exit 1
fi
echo "gcs: $BUCKET"

# A throwaway service-account key for signing URLs against fake-gcs-server (it does not verify them).
if [[ ! -s /keys/signer.json ]]; then
  openssl genrsa -out /tmp/signer.pem 2048 2>/dev/null
  python3 -c 'import json; print(json.dumps({"client_email": "signer@imagen-local.iam.gserviceaccount.com", "private_key": open("/tmp/signer.pem").read()}))' >/keys/signer.json
fi
echo "signing key: /keys/signer.json"
