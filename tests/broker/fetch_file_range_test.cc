// Fetch v4+ sends each partition's records as a file range of the segment (sendfile in the
// real runtime, a copy through the simulated disk here): the batches a consumer receives are
// the same whichever way, whatever the limits and versions, before and after a restart (when
// the restarted log reads and checks its trusted segments once before naming them), and
// v0-v3 still get down-converted copies.
#include <gtest/gtest.h>

#include "broker/client/kafka_connection.h"
#include "broker/log/record_batch.h"
#include "broker/log/records.h"
#include "tests/broker/broker_sim_harness.h"

namespace weir::broker::testing {
namespace {

using client::KafkaConnection;

std::shared_ptr<KafkaConnection> connect(BrokerSimCluster& c) {
  auto conn = KafkaConnection::connect(*current_context().network, c.broker_address(0));
  EXPECT_TRUE(conn.ok()) << conn.status();
  return conn.ok() ? *conn : nullptr;
}

void create_topic(KafkaConnection& conn, const std::string& name) {
  kafka::CreateTopicsRequest req;
  auto& t = req.topics.emplace_back();
  t.name = name;
  t.num_partitions = 1;
  t.replication_factor = 1;
  auto rsp = conn.call<kafka::CreateTopicsResponse>(req);
  ASSERT_TRUE(rsp.ok()) << rsp.status();
  ASSERT_EQ(rsp->topics.at(0).error_code, 0);
}

int64_t produce(KafkaConnection& conn, const std::string& topic, int i) {
  std::vector<log::RecordInput> records;
  for (int r = 0; r <= i % 5; ++r) {
    records.push_back(
        {.value = std::string(10 + (i * 53 + r) % 200, static_cast<char>('a' + i % 26)),
         .timestamp_ms = 1000 + i});
  }
  auto batch = log::build_batch(records);
  EXPECT_TRUE(batch.ok());
  kafka::ProduceRequest req;
  req.acks = -1;
  req.timeout_ms = 1000;
  auto& t = req.topic_data.emplace_back();
  t.name = topic;
  t.partition_data.push_back({.index = 0, .records = {.bytes = *batch}});
  auto rsp = conn.call<kafka::ProduceResponse>(req);
  if (!rsp.ok()) return -1;
  const auto& p = rsp->responses.at(0).partition_responses.at(0);
  return p.error_code == 0 ? p.base_offset : -1;
}

// Every whole batch from offset 0 to `end`, fetched at `version` with `partition_max_bytes`
// (a trailing partial batch, which a file range cut by the limit may end with, is dropped
// and fetched again, as clients do). Checks each batch's CRC. `partials` counts responses that
// ended with a partial batch: only a file range does that (a copy holds whole batches).
std::string fetch_all(KafkaConnection& conn, const std::string& topic, int16_t version,
                      int32_t partition_max_bytes, int64_t end, int* partials = nullptr) {
  std::string out;
  int64_t offset = 0;
  while (offset < end) {
    kafka::FetchRequest req;
    req.max_wait_ms = 0;
    req.min_bytes = 1;
    req.max_bytes = partition_max_bytes;
    auto& t = req.topics.emplace_back();
    t.topic = topic;
    t.partitions.push_back(
        {.partition = 0, .fetch_offset = offset, .partition_max_bytes = partition_max_bytes});
    auto rsp = conn.call_framed<kafka::FetchResponse>(req, version);
    EXPECT_TRUE(rsp.ok()) << rsp.status();
    if (!rsp.ok()) return out;
    const auto& pd = rsp->body.responses.at(0).partitions.at(0);
    EXPECT_EQ(pd.error_code, 0);
    std::string_view bytes = pd.records.bytes;
    const int64_t before = offset;
    while (bytes.size() >= log::kBatchHeaderBytes) {
      auto h = log::parse_batch_header(bytes);
      if (!h.ok() || h->size_bytes() > bytes.size()) break;  // partial
      const std::string_view batch = bytes.substr(0, h->size_bytes());
      EXPECT_TRUE(log::BatchView::parse(batch).ok()) << "at offset " << h->base_offset;
      EXPECT_EQ(h->base_offset, offset);
      out.append(batch);
      offset = h->last().value() + 1;
      bytes.remove_prefix(h->size_bytes());
    }
    if (!bytes.empty() && partials != nullptr) ++*partials;
    EXPECT_GT(offset, before) << "no whole batch at " << offset;
    if (offset == before) return out;
  }
  return out;
}

TEST(FetchFileRange, SameBatchesWhateverTheVersionLimitsAndRestarts) {
  BrokerSimCluster c(
      31, {.properties = {{"log.segment.bytes", "2000"}, {"log.flush.interval.messages", "1"}}});
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    auto conn = connect(c);
    ASSERT_NE(conn, nullptr);
    create_topic(*conn, "ranges");
    int64_t end = 0;
    for (int i = 0; i < 40; ++i) {
      const int64_t base = produce(*conn, "ranges", i);
      ASSERT_EQ(base, end);
      end += 1 + i % 5;
    }
    const std::string all = fetch_all(*conn, "ranges", 12, 1 << 20, end);
    EXPECT_GT(all.size(), 4000u) << "several segments";
    int partials = 0;
    EXPECT_EQ(fetch_all(*conn, "ranges", 4, 300, end, &partials), all);
    EXPECT_GT(partials, 0) << "v4+ records are file ranges";
    EXPECT_EQ(fetch_all(*conn, "ranges", 11, 1000, end), all);
    EXPECT_EQ(fetch_all(*conn, "ranges", 7, 1, end), all);  // one batch per fetch
    // The copy path's down-conversion still serves v0-v3: magic 1 messages.
    {
      kafka::FetchRequest req;
      req.max_wait_ms = 0;
      req.min_bytes = 1;
      req.max_bytes = 1 << 20;
      auto& t = req.topics.emplace_back();
      t.topic = "ranges";
      t.partitions.push_back({.partition = 0, .fetch_offset = 0, .partition_max_bytes = 1 << 20});
      auto v3 = conn->call_framed<kafka::FetchResponse>(req, 3);
      ASSERT_TRUE(v3.ok()) << v3.status();
      const auto& records = v3->body.responses.at(0).partitions.at(0).records.bytes;
      ASSERT_GT(records.size(), 17u);
      EXPECT_EQ(records[16], 1) << "magic of the first down-converted message";
    }
    // After a restart the segments below the recovery point are trusted: the first pass
    // reads and checks them (copies), later passes send ranges; the bytes never differ.
    c.sim.kill(c.broker_processes[0]);
    delay(1s);
    c.sim.boot(c.broker_processes[0]);
    ASSERT_TRUE(c.wait_ready());
    auto again = connect(c);
    ASSERT_NE(again, nullptr);
    EXPECT_EQ(fetch_all(*again, "ranges", 12, 700, end), all);
    EXPECT_EQ(fetch_all(*again, "ranges", 12, 1 << 20, end), all);
    partials = 0;
    EXPECT_EQ(fetch_all(*again, "ranges", 12, 700, end, &partials), all);
    EXPECT_GT(partials, 0) << "checked bytes are sent as file ranges";
  });
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace weir::broker::testing
