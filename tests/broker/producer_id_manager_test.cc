// ProducerIdManager against a simulated coord server: Kafka's /latest_producer_id_block blocks
// (0..999 first, then each after the last one written), ids unique across brokers claiming
// blocks in turn, a Kafka cluster's znode continued, corrupt data refused without a crash, one
// claim for concurrent callers. And InitProducerId end to end on simulated brokers.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "broker/client/kafka_connection.h"
#include "broker/server/cluster_store.h"
#include "broker/server/producer_id_manager.h"
#include "coord/client/client.h"
#include "tests/broker/broker_sim_harness.h"

namespace weir::broker::testing {
namespace {

using coord::client::CoordClient;
using coord::client::open_acl_unsafe;

constexpr char kPath[] = "/latest_producer_id_block";

// What one broker needs for a manager: its own coord session and ClusterStore.
struct BrokerIds {
  std::unique_ptr<CoordClient> coord;
  std::unique_ptr<ClusterStore> store;
  std::unique_ptr<ProducerIdManager> ids;
};

BrokerIds make_ids(const BrokerSimCluster& c, int32_t broker_id,
                   coord::client::CoordClientOptions options = {}) {
  BrokerIds b;
  auto coord = CoordClient::create(c.coord_address, options);
  WEIR_ASSERT_MSG(coord.ok(), "CoordClient::create failed");
  b.coord = *std::move(coord);
  ProcessContext& ctx = current_context();
  b.store = std::make_unique<ClusterStore>(*b.coord, *ctx.clock, *ctx.random);
  b.ids = std::make_unique<ProducerIdManager>(*b.store, broker_id);
  return b;
}

int64_t next_id(ProducerIdManager& ids) {
  auto id = ids.next();
  EXPECT_TRUE(id.ok()) << id.status();
  return id.ok() ? id->value() : -1;
}

std::string znode(CoordClient& coord) {
  auto data = await(coord.get_data(kPath));
  EXPECT_TRUE(data.ok()) << data.status();
  return data.ok() ? data->data : "";
}

// Runs `body` in a client process of a cluster with a coord server and no brokers.
void with_coord(uint64_t seed, const std::function<void(BrokerSimCluster&)>& body,
                Duration coord_tick = 100ms) {
  BrokerSimCluster c(seed, {.brokers = 0, .coord_tick = coord_tick});
  EXPECT_TRUE(c.run([&] { body(c); }));
}

TEST(ProducerIdManager, FirstBlockIsZeroTo999InKafkasJson) {
  with_coord(1, [](BrokerSimCluster& c) {
    BrokerIds b = make_ids(c, 7);
    EXPECT_FALSE(b.ids->block().has_value());
    EXPECT_EQ(next_id(*b.ids), 0);
    EXPECT_EQ(next_id(*b.ids), 1);
    EXPECT_EQ(b.ids->block(), (ProducerIdBlock{7, ProducerId(0), ProducerId(999)}));
    // Byte for byte what Kafka's ProducerIdBlockZNode writes.
    EXPECT_EQ(znode(*b.coord), R"({"version":1,"broker":7,"block_start":"0","block_end":"999"})");
  });
}

TEST(ProducerIdManager, UsedUpBlockClaimsTheNext) {
  with_coord(2, [](BrokerSimCluster& c) {
    BrokerIds b = make_ids(c, 0);
    for (int64_t want = 0; want < 1000; ++want) ASSERT_EQ(next_id(*b.ids), want);
    EXPECT_EQ(b.ids->block()->last, ProducerId(999));
    EXPECT_EQ(next_id(*b.ids), 1000);
    EXPECT_EQ(b.ids->block(), (ProducerIdBlock{0, ProducerId(1000), ProducerId(1999)}));
    auto data = await(b.coord->get_data(kPath));
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(data->data, R"({"version":1,"broker":0,"block_start":"1000","block_end":"1999"})");
    EXPECT_EQ(data->stat.version, 1);  // created, then one conditional write
  });
}

// Two brokers, each with its own session, taking ids in turn across several blocks: no id is
// handed out twice, each broker's ids increase, and the blocks go 0, 1000, 2000, ... in the
// order the brokers claimed them.
TEST(ProducerIdManager, TwoBrokersInterleavingNeverShareAnId) {
  with_coord(3, [](BrokerSimCluster& c) {
    BrokerIds a = make_ids(c, 1);
    BrokerIds b = make_ids(c, 2);
    std::set<int64_t> seen;
    int64_t last_a = -1;
    int64_t last_b = -1;
    for (int i = 0; i < 2500; ++i) {
      const int64_t ia = next_id(*a.ids);
      const int64_t ib = next_id(*b.ids);
      ASSERT_GT(ia, last_a);
      ASSERT_GT(ib, last_b);
      ASSERT_TRUE(seen.insert(ia).second) << ia << " handed out twice";
      ASSERT_TRUE(seen.insert(ib).second) << ib << " handed out twice";
      last_a = ia;
      last_b = ib;
    }
    EXPECT_EQ(seen.size(), 5000u);
    // a claimed 0, 2000, 4000; b claimed 1000, 3000, 5000.
    EXPECT_EQ(a.ids->block(), (ProducerIdBlock{1, ProducerId(4000), ProducerId(4999)}));
    EXPECT_EQ(b.ids->block(), (ProducerIdBlock{2, ProducerId(5000), ProducerId(5999)}));
    EXPECT_EQ(last_a, 4499);
    EXPECT_EQ(last_b, 5499);
  });
}

// Several request actors of one broker asking at once for the first id: one claim, and each
// gets its own id.
TEST(ProducerIdManager, ConcurrentCallersShareOneClaim) {
  with_coord(4, [](BrokerSimCluster& c) {
    BrokerIds b = make_ids(c, 0);
    std::vector<Future<ProducerId>> asks;
    for (int i = 0; i < 8; ++i) asks.push_back(spawn("ask", [&b] { return b.ids->next(); }));
    std::set<int64_t> got;
    for (auto& f : asks) {
      auto id = await(f);
      ASSERT_TRUE(id.ok()) << id.status();
      got.insert(id->value());
    }
    EXPECT_EQ(got, (std::set<int64_t>{0, 1, 2, 3, 4, 5, 6, 7}));
    auto data = await(b.coord->get_data(kPath));
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(data->stat.version, 0) << "a second claim would have rewritten the node";
  });
}

// A cluster that ran Kafka's brokers: its last block is continued. Kafka's brokers also create
// the node empty at start; that is "no block yet".
TEST(ProducerIdManager, ContinuesKafkasZnode) {
  with_coord(5, [](BrokerSimCluster& c) {
    BrokerIds b = make_ids(c, 4);
    ASSERT_TRUE(
        await(b.coord->create(kPath,
                              R"({"version":1,"broker":3,"block_start":"5000","block_end":"5999"})",
                              open_acl_unsafe()))
            .ok());
    EXPECT_EQ(next_id(*b.ids), 6000);
    EXPECT_EQ(znode(*b.coord),
              R"({"version":1,"broker":4,"block_start":"6000","block_end":"6999"})");
  });
  with_coord(6, [](BrokerSimCluster& c) {
    BrokerIds b = make_ids(c, 0);
    ASSERT_TRUE(await(b.coord->create(kPath, "", open_acl_unsafe())).ok());
    EXPECT_EQ(next_id(*b.ids), 0);
    EXPECT_EQ(znode(*b.coord), R"({"version":1,"broker":0,"block_start":"0","block_end":"999"})");
  });
}

// Data nobody can continue from is an error for the caller (InitProducerId answers it), never a
// crash and never a guess; the node is left as it was, and once fixed ids flow again.
TEST(ProducerIdManager, CorruptZnodeIsAnErrorNotACrash) {
  with_coord(7, [](BrokerSimCluster& c) {
    BrokerIds b = make_ids(c, 0);
    ASSERT_TRUE(await(b.coord->create(kPath, "{not json", open_acl_unsafe())).ok());
    for (const char* bad : {"{not json", "[]", R"({"version":1,"broker":0})",
                            R"({"version":1,"broker":0,"block_start":0,"block_end":999})",
                            R"({"version":1,"broker":0,"block_start":"0","block_end":"x"})",
                            R"({"version":1,"broker":0,"block_start":"9","block_end":"5"})",
                            R"({"version":1,"broker":0,"block_start":"-10","block_end":"-1"})",
                            R"({"version":1,"broker":"0","block_start":"0","block_end":"999"})"}) {
      ASSERT_TRUE(await(b.coord->set_data(kPath, bad)).ok());
      auto id = b.ids->next();
      ASSERT_FALSE(id.ok()) << bad;
      EXPECT_TRUE(absl::IsDataLoss(id.status())) << bad << ": " << id.status();
      EXPECT_EQ(znode(*b.coord), bad);
    }
    ASSERT_TRUE(await(b.coord->set_data(
                          kPath, R"({"version":1,"broker":0,"block_start":"0","block_end":"999"})"))
                    .ok());
    EXPECT_EQ(next_id(*b.ids), 1000);
  });
}

TEST(ProducerIdManager, IdsRunningOutIsAnError) {
  with_coord(8, [](BrokerSimCluster& c) {
    BrokerIds b = make_ids(c, 0);
    constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
    const std::string last_block =
        ProducerIdManager::block_json({0, ProducerId(kMax - 1999), ProducerId(kMax - 1000)});
    ASSERT_TRUE(await(b.coord->create(kPath, last_block, open_acl_unsafe())).ok());
    // The last whole block fits: it ends at INT64_MAX.
    EXPECT_EQ(next_id(*b.ids), kMax - 999);
    EXPECT_EQ(b.ids->block()->last, ProducerId(kMax));
    for (int i = 0; i < 999; ++i) ASSERT_TRUE(b.ids->next().ok());
    auto past = b.ids->next();
    ASSERT_FALSE(past.ok());
    EXPECT_TRUE(absl::IsResourceExhausted(past.status())) << past.status();
  });
}

// Coord out of reach: Unavailable (InitProducerId answers COORDINATOR_NOT_AVAILABLE and the
// client retries), and the next call after the partition heals claims as usual. (A tick of 1 s
// lets the session outlive the partition: coord caps sessions at 20 ticks, as ZooKeeper.)
TEST(ProducerIdManager, UnreachableCoordIsUnavailable) {
  with_coord(
      9,
      [](BrokerSimCluster& c) {
        BrokerIds b = make_ids(c, 0, {.session_timeout = 20s, .request_timeout = 1s});
        ASSERT_TRUE(await(b.coord->exists(kPath)).ok());  // connected
        const std::string me = c.client_machine->ip();
        const std::string coord = c.coord_machine->ip();
        c.sim.network().partition(me, coord);
        c.sim.network().partition(coord, me);
        auto id = b.ids->next();
        ASSERT_FALSE(id.ok());
        EXPECT_TRUE(absl::IsUnavailable(id.status())) << id.status();
        c.sim.network().heal(me, coord);
        c.sim.network().heal(coord, me);
        EXPECT_EQ(next_id(*b.ids), 0);
      },
      1s);
}

TEST(ProducerIdManager, BlockJsonRoundTripsAndBlocksFollowKafka) {
  const ProducerIdBlock block{12, ProducerId(3000), ProducerId(3999)};
  EXPECT_EQ(ProducerIdManager::block_json(block),
            R"({"version":1,"broker":12,"block_start":"3000","block_end":"3999"})");
  EXPECT_EQ(ProducerIdManager::parse_block_json(ProducerIdManager::block_json(block)).value(),
            block);
  // Key order and extra keys do not matter; a block of another size is continued from its end.
  auto odd = ProducerIdManager::parse_block_json(
      R"({"block_end":"41","extra":true,"block_start":"7","broker":-1,"version":1})");
  ASSERT_TRUE(odd.ok()) << odd.status();
  auto after = ProducerIdManager::block_after(*odd, 5);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, (ProducerIdBlock{5, ProducerId(42), ProducerId(1041)}));
  EXPECT_EQ(ProducerIdManager::block_after(std::nullopt, 5).value(),
            (ProducerIdBlock{5, ProducerId(0), ProducerId(999)}));
}

// InitProducerId on two simulated brokers: each answers from its own block, epoch 0, a new id
// even when the request names the id it had; transactional ids are refused.
TEST(InitProducerId, EachBrokerAnswersFromItsOwnBlock) {
  BrokerSimCluster c(10, {.brokers = 2});
  bool done = c.run([&] {
    ASSERT_TRUE(c.wait_ready());
    auto ask = [&](int broker, kafka::InitProducerIdRequest req, int16_t version) {
      auto conn =
          client::KafkaConnection::connect(*current_context().network, c.broker_address(broker));
      EXPECT_TRUE(conn.ok()) << conn.status();
      auto rsp = (*conn)->call<kafka::InitProducerIdResponse>(req, version);
      EXPECT_TRUE(rsp.ok()) << rsp.status();
      return rsp.ok() ? *rsp : kafka::InitProducerIdResponse{};
    };
    kafka::InitProducerIdRequest idempotent;
    idempotent.transactional_id = std::nullopt;
    const auto first = ask(0, idempotent, 4);
    const auto second = ask(1, idempotent, 1);
    EXPECT_EQ(first.error_code, 0);
    EXPECT_EQ(second.error_code, 0);
    EXPECT_EQ(first.producer_epoch, 0);
    // Whichever broker asked first has 0..999, the other 1000..1999.
    EXPECT_EQ(std::set<int64_t>({first.producer_id / 1000, second.producer_id / 1000}),
              (std::set<int64_t>{0, 1}));
    kafka::InitProducerIdRequest resume = idempotent;
    resume.producer_id = first.producer_id;
    resume.producer_epoch = 0;
    const auto again = ask(0, resume, 4);
    EXPECT_EQ(again.error_code, 0);
    EXPECT_EQ(again.producer_id, first.producer_id + 1);
    kafka::InitProducerIdRequest half = idempotent;
    half.producer_id = 5;                       // an id without an epoch
    EXPECT_EQ(ask(0, half, 3).error_code, 42);  // INVALID_REQUEST
    kafka::InitProducerIdRequest transactional;
    transactional.transactional_id = "txn";
    const auto refused = ask(1, transactional, 4);
    EXPECT_EQ(refused.error_code, 53);  // TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    EXPECT_EQ(refused.producer_id, -1);
  });
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace weir::broker::testing
