// Four-letter words with real figures, in ZooKeeper 3.8's formats, and the whitelist.
#include <gtest/gtest.h>

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "tests/coord/server_test_util.h"

namespace weir::coord::server::testing {
namespace {

// mntr's "key\tvalue" lines.
std::map<std::string, std::string> mntr_map(const std::string& text) {
  std::map<std::string, std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<std::string> kv = absl::StrSplit(line, absl::MaxSplits('\t', 1));
    if (kv.size() == 2) out[kv[0]] = kv[1];
  }
  return out;
}

int64_t num(const std::map<std::string, std::string>& m, const std::string& key) {
  auto it = m.find(key);
  int64_t v = -1;
  if (it == m.end() || !absl::SimpleAtoi(it->second, &v)) return -1;
  return v;
}

TEST(CoordFourLetterWords, MntrReportsTheServersRealState) {
  Ensemble e(41);
  bool done = e.run([&] {
    e.wait_ready();
    const std::string leader = e.clients[e.leader_index()];
    auto before = mntr_map(four_letter_word(leader, "mntr"));
    auto c = RawClient::connect(leader, 4000);
    ASSERT_TRUE(c.ok());
    ASSERT_EQ((*c)->create("/a", std::string(100, 'x'))->header.err, ErrorCode::kOk);
    ASSERT_EQ((*c)->create("/e1", "", jute::CreateMode::kEphemeral)->header.err, ErrorCode::kOk);
    ASSERT_EQ((*c)->create("/e2", "", jute::CreateMode::kEphemeral)->header.err, ErrorCode::kOk);
    jute::GetDataRequest get;
    get.path = "/a";
    get.watch = true;
    ASSERT_EQ((*c)->err(jute::OpCode::kGetData, get), ErrorCode::kOk);
    auto after = mntr_map(four_letter_word(leader, "mntr"));
    EXPECT_EQ(after["zk_server_state"], "leader");
    EXPECT_EQ(num(after, "zk_znode_count"), num(before, "zk_znode_count") + 3);
    EXPECT_EQ(num(after, "zk_ephemerals_count"), 2);
    EXPECT_EQ(num(after, "zk_watch_count"), 1);
    EXPECT_GE(num(after, "zk_approximate_data_size"),
              num(before, "zk_approximate_data_size") + 100 + 2 + 3 + 3);
    EXPECT_EQ(num(after, "zk_num_alive_connections"), 1);
    EXPECT_GE(num(after, "zk_packets_received"), num(before, "zk_packets_received") + 5);
    EXPECT_GT(num(after, "zk_max_latency"), 0);  // writes wait for a quorum over the network
    EXPECT_EQ(num(after, "zk_followers"), 2);
    EXPECT_EQ(num(after, "zk_synced_followers"), 2);
    EXPECT_EQ(num(after, "zk_pending_syncs"), 0);
    EXPECT_EQ(num(after, "zk_quorum_size"), 3);
    EXPECT_FALSE(after.contains("zk_open_file_descriptor_count"));  // no /proc in simulation
    const std::string follower = e.clients[(e.leader_index() + 1) % 3];
    auto f = mntr_map(four_letter_word(follower, "mntr"));
    EXPECT_EQ(f["zk_server_state"], "follower");
    EXPECT_FALSE(f.contains("zk_followers"));  // leader only, as in ZooKeeper
  });
  EXPECT_TRUE(done);
}

TEST(CoordFourLetterWords, SrvrConsAndWatchWords) {
  Ensemble e(42);
  bool done = e.run([&] {
    e.wait_ready();
    const std::string addr = e.clients[0];
    auto c = RawClient::connect(addr, 4000);
    ASSERT_TRUE(c.ok());
    ASSERT_EQ((*c)->create("/w", "d")->header.err, ErrorCode::kOk);
    jute::ExistsRequest ex;
    ex.path = "/w";
    ex.watch = true;
    ASSERT_EQ((*c)->err(jute::OpCode::kExists, ex), ErrorCode::kOk);
    const std::string sid =
        absl::StrFormat("0x%x", static_cast<uint64_t>((*c)->session.sessionId.value()));

    const std::string srvr = four_letter_word(addr, "srvr");
    EXPECT_NE(srvr.find("Latency min/avg/max: "), std::string::npos) << srvr;
    EXPECT_EQ(srvr.find("Latency min/avg/max: 0/0.0000/0"), std::string::npos) << srvr;
    EXPECT_NE(srvr.find("Connections: 1\n"), std::string::npos) << srvr;
    const std::string stat = four_letter_word(addr, "stat");
    EXPECT_NE(stat.find("Clients:\n /"), std::string::npos) << stat;
    const std::string cons = four_letter_word(addr, "cons");
    EXPECT_NE(cons.find("sid=" + sid), std::string::npos) << cons;
    EXPECT_NE(cons.find("lop=EXIS"), std::string::npos) << cons;
    EXPECT_NE(cons.find("recved=3"), std::string::npos) << cons;  // connect, create, exists

    EXPECT_EQ(four_letter_word(addr, "wchs"), "1 connections watching 1 paths\nTotal watches:1\n");
    EXPECT_EQ(four_letter_word(addr, "wchc"), sid + "\n\t/w\n");
    EXPECT_EQ(four_letter_word(addr, "wchp"), "/w\n\t" + sid + "\n");
    const std::string conf = four_letter_word(addr, "conf");
    EXPECT_NE(conf.find("clientPort=2181\n"), std::string::npos) << conf;
    EXPECT_NE(conf.find("tickTime=100\n"), std::string::npos) << conf;
    EXPECT_NE(conf.find("server.1="), std::string::npos) << conf;
    EXPECT_EQ(four_letter_word(addr, "isro"), "rw");
  });
  EXPECT_TRUE(done);
}

TEST(CoordFourLetterWords, DumpListsSessionsAndEphemerals) {
  Ensemble e(43);
  bool done = e.run([&] {
    e.wait_ready();
    auto c = RawClient::connect(e.clients[0], 4000);
    ASSERT_TRUE(c.ok());
    ASSERT_EQ((*c)->create("/eph", "", jute::CreateMode::kEphemeral)->header.err, ErrorCode::kOk);
    const std::string sid =
        absl::StrFormat("0x%x", static_cast<uint64_t>((*c)->session.sessionId.value()));
    const std::string dump = four_letter_word(e.clients[0], "dump");
    EXPECT_NE(dump.find("Global Sessions(1):\n" + sid), std::string::npos) << dump;
    EXPECT_NE(dump.find("Sessions with Ephemerals (1):\n" + sid + ":\n\t/eph\n"), std::string::npos)
        << dump;
  });
  EXPECT_TRUE(done);
}

// ZooKeeper's default whitelist is srvr alone; other words are refused in its words, and four
// bytes that are no word are the length of a frame (here an impossible one: the connection
// closes).
TEST(CoordFourLetterWords, WhitelistAndUnknownWords) {
  Ensemble e(44);
  e.config.four_letter_words = {"srvr", "ruok"};
  bool done = e.run([&] {
    e.wait_ready();
    EXPECT_EQ(four_letter_word(e.clients[0], "ruok"), "imok");
    EXPECT_NE(four_letter_word(e.clients[0], "srvr").find("Mode: "), std::string::npos);
    EXPECT_EQ(four_letter_word(e.clients[0], "mntr"),
              "mntr is not executed because it is not in the whitelist.\n");
    EXPECT_EQ(four_letter_word(e.clients[0], "abcd"), "");
    auto c = RawClient::connect(e.clients[0], 4000);  // the listener still serves
    EXPECT_TRUE(c.ok());
  });
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace weir::coord::server::testing
