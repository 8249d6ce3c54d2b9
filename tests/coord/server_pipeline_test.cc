// One connection pipelining writes to the leader while its log appends are slow (BUGGIFY in
// TxnLog::append): every write is answered, in order, with its own result. A write whose
// submission suspended used to be submitted a second time, empty, by the responder, and was
// answered MarshallingError (found by `weir bench coord`, 4 requests outstanding per session).
#include <gtest/gtest.h>

#include "buggify/buggify.h"
#include "tests/coord/server_test_util.h"

namespace weir::coord::server::testing {
namespace {

TEST(CoordServerPipeline, PipelinedWritesOnTheLeaderWithSlowAppends) {
  int seeds_with_slow_appends = 0;
  for (uint64_t seed = 1; seed <= 12; ++seed) {
    Ensemble e(seed);
    buggify::enable(seed, &e.sim.random());
    bool done = e.run([&] {
      e.wait_ready();
      auto c = RawClient::connect(e.clients[e.leader_index()], 6000);
      ASSERT_TRUE(c.ok());
      ASSERT_EQ((*c)->create("/p", "")->header.err, ErrorCode::kOk);
      for (int round = 0; round < 20; ++round) {
        std::vector<int32_t> xids;
        for (int i = 0; i < 8; ++i) {
          xids.push_back((*c)->send(OpCode::kSetData,
                                    jute::SetDataRequest{"/p", absl::StrCat(round, "/", i), -1}));
          // Spaced so that an earlier write commits while a later one is being appended.
          delay(std::chrono::microseconds(300 * (1 + (round + i) % 7)));
        }
        for (int32_t xid : xids) {
          auto r = (*c)->wait_reply(xid);
          ASSERT_TRUE(r.ok()) << "seed " << seed << ": " << r.status();
          ASSERT_EQ(r->header.err, ErrorCode::kOk) << "seed " << seed << " xid " << xid;
        }
      }
      jute::GetDataRequest get;
      get.path = "/p";
      auto last = (*c)->call(OpCode::kGetData, get);
      ASSERT_TRUE(last.ok());
      const auto& data = std::get<jute::GetDataResponse>(last->body);
      EXPECT_EQ(data.data, "19/7");
      EXPECT_EQ(data.stat.version, 160);  // every write applied exactly once
    });
    seeds_with_slow_appends += buggify::fired_count() > 0;
    buggify::disable();
    EXPECT_TRUE(done) << "seed " << seed;
  }
  EXPECT_GT(seeds_with_slow_appends, 0);  // the slow path ran at all
}

}  // namespace
}  // namespace weir::coord::server::testing
