// The broker's protocol edges in simulation: hostile frames never crash it or stop it serving,
// the Fetch long poll waits and wakes as Kafka's does, KIP-74's first-batch rule, offsets out
// of range, and acknowledged data surviving kill -9 with a flush per batch.
#include <gtest/gtest.h>

#include "broker/client/kafka_connection.h"
#include "broker/log/records.h"
#include "coord/client/client.h"
#include "runtime/bytes/byte_writer.h"
#include "tests/broker/broker_sim_harness.h"

namespace weir::broker::testing {
namespace {

using client::KafkaConnection;

std::shared_ptr<KafkaConnection> connect(BrokerSimCluster& c) {
  auto conn = KafkaConnection::connect(*current_context().network, c.broker_address(0));
  EXPECT_TRUE(conn.ok()) << conn.status();
  return conn.ok() ? *conn : nullptr;
}

void create_topic(KafkaConnection& conn, const std::string& name, int32_t partitions) {
  kafka::CreateTopicsRequest req;
  auto& t = req.topics.emplace_back();
  t.name = name;
  t.num_partitions = partitions;
  t.replication_factor = 1;
  auto rsp = conn.call<kafka::CreateTopicsResponse>(req);
  ASSERT_TRUE(rsp.ok()) << rsp.status();
  ASSERT_EQ(rsp->topics.at(0).error_code, 0) << rsp->topics.at(0).error_message.value_or("");
}

// Appends one batch of `values` and returns its base offset (-1 on an error).
int64_t produce(KafkaConnection& conn, const std::string& topic, int32_t partition,
                const std::vector<std::string>& values, int64_t timestamp_ms = 1000) {
  std::vector<log::RecordInput> records;
  for (const auto& v : values) records.push_back({.value = v, .timestamp_ms = timestamp_ms});
  auto batch = log::build_batch(records);
  EXPECT_TRUE(batch.ok());
  kafka::ProduceRequest req;
  req.acks = -1;
  req.timeout_ms = 1000;
  auto& t = req.topic_data.emplace_back();
  t.name = topic;
  t.partition_data.push_back({.index = partition, .records = {.bytes = *batch}});
  auto rsp = conn.call<kafka::ProduceResponse>(req);
  if (!rsp.ok()) return -1;
  const auto& p = rsp->responses.at(0).partition_responses.at(0);
  return p.error_code == 0 ? p.base_offset : -1;
}

kafka::FetchRequest fetch_request(const std::string& topic, int64_t offset, int32_t wait_ms,
                                  int32_t min_bytes, int32_t partition_max_bytes = 1 << 20) {
  kafka::FetchRequest req;
  req.max_wait_ms = wait_ms;
  req.min_bytes = min_bytes;
  auto& t = req.topics.emplace_back();
  t.topic = topic;
  t.partitions.push_back(
      {.partition = 0, .fetch_offset = offset, .partition_max_bytes = partition_max_bytes});
  return req;
}

TEST(BrokerProtocol, HostileFramesNeverCrashOrStopTheBroker) {
  BrokerSimCluster c(7);
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    auto conn = connect(c);
    ASSERT_NE(conn, nullptr);
    create_topic(*conn, "hostile", 2);
    ASSERT_EQ(produce(*conn, "hostile", 0, {"a", "b"}), 0);
    IRandom& random = *current_context().random;
    for (int i = 0; i < 300; ++i) {
      auto io = current_context().network->connect(c.broker_address(0));
      ASSERT_TRUE(io.ok());
      // A valid header for a served api and version, then random bytes as its body.
      const kafka::ApiInfo& api = kafka::kApis[random.below(kafka::kApis.size())];
      const auto version =
          static_cast<int16_t>(random.uniform_int(api.min_version - 1, api.max_version + 1));
      std::string body;
      const size_t n = random.below(200);
      for (size_t b = 0; b < n; ++b) body.push_back(static_cast<char>(random.below(256)));
      std::string frame;
      ByteWriter w(frame);
      w.write_u32(static_cast<uint32_t>(8 + 2 + body.size()));
      w.write_i16(static_cast<int16_t>(api.key));
      w.write_i16(version);
      w.write_i32(i);
      w.write_i16(-1);  // null client id (header v1; v2 adds tagged fields: random here)
      w.write_bytes(body);
      (void)(*io)->write(
          absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(frame.data()), frame.size()));
      std::vector<uint8_t> buf(1 << 16);
      (void)timeout(spawn("read", [io, &buf] { return (*io)->read(absl::MakeSpan(buf)); }), 2s);
      (*io)->close();
    }
    // The broker refused most of them (and answered the rest), and still serves.
    ASSERT_NE(c.brokers[0], nullptr);
    ASSERT_NE(c.brokers[0]->core(), nullptr);
    EXPECT_GT(c.brokers[0]->core()->counters.request_errors, 100u);
    EXPECT_GT(c.brokers[0]->core()->counters.requests, 300u);
    auto again = connect(c);
    ASSERT_NE(again, nullptr);
    auto framed = again->call_framed<kafka::FetchResponse>(fetch_request("hostile", 0, 0, 1));
    ASSERT_TRUE(framed.ok()) << framed.status();
    const auto& pd = framed->body.responses.at(0).partitions.at(0);
    EXPECT_EQ(pd.error_code, 0);
    EXPECT_EQ(pd.high_watermark, 2);
  });
  EXPECT_TRUE(done);
}

