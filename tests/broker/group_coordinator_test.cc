// The group coordinator on a log in memory and virtual time: the rebalance protocol as Kafka
// clients drive it (KIP-394 joins, sync, heartbeats, leaves, expiry, static members), who may
// commit offsets, what survives a move of the offsets partition, and offsets retention.
#include "broker/group/group_coordinator.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/broker/group_test_util.h"
#include "tests/broker_log/log_test_util.h"

namespace weir::broker::group {
namespace {

using kafka::ErrorCode;
using log::test::DiskHarness;
using test::MemoryGroupLog;
using test::subscription;

constexpr int32_t kPartitions = 50;

GroupConfig config() {
  GroupConfig c;
  c.offsets_topic_partitions = kPartitions;
  c.initial_rebalance_delay_ms = 100;  // both members of a new group join within it
  return c;
}

// A coordinator that leads every offsets partition, loaded.
struct Fixture {
  explicit Fixture(DiskHarness& h, GroupConfig c = config())
      : coordinator(c, log, h.clock(), h.random()) {
    coordinator.start();
    for (int32_t p = 0; p < kPartitions; ++p) coordinator.on_elected(p, LeaderEpoch(1));
    delay(std::chrono::milliseconds(10));  // the loads
  }
  ~Fixture() { coordinator.stop(); }
  MemoryGroupLog log;
  GroupCoordinator coordinator;
};

JoinRequest join_request(std::string member_id = "", std::string topic = "t") {
  return JoinRequest{.group_id = "g",
                     .member_id = std::move(member_id),
                     .client_id = "c",
                     .client_host = "/127.0.0.1",
                     .session_timeout_ms = 10000,
                     .rebalance_timeout_ms = 30000,
                     .protocol_type = "consumer",
                     .protocols = {{"range", subscription({topic})}},
                     .require_known_member_id = true};
}

// KIP-394: the first join is refused with the member id to use; the second is parked.
Future<JoinResult> join_async(GroupCoordinator& c, JoinRequest req) {
  return spawn("join", [&c, req]() mutable {
    JoinResult first = c.join(req);
    if (first.error != ErrorCode::kMemberIdRequired) return first;
    req.member_id = first.member_id;
    return c.join(req);
  });
}

SyncResult sync(GroupCoordinator& c, const JoinResult& j,
                std::vector<std::pair<std::string, std::string>> assignments = {}) {
  return c.sync(SyncRequest{.group_id = "g",
                            .member_id = j.member_id,
                            .generation = j.generation,
                            .assignments = std::move(assignments)});
}

// Two members through join and sync; returns their join results (leader first).
std::pair<JoinResult, JoinResult> form_group_of_two(GroupCoordinator& c) {
  auto a = join_async(c, join_request());
  auto b = join_async(c, join_request());
  JoinResult ja = *await(a);
  JoinResult jb = *await(b);
  EXPECT_EQ(ja.error, ErrorCode::kNone);
  EXPECT_EQ(jb.error, ErrorCode::kNone);
  if (ja.leader != ja.member_id) std::swap(ja, jb);
  EXPECT_EQ(ja.members.size(), 2u);  // the leader sees everyone
  EXPECT_TRUE(jb.members.empty());
  auto follower = spawn("sync-b", [&c, jb] { return sync(c, jb); });
  SyncResult sa = sync(c, ja, {{ja.member_id, "A"}, {jb.member_id, "B"}});
  EXPECT_EQ(sa.error, ErrorCode::kNone);
  EXPECT_EQ(sa.assignment, "A");
  SyncResult sb = *await(follower);
  EXPECT_EQ(sb.error, ErrorCode::kNone);
  EXPECT_EQ(sb.assignment, "B");
  return {ja, jb};
}

TEST(GroupPartition, IsJavasStringHashCodeModuloThePartitionCount) {
  EXPECT_EQ(partition_for_group("g1", 50), 42);  // "g1".hashCode() == 3242
  EXPECT_EQ(partition_for_group("", 50), 0);
  EXPECT_EQ(partition_for_group("my-group", 50), 36);               // hashCode -1906497762
  EXPECT_EQ(partition_for_group("gr\xC3\xBCppe", 50), 36);          // U+00FC is one UTF-16 unit
  EXPECT_EQ(partition_for_group("\xF0\x9F\x98\x80group", 50), 16);  // a surrogate pair
  // hashCode() == Integer.MIN_VALUE: Kafka's Utils.abs maps it to 0, not to a negative index.
  EXPECT_EQ(partition_for_group("polygenelubricants", 50), 0);
}

TEST(GroupCoordinator, TwoMembersJoinAndSyncIntoOneStableGeneration) {
  DiskHarness h(1);
  h.run([&] {
    Fixture f(h);
    auto [leader, follower] = form_group_of_two(f.coordinator);
    EXPECT_EQ(leader.generation, 1);
    EXPECT_EQ(leader.protocol_name, "range");
    const Group* g = f.coordinator.find_group("g");
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(g->state(), GroupState::kStable);
    EXPECT_EQ(f.coordinator.heartbeat("g", follower.member_id, std::nullopt, 1), ErrorCode::kNone);
    EXPECT_EQ(f.coordinator.heartbeat("g", follower.member_id, std::nullopt, 0),
              ErrorCode::kIllegalGeneration);
    EXPECT_EQ(f.coordinator.heartbeat("g", "nobody", std::nullopt, 1), ErrorCode::kUnknownMemberId);
    const GroupDescription d = f.coordinator.describe("g");
    EXPECT_EQ(d.state, GroupState::kStable);
    EXPECT_EQ(d.protocol_name, "range");
    ASSERT_EQ(d.members.size(), 2u);
  });
}

TEST(GroupCoordinator, RefusesBadSessionTimeoutsAndForeignProtocols) {
  DiskHarness h(2);
  h.run([&] {
    Fixture f(h);
    JoinRequest r = join_request();
    r.session_timeout_ms = 10;
    EXPECT_EQ(f.coordinator.join(r).error, ErrorCode::kInvalidSessionTimeout);
    r = join_request();
    r.group_id = "";
    EXPECT_EQ(f.coordinator.join(r).error, ErrorCode::kInvalidGroupId);
    form_group_of_two(f.coordinator);
    r = join_request();
    r.protocol_type = "connect";
    EXPECT_EQ(f.coordinator.join(r).error, ErrorCode::kInconsistentGroupProtocol);
    r = join_request("made-up-id");
    EXPECT_EQ(f.coordinator.join(r).error, ErrorCode::kUnknownMemberId);
  });
}

TEST(GroupCoordinator, AnExpiredSessionRebalancesTheRest) {
  DiskHarness h(3);
  h.run([&] {
    Fixture f(h);
    auto [leader, follower] = form_group_of_two(f.coordinator);
    // Only the leader heartbeats: after the follower's 10 s session, a rebalance starts.
    ErrorCode e = ErrorCode::kNone;
    for (int i = 0; i < 15 && e == ErrorCode::kNone; ++i) {
      delay(std::chrono::seconds(1));
      e = f.coordinator.heartbeat("g", leader.member_id, std::nullopt, 1);
    }
    EXPECT_EQ(e, ErrorCode::kRebalanceInProgress);
    EXPECT_EQ(f.coordinator.counters().members_expired, 1u);
    JoinResult again = f.coordinator.join(join_request(leader.member_id));
    EXPECT_EQ(again.error, ErrorCode::kNone);
    EXPECT_EQ(again.generation, 2);
    ASSERT_EQ(again.members.size(), 1u);
    EXPECT_EQ(again.members[0].member_id, leader.member_id);
  });
}

TEST(GroupCoordinator, AMemberThatDoesNotRejoinWithinTheRebalanceTimeoutIsRemoved) {
  DiskHarness h(4);
  h.run([&] {
    Fixture f(h);
    auto [leader, follower] = form_group_of_two(f.coordinator);
    // A third member joins; the follower keeps heartbeating but never rejoins.
    auto third = join_async(f.coordinator, join_request());
    auto beats = spawn("beats", [&] {
      for (int i = 0; i < 40; ++i) {
        (void)f.coordinator.heartbeat("g", follower.member_id, std::nullopt, 1);
        delay(std::chrono::seconds(1));
      }
    });
    auto leader_rejoin = join_async(f.coordinator, join_request(leader.member_id));
    const TimePoint start = h.clock().now();
    JoinResult j3 = *await(third);
    const Duration took = h.clock().now() - start;
    EXPECT_EQ(j3.error, ErrorCode::kNone);
    EXPECT_EQ(j3.generation, 2);
    EXPECT_GE(took, std::chrono::seconds(29));  // the rebalance timeout, 30 s
    EXPECT_LE(took, std::chrono::seconds(31));
    JoinResult jl = *await(leader_rejoin);
    EXPECT_EQ(jl.members.size(), 2u);
    EXPECT_FALSE(f.coordinator.find_group("g")->has_member(follower.member_id));
    EXPECT_EQ(f.coordinator.heartbeat("g", follower.member_id, std::nullopt, 2),
              ErrorCode::kUnknownMemberId);
    beats.reset();
  });
}

TEST(GroupCoordinator, OnlyTheCurrentGenerationMayCommitAndCommitsAreRead) {
  DiskHarness h(5);
  h.run([&] {
    Fixture f(h);
    auto [leader, follower] = form_group_of_two(f.coordinator);
    const std::vector<OffsetCommit> c{{.partition = {"t", 0}, .offset = 7, .metadata = "m"}};
    EXPECT_EQ(f.coordinator.commit_offsets("g", leader.member_id, std::nullopt, 1, c)[0],
              ErrorCode::kNone);
    EXPECT_EQ(f.coordinator.commit_offsets("g", leader.member_id, std::nullopt, 0, c)[0],
              ErrorCode::kIllegalGeneration);
    EXPECT_EQ(f.coordinator.commit_offsets("g", "stranger", std::nullopt, 1, c)[0],
              ErrorCode::kUnknownMemberId);
    // A group with members refuses commits without a generation (a consumer assigning itself).
    EXPECT_EQ(f.coordinator.commit_offsets("g", "", std::nullopt, -1, c)[0],
              ErrorCode::kUnknownMemberId);
    ErrorCode e = ErrorCode::kNone;
    auto got = f.coordinator.fetch_offsets("g", std::vector<TopicPartition>{{"t", 0}, {"t", 1}}, e);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].offset, 7);
    EXPECT_EQ(got[0].metadata, "m");
    EXPECT_EQ(got[1].offset, -1);  // never committed
    // A group nobody manages takes commits without a generation.
    EXPECT_EQ(f.coordinator.commit_offsets("solo", "", std::nullopt, -1, c)[0], ErrorCode::kNone);
    EXPECT_EQ(f.coordinator.commit_offsets("unknown", "m", std::nullopt, 3, c)[0],
              ErrorCode::kIllegalGeneration);
    got = f.coordinator.fetch_offsets("solo", std::nullopt, e);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].offset, 7);
  });
}

