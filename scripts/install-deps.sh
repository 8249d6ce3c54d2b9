#!/usr/bin/env bash
# Installs whatever Debian 12 packages Weir needs and are missing. Idempotent; fast when
# everything is present (it only asks dpkg). Runs as root (or with sudo available).
set -euo pipefail

build_pkgs=(cmake ninja-build ccache g++ make pkgconf libboost-context-dev libprotobuf-dev
  protobuf-compiler librapidcheck-dev libgtest-dev libgmock-dev googletest libabsl-dev
  liblz4-dev libzstd-dev libsnappy-dev zlib1g-dev libbenchmark-dev clang-format)
# Third-party clients used by tests against real binaries. Optional: their absence skips
# those tests with a message, it never fails the build.
client_pkgs=(kcat python3-kazoo zookeeper libzookeeper-mt-dev python3-kafka python3-confluent-kafka
  librdkafka-dev python3-lz4 python3-snappy python3-zstandard golang-go
  golang-github-segmentio-kafka-go-dev)

want=("${build_pkgs[@]}")
if [[ "${WEIR_SKIP_CLIENTS:-0}" != 1 ]]; then
  want+=("${client_pkgs[@]}")
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#want[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${build_pkgs[@]}" >/dev/null
if [[ "${WEIR_SKIP_CLIENTS:-0}" != 1 ]]; then
  # Clients are best effort: a missing client package must not stop the build.
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${client_pkgs[@]}" >/dev/null ||
    echo "install-deps: warning: some client packages could not be installed"
fi
echo "install-deps: done"
