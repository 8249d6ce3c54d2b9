// Shared pieces of the coord server tests: a simulated ensemble of CoordServers and a raw jute
// client (no reconnects, no session logic) that records replies and watch events in order.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coord/jute/jute.h"
#include "coord/server/coord_server.h"
#include "runtime/future.h"
#include "runtime/network.h"
#include "sim/simulator.h"

namespace weir::coord::server::testing {

using jute::ErrorCode;
using jute::OpCode;

class RawClient {
 public:
  // Connects and handshakes; sessionId 0 asks for a new session.
  static absl::StatusOr<std::unique_ptr<RawClient>> connect(const std::string& address,
                                                            int32_t timeout_ms, int64_t session = 0,
                                                            std::string password = "",
                                                            int64_t last_zxid = 0) {
    auto io = current_context().network->connect(address);
    if (!io.ok()) return io.status();
    auto c = std::make_unique<RawClient>();
    c->io_ = *io;
    jute::ConnectRequest req;
    req.timeOut = timeout_ms;
    req.sessionId = SessionId(session);
    req.passwd = password.empty() ? std::string(16, '\0') : password;
    req.lastZxidSeen = Zxid(last_zxid);
    std::string out;
    jute::append_frame(out, req);
    if (auto s = c->write(out); !s.ok()) return s;
    auto frame = c->next_frame();
    if (!frame.ok()) return frame.status();
    auto rsp = jute::decode_prefix<jute::ConnectResponse>(*frame);
    if (!rsp.ok()) return rsp.status();
    c->session = *rsp;
    return c;
  }

  absl::Status write(const std::string& bytes) {
    return io_->write(
        absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  }

  absl::StatusOr<std::string> next_frame() {
    while (true) {
      if (auto f = decoder_.pop()) return std::string(*f);
      std::vector<uint8_t> buf(65536);
      auto n = io_->read(absl::Span<uint8_t>(buf));
      if (!n.ok()) return n.status();
      if (*n == 0) return absl::UnavailableError("closed");
      if (auto s = decoder_.feed(absl::Span<const uint8_t>(buf.data(), *n)); !s.ok()) return s;
    }
  }

  // Sends without waiting; returns the xid.
  int32_t send(OpCode op, const jute::RequestBody& body, int32_t xid = 0) {
    if (xid == 0) xid = next_xid_++;
    std::string out;
    jute::encode_request(jute::RequestHeader{xid, op}, body, out);
    (void)write(out);
    ops_[xid] = op;
    return xid;
  }

  // Reads until the reply to `xid`, recording events on the way.
  absl::StatusOr<jute::Reply> wait_reply(int32_t xid) {
    while (true) {
      auto frame = next_frame();
      if (!frame.ok()) return frame.status();
      auto got = jute::peek_xid(*frame);
      if (!got.ok()) return got.status();
      OpCode op = *got == jute::kNotificationXid ? OpCode::kNotification : ops_[*got];
      if (*got == jute::kPingXid) op = OpCode::kPing;
      auto reply = jute::decode_reply(*frame, op);
      if (!reply.ok()) return reply.status();
      last_zxid = std::max(last_zxid, reply->header.zxid.value());
      if (*got == jute::kNotificationXid) {
        const auto& e = std::get<jute::WatcherEvent>(reply->body);
        events.push_back(e);
        log.push_back(absl::StrCat("event ", static_cast<int>(e.type), " ", e.path));
        continue;
      }
      log.push_back(absl::StrCat("reply ", *got));
      if (*got == xid) return reply;
    }
  }

  absl::StatusOr<jute::Reply> call(OpCode op, const jute::RequestBody& body, int32_t xid = 0) {
    return wait_reply(send(op, body, xid));
  }
  ErrorCode err(OpCode op, const jute::RequestBody& body) {
    auto r = call(op, body);
    return r.ok() ? r->header.err : ErrorCode::kConnectionLoss;
  }

  absl::StatusOr<jute::Reply> create(const std::string& path, const std::string& data,
                                     jute::CreateMode mode = jute::CreateMode::kPersistent) {
    jute::CreateRequest req;
    req.path = path;
    req.data = data;
    req.acl = {jute::ACL{jute::perms::kAll, jute::Id{"world", "anyone"}}};
    req.flags = mode;
    return call(OpCode::kCreate, req);
  }
  absl::Status ping() { return call(OpCode::kPing, jute::EmptyBody{}, jute::kPingXid).status(); }
  void close() { io_->close(); }

  jute::ConnectResponse session;
  std::vector<jute::WatcherEvent> events;
  std::vector<std::string> log;
  int64_t last_zxid = 0;

 private:
  std::shared_ptr<IConnection> io_;
  jute::FrameDecoder decoder_;
  std::map<int32_t, OpCode> ops_;
  int32_t next_xid_ = 1;
};

// Sends a four-letter word and reads the answer until the server closes.
inline std::string four_letter_word(const std::string& address, const std::string& word) {
  auto io = current_context().network->connect(address);
  if (!io.ok()) return "connect failed";
  (void)(*io)->write(
      absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(word.data()), word.size()));
  std::string out;
  std::vector<uint8_t> buf(4096);
  while (true) {
    auto n = (*io)->read(absl::Span<uint8_t>(buf));
    if (!n.ok() || *n == 0) break;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  return out;
}

// Three (or n) CoordServers on their own simulated machines, plus a client machine.
class Ensemble {
 public:
  explicit Ensemble(uint64_t seed, int n = 3) : sim(seed) {
    std::vector<zab::ServerSpec> specs;
    for (int i = 0; i < n; ++i) {
      machines.push_back(sim.add_machine(absl::StrCat("coord", i + 1)));
      zab::ServerSpec s;
      s.id = i + 1;
      s.peer_address = absl::StrCat(machines.back()->ip(), ":2888");
      s.election_address = absl::StrCat(machines.back()->ip(), ":3888");
      s.client_address = absl::StrCat(machines.back()->ip(), ":2181");
      specs.push_back(s);
      clients.push_back(s.client_address);
    }
    config.ensemble = zab::EnsembleConfig(specs);
    config.zab.tick = 100ms;
    config.four_letter_words = {"*"};
    client_machine = sim.add_machine("client");
    servers.resize(n, nullptr);
    for (int i = 0; i < n; ++i) {
      procs.push_back(sim.add_process(machines[i], absl::StrCat("coord", i + 1), 2888, boot(i)));
    }
  }
  ~Ensemble() { sim.shutdown(); }

