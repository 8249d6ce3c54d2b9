#!/usr/bin/env bash
# Runs the same `weir bench coord` loads against a 3-server weir coord ensemble and a 3-server
# Apache ZooKeeper 3.8 ensemble (Debian package `zookeeper`), one ensemble at a time, all on
# 127.0.0.1 with temp data dirs, and prints a comparison table.
#
#   scripts/bench-coord-vs-zk.sh [WEIR_BINARY]      (default build-bench/cli/weir)
#
# Both ensembles: tickTime 2000, initLimit 10, syncLimit 5, 10 s sessions, every write fsynced
# before it is acknowledged (ZooKeeper's forceSync default, weir's group-committed log).
# Environment: OPS ("create set get mixed"), DURATION (10), WARMUP (3), SESSIONS (16),
# OUTSTANDING (8), PAYLOAD (100), KEYS (1000), READ_RATIO (0.9), BASE_PORT, KEEP=1 (keep the
# temp dir), RESULTS (a file that receives the raw JSON lines).
set -euo pipefail

cd "$(dirname "$0")/.."
WEIR=$(realpath "${1:-build-bench/cli/weir}")
OPS=${OPS:-create set get mixed}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
SESSIONS=${SESSIONS:-16}
OUTSTANDING=${OUTSTANDING:-8}
PAYLOAD=${PAYLOAD:-100}
KEYS=${KEYS:-1000}
READ_RATIO=${READ_RATIO:-0.9}
BASE=${BASE_PORT:-$((24000 + $$ % 50 * 100))}
ZK_JAR=/usr/share/java/zookeeper.jar

[[ -x "$WEIR" ]] || { echo "no weir binary at $WEIR (build it: ninja -C build-bench weir)" >&2; exit 2; }
[[ -f "$ZK_JAR" ]] || { echo "ZooKeeper is not installed ($ZK_JAR; apt-get install zookeeper)" >&2; exit 2; }
command -v java >/dev/null || { echo "java is not installed" >&2; exit 2; }

TMP=$(mktemp -d /tmp/weir-bench-coord.XXXXXX)
RESULTS=${RESULTS:-$TMP/results.jsonl}
: >"$RESULTS"
PIDS=()

stop_servers() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
finish() {
  stop_servers
  if [[ "${KEEP:-0}" == 1 ]]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
}
trap finish EXIT
trap 'exit 130' INT TERM

# A four-letter word over bash's /dev/tcp; empty output if the server is not there.
four() {
  local port=$1 word=$2
  (exec 3<>"/dev/tcp/127.0.0.1/$port" && printf '%s' "$word" >&3 && timeout 2 cat <&3) 2>/dev/null || true
}

wait_for_leader() {
  local name=$1; shift
  local deadline=$((SECONDS + 60)) port
  while ((SECONDS < deadline)); do
    for port in "$@"; do
      if four "$port" srvr | grep -q 'Mode: leader'; then return 0; fi
    done
    for pid in "${PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null || { echo "$name: a server exited (logs in $TMP)" >&2; KEEP=1; exit 1; }
    done
    sleep 0.5
  done
  echo "$name: no leader after 60 s (logs in $TMP)" >&2
  KEEP=1
  exit 1
}

start_weir() {
  local servers="" i
  for i in 1 2 3; do servers+="server.$i=127.0.0.1:$((BASE + 2 * i)):$((BASE + 2 * i + 1));$((BASE + 10 + i))"$'\n'; done
  for i in 1 2 3; do
    local dir=$TMP/weir/s$i
    mkdir -p "$dir"
    echo "$i" >"$dir/myid"
    printf 'tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=%s\n%s' "$dir" "$servers" >"$dir/zoo.cfg"
    "$WEIR" coord --config "$dir/zoo.cfg" >"$dir/out.log" 2>&1 &
    PIDS+=($!)
  done
  wait_for_leader weir $((BASE + 11)) $((BASE + 12)) $((BASE + 13))
}

start_zookeeper() {
  local servers="" i
  for i in 1 2 3; do servers+="server.$i=127.0.0.1:$((BASE + 20 + i)):$((BASE + 30 + i))"$'\n'; done
  for i in 1 2 3; do
    local dir=$TMP/zk/s$i
    mkdir -p "$dir"
    echo "$i" >"$dir/myid"
    printf 'tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=%s\nclientPort=%d\n%s%s\n' \
      "$dir" $((BASE + 40 + i)) "$servers" \
      $'admin.enableServer=false\n4lw.commands.whitelist=srvr,ruok' >"$dir/zoo.cfg"
    java -Xms512m -Xmx1g -Dzookeeper.log.dir="$dir" -cp "$ZK_JAR" \
      org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" >"$dir/out.log" 2>&1 &
    PIDS+=($!)
  done
  wait_for_leader zookeeper $((BASE + 41)) $((BASE + 42)) $((BASE + 43))
}

# run_loads SYSTEM SERVERS: every op once, each result a JSON line tagged with the system.
run_loads() {
  local system=$1 servers=$2 op line
  for op in $OPS; do
    echo "$system: $op ..." >&2
    line=$("$WEIR" bench coord --servers "$servers" --op "$op" --read-ratio "$READ_RATIO" \
      --sessions "$SESSIONS" --outstanding "$OUTSTANDING" --payload-bytes "$PAYLOAD" \
      --keys "$KEYS" --duration-s "$DURATION" --warmup-s "$WARMUP" --json | tail -n 1) || true
    if [[ "$line" != \{* ]]; then line='{"op":"'$op'","failed":true}'; fi
    echo "{\"system\":\"$system\",\"result\":$line}" >>"$RESULTS"
    echo "  $line" >&2
  done
}

start_weir
run_loads weir "127.0.0.1:$((BASE + 11)),127.0.0.1:$((BASE + 12)),127.0.0.1:$((BASE + 13))"
stop_servers
start_zookeeper
run_loads zookeeper "127.0.0.1:$((BASE + 41)),127.0.0.1:$((BASE + 42)),127.0.0.1:$((BASE + 43))"
stop_servers

python3 - "$RESULTS" <<'EOF'
import json, sys
rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    rows.setdefault(r["result"]["op"], {})[r["system"]] = r["result"]
def cell(r, key):
    return "failed" if r is None or r.get("failed") else f"{r[key]:.0f}"
print("| op | weir ops/s | ZooKeeper ops/s | weir/ZK | weir p50 / p99 / p999 us | ZK p50 / p99 / p999 us | errors weir/ZK |")
print("|---|---:|---:|---:|---:|---:|---:|")
for op, by in rows.items():
    w, z = by.get("weir"), by.get("zookeeper")
    ok = lambda r: r is not None and not r.get("failed")
    ratio = f"{w['ops_per_s'] / z['ops_per_s']:.2f}" if ok(w) and ok(z) and z["ops_per_s"] > 0 else "-"
    lat = lambda r: " / ".join(cell(r, k) for k in ("p50_us", "p99_us", "p999_us")) if ok(r) else "failed"
    err = lambda r: str(r["errors"]) if ok(r) else "-"
    print(f"| {op} | {cell(w, 'ops_per_s')} | {cell(z, 'ops_per_s')} | {ratio} | {lat(w)} | {lat(z)} | {err(w)}/{err(z)} |")
EOF
