// Znode times in simulation: ctime/mtime are the leader's wall clock in ms since the Unix epoch
// (as in ZooKeeper, so zkCli shows real dates), and never go backwards when leadership moves to
// a server whose wall clock is behind.
#include <gtest/gtest.h>

#include <string>

#include "coord/client/client.h"
#include "sim/clock.h"
#include "tests/coord/server_test_util.h"

namespace weir::coord::server::testing {
namespace {

namespace cc = coord::client;

TEST(CoordServerTimes, ZnodeTimesAreTheLeadersWallClock) {
  Ensemble e(51);
  bool done = e.run([&] {
    e.wait_ready();
    const int leader = e.leader_index();
    ASSERT_GE(leader, 0);
    auto client = cc::CoordClient::create(e.connect_string(), {.session_timeout = 10s});
    ASSERT_TRUE(client.ok());
    const int64_t before_ms = e.machines[leader]->clock().wall_ms();
    ASSERT_TRUE(await((*client)->create("/t", "x", cc::open_acl_unsafe())).ok());
    auto stat = await((*client)->exists("/t"));
    const int64_t after_ms = e.machines[leader]->clock().wall_ms();
    ASSERT_TRUE(stat.ok() && stat->has_value());
    // The leader stamped it between our call and its answer, on its own (skewed) wall clock,
    // which counts from the simulation's fixed date: never 1970, never the host's clock.
    EXPECT_GE((*stat)->ctime, sim::kSimWallEpochMs);
    EXPECT_GE((*stat)->ctime, before_ms);
    EXPECT_LE((*stat)->ctime, after_ms);
    EXPECT_EQ((*stat)->mtime, (*stat)->ctime);
    (void)await((*client)->close());
  });
  EXPECT_TRUE(done);
}

// Kills the leader after a write and writes again through the new one. Each machine's wall
// clock has its own offset, so for some seeds the new leader's clock is behind the last stamp:
// its stamps must then hold at the last one rather than go back. With `snapshot_every_txns`
// small, a snapshot cuts the followers' histories to nothing, so the new leader must find the
// last stamp in its tree rather than in its history.
int leaders_behind(int64_t snapshot_every_txns) {
  int behind = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    Ensemble e(seed);
    e.config.zab.snapshot_every_txns = snapshot_every_txns;
    bool done = e.run([&] {
      e.wait_ready();
      const int old_leader = e.leader_index();
      ASSERT_GE(old_leader, 0);
      auto client = cc::CoordClient::create(e.connect_string(old_leader),
                                            {.session_timeout = 10s, .request_timeout = 2s});
      ASSERT_TRUE(client.ok());
      auto first = await((*client)->set_data("/", "before"));
      ASSERT_TRUE(first.ok()) << first.status();
      delay(1s);  // followers apply it and take their snapshots
      e.sim.kill(e.procs[old_leader]);
      absl::StatusOr<jute::Stat> second;
      while (!(second = await((*client)->set_data("/", "after"))).ok()) delay(10ms);
      const int new_leader = e.leader_index();
      ASSERT_GE(new_leader, 0);
      EXPECT_GE(second->mtime, first->mtime)
          << "seed " << seed << " snapshot every " << snapshot_every_txns;
      if (e.machines[new_leader]->clock().wall_ms() < first->mtime) ++behind;
      (void)await((*client)->close());
    });
    EXPECT_TRUE(done) << "seed " << seed;
  }
  return behind;
}

TEST(CoordServerTimes, MtimeNeverGoesBackAcrossALeaderChange) {
  EXPECT_GT(leaders_behind(100000), 0)
      << "no seed moved leadership to a server whose wall clock is behind";
}

TEST(CoordServerTimes, MtimeNeverGoesBackWhenSnapshotsEmptiedTheHistory) {
  EXPECT_GT(leaders_behind(2), 0)
      << "no seed moved leadership to a server whose wall clock is behind";
}

}  // namespace
}  // namespace weir::coord::server::testing