TEST(BrokerProtocol, FetchLongPollWaitsThenWakesOnAppend) {
  BrokerSimCluster c(11);
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    auto conn = connect(c);
    ASSERT_NE(conn, nullptr);
    create_topic(*conn, "poll", 1);
    // Nothing to read: the answer comes after max_wait_ms, empty.
    TimePoint start = c.sim.now();
    auto empty = conn->call_framed<kafka::FetchResponse>(fetch_request("poll", 0, 500, 1));
    ASSERT_TRUE(empty.ok()) << empty.status();
    EXPECT_GE(c.sim.now() - start, 450ms);
    EXPECT_TRUE(empty->body.responses.at(0).partitions.at(0).records.bytes.empty());
    // A produce during the wait answers the fetch at once.
    auto producer = connect(c);
    start = c.sim.now();
    auto waiting = spawn("fetch", [conn] {
      return conn->call_framed<kafka::FetchResponse>(fetch_request("poll", 0, 5000, 1));
    });
    delay(100ms);
    ASSERT_EQ(produce(*producer, "poll", 0, {"wake"}), 0);
    auto woke = await(waiting);
    ASSERT_TRUE(woke.ok()) << woke.status();
    EXPECT_LT(c.sim.now() - start, 1s);
    EXPECT_FALSE(woke->body.responses.at(0).partitions.at(0).records.bytes.empty());
  });
  EXPECT_TRUE(done);
}

TEST(BrokerProtocol, FirstBatchLargerThanTheLimitsIsStillReturned) {
  BrokerSimCluster c(13);
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    auto conn = connect(c);
    ASSERT_NE(conn, nullptr);
    create_topic(*conn, "big", 1);
    ASSERT_EQ(produce(*conn, "big", 0, {std::string(5000, 'x')}), 0);
    ASSERT_EQ(produce(*conn, "big", 0, {"small"}), 1);
    auto framed =
        conn->call_framed<kafka::FetchResponse>(fetch_request("big", 0, 0, 1, /*max bytes*/ 100));
    ASSERT_TRUE(framed.ok()) << framed.status();
    const auto& pd = framed->body.responses.at(0).partitions.at(0);
    EXPECT_EQ(pd.error_code, 0);
    EXPECT_GT(pd.records.bytes.size(), 5000u);  // the whole first batch ...
    EXPECT_LT(pd.records.bytes.size(), 5200u);  // ... and nothing after it
    // Past the high watermark: OFFSET_OUT_OF_RANGE; at it: empty and fine.
    auto past = conn->call_framed<kafka::FetchResponse>(fetch_request("big", 3, 0, 1));
    ASSERT_TRUE(past.ok());
    EXPECT_EQ(past->body.responses.at(0).partitions.at(0).error_code,
              static_cast<int16_t>(kafka::ErrorCode::kOffsetOutOfRange));
    auto at_end = conn->call_framed<kafka::FetchResponse>(fetch_request("big", 2, 0, 1));
    ASSERT_TRUE(at_end.ok());
    EXPECT_EQ(at_end->body.responses.at(0).partitions.at(0).error_code, 0);
  });
  EXPECT_TRUE(done);
}

