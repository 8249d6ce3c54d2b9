#!/usr/bin/env bash
# Installs whatever Debian 12 packages Weir needs and are missing. Idempotent; fast when
# everything is present (it only asks dpkg). Runs as root (or with sudo available).
set -euo pipefail
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

build_pkgs=(cmake ninja-build ccache g++ make pkgconf libboost-context-dev libprotobuf-dev
  protobuf-compiler librapidcheck-dev libgtest-dev libgmock-dev googletest libabsl-dev
  liblz4-dev libzstd-dev libsnappy-dev zlib1g-dev libbenchmark-dev clang-format)
# Third-party clients used by tests against real binaries. Optional: their absence skips
# those tests with a message, it never fails the build.
client_pkgs=(kcat python3-kazoo zookeeper libzookeeper-mt-dev python3-kafka python3-confluent-kafka
  librdkafka-dev python3-lz4 python3-snappy python3-zstandard golang-go
  golang-github-segmentio-kafka-go-dev golang-github-shopify-sarama-dev
  golang-github-stretchr-testify-dev)
# Debian source packages whose tests the binary packages leave out: sarama's functional tests
# (tests/broker/real/sarama_suite.py). Fetched by apt from the machine's own Debian archive
# (its deb entries read as deb-src, in a private apt state: the machine's apt configuration is
# not changed) into $src_dir; apt checks them against the archive's signed indexes.
src_dir=${WEIR_DEBIAN_SRC:-/var/cache/weir/debian-src}
src_pkgs=(golang-github-shopify-sarama=1.22.1-1)
src_files=(golang-github-shopify-sarama_1.22.1.orig.tar.xz golang-github-shopify-sarama_1.22.1-1.dsc)

fetch_sources() {
  local f missing_src=0
  for f in "${src_files[@]}"; do [[ -s "$src_dir/$f" ]] || missing_src=1; done
  [[ $missing_src -eq 1 ]] || return 0
  echo "install-deps: fetching source packages ${src_pkgs[*]} into $src_dir"
  local tmp
  tmp=$(mktemp -d)
  mkdir -p "$tmp/lists/partial" "$tmp/dl"
  "${sudo_cmd[@]}" mkdir -p "$src_dir"
  # deb822 stanzas and one-line entries of the Debian archive (signed by its keyring), as deb-src.
  local src
  for src in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$src" ]] || continue
    awk -v RS= -v ORS='\n\n' '/debian-archive-keyring/ { sub(/Types:[^\n]*/, "Types: deb-src"); print }' \
      "$src" >>"$tmp/src.sources"
  done
  for src in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$src" ]] || continue
    awk '$1 == "deb" && $0 ~ /debian/ { $1 = "deb-src"; print }' "$src" >>"$tmp/src.list"
  done
  local opts=(-o "Dir::Etc::SourceList=$tmp/src.list" -o "Dir::Etc::SourceParts=$tmp/parts"
    -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o "APT::Sandbox::User=root")
  mkdir -p "$tmp/parts" "$tmp/cache/archives/partial"
  touch "$tmp/src.list"
  [[ -s "$tmp/src.sources" ]] && cp "$tmp/src.sources" "$tmp/parts/debian-src.sources"
  if "${sudo_cmd[@]}" apt-get "${opts[@]}" update -qq >"$tmp/log" 2>&1; then
    # Only the files named above are needed: a failure to fetch the others (the Debian
    # packaging, debian.tar.xz) is not one.
    (cd "$tmp/dl" && "${sudo_cmd[@]}" apt-get "${opts[@]}" source --download-only "${src_pkgs[@]}" \
      >>"$tmp/log" 2>&1) || true
  fi
  local ok=1
  for f in "${src_files[@]}"; do
    if [[ -s "$tmp/dl/$f" ]]; then "${sudo_cmd[@]}" cp "$tmp/dl/$f" "$src_dir/"; else ok=0; fi
  done
  if [[ $ok -eq 0 ]]; then
    echo "install-deps: warning: could not fetch ${src_pkgs[*]} (the tests that need them skip):"
    tail -5 "$tmp/log"
  fi
  "${sudo_cmd[@]}" rm -rf "$tmp"
}

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
  if [[ "${WEIR_SKIP_CLIENTS:-0}" != 1 ]]; then fetch_sources; fi
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${build_pkgs[@]}" >/dev/null
if [[ "${WEIR_SKIP_CLIENTS:-0}" != 1 ]]; then
  # Clients are best effort: a missing client package must not stop the build.
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${client_pkgs[@]}" >/dev/null ||
    echo "install-deps: warning: some client packages could not be installed"
  fetch_sources
fi
echo "install-deps: done"
