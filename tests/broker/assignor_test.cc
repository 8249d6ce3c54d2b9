// The consumer-group assignors (broker/client/assignors.h): Kafka's documented examples, and
// RapidCheck properties over random groups (members, topics, subscriptions, owned partitions):
// every partition of a subscribed topic goes to exactly one of its subscribers; range is
// balanced within one per topic and roundrobin overall when subscriptions are identical;
// cooperative-sticky minimises the sum of squared counts (checked against brute force on small
// groups), never gives a partition away and to another member in the same round, completes in
// one follow-up round, moves nothing in a stable group, and on a member joining or leaving a
// group with identical subscriptions revokes exactly the minimum. Then the ConsumerProtocol
// codecs: round trips, golden bytes written by hand from the schemas, and hostile input that
// must never crash a decoder or make it allocate beyond a small multiple of its input.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <new>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/client/assignors.h"

// ---- allocation tracking ----------------------------------------------------------------------
// Counts the bytes allocated while tracking is on, by replacing the global operator new of the
// test_broker binary (no other file of it does): lets the hostile-input properties prove that a
// decoder allocates in proportion to the bytes it was given, never to a count a peer claims.
namespace {
std::atomic<bool> g_tracking{false};
std::atomic<size_t> g_total{0};
std::atomic<size_t> g_largest{0};

void* tracked_malloc(std::size_t n) {
  if (g_tracking.load(std::memory_order_relaxed)) {
    g_total.fetch_add(n, std::memory_order_relaxed);
    size_t seen = g_largest.load(std::memory_order_relaxed);
    while (n > seen && !g_largest.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
    }
  }
  return std::malloc(n == 0 ? 1 : n);
}
}  // namespace