TEST(GroupCoordinator, CommitsDuringCompletingRebalanceAreRefused) {
  DiskHarness h(6);
  h.run([&] {
    Fixture f(h);
    auto a = join_async(f.coordinator, join_request());
    JoinResult ja = *await(a);
    ASSERT_EQ(f.coordinator.find_group("g")->state(), GroupState::kCompletingRebalance);
    const std::vector<OffsetCommit> c{{.partition = {"t", 0}, .offset = 1}};
    EXPECT_EQ(f.coordinator.commit_offsets("g", ja.member_id, std::nullopt, 1, c)[0],
              ErrorCode::kRebalanceInProgress);
    EXPECT_EQ(sync(f.coordinator, ja, {{ja.member_id, "x"}}).error, ErrorCode::kNone);
    EXPECT_EQ(f.coordinator.commit_offsets("g", ja.member_id, std::nullopt, 1, c)[0],
              ErrorCode::kNone);
  });
}

TEST(GroupCoordinator, AFailedAssignmentWriteAnswersEveryoneAndRebalances) {
  DiskHarness h(7);
  h.run([&] {
    Fixture f(h);
    auto a = join_async(f.coordinator, join_request());
    auto b = join_async(f.coordinator, join_request());
    JoinResult ja = *await(a);
    JoinResult jb = *await(b);
    if (ja.leader != ja.member_id) std::swap(ja, jb);
    auto follower = spawn("sync-b", [&] { return sync(f.coordinator, jb); });
    f.log.fail_next = ErrorCode::kNotEnoughReplicas;
    EXPECT_EQ(sync(f.coordinator, ja, {{ja.member_id, "A"}, {jb.member_id, "B"}}).error,
              ErrorCode::kCoordinatorNotAvailable);
    EXPECT_EQ((*await(follower)).error, ErrorCode::kCoordinatorNotAvailable);
    EXPECT_EQ(f.coordinator.find_group("g")->state(), GroupState::kPreparingRebalance);
  });
}

