#!/usr/bin/env bash
# The unit-test binaries that also run under ASan+UBSan (module test binaries that exist).
cd "$(dirname "$0")/.." || exit 1
for m in runtime runtime_real buggify sim rpc coord; do
  if compgen -G "tests/$m/*.cc" > /dev/null; then printf 'test_%s ' "$m"; fi
done
