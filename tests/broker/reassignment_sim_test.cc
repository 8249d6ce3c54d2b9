// Partition reassignment on four simulated brokers: a partition of a three-replica topic moves
// from {0,1,2} to {1,2,3} while a producer writes with acks=all, and a reassignment that cannot
// finish (its new replica is cut off from the leader) is cancelled back to where it started.
#include <gtest/gtest.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "broker/client/consumer.h"
#include "broker/client/kafka_connection.h"
#include "broker/client/producer.h"
#include "tests/broker/broker_sim_harness.h"

namespace weir::broker::testing {
namespace {

using client::ConsumerRecord;
using client::KafkaConnection;
using client::OffsetReset;
using client::RecordMetadata;
using Ids = std::vector<int32_t>;

constexpr int kBrokers = 4;
constexpr uint64_t kSeeds = 20;  // a run is a few simulated seconds, ~10 ms of real time

BrokerSimOptions four_brokers() {
  BrokerSimOptions o;
  o.brokers = kBrokers;
  o.properties = {{"default.replication.factor", "3"},
                  {"min.insync.replicas", "2"},
                  {"replica.lag.time.max.ms", "2000"},
                  {"zookeeper.session.timeout.ms", "3000"}};
  return o;
}

template <class Rsp, class Req>
absl::StatusOr<Rsp> call(const BrokerSimCluster& c, int broker, const Req& req) {
  auto conn = KafkaConnection::connect(*current_context().network, c.broker_address(broker));
  if (!conn.ok()) return conn.status();
  return (*conn)->call<Rsp>(req);
}

std::set<int32_t> as_set(const Ids& v) {
  return {v.begin(), v.end()};
}

// Partition 0 of `topic` as broker `i` describes it.
std::optional<kafka::MetadataResponse::MetadataResponsePartition> describe(
    const BrokerSimCluster& c, int i, const std::string& topic) {
  kafka::MetadataRequest req;
  req.topics = std::vector<kafka::MetadataRequest::MetadataRequestTopic>(1);
  req.topics->front().name = topic;
  auto m = call<kafka::MetadataResponse>(c, i, req);
  if (!m.ok() || m->topics.size() != 1 || m->topics[0].partitions.empty()) return std::nullopt;
  return m->topics[0].partitions[0];
}

// Waits until every live broker describes partition 0 with a leader, replicas `replicas`
// and an ISR of exactly those replicas.
bool wait_settled(const BrokerSimCluster& c, const std::string& topic, const Ids& replicas,
                  Duration limit = 30s) {
  const TimePoint deadline = Scheduler::current().now() + to_scheduler_duration(limit);
  while (Scheduler::current().now() < deadline) {
    bool all = true;
    for (int i = 0; i < kBrokers && all; ++i) {
      auto p = describe(c, i, topic);
      all = p.has_value() && p->leader_id >= 0 && as_set(p->replica_nodes) == as_set(replicas) &&
            as_set(p->isr_nodes) == as_set(replicas);
    }
    if (all) return true;
    delay(100ms);
  }
  return false;
}

void create_topic(const BrokerSimCluster& c, const std::string& topic, const Ids& replicas) {
  kafka::CreateTopicsRequest req;
  auto& t = req.topics.emplace_back();
  t.name = topic;
  t.num_partitions = -1;
  t.replication_factor = -1;
  t.assignments.push_back({.partition_index = 0, .broker_ids = replicas});
  auto rsp = call<kafka::CreateTopicsResponse>(c, 0, req);
  ASSERT_TRUE(rsp.ok()) << rsp.status();
  ASSERT_EQ(rsp->topics.size(), 1u);
  ASSERT_EQ(rsp->topics[0].error_code, 0) << rsp->topics[0].error_message.value_or("");
  ASSERT_TRUE(wait_settled(c, topic, replicas)) << "the topic never had a full ISR";
}

// AlterPartitionReassignments for one partition (nullopt replicas: cancel), sent to `broker`;
// the partition's error code.
int16_t alter(const BrokerSimCluster& c, int broker, const std::string& topic, int32_t partition,
              std::optional<Ids> replicas) {
  kafka::AlterPartitionReassignmentsRequest req;
  auto& t = req.topics.emplace_back();
  t.name = topic;
  t.partitions.push_back({.partition_index = partition, .replicas = std::move(replicas)});
  auto rsp = call<kafka::AlterPartitionReassignmentsResponse>(c, broker, req);
  if (!rsp.ok() || rsp->error_code != 0) return rsp.ok() ? rsp->error_code : int16_t{-100};
  if (rsp->responses.size() != 1 || rsp->responses[0].partitions.size() != 1) return -101;
  return rsp->responses[0].partitions[0].error_code;
}

// The ongoing reassignments as broker `broker` lists them: partition -> (replicas, adding,
// removing).
std::map<std::pair<std::string, int32_t>, std::tuple<Ids, Ids, Ids>> ongoing(
    const BrokerSimCluster& c, int broker) {
  kafka::ListPartitionReassignmentsRequest req;
  req.topics = std::nullopt;
  std::map<std::pair<std::string, int32_t>, std::tuple<Ids, Ids, Ids>> out;
  auto rsp = call<kafka::ListPartitionReassignmentsResponse>(c, broker, req);
  EXPECT_TRUE(rsp.ok()) << rsp.status();
  if (!rsp.ok()) return out;
  EXPECT_EQ(rsp->error_code, 0);
  for (const auto& t : rsp->topics) {
    for (const auto& p : t.partitions)
      out[{t.name, p.partition_index}] = {p.replicas, p.adding_replicas, p.removing_replicas};
  }
  return out;
}

bool has_partition_dir(BrokerSimCluster& c, int broker, const std::string& dir) {
  ProcessContext* ctx = c.broker_processes[broker]->context();
  return ctx != nullptr && ctx->fs->exists(ctx->data_dir + "/" + dir);
}

void move_while_producing(uint64_t seed) {
  BrokerSimCluster c(seed, four_brokers());
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    create_topic(c, "move", {0, 1, 2});
    auto producer = make_producer(c, {.acks = -1,
                                      .linger_ms = 2,
                                      .retry_backoff_ms = 50,
                                      .request_timeout_ms = 2000,
                                      .max_in_flight = 1});
    std::vector<Future<RecordMetadata>> acks;
    std::vector<std::string> values;
    for (int i = 0; i < 600; ++i) {
      values.push_back(absl::StrCat("value-", i));
      acks.push_back(producer->send({.topic = "move", .value = values.back()}));
      if (i == 200) {
        ASSERT_EQ(alter(c, 2, "move", 0, Ids{1, 2, 3}), 0);
        // Listed by the broker that took it (coord reads follow its own session's writes),
        // unless it has finished already: broker 3 has little to catch up with.
        auto listed = ongoing(c, 2);
        if (listed.count({"move", 0}) != 0) {
          EXPECT_EQ(as_set(std::get<0>(listed[{"move", 0}])), (std::set<int32_t>{0, 1, 2, 3}));
          EXPECT_EQ(std::get<1>(listed[{"move", 0}]), (Ids{3}));
          EXPECT_EQ(std::get<2>(listed[{"move", 0}]), (Ids{0}));
        }
      }
      delay(5ms);
    }
    producer->flush();
    std::map<int64_t, std::string> acked;
    for (int i = 0; i < 600; ++i) {
      ASSERT_TRUE(acks[i].get().ok()) << i << ": " << acks[i].get().status();
      acked[acks[i].get()->offset] = values[i];
    }
    ASSERT_TRUE(wait_settled(c, "move", {1, 2, 3})) << "the reassignment never completed";
    EXPECT_TRUE(ongoing(c, 0).empty());
    auto p = describe(c, 3, "move");
    ASSERT_TRUE(p.has_value());
    EXPECT_TRUE(as_set({1, 2, 3}).count(p->leader_id)) << "leader " << p->leader_id;
    // Every acknowledged record is readable, and broker 3 holds the log.
    auto consumer = make_consumer(c, {.fetch_max_wait_ms = 100,
                                      .auto_offset_reset = OffsetReset::kEarliest,
                                      .request_timeout_ms = 2000});
    consumer->assign({{"move", 0}});
    std::map<int64_t, std::string> log;
    const int64_t end = acked.rbegin()->first + 1;
    for (int idle = 0; static_cast<int64_t>(log.size()) < end;) {
      auto polled = consumer->poll(1s);
      ASSERT_TRUE(polled.ok()) << polled.status();
      if (polled->empty()) {
        ASSERT_LT(++idle, 30) << "read " << log.size() << " of " << end;
      }
      for (const ConsumerRecord& r : *polled) log.emplace(r.offset, std::string(*r.value));
    }
    for (const auto& [offset, value] : acked) EXPECT_EQ(log[offset], value) << offset;
    ASSERT_NE(c.brokers[3], nullptr);
    auto moved = c.brokers[3]->core()->replicas.partition("move", 0);
    ASSERT_NE(moved, nullptr);
    EXPECT_GE(moved->log_end_offset().value(), end);
    EXPECT_TRUE(has_partition_dir(c, 3, "move-0"));
    // Broker 0 was told to delete its replica.
    ASSERT_NE(c.brokers[0], nullptr);
    EXPECT_EQ(c.brokers[0]->core()->replicas.partition("move", 0), nullptr);
    EXPECT_FALSE(has_partition_dir(c, 0, "move-0"));
    producer->close();
  });
  EXPECT_TRUE(done) << "seed " << seed;
}