TEST(GroupCoordinator, LeavingRebalancesAndAnEmptyGroupCanBeDeleted) {
  DiskHarness h(8);
  h.run([&] {
    Fixture f(h);
    auto [leader, follower] = form_group_of_two(f.coordinator);
    const std::vector<OffsetCommit> c{{.partition = {"t", 0}, .offset = 3}};
    ASSERT_EQ(f.coordinator.commit_offsets("g", leader.member_id, std::nullopt, 1, c)[0],
              ErrorCode::kNone);
    EXPECT_EQ(f.coordinator.delete_group("g"), ErrorCode::kNonEmptyGroup);
    ErrorCode ge = ErrorCode::kNone;
    auto errors = f.coordinator.leave("g", {{follower.member_id, std::nullopt}, {"ghost", {}}}, ge);
    EXPECT_EQ(ge, ErrorCode::kNone);
    EXPECT_EQ(errors[0], ErrorCode::kNone);
    EXPECT_EQ(errors[1], ErrorCode::kUnknownMemberId);
    EXPECT_EQ(f.coordinator.heartbeat("g", leader.member_id, std::nullopt, 1),
              ErrorCode::kRebalanceInProgress);
    errors = f.coordinator.leave("g", {{leader.member_id, std::nullopt}}, ge);
    EXPECT_EQ(f.coordinator.find_group("g")->state(), GroupState::kEmpty);
    EXPECT_EQ(f.coordinator.delete_group("g"), ErrorCode::kNone);
    EXPECT_EQ(f.coordinator.delete_group("g"), ErrorCode::kGroupIdNotFound);
    auto got = f.coordinator.fetch_offsets("g", std::nullopt, ge);
    EXPECT_TRUE(got.empty());
  });
}

