#!/usr/bin/env bash
# `make up`: one standalone weir coord and one weir broker on 127.0.0.1, data under
# ${WEIR_DATA:-./weir-data}. Prints the bootstrap address and a kcat line to try, shows the
# cluster as it comes up, and stops both cleanly (SIGTERM, then wait) on Ctrl-C.
# Usage: up.sh WEIR_BINARY   (env: WEIR_DATA, WEIR_COORD_PORT=2181, WEIR_KAFKA_PORT=9092)
set -euo pipefail
weir="$1"
data="${WEIR_DATA:-$PWD/weir-data}"
coord_port="${WEIR_COORD_PORT:-2181}"
kafka_port="${WEIR_KAFKA_PORT:-9092}"
mkdir -p "$data/coord" "$data/kafka-logs"

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
if [[ ! -f "$data/server.properties" ]]; then
  cat > "$data/server.properties" <<CFG
# Kafka's server.properties keys, read by weir broker.
broker.id=0
listeners=PLAINTEXT://127.0.0.1:$kafka_port
advertised.listeners=PLAINTEXT://127.0.0.1:$kafka_port
log.dirs=$data/kafka-logs
zookeeper.connect=127.0.0.1:$coord_port
num.partitions=1
auto.create.topics.enable=true
CFG
fi

pids=()
stop() {
  trap - INT TERM
  echo
  echo "up: stopping (SIGTERM)"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  echo "up: stopped; data kept in $data"
  exit 0
}
trap stop INT TERM

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
  local what="$1" port="$2" pid="$3" log="$4"
  for _ in $(seq 1 200); do
    if port_open "$port"; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "up: $what exited; last lines of $log:"; tail -20 "$log"; exit 1
    fi
    sleep 0.05
  done
  echo "up: $what not listening on $port after 10 s"; tail -20 "$log"; stop
}

"$weir" coord --config "$data/zoo.cfg" >"$data/coord.log" 2>&1 &
pids+=($!)
wait_port "weir coord" "$coord_port" "${pids[0]}" "$data/coord.log"
echo "up: weir coord serving on 127.0.0.1:$coord_port ($(exec 3<>/dev/tcp/127.0.0.1/$coord_port; printf srvr >&3; grep -m1 Mode <&3))"

"$weir" broker --config "$data/server.properties" >"$data/broker.log" 2>&1 &
pids+=($!)
wait_port "weir broker" "$kafka_port" "${pids[1]}" "$data/broker.log"
echo "up: weir broker 0 serving on 127.0.0.1:$kafka_port (log.dirs=$data/kafka-logs)"
echo
echo "  bootstrap: 127.0.0.1:$kafka_port"
echo "  try:       echo hello | kcat -b 127.0.0.1:$kafka_port -t demo -P && kcat -b 127.0.0.1:$kafka_port -t demo -C -e"
echo "  metadata:  kcat -b 127.0.0.1:$kafka_port -L"
echo "  znodes:    /usr/share/zookeeper/bin/zkCli.sh -server 127.0.0.1:$coord_port ls /brokers/ids"
echo
echo "up: Ctrl-C stops both"
if command -v kcat >/dev/null; then
  kcat -b "127.0.0.1:$kafka_port" -L -m 5 2>&1 | sed 's/^/  /' || true
fi
while true; do
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "up: a process exited; see $data/coord.log and $data/broker.log"; stop
    fi
  done
  sleep 1
done
