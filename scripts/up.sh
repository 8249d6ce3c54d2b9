#!/usr/bin/env bash
# `make up`: one standalone weir coord and three weir brokers (broker.id 0..2) on 127.0.0.1,
# topics replicated to all three (default.replication.factor=3, min.insync.replicas=2), data
# under ${WEIR_DATA:-./weir-data}. Prints the bootstrap addresses and kcat lines to try, shows
# the cluster as it comes up, and stops everything cleanly (SIGTERM, then wait; the brokers one
# at a time, so each hands its leaderships to the others) on Ctrl-C.
# Usage: up.sh WEIR_BINARY   (env: WEIR_DATA, WEIR_COORD_PORT=2181, WEIR_KAFKA_PORT=9092: broker
# i listens on WEIR_KAFKA_PORT+i, WEIR_BROKERS=3: how many brokers)
set -euo pipefail
weir="$1"
data="${WEIR_DATA:-$PWD/weir-data}"
coord_port="${WEIR_COORD_PORT:-2181}"
kafka_port="${WEIR_KAFKA_PORT:-9092}"
brokers="${WEIR_BROKERS:-3}"
rf=$((brokers < 3 ? brokers : 3))
min_isr=$((rf < 2 ? rf : 2))
mkdir -p "$data/coord"

if [[ ! -f "$data/zoo.cfg" ]]; then
  cat > "$data/zoo.cfg" <<CFG
# ZooKeeper's standalone configuration, read by weir coord.
tickTime=2000
dataDir=$data/coord
clientPort=$coord_port
clientPortAddress=127.0.0.1
4lw.commands.whitelist=srvr,stat,mntr,ruok,cons
CFG
fi
if [[ -f "$data/server.properties" ]]; then
  echo "up: note: $data/server.properties and kafka-logs/ (one broker, from an earlier make up) are not used;"
  echo "    the brokers use broker<i>.properties and kafka-logs-<i>/ (remove $data for a fresh cluster)"
fi
for ((i = 0; i < brokers; i++)); do
  port=$((kafka_port + i))
  mkdir -p "$data/kafka-logs-$i"
  if [[ ! -f "$data/broker$i.properties" ]]; then
    cat > "$data/broker$i.properties" <<CFG
# Kafka's server.properties keys, read by weir broker.
broker.id=$i
listeners=PLAINTEXT://127.0.0.1:$port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
log.dirs=$data/kafka-logs-$i
zookeeper.connect=127.0.0.1:$coord_port
num.partitions=1
auto.create.topics.enable=true
default.replication.factor=$rf
offsets.topic.replication.factor=$rf
min.insync.replicas=$min_isr
# The last broker to stop is the last in-sync replica and cannot hand its leaderships over:
# controlled shutdown retries 3 times this far apart (Kafka's default 5000 makes Ctrl-C wait 20 s).
controlled.shutdown.retry.backoff.ms=1000
CFG
  fi
done

pids=()
stop() {
  local rc="${1:-0}"
  trap - INT TERM
  echo
  echo "up: stopping (SIGTERM)"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  echo "up: stopped; data kept in $data"
  exit "$rc"
}
trap stop INT TERM

# Each server in its own session: Ctrl-C in the terminal reaches only this script, which stops
# the brokers one at a time and the coord last (a broker's second signal would stop it at once).
# Run with &: the exec keeps $! the server's pid.
detached() { if command -v setsid >/dev/null; then exec setsid "$@"; else exec "$@"; fi; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  local what="$1" port="$2" pid="$3" log="$4"
  for _ in $(seq 1 200); do
    if port_open "$port"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "up: $what exited; last lines of $log:"; tail -20 "$log"; stop 1
    fi
    sleep 0.05
  done
  echo "up: $what not listening on $port after 10 s"; tail -20 "$log"; stop 1
}

detached "$weir" coord --config "$data/zoo.cfg" >"$data/coord.log" 2>&1 &
pids+=($!)
wait_port "weir coord" "$coord_port" "${pids[0]}" "$data/coord.log"
mode=""
for _ in $(seq 1 20); do  # the port may open a moment before the four-letter words answer
  mode=$(exec 3<>/dev/tcp/127.0.0.1/$coord_port; printf srvr >&3; grep -m1 Mode <&3 || true)
  [[ -n "$mode" ]] && break
  sleep 0.05
done
echo "up: weir coord serving on 127.0.0.1:$coord_port ($mode)"

bootstrap=""
for ((i = 0; i < brokers; i++)); do
  port=$((kafka_port + i))
  detached "$weir" broker --config "$data/broker$i.properties" >"$data/broker$i.log" 2>&1 &
  pids+=($!)
  bootstrap+="${bootstrap:+,}127.0.0.1:$port"
done
for ((i = 0; i < brokers; i++)); do
  port=$((kafka_port + i))
  wait_port "weir broker $i" "$port" "${pids[$((i + 1))]}" "$data/broker$i.log"
  echo "up: weir broker $i serving on 127.0.0.1:$port (log.dirs=$data/kafka-logs-$i)"
done
echo
echo "  bootstrap: $bootstrap"
echo "  topics:    replication factor $rf, min.insync.replicas=$min_isr (auto-created on first use)"
echo "  try:       echo hello | kcat -b $bootstrap -t demo -P -X acks=all && kcat -b $bootstrap -t demo -C -e"
echo "  group:     kcat -b $bootstrap -G readers demo     (a consumer group; start two to split the partitions)"
echo "  metadata:  kcat -b $bootstrap -L     (leader, replicas and ISR of each partition)"
echo "  znodes:    /usr/share/zookeeper/bin/zkCli.sh -server 127.0.0.1:$coord_port ls /brokers/ids"
echo
echo "up: Ctrl-C stops them all"
if command -v kcat >/dev/null; then
  # Until every broker has registered (the controller sends each the others' addresses).
  for _ in $(seq 1 100); do
    [[ $(kcat -b "$bootstrap" -L -m 5 2>/dev/null | grep -c '^  broker ') -ge $brokers ]] && break
    sleep 0.1
  done
  kcat -b "$bootstrap" -L -m 5 2>&1 | sed 's/^/  /' || true
fi
while true; do
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "up: a process exited; see $data/coord.log and $data/broker<i>.log"; stop 1
    fi
  done
  sleep 1
done
