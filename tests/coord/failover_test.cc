// Leader failover in simulation: kill -9 the leader of a three-server ensemble and measure the
// simulated time until a client's write succeeds again (election, discovery, sync, and the
// client's reconnect). Simulated time is deterministic, so the bound is a real assertion; the
// figures are printed for the README.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "coord/client/client.h"
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
    std::string connect;
    for (size_t i = 0; i < e.clients.size(); ++i) {
      if (static_cast<int>(i) != leader) connect += (connect.empty() ? "" : ",") + e.clients[i];
    }
    auto client = cc::CoordClient::create(connect, {.session_timeout = 10s, .request_timeout = 2s});
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

}  // namespace
}  // namespace weir::coord::server::testing
