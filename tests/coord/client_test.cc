// CoordClient against a scripted fake ensemble on the simulated network: the handshake, xid
// matching, error mapping, pings, watches, failover with the same session, SetWatches, expiry,
// and hostile server frames.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "coord/client/client.h"
#include "tests/coord/client_fake_server.h"

namespace weir::coord::client {
namespace {

using jute::OpCode;
using testing::answer;
using testing::FakeConn;
using testing::FakeEnsemble;
using testing::FakeZk;
using testing::notification;
using testing::reply_frame;

std::unique_ptr<CoordClient> connect(FakeEnsemble& e, CoordClientOptions options = {},
                                     const std::string& chroot = "") {
  auto client = CoordClient::create(e.connect_string(chroot), options);
  EXPECT_TRUE(client.ok()) << client.status();
  EXPECT_TRUE(await((*client)->await_state(SessionState::kConnected, 10s)).ok());
  return std::move(*client);
}

CoordClientOptions short_timeouts() {
  CoordClientOptions o;
  o.session_timeout = 3s;
  o.connect_timeout = 1s;
  o.request_timeout = 10s;
  return o;
}

TEST(CoordClientConnectString, Parses) {
  auto cs = parse_connect_string("a:1,b:2/app/x");
  ASSERT_TRUE(cs.ok()) << cs.status();
  EXPECT_EQ(cs->servers, (std::vector<std::string>{"a:1", "b:2"}));
  EXPECT_EQ(cs->chroot, "/app/x");
  EXPECT_EQ(parse_connect_string("a:1/")->chroot, "");
  EXPECT_FALSE(parse_connect_string("").ok());
  EXPECT_FALSE(parse_connect_string("a").ok());
  EXPECT_FALSE(parse_connect_string("a:0").ok());
  EXPECT_FALSE(parse_connect_string("a:99999").ok());
  EXPECT_FALSE(parse_connect_string("a:1/x/").ok());
}

TEST(CoordClientErrors, MapZooKeeperCodes) {
  absl::Status s = zk_status(ErrorCode::kNoNode, "getData /a");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(zk_error(s), ErrorCode::kNoNode);
  EXPECT_NE(s.message().find("NoNode"), absl::string_view::npos) << s;
  EXPECT_EQ(zk_status(ErrorCode::kNodeExists, "").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(zk_status(ErrorCode::kBadVersion, "").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(zk_status(ErrorCode::kNoAuth, "").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(zk_status(ErrorCode::kConnectionLoss, "").code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(zk_status(ErrorCode::kSessionExpired, "").code(), absl::StatusCode::kAborted);
  EXPECT_TRUE(zk_status(ErrorCode::kOk, "").ok());
  EXPECT_EQ(zk_error(absl::OkStatus()), ErrorCode::kOk);
  EXPECT_EQ(zk_error(absl::DeadlineExceededError("x")), ErrorCode::kSystemError);
}

TEST(CoordClientSim, HandshakeAndEveryRequestWithChroot) {
  FakeEnsemble e(1);
  ASSERT_TRUE(e.run([&](ProcessContext&) {
    auto c = connect(e, short_timeouts(), "/app");
    EXPECT_EQ(c->session_id(), e.zk->session);
    EXPECT_EQ(c->negotiated_timeout(), 3s);
    EXPECT_EQ(e.zk->connects.at(0).timeOut, 3000);
    EXPECT_EQ(e.zk->connects.at(0).sessionId, SessionId(0));
    auto created = await(c->create("/n", "v", open_acl_unsafe(), CreateMode::kEphemeral));
    ASSERT_TRUE(created.ok()) << created.status();
    EXPECT_EQ(*created, "/n");  // the server saw /app/n
    auto c2 = await(c->create2("/m", "v", open_acl_unsafe()));
    ASSERT_TRUE(c2.ok()) << c2.status();
    EXPECT_EQ(c2->path, "/m");
    auto data = await(c->get_data("/n"));
    ASSERT_TRUE(data.ok()) << data.status();
    EXPECT_EQ(data->data, "value");
    EXPECT_TRUE(await(c->set_data("/n", "w", 1)).ok());
    auto st = await(c->exists("/n"));
    ASSERT_TRUE(st.ok() && st->has_value());
    EXPECT_EQ(*await(c->get_children("/")), (std::vector<std::string>{"x", "y"}));
    EXPECT_EQ(await(c->get_children2("/"))->children, (std::vector<std::string>{"x"}));
    EXPECT_EQ(await(c->get_acl("/n"))->acl, open_acl_unsafe());
    EXPECT_TRUE(await(c->set_acl("/n", open_acl_unsafe(), 0)).ok());
    EXPECT_TRUE(await(c->sync("/")).ok());
    EXPECT_TRUE(await(c->remove("/n", 3)).ok());
    auto multi = await(c->multi({op_create("/p", "", open_acl_unsafe()), op_check("/p", 0),
                                 op_set_data("/p", "d"), op_remove("/p")}));
    ASSERT_TRUE(multi.ok()) << multi.status();
    ASSERT_EQ(multi->size(), 4u);
    EXPECT_EQ((*multi)[0].path, "/p");
    EXPECT_TRUE(await(c->add_auth("digest", "u:p")).ok());
    EXPECT_GT(c->last_zxid_seen(), Zxid(100));
    EXPECT_TRUE(await(c->close()).ok());
    EXPECT_EQ(c->state(), SessionState::kClosed);
    EXPECT_EQ(zk_error(await(c->get_data("/n")).status()), ErrorCode::kSystemError);
  }));
  const auto& reqs = e.zk->requests;
  ASSERT_EQ(reqs.size(), 14u);
  EXPECT_EQ(testing::path_of(reqs[0].body), "/app/n");
  EXPECT_EQ(testing::path_of(reqs[9].body), "/app");  // sync "/" under the chroot
  int32_t last_xid = 0;
  for (const auto& r : reqs) {
    if (r.header.xid < 0) continue;  // auth
    EXPECT_GT(r.header.xid, last_xid);
    last_xid = r.header.xid;
  }
  EXPECT_EQ(reqs.back().header.type, OpCode::kCloseSession);
  const auto& m = std::get<jute::MultiRequest>(reqs[11].body);
  EXPECT_EQ(testing::path_of_op(m.ops.at(3)), "/app/p");
}

TEST(CoordClientSim, ServerErrorsMapToTypedStatus) {
  FakeEnsemble e(2);
  e.zk->handler = [](FakeZk& zk, FakeConn& conn, const jute::Request& req) {
    const std::string path = testing::path_of(req.body);
    if (path == "/missing")
      answer(zk, conn, req, ErrorCode::kNoNode);
    else if (path == "/dup")
      answer(zk, conn, req, ErrorCode::kNodeExists);
    else if (path == "/old")
      answer(zk, conn, req, ErrorCode::kBadVersion);
    else
      return false;
    return true;
  };
  ASSERT_TRUE(e.run([&](ProcessContext&) {
    auto c = connect(e, short_timeouts());
    auto data = await(c->get_data("/missing"));
    EXPECT_EQ(data.status().code(), absl::StatusCode::kNotFound);
    EXPECT_EQ(zk_error(data.status()), ErrorCode::kNoNode);
    EXPECT_NE(data.status().message().find("NoNode"), absl::string_view::npos);
    EXPECT_NE(data.status().message().find("/missing"), absl::string_view::npos);
    EXPECT_EQ(zk_error(await(c->create("/dup", "", open_acl_unsafe())).status()),
              ErrorCode::kNodeExists);
    EXPECT_EQ(zk_error(await(c->set_data("/old", "", 7)).status()), ErrorCode::kBadVersion);
    auto missing = await(c->exists("/missing"));  // NoNode is an answer for exists
    ASSERT_TRUE(missing.ok()) << missing.status();
    EXPECT_FALSE(missing->has_value());
    EXPECT_EQ(c->state(), SessionState::kConnected);  // errors keep the connection
    EXPECT_EQ(c->stats().connects, 1u);
  }));
}

TEST(CoordClientSim, PingsKeepAnIdleSessionAlive) {
  FakeEnsemble e(3);
  ASSERT_TRUE(e.run([&](ProcessContext&) {
    auto c = connect(e, short_timeouts());
    delay(30s);
    EXPECT_EQ(c->state(), SessionState::kConnected);
    EXPECT_EQ(c->stats().connects, 1u);
    // One ping per timeout/3 = 1 s of idleness.
    EXPECT_GE(e.zk->pings, 25);
    EXPECT_LE(e.zk->pings, 31);
  }));
}

TEST(CoordClientSim, WatchEventsAreOneShotAndInOrder) {
  FakeEnsemble e(4);
  e.zk->handler = [](FakeZk& zk, FakeConn& conn, const jute::Request& req) {
    if (testing::path_of(req.body) != "/b" || req.header.type != OpCode::kExists) return false;
    answer(zk, conn, req, ErrorCode::kNoNode);
    return true;
  };
  ASSERT_TRUE(e.run([&](ProcessContext&) {
    auto c = connect(e, short_timeouts());
    std::vector<std::string> seen;
    auto record = [&seen](std::string tag) {
      return [&seen, tag](const WatchEvent& ev) {
        seen.push_back(tag + ":" + std::string(jute::event_type_name(ev.type)) + ":" + ev.path);
      };
    };
    ASSERT_TRUE(await(c->get_data("/a", record("data"))).ok());
    ASSERT_TRUE(await(c->exists("/b", record("exists"))).ok());
    ASSERT_TRUE(await(c->get_children("/c", record("child"))).ok());
    ASSERT_TRUE(await(c->exists("/a", record("exists-a"))).ok());
    std::string burst = notification(EventType::kNodeChildrenChanged, "/c") +
                        notification(EventType::kNodeDataChanged, "/a") +
                        notification(EventType::kNodeCreated, "/b") +
                        notification(EventType::kNodeDataChanged, "/a");  // nobody left
    ASSERT_TRUE(e.zk->current->send(burst));
    delay(1s);
    EXPECT_EQ(seen,
              (std::vector<std::string>{"child:NodeChildrenChanged:/c", "data:NodeDataChanged:/a",
                                        "exists-a:NodeDataChanged:/a", "exists:NodeCreated:/b"}));
    EXPECT_EQ(c->state(), SessionState::kConnected);
  }));
}

// The server drops the connection: the client moves to the other server with the same session,
// and re-registers its watches relative to the last zxid it saw.
TEST(CoordClientSim, FailoverKeepsSessionAndResetsWatches) {
  FakeEnsemble e(5);
  ASSERT_TRUE(e.run([&](ProcessContext&) {
    auto c = connect(e, short_timeouts());
    std::vector<SessionState> states;
    c->set_state_listener([&states](SessionState s) { states.push_back(s); });
    delay(1ms);
    states.clear();  // the initial Connected, delivered after the listener was set
    int fired = 0;
    ASSERT_TRUE(await(c->get_data("/w", [&fired](const WatchEvent&) { ++fired; })).ok());
    ASSERT_TRUE(await(c->get_children("/k", [&fired](const WatchEvent&) { ++fired; })).ok());
    const std::string first = c->connected_server();
    const Zxid zxid = c->last_zxid_seen();
    e.zk->current->io->close();
    ASSERT_TRUE(await(c->await_state(SessionState::kDisconnected, 5s)).ok());
    ASSERT_TRUE(await(c->await_state(SessionState::kConnected, 5s)).ok());
    EXPECT_NE(c->connected_server(), first);
    ASSERT_EQ(e.zk->connects.size(), 2u);
    EXPECT_EQ(e.zk->connects[1].sessionId, e.zk->session);
    EXPECT_EQ(e.zk->connects[1].passwd, e.zk->passwd);
    EXPECT_EQ(e.zk->connects[1].lastZxidSeen, zxid);
    delay(100ms);
    const jute::Request& sw = e.zk->requests.back();
    ASSERT_EQ(sw.header.type, OpCode::kSetWatches);
    const auto& body = std::get<jute::SetWatches>(sw.body);
    EXPECT_EQ(body.relativeZxid, zxid);
    EXPECT_EQ(body.dataWatches, std::vector<std::string>{"/w"});
    EXPECT_EQ(body.childWatches, std::vector<std::string>{"/k"});
    ASSERT_TRUE(e.zk->current->send(notification(EventType::kNodeDataChanged, "/w")));
    delay(100ms);
    EXPECT_EQ(fired, 1);
    EXPECT_EQ(states,
              (std::vector<SessionState>{SessionState::kDisconnected, SessionState::kConnecting,
                                         SessionState::kConnected}));
    EXPECT_EQ(c->session_id(), e.zk->session);
  }));
}

TEST(CoordClientSim, InFlightRequestsFailWithConnectionLoss) {
  FakeEnsemble e(6);
  e.zk->handler = [](FakeZk&, FakeConn& conn, const jute::Request& req) {
    if (testing::path_of(req.body) != "/hang") return false;
    conn.io->close();  // took the request, never answers
    return true;
  };
  ASSERT_TRUE(e.run([&](ProcessContext&) {
    auto c = connect(e, short_timeouts());
    auto hung = await(c->set_data("/hang", "x"));
    EXPECT_EQ(zk_error(hung.status()), ErrorCode::kConnectionLoss) << hung.status();
    EXPECT_EQ(hung.status().code(), absl::StatusCode::kUnavailable);
    // Issued while reconnecting: waits for the new connection, then succeeds.
    auto later = await(c->get_data("/fine"));
    EXPECT_TRUE(later.ok()) << later.status();
    EXPECT_EQ(c->stats().connects, 2u);
  }));
}

TEST(CoordClientSim, RequestsWaitForReconnectionWithinTheirTimeout) {
  FakeEnsemble e(7);
  ASSERT_TRUE(e.run([&](ProcessContext&) {
    CoordClientOptions o = short_timeouts();
    o.request_timeout = 2s;
    auto c = connect(e, o);
    e.zk->refuse = true;  // every reconnection fails for now
    e.zk->current->io->close();
    delay(10ms);
    auto failed = await(c->get_data("/x"));
    EXPECT_EQ(failed.status().code(), absl::StatusCode::kDeadlineExceeded) << failed.status();
    Future<DataResult> waiting = c->get_data("/y");
    delay(1s);
    e.zk->refuse = false;
    auto ok = await(waiting);
    EXPECT_TRUE(ok.ok()) << ok.status();
    EXPECT_GE(c->stats().connect_failures, 1u);
  }));
}

TEST(CoordClientSim, ExpiryNotifiesWatchesAndFailsRequests) {
  FakeEnsemble e(8);
  ASSERT_TRUE(e.run([&](ProcessContext&) {
    auto c = connect(e, short_timeouts());
    std::vector<WatchEvent> events;
    auto w = [&events](const WatchEvent& ev) { events.push_back(ev); };
    ASSERT_TRUE(await(c->get_data("/d", w)).ok());
    ASSERT_TRUE(await(c->get_children("/k", w)).ok());
    e.zk->expire = true;
    e.zk->current->io->close();
    ASSERT_TRUE(await(c->await_state(SessionState::kExpired, 10s)).ok());
    delay(10ms);
    EXPECT_EQ(events, (std::vector<WatchEvent>{{EventType::kNone, KeeperState::kExpired, "/d"},
                                               {EventType::kNone, KeeperState::kExpired, "/k"}}));
    auto after = await(c->get_data("/d"));
    EXPECT_EQ(zk_error(after.status()), ErrorCode::kSessionExpired) << after.status();
    EXPECT_FALSE(await(c->await_state(SessionState::kConnected, 1s)).ok());
    EXPECT_TRUE(await(c->close()).ok());
    EXPECT_EQ(c->state(), SessionState::kExpired);
  }));
}

TEST(CoordClientSim, SessionExpiredReplyExpiresTheSession) {
  FakeEnsemble e(9);
  e.zk->handler = [](FakeZk& zk, FakeConn& conn, const jute::Request& req) {
    if (testing::path_of(req.body) != "/gone") return false;
    answer(zk, conn, req, ErrorCode::kSessionExpired);
    return true;
  };
  ASSERT_TRUE(e.run([&](ProcessContext&) {
    auto c = connect(e, short_timeouts());
    auto r = await(c->get_data("/gone"));
    EXPECT_EQ(zk_error(r.status()), ErrorCode::kSessionExpired);
    ASSERT_TRUE(await(c->await_state(SessionState::kExpired, 1s)).ok());
  }));
}

TEST(CoordClientSim, OutOfOrderReplyIsAProtocolError) {
  FakeEnsemble e(10);
  std::vector<jute::Request> held;
  e.zk->handler = [&held](FakeZk& zk, FakeConn& conn, const jute::Request& req) {
    const std::string path = testing::path_of(req.body);
    if (path != "/one" && path != "/two") return false;
    held.push_back(req);
    if (held.size() == 2) {
      answer(zk, conn, held[1]);  // the second first
      answer(zk, conn, held[0]);
    }
    return true;
  };
  ASSERT_TRUE(e.run([&](ProcessContext&) {
    auto c = connect(e, short_timeouts());
    Future<DataResult> one = c->get_data("/one");
    Future<DataResult> two = c->get_data("/two");
    EXPECT_EQ(zk_error(await(one).status()), ErrorCode::kConnectionLoss);
    EXPECT_EQ(zk_error(await(two).status()), ErrorCode::kConnectionLoss);
    EXPECT_EQ(c->stats().protocol_errors, 1u);
    ASSERT_TRUE(await(c->await_state(SessionState::kConnected, 5s)).ok());
    EXPECT_TRUE(await(c->get_data("/three")).ok());
  }));
}

TEST(CoordClientSim, HostileFramesDisconnectWithoutCrashing) {
  FakeEnsemble e(11);
  int hostile = 0;
  e.zk->handler = [&hostile](FakeZk&, FakeConn& conn, const jute::Request& req) {
    if (testing::path_of(req.body) != "/evil") return false;
    ++hostile;
    if (hostile == 1) {
      conn.send(std::string("\x7f\xff\xff\xff", 4));  // a 2 GiB frame
    } else if (hostile == 2) {
      conn.send(std::string("\xff\xff\xff\xf0", 4));  // a negative length
    } else if (hostile == 3) {
      // The right xid, then a body too short for GetDataResponse.
      std::string frame = reply_frame(OpCode::kDelete, req.header.xid, 5, ErrorCode::kOk);
      conn.send(frame + std::string("\x00\x00\x00\x03", 4));
      conn.send(std::string("\x00\x00\x00\x02zz", 6));  // and garbage after it
    } else {
      conn.send(std::string("\x00\x00\x00\x02zz", 6));  // not even a ReplyHeader
    }
    return true;
  };
  ASSERT_TRUE(e.run([&](ProcessContext&) {
    auto c = connect(e, short_timeouts());
    for (int i = 0; i < 4; ++i) {
      auto r = await(c->get_data("/evil"));
      EXPECT_EQ(zk_error(r.status()), ErrorCode::kConnectionLoss) << i << " " << r.status();
      ASSERT_TRUE(await(c->await_state(SessionState::kConnected, 5s)).ok());
    }
    EXPECT_EQ(c->stats().protocol_errors, 4u);
    EXPECT_TRUE(await(c->get_data("/fine")).ok());
  }));
}

TEST(CoordClientSim, SilentServerIsDeclaredDeadAfterTheReadTimeout) {
  FakeEnsemble e(12);
  ASSERT_TRUE(e.run([&](ProcessContext&) {
    auto c = connect(e, short_timeouts());
    const std::string first = c->connected_server();
    e.zk->answer_pings = false;
    ASSERT_TRUE(await(c->await_state(SessionState::kDisconnected, 5s)).ok());
    e.zk->answer_pings = true;
    ASSERT_TRUE(await(c->await_state(SessionState::kConnected, 5s)).ok());
    EXPECT_NE(c->connected_server(), first);
    EXPECT_EQ(c->session_id(), e.zk->session);
  }));
}

TEST(CoordClientSim, OutstandingRequestsAreBounded) {
  FakeEnsemble e(13);
  ASSERT_TRUE(e.run([&](ProcessContext&) {
    CoordClientOptions o = short_timeouts();
    o.outstanding_requests_max = 4;
    auto c = connect(e, o);
    std::vector<Future<Stat>> writes;
    for (int i = 0; i < 50; ++i) writes.push_back(c->set_data("/n", std::to_string(i)));
    ASSERT_TRUE(await(when_all(writes)).ok());
    for (auto& w : writes) EXPECT_TRUE(w.get().ok()) << w.get().status();
    EXPECT_EQ(e.zk->requests.size(), 50u);
  }));
}

TEST(CoordClientSim, CloseWhileDisconnectedEndsTheSession) {
  FakeEnsemble e(14);
  ASSERT_TRUE(e.run([&](ProcessContext&) {
    auto c = connect(e, short_timeouts());
    e.zk->refuse = true;
    e.zk->current->io->close();
    ASSERT_TRUE(await(c->await_state(SessionState::kConnecting, 5s)).ok());
    Future<DataResult> waiting = c->get_data("/x");
    // No server heard the close: the caller learns the session is left to expire.
    EXPECT_EQ(zk_error(await(c->close())), ErrorCode::kConnectionLoss);
    EXPECT_EQ(c->state(), SessionState::kClosed);
    EXPECT_FALSE(await(waiting).ok());
    e.zk->refuse = false;
    delay(5s);  // nothing reconnects a closed client
    EXPECT_EQ(c->state(), SessionState::kClosed);
    EXPECT_EQ(c->stats().connects, 1u);
  }));
}

TEST(CoordClientSim, DestroyingTheClientFailsWhatIsPending) {
  FakeEnsemble e(15);
  e.zk->handler = [](FakeZk&, FakeConn&, const jute::Request& req) {
    return testing::path_of(req.body) == "/never";
  };
  ASSERT_TRUE(e.run([&](ProcessContext&) {
    auto c = connect(e, short_timeouts());
    Future<DataResult> pending = c->get_data("/never");
    Future<void> state = c->await_state(SessionState::kExpired, 60s);
    delay(100ms);
    c.reset();
    EXPECT_FALSE(await(pending).ok());
    EXPECT_FALSE(await(state).ok());
  }));
}

// The failover path under several seeds (server order, latencies and backoffs all vary).
TEST(CoordClientSim, FailoverAcrossSeeds) {
  for (uint64_t seed = 100; seed < 110; ++seed) {
    FakeEnsemble e(seed);
    ASSERT_TRUE(e.run([&](ProcessContext&) {
      auto c = connect(e, short_timeouts());
      for (int round = 0; round < 5; ++round) {
        const std::string before = c->connected_server();
        e.zk->current->io->close();
        ASSERT_TRUE(await(c->await_state(SessionState::kDisconnected, 5s)).ok());
        auto r = await(c->get_data("/x"));
        ASSERT_TRUE(r.ok()) << seed << " " << r.status();
        EXPECT_NE(c->connected_server(), before);
      }
      EXPECT_EQ(c->stats().connects, 6u);
      EXPECT_EQ(c->session_id(), e.zk->session);
    })) << seed;
  }
}

}  // namespace
}  // namespace weir::coord::client