void cancel_back(uint64_t seed) {
  BrokerSimCluster c(seed, four_brokers());
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    create_topic(c, "undo", {0, 1, 2});
    using kafka::ErrorCode;
    auto code = [](ErrorCode e) { return static_cast<int16_t>(e); };
    EXPECT_EQ(alter(c, 1, "nope", 0, Ids{1, 2, 3}), code(ErrorCode::kUnknownTopicOrPartition));
    EXPECT_EQ(alter(c, 1, "undo", 5, Ids{1, 2, 3}), code(ErrorCode::kUnknownTopicOrPartition));
    EXPECT_EQ(alter(c, 1, "undo", 0, Ids{1, 1, 2}), code(ErrorCode::kInvalidReplicaAssignment));
    EXPECT_EQ(alter(c, 1, "undo", 0, Ids{1, 2, 9}), code(ErrorCode::kInvalidReplicaAssignment));
    EXPECT_EQ(alter(c, 1, "undo", 0, Ids{}), code(ErrorCode::kInvalidReplicaAssignment));
    EXPECT_EQ(alter(c, 1, "undo", 0, std::nullopt), code(ErrorCode::kNoReassignmentInProgress));
    // Broker 3 cannot reach the leader: the reassignment starts but cannot finish.
    auto before = describe(c, 0, "undo");
    ASSERT_TRUE(before.has_value());
    const std::string leader = c.broker_machines[before->leader_id]->ip();
    const std::string newcomer = c.broker_machines[3]->ip();
    c.sim.network().partition(leader, newcomer);
    c.sim.network().partition(newcomer, leader);
    ASSERT_EQ(alter(c, 2, "undo", 0, Ids{1, 2, 3}), 0);
    delay(3s);
    auto during = describe(c, 1, "undo");
    ASSERT_TRUE(during.has_value());
    EXPECT_EQ(as_set(during->replica_nodes), (std::set<int32_t>{0, 1, 2, 3}));
    EXPECT_EQ(as_set(during->isr_nodes).count(3), 0u);
    EXPECT_EQ(ongoing(c, 0).size(), 1u);
    // Cancelled: back to {0,1,2}, and broker 3 drops what it had.
    ASSERT_EQ(alter(c, 3, "undo", 0, std::nullopt), 0);
    c.sim.network().heal_all();
    ASSERT_TRUE(wait_settled(c, "undo", {0, 1, 2})) << "the cancellation never completed";
    EXPECT_TRUE(ongoing(c, 2).empty());
    EXPECT_EQ(alter(c, 1, "undo", 0, std::nullopt), code(ErrorCode::kNoReassignmentInProgress));
    const TimePoint deadline = Scheduler::current().now() + to_scheduler_duration(10s);
    while (has_partition_dir(c, 3, "undo-0") && Scheduler::current().now() < deadline) delay(100ms);
    EXPECT_FALSE(has_partition_dir(c, 3, "undo-0"));
    ASSERT_NE(c.brokers[3], nullptr);
    EXPECT_EQ(c.brokers[3]->core()->replicas.partition("undo", 0), nullptr);
    // The partition still takes acks=all writes.
    auto producer = make_producer(c, {.acks = -1, .request_timeout_ms = 2000});
    auto ack = producer->send({.topic = "undo", .value = "after"});
    producer->flush();
    EXPECT_TRUE(ack.get().ok()) << ack.get().status();
    producer->close();
  });
  EXPECT_TRUE(done) << "seed " << seed;
}