TEST(GroupCoordinator, AStaticMemberRejoiningTakesItsPlaceWithoutARebalance) {
  DiskHarness h(9);
  h.run([&] {
    Fixture f(h);
    JoinRequest r = join_request();
    r.group_instance_id = "instance-1";
    JoinRequest r2 = join_request();
    r2.group_instance_id = "instance-2";
    auto a = join_async(f.coordinator, r);
    auto b = join_async(f.coordinator, r2);
    JoinResult ja = *await(a);
    JoinResult jb = *await(b);
    if (ja.leader != ja.member_id) std::swap(ja, jb);
    auto follower = spawn("sync-b", [&] { return sync(f.coordinator, jb); });
    ASSERT_EQ(sync(f.coordinator, ja, {{ja.member_id, "A"}, {jb.member_id, "B"}}).error,
              ErrorCode::kNone);
    ASSERT_EQ((*await(follower)).assignment, "B");
    const uint64_t rebalances = f.coordinator.counters().rebalances;
    // The follower restarts: same instance id, no member id.
    JoinRequest restart = join_request();
    restart.group_instance_id =
        f.coordinator.find_group("g")->members.at(jb.member_id).group_instance_id;
    JoinResult again = f.coordinator.join(restart);
    EXPECT_EQ(again.error, ErrorCode::kNone);
    EXPECT_NE(again.member_id, jb.member_id);
    EXPECT_EQ(again.generation, 1);
    EXPECT_EQ(f.coordinator.counters().rebalances, rebalances);
    EXPECT_EQ(sync(f.coordinator, again).assignment, "B");
    // The old incarnation is fenced.
    EXPECT_EQ(f.coordinator.heartbeat("g", jb.member_id, restart.group_instance_id, 1),
              ErrorCode::kFencedInstanceId);
  });
}

