// A standalone CoordServer (ZooKeeper's standalone mode: one server, no peer ports) serves at
// once and keeps its sessions and data across kill -9 and restart.
#include <gtest/gtest.h>

#include "tests/coord/server_test_util.h"

namespace weir::coord::server::testing {
namespace {

// An Ensemble of one whose only server has no peer or election address, as parse_config
// builds it from a zoo.cfg without server.N lines.
void make_standalone(Ensemble& e) {
  zab::ServerSpec spec = e.config.ensemble.servers().front();
  spec.peer_address.clear();
  spec.election_address.clear();
  e.config.ensemble = zab::EnsembleConfig({spec});
}

TEST(CoordStandalone, ServesWithinASecond) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    Ensemble e(seed, 1);
    make_standalone(e);
    const TimePoint start = e.sim.now();
    bool done = e.run([&] {
      while (e.servers[0] == nullptr || !e.servers[0]->peer().serving()) delay(10ms);
      const Duration took = e.sim.now() - start;
      EXPECT_LT(took, 1s) << "seed " << seed;
      auto c = RawClient::connect(e.clients[0], 4000);
      ASSERT_TRUE(c.ok()) << c.status();
      EXPECT_GT((*c)->session.timeOut, 0);
      auto r = (*c)->create("/standalone", "x");
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->header.err, ErrorCode::kOk);
    });
    EXPECT_TRUE(done) << "seed " << seed;
  }
}

TEST(CoordStandalone, SessionsAndDataSurviveKillAndRestart) {
  Ensemble e(11, 1);
  make_standalone(e);
  bool done = e.run([&] {
    e.wait_ready();
    auto c = RawClient::connect(e.clients[0], 6000);
    ASSERT_TRUE(c.ok()) << c.status();
    const jute::ConnectResponse session = (*c)->session;
    ASSERT_EQ((*c)->create("/kept", "v")->header.err, ErrorCode::kOk);
    ASSERT_EQ((*c)->create("/mine", "e", jute::CreateMode::kEphemeral)->header.err, ErrorCode::kOk);
    const int64_t seen = (*c)->last_zxid;
    (*c)->close();
    e.sim.kill(e.procs[0]);
    delay(1s);
    e.sim.boot(e.procs[0]);
    e.wait_ready();
    auto again =
        RawClient::connect(e.clients[0], 6000, session.sessionId.value(), session.passwd, seen);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ((*again)->session.sessionId, session.sessionId);  // the same session lives on
    EXPECT_GT((*again)->session.timeOut, 0);
    jute::GetDataRequest get;
    get.path = "/mine";
    EXPECT_EQ((*again)->err(jute::OpCode::kGetData, get), ErrorCode::kOk);
    get.path = "/kept";
    EXPECT_EQ((*again)->err(jute::OpCode::kGetData, get), ErrorCode::kOk);
  });
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace weir::coord::server::testing
