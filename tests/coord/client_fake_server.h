// A scripted stand-in for a coord server, speaking just enough of the ZooKeeper wire protocol
// to drive CoordClient through every path of its state machine on the simulated network. Its
// state lives outside the simulation so that tests can script it and inspect what it saw.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "coord/client/client.h"
#include "coord/jute/jute.h"
#include "runtime/actor_collection.h"
#include "runtime/future.h"
#include "runtime/network.h"
#include "runtime/process_context.h"
#include "sim/simulator.h"

namespace weir::coord::client::testing {

using jute::OpCode;

inline constexpr uint16_t kZkPort = 2181;

// One accepted client connection.
struct FakeConn {
  std::shared_ptr<IConnection> io;
  std::string server;
  bool send(const std::string& bytes) {
    return io
        ->write(absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()))
        .ok();
  }
};

struct FakeZk;
// Returns true when it has answered `req` itself (or chosen not to).
using Handler = std::function<bool(FakeZk&, FakeConn&, const jute::Request& req)>;

// The ensemble's shared script and observations (both fake servers use the same one).
struct FakeZk {
  int32_t timeout_ms = 3000;
  bool expire = false;       // answer handshakes with timeout 0
  bool refuse = false;       // close connections right after accepting
  bool answer_pings = true;  // false: go silent (the client's read timeout must fire)
  SessionId session{0x5eed};
  std::string passwd = "0123456789abcdef";
  int64_t zxid = 100;
  Handler handler;
  std::vector<jute::ConnectRequest> connects;
  std::vector<std::string> connect_servers;
  std::vector<jute::Request> requests;  // everything but pings
  int pings = 0;
  std::shared_ptr<FakeConn> current;  // the newest established connection
};

inline std::string reply_frame(OpCode op, int32_t xid, int64_t zxid, ErrorCode err,
                               jute::ResponseBody body = jute::EmptyBody{}) {
  std::string out;
  jute::encode_reply(op, jute::ReplyHeader{xid, Zxid(zxid), err}, body, out);
  return out;
}

inline std::string notification(EventType type, const std::string& path) {
  jute::WatcherEvent ev;
  ev.type = type;
  ev.state = KeeperState::kSyncConnected;
  ev.path = path;
  return reply_frame(OpCode::kNotification, jute::kNotificationXid, -1, ErrorCode::kOk, ev);
}

inline std::string path_of(const jute::RequestBody& body) {
  return std::visit(
      [](const auto& b) -> std::string {
        if constexpr (requires { b.path; }) {
          return b.path;
        } else {
          return "";
        }
      },
      body);
}

inline Stat fake_stat(int64_t zxid) {
  Stat s;
  s.czxid = Zxid(zxid);
  s.mzxid = Zxid(zxid);
  s.version = 1;
  s.dataLength = 5;
  return s;
}

inline std::string path_of_op(const jute::MultiOp& op) {
  return std::visit([](const auto& b) { return b.path; }, op.body);
}

inline jute::MultiResponse fake_multi(const jute::MultiRequest& req, int64_t zxid) {
  jute::MultiResponse resp;
  for (const auto& op : req.ops) {
    jute::MultiResult r{op.type, jute::EmptyBody{}};
    if (op.type == OpCode::kCreate) r.body = jute::CreateResponse{path_of_op(op)};
    if (op.type == OpCode::kSetData) r.body = jute::SetDataResponse{fake_stat(zxid)};
    resp.results.push_back(std::move(r));
  }
  return resp;
}

// What a healthy server would answer (content is made up; the shape is right).
inline jute::ResponseBody default_body(const jute::Request& req, int64_t zxid) {
  const std::string path = path_of(req.body);
  switch (req.header.type) {
    case OpCode::kCreate:
      return jute::CreateResponse{path};
    case OpCode::kCreate2:
      return jute::Create2Response{path, fake_stat(zxid)};
    case OpCode::kGetData:
      return jute::GetDataResponse{"value", fake_stat(zxid)};
    case OpCode::kExists:
      return jute::ExistsResponse{fake_stat(zxid)};
    case OpCode::kSetData:
      return jute::SetDataResponse{fake_stat(zxid)};
    case OpCode::kGetChildren:
      return jute::GetChildrenResponse{{"x", "y"}};
    case OpCode::kGetChildren2:
      return jute::GetChildren2Response{{"x"}, fake_stat(zxid)};
    case OpCode::kGetACL:
      return jute::GetACLResponse{open_acl_unsafe(), fake_stat(zxid)};
    case OpCode::kSetACL:
      return jute::SetACLResponse{fake_stat(zxid)};
    case OpCode::kSync:
      return jute::SyncResponse{path};
    case OpCode::kMulti:
      return fake_multi(std::get<jute::MultiRequest>(req.body), zxid);
    default:
      return jute::EmptyBody{};
  }
}

