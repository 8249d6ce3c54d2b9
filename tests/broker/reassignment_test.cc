// The pure parts of partition reassignment (broker/controller/reassignment.h): Kafka's
// /admin/reassign_partitions JSON, the topic znode's adding/removing replicas, and the
// assignment a reassignment (or its replacement, or its cancellation) moves to.
#include "broker/controller/reassignment.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <set>

namespace weir::broker::controller {
namespace {

using Ids = std::vector<int32_t>;

TEST(Reassignment, ReadsKafkasZnodeAndWritesItBack) {
  // As kafka-reassign-partitions.sh --zookeeper (Kafka 2.x) writes it, log_dirs included.
  auto parsed = parse_reassignments_json(
      R"({"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3],)"
      R"("log_dirs":["any","any","any"]},{"topic":"u","partition":4,"replicas":[0]}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ(parsed->at({"t", 0}), (Ids{1, 2, 3}));
  EXPECT_EQ(parsed->at({"u", 4}), (Ids{0}));
  EXPECT_EQ(reassignments_json(*parsed),
            R"({"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2,3]},)"
            R"({"topic":"u","partition":4,"replicas":[0]}]})");
  auto back = parse_reassignments_json(reassignments_json(*parsed));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *parsed);
}

TEST(Reassignment, RefusesMalformedZnodes) {
  for (const char* bad : {"", "{}", R"({"partitions":{}})", R"({"partitions":[{"topic":"t"}]})",
                          R"({"partitions":[{"topic":"t","partition":0}]})",
                          R"({"partitions":[{"topic":"t","partition":0,"replicas":["1"]}]})",
                          R"({"partitions":[{"partition":0,"replicas":[1]}]})"})
    EXPECT_FALSE(parse_reassignments_json(bad).ok()) << bad;
  auto empty = parse_reassignments_json(R"({"version":1,"partitions":[]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(Reassignment, TopicZnodeKeepsAddingAndRemovingReplicas) {
  TopicAssignment a;
  a.topic_id.bytes[3] = 9;
  a.replicas = {{0, {1, 2, 3, 0}}, {1, {2, 0, 1}}};
  a.adding = {{0, {3}}};
  a.removing = {{0, {0}}};
  const std::string json = ClusterStore::topic_json(a);
  EXPECT_NE(json.find(R"("adding_replicas":{"0":[3]},"removing_replicas":{"0":[0]})"),
            std::string::npos)
      << json;
  auto back = ClusterStore::parse_topic_json(json);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->replicas, a.replicas);
  EXPECT_EQ(back->adding, a.adding);
  EXPECT_EQ(back->removing, a.removing);
  // Kafka's version-1 znodes have neither key; an entry for a partition that does not exist
  // is refused.
  auto v1 = ClusterStore::parse_topic_json(R"({"version":1,"partitions":{"0":[1]}})");
  ASSERT_TRUE(v1.ok());
  EXPECT_TRUE(v1->adding.empty());
  EXPECT_FALSE(ClusterStore::parse_topic_json(
                   R"({"version":2,"partitions":{"0":[1]},"adding_replicas":{"5":[2]}})")
                   .ok());
}

TEST(Reassignment, MovesThroughTheUnionAndBack) {
  const PartitionAssignment start{.replicas = {0, 1, 2}};
  const PartitionAssignment moving = reassign_to(start, {1, 2, 3});
  EXPECT_EQ(moving.replicas, (Ids{1, 2, 3, 0}));
  EXPECT_EQ(moving.adding, (Ids{3}));
  EXPECT_EQ(moving.removing, (Ids{0}));
  EXPECT_EQ(moving.target(), (Ids{1, 2, 3}));
  EXPECT_EQ(moving.original(), (Ids{1, 2, 0}));
  EXPECT_FALSE(reassignment_complete(moving, {0, 1, 2}));
  EXPECT_TRUE(reassignment_complete(moving, {2, 0, 3, 1}));
  // Replaced by another target: the original stays {0,1,2}, broker 3 is no longer wanted.
  const PartitionAssignment replaced = reassign_to(moving, {0, 1, 4});
  EXPECT_EQ(replaced.replicas, (Ids{0, 1, 4, 2}));
  EXPECT_EQ(replaced.adding, (Ids{4}));
  EXPECT_EQ(replaced.removing, (Ids{2}));
  // Cancelled (moved back to the original): nothing being added or removed.
  const PartitionAssignment cancelled = reassign_to(moving, moving.original());
  EXPECT_FALSE(cancelled.reassigning());
  EXPECT_EQ(std::set<int32_t>(cancelled.replicas.begin(), cancelled.replicas.end()),
            (std::set<int32_t>{0, 1, 2}));
  // To the same set: no reassignment at all.
  EXPECT_EQ(reassign_to(start, {0, 1, 2}), start);
}

TEST(Reassignment, TargetsMustBeRegisteredDistinctAndNonEmpty) {
  const std::set<int32_t> brokers{0, 1, 2, 3};
  EXPECT_EQ(invalid_target({1, 2, 3}, brokers), std::nullopt);
  EXPECT_TRUE(invalid_target({}, brokers).has_value());
  EXPECT_TRUE(invalid_target({1, 1}, brokers).has_value());
  EXPECT_TRUE(invalid_target({1, 7}, brokers).has_value());
  EXPECT_TRUE(invalid_target({-1}, brokers).has_value());
}

// Whatever was in progress, moving to a target keeps the original replicas, holds exactly
// original + target, adds only what the original lacks, removes only what the target lacks.
RC_GTEST_PROP(Reassignment, UnionKeepsTheOriginal, ()) {
  auto distinct = [](std::vector<int32_t> v) {
    std::vector<int32_t> out;
    for (int32_t x : v) {
      if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
    }
    return out;
  };
  const auto ids = rc::gen::inRange<int32_t>(0, 8);
  const Ids original = distinct(*rc::gen::nonEmpty(rc::gen::container<Ids>(ids)));
  const Ids first = distinct(*rc::gen::nonEmpty(rc::gen::container<Ids>(ids)));
  const Ids second = distinct(*rc::gen::nonEmpty(rc::gen::container<Ids>(ids)));
  const PartitionAssignment a = reassign_to(PartitionAssignment{.replicas = original}, first);
  const PartitionAssignment b = reassign_to(a, second);
  auto as_set = [](const Ids& v) { return std::set<int32_t>(v.begin(), v.end()); };
  RC_ASSERT(as_set(b.original()) == as_set(original));
  RC_ASSERT(as_set(b.target()) == as_set(second));
  std::set<int32_t> all = as_set(original);
  all.insert(second.begin(), second.end());
  RC_ASSERT(as_set(b.replicas) == all);
  RC_ASSERT(b.replicas.size() == all.size());
  for (int32_t r : b.adding) RC_ASSERT(as_set(original).count(r) == 0u);
  for (int32_t r : b.removing) RC_ASSERT(as_set(second).count(r) == 0u);
  RC_ASSERT(reassignment_complete(b, b.replicas));
  // Back to the original: nothing left in progress.
  RC_ASSERT(!reassign_to(b, b.original()).reassigning());
}

}  // namespace
}  // namespace weir::broker::controller
