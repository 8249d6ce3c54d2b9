#!/usr/bin/env bash
# The committed codecs in broker/kafka/protocol are what gen_kafka.py makes of Kafka's schemas:
# regenerates into a temporary directory and compares. Skipped (77) where the schemas
# (../shared/reference/kafka/messages, next to the repository) are not present.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
schemas="${KAFKA_SCHEMAS:-$repo/../shared/reference/kafka/messages}"
if [[ ! -d "$schemas" ]]; then
  echo "SKIP: no Kafka schemas at $schemas"; exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$repo" && python3 broker/kafka/protocol/gen_kafka.py "$schemas" "$tmp")
status=0
for f in messages.h messages.cc error_codes.h error_codes.cc; do
  if ! diff -q "$tmp/$f" "$repo/broker/kafka/protocol/$f" >/dev/null; then
    echo "FAIL: broker/kafka/protocol/$f differs from what gen_kafka.py generates:"
    diff "$tmp/$f" "$repo/broker/kafka/protocol/$f" | head -20
    status=1
  fi
done
[[ $status -eq 0 ]] && echo "generated codecs are current"
exit $status
