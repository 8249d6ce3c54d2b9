// Any seed of a spec with every workload and injector gives the same unseed when run twice.
// (Cross-process checks, with ASLR and directories varied, are the sim.* ctest tests.)
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "cli/sim_runner.h"

namespace weir::cli {
namespace {

sim::Spec short_standard_spec() {
  sim::Spec spec;
  spec.set_name("short-standard");
  spec.set_fault_seconds(3);
  spec.set_quiesce_seconds(5);
  spec.set_check_seconds(20);
  spec.set_client_processes(2);
  spec.set_buggify(true);
  spec.set_knob_randomize_probability(0.2);
  spec.add_workloads()->set_name("RpcStress");
  spec.add_workloads()->set_name("DiskDurability");
  for (const char* name :
       {"Attrition", "Clogging", "Partitions", "DiskFaults", "ConnectionResets"}) {
    auto* inj = spec.add_injectors();
    inj->set_name(name);
    (*inj->mutable_options())["interval_s"] = "0.5";
  }
  spec.mutable_swarm()->set_enabled(true);
  spec.mutable_swarm()->set_injector_probability(0.6);
  return spec;
}

RunResult run_once(uint64_t seed) {
  RunConfig config;
  config.spec = short_standard_spec();
  config.seed = seed;
  config.write_replay = false;
  return run_simulation(config);
}

RC_GTEST_PROP(Determinism, SameSeedSameUnseed, ()) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1u << 30);
  const RunResult a = run_once(seed);
  const RunResult b = run_once(seed);
  RC_ASSERT(a.unseed == b.unseed);
  RC_ASSERT(a.verdict == b.verdict);
  RC_ASSERT(a.events == b.events);
  RC_ASSERT(a.metrics == b.metrics);
}

TEST(Determinism, DifferentSeedsDiffer) {
  EXPECT_NE(run_once(1).unseed, run_once(2).unseed);
}

TEST(Determinism, ShortStandardSpecPasses) {
  for (uint64_t seed = 100; seed < 105; ++seed) {
    const RunResult r = run_once(seed);
    EXPECT_EQ(r.verdict, "pass") << "seed " << seed << ": " << r.violation;
  }
}

}  // namespace
}  // namespace weir::cli
