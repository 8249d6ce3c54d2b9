#!/usr/bin/env bash
# `weir bench coord` against three real `weir coord` processes: a 1 s mixed run must complete
# requests with no errors and clean up after itself. Not a timing test: any rate above 0 passes.
# Usage: bench_smoke_test.sh WEIR
set -euo pipefail

WEIR=$1
BASE=$((26000 + $$ % 100 * 20))
TMP=$(mktemp -d /tmp/weir-bench-smoke.XXXXXX)
PIDS=()
finish() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap finish EXIT

servers=""
for i in 1 2 3; do servers+="server.$i=127.0.0.1:$((BASE + 2 * i)):$((BASE + 2 * i + 1));$((BASE + 10 + i))"$'\n'; done
for i in 1 2 3; do
  dir=$TMP/s$i
  mkdir -p "$dir"
  echo "$i" >"$dir/myid"
  printf 'tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir=%s\n%s' "$dir" "$servers" >"$dir/zoo.cfg"
  "$WEIR" coord --config "$dir/zoo.cfg" >"$dir/out.log" 2>&1 &
  PIDS+=($!)
done

# The bench waits (up to --connect-timeout) for sessions, which need an elected leader.
out=$("$WEIR" bench coord --servers "127.0.0.1:$((BASE + 11)),127.0.0.1:$((BASE + 12)),127.0.0.1:$((BASE + 13))" \
  --op mixed --read-ratio 0.5 --sessions 4 --outstanding 4 --keys 50 --duration-s 1 --warmup-s 0.2 \
  --session-timeout-ms 4000 --json)
echo "$out"
json=$(tail -n 1 <<<"$out")
python3 - "$json" <<'EOF'
import json, sys
r = json.loads(sys.argv[1])
assert r["ops"] > 0, "no requests completed"
assert r["reads"] > 0 and r["reads"] < r["ops"], "mixed run without both reads and writes"
assert r["errors"] == 0, f"request errors: {r['first_error']}"
assert r["cleanup_errors"] == 0, "cleanup failed"
assert r["p50_us"] > 0 and r["p50_us"] <= r["p99_us"] <= r["max_us"], r
print("bench smoke ok")
EOF