TEST(GroupCoordinator, ANewLeaderOfTheOffsetsPartitionRestoresGroupsAndOffsets) {
  DiskHarness h(10);
  h.run([&] {
    MemoryGroupLog shared;
    JoinResult leader, follower;
    {
      GroupCoordinator c(config(), shared, h.clock(), h.random());
      c.start();
      for (int32_t p = 0; p < kPartitions; ++p) c.on_elected(p, LeaderEpoch(1));
      delay(std::chrono::milliseconds(10));
      std::tie(leader, follower) = form_group_of_two(c);
      const std::vector<OffsetCommit> commits{{.partition = {"t", 0}, .offset = 11},
                                              {.partition = {"t", 1}, .offset = 12}};
      ASSERT_EQ(c.commit_offsets("g", leader.member_id, std::nullopt, 1, commits)[1],
                ErrorCode::kNone);
      // A join parked when the partition moves away is answered NOT_COORDINATOR.
      auto parked = join_async(c, join_request());
      delay(std::chrono::milliseconds(5));
      c.on_resigned(partition_for_group("g", kPartitions));
      EXPECT_EQ((*await(parked)).error, ErrorCode::kNotCoordinator);
      EXPECT_EQ(c.heartbeat("g", leader.member_id, std::nullopt, 1), ErrorCode::kNotCoordinator);
      c.stop();
    }
    GroupCoordinator next(config(), shared, h.clock(), h.random());
    next.start();
    next.on_elected(partition_for_group("g", kPartitions), LeaderEpoch(2));
    EXPECT_EQ(next.check_coordinator("g"), ErrorCode::kCoordinatorLoadInProgress);
    delay(std::chrono::milliseconds(10));
    EXPECT_EQ(next.check_coordinator("g"), ErrorCode::kNone);
    const Group* g = next.find_group("g");
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(g->state(), GroupState::kStable);
    EXPECT_EQ(g->generation, 1);
    EXPECT_EQ(g->members.size(), 2u);
    EXPECT_EQ(g->members.at(follower.member_id).assignment, "B");
    EXPECT_EQ(next.heartbeat("g", follower.member_id, std::nullopt, 1), ErrorCode::kNone);
    ErrorCode e = ErrorCode::kNone;
    auto got = next.fetch_offsets("g", std::nullopt, e);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].offset, 11);
    EXPECT_EQ(got[1].offset, 12);
    next.stop();
  });
}

