// follower_truncation (broker/server/truncation.h): where a follower cuts its log for each
// kind of answer the leader gives to OffsetsForLeaderEpoch.
#include "broker/server/truncation.h"

#include <gtest/gtest.h>

namespace weir::broker {
namespace {

using log::LeaderEpochCache;

LeaderEpochCache epochs(std::vector<std::pair<int32_t, int64_t>> entries) {
  LeaderEpochCache c;
  std::vector<LeaderEpochCache::Entry> v;
  for (auto [e, start] : entries) v.push_back({LeaderEpoch(e), Offset(start)});
  c.reset(std::move(v));
  return c;
}

TEST(FollowerTruncation, SameEpochCutsWhereTheLeadersEnds) {
  const auto c = epochs({{0, 0}, {3, 100}});
  const Truncation t = follower_truncation(c, Offset(150), Offset(0), {3, 120}, LeaderEpoch(3));
  EXPECT_EQ(t.cut, Offset(120));
  EXPECT_FALSE(t.ask_again);
}

TEST(FollowerTruncation, LeaderAheadLeavesTheLogWhole) {
  const auto c = epochs({{0, 0}, {3, 100}});
  const Truncation t = follower_truncation(c, Offset(150), Offset(0), {3, 400}, LeaderEpoch(3));
  EXPECT_EQ(t.cut, Offset(150));
  EXPECT_FALSE(t.ask_again);
}

TEST(FollowerTruncation, OlderEpochWeShareEndsAtTheSmallerEnd) {
  // Ours: 1 from 50, 3 from 100. The leader never had 3; its epoch 1 ends at 120.
  const auto c = epochs({{0, 0}, {1, 50}, {3, 100}});
  const Truncation t = follower_truncation(c, Offset(150), Offset(0), {1, 120}, LeaderEpoch(3));
  EXPECT_EQ(t.cut, Offset(100));  // our epoch 1 ends where our epoch 3 starts
  EXPECT_FALSE(t.ask_again);
}

// The divergence the simulator found (produce_verify_replicated): the follower's latest epoch
// is 3 (from 1177), the leader answers with its epoch 2 ending at 1192, an epoch the follower
// never had. Its offsets 1177..1191 are epoch 3 data, the leader's are epoch 2: the follower
// must cut at 1177 (where its epoch 1 ends) and ask again, not keep them up to 1192.
TEST(FollowerTruncation, EpochWeNeverHadCutsToOurEarlierEpochAndAsksAgain) {
  const auto c = epochs({{0, 0}, {1, 573}, {3, 1177}});
  const Truncation t = follower_truncation(c, Offset(1197), Offset(0), {2, 1192}, LeaderEpoch(3));
  EXPECT_EQ(t.cut, Offset(1177));
  EXPECT_TRUE(t.ask_again);
  // Asked again, about epoch 1: the leader's epoch 1 also ends at 1177.
  const auto after = epochs({{0, 0}, {1, 573}});
  const Truncation t2 =
      follower_truncation(after, Offset(1177), Offset(0), {1, 1177}, LeaderEpoch(1));
  EXPECT_EQ(t2.cut, Offset(1177));
  EXPECT_FALSE(t2.ask_again);
}

TEST(FollowerTruncation, LeaderWithNoEpochThatOldKeepsOnlyBelowTheLogStart) {
  const auto c = epochs({{4, 10}});
  const Truncation t = follower_truncation(c, Offset(50), Offset(10), {-1, -1}, LeaderEpoch(4));
  EXPECT_EQ(t.cut, Offset(10));
  EXPECT_FALSE(t.ask_again);
}

}  // namespace
}  // namespace weir::broker
