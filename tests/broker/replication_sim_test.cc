// Three simulated brokers on one coord server: topics replicated three ways, the controller
// electing leaders, followers replicating, acks=all waiting for the ISR, and a killed leader
// replaced without losing an acknowledged record.
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "broker/client/consumer.h"
#include "broker/client/kafka_connection.h"
#include "broker/client/producer.h"
#include "tests/broker/broker_sim_harness.h"

namespace weir::broker::testing {
namespace {

using client::Consumer;
using client::ConsumerConfig;
using client::ConsumerRecord;
using client::KafkaConnection;
using client::OffsetReset;
using client::Producer;
using client::ProducerConfig;
using client::RecordMetadata;

BrokerSimOptions three_brokers() {
  BrokerSimOptions o;
  o.brokers = 3;
  o.properties = {{"default.replication.factor", "3"},
                  {"min.insync.replicas", "2"},
                  {"replica.lag.time.max.ms", "2000"},
                  {"zookeeper.session.timeout.ms", "3000"}};
  return o;
}

// The metadata of `topic` as broker `i` answers it.
absl::StatusOr<kafka::MetadataResponse> metadata(const BrokerSimCluster& c, int i,
                                                 const std::string& topic) {
  auto conn = KafkaConnection::connect(*current_context().network, c.broker_address(i));
  if (!conn.ok()) return conn.status();
  kafka::MetadataRequest req;
  req.topics = std::vector<kafka::MetadataRequest::MetadataRequestTopic>(1);
  req.topics->front().name = topic;
  return (*conn)->call<kafka::MetadataResponse>(req);
}

// Waits until every broker describes `topic` with a leader and a full ISR for each partition.
bool wait_replicated(const BrokerSimCluster& c, const std::string& topic, size_t isr_size,
                     Duration limit = 30s) {
  const TimePoint deadline = Scheduler::current().now() + to_scheduler_duration(limit);
  while (Scheduler::current().now() < deadline) {
    bool all = true;
    for (int i = 0; i < 3 && all; ++i) {
      auto m = metadata(c, i, topic);
      all = m.ok() && m->topics.size() == 1 && m->topics[0].error_code == 0 &&
            !m->topics[0].partitions.empty();
      if (!all) break;
      for (const auto& p : m->topics[0].partitions)
        all = all && p.leader_id >= 0 && p.isr_nodes.size() == isr_size;
    }
    if (all) return true;
    delay(100ms);
  }
  return false;
}

int leader_of(const BrokerSimCluster& c, const std::string& topic, int32_t partition) {
  for (int i = 0; i < 3; ++i) {
    auto m = metadata(c, i, topic);
    if (m.ok() && m->topics.size() == 1 && m->topics[0].partitions.size() > size_t(partition))
      return m->topics[0].partitions[partition].leader_id;
  }
  return -1;
}

TEST(Replication, TopicIsReplicatedThreeWaysAndAcksAllAreReadBack) {
  BrokerSimCluster c(7, three_brokers());
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    auto producer = make_producer(c, {.acks = -1, .linger_ms = 2});
    std::vector<Future<RecordMetadata>> acks;
    for (int i = 0; i < 200; ++i)
      acks.push_back(producer->send({.topic = "rep", .value = absl::StrCat("v", i)}));
    producer->flush();
    for (auto& a : acks) ASSERT_TRUE(a.get().ok()) << a.get().status();
    ASSERT_TRUE(wait_replicated(c, "rep", 3)) << "the ISR never reached 3";
    // Every replica's log holds the same records.
    delay(2s);
    int64_t end = -1;
    for (Broker* b : c.brokers) {
      ASSERT_NE(b, nullptr);
      auto p = b->core()->replicas.partition("rep", 0);
      ASSERT_NE(p, nullptr);
      if (end < 0) end = p->log_end_offset().value();
      EXPECT_EQ(p->log_end_offset().value(), end);
      EXPECT_EQ(p->high_watermark().value(), end);
    }
    EXPECT_EQ(end, 200);
    producer->close();
  });
  EXPECT_TRUE(done);
}

TEST(Replication, KilledLeaderIsReplacedAndNoAcknowledgedRecordIsLost) {
  for (uint64_t seed : {11, 12, 13}) {
    BrokerSimCluster c(seed, three_brokers());
    bool done = c.run([&] {
      ASSERT_TRUE(c.wait_ready());
      auto producer = make_producer(c, {.acks = -1,
                                        .linger_ms = 2,
                                        .retry_backoff_ms = 50,
                                        .request_timeout_ms = 2000,
                                        .max_in_flight = 1});
      std::vector<Future<RecordMetadata>> acks;
      std::vector<std::string> values;
      for (int i = 0; i < 400; ++i) values.push_back(absl::StrCat("value-", i));
      int killed = -1;
      for (int i = 0; i < 400; ++i) {
        acks.push_back(producer->send({.topic = "kill", .value = values[i]}));
        if (i == 100) {
          ASSERT_TRUE(wait_replicated(c, "kill", 3));
        }
        if (i == 200) {
          killed = leader_of(c, "kill", 0);
          ASSERT_GE(killed, 0);
          c.sim.kill(c.broker_processes[killed]);
          c.sim.boot_after(c.broker_processes[killed], 5s);
        }
        delay(5ms);
      }
      producer->flush();
      std::map<int64_t, std::string> acked;
      for (int i = 0; i < 400; ++i) {
        ASSERT_TRUE(acks[i].get().ok()) << i << ": " << acks[i].get().status();
        acked[acks[i].get()->offset] = values[i];
      }
      const int after = leader_of(c, "kill", 0);
      EXPECT_GE(after, 0);
      EXPECT_NE(after, killed) << "leadership moved when the leader died";
      auto consumer = make_consumer(c, {.fetch_max_wait_ms = 100,
                                        .auto_offset_reset = OffsetReset::kEarliest,
                                        .request_timeout_ms = 2000});
      consumer->assign({{"kill", 0}});
      std::map<int64_t, std::string> log;
      const int64_t end = acked.rbegin()->first + 1;
      int idle = 0;
      while (static_cast<int64_t>(log.size()) < end) {
        auto polled = consumer->poll(1s);
        ASSERT_TRUE(polled.ok()) << polled.status();
        if (polled->empty()) {
          ASSERT_LT(++idle, 30) << "read " << log.size() << " of " << end;
        }
        for (const ConsumerRecord& r : *polled) log.emplace(r.offset, std::string(*r.value));
      }
      for (const auto& [offset, value] : acked) EXPECT_EQ(log[offset], value) << offset;
      producer->close();
    });
    EXPECT_TRUE(done) << "seed " << seed;
  }
}

}  // namespace
}  // namespace weir::broker::testing