TEST(GroupCoordinator, OffsetsOfAnEmptyGroupExpireAfterRetentionAndALiveGroupKeepsThem) {
  DiskHarness h(11);
  h.run([&] {
    GroupConfig c = config();
    c.offsets_retention_ms = 60000;
    c.offsets_retention_check_interval_ms = 1000;
    c.session_timeout_max_ms = 3600000;
    Fixture f(h, c);
    auto [leader, follower] = form_group_of_two(f.coordinator);
    const std::vector<OffsetCommit> commit{{.partition = {"t", 0}, .offset = 5}};
    ASSERT_EQ(f.coordinator.commit_offsets("g", leader.member_id, std::nullopt, 1, commit)[0],
              ErrorCode::kNone);
    ASSERT_EQ(f.coordinator.commit_offsets("idle", "", std::nullopt, -1, commit)[0],
              ErrorCode::kNone);
    for (int i = 0; i < 90; ++i) {
      delay(std::chrono::seconds(1));
      (void)f.coordinator.heartbeat("g", leader.member_id, std::nullopt, 1);
      (void)f.coordinator.heartbeat("g", follower.member_id, std::nullopt, 1);
    }
    ErrorCode e = ErrorCode::kNone;
    EXPECT_EQ(f.coordinator.fetch_offsets("g", std::nullopt, e).size(), 1u);  // subscribed: kept
    EXPECT_TRUE(f.coordinator.fetch_offsets("idle", std::nullopt, e).empty());
    EXPECT_EQ(f.coordinator.find_group("idle"), nullptr);  // empty, no offsets: deleted
    EXPECT_EQ(f.coordinator.counters().offsets_expired, 1u);
  });
}

TEST(GroupCoordinator, AnOffsetFetchWaitsForCommitsInFlightAndProvesItsLeadershipFirst) {
  DiskHarness h(12);
  h.run([&] {
    Fixture f(h);
    const std::vector<OffsetCommit> c{{.partition = {"t", 0}, .offset = 9}};
    f.log.slow_next_ms = 50;  // the commit's write is slow; the read's barrier is not
    auto commit = spawn(
        "commit", [&] { return f.coordinator.commit_offsets("solo", "", std::nullopt, -1, c)[0]; });
    delay(std::chrono::microseconds(100));  // the commit is being written
    ErrorCode e = ErrorCode::kNone;
    auto got = f.coordinator.fetch_offsets("solo", std::vector<TopicPartition>{{"t", 0}}, e);
    EXPECT_EQ(e, ErrorCode::kNone);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].offset, 9);  // not -1 from before the commit landed
    EXPECT_EQ(*await(commit), ErrorCode::kNone);
    // A leader that can no longer commit (replaced without knowing) answers no reads.
    f.log.fail_next = ErrorCode::kNotLeaderOrFollower;
    got = f.coordinator.fetch_offsets("solo", std::nullopt, e);
    EXPECT_EQ(e, ErrorCode::kNotCoordinator);
    EXPECT_TRUE(got.empty());
  });
}

TEST(GroupCoordinator, ANewLeaderServesOnlyOnceWhatItReplayedIsCommitted) {
  DiskHarness h(13);
  h.run([&] {
    MemoryGroupLog log;
    GroupCoordinator c(config(), log, h.clock(), h.random());
    c.start();
    // The barrier that ends the load cannot commit yet (followers behind): still loading.
    log.fail_next = ErrorCode::kNotEnoughReplicas;
    c.on_elected(partition_for_group("g", kPartitions), LeaderEpoch(1));
    delay(std::chrono::milliseconds(20));
    EXPECT_EQ(c.check_coordinator("g"), ErrorCode::kCoordinatorLoadInProgress);
    delay(std::chrono::milliseconds(200));  // the next barrier commits
    EXPECT_EQ(c.check_coordinator("g"), ErrorCode::kNone);
    c.stop();
  });
}

TEST(GroupCoordinator, AMemberWhoseConnectionClosedIsRemovedAfterAThirdOfItsSession) {
  DiskHarness h(14);
  h.run([&] {
    Fixture f(h);
    JoinRequest ra = join_request();
    ra.connection = "10.0.0.1:5000";
    JoinRequest rb = join_request();
    rb.connection = "10.0.0.2:5000";
    auto a = join_async(f.coordinator, ra);
    auto b = join_async(f.coordinator, rb);
    JoinResult ja = *await(a);
    JoinResult jb = *await(b);
    if (ja.leader != ja.member_id) std::swap(ja, jb);
    auto follower = spawn("sync-b", [&] { return sync(f.coordinator, jb); });
    ASSERT_EQ(sync(f.coordinator, ja, {{ja.member_id, "A"}, {jb.member_id, "B"}}).error,
              ErrorCode::kNone);
    (void)await(follower);
    // The leader rejoins (parked until the follower does); the follower's process dies.
    auto rejoin = join_async(f.coordinator, join_request(ja.member_id));
    const std::string follower_connection =
        f.coordinator.find_group("g")->members.at(jb.member_id).connection;
    f.coordinator.on_connection_closed(follower_connection);
    const TimePoint start = h.clock().now();
    JoinResult next = *await(rejoin);
    const Duration took = h.clock().now() - start;
    EXPECT_EQ(next.error, ErrorCode::kNone);
    EXPECT_EQ(next.members.size(), 1u);
    // A third of the 10 s session, not the 30 s rebalance timeout Kafka would wait.
    EXPECT_LT(took, std::chrono::seconds(4));
    EXPECT_GT(took, std::chrono::seconds(3));
  });
}