void* operator new(std::size_t n) {
  if (void* p = tracked_malloc(n)) return p;
  throw std::bad_alloc();
}
// std::stable_sort's buffer comes from here: it must pair with the delete below (ASan checks).
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return tracked_malloc(n);
}
// Not inlined: GCC would see the free() and take it for a mismatch with the new above.
[[gnu::noinline]] void operator delete(void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace weir::broker::client {
namespace {

struct Allocations {
  size_t total = 0;
  size_t largest = 0;
};

// Tracks allocations for its lifetime, and stops even when an RC_ASSERT throws.
class AllocationScope {
 public:
  AllocationScope() {
    g_total.store(0);
    g_largest.store(0);
    g_tracking.store(true);
  }
  ~AllocationScope() { g_tracking.store(false); }
  AllocationScope(const AllocationScope&) = delete;
  AllocationScope& operator=(const AllocationScope&) = delete;
  Allocations stop() {
    g_tracking.store(false);
    return Allocations{.total = g_total.load(), .largest = g_largest.load()};
  }
};

using Members = std::vector<MemberSubscription>;

TopicPartition tp(const std::string& topic, int32_t partition) {
  return TopicPartition{topic, partition};
}

MemberSubscription member(const std::string& id, std::vector<std::string> topics) {
  return MemberSubscription{.member_id = id, .topics = std::move(topics)};
}

template <class T>
T value_of(absl::StatusOr<T> result) {
  RC_ASSERT(result.ok());
  return *std::move(result);
}

// ---- what every assignment must satisfy -------------------------------------------------------

std::set<std::string> topics_of(const PartitionCounts& counts, const MemberSubscription& m) {
  std::set<std::string> topics;
  for (const std::string& t : m.topics) {
    const auto it = counts.find(t);
    if (it != counts.end() && it->second > 0) topics.insert(t);
  }
  return topics;
}

const MemberSubscription& find_member(const Members& members, const std::string& id) {
  const auto it = std::find_if(members.begin(), members.end(),
                               [&](const MemberSubscription& m) { return m.member_id == id; });
  RC_ASSERT(it != members.end());
  return *it;
}

// Every member has an entry, every assigned partition exists and goes to a subscriber, at most
// once; returns how many times each partition is assigned.
std::map<TopicPartition, int> check_valid(const PartitionCounts& counts, const Members& members,
                                          const GroupAssignment& assignment) {
  RC_ASSERT(assignment.size() == members.size());
  std::map<TopicPartition, int> times;
  for (const auto& [id, partitions] : assignment) {
    const std::set<std::string> topics = topics_of(counts, find_member(members, id));
    RC_ASSERT(std::is_sorted(partitions.begin(), partitions.end()));
    for (const TopicPartition& p : partitions) {
      RC_ASSERT(topics.contains(p.topic));
      RC_ASSERT(p.partition >= 0 && p.partition < counts.at(p.topic));
      RC_ASSERT(++times[p] == 1);
    }
  }
  return times;
}

std::set<TopicPartition> assignable(const PartitionCounts& counts, const Members& members) {
  std::set<TopicPartition> all;
  for (const MemberSubscription& m : members) {
    for (const std::string& t : topics_of(counts, m)) {
      for (int32_t p = 0; p < counts.at(t); ++p) all.insert(tp(t, p));
    }
  }
  return all;
}

void check_complete(const PartitionCounts& counts, const Members& members,
                    const GroupAssignment& assignment) {
  const std::map<TopicPartition, int> times = check_valid(counts, members, assignment);
  RC_ASSERT(times.size() == assignable(counts, members).size());
}

// Members with the same (assignable) topics differ by at most one partition.
void check_identical_within_one(const PartitionCounts& counts, const Members& members,
                                const GroupAssignment& assignment) {
  std::map<std::set<std::string>, std::pair<size_t, size_t>> range;  // topics -> min, max
  for (const MemberSubscription& m : members) {
    const size_t n = assignment.at(m.member_id).size();
    auto [it, inserted] = range.try_emplace(topics_of(counts, m), n, n);
    it->second = {std::min(it->second.first, n), std::max(it->second.second, n)};
  }
  for (const auto& [topics, min_max] : range) RC_ASSERT(min_max.second <= min_max.first + 1);
}

// No partition could move to a member subscribed to its topic that has two fewer partitions.
void check_locally_balanced(const PartitionCounts& counts, const Members& members,
                            const GroupAssignment& assignment) {
  for (const auto& [holder, partitions] : assignment) {
    for (const TopicPartition& p : partitions) {
      for (const MemberSubscription& m : members) {
        if (!topics_of(counts, m).contains(p.topic)) continue;
        RC_ASSERT(assignment.at(m.member_id).size() + 1 >= partitions.size());
      }
    }
  }
}

size_t sum_of_squares(const GroupAssignment& assignment) {
  size_t sum = 0;
  for (const auto& [id, partitions] : assignment) sum += partitions.size() * partitions.size();
  return sum;
}

size_t total_revoked(const CooperativeAssignment& result) {
  size_t n = 0;
  for (const auto& [id, partitions] : result.revoked) n += partitions.size();
  return n;
}

// One cooperative round: valid; every assignable partition assigned once or pending, never
// both; each member's revoked list is exactly what it owned and does not keep; every pending
// partition is revoked by someone (it is held back only because it is moving).
void check_cooperative_round(const PartitionCounts& counts, const Members& members,
                             const CooperativeAssignment& result) {
  const std::map<TopicPartition, int> times = check_valid(counts, members, result.assignment);
  std::set<TopicPartition> revoked_by_anyone;
  for (const MemberSubscription& m : members) {
    std::set<TopicPartition> expected(m.owned_partitions.begin(), m.owned_partitions.end());
    for (const TopicPartition& p : result.assignment.at(m.member_id)) expected.erase(p);
    const auto it = result.revoked.find(m.member_id);
    const std::vector<TopicPartition> none;
    const std::vector<TopicPartition>& revoked = it == result.revoked.end() ? none : it->second;
    RC_ASSERT(it == result.revoked.end() || !revoked.empty());
    RC_ASSERT(std::vector<TopicPartition>(expected.begin(), expected.end()) == revoked);
    revoked_by_anyone.insert(revoked.begin(), revoked.end());
  }
  // Safety: a member is never handed a partition that another member reported owning, unless
  // it reported owning it too (and keeps it as the winning claim).
  std::map<TopicPartition, std::set<std::string>> reporters;
  for (const MemberSubscription& m : members) {
    for (const TopicPartition& p : m.owned_partitions) reporters[p].insert(m.member_id);
  }
  for (const auto& [id, partitions] : result.assignment) {
    for (const TopicPartition& p : partitions) {
      if (reporters[p].empty() || reporters[p] == std::set<std::string>{id}) continue;
      RC_ASSERT(reporters[p].contains(id));
    }
  }
  RC_ASSERT(std::is_sorted(result.pending.begin(), result.pending.end()));
  const std::set<TopicPartition> all = assignable(counts, members);
  for (const TopicPartition& p : result.pending) {
    RC_ASSERT(all.contains(p));
    RC_ASSERT(!times.contains(p));
    RC_ASSERT(revoked_by_anyone.contains(p));
  }
  RC_ASSERT(times.size() + result.pending.size() == all.size());
}

// The group after a round: each member owns what it was assigned, at `generation`.
Members after_round(Members members, const GroupAssignment& assignment, int32_t generation) {
  for (MemberSubscription& m : members) {
    m.owned_partitions = assignment.at(m.member_id);
    m.generation = generation;
  }
  return members;
}

// ---- generators -------------------------------------------------------------------------------

const std::vector<std::string> kTopicPool = {"t0", "t1", "t2", "t3", "t4", "gone"};

PartitionCounts gen_counts() {
  PartitionCounts counts;
  for (size_t i = 0; i + 1 < kTopicPool.size(); ++i) {
    if (*rc::gen::inRange(0, 5) > 0) counts[kTopicPool[i]] = *rc::gen::inRange(0, 8);
  }
  return counts;
}

std::vector<std::string> gen_topics() {
  std::vector<std::string> topics;
  for (const std::string& t : kTopicPool) {
    if (*rc::gen::inRange(0, 2) == 0) topics.push_back(t);
  }
  if (!topics.empty() && *rc::gen::inRange(0, 8) == 0) topics.push_back(topics.front());
  return topics;
}

// Distinct member ids, in random order (the assignors must not care about input order).
std::vector<std::string> gen_ids(size_t n) {
  std::set<int> numbers;
  while (numbers.size() < n) numbers.insert(*rc::gen::inRange(0, 60));
  std::vector<std::string> ids;
  for (int k : numbers) ids.push_back("member-" + std::to_string(k));
  for (size_t i = ids.size(); i > 1; --i) {
    std::swap(ids[i - 1], ids[*rc::gen::inRange<size_t>(0, i)]);
  }
  return ids;
}

std::optional<std::string> gen_instance_id() {
  if (*rc::gen::inRange(0, 3) != 0) return std::nullopt;
  return "instance-" + std::to_string(*rc::gen::inRange(0, 4));
}

// A group of 1-6 members; `identical` gives them all the same subscription.
Members gen_members(bool identical, size_t max_members = 6) {
  const std::vector<std::string> ids = gen_ids(*rc::gen::inRange<size_t>(1, max_members + 1));
  const std::vector<std::string> shared = gen_topics();
  Members members;
  for (const std::string& id : ids) {
    MemberSubscription m = member(id, identical ? shared : gen_topics());
    m.group_instance_id = gen_instance_id();
    members.push_back(std::move(m));
  }
  return members;
}

// Random claims: partitions that may not exist, topics not subscribed, clashing generations.
void gen_owned(Members& members) {
  for (MemberSubscription& m : members) {
    const int n = *rc::gen::inRange(0, 7);
    for (int i = 0; i < n; ++i) {
      const std::string& topic = *rc::gen::elementOf(kTopicPool);
      m.owned_partitions.push_back(tp(topic, *rc::gen::inRange(-1, 9)));
    }
    m.generation = *rc::gen::element(-1, 1, 2, 3);
  }
}

Members shuffled(Members members) {
  for (size_t i = members.size(); i > 1; --i) {
    std::swap(members[i - 1], members[*rc::gen::inRange<size_t>(0, i)]);
  }
  return members;
}

// The assignment a group settles on from nothing: two cooperative rounds.
GroupAssignment settle(const PartitionCounts& counts, const Members& members) {
  const CooperativeAssignment first = value_of(cooperative_sticky_assign(counts, members));
  const Members next = after_round(members, first.assignment, 1);
  const CooperativeAssignment second = value_of(cooperative_sticky_assign(counts, next));
  RC_ASSERT(second.pending.empty());
  return second.assignment;
}

// ---- range ------------------------------------------------------------------------------------

// RangeAssignor's javadoc: two consumers, two topics of three partitions.
TEST(RangeAssignor, KafkaExample) {
  const PartitionCounts counts = {{"t0", 3}, {"t1", 3}};
  const auto result =
      range_assign(counts, {member("C1", {"t0", "t1"}), member("C0", {"t0", "t1"})});
  ASSERT_TRUE(result.ok());
  const GroupAssignment expected = {{"C0", {tp("t0", 0), tp("t0", 1), tp("t1", 0), tp("t1", 1)}},
                                    {"C1", {tp("t0", 2), tp("t1", 2)}}};
  EXPECT_EQ(*result, expected);
}

// Static members (group.instance.id) come first, in instance id order, whatever their ids.
TEST(RangeAssignor, InstanceIdsOrderMembers) {
  Members members = {member("a", {"t"}), member("b", {"t"}), member("c", {"t"})};
  members[2].group_instance_id = "i0";
  members[1].group_instance_id = "i1";
  const auto result = range_assign({{"t", 4}}, members);
  ASSERT_TRUE(result.ok());
  const GroupAssignment expected = {
      {"c", {tp("t", 0), tp("t", 1)}}, {"b", {tp("t", 2)}}, {"a", {tp("t", 3)}}};
  EXPECT_EQ(*result, expected);
}

TEST(Assignors, DuplicateMemberIdsAreRefused) {
  const Members members = {member("a", {"t"}), member("a", {"t"})};
  EXPECT_EQ(range_assign({{"t", 1}}, members).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(roundrobin_assign({{"t", 1}}, members).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(cooperative_sticky_assign({{"t", 1}}, members).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Per topic: complete, within one, the larger shares to the first members in member order, each
// a run of consecutive partitions following the previous member's.
RC_GTEST_PROP(RangeAssignor, EachTopicSplitIntoConsecutiveBalancedRanges, ()) {
  const PartitionCounts counts = gen_counts();
  const Members members = gen_members(false);
  const GroupAssignment assignment = value_of(range_assign(counts, members));
  check_complete(counts, members, assignment);
  RC_ASSERT(value_of(range_assign(counts, shuffled(members))) == assignment);
  std::vector<const MemberSubscription*> order;
  for (const MemberSubscription& m : members) order.push_back(&m);
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    if (a->group_instance_id && b->group_instance_id &&
        a->group_instance_id != b->group_instance_id)
      return *a->group_instance_id < *b->group_instance_id;
    if (a->group_instance_id.has_value() != b->group_instance_id.has_value())
      return a->group_instance_id.has_value();
    return a->member_id < b->member_id;
  });
  for (const auto& [topic, n] : counts) {
    int32_t next = 0;
    std::optional<size_t> previous_share;
    for (const MemberSubscription* m : order) {
      if (!topics_of(counts, *m).contains(topic)) continue;
      std::vector<int32_t> mine;
      for (const TopicPartition& p : assignment.at(m->member_id)) {
        if (p.topic == topic) mine.push_back(p.partition);
      }
      for (int32_t p : mine) RC_ASSERT(p == next++);
      if (previous_share) RC_ASSERT(mine.size() <= *previous_share);
      if (previous_share) RC_ASSERT(mine.size() + 1 >= *previous_share);
      previous_share = mine.size();
    }
  }
}

// ---- roundrobin -------------------------------------------------------------------------------

// RoundRobinAssignor's javadoc: the same group as range's example.
TEST(RoundRobinAssignor, KafkaExample) {
  const PartitionCounts counts = {{"t0", 3}, {"t1", 3}};
  const auto result =
      roundrobin_assign(counts, {member("C0", {"t0", "t1"}), member("C1", {"t0", "t1"})});
  ASSERT_TRUE(result.ok());
  const GroupAssignment expected = {{"C0", {tp("t0", 0), tp("t0", 2), tp("t1", 1)}},
                                    {"C1", {tp("t0", 1), tp("t1", 0), tp("t1", 2)}}};
  EXPECT_EQ(*result, expected);
}

// As in Kafka, with different subscriptions even identical subscribers can end up apart: a and
// c both take {t1, t3}, yet the circle always reaches c first after b took t0 or t2.
TEST(RoundRobinAssignor, DifferentSubscriptionsCanUnbalanceIdenticalOnes) {
  const PartitionCounts counts = {{"t0", 1}, {"t1", 1}, {"t2", 1}, {"t3", 1}};
  const auto result = roundrobin_assign(
      counts, {member("a", {"t1", "t3"}), member("b", {"t0", "t2"}), member("c", {"t1", "t3"})});
  ASSERT_TRUE(result.ok());
  const GroupAssignment expected = {
      {"a", {}}, {"b", {tp("t0", 0), tp("t2", 0)}}, {"c", {tp("t1", 0), tp("t3", 0)}}};
  EXPECT_EQ(*result, expected);
}

RC_GTEST_PROP(RoundRobinAssignor, EveryPartitionOnceToASubscriber, ()) {
  const PartitionCounts counts = gen_counts();
  const Members members = gen_members(false);
  const GroupAssignment assignment = value_of(roundrobin_assign(counts, members));
  check_complete(counts, members, assignment);
  RC_ASSERT(value_of(roundrobin_assign(counts, shuffled(members))) == assignment);
}

RC_GTEST_PROP(RoundRobinAssignor, IdenticalSubscriptionsBalancedWithinOne, ()) {
  const PartitionCounts counts = gen_counts();
  const Members members = gen_members(true);
  const GroupAssignment assignment = value_of(roundrobin_assign(counts, members));
  check_complete(counts, members, assignment);
  check_identical_within_one(counts, members, assignment);
}

// ---- cooperative-sticky -----------------------------------------------------------------------

TEST(CooperativeStickyAssignor, MovingPartitionWaitsForItsRevocation) {
  const PartitionCounts counts = {{"t", 4}};
  Members members = {member("a", {"t"}), member("b", {"t"})};
  members[0].owned_partitions = {tp("t", 0), tp("t", 1), tp("t", 2), tp("t", 3)};
  members[0].generation = 3;
  const auto first = cooperative_sticky_assign(counts, members);
  ASSERT_TRUE(first.ok());
  // a keeps two, gives up two; b gets nothing yet.
  const GroupAssignment kept = {{"a", {tp("t", 0), tp("t", 1)}}, {"b", {}}};
  EXPECT_EQ(first->assignment, kept);
  const GroupAssignment revoked = {{"a", {tp("t", 2), tp("t", 3)}}};
  EXPECT_EQ(first->revoked, revoked);
  EXPECT_EQ(first->pending, (std::vector<TopicPartition>{tp("t", 2), tp("t", 3)}));
  // The follow-up round, a having revoked: b gets them.
  members[0].owned_partitions = first->assignment.at("a");
  members[0].generation = 4;
  members[1].generation = 4;
  const auto second = cooperative_sticky_assign(counts, members);
  ASSERT_TRUE(second.ok());
  const GroupAssignment done = {{"a", {tp("t", 0), tp("t", 1)}}, {"b", {tp("t", 2), tp("t", 3)}}};
  EXPECT_EQ(second->assignment, done);
  EXPECT_TRUE(second->revoked.empty());
  EXPECT_TRUE(second->pending.empty());
}

// The highest generation's claim wins. Here the balance then moves one of b's partitions to a,
// which waits for b's revocation.
TEST(CooperativeStickyAssignor, NewestGenerationKeepsAContestedPartition) {
  const PartitionCounts counts = {{"t", 2}};
  Members members = {member("a", {"t"}), member("b", {"t"})};
  members[0].owned_partitions = {tp("t", 0)};
  members[0].generation = 2;
  members[1].owned_partitions = {tp("t", 0), tp("t", 1)};
  members[1].generation = 5;
  const auto result = cooperative_sticky_assign(counts, members);
  ASSERT_TRUE(result.ok());
  const GroupAssignment expected = {{"a", {}}, {"b", {tp("t", 0)}}};
  EXPECT_EQ(result->assignment, expected);
  const GroupAssignment revoked = {{"a", {tp("t", 0)}}, {"b", {tp("t", 1)}}};
  EXPECT_EQ(result->revoked, revoked);
  EXPECT_EQ(result->pending, std::vector<TopicPartition>{tp("t", 1)});
}

// Two members claiming a partition at the same generation both lose it, and it is held back
// even from the claimant it lands on (Kafka would hand it over at once; the other may still be
// consuming it).
TEST(CooperativeStickyAssignor, TiedClaimIsHeldBackFromBoth) {
  const PartitionCounts counts = {{"t", 1}};
  Members members = {member("a", {"t"}), member("b", {"t"})};
  for (MemberSubscription& m : members) {
    m.owned_partitions = {tp("t", 0)};
    m.generation = 3;
  }
  const auto result = cooperative_sticky_assign(counts, members);
  ASSERT_TRUE(result.ok());
  const GroupAssignment nothing = {{"a", {}}, {"b", {}}};
  EXPECT_EQ(result->assignment, nothing);
  EXPECT_EQ(result->pending, std::vector<TopicPartition>{tp("t", 0)});
  EXPECT_EQ(result->revoked.size(), 2u);
}

// A join where the quickest chains are not the cheapest: "new" can only take a t1 partition,
// from b or d; the fewest revocations are d's t1-1 to "new" and c's t2-2 to d (c has one too
// many). Found by JoinOrLeaveRevokesTheFewestPossible against the balancing step alone.
TEST(CooperativeStickyAssignor, JoinRevokesTheFewestWhenSubscriptionsDiffer) {
  const PartitionCounts counts = {{"t0", 3}, {"t1", 3}, {"t2", 3}};
  Members members = {member("a", {"t0", "t1", "t2"}), member("b", {"t1"}),
                     member("c", {"t0", "t1", "t2"}), member("d", {"t1", "t2"}),
                     member("new", {"t1"})};
  members[0].owned_partitions = {tp("t0", 1), tp("t2", 1)};
  members[1].owned_partitions = {tp("t1", 0), tp("t1", 2)};
  members[2].owned_partitions = {tp("t0", 0), tp("t0", 2), tp("t2", 2)};
  members[3].owned_partitions = {tp("t1", 1), tp("t2", 0)};
  for (MemberSubscription& m : members) m.generation = 2;
  const auto result = cooperative_sticky_assign(counts, members);
  ASSERT_TRUE(result.ok());
  const GroupAssignment revoked = {{"c", {tp("t2", 2)}}, {"d", {tp("t1", 1)}}};
  EXPECT_EQ(result->revoked, revoked);
  EXPECT_EQ(result->pending, (std::vector<TopicPartition>{tp("t1", 1), tp("t2", 2)}));
}

// From any claims (stale, clashing, of unknown or unsubscribed partitions): round one is safe,
// round two (what round one assigned now owned) completes with no revocation and is balanced,
// and round three changes nothing.
RC_GTEST_PROP(CooperativeStickyAssignor, SafeThenCompleteThenStable, (bool identical)) {
  const PartitionCounts counts = gen_counts();
  Members members = gen_members(identical);
  gen_owned(members);
  const CooperativeAssignment first = value_of(cooperative_sticky_assign(counts, members));
  check_cooperative_round(counts, members, first);
  RC_ASSERT(value_of(cooperative_sticky_assign(counts, shuffled(members))).assignment ==
            first.assignment);
  const Members next = after_round(members, first.assignment, 4);
  const CooperativeAssignment second = value_of(cooperative_sticky_assign(counts, next));
  check_cooperative_round(counts, next, second);
  check_complete(counts, next, second.assignment);
  RC_ASSERT(second.pending.empty());
  RC_ASSERT(second.revoked.empty());
  check_locally_balanced(counts, next, second.assignment);
  check_identical_within_one(counts, next, second.assignment);
  const CooperativeAssignment third =
      value_of(cooperative_sticky_assign(counts, after_round(next, second.assignment, 5)));
  RC_ASSERT(third.assignment == second.assignment);
  RC_ASSERT(third.revoked.empty() && third.pending.empty());
}

// Who keeps each claimed partition, by the rule of assignors.h written out again: among the
// members still subscribed to its topic that list it, the highest generation, if only one
// member has it.
std::map<TopicPartition, std::string> winners(const PartitionCounts& counts,
                                              const Members& members) {
  std::map<TopicPartition, std::map<int32_t, std::set<std::string>>> claims;
  const std::set<TopicPartition> all = assignable(counts, members);
  for (const MemberSubscription& m : members) {
    for (const TopicPartition& p : m.owned_partitions) {
      if (all.contains(p) && topics_of(counts, m).contains(p.topic)) {
        claims[p][m.generation].insert(m.member_id);
      }
    }
  }
  std::map<TopicPartition, std::string> owner;
  for (const auto& [p, by_generation] : claims) {
    const std::set<std::string>& newest = by_generation.rbegin()->second;
    if (newest.size() == 1) owner[p] = *newest.begin();
  }
  return owner;
}

// How many partitions are not with the member that keeps them (see winners()).
size_t displaced(const std::map<TopicPartition, std::string>& owner,
                 const GroupAssignment& assignment) {
  size_t n = 0;
  for (const auto& [p, id] : owner) {
    const std::vector<TopicPartition>& list = assignment.at(id);
    if (!std::binary_search(list.begin(), list.end(), p)) ++n;
  }
  return n;
}

// The smallest sum of squared counts over every complete assignment, and among those the
// fewest partitions not on their owner: brute force over members^partitions.
struct Optimum {
  size_t sum_of_squares = 0;
  size_t fewest_moves = 0;
};

Optimum brute_force(const PartitionCounts& counts, const Members& members) {
  const std::set<TopicPartition> assignable_set = assignable(counts, members);
  const std::vector<TopicPartition> all(assignable_set.begin(), assignable_set.end());
  const std::map<TopicPartition, std::string> owner = winners(counts, members);
  std::vector<std::vector<size_t>> eligible(all.size());
  std::vector<std::optional<size_t>> owner_index(all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    for (size_t m = 0; m < members.size(); ++m) {
      if (!topics_of(counts, members[m]).contains(all[i].topic)) continue;
      eligible[i].push_back(m);
      const auto it = owner.find(all[i]);
      if (it != owner.end() && it->second == members[m].member_id) owner_index[i] = m;
    }
  }
  Optimum best{.sum_of_squares = SIZE_MAX, .fewest_moves = SIZE_MAX};
  std::vector<size_t> choice(all.size(), 0);
  while (true) {
    std::vector<size_t> load(members.size(), 0);
    size_t moves = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      const size_t m = eligible[i][choice[i]];
      ++load[m];
      if (owner_index[i] && *owner_index[i] != m) ++moves;
    }
    size_t squares = 0;
    for (size_t n : load) squares += n * n;
    if (squares < best.sum_of_squares ||
        (squares == best.sum_of_squares && moves < best.fewest_moves)) {
      best = Optimum{.sum_of_squares = squares, .fewest_moves = moves};
    }
    size_t i = 0;
    while (i < all.size() && ++choice[i] == eligible[i].size()) choice[i++] = 0;
    if (i == all.size()) break;
  }
  return best;
}

PartitionCounts gen_small_counts() {
  PartitionCounts counts;
  for (const char* t : {"t0", "t1", "t2"}) counts[t] = *rc::gen::inRange(0, 4);
  return counts;
}

// A small group, any subscriptions: the settled assignment has the least sum of squares there is.
RC_GTEST_PROP(CooperativeStickyAssignor, MinimisesSumOfSquares, ()) {
  const PartitionCounts counts = gen_small_counts();
  const Members members = gen_members(false, 4);
  const GroupAssignment settled = settle(counts, members);
  RC_ASSERT(sum_of_squares(settled) == brute_force(counts, members).sum_of_squares);
}

// A settled group with identical subscriptions (M members within one of each other, P
// partitions, all owned); one member joins. The bound: balanced means every count is
// floor(P / (M + 1)) or one more, so the newcomer needs at least floor(P / (M + 1)), all
// revoked from owners; and that many suffice (the old members have at least floor(P / M)
// each, and when floor(P / M) = floor(P / (M + 1)) enough of them have one more to fill the
// larger shares). So exactly that many are revoked, and round two hands them over.
RC_GTEST_PROP(CooperativeStickyAssignor, JoinRevokesOnlyTheNewcomersShare, ()) {
  const PartitionCounts counts = gen_counts();
  Members members = gen_members(true);
  Members grown = after_round(members, settle(counts, members), 2);
  MemberSubscription newcomer = member("member-new", members.front().topics);
  grown.push_back(newcomer);
  const CooperativeAssignment result = value_of(cooperative_sticky_assign(counts, grown));
  check_cooperative_round(counts, grown, result);
  const size_t p = assignable(counts, grown).size();
  RC_ASSERT(total_revoked(result) == p / grown.size());
  RC_ASSERT(result.pending.size() == total_revoked(result));
  const CooperativeAssignment second =
      value_of(cooperative_sticky_assign(counts, after_round(grown, result.assignment, 3)));
  check_complete(counts, grown, second.assignment);
  RC_ASSERT(second.revoked.empty());
  check_identical_within_one(counts, grown, second.assignment);
}

// A settled group with identical subscriptions; one member leaves. Minimum to move: nothing (the
// leaver's partitions are free), and nothing is revoked; the round is complete at once.
RC_GTEST_PROP(CooperativeStickyAssignor, LeaveRevokesNothing, ()) {
  const PartitionCounts counts = gen_counts();
  const Members members = gen_members(true);
  RC_PRE(members.size() >= 2);
  Members shrunk = after_round(members, settle(counts, members), 2);
  shrunk.erase(shrunk.begin() + *rc::gen::inRange<size_t>(0, shrunk.size()));
  const CooperativeAssignment result = value_of(cooperative_sticky_assign(counts, shrunk));
  check_complete(counts, shrunk, result.assignment);
  RC_ASSERT(result.revoked.empty());
  RC_ASSERT(result.pending.empty());
  check_identical_within_one(counts, shrunk, result.assignment);
}

// Any subscriptions, a small settled group, one member joins or leaves: the partitions revoked
// are exactly the fewest that any least-sum-of-squares assignment takes from their owners (so
// at most the minimum needed to rebalance; brute force).
RC_GTEST_PROP(CooperativeStickyAssignor, JoinOrLeaveRevokesTheFewestPossible, (bool join)) {
  const PartitionCounts counts = gen_small_counts();
  const Members members = gen_members(false, 4);
  Members changed = after_round(members, settle(counts, members), 2);
  if (join) {
    changed.push_back(member("member-new", gen_topics()));
  } else {
    RC_PRE(changed.size() >= 2);
    changed.erase(changed.begin() + *rc::gen::inRange<size_t>(0, changed.size()));
  }
  const CooperativeAssignment result = value_of(cooperative_sticky_assign(counts, changed));
  check_cooperative_round(counts, changed, result);
  RC_ASSERT(total_revoked(result) == brute_force(counts, changed).fewest_moves);
}

// From any claims on a small group: round one takes from their owners exactly the fewest
// partitions that any least-sum-of-squares assignment does, and round two reaches that sum.
RC_GTEST_PROP(CooperativeStickyAssignor, FirstRoundMovesTheFewestPossible, ()) {
  const PartitionCounts counts = gen_small_counts();
  Members members = gen_members(false, 4);
  gen_owned(members);
  const Optimum optimum = brute_force(counts, members);
  const CooperativeAssignment first = value_of(cooperative_sticky_assign(counts, members));
  RC_ASSERT(displaced(winners(counts, members), first.assignment) == optimum.fewest_moves);
  const CooperativeAssignment second =
      value_of(cooperative_sticky_assign(counts, after_round(members, first.assignment, 4)));
  RC_ASSERT(sum_of_squares(second.assignment) == optimum.sum_of_squares);
}

// ---- ConsumerProtocol -------------------------------------------------------------------------

// Version 1, topics ["foo", "bar"], user data = cooperative-sticky generation 5, owned foo-0 and
// foo-2. Written out by hand from ConsumerProtocolSubscription.json.
TEST(ConsumerProtocol, SubscriptionGoldenBytes) {
  const ConsumerSubscription s{.version = 1,
                               .topics = {"foo", "bar"},
                               .user_data = encode_cooperative_user_data(5),
                               .owned_partitions = {{"foo", {0, 2}}}};
  const std::string golden(
      "\x00\x01"          // version 1
      "\x00\x00\x00\x02"  // 2 topics
      "\x00\x03"
      "foo"
      "\x00\x03"
      "bar"
      "\x00\x00\x00\x04\x00\x00\x00\x05"  // user data: 4 bytes, int32 5
      "\x00\x00\x00\x01"                  // 1 owned topic
      "\x00\x03"
      "foo"
      "\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x02",  // partitions [0, 2]
      45);
  EXPECT_EQ(encode_subscription(s), golden);
  const auto decoded = decode_subscription(golden);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, s);
  const MemberSubscription m = member_subscription("m-1", std::nullopt, *decoded);
  EXPECT_EQ(m.generation, 5);
  EXPECT_EQ(m.owned_partitions, (std::vector<TopicPartition>{tp("foo", 0), tp("foo", 2)}));
  EXPECT_EQ(m.topics, (std::vector<std::string>{"foo", "bar"}));
}

// Version 0, foo-1 and bar-0 and bar-3, null user data, from ConsumerProtocolAssignment.json.
TEST(ConsumerProtocol, AssignmentGoldenBytes) {
  const ConsumerAssignment a{
      .version = 0, .partitions = group_by_topic({tp("foo", 1), tp("bar", 0), tp("bar", 3)})};
  const std::string golden(
      "\x00\x00"          // version 0
      "\x00\x00\x00\x02"  // 2 topics, sorted
      "\x00\x03"
      "bar"
      "\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x03"  // [0, 3]
      "\x00\x03"
      "foo"
      "\x00\x00\x00\x01\x00\x00\x00\x01"  // [1]
      "\xff\xff\xff\xff",                 // null user data
      40);
  EXPECT_EQ(encode_assignment(a), golden);
  const auto decoded = decode_assignment(golden);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(*decoded, a);
}

TEST(ConsumerProtocol, Versions) {
  // v2 carries the generation in its own field, which wins over the user data.
  const ConsumerSubscription v2{.version = 2,
                                .topics = {"t"},
                                .user_data = encode_cooperative_user_data(7),
                                .generation_id = 9};
  const auto decoded = decode_subscription(encode_subscription(v2));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(member_subscription("m", "i", *decoded).generation, 9);
  // A newer version is read as 3 and its unknown trailing fields ignored (Kafka's rule).
  std::string newer = encode_subscription(ConsumerSubscription{.version = 3, .topics = {"t"}});
  newer[1] = 7;
  newer += "future";
  const auto read = decode_subscription(newer);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->version, 3);
  EXPECT_EQ(read->topics, std::vector<std::string>{"t"});
  // At a known version, leftover bytes and a negative version are refused.
  const std::string v1 = encode_subscription(ConsumerSubscription{.version = 1, .topics = {"t"}});
  EXPECT_EQ(decode_subscription(v1 + "x").status().code(), absl::StatusCode::kDataLoss);
  std::string negative = v1;
  negative[0] = '\xff';
  EXPECT_EQ(decode_subscription(negative).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(decode_assignment("").status().code(), absl::StatusCode::kDataLoss);
}

TEST(ConsumerProtocol, CooperativeUserData) {
  EXPECT_EQ(encode_cooperative_user_data(5), std::string("\x00\x00\x00\x05", 4));
  EXPECT_EQ(decode_cooperative_user_data(std::nullopt), kUnknownGeneration);
  EXPECT_EQ(decode_cooperative_user_data(std::string("\x00\x00\x01", 3)), kUnknownGeneration);
  EXPECT_EQ(decode_cooperative_user_data(std::string("\x00\x00\x01\x00xx", 6)), 256);
  EXPECT_EQ(decode_cooperative_user_data(encode_cooperative_user_data(-1)), -1);
}

std::vector<TopicPartitions> gen_grouped() {
  std::vector<TopicPartitions> grouped;
  const int n = *rc::gen::inRange(0, 4);
  for (int i = 0; i < n; ++i) {
    grouped.push_back(TopicPartitions{
        .topic = *rc::gen::container<std::string>(rc::gen::inRange<char>(0, 127)),
        .partitions = *rc::gen::container<std::vector<int32_t>>(rc::gen::arbitrary<int32_t>())});
  }
  return grouped;
}

std::optional<std::string> gen_nullable_bytes() {
  if (*rc::gen::inRange(0, 3) == 0) return std::nullopt;
  return *rc::gen::arbitrary<std::string>();
}

// Any subscription, with only the fields its version has, comes back as it was.
RC_GTEST_PROP(ConsumerProtocol, SubscriptionRoundTrips, ()) {
  ConsumerSubscription s;
  s.version = *rc::gen::inRange<int16_t>(0, 4);
  s.topics = *rc::gen::container<std::vector<std::string>>(
      rc::gen::container<std::string>(rc::gen::inRange<char>(32, 127)));
  s.user_data = gen_nullable_bytes();
  if (s.version >= 1) s.owned_partitions = gen_grouped();
  if (s.version >= 2) s.generation_id = *rc::gen::arbitrary<int32_t>();
  if (s.version >= 3) s.rack_id = gen_nullable_bytes();
  const auto decoded = decode_subscription(encode_subscription(s));
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == s);
}

RC_GTEST_PROP(ConsumerProtocol, AssignmentRoundTrips, ()) {
  const ConsumerAssignment a{.version = *rc::gen::inRange<int16_t>(0, 4),
                             .partitions = gen_grouped(),
                             .user_data = gen_nullable_bytes()};
  const auto decoded = decode_assignment(encode_assignment(a));
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == a);
}

RC_GTEST_PROP(ConsumerProtocol, GroupingKeepsEveryPartition, ()) {
  std::vector<TopicPartition> partitions;
  const int n = *rc::gen::inRange(0, 12);
  for (int i = 0; i < n; ++i) {
    partitions.push_back(tp(*rc::gen::elementOf(kTopicPool), *rc::gen::inRange(0, 5)));
  }
  std::vector<TopicPartition> expected = partitions;
  std::stable_sort(expected.begin(), expected.end(),
                   [](const auto& a, const auto& b) { return a.topic < b.topic; });
  RC_ASSERT(flatten(group_by_topic(partitions)) == expected);
}

// Decoding allocates at most this many bytes per input byte (a std::string per 2-byte empty
// topic is the worst case: 32 bytes), plus a fixed allowance for error messages.
constexpr size_t kExpansionMax = 16;
constexpr size_t kSlackBytes = 1024;

// Decodes `input` both ways: never a crash, DataLoss when refused, allocation bounded by the
// input, and a success re-encodes to bytes that decode the same.
void decode_hostile(const std::string& input) {
  {
    AllocationScope scope;
    const auto s = decode_subscription(input);
    RC_ASSERT(scope.stop().total <= kExpansionMax * input.size() + kSlackBytes);
    RC_ASSERT(s.ok() || s.status().code() == absl::StatusCode::kDataLoss);
    if (s.ok()) RC_ASSERT(decode_subscription(encode_subscription(*s)).value() == *s);
  }
  AllocationScope scope;
  const auto a = decode_assignment(input);
  RC_ASSERT(scope.stop().total <= kExpansionMax * input.size() + kSlackBytes);
  RC_ASSERT(a.ok() || a.status().code() == absl::StatusCode::kDataLoss);
  if (a.ok()) RC_ASSERT(decode_assignment(encode_assignment(*a)).value() == *a);
}

// Arbitrary bytes, biased to small values so that versions, lengths and counts are plausible.
RC_GTEST_PROP(ConsumerProtocol, ArbitraryBytesNeverCrashDecoders, ()) {
  decode_hostile(*rc::gen::container<std::string>(rc::gen::weightedOneOf<char>(
      {{4, rc::gen::inRange<char>(0, 4)}, {1, rc::gen::arbitrary<char>()}})));
}

// A valid encoding with bytes overwritten, cut, inserted or a count forced huge.
RC_GTEST_PROP(ConsumerProtocol, MutatedEncodingsNeverCrashDecoders, ()) {
  const ConsumerSubscription s{.version = *rc::gen::inRange<int16_t>(0, 4),
                               .topics = {"alpha", std::string(20, 'b')},
                               .user_data = encode_cooperative_user_data(3),
                               .owned_partitions = gen_grouped(),
                               .generation_id = 3,
                               .rack_id = "rack"};
  std::string bytes =
      *rc::gen::element(encode_subscription(s),
                        encode_assignment(ConsumerAssignment{.partitions = s.owned_partitions}));
  const int edits = *rc::gen::inRange(1, 4);
  for (int i = 0; i < edits && !bytes.empty(); ++i) {
    const size_t at = *rc::gen::inRange<size_t>(0, bytes.size());
    switch (*rc::gen::inRange(0, 4)) {
      case 0:
        bytes[at] = *rc::gen::arbitrary<char>();
        break;
      case 1:
        bytes.resize(at);
        break;
      case 2:
        bytes.replace(
            at, std::min<size_t>(4, bytes.size() - at),
            *rc::gen::element(std::string("\x7f\xff\xff\xff"), std::string("\x00\x00\x7f\xff", 4),
                              std::string("\xff\xff\xff\xfe")));
        break;
      default:
        bytes.insert(at, 1, *rc::gen::arbitrary<char>());
        break;
    }
  }
  decode_hostile(bytes);
}

// A huge claimed count costs no large allocation.
TEST(ConsumerProtocol, ClaimedCountsDoNotAllocate) {
  for (const std::string& input : {std::string("\x00\x01\x7f\xff\xff\xff", 6),
                                   std::string("\x00\x00\x7f\xff\xff\xff\x00\x01", 8)}) {
    AllocationScope scope;
    EXPECT_FALSE(decode_subscription(input).ok());
    EXPECT_FALSE(decode_assignment(input).ok());
    EXPECT_LE(scope.stop().largest, kSlackBytes);
  }
}

}  // namespace
}  // namespace weir::broker::client
