// Partition: the high watermark a restarted broker starts from (its log's checkpointed one),
// and the lagging high watermark of a new leader whose ISR has not reported yet, which
// ListOffsets must not hand to consumers as "latest".
#include "broker/server/partition.h"

#include <gtest/gtest.h>

#include <string>

#include "broker/log/log_manager.h"
#include "tests/broker_log/log_test_util.h"

namespace weir::broker {
namespace {

using log::test::append_bytes;
using log::test::DiskHarness;
using log::test::make_batch;

LeaderAndIsrState leading(int32_t epoch) {
  return LeaderAndIsrState{.controller_epoch = ControllerEpoch(1),
                           .leader = 1,
                           .leader_epoch = LeaderEpoch(epoch),
                           .isr = {1, 2},
                           .replicas = {1, 2},
                           .zk_version = 0};
}

TEST(Partition, RestartedLeaderStartsFromItsCheckpointedHighWatermarkAndLagsUntilTheIsrReports) {
  DiskHarness h(31);
  h.run([&] {
    auto logs = *log::LogManager::open(h.disk(), h.clock(), {"/data"}, log::LogConfig{});
    {
      auto* plog = *logs->create({"t", 0});
      Partition p("t", 0, 1, plog, nullptr);
      p.set_min_insync_replicas(2);
      ASSERT_TRUE(p.become_leader(leading(1), h.clock().now()).ok());
      for (uint64_t i = 0; i < 5; ++i) {
        std::string batch = make_batch(i, 2, 0);
        ASSERT_TRUE(p.append_as_leader(
                         absl::MakeSpan(reinterpret_cast<uint8_t*>(batch.data()), batch.size()))
                        .ok());
      }
      p.on_follower_fetch(2, Offset(6), h.clock().now());
      EXPECT_EQ(p.high_watermark(), Offset(6));
      EXPECT_FALSE(p.high_watermark_lagging());
    }
    ASSERT_TRUE(logs->close().ok());
    logs.reset();

    auto reopened = *log::LogManager::open(h.disk(), h.clock(), {"/data"}, log::LogConfig{});
    Partition p("t", 0, 1, reopened->get({"t", 0}), nullptr);
    p.set_min_insync_replicas(2);
    EXPECT_EQ(p.high_watermark(), Offset(6));  // not the log start
    ASSERT_TRUE(p.become_leader(leading(2), h.clock().now()).ok());
    // Its epoch starts at 10, the follower has not fetched: 6 may be stale.
    EXPECT_EQ(p.high_watermark(), Offset(6));
    EXPECT_TRUE(p.high_watermark_lagging());
    p.on_follower_fetch(2, Offset(10), h.clock().now());
    EXPECT_EQ(p.high_watermark(), Offset(10));
    EXPECT_FALSE(p.high_watermark_lagging());
    ASSERT_TRUE(reopened->close().ok());
  });
}

}  // namespace
}  // namespace weir::broker
