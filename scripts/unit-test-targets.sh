#!/usr/bin/env bash
# The unit-test binaries that also run under ASan+UBSan (module test binaries that exist).
# The wire and disk decoders (kafka_protocol, broker_log) are in: hostile input is their job.
# coord's are left out of `make test` to keep a cold CI run well inside its time budget;
# `make test-asan-all` adds them (WEIR_ASAN_EXTRA_MODULES=coord).
cd "$(dirname "$0")/.." || exit 1
for m in runtime runtime_real buggify sim rpc framed kafka_protocol broker_log ${WEIR_ASAN_EXTRA_MODULES:-}; do
  if compgen -G "tests/$m/*.cc" > /dev/null; then printf 'test_%s ' "$m"; fi
done
