#include "coord/server/coord_server.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "buggify/code_probe.h"
#include "coord/server/session.pb.h"
#include "coord/server/txn_codec.h"
#include "runtime/future.h"
#include "runtime/trace.h"

namespace weir::coord::server {
namespace {

constexpr char kTouchEndpoint[] = "coord.touch_sessions";

framed::FramedServerOptions client_options(const ServerConfig& config) {
  framed::FramedServerOptions o;
  o.name = "coord-clients";
  o.protocol = "jute frame";
  o.frame_bytes_max = config.frame_bytes_max;
  o.connections_max = config.connections_max;
  o.in_flight_max = config.outstanding_requests_max;
  o.send_queue_bytes_max = config.send_queue_bytes_max;
  o.preamble_bytes = 4;  // a four-letter word, or the first frame's length
  return o;
}

}  // namespace

CoordServer::CoordServer(ServerConfig config, ProcessContext& ctx)
    : config_(std::move(config)),
      ctx_(ctx),
      machine_(watches_),
      rpc_client_(*ctx.network, *ctx.random),
      session_rpc_(*ctx.network),
      clients_(*ctx.network, *this, client_options(config_)) {
  WEIR_ASSERT_MSG(config_.ensemble.find(config_.my_id) != nullptr, "server id not in ensemble");
  peer_ =
      std::make_unique<zab::ZabPeer>(config_.my_id, config_.ensemble, config_.zab, machine_, ctx_);
  machine_.set_session_hook([this](int64_t id, int32_t timeout) { on_session(id, timeout); });
  machine_.set_local_filter([this](int64_t id) { return local_sessions_.contains(id); });
}

CoordServer::~CoordServer() {
  *alive_ = false;
  clients_.stop();
  background_.clear();
  for (auto& [id, conn] : connections_) conn->actors.clear();
}

absl::Status CoordServer::run() {
  session_rpc_.handle<TouchSessions, TouchReply>(kTouchEndpoint, [this](const TouchSessions& r) {
    TouchReply reply;
    reply.set_leading(peer_->state() == zab::PeerState::kLeading);
    for (int64_t id : r.sessions()) touch(id);
    return reply;
  });
  const std::string session_address = config_.session_address(config_.my_id);
  if (!session_address.empty()) {
    if (absl::Status s = session_rpc_.start(session_address); !s.ok()) return s;
  }
  if (absl::Status s = clients_.start(config_.me().client_address); !s.ok()) return s;
  TraceEvent(Severity::kInfo, "CoordServerListening")
      .detail("Id", config_.my_id)
      .detail("Address", clients_.address());
  background_.add(spawn("coord-tracker", [this] { tracker_loop(); }));
  background_.add(spawn("coord-touch-flush", [this] { touch_flush_loop(); }));
  background_.add(spawn("coord-reaper", [this] { reaper_loop(); }));
  const absl::Status status = peer_->run();
  TraceEvent(Severity::kWarn, "CoordServerStopped").detail("Status", status.ToString());
  clients_.stop();
  session_rpc_.stop();
  for (auto& [id, conn] : connections_) conn->actors.clear();
  connections_.clear();
  background_.clear();
  return status;
}

std::optional<std::string> CoordServer::on_preamble(framed::FramedConnection&,
                                                    std::string_view head) {
  if (!is_four_letter_word(head)) return std::nullopt;
  // Open descriptors, where the runtime can list them (not in simulation).
  std::optional<size_t> fds;
  if (head == "mntr") {
    if (auto list = ctx_.fs->list("/proc/self/fd"); list.ok()) fds = list->size();
  }
  return four_letter(head, fds);
}

void CoordServer::on_open(framed::FramedConnection& link) {
  auto conn = std::make_shared<Connection>();
  conn->id = link.id();
  conn->owner = static_cast<int64_t>(ctx_.random->next_u64() >> 1) | 1;
  conn->link = link.shared_from_this();
  conn->peer = link.peer();
  conn->established = Scheduler::current().now();
  conn->established_wall_ms = ctx_.clock->wall_ms();
  const std::string host = conn->peer.substr(0, conn->peer.rfind(':'));
  conn->auth.push_back(Id{"ip", host});
  connections_[conn->id] = conn;
}

Future<framed::Reply> CoordServer::on_frame(framed::FramedConnection& link,
                                            std::string_view frame) {
  auto it = connections_.find(link.id());
  WEIR_ASSERT_MSG(it != connections_.end(), "a frame for a connection that is not open");
  const std::shared_ptr<Connection>& conn = it->second;
  if (!conn->handshake_started) return start_handshake(conn, frame);
  if (!conn->attached) {
    // ZooKeeper reads nothing more until the session is set up: hold the frame until then.
    CODE_PROBE(true, "coord.frame_during_handshake");
    conn->early.emplace_back(std::string(frame), Promise<framed::Reply>());
    return conn->early.back().second.future();
  }
  return handle_frame(*conn, frame);
}

void CoordServer::on_close(framed::FramedConnection& link) {
  auto it = connections_.find(link.id());
  if (it == connections_.end()) return;
  std::shared_ptr<Connection> conn = it->second;
  conn->close();
  conn->actors.clear();
  watches_.remove_connection(conn->id);
  for (const Pending& p : conn->pending) {
    if (p.kind != Pending::Kind::kWrite || !p.submitted.valid() || !p.submitted.is_ready() ||
        !p.submitted.get().ok())
      continue;
    machine_.forget_result(*p.submitted.get());
  }
  if (conn->session_id != 0) {
    auto local = local_sessions_.find(conn->session_id);
    if (local != local_sessions_.end() && --local->second <= 0) local_sessions_.erase(local);
  }
  connections_.erase(it);
}

void CoordServer::touch(int64_t session) {
  auto it = sessions_.find(session);
  if (it != sessions_.end()) {
    it->second.deadline =
        Scheduler::current().now() + std::chrono::milliseconds(it->second.timeout_ms);
  }
  if (peer_->state() != zab::PeerState::kLeading) touched_.insert(session);
}

void CoordServer::on_session(int64_t session, int32_t timeout_ms) {
  if (timeout_ms > 0) {
    sessions_[session] =
        Tracked{timeout_ms, Scheduler::current().now() + std::chrono::milliseconds(timeout_ms)};
    return;
  }
  sessions_.erase(session);
  expiring_.erase(session);
  // Its clients learn of the expiry by reconnecting (they get a zero-timeout ConnectResponse).
  for (auto& [id, conn] : connections_) {
    if (conn->session_id == session && !conn->client_closing) conn->close();
  }
}

void CoordServer::tracker_loop() {
  while (true) {
    delay(config_.zab.tick);
    const bool leading = peer_->state() == zab::PeerState::kLeading;
    const TimePoint now = Scheduler::current().now();
    if (leading && !was_leading_) {
      // A new leader does not know when followers last heard from clients: full grace period.
      for (auto& [id, t] : sessions_) t.deadline = now + std::chrono::milliseconds(t.timeout_ms);
    }
    was_leading_ = leading;
    if (!leading) continue;
    for (const auto& [id, t] : sessions_) {
      if (t.deadline > now || expiring_.contains(id)) continue;
      if (config_.bug == CoordBug::kSessionsNeverExpire) continue;
      expiring_.insert(id);
      background_.add(spawn("coord-expire", [this, id = id] { expire(id); }));
    }
  }
}

void CoordServer::expire(int64_t session) {
  Txn txn;
  txn.session_id = session;
  txn.op = CloseSessionOp{};
  TraceEvent(Severity::kInfo, "CoordSessionExpiring").detail("Session", session);
  auto zxid = peer_->submit(encode_txn(txn), config_.request_timeout);
  absl::Status s = zxid.ok() ? peer_->wait_applied(*zxid, config_.request_timeout) : zxid.status();
  if (s.ok()) {
    ++stats_.sessions_expired;
  } else {
    expiring_.erase(session);  // the next tick tries again (if still leading)
  }
}

void CoordServer::touch_flush_loop() {
  while (true) {
    delay(config_.zab.tick);
    if (touched_.empty()) continue;
    const int64_t leader = peer_->leader_id();
    if (leader < 0 || leader == config_.my_id) {
      touched_.clear();
      continue;
    }
    TouchSessions req;
    req.set_from(config_.my_id);
    for (int64_t id : touched_) req.add_sessions(id);
    touched_.clear();
    auto reply = rpc_client_.call<TouchSessions, TouchReply>(
        config_.session_address(leader), kTouchEndpoint, req, config_.zab.tick * 2);
    if (!reply.ok()) {
      TraceEvent(Severity::kInfo, "CoordTouchFailed")
          .detail("Leader", leader)
          .detail("Status", reply.status().ToString());
    }
  }
}

absl::Status CoordServer::sync_barrier() {
  Txn txn;
  txn.auth.push_back(Id{"super", ""});
  txn.op = CheckOp{"/", -1};
  auto zxid = peer_->submit(encode_txn(txn), config_.request_timeout);
  if (!zxid.ok()) return zxid.status();
  return peer_->wait_applied(*zxid, config_.request_timeout);
}

std::string CoordServer::mode_name() const {
  if (config_.ensemble.servers().size() == 1) return "standalone";
  switch (peer_->state()) {
    case zab::PeerState::kLeading:
      return "leader";
    case zab::PeerState::kFollowing:
      return "follower";
    case zab::PeerState::kObserving:
      return "observer";
    case zab::PeerState::kLooking:
      break;
  }
  return "looking";
}

std::string CoordServer::four_letter(std::string_view command,
                                     std::optional<size_t> open_file_descriptors) const {
  const FourLetterView view{config_,
                            stats_,
                            machine_.tree(),
                            watches_,
                            *peer_,
                            connections_,
                            mode_name(),
                            started_,
                            Scheduler::current().now(),
                            open_file_descriptors};
  return answer_four_letter_word(command, view);
}

}  // namespace weir::coord::server
