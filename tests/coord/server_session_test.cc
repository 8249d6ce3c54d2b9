// Sessions, watches, bad input and four-letter words of CoordServer in simulation.
#include <gtest/gtest.h>

#include "tests/coord/server_test_util.h"

namespace weir::coord::server::testing {
namespace {

TEST(CoordServerWatches, FireOnceAndBeforeLaterReplies) {
  Ensemble e(11);
  bool done = e.run([&] {
    e.wait_ready();
    auto w = RawClient::connect(e.clients[1], 4000);
    auto m = RawClient::connect(e.clients[2], 4000);
    ASSERT_TRUE(w.ok() && m.ok());
    auto& watcher = **w;
    auto& mutator = **m;
    ASSERT_EQ(mutator.create("/w", "0")->header.err, ErrorCode::kOk);
    ASSERT_EQ(watcher.err(OpCode::kSync, jute::SyncRequest{"/w"}), ErrorCode::kOk);
    ASSERT_EQ(watcher.err(OpCode::kGetData, jute::GetDataRequest{"/w", true}), ErrorCode::kOk);
    ASSERT_EQ(watcher.err(OpCode::kGetChildren, jute::GetChildrenRequest{"/w", true}),
              ErrorCode::kOk);
    ASSERT_EQ(watcher.err(OpCode::kExists, jute::ExistsRequest{"/w/new", true}),
              ErrorCode::kNoNode);
    ASSERT_EQ(mutator.err(OpCode::kSetData, jute::SetDataRequest{"/w", "1", -1}), ErrorCode::kOk);
    ASSERT_EQ(mutator.err(OpCode::kSetData, jute::SetDataRequest{"/w", "2", -1}), ErrorCode::kOk);
    ASSERT_EQ(mutator.create("/w/new", "")->header.err, ErrorCode::kOk);
    // The watcher's next read, after a sync, must come after every event it caused.
    watcher.log.clear();
    ASSERT_EQ(watcher.err(OpCode::kSync, jute::SyncRequest{"/w"}), ErrorCode::kOk);
    auto g = watcher.call(OpCode::kGetData, jute::GetDataRequest{"/w", false});
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(std::get<jute::GetDataResponse>(g->body).data, "2");
    ASSERT_EQ(watcher.events.size(), 3u);  // one data change (not two), the creation, the child
    EXPECT_EQ(watcher.events[0].type, jute::EventType::kNodeDataChanged);
    EXPECT_EQ(watcher.events[0].path, "/w");
    EXPECT_EQ(watcher.events[1].type, jute::EventType::kNodeCreated);
    EXPECT_EQ(watcher.events[1].path, "/w/new");
    EXPECT_EQ(watcher.events[2].type, jute::EventType::kNodeChildrenChanged);
    EXPECT_EQ(watcher.events[2].path, "/w");
    ASSERT_GE(watcher.log.size(), 5u);
    EXPECT_TRUE(watcher.log[0].starts_with("event")) << watcher.log[0];
    EXPECT_EQ(watcher.log[1].substr(0, 5), "event");
    EXPECT_EQ(watcher.log[2].substr(0, 5), "event");
  });
  EXPECT_TRUE(done);
}

TEST(CoordServerWatches, OwnWriteFiresBeforeItsReply) {
  Ensemble e(12);
  bool done = e.run([&] {
    e.wait_ready();
    auto c = RawClient::connect(e.clients[0], 4000);
    ASSERT_TRUE(c.ok());
    auto& cl = **c;
    ASSERT_EQ(cl.create("/o", "0")->header.err, ErrorCode::kOk);
    ASSERT_EQ(cl.err(OpCode::kExists, jute::ExistsRequest{"/o", true}), ErrorCode::kOk);
    cl.log.clear();
    ASSERT_EQ(cl.err(OpCode::kDelete, jute::DeleteRequest{"/o", -1}), ErrorCode::kOk);
    ASSERT_EQ(cl.log.size(), 2u);
    EXPECT_EQ(cl.log[0], "event 2 /o");
  });
  EXPECT_TRUE(done);
}

TEST(CoordServerSessions, EphemeralsLiveWhilePingingAndVanishOnExpiry) {
  Ensemble e(21);
  bool done = e.run([&] {
    e.wait_ready();
    auto a = RawClient::connect(e.clients[1], 1000);  // a follower or the leader, either way
    auto b = RawClient::connect(e.clients[2], 1000);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ((*a)->create("/ea", "", jute::CreateMode::kEphemeral)->header.err, ErrorCode::kOk);
    ASSERT_EQ((*b)->create("/eb", "", jute::CreateMode::kEphemeral)->header.err, ErrorCode::kOk);
    // a keeps pinging for 5 s (5 timeouts); b goes silent.
    for (int i = 0; i < 15; ++i) {
      ASSERT_TRUE((*a)->ping().ok());
      delay(330ms);
    }
    auto check = RawClient::connect(e.clients[0], 4000);
    ASSERT_TRUE(check.ok());
    ASSERT_EQ((*check)->err(OpCode::kSync, jute::SyncRequest{"/"}), ErrorCode::kOk);
    EXPECT_EQ((*check)->err(OpCode::kExists, jute::ExistsRequest{"/ea", false}), ErrorCode::kOk);
    EXPECT_EQ((*check)->err(OpCode::kExists, jute::ExistsRequest{"/eb", false}),
              ErrorCode::kNoNode);
    // b's session is gone: reattaching gets a zero timeout.
    auto again = RawClient::connect(e.clients[2], 1000, (*b)->session.sessionId.value(),
                                    (*b)->session.passwd);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ((*again)->session.timeOut, 0);
    EXPECT_EQ((*again)->session.sessionId.value(), 0);
    // closeSession removes a's ephemeral at once.
    ASSERT_EQ((*a)->err(OpCode::kCloseSession, jute::EmptyBody{}), ErrorCode::kOk);
    ASSERT_EQ((*check)->err(OpCode::kSync, jute::SyncRequest{"/"}), ErrorCode::kOk);
    EXPECT_EQ((*check)->err(OpCode::kExists, jute::ExistsRequest{"/ea", false}),
              ErrorCode::kNoNode);
  });
  EXPECT_TRUE(done);
}

// A follower cut off from its peers (not from its client) misses the expiry of that client's
// session and then catches up by SNAP, which skips the CloseSession txn: restoring must still
// end the session here, closing the client's connection, as applying the txn would have.
TEST(CoordServerSessions, ASnapThatSkipsAnExpiryEndsTheSessionHere) {
  Ensemble e(24);
  e.config.zab.snapshot_every_txns = 2;  // the leader's history soon no longer reaches back
  bool done = e.run([&] {
    e.wait_ready();
    const int leader = e.leader_index();
    ASSERT_GE(leader, 0);
    const int f = (leader + 1) % 3;
    auto a = RawClient::connect(e.clients[f], 1000);
    auto b = RawClient::connect(e.clients[leader], 4000);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_EQ((*a)->create("/ea", "", jute::CreateMode::kEphemeral)->header.err, ErrorCode::kOk);
    for (int i = 0; i < 3; ++i) {
      if (i == f) continue;
      e.sim.network().partition(e.machines[f]->ip(), e.machines[i]->ip());
      e.sim.network().partition(e.machines[i]->ip(), e.machines[f]->ip());
    }
    for (int i = 0; i < 30; ++i) {  // a keeps pinging its follower, which cannot tell the leader
      ASSERT_TRUE((*a)->ping().ok());
      ASSERT_EQ((*b)->create("/n" + std::to_string(i), "")->header.err, ErrorCode::kOk);
      delay(100ms);
    }
    ASSERT_EQ((*b)->err(OpCode::kExists, jute::ExistsRequest{"/ea", false}), ErrorCode::kNoNode)
        << "the leader expired a's session";
    e.sim.network().heal_all();
    delay(3s);
    EXPECT_FALSE((*a)->ping().ok()) << "the follower kept serving a session that ended";
  });
  EXPECT_TRUE(done);
}

TEST(CoordServerSessions, ReconnectToAnotherServerKeepsTheSession) {
  Ensemble e(22);
  bool done = e.run([&] {
    e.wait_ready();
    auto a = RawClient::connect(e.clients[0], 2000);
    ASSERT_TRUE(a.ok());
    ASSERT_EQ((*a)->create("/mine", "", jute::CreateMode::kEphemeral)->header.err, ErrorCode::kOk);
    ASSERT_EQ((*a)->err(OpCode::kExists, jute::ExistsRequest{"/mine", true}), ErrorCode::kOk);
    const auto session = (*a)->session;
    const int64_t seen = (*a)->last_zxid;
    (*a)->close();
    delay(500ms);
    auto wrong =
        RawClient::connect(e.clients[1], 2000, session.sessionId.value(), std::string(16, 'x'));
    ASSERT_TRUE(wrong.ok());
    EXPECT_EQ((*wrong)->session.timeOut, 0);
    auto b =
        RawClient::connect(e.clients[2], 2000, session.sessionId.value(), session.passwd, seen);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ((*b)->session.sessionId, session.sessionId);
    EXPECT_GT((*b)->session.timeOut, 0);
    // setWatches: the node changed while we were away -> the event comes at once.
    auto other = RawClient::connect(e.clients[1], 2000);
    ASSERT_TRUE(other.ok()) << other.status();
    EXPECT_NE((*other)->session.timeOut, 0);
    ASSERT_EQ((*other)->err(OpCode::kSetData, jute::SetDataRequest{"/mine", "changed", -1}),
              ErrorCode::kOk);
    ASSERT_EQ((*b)->err(OpCode::kSync, jute::SyncRequest{"/"}), ErrorCode::kOk);
    jute::SetWatches sw;
    sw.relativeZxid = Zxid(seen);
    sw.dataWatches = {"/mine"};
    auto r = (*b)->call(OpCode::kSetWatches, sw, jute::kSetWatchesXid);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ((*b)->events.size(), 1u);
    EXPECT_EQ((*b)->events[0].type, jute::EventType::kNodeDataChanged);
    for (int i = 0; i < 12; ++i) {
      ASSERT_TRUE((*b)->ping().ok());
      delay(500ms);
    }
    // (other stopped pinging, so its session has expired; b's kept /mine alive.)
    auto check = RawClient::connect(e.clients[1], 2000);
    ASSERT_TRUE(check.ok());
    EXPECT_EQ((*check)->err(OpCode::kExists, jute::ExistsRequest{"/mine", false}), ErrorCode::kOk);
    EXPECT_FALSE((*other)->ping().ok());
  });
  EXPECT_TRUE(done);
}

// Without a quorum a server can neither create a session nor tell whether an unknown one
// lives. Like ZooKeeper it must then close the connection without a ConnectResponse, so the
// client tries another server: a zero timeout would tell the client its session expired (kazoo
// logged "Session has expired" for brand-new sessions while the ensemble was electing, and the
// C client took the zero timeout as a connected session that then timed out at once).
TEST(CoordServerSessions, NoQuorumClosesTheHandshakeInsteadOfExpiring) {
  Ensemble e(23);
  bool done = e.run([&] {
    e.wait_ready();
    e.sim.kill(e.procs[1]);
    e.sim.kill(e.procs[2]);
    delay(1s);
    auto fresh = RawClient::connect(e.clients[0], 4000);
    EXPECT_FALSE(fresh.ok()) << "a new session was answered with timeOut "
                             << (*fresh)->session.timeOut;
    // A session created elsewhere may exist, and only a quorum can tell.
    auto unknown =
        RawClient::connect(e.clients[0], 4000, (int64_t{2} << 56) | 1, std::string(16, 'p'));
    EXPECT_FALSE(unknown.ok()) << "an unknown session was answered with timeOut "
                               << (*unknown)->session.timeOut;
    e.sim.boot(e.procs[1]);
    e.sim.boot(e.procs[2]);
    e.wait_ready();
    auto later = RawClient::connect(e.clients[0], 4000);
    ASSERT_TRUE(later.ok()) << later.status();
    EXPECT_GT((*later)->session.timeOut, 0);
    // With a quorum an unknown session is known to be gone: that is an expiry.
    auto gone =
        RawClient::connect(e.clients[0], 4000, (int64_t{2} << 56) | 1, std::string(16, 'p'));
    ASSERT_TRUE(gone.ok()) << gone.status();
    EXPECT_EQ((*gone)->session.timeOut, 0);
  });
  EXPECT_TRUE(done);
}

TEST(CoordServerInput, MalformedFrameClosesOnlyThatConnection) {
  Ensemble e(31);
  bool done = e.run([&] {
    e.wait_ready();
    auto good = RawClient::connect(e.clients[0], 4000);
    auto bad = RawClient::connect(e.clients[0], 4000);
    ASSERT_TRUE(good.ok() && bad.ok());
    ASSERT_TRUE((*bad)->write(std::string("\x00\x00\x00\x05garbage", 11)).ok());
    EXPECT_FALSE((*bad)->next_frame().ok());
    auto huge = RawClient::connect(e.clients[0], 4000);
    ASSERT_TRUE((*huge)->write(std::string("\x7f\x00\x00\x00", 4)).ok());
    EXPECT_FALSE((*huge)->next_frame().ok());
    // An unknown op is answered, not dropped.
    std::string unknown;
    jute::append_frame(unknown, jute::RequestHeader{99, static_cast<OpCode>(77)});
    ASSERT_TRUE((*good)->write(unknown).ok());
    auto frame = (*good)->next_frame();
    ASSERT_TRUE(frame.ok());
    auto header = jute::decode_prefix<jute::ReplyHeader>(*frame);
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(header->xid, 99);
    EXPECT_EQ(header->err, ErrorCode::kUnimplemented);
    EXPECT_EQ((*good)->create("/still", "ok")->header.err, ErrorCode::kOk);
  });
  EXPECT_TRUE(done);
}

// ZooKeeper serves (and its srvr names a mode) only once ZAB has synced the server: a leader
// when a quorum acknowledged its epoch, a follower when its leader sent UpToDate. Polled from
// boot, every server goes through a role it does not serve in yet, and never names a mode then.
TEST(CoordServerFourLetterWords, NoModeUntilSynced) {
  constexpr char kNotServing[] = "This ZooKeeper instance is not currently serving requests\n";
  Ensemble e(43);
  int role_not_serving = 0;
  bool done = e.run([&] {
    for (int polls = 0; polls < 20000; ++polls, delay(1ms)) {
      int serving = 0;
      for (CoordServer* s : e.servers) {
        if (s == nullptr) continue;
        const std::string srvr = s->four_letter("srvr");
        const bool mode = srvr.find("Mode: ") != std::string::npos;
        EXPECT_TRUE(mode || srvr == kNotServing) << srvr;
        EXPECT_EQ(mode, s->peer().serving()) << srvr;
        if (!mode && s->peer().state() != zab::PeerState::kLooking) ++role_not_serving;
        serving += mode;
      }
      if (serving == static_cast<int>(e.servers.size())) break;
    }
    e.wait_ready();
    // A server left without a quorum stops serving; so does every word but ruok and isro.
    const int lone = (e.leader_index() + 1) % 3;
    for (int i = 0; i < 3; ++i) {
      if (i != lone) e.sim.kill(e.procs[i]);
    }
    delay(3s);
    for (const char* word : {"srvr", "stat", "mntr", "cons"}) {
      EXPECT_EQ(four_letter_word(e.clients[lone], word), kNotServing) << word;
    }
    EXPECT_EQ(four_letter_word(e.clients[lone], "ruok"), "imok");
  });
  EXPECT_TRUE(done);
  EXPECT_GT(role_not_serving, 0) << "never saw a server between election and sync";
}

}  // namespace
}  // namespace weir::coord::server::testing
