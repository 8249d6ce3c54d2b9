// LogDurability: its batches are a pure function of (partition, offset, generation) with
// timestamps that increase along any log, and the partition log survives a disk that corrupts
// reads often. Found by the log_durability spec: corrupted reads of the bytes no CRC covers
// made recovery cut flushed batches (a header taken from a separate header-only read: seeds
// 3, 21, 38), fetches come back empty or with a flipped leader epoch (seed 25, and 40, 45, 96
// on the single-read fetch path) and timestamp lookups answer an earlier offset (seeds 21, 26,
// 27, 29, 37). This spec fails on most seeds with any of those back.
#include "workloads/log_durability.h"

#include <gtest/gtest.h>

#include "broker/log/record_batch.h"
#include "cli/sim_runner.h"

namespace weir::cli {
namespace {

using workloads::log_durability_timestamp_ms;
using workloads::make_log_durability_batch;

TEST(LogDurability, BatchesAreAPureFunctionOfPartitionOffsetAndGeneration) {
  const std::string a = make_log_durability_batch(1, 40, 3);
  EXPECT_EQ(a, make_log_durability_batch(1, 40, 3));
  EXPECT_NE(a, make_log_durability_batch(1, 40, 4));
  EXPECT_NE(a, make_log_durability_batch(2, 40, 3));
  auto batch = broker::log::BatchView::parse(a);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->header().base_offset, 40);
  EXPECT_EQ(batch->header().partition_leader_epoch, 3);
  EXPECT_EQ(batch->header().max_timestamp,
            log_durability_timestamp_ms(batch->header().last().value(), 3));
  // Whatever the generations, a later offset has a later timestamp.
  EXPECT_LT(log_durability_timestamp_ms(40, 9), log_durability_timestamp_ms(41, 0));
}

sim::Spec corrupt_reads_spec() {
  sim::Spec spec;
  spec.set_name("log-corrupt-reads");
  spec.set_fault_seconds(10);
  spec.set_quiesce_seconds(5);
  spec.set_check_seconds(60);
  spec.set_client_processes(1);
  spec.set_buggify(false);
  auto* w = spec.add_workloads();
  w->set_name("LogDurability");
  (*w->mutable_options())["writers"] = "3";
  (*w->mutable_options())["truncate_probability"] = "0.02";
  // Only corrupted reads, often, on every disk.
  auto* faults = spec.add_injectors();
  faults->set_name("DiskFaults");
  auto& f = *faults->mutable_options();
  f["interval_s"] = "0.2";
  f["duration_s"] = "2..4";
  f["max_active"] = "3";
  f["kind_probability"] = "1";
  f["corrupt_read_p"] = "0.02";
  f["full_probability"] = "0";
  for (const char* rate :
       {"read_error_p", "write_error_p", "sync_error_p", "metadata_error_p", "slow_p"}) {
    f[rate] = "0";
  }
  // Every open is a recovery that reads the whole log through the corrupting disk.
  auto* attrition = spec.add_injectors();
  attrition->set_name("Attrition");
  auto& a = *attrition->mutable_options();
  a["interval_s"] = "0.3";
  a["downtime_s"] = "0.1..0.3";
  a["max_dead"] = "2";
  a["shutdown_weight"] = "0";
  a["pause_weight"] = "0";
  return spec;
}

TEST(LogDurability, CorruptedReadsNeverCutNorServeWrongBytes) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    RunConfig config;
    config.spec = corrupt_reads_spec();
    config.seed = seed;
    config.write_replay = false;
    const RunResult r = run_simulation(config);
    EXPECT_EQ(r.verdict, "pass") << "seed " << seed << ": " << r.violation;
    EXPECT_GT(r.metrics.at("LogDurability.recoveries"), 6) << "seed " << seed;
    EXPECT_GT(r.metrics.at("LogDurability.reads_checked"), 100) << "seed " << seed;
  }
}

}  // namespace
}  // namespace weir::cli