  sim::BootFn boot(int i) {
    return [this, i](ProcessContext& ctx) {
      ServerConfig c = config;
      c.my_id = i + 1;
      c.data_dir = ctx.data_dir;
      if (before_boot) before_boot(i, ctx);
      while (true) {
        CoordServer server(c, ctx);
        servers[i] = &server;
        struct Clear {
          CoordServer** slot;
          ~Clear() { *slot = nullptr; }
        } clear{&servers[i]};
        (void)server.run();
        delay(100ms);
      }
    };
  }

  // Runs `body` as a client process until it returns (true) or `limit` passes.
  bool run(std::function<void()> body, Duration limit = 120s) {
    auto finished = std::make_shared<bool>(false);
    sim.add_process(client_machine, absl::StrCat("client", ++client_count_), 1,
                    [this, body, finished](ProcessContext&) {
                      body();
                      *finished = true;
                      sim.scheduler().stop();
                    });
    sim.scheduler().run_until(sim.now() + limit);
    return *finished;
  }

  // Waits (inside a client body) until some server leads and every server serves.
  void wait_ready() {
    while (true) {
      int leaders = 0, serving = 0;
      for (CoordServer* s : servers) {
        if (s == nullptr) continue;
        auto st = s->peer().state();
        leaders += st == zab::PeerState::kLeading;
        serving += st == zab::PeerState::kLeading || st == zab::PeerState::kFollowing;
      }
      if (leaders == 1 && serving == static_cast<int>(servers.size())) break;
      delay(100ms);
    }
    delay(500ms);
  }
  // Every server's client address but `except`'s (an index; -1: none), comma-separated.
  std::string connect_string(int except = -1) const {
    std::string out;
    for (size_t i = 0; i < clients.size(); ++i) {
      if (static_cast<int>(i) != except) out += (out.empty() ? "" : ",") + clients[i];
    }
    return out;
  }
  int leader_index() const {
    for (size_t i = 0; i < servers.size(); ++i) {
      if (servers[i] && servers[i]->peer().state() == zab::PeerState::kLeading)
        return static_cast<int>(i);
    }
    return -1;
  }

  sim::Simulator sim;
  ServerConfig config;
  // Runs in server i's process before its CoordServer starts (each incarnation).
  std::function<void(int, ProcessContext&)> before_boot;
  std::vector<sim::SimMachine*> machines;
  std::vector<sim::SimProcess*> procs;
  std::vector<std::string> clients;
  std::vector<CoordServer*> servers;
  sim::SimMachine* client_machine = nullptr;

 private:
  int client_count_ = 0;
};

}  // namespace weir::coord::server::testing
