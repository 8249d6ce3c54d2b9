// Weir's GroupConsumer against a real broker in the simulator: two members split a topic, every
// record is read once per generation's owner, a member that closes hands its partitions over
// and the other resumes from the committed offsets, so nothing produced goes unread and
// nothing committed is read again by the group.
#include "broker/client/group_consumer.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "broker/client/producer.h"
#include "tests/broker/broker_sim_harness.h"

namespace weir::broker::testing {
namespace {

using client::GroupConsumer;
using client::GroupConsumerConfig;
using client::OffsetReset;
using client::TopicPartition;

std::unique_ptr<GroupConsumer> make_group_consumer(const BrokerSimCluster& c, std::string id) {
  GroupConsumerConfig config;
  config.consumer.bootstrap_servers = c.bootstrap();
  config.consumer.client_id = std::move(id);
  config.consumer.auto_offset_reset = OffsetReset::kEarliest;
  config.consumer.fetch_max_wait_ms = 50;
  config.group_id = "readers";
  config.session_timeout_ms = 6000;
  config.heartbeat_interval_ms = 500;
  config.auto_commit_interval_ms = 200;
  ProcessContext& ctx = current_context();
  auto g = GroupConsumer::create(std::move(config), *ctx.network, *ctx.clock);
  WEIR_ASSERT_MSG(g.ok(), "GroupConsumer::create failed");
  return std::move(*g);
}

struct Seen {
  std::map<std::pair<int32_t, int64_t>, int> reads;  // (partition, offset) -> times read
  std::map<int32_t, std::set<std::string>> owners;   // partition -> consumers that read it
};

// Polls until `stop` says so, recording what it reads.
void consume(GroupConsumer& g, const std::string& name, Seen& seen, const bool& stop) {
  while (!stop) {
    auto records = g.poll(100ms);
    ASSERT_TRUE(records.ok()) << records.status();
    for (const auto& r : *records) {
      ++seen.reads[{r.partition, r.offset}];
      seen.owners[r.partition].insert(name);
    }
  }
}

TEST(GroupConsumer, TwoMembersSplitATopicAndTheSurvivorResumesFromTheCommits) {
  BrokerSimCluster c(41, {.properties = {{"num.partitions", "4"}}});
  const bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    auto producer = make_producer(c, {.acks = -1, .linger_ms = 1});
    auto produce = [&](int n, int from) {
      for (int i = 0; i < n; ++i)
        (void)producer->send({.topic = "work",
                              .key = absl::StrCat("k", from + i),
                              .value = absl::StrCat("v", from + i)});
      producer->flush();
    };
    produce(200, 0);
    auto a = make_group_consumer(c, "a");
    auto b = make_group_consumer(c, "b");
    std::vector<TopicPartition> a_assigned, b_assigned;
    a->subscribe({"work"}, [&](const auto& p) { a_assigned = p; });
    b->subscribe({"work"}, [&](const auto& p) { b_assigned = p; });
    Seen seen;
    bool stop_a = false, stop_b = false;
    auto ra = spawn("a", [&] { consume(*a, "a", seen, stop_a); });
    auto rb = spawn("b", [&] { consume(*b, "b", seen, stop_b); });
    // Both in one generation, two partitions each.
    const TimePoint deadline = Scheduler::current().now() + to_scheduler_duration(30s);
    while (!(a_assigned.size() == 2 && b_assigned.size() == 2 &&
             a->generation() == b->generation() && seen.reads.size() >= 200) &&
           Scheduler::current().now() < deadline)
      delay(100ms);
    EXPECT_EQ(a_assigned.size(), 2u);
    EXPECT_EQ(b_assigned.size(), 2u);
    for (const auto& tp : a_assigned)
      EXPECT_EQ(std::count(b_assigned.begin(), b_assigned.end(), tp), 0) << tp.partition;
    EXPECT_EQ(seen.reads.size(), 200u);
    // b leaves (committing what it read); a takes over all four and reads on from b's commits.
    stop_b = true;
    (void)await(rb);
    b->close();
    produce(100, 200);
    const TimePoint later = Scheduler::current().now() + to_scheduler_duration(30s);
    while ((a_assigned.size() != 4 || seen.reads.size() < 300) &&
           Scheduler::current().now() < later)
      delay(100ms);
    stop_a = true;
    (void)await(ra);
    EXPECT_EQ(a_assigned.size(), 4u);
    EXPECT_EQ(seen.reads.size(), 300u);  // every record read
    int reread = 0;
    for (const auto& [at, times] : seen.reads) reread += times - 1;
    EXPECT_EQ(reread, 0);  // b committed on leaving: a starts exactly where b stopped
    ASSERT_TRUE(a->commit_sync().ok());
    std::vector<TopicPartition> all;
    for (int32_t p = 0; p < 4; ++p) all.push_back({"work", p});
    auto committed = a->committed(all);
    ASSERT_TRUE(committed.ok()) << committed.status();
    int64_t total = 0;
    for (const auto& [tp, offset] : *committed) total += offset;
    EXPECT_EQ(total, 300);
    a->close();
    producer->close();
  });
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace weir::broker::testing
