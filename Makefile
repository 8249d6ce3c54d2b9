# Weir's two entry points (see README.md): `make up` and `make test`.
# Both install missing Debian packages first, then build with CMake + Ninja + ccache.

BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
SPEC       ?= workloads/specs/standard.textproto
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: up test test-asan-all deps build build-asan bench bench-coord bench-rebalance sweep format clean

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@ninja -C $(BUILD) -j $(JOBS)

build-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DWEIR_SANITIZE=ON \
	  -DWEIR_BENCHMARKS=OFF >/dev/null
	@ninja -C $(ASAN_BUILD) -j $(JOBS) $$(bash scripts/unit-test-targets.sh)

# The main job: a standalone weir coord and three weir brokers (replication factor 3) on
# 127.0.0.1 (scripts/up.sh), data under ./weir-data; Ctrl-C stops them all cleanly.
up: build
	@bash scripts/up.sh $(BUILD)/cli/weir

test: build build-asan
	@bash scripts/run-tests.sh $(BUILD) $(ASAN_BUILD)

# Every module's unit tests under ASan+UBSan (slower to build than `make test` allows).
test-asan-all: export WEIR_ASAN_EXTRA_MODULES = coord
test-asan-all: build-asan
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 ctest --test-dir $(ASAN_BUILD) -L unit \
	  --output-on-failure -j $(JOBS)

sweep: build
	@$(BUILD)/cli/weir sim sweep --spec $(SPEC) --seeds 1..500 --jobs $(JOBS) --check-determinism

bench: build
	@$(BUILD)/bench/weir_bench

# weir coord against Apache ZooKeeper 3.8, three servers each on 127.0.0.1, same loads.
bench-coord: build
	@bash scripts/bench-coord-vs-zk.sh $(BUILD)/cli/weir

# A consumer group of 10 real confluent-kafka processes on a weir coord + three weir brokers
# (127.0.0.1): time until the other nine own every partition again after one member is killed
# with -9, and after one closes (LeaveGroup). Options through REBALANCE_ARGS, e.g.
# REBALANCE_ARGS="--cooperative-sticky --runs 10" (scripts/bench-rebalance.py --help).
REBALANCE_ARGS ?=
bench-rebalance: build
	@/usr/bin/python3 scripts/bench-rebalance.py $(BUILD)/cli/weir $(REBALANCE_ARGS)

format:
	@find runtime sim buggify coord broker workloads cli tests bench -name '*.h' -o -name '*.cc' \
	  | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) sim-out
