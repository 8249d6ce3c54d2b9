// Simulation throughput: raw scheduler events per second, and whole-cluster simulation speed
// (simulated seconds per wall second) for RpcStress.
#include <benchmark/benchmark.h>

#include <chrono>
#include <map>
#include <memory>

#include "runtime/future.h"
#include "sim/cluster.h"
#include "sim/simulator.h"
#include "workloads/rpc_stress.h"

namespace weir {
namespace {

// Many actors sleeping random short intervals: every wake is a timer event and a switch.
void BM_SimEventsPerSecond(benchmark::State& state) {
  const int actors = static_cast<int>(state.range(0));
  uint64_t events = 0;
  for (auto _ : state) {
    sim::Simulator sim(42);
    Process* p = sim.scheduler().create_process("bench", "m");
    std::vector<Future<void>> fs;
    for (int i = 0; i < actors; ++i) {
      fs.push_back(spawn_in(p, "sleeper", [&sim, &events] {
        for (int k = 0; k < 200; ++k) {
          delay(Duration(1 + static_cast<int64_t>(sim.random().below(1000000))));
          ++events;
        }
      }));
    }
    (void)run_until_ready(when_all(fs));
  }
  state.counters["events_per_s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SimEventsPerSecond)->Arg(10)->Arg(1000)->Unit(benchmark::kMillisecond);

// RpcStress on 10 processes (5 servers, 5 clients), no faults, for 10 simulated seconds.
// Arg: each caller's pause between calls in ms (0 = back-to-back saturation).
void BM_SimRpcStress10(benchmark::State& state) {
  double simulated = 0, wall = 0;
  uint64_t calls = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    sim::Simulator sim(7);
    sim::SimCluster cluster(sim, 5);
    auto w = workloads::RpcStress::create({{"servers", "5"},
                                           {"callers_per_client", "2"},
                                           {"think_ms", std::to_string(state.range(0))}});
    if (!w.ok() || !(*w)->setup(cluster).ok()) state.SkipWithError("setup failed");
    Workload* raw = w->get();
    auto run = spawn_in(cluster.tester(), "bench", [&] {
      auto started = spawn("start", [&] { raw->start(cluster); });
      delay(10s);
      raw->stop();
      (void)await(started);
    });
    (void)run_until_ready(run);
    simulated += to_seconds(sim.now());
    calls += static_cast<uint64_t>(raw->metrics()["calls"]);
    sim.shutdown();
    wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  state.counters["sim_s_per_wall_s"] = simulated / wall;
  state.counters["calls_per_wall_s"] = static_cast<double>(calls) / wall;
}
BENCHMARK(BM_SimRpcStress10)
    ->Arg(0)
    ->Arg(10)
    ->Arg(100)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace
}  // namespace weir
