#!/usr/bin/env bash
# The layering checker must pass on the tree and must fail on a tree that breaks a rule.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
bash "$here/scripts/check-includes.sh" "$here"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/workloads" "$tmp/coord"
printf '#include "sim/simulator.h"\n' > "$tmp/workloads/bad.cc"
if bash "$here/scripts/check-includes.sh" "$tmp" > "$tmp/out" 2>&1; then
  echo "FAIL: checker accepted workloads/ including sim/"; exit 1
fi
grep -q "workloads/ must not include sim/" "$tmp/out" || { echo "FAIL: no clear message"; cat "$tmp/out"; exit 1; }
rm "$tmp/workloads/bad.cc"
printf '#include "sim/network.h"\n' > "$tmp/coord/bad.h"
if bash "$here/scripts/check-includes.sh" "$tmp" > /dev/null 2>&1; then
  echo "FAIL: checker accepted coord/ including sim/"; exit 1
fi
echo "check-includes: passes on the tree, fails on violations"
