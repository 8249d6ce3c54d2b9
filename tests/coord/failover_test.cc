// Leader failover in simulation: kill -9 the leader of a three-server ensemble and measure the
// simulated time until a client's write succeeds again (election, discovery, sync, and the
// client's reconnect). Simulated time is deterministic, so the bound is a real assertion; the
// figures are printed for the README.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "coord/client/client.h"
#include "coord/zab/storage/epoch_store.h"
#include "tests/coord/server_test_util.h"

namespace weir::coord::server::testing {
namespace {

namespace cc = coord::client;

// Seconds from the kill to the first acknowledged write after it.
double failover_seconds(uint64_t seed) {
  Ensemble e(seed);
  double seconds = -1;
  bool done = e.run([&] {
    e.wait_ready();
    const int leader = e.leader_index();
    EXPECT_GE(leader, 0);
    auto client = cc::CoordClient::create(e.connect_string(leader),
                                          {.session_timeout = 10s, .request_timeout = 2s});
    EXPECT_TRUE(client.ok());
    EXPECT_TRUE(await((*client)->set_data("/", "before")).ok());
    const TimePoint killed = Scheduler::current().now();
    e.sim.kill(e.procs[leader]);
    while (!await((*client)->set_data("/", "after")).ok()) delay(10ms);
    seconds = to_seconds(Scheduler::current().now() - killed);
    (void)await((*client)->close());
  });
  EXPECT_TRUE(done);
  return seconds;
}

TEST(CoordFailover, WritesResumeSoonAfterTheLeaderIsKilled) {
  std::vector<double> times;
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    times.push_back(failover_seconds(seed));
    std::printf("seed %d: %.2f s\n", static_cast<int>(seed), times.back());
  }
  std::sort(times.begin(), times.end());
  std::printf(
      "leader failover (simulated, tick 100 ms, 10 seeds): min %.2f s, median %.2f s, max %.2f s\n",
      times.front(), times[times.size() / 2], times.back());
  EXPECT_GT(times.front(), 0);
  // syncLimit (5 ticks) to notice, an election (finalize wait 200 ms), discovery and sync.
  EXPECT_LT(times.back(), 3.0);
}

// A server that once accepted a later epoch than the one the others then established (it
// took part in a discovery whose leader never got a quorum, then was down) refuses that
// epoch when it comes back. The leader must yield so that a new epoch above the server's
// promise is chosen, or the server stays out of the ensemble for good.
TEST(CoordFailover, AServerThatAcceptedALaterEpochRejoins) {
  Ensemble e(31);
  constexpr int64_t kPromised = 50;
  e.before_boot = [](int i, ProcessContext& ctx) {
    if (i != 0) return;
    const std::string dir = ctx.data_dir + "/zab";
    ASSERT_TRUE(ctx.fs->create_directories(dir + "/snap").ok());
    auto epochs = zab::EpochStore::open(*ctx.fs, dir);
    ASSERT_TRUE(epochs.ok());
    ASSERT_TRUE((*epochs)->set_accepted_epoch(kPromised).ok());
    delay(3s);  // the others elect and establish an epoch without this server
  };
  bool done = e.run(
      [&] {
        e.wait_ready();
        for (int i = 0; i < 100 && !e.servers[0]->peer().serving(); ++i) delay(100ms);
        EXPECT_TRUE(e.servers[0]->peer().serving()) << "server 1 never synced with a leader";
        const int leader = e.leader_index();
        ASSERT_GE(leader, 0);
        EXPECT_GT(e.servers[leader]->peer().epochs().current_epoch(), kPromised);
      },
      30s);
  EXPECT_TRUE(done);
}

// A leader that has handed out zxid_counter_max counters steps down, so the next epoch starts
// the counter again: a zxid's counter never wraps into its epoch (ZooKeeper does the same at
// 2^32 - 1). Writes go on across the epoch changes.
TEST(CoordFailover, ExhaustedZxidCounterStartsANewEpoch) {
  Ensemble e(5);
  e.config.zab.zxid_counter_max = 4;
  bool done = e.run([&] {
    e.wait_ready();
    auto client = cc::CoordClient::create(e.connect_string(),
                                          {.session_timeout = 10s, .request_timeout = 2s});
    ASSERT_TRUE(client.ok());
    int64_t last_mzxid = 0;
    for (int i = 0; i < 30; ++i) {
      while (true) {
        auto stat = await((*client)->set_data("/", absl::StrCat("v", i)));
        if (stat.ok()) {
          const int64_t mzxid = stat->mzxid.value();
          EXPECT_GT(mzxid, last_mzxid);
          EXPECT_LE(mzxid & 0xffffffff, 4) << "counter past zxid_counter_max";
          last_mzxid = mzxid;
          break;
        }
        delay(10ms);
      }
    }
    // 30 writes (and the session's txns) at most 4 per epoch: at least 8 epochs.
    EXPECT_GE(last_mzxid >> 32, 8);
    (void)await((*client)->close());
  });
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace weir::coord::server::testing