// The controller dies in the middle of a reassignment (its new replica cut off from the
// leader, so it cannot finish first); the next controller resumes it from the topic znode.
void resume_after_failover(uint64_t seed) {
  BrokerSimCluster c(seed, four_brokers());
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    create_topic(c, "resume", {0, 1, 2});
    auto before = describe(c, 0, "resume");
    ASSERT_TRUE(before.has_value());
    const std::string leader = c.broker_machines[before->leader_id]->ip();
    const std::string newcomer = c.broker_machines[3]->ip();
    c.sim.network().partition(leader, newcomer);
    c.sim.network().partition(newcomer, leader);
    ASSERT_EQ(alter(c, 1, "resume", 0, Ids{1, 2, 3}), 0);
    delay(2s);
    int controller = -1;
    for (int i = 0; i < kBrokers; ++i) {
      if (c.brokers[i] != nullptr && c.brokers[i]->core()->controller.active()) controller = i;
    }
    ASSERT_GE(controller, 0);
    ASSERT_GE(c.brokers[controller]->core()->controller.counters().reassignments_started, 1u);
    c.sim.kill(c.broker_processes[controller]);
    c.sim.boot_after(c.broker_processes[controller], 1s);
    delay(1s);
    c.sim.network().heal_all();
    ASSERT_TRUE(wait_settled(c, "resume", {1, 2, 3}, 60s)) << "not resumed; killed " << controller;
    EXPECT_TRUE(ongoing(c, 1).empty());
  });
  EXPECT_TRUE(done) << "seed " << seed;
}

TEST(Reassignment, ANewControllerResumesAReassignment) {
  for (uint64_t seed = 51; seed < 51 + kSeeds; ++seed) {
    SCOPED_TRACE(seed);
    resume_after_failover(seed);
  }
}

TEST(Reassignment, MovesAPartitionWhileProducingAcksAll) {
  for (uint64_t seed = 31; seed < 31 + kSeeds; ++seed) {
    SCOPED_TRACE(seed);
    move_while_producing(seed);
  }
}

TEST(Reassignment, RefusesBadRequestsAndCancelsBackToTheOriginal) {
  for (uint64_t seed = 41; seed < 41 + kSeeds; ++seed) {
    SCOPED_TRACE(seed);
    cancel_back(seed);
  }
}

}  // namespace
}  // namespace weir::broker::testing
