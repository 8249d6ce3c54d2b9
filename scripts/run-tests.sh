#!/usr/bin/env bash
# Runs every test: all ctest tests of the release build, then the unit tests again under
# ASan+UBSan. Ends with one line "N passed, N failed" covering both.
set -uo pipefail
build="${1:-build}"
asan="${2:-build-asan}"
jobs=$(nproc)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

ctest --test-dir "$build" --output-on-failure -j "$jobs" --timeout 900 2>&1 | tee -a "$log"
rc1=${PIPESTATUS[0]}
echo "== unit tests under ASan+UBSan =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir "$asan" --output-on-failure -j "$jobs" -L unit --timeout 900 2>&1 | tee -a "$log"
rc2=${PIPESTATUS[0]}

passed=0; failed=0
while read -r line; do
  # ctest: "100% tests passed, 0 tests failed out of 42"
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
  bad=$(sed -E 's/.* ([0-9]+) tests failed.*/\1/' <<<"$line")
  passed=$((passed + total - bad)); failed=$((failed + bad))
done < <(grep -E 'tests passed, [0-9]+ tests failed out of' "$log")
if [[ $rc1 -ne 0 || $rc2 -ne 0 ]] && [[ $failed -eq 0 ]]; then failed=1; fi
echo "$passed passed, $failed failed"
[[ $rc1 -eq 0 && $rc2 -eq 0 ]]
