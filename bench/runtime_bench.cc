// Runtime micro-benchmarks: the cost of the primitives every actor uses.
#include <benchmark/benchmark.h>

#include "runtime/future.h"
#include "runtime/random.h"
#include "runtime/virtual_time.h"

namespace weir {
namespace {

// One yield_now() is two fiber switches (actor -> scheduler -> actor).
void BM_FiberSwitch(benchmark::State& state) {
  VirtualTimeSource time;
  Scheduler scheduler(time);
  int64_t switches = 0;
  auto f = spawn("switcher", [&] {
    for (auto _ : state) {
      yield_now();
      switches += 2;
    }
  });
  (void)run_until_ready(f);
  state.counters["switch_ns"] = benchmark::Counter(
      static_cast<double>(switches), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_FiberSwitch);

// A promise set by one actor and awaited by another: set + wake + switch + read.
void BM_FutureResolution(benchmark::State& state) {
  VirtualTimeSource time;
  Scheduler scheduler(time);
  auto f = spawn("driver", [&] {
    for (auto _ : state) {
      Promise<int> p;
      auto waiter = spawn("waiter", [fut = p.future()] { return await(fut); });
      p.set_value(1);
      benchmark::DoNotOptimize(await(waiter));
    }
  });
  (void)run_until_ready(f);
}
BENCHMARK(BM_FutureResolution);

// An already-resolved future: the fast path of await.
void BM_AwaitReady(benchmark::State& state) {
  VirtualTimeSource time;
  Scheduler scheduler(time);
  auto f = spawn("driver", [&] {
    for (auto _ : state) benchmark::DoNotOptimize(await(Future<int>::ready(1)));
  });
  (void)run_until_ready(f);
}
BENCHMARK(BM_AwaitReady);

void BM_SpawnAndFinish(benchmark::State& state) {
  VirtualTimeSource time;
  Scheduler scheduler(time);
  auto f = spawn("driver", [&] {
    for (auto _ : state) benchmark::DoNotOptimize(await(spawn("child", [] { return 1; })));
  });
  (void)run_until_ready(f);
}
BENCHMARK(BM_SpawnAndFinish);

void BM_DeterministicRandom(benchmark::State& state) {
  DeterministicRandom r(1);
  for (auto _ : state) benchmark::DoNotOptimize(r.uniform_int(0, 1000));
}
BENCHMARK(BM_DeterministicRandom);

}  // namespace
}  // namespace weir
