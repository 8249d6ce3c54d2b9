// The leader's reaper in a simulated ensemble: containers go once their last child is gone,
// TTL nodes once they went unwritten for their TTL (and have no children), nothing else ever,
// and a new leader takes the reaping over.
#include <gtest/gtest.h>

#include <string>

#include "coord/client/client.h"
#include "tests/coord/server_test_util.h"

namespace weir::coord::server::testing {
namespace {

namespace cc = coord::client;

bool exists(cc::CoordClient& client, const std::string& path) {
  (void)await(client.sync(path));
  auto got = await(client.exists(path));
  EXPECT_TRUE(got.ok()) << got.status();
  return got.ok() && got->has_value();
}

class CoordReaper : public ::testing::Test {
 protected:
  static void configure(Ensemble& e) {
    e.config.container_check_interval = 500ms;
    e.config.container_max_per_minute = 600;  // 100 ms apart
  }
};

TEST_F(CoordReaper, DeletesEmptiedContainersOnly) {
  Ensemble e(71);
  configure(e);
  bool done = e.run([&] {
    e.wait_ready();
    auto client = cc::CoordClient::create(e.connect_string(), {.session_timeout = 10s});
    ASSERT_TRUE(client.ok());
    cc::CoordClient& c = **client;
    const auto acl = cc::open_acl_unsafe();
    ASSERT_TRUE(await(c.create("/used", "", acl, cc::CreateMode::kContainer)).ok());
    ASSERT_TRUE(await(c.create("/unused", "", acl, cc::CreateMode::kContainer)).ok());
    ASSERT_TRUE(await(c.create("/full", "", acl, cc::CreateMode::kContainer)).ok());
    ASSERT_TRUE(await(c.create("/plain", "", acl)).ok());
    ASSERT_TRUE(await(c.create("/used/a", "", acl)).ok());
    ASSERT_TRUE(await(c.create("/full/a", "", acl)).ok());
    auto stat = await(c.exists("/used"));
    ASSERT_TRUE(stat.ok() && stat->has_value());
    EXPECT_EQ((*stat)->ephemeralOwner, SessionId(static_cast<int64_t>(0x8000000000000000ULL)));
    delay(2s);
    EXPECT_TRUE(exists(c, "/used")) << "a container with a child stays";
    ASSERT_TRUE(await(c.remove("/used/a")).ok());
    delay(2s);
    EXPECT_FALSE(exists(c, "/used")) << "an emptied container goes";
    EXPECT_TRUE(exists(c, "/unused")) << "a container that never had a child stays";
    EXPECT_TRUE(exists(c, "/full"));
    EXPECT_TRUE(exists(c, "/plain"));
    (void)await(c.close());
  });
  EXPECT_TRUE(done);
  int reaped = 0;
  for (CoordServer* s : e.servers)
    reaped += s != nullptr ? static_cast<int>(s->stats().nodes_reaped) : 0;
  EXPECT_EQ(reaped, 1);
}

TEST_F(CoordReaper, DeletesTtlNodesUnwrittenForTheirTtl) {
  Ensemble e(72);
  configure(e);
  bool done = e.run([&] {
    e.wait_ready();
    auto client = cc::CoordClient::create(e.connect_string(), {.session_timeout = 10s});
    ASSERT_TRUE(client.ok());
    cc::CoordClient& c = **client;
    const auto acl = cc::open_acl_unsafe();
    auto made = await(c.create_ttl("/t", "x", acl, cc::CreateMode::kPersistentWithTtl, 3000));
    ASSERT_TRUE(made.ok()) << made.status();
    auto seq =
        await(c.create_ttl("/s-", "", acl, cc::CreateMode::kPersistentSequentialWithTtl, 3000));
    ASSERT_TRUE(seq.ok()) << seq.status();
    EXPECT_EQ(seq->path, "/s-0000000001");
    ASSERT_TRUE(
        await(c.create_ttl("/parent", "", acl, cc::CreateMode::kPersistentWithTtl, 1000)).ok());
    ASSERT_TRUE(await(c.create("/parent/kid", "", acl)).ok());
    EXPECT_EQ(
        await(c.create_ttl("/bad", "", acl, cc::CreateMode::kPersistent, 1000)).status().code(),
        absl::StatusCode::kInvalidArgument)
        << "a TTL needs a TTL mode (ZooKeeper: BadArguments)";
    delay(2s);
    ASSERT_TRUE(await(c.set_data("/t", "y")).ok());  // the TTL counts from the last write
    delay(2s);
    EXPECT_TRUE(exists(c, "/t")) << "written 2 s ago, TTL 3 s";
    EXPECT_FALSE(exists(c, "/s-0000000001")) << "unwritten for 4 s, TTL 3 s";
    EXPECT_TRUE(exists(c, "/parent")) << "a TTL node with a child stays";
    delay(3s);
    EXPECT_FALSE(exists(c, "/t"));
    ASSERT_TRUE(await(c.remove("/parent/kid")).ok());
    delay(2s);
    EXPECT_FALSE(exists(c, "/parent")) << "childless and past its TTL";
    (void)await(c.close());
  });
  EXPECT_TRUE(done);
}

TEST_F(CoordReaper, ANewLeaderReaps) {
  Ensemble e(73);
  configure(e);
  bool done = e.run([&] {
    e.wait_ready();
    const int old_leader = e.leader_index();
    ASSERT_GE(old_leader, 0);
    auto client = cc::CoordClient::create(e.connect_string(),
                                          {.session_timeout = 10s, .request_timeout = 2s});
    ASSERT_TRUE(client.ok());
    cc::CoordClient& c = **client;
    const auto acl = cc::open_acl_unsafe();
    ASSERT_TRUE(await(c.create("/c", "", acl, cc::CreateMode::kContainer)).ok());
    ASSERT_TRUE(await(c.create("/c/a", "", acl)).ok());
    e.sim.kill(e.procs[old_leader]);
    while (!await(c.remove("/c/a")).ok()) delay(50ms);
    delay(3s);
    EXPECT_FALSE(exists(c, "/c"));
    const int new_leader = e.leader_index();
    ASSERT_GE(new_leader, 0);
    EXPECT_NE(new_leader, old_leader);
    EXPECT_EQ(e.servers[new_leader]->stats().nodes_reaped, 1u);
    (void)await(c.close());
  });
  EXPECT_TRUE(done);
}

TEST(CoordServerConfig, ParsesContainerKeys) {
  auto c = parse_config(
      "znode.container.checkIntervalMs=250\nznode.container.maxPerMinute=120\n"
      "znode.container.maxNeverUsedIntervalMs=9000\nserver.1=a:1:2;3\n",
      1);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->container_check_interval, Duration(250ms));
  EXPECT_EQ(c->container_max_per_minute, 120);
  EXPECT_EQ(c->container_max_never_used_ms, 9000);
  auto defaults = parse_config("server.1=a:1:2;3\n", 1);
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->container_check_interval, Duration(60s));  // ZooKeeper's defaults
  EXPECT_EQ(defaults->container_max_per_minute, 10000);
  EXPECT_FALSE(parse_config("znode.container.checkIntervalMs=x\nserver.1=a:1:2;3\n", 1).ok());
}

}  // namespace
}  // namespace weir::coord::server::testing