// ListOffsets -3 (KIP-734): the record with the largest timestamp, from the segments'
// bookkeeping; the first batch carrying it wins a tie, as in Kafka.
TEST(BrokerProtocol, ListOffsetsMaxTimestamp) {
  BrokerSimCluster c(23, {.properties = {{"log.segment.bytes", "200"}}});
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    auto conn = connect(c);
    ASSERT_NE(conn, nullptr);
    create_topic(*conn, "times", 1);
    int64_t offset = 0;
    for (int64_t ts : {1000, 5000, 3000, 5000, 2000}) {
      ASSERT_EQ(produce(*conn, "times", 0, {"v", "w"}, ts), offset);
      offset += 2;
    }
    kafka::ListOffsetsRequest req;
    auto& t = req.topics.emplace_back();
    t.name = "times";
    t.partitions.push_back({.partition_index = 0, .timestamp = -3});
    auto rsp = conn->call<kafka::ListOffsetsResponse>(req, int16_t{7});
    ASSERT_TRUE(rsp.ok()) << rsp.status();
    const auto& p = rsp->topics.at(0).partitions.at(0);
    EXPECT_EQ(p.error_code, 0);
    EXPECT_EQ(p.timestamp, 5000);
    EXPECT_EQ(p.offset, 3);  // the last offset of the first batch at 5000
  });
  EXPECT_TRUE(done);
}

TEST(BrokerProtocol, AcknowledgedDataSurvivesKillWithFlushPerBatch) {
  BrokerSimCluster c(17, {.properties = {{"log.flush.interval.messages", "1"}}});
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    auto conn = connect(c);
    ASSERT_NE(conn, nullptr);
    create_topic(*conn, "durable", 1);
    for (int i = 0; i < 20; ++i) ASSERT_EQ(produce(*conn, "durable", 0, {"v"}), i);
    c.sim.kill(c.broker_processes[0]);
    delay(1s);
    c.sim.boot(c.broker_processes[0]);
    ASSERT_TRUE(c.wait_ready());
    auto again = connect(c);
    ASSERT_NE(again, nullptr);
    kafka::ListOffsetsRequest req;
    auto& t = req.topics.emplace_back();
    t.name = "durable";
    t.partitions.push_back({.partition_index = 0, .timestamp = -1});
    auto rsp = again->call<kafka::ListOffsetsResponse>(req);
    ASSERT_TRUE(rsp.ok()) << rsp.status();
    EXPECT_EQ(rsp->topics.at(0).partitions.at(0).offset, 20);
  });
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace weir::broker::testing

namespace weir::broker::testing {
namespace {

// Kafka's broker re-registers when its ZooKeeper session expires: cut from coord for longer
// than zookeeper.session.timeout.ms, the broker's /brokers/ids/<id> goes with the old session
// and comes back with the new one, and the broker serves throughout.
TEST(BrokerProtocol, ReregistersAfterItsCoordSessionExpired) {
  BrokerSimCluster c(19, {.properties = {{"zookeeper.session.timeout.ms", "2000"}}});
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    auto coord = coord::client::CoordClient::create(c.coord_address);
    ASSERT_TRUE(coord.ok());
    auto registered = [&] {
      auto s = await((*coord)->exists("/brokers/ids/0"));
      return s.ok() && s->has_value();
    };
    ASSERT_TRUE(registered());
    const std::string broker_ip = c.broker_machines[0]->ip();
    const std::string coord_ip = c.coord_machine->ip();
    c.sim.network().partition(broker_ip, coord_ip);
    c.sim.network().partition(coord_ip, broker_ip);
    delay(6s);
    EXPECT_FALSE(registered()) << "the expired session's ephemeral is gone";
    c.sim.network().heal(broker_ip, coord_ip);
    c.sim.network().heal(coord_ip, broker_ip);
    const TimePoint deadline = c.sim.now() + 20s;
    while (!registered() && c.sim.now() < deadline) delay(100ms);
    EXPECT_TRUE(registered()) << "the broker registered again with a new session";
    auto conn = connect(c);
    EXPECT_NE(conn, nullptr);
  });
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace weir::broker::testing
