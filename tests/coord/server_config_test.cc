// zoo.cfg as ZooKeeper 3.8 reads it: the server.N grammar, clientPort/clientPortAddress,
// standalone mode, and configs refused with the line that is wrong.
#include <gtest/gtest.h>

#include "coord/server/config.h"

namespace weir::coord::server {
namespace {

TEST(CoordServerConfig, ReadsZooKeepersServerLines) {
  auto c = parse_config(
      "tickTime=500\ninitLimit=7\nsyncLimit=3\ndataDir=/d\nclientPort=2181\n"
      "server.1=10.0.0.1:2888:3888\nserver.2=10.0.0.2:2888:3888;2182\n"
      "server.3=10.0.0.3:2888:3888:observer;127.0.0.3:2183\n"
      "server.4=10.0.0.4:2888:3888:participant\n",
      2);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->my_id, 2);
  EXPECT_EQ(c->ensemble.voter_count(), 3u);
  const zab::ServerSpec* s1 = c->ensemble.find(1);
  ASSERT_NE(s1, nullptr);
  EXPECT_EQ(s1->peer_address, "10.0.0.1:2888");
  EXPECT_EQ(s1->election_address, "10.0.0.1:3888");
  EXPECT_EQ(s1->client_address, "0.0.0.0:2181");  // clientPort on every interface, as ZooKeeper
  EXPECT_EQ(c->me().client_address, "0.0.0.0:2182");
  EXPECT_EQ(c->ensemble.find(3)->client_address, "127.0.0.3:2183");
  EXPECT_TRUE(c->ensemble.find(3)->observer);
  EXPECT_FALSE(c->ensemble.find(4)->observer);
  EXPECT_EQ(c->session_address(1), "10.0.0.1:3888");  // a port the config names
  EXPECT_EQ(c->min_timeout_ms(), 1000);
  EXPECT_EQ(c->max_timeout_ms(), 10000);
  EXPECT_EQ(c->zab.snapshot_every_txns, 100000);  // ZooKeeper's snapCount default
  EXPECT_EQ(c->frame_bytes_max, 0xfffffu);        // and jute.maxbuffer's
}

TEST(CoordServerConfig, ClientPortAddressAndNumericKeys) {
  auto c = parse_config(
      "clientPortAddress=127.0.0.1\nclientPort=2191\nsnapCount=5000\njute.maxbuffer=4096\n"
      "server.1=127.0.0.1:2888:3888\n",
      1);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->me().client_address, "127.0.0.1:2191");
  EXPECT_EQ(c->zab.snapshot_every_txns, 5000);
  EXPECT_EQ(c->frame_bytes_max, 4096u);
}

TEST(CoordServerConfig, WithoutServerLinesRunsStandalone) {
  auto c =
      parse_config("tickTime=2000\ndataDir=/var/lib/zookeeper\nclientPort=2181\n", std::nullopt);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->my_id, 1);  // no myid needed
  ASSERT_EQ(c->ensemble.servers().size(), 1u);
  EXPECT_EQ(c->me().client_address, "0.0.0.0:2181");
  EXPECT_TRUE(c->me().peer_address.empty());
  EXPECT_TRUE(c->session_address(1).empty());
  EXPECT_EQ(c->ensemble.voter_count(), 1u);
  auto no_port = parse_config("tickTime=2000\ndataDir=/d\n", std::nullopt);
  ASSERT_FALSE(no_port.ok());
  EXPECT_NE(no_port.status().message().find("clientPort is required"), std::string::npos);
}

// Each bad config is refused, and the message names the line at fault.
TEST(CoordServerConfig, RefusesInvalidOrAmbiguousConfigsNamingTheLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"clientPort=2181\nserver.1=a:2888\n", "server.1=a:2888"},
      {"clientPort=2181\nserver.1=a:2888:3888:leader\n", "unknown role 'leader'"},
      {"clientPort=2181\nserver.1=a:2888:x\n", "not a port: 'x'"},
      {"clientPort=2181\nserver.1=a:2888:70000\n", "not a port: '70000'"},
      {"clientPort=2181\nserver.1=a:2888:2888\n", "quorum and election ports are the same"},
      {"server.1=a:2888:3888\n", "no client port"},
      {"clientPort=2181\nserver.1=a:2888:3888;x:y\n", "not a port: 'y'"},
      {"clientPort=2181\nserver.1=a:1:2\nserver.1=b:1:2\n",
       "server id given twice: server.1=b:1:2"},
      {"server.1=a:1:2;5\nserver.2=a:2:3;6\n",
       "address a:2 is also used by server.1: server.2=a:2:3;6"},
      {"server.1=127.0.0.1:1:2;3\nserver.2=127.0.0.1:4:5;3\n",
       "127.0.0.1:3 is also used by server.1"},
      {"clientPort=2181\nserver.1=h:1:2\nserver.2=h:3:4\n", "h:2181 is also used by server.1"},
      {"clientPort=2181\nserver.0=a:1:2\n", "server id must be in 1..255: server.0=a:1:2"},
      {"tickTime=x\nclientPort=2181\n", "not a number: tickTime=x"},
      {"tickTime=0\nclientPort=2181\n", "tickTime must be > 0"},
      {"clientPort=-5\n", "out of range: clientPort=-5"},
      {"nonsense\n", "expected key=value: nonsense"},
  };
  for (const Case& c : cases) {
    auto got = parse_config(c.text, 1);
    ASSERT_FALSE(got.ok()) << c.text;
    EXPECT_NE(got.status().message().find(c.message), std::string::npos)
        << c.text << " -> " << got.status().message();
  }
  EXPECT_FALSE(parse_config("clientPort=2181\nserver.1=a:1:2\n", 2).ok());  // myid not listed
  // Servers on their own hosts may share ports: the usual ZooKeeper ensemble.
  auto usual = parse_config(
      "clientPort=2181\nserver.1=zk1:2888:3888\nserver.2=zk2:2888:3888\n"
      "server.3=zk3:2888:3888;2181\n",
      1);
  EXPECT_TRUE(usual.ok()) << usual.status();
}

TEST(CoordServerConfig, IgnoresKeysItDoesNotKnow) {
  auto c = parse_config(
      "admin.enableServer=false\n4lw.commands.whitelist=*\nautopurge.snapRetainCount=3\n"
      "standaloneEnabled=true\nclientPort=2181\n",
      std::nullopt);
  ASSERT_TRUE(c.ok()) << c.status();
}

}  // namespace
}  // namespace weir::coord::server