TEST(GroupCoordinator, EmptyIdJoinsInALoopAreBounded) {
  DiskHarness h(15);
  h.run([&] {
    Fixture f(h);
    ErrorCode last = ErrorCode::kNone;
    int handed_out = 0;
    for (int i = 0; i < 10001 && last != ErrorCode::kGroupMaxSizeReached; ++i) {
      last = f.coordinator.join(join_request()).error;
      if (last == ErrorCode::kMemberIdRequired) ++handed_out;
    }
    EXPECT_EQ(last, ErrorCode::kGroupMaxSizeReached);
    EXPECT_EQ(handed_out, 10000);
    // They expire with their session timeout; then joins are taken again.
    delay(std::chrono::seconds(11));
    EXPECT_EQ(f.coordinator.join(join_request()).error, ErrorCode::kMemberIdRequired);
  });
}

TEST(GroupCoordinator, CommitsAnsweredOutOfLogOrderLeaveTheLaterRecord) {
  DiskHarness h(16);
  h.run([&] {
    Fixture f(h);
    auto commit = [&](int64_t offset) {
      const std::vector<OffsetCommit> c{{.partition = {"t", 0}, .offset = offset}};
      return f.coordinator.commit_offsets("solo", "", std::nullopt, -1, c)[0];
    };
    f.log.slow_answer_next_ms = 50;  // the first commit is in the log first, answered last
    auto first = spawn("first", [&] { return commit(5); });
    delay(std::chrono::microseconds(100));
    EXPECT_EQ(commit(7), ErrorCode::kNone);
    EXPECT_EQ(*await(first), ErrorCode::kNone);
    ErrorCode e = ErrorCode::kNone;
    auto got = f.coordinator.fetch_offsets("solo", std::nullopt, e);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].offset, 7);  // the log's last word, not the last answer's
  });
}

TEST(GroupCoordinator, ACommitWrittenWhileItsPartitionMovesIsThereForTheNextLeader) {
  DiskHarness h(17);
  h.run([&] {
    MemoryGroupLog shared;
    GroupCoordinator c(config(), shared, h.clock(), h.random());
    c.start();
    const int32_t p = partition_for_group("solo", kPartitions);
    c.on_elected(p, LeaderEpoch(1));
    delay(std::chrono::milliseconds(10));
    shared.slow_answer_next_ms = 50;
    auto commit = spawn("commit", [&] {
      const std::vector<OffsetCommit> o{{.partition = {"t", 0}, .offset = 9}};
      return c.commit_offsets("solo", "", std::nullopt, -1, o)[0];
    });
    delay(std::chrono::milliseconds(10));
    c.on_resigned(p);  // the commit is in the log; its answer is on its way
    EXPECT_EQ(*await(commit), ErrorCode::kNone);
    c.stop();
    GroupCoordinator next(config(), shared, h.clock(), h.random());
    next.start();
    next.on_elected(p, LeaderEpoch(2));
    delay(std::chrono::milliseconds(10));
    ErrorCode e = ErrorCode::kNone;
    auto got = next.fetch_offsets("solo", std::nullopt, e);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].offset, 9);
    next.stop();
  });
}

}  // namespace
}  // namespace weir::broker::group
