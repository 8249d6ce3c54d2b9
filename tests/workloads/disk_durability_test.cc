// DiskDurability under failed fsyncs. A failed sync drops some dirty pages the Linux way (the
// cache still shows them, no later sync writes them), so a writer that recovers from the cache
// after the error and then syncs must not call what it read durable unless it wrote it again.
// Found by the disk spec, seed 24: a recovery after a sync EIO acknowledged records whose page
// had been dropped, and the next power loss took them.
#include <gtest/gtest.h>

#include "cli/sim_runner.h"

namespace weir::cli {
namespace {

sim::Spec sync_error_spec() {
  sim::Spec spec;
  spec.set_name("disk-sync-eio");
  spec.set_fault_seconds(10);
  spec.set_quiesce_seconds(10);
  spec.set_check_seconds(30);
  spec.set_client_processes(1);
  spec.set_buggify(false);
  auto* w = spec.add_workloads();
  w->set_name("DiskDurability");
  (*w->mutable_options())["writers"] = "4";
  (*w->mutable_options())["sync_probability"] = "0.2";
  // Only failed syncs, often, on every disk.
  auto* faults = spec.add_injectors();
  faults->set_name("DiskFaults");
  auto& f = *faults->mutable_options();
  f["interval_s"] = "0.2";
  f["duration_s"] = "2..4";
  f["max_active"] = "4";
  f["kind_probability"] = "1";
  f["sync_error_p"] = "0.3";
  f["full_probability"] = "0";
  for (const char* rate :
       {"read_error_p", "write_error_p", "metadata_error_p", "corrupt_read_p", "slow_p"}) {
    f[rate] = "0";
  }
  // Power loss makes dropped pages visible; no clean shutdowns or pauses.
  auto* attrition = spec.add_injectors();
  attrition->set_name("Attrition");
  auto& a = *attrition->mutable_options();
  a["interval_s"] = "0.3";
  a["downtime_s"] = "0.1..0.3";
  a["kill_weight"] = "1";
  a["crash_weight"] = "1";
  a["shutdown_weight"] = "0";
  a["pause_weight"] = "0";
  return spec;
}

TEST(DiskDurability, SyncedRecordsSurviveFailedSyncsAndPowerLoss) {
  int sync_errors_seen = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    RunConfig config;
    config.spec = sync_error_spec();
    config.seed = seed;
    config.write_replay = false;
    const RunResult r = run_simulation(config);
    EXPECT_EQ(r.verdict, "pass") << "seed " << seed << ": " << r.violation;
    if (r.metrics.count("DiskDurability.write_errors") != 0 &&
        r.metrics.at("DiskDurability.write_errors") > 0) {
      ++sync_errors_seen;
    }
  }
  // The spec must really exercise failed syncs, or it proves nothing.
  EXPECT_GT(sync_errors_seen, 6);
}

}  // namespace
}  // namespace weir::cli