inline void answer(FakeZk& zk, FakeConn& conn, const jute::Request& req,
                   ErrorCode err = ErrorCode::kOk) {
  int32_t xid = req.header.xid;
  if (req.header.type == OpCode::kSetWatches) xid = jute::kSetWatchesXid;
  if (req.header.type == OpCode::kAuth) xid = jute::kAuthXid;
  const int64_t zxid = ++zk.zxid;
  jute::ResponseBody body = jute::EmptyBody{};
  if (err == ErrorCode::kOk) body = default_body(req, zxid);
  conn.send(reply_frame(req.header.type, xid, zxid, err, body));
}

// Reads one frame; nullopt when the stream ends or breaks.
inline std::optional<std::string> read_frame(IConnection& io, jute::FrameDecoder& decoder) {
  std::vector<uint8_t> buf(4096);
  while (true) {
    if (auto frame = decoder.pop()) return std::string(*frame);
    auto n = io.read(absl::MakeSpan(buf));
    if (!n.ok() || *n == 0) return std::nullopt;
    if (!decoder.feed(absl::MakeConstSpan(buf.data(), *n)).ok()) return std::nullopt;
  }
}

inline void serve_fake_connection(std::shared_ptr<FakeZk> zk, std::shared_ptr<FakeConn> conn) {
  jute::FrameDecoder decoder;
  auto hello = read_frame(*conn->io, decoder);
  if (!hello) return;
  auto req = jute::decode_prefix<jute::ConnectRequest>(*hello);
  ASSERT_TRUE(req.ok()) << req.status();
  zk->connects.push_back(*req);
  zk->connect_servers.push_back(conn->server);
  if (zk->refuse) return conn->io->close();
  jute::ConnectResponse resp;
  resp.timeOut = zk->expire ? 0 : zk->timeout_ms;
  resp.sessionId = req->sessionId.value() != 0 ? req->sessionId : zk->session;
  resp.passwd = zk->expire ? std::string(16, '\0') : zk->passwd;
  std::string out;
  jute::append_frame(out, resp);
  if (!conn->send(out)) return;
  zk->current = conn;
  while (auto frame = read_frame(*conn->io, decoder)) {
    auto request = jute::decode_request(*frame);
    ASSERT_TRUE(request.ok()) << request.status();
    if (request->header.type == OpCode::kPing) {
      ++zk->pings;
      if (zk->answer_pings) {
        conn->send(reply_frame(OpCode::kPing, jute::kPingXid, zk->zxid, ErrorCode::kOk));
      }
      continue;
    }
    zk->requests.push_back(*request);
    if (zk->handler && zk->handler(*zk, *conn, *request)) continue;
    answer(*zk, *conn, *request);
  }
}

inline sim::BootFn fake_server(std::shared_ptr<FakeZk> zk) {
  return [zk](ProcessContext& ctx) {
    auto listener = ctx.network->listen(ctx.address);
    ASSERT_TRUE(listener.ok()) << listener.status();
    ActorCollection conns;
    while (true) {
      auto io = (*listener)->accept();
      if (!io.ok()) return;
      auto conn = std::make_shared<FakeConn>(FakeConn{*io, ctx.address});
      conns.add(spawn("fake-zk-conn", [zk, conn] { serve_fake_connection(zk, conn); }));
    }
  };
}

// Two fake servers (one ensemble) and a client machine.
struct FakeEnsemble {
  explicit FakeEnsemble(uint64_t seed) : sim(seed) {
    s1 = sim.add_machine("s1");
    s2 = sim.add_machine("s2");
    cm = sim.add_machine("client");
    p1 = sim.add_process(s1, "zk1", kZkPort, fake_server(zk));
    p2 = sim.add_process(s2, "zk2", kZkPort, fake_server(zk));
  }
  std::string connect_string(const std::string& chroot = "") const {
    return p1->address() + "," + p2->address() + chroot;
  }
  // Runs `body` as a process on the client machine until it returns (true) or `limit` passes.
  bool run(std::function<void(ProcessContext&)> body, Duration limit = 600s) {
    auto finished = std::make_shared<bool>(false);
    sim.add_process(cm, "client", 1, [this, body, finished](ProcessContext& ctx) {
      body(ctx);
      *finished = true;
      sim.scheduler().stop();
    });
    sim.scheduler().run_until(sim.now() + limit);
    return *finished;
  }
  sim::Simulator sim;
  std::shared_ptr<FakeZk> zk = std::make_shared<FakeZk>();
  sim::SimMachine* s1;
  sim::SimMachine* s2;
  sim::SimMachine* cm;
  sim::SimProcess* p1;
  sim::SimProcess* p2;
};

}  // namespace weir::coord::client::testing
