// The ZooKeeper client protocol of one connection: handshake, request FIFO, replies, watches.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "buggify/code_probe.h"
#include "coord/jute/codec.h"
#include "coord/server/coord_server.h"
#include "coord/server/txn_codec.h"
#include "coord/tree/acl.h"
#include "runtime/future.h"
#include "runtime/trace.h"

namespace weir::coord::server {
namespace {

using jute::OpCode;
using JErr = jute::ErrorCode;

JErr to_jute(ErrorCode e) {
  return static_cast<JErr>(static_cast<int32_t>(e));
}

jute::Stat to_jute(const Stat& s) {
  jute::Stat out;
  out.czxid = Zxid(s.czxid);
  out.mzxid = Zxid(s.mzxid);
  out.ctime = s.ctime;
  out.mtime = s.mtime;
  out.version = s.version;
  out.cversion = s.cversion;
  out.aversion = s.aversion;
  out.ephemeralOwner = SessionId(s.ephemeral_owner);
  out.dataLength = s.data_length;
  out.numChildren = s.num_children;
  out.pzxid = Zxid(s.pzxid);
  return out;
}

AclList from_jute(const std::vector<jute::ACL>& acl) {
  AclList out;
  out.reserve(acl.size());
  for (const jute::ACL& a : acl) out.push_back(Acl{a.perms, Id{a.id.scheme, a.id.id}});
  return out;
}

std::vector<jute::ACL> to_jute(const AclList& acl) {
  std::vector<jute::ACL> out;
  for (const Acl& a : acl) out.push_back(jute::ACL{a.perms, jute::Id{a.id.scheme, a.id.id}});
  return out;
}

CreateOp create_op(const jute::CreateRequest& r) {
  return CreateOp{r.path, r.data, from_jute(r.acl), static_cast<int32_t>(r.flags), -1};
}
CreateOp create_op(const jute::CreateTTLRequest& r) {
  return CreateOp{r.path, r.data, from_jute(r.acl), static_cast<int32_t>(r.flags), r.ttl};
}

bool is_write(OpCode op) {
  switch (op) {
    case OpCode::kCreate:
    case OpCode::kCreate2:
    case OpCode::kCreateContainer:
    case OpCode::kCreateTTL:
    case OpCode::kDelete:
    case OpCode::kSetData:
    case OpCode::kSetACL:
    case OpCode::kCheck:
    case OpCode::kMulti:
    case OpCode::kSync:
    case OpCode::kCloseSession:
      return true;
    default:
      return false;
  }
}

// The Txn of a write request; nullopt for a multi holding ops a write multi cannot carry.
std::optional<TxnOp> txn_op(const jute::Request& req) {
  const auto& b = req.body;
  switch (req.header.type) {
    case OpCode::kCreate:
    case OpCode::kCreate2:
    case OpCode::kCreateContainer:
      return create_op(std::get<jute::CreateRequest>(b));
    case OpCode::kCreateTTL:
      return create_op(std::get<jute::CreateTTLRequest>(b));
    case OpCode::kDelete: {
      const auto& r = std::get<jute::DeleteRequest>(b);
      return DeleteOp{r.path, r.version};
    }
    case OpCode::kSetData: {
      const auto& r = std::get<jute::SetDataRequest>(b);
      return SetDataOp{r.path, r.data, r.version};
    }
    case OpCode::kSetACL: {
      const auto& r = std::get<jute::SetACLRequest>(b);
      return SetAclOp{r.path, from_jute(r.acl), r.version};
    }
    case OpCode::kCheck: {
      const auto& r = std::get<jute::CheckVersionRequest>(b);
      return CheckOp{r.path, r.version};
    }
    case OpCode::kSync:
      return CheckOp{"/", -1};
    case OpCode::kCloseSession:
      return CloseSessionOp{};
    default:
      break;
  }
  WEIR_ASSERT(req.header.type == OpCode::kMulti);
  MultiOp multi;
  for (const jute::MultiOp& op : std::get<jute::MultiRequest>(b).ops) {
    if (const auto* c = std::get_if<jute::CreateRequest>(&op.body)) {
      multi.ops.push_back(create_op(*c));
    } else if (const auto* t = std::get_if<jute::CreateTTLRequest>(&op.body)) {
      multi.ops.push_back(create_op(*t));
    } else if (const auto* d = std::get_if<jute::DeleteRequest>(&op.body)) {
      multi.ops.push_back(DeleteOp{d->path, d->version});
    } else if (const auto* s = std::get_if<jute::SetDataRequest>(&op.body)) {
      multi.ops.push_back(SetDataOp{s->path, s->data, s->version});
    } else if (const auto* k = std::get_if<jute::CheckVersionRequest>(&op.body)) {
      multi.ops.push_back(CheckOp{k->path, k->version});
    } else {
      return std::nullopt;
    }
  }
  return multi;
}

jute::MultiResult multi_result(const jute::MultiOp& op, const OpResult& r, bool failed) {
  if (failed) return {OpCode::kError, jute::ErrorResponse{to_jute(r.err)}};
  switch (op.type) {
    case OpCode::kCreate:
      return {op.type, jute::CreateResponse{r.path}};
    case OpCode::kCreate2:
    case OpCode::kCreateContainer:
    case OpCode::kCreateTTL:
      return {op.type, jute::Create2Response{r.path, to_jute(r.stat)}};
    case OpCode::kSetData:
      return {op.type, jute::SetDataResponse{to_jute(r.stat)}};
    default:
      return {op.type, jute::EmptyBody{}};
  }
}

void warn_malformed(ServerStats& stats, const Connection& conn, const absl::Status& s) {
  ++stats.malformed_frames;
  TraceEvent(Severity::kWarn, "CoordMalformedFrame")
      .detail("Peer", conn.peer)
      .detail("Reason", s.ToString());
}

}  // namespace

// ---- handshake ------------------------------------------------------------------------------

// Runs the handshake in an actor of its own; its reply (sent by handshake()) is the first in
// the connection's reply order. Frames that arrive meanwhile wait in `early`.
Future<framed::Reply> CoordServer::start_handshake(const std::shared_ptr<Connection>& conn,
                                                   std::string_view frame) {
  conn->handshake_started = true;
  auto done = spawn("coord-handshake",
                    [this, conn, request = std::string(frame)]() -> absl::StatusOr<framed::Reply> {
                      switch (handshake(*conn, request)) {
                        case Handshake::kAttached:
                          attached(conn);
                          return framed::Reply{};
                        case Handshake::kRefused:  // the expiry answer goes out, then it closes
                          return framed::Reply{{}, /*close_after=*/true};
                        case Handshake::kFailed:
                          break;
                      }
                      conn->close();
                      return absl::UnavailableError("handshake failed");
                    });
  conn->actors.add(done);
  return done;
}

// Answers the ConnectRequest in `frame`.
CoordServer::Handshake CoordServer::handshake(Connection& conn, std::string_view frame) {
  auto req = jute::decode_prefix<jute::ConnectRequest>(frame);
  if (!req.ok()) {
    warn_malformed(stats_, conn, req.status());
    return Handshake::kFailed;
  }
  ++stats_.packets_received;
  ++conn.received;
  if (req->lastZxidSeen > machine_.last_applied()) {
    // The client saw a newer state elsewhere: catch up first, or refuse as ZooKeeper does.
    if (!sync_barrier().ok() || req->lastZxidSeen > machine_.last_applied()) {
      TraceEvent(Severity::kInfo, "CoordClientAhead").detail("Peer", conn.peer);
      return Handshake::kFailed;
    }
  }
  const Attach attach = attach_session(conn, *req);
  // Without a quorum we cannot tell whether the session lives: close without an answer, as
  // ZooKeeper does, so the client tries another server instead of believing it expired.
  if (attach == Attach::kUnavailable) return Handshake::kFailed;
  // The session may have been closed by a txn applied while attach_session waited.
  const std::optional<std::string> password =
      attach == Attach::kAttached ? machine_.password(conn.session_id) : std::nullopt;
  const bool attached = password.has_value();
  jute::ConnectResponse rsp;
  rsp.protocolVersion = 0;
  rsp.timeOut = attached ? conn.timeout_ms : 0;
  rsp.sessionId = SessionId(attached ? conn.session_id : 0);
  rsp.passwd = attached ? *password : std::string(16, '\0');
  if (req->readOnly.has_value()) rsp.readOnly = false;
  ++stats_.packets_sent;
  ++conn.sent;
  if (!conn.link->send_encoded([&](std::string& out) { jute::append_frame(out, rsp); })) {
    return Handshake::kFailed;
  }
  if (!attached) return Handshake::kRefused;
  return conn.closed ? Handshake::kFailed : Handshake::kAttached;
}

// The session lives on this connection: watches deliver here, the responder starts, and the
// frames that arrived during the handshake are handled in order.
void CoordServer::attached(const std::shared_ptr<Connection>& conn) {
  watches_.add_connection(
      conn->id,
      [this, c = conn.get()](EventType type, const std::string& path) { notify(*c, type, path); });
  conn->actors.add(spawn("coord-conn-responder", [this, conn] { respond_loop(conn); }));
  // Handling a frame may suspend (a write's submission), and frames arriving meanwhile queue
  // behind: `attached` is set only once the queue is empty, so the order holds.
  while (!conn->early.empty() && !conn->closed) {
    auto [frame, promise] = std::move(conn->early.front());
    conn->early.pop_front();
    Future<framed::Reply> reply = handle_frame(*conn, frame);
    reply.on_ready([promise, state = reply.state()]() mutable { promise.set(state->result()); });
  }
  conn->attached = true;
}

// Commits the session's move to this connection before the client may send anything on it:
// writes the client sent on its old connection are then ordered before its new ones or fenced.
CoordServer::Attach CoordServer::move_session(Connection& conn, int64_t session) {
  Txn txn;
  txn.session_id = session;
  txn.auth.push_back(Id{"super", ""});
  txn.op = CheckOp{"/", -1};
  auto zxid =
      peer_->submit(encode_txn(txn, {}, conn.owner, /*reattach=*/true), config_.request_timeout);
  if (!zxid.ok()) return Attach::kUnavailable;
  machine_.expect_result(*zxid);
  const absl::Status s = peer_->wait_applied(*zxid, config_.request_timeout);
  std::optional<TxnResult> result = machine_.take_result(*zxid);
  machine_.forget_result(*zxid);
  if (!s.ok() || !result.has_value()) return Attach::kUnavailable;
  if (result->err == ErrorCode::kSessionExpired) return Attach::kExpired;
  return result->err == ErrorCode::kOk ? Attach::kAttached : Attach::kUnavailable;
}

// Creates or reattaches the session.
CoordServer::Attach CoordServer::attach_session(Connection& conn, const jute::ConnectRequest& req) {
  const int32_t timeout =
      std::clamp(req.timeOut, config_.min_timeout_ms(), config_.max_timeout_ms());
  int64_t id = req.sessionId.value();
  if (id == 0) {
    const uint64_t low = ctx_.random->next_u64() & ((uint64_t{1} << 48) - 1);
    id = static_cast<int64_t>((static_cast<uint64_t>(config_.my_id) << 56) | low);
    std::string password(16, '\0');
    for (char& c : password) c = static_cast<char>(ctx_.random->below(256));
    Txn txn;
    txn.session_id = id;
    txn.op = CreateSessionOp{timeout};
    ++local_sessions_[id];
    conn.session_id = id;  // finish_connection undoes the local count from here on
    auto zxid = peer_->submit(encode_txn(txn, password, conn.owner), config_.request_timeout);
    absl::Status s =
        zxid.ok() ? peer_->wait_applied(*zxid, config_.request_timeout) : zxid.status();
    if (!s.ok() || machine_.password(id) != password) {
      TraceEvent(Severity::kInfo, "CoordSessionCreateFailed").detail("Status", s.ToString());
      return Attach::kUnavailable;
    }
    conn.timeout_ms = timeout;
    TraceEvent(Severity::kInfo, "CoordSessionCreated")
        .detail("Session", id)
        .detail("TimeoutMs", timeout);
    return Attach::kAttached;
  }
  // A session created through another server may not have reached this one yet.
  if (!machine_.password(id).has_value() && !sync_barrier().ok()) return Attach::kUnavailable;
  auto password = machine_.password(id);
  // Being expired is not expired yet: the close may still fail to commit.
  if (expiring_.contains(id)) return Attach::kUnavailable;
  if (!password.has_value() || *password != req.passwd) {
    TraceEvent(Severity::kInfo, "CoordSessionRefused").detail("Session", id);
    return Attach::kExpired;
  }
  if (Attach moved = move_session(conn, id); moved != Attach::kAttached) return moved;
  ++local_sessions_[id];
  conn.session_id = id;
  conn.timeout_ms = timeout;
  touch(id);
  return Attach::kAttached;
}

// ---- reading requests -----------------------------------------------------------------------

Future<framed::Reply> CoordServer::handle_frame(Connection& conn, std::string_view frame) {
  ++stats_.packets_received;
  ++conn.received;
  touch(conn.session_id);
  auto req = jute::decode_request(frame);
  if (!req.ok()) {
    auto header = jute::decode_prefix<jute::RequestHeader>(frame);
    if (!absl::IsUnimplemented(req.status()) || !header.ok()) {
      warn_malformed(stats_, conn, req.status());
      conn.close();
      return Future<framed::Reply>::ready(req.status());
    }
    req = jute::Request{*header, jute::EmptyBody{}, 0};
    req->header.type = OpCode::kError;  // answered with Unimplemented below
  }
  Pending p;
  p.request = std::move(*req);
  p.received = Scheduler::current().now();
  Future<framed::Reply> done = p.done.future();
  const OpCode op = p.request.header.type;
  if (op == OpCode::kError || op == OpCode::kMultiRead || op == OpCode::kReconfig ||
      op == OpCode::kSasl || op == OpCode::kAddWatch || op == OpCode::kCheckWatches ||
      op == OpCode::kRemoveWatches) {
    p.kind = Pending::Kind::kReply;
    p.err = JErr::kUnimplemented;
  } else if (op == OpCode::kAuth) {
    const auto& auth = std::get<jute::AuthPacket>(p.request.body);
    p.kind = Pending::Kind::kReply;
    if (auth.scheme == "digest") {
      Id id{"digest", digest_auth_id(auth.auth)};
      if (std::find(conn.auth.begin(), conn.auth.end(), id) == conn.auth.end())
        conn.auth.push_back(id);
    } else {
      p.err = JErr::kAuthFailed;
      p.close_after = true;
    }
  } else if (op == OpCode::kSync && config_.bug == CoordBug::kSyncWithoutBarrier) {
    p.kind = Pending::Kind::kLocal;
    ++conn.unserved_reads;
  } else if (is_write(op)) {
    auto txn_op_or = txn_op(p.request);
    if (!txn_op_or.has_value()) {
      p.kind = Pending::Kind::kReply;
      p.err = JErr::kUnimplemented;
    } else {
      Txn txn;
      txn.session_id = op == OpCode::kSync ? 0 : conn.session_id;
      txn.auth = op == OpCode::kSync ? std::vector<Id>{Id{"super", ""}} : conn.auth;
      txn.op = std::move(*txn_op_or);
      queue_write(conn, std::move(p), std::move(txn), op == OpCode::kCloseSession);
      return done;
    }
  } else {
    p.kind = Pending::Kind::kLocal;
    ++conn.unserved_reads;
  }
  conn.pending.push_back(std::move(p));
  conn.pending_changed.fire_all();
  return done;
}

void CoordServer::queue_write(Connection& conn, Pending p, Txn txn, bool close_after) {
  if (close_after) conn.client_closing = true;
  p.close_after = close_after;
  p.kind = Pending::Kind::kWrite;
  p.txn = encode_txn(txn, {}, conn.owner);
  conn.pending.push_back(std::move(p));
  // A write must not overtake a read queued before it (that read would see the write), nor a
  // write still waiting for one: it is then submitted when it reaches the head of the FIFO.
  if (conn.unserved_reads == 0 && conn.unsubmitted_writes == 0) {
    submit(conn, conn.pending.back());
  } else {
    CODE_PROBE(true, "coord.write_waits_for_reads_before_it");
    ++conn.unsubmitted_writes;
  }
  conn.pending_changed.fire_all();
}

void CoordServer::submit(Connection& conn, Pending& p) {
  WEIR_ASSERT(p.kind == Pending::Kind::kWrite && !p.submit_started && !p.txn.empty());
  // Not awaited: the connection handles (and submits) its next requests while the leader orders
  // this one, so one connection's writes pipeline; ZAB keeps them in submission order. The
  // submission itself may suspend (a leader appends to its log): until `submitted` is set,
  // submit_started tells the responder to wait rather than submit again.
  p.submit_started = true;
  p.submitted = peer_->submit_async(std::exchange(p.txn, {}), config_.request_timeout);
  conn.pending_changed.fire_all();
  // Claim the result as soon as the zxid is known: the txn may be applied before this write
  // reaches the head of the FIFO.
  p.submitted.on_ready([this, alive = alive_, id = conn.id, state = p.submitted.state()] {
    if (*alive && connections_.contains(id) && state->result().ok())
      machine_.expect_result(*state->result());
  });
}

// At the head of the FIFO every read before it is served: submit the waiting write there and
// every waiting write right behind it, up to the next read.
void CoordServer::submit_waiting_writes(Connection& conn) {
  // By index: a submission may suspend while the reader appends to the FIFO (only this actor
  // pops it, so indexes stay put).
  for (size_t i = 0; i < conn.pending.size() && !conn.closed; ++i) {
    Pending& p = conn.pending[i];
    if (p.kind == Pending::Kind::kLocal) return;
    if (p.kind != Pending::Kind::kWrite || p.submit_started) continue;
    submit(conn, p);
    --conn.unsubmitted_writes;
  }
}

// ---- replying -------------------------------------------------------------------------------

void CoordServer::respond_loop(std::shared_ptr<Connection> conn) {
  while (true) {
    wait_for(conn->pending_changed, [&] { return conn->closed || !conn->pending.empty(); });
    if (conn->closed) return;
    Pending& p = conn->pending.front();
    const int32_t xid = p.request.header.xid;
    switch (p.kind) {
      case Pending::Kind::kLocal:
        serve_local(*conn, p.request);
        --conn->unserved_reads;
        break;
      case Pending::Kind::kReply:
        send(*conn, p.request.header.type, xid, p.err, jute::EmptyBody{});
        break;
      case Pending::Kind::kFailed:
        conn->close();  // the client sees ConnectionLoss and retries elsewhere
        return;
      case Pending::Kind::kWrite:
        if (!p.submit_started) submit_waiting_writes(*conn);
        CODE_PROBE(!p.submitted.valid(), "coord.responder_waits_for_submission");
        wait_for(conn->pending_changed, [&] { return conn->closed || p.submitted.valid(); });
        if (conn->closed) return;
        if (!answer_write(*conn, p)) {
          conn->close();  // the client sees ConnectionLoss and retries elsewhere
          return;
        }
        break;
    }
    record_reply(*conn, p);
    const bool close_after = p.close_after;
    // The reply is queued: the framed server's reply order moves on (and closes after it).
    p.done.set_value(framed::Reply{{}, close_after});
    conn->pending.pop_front();
    conn->pending_changed.fire_all();
    if (close_after) return;
  }
}

void CoordServer::record_reply(Connection& conn, const Pending& p) {
  const int64_t ms = to_ms(Scheduler::current().now() - p.received);
  stats_.latency.add(ms);
  conn.latency.add(ms);
  conn.last_latency_ms = ms;
  conn.last_op = p.request.header.type;
  conn.last_xid = p.request.header.xid;
  conn.last_zxid = machine_.last_applied();
  conn.last_response_wall_ms = ctx_.clock->wall_ms();
}

// Waits for the write at the head to be applied here and sends its reply. False when the
// connection must close instead.
bool CoordServer::answer_write(Connection& conn, Pending& p) {
  const Result<Zxid> zxid = await(p.submitted);
  if (!zxid.ok()) {
    TraceEvent(Severity::kInfo, "CoordSubmitFailed")
        .detail("Peer", conn.peer)
        .detail("Status", zxid.status().ToString());
    return false;
  }
  p.zxid = *zxid;
  // A result already published means applied here: a snapshot may since have cut the txn
  // from the history wait_applied looks in.
  std::optional<TxnResult> result = machine_.take_result(p.zxid);
  absl::Status s;
  if (!result.has_value()) {
    s = peer_->wait_applied(p.zxid, config_.request_timeout);
    if (s.ok()) result = machine_.take_result(p.zxid);
  }
  if (!result.has_value()) {
    machine_.forget_result(p.zxid);
    TraceEvent(Severity::kInfo, "CoordWriteLost")
        .detail("Peer", conn.peer)
        .detail("Status", s.ToString());
    return false;
  }
  if (result->err == ErrorCode::kSessionMoved) {
    // A slow reattach from a connection the client gave up on took the session: make the
    // client reconnect, which moves the session back to a connection it uses.
    TraceEvent(Severity::kInfo, "CoordSessionMoved")
        .detail("Peer", conn.peer)
        .detail("Session", conn.session_id);
    return false;
  }
  reply_write(conn, p, *result);
  return true;
}

void CoordServer::reply_write(Connection& conn, const Pending& p, const TxnResult& result) {
  const jute::RequestHeader& h = p.request.header;
  if (h.type == OpCode::kMulti) {
    jute::MultiResponse rsp;
    const auto& ops = std::get<jute::MultiRequest>(p.request.body).ops;
    const bool failed = result.err != ErrorCode::kOk;
    if (failed && result.multi.size() != ops.size()) {
      // Failed as a whole before any op ran (SessionMoved, SessionExpired): no per-op results.
      send(conn, h.type, h.xid, to_jute(result.err), jute::EmptyBody{});
      return;
    }
    for (size_t i = 0; i < ops.size() && i < result.multi.size(); ++i) {
      rsp.results.push_back(multi_result(ops[i], result.multi[i], failed));
    }
    send(conn, h.type, h.xid, JErr::kOk, rsp);
    return;
  }
  if (h.type == OpCode::kSync) {
    send(conn, h.type, h.xid, JErr::kOk,
         jute::SyncResponse{std::get<jute::SyncRequest>(p.request.body).path});
    return;
  }
  if (h.type == OpCode::kCloseSession) {
    send(conn, h.type, h.xid, to_jute(result.err), jute::EmptyBody{});
    return;
  }
  const OpResult& r = result.op;
  if (r.err != ErrorCode::kOk) {
    send(conn, h.type, h.xid, to_jute(r.err), jute::EmptyBody{});
    return;
  }
  switch (h.type) {
    case OpCode::kCreate:
      send(conn, h.type, h.xid, JErr::kOk, jute::CreateResponse{r.path});
      return;
    case OpCode::kCreate2:
    case OpCode::kCreateContainer:
    case OpCode::kCreateTTL:
      send(conn, h.type, h.xid, JErr::kOk, jute::Create2Response{r.path, to_jute(r.stat)});
      return;
    case OpCode::kSetData:
      send(conn, h.type, h.xid, JErr::kOk, jute::SetDataResponse{to_jute(r.stat)});
      return;
    case OpCode::kSetACL:
      send(conn, h.type, h.xid, JErr::kOk, jute::SetACLResponse{to_jute(r.stat)});
      return;
    default:
      send(conn, h.type, h.xid, JErr::kOk, jute::EmptyBody{});
      return;
  }
}

void CoordServer::serve_local(Connection& conn, const jute::Request& req) {
  const DataTree& tree = machine_.tree();
  const int32_t xid = req.header.xid;
  const OpCode op = req.header.type;
  switch (op) {
    case OpCode::kPing:
      send(conn, op, jute::kPingXid, JErr::kOk, jute::EmptyBody{});
      return;
    case OpCode::kSync:  // only with CoordBug::kSyncWithoutBarrier
      send(conn, op, xid, JErr::kOk,
           jute::SyncResponse{std::get<jute::SyncRequest>(req.body).path});
      return;
    case OpCode::kExists: {
      const auto& r = std::get<jute::ExistsRequest>(req.body);
      ExistsResult res = tree.exists(r.path, conn.auth);
      // exists on a missing node watches for its creation.
      if (r.watch && (res.err == ErrorCode::kOk || res.err == ErrorCode::kNoNode))
        watches_.add_data_watch(conn.id, r.path);
      if (res.err != ErrorCode::kOk)
        return send(conn, op, xid, to_jute(res.err), jute::EmptyBody{});
      return send(conn, op, xid, JErr::kOk, jute::ExistsResponse{to_jute(res.stat)});
    }
    case OpCode::kGetData: {
      const auto& r = std::get<jute::GetDataRequest>(req.body);
      GetDataResult res = tree.get_data(r.path, conn.auth);
      if (res.err != ErrorCode::kOk)
        return send(conn, op, xid, to_jute(res.err), jute::EmptyBody{});
      if (r.watch) watches_.add_data_watch(conn.id, r.path);
      return send(conn, op, xid, JErr::kOk,
                  jute::GetDataResponse{res.data ? *res.data : "", to_jute(res.stat)});
    }
    case OpCode::kGetChildren:
    case OpCode::kGetChildren2: {
      std::string path;
      bool watch = false;
      if (op == OpCode::kGetChildren) {
        const auto& r = std::get<jute::GetChildrenRequest>(req.body);
        path = r.path, watch = r.watch;
      } else {
        const auto& r = std::get<jute::GetChildren2Request>(req.body);
        path = r.path, watch = r.watch;
      }
      GetChildrenResult res = tree.get_children(path, conn.auth);
      if (res.err != ErrorCode::kOk)
        return send(conn, op, xid, to_jute(res.err), jute::EmptyBody{});
      if (watch) watches_.add_child_watch(conn.id, path);
      if (op == OpCode::kGetChildren)
        return send(conn, op, xid, JErr::kOk, jute::GetChildrenResponse{res.children});
      return send(conn, op, xid, JErr::kOk,
                  jute::GetChildren2Response{res.children, to_jute(res.stat)});
    }
    case OpCode::kGetACL: {
      GetAclResult res = tree.get_acl(std::get<jute::GetACLRequest>(req.body).path, conn.auth);
      if (res.err != ErrorCode::kOk)
        return send(conn, op, xid, to_jute(res.err), jute::EmptyBody{});
      return send(conn, op, xid, JErr::kOk,
                  jute::GetACLResponse{to_jute(res.acl), to_jute(res.stat)});
    }
    case OpCode::kGetEphemerals: {
      const auto& r = std::get<jute::GetEphemeralsRequest>(req.body);
      return send(conn, op, xid, JErr::kOk,
                  jute::GetEphemeralsResponse{tree.ephemerals(conn.session_id, r.prefixPath)});
    }
    case OpCode::kGetAllChildrenNumber: {
      CountResult res = tree.all_children_number(
          std::get<jute::GetAllChildrenNumberRequest>(req.body).path, conn.auth);
      if (res.err != ErrorCode::kOk)
        return send(conn, op, xid, to_jute(res.err), jute::EmptyBody{});
      return send(conn, op, xid, JErr::kOk,
                  jute::GetAllChildrenNumberResponse{static_cast<int32_t>(res.count)});
    }
    case OpCode::kWhoAmI: {
      jute::WhoAmIResponse rsp;
      for (const Id& id : conn.auth) rsp.clientInfo.push_back(jute::ClientInfo{id.scheme, id.id});
      return send(conn, op, xid, JErr::kOk, rsp);
    }
    case OpCode::kSetWatches:
    case OpCode::kSetWatches2:
      return serve_set_watches(conn, req);
    default:
      return send(conn, op, xid, JErr::kUnimplemented, jute::EmptyBody{});
  }
}

// Re-registers a reconnecting client's watches; a change after `relativeZxid` (the last zxid
// the client saw) fires at once, because the client missed it.
void CoordServer::serve_set_watches(Connection& conn, const jute::Request& req) {
  Zxid rel;
  const std::vector<std::string>* data = nullptr;
  const std::vector<std::string>* exist = nullptr;
  const std::vector<std::string>* child = nullptr;
  if (const auto* w = std::get_if<jute::SetWatches>(&req.body)) {
    rel = w->relativeZxid, data = &w->dataWatches, exist = &w->existWatches,
    child = &w->childWatches;
  } else {
    const auto& w2 = std::get<jute::SetWatches2>(req.body);
    rel = w2.relativeZxid, data = &w2.dataWatches, exist = &w2.existWatches,
    child = &w2.childWatches;
  }
  const DataTree& tree = machine_.tree();
  const std::vector<Id> super{Id{"super", ""}};
  for (const std::string& path : *data) {
    ExistsResult r = tree.exists(path, super);
    if (r.err != ErrorCode::kOk) {
      notify(conn, EventType::kNodeDeleted, path);
    } else if (r.stat.mzxid > rel.value()) {
      notify(conn, EventType::kNodeDataChanged, path);
    } else {
      watches_.add_data_watch(conn.id, path);
    }
  }
  for (const std::string& path : *exist) {
    if (tree.exists(path, super).err == ErrorCode::kOk) {
      notify(conn, EventType::kNodeCreated, path);
    } else {
      watches_.add_data_watch(conn.id, path);
    }
  }
  for (const std::string& path : *child) {
    ExistsResult r = tree.exists(path, super);
    if (r.err != ErrorCode::kOk) {
      notify(conn, EventType::kNodeDeleted, path);
    } else if (r.stat.pzxid > rel.value()) {
      notify(conn, EventType::kNodeChildrenChanged, path);
    } else {
      watches_.add_child_watch(conn.id, path);
    }
  }
  send(conn, req.header.type, jute::kSetWatchesXid, JErr::kOk, jute::EmptyBody{});
}

void CoordServer::send(Connection& conn, OpCode op, int32_t xid, JErr err,
                       const jute::ResponseBody& body) {
  if (conn.closed) return;
  const jute::ReplyHeader header{xid, machine_.last_applied(), err};
  ++stats_.packets_sent;
  ++conn.sent;
  // A full send queue closes the connection.
  (void)conn.link->send_encoded([&](std::string& out) {
    if (err != JErr::kOk) {
      jute::encode_reply(op, header, jute::EmptyBody{}, out);
    } else {
      jute::encode_reply(op, header, body, out);
    }
  });
}

void CoordServer::notify(Connection& conn, EventType type, const std::string& path) {
  if (config_.bug == CoordBug::kWatchAfterReply) {
    background_.add(spawn("coord-late-watch", [this, id = conn.id, type, path] {
      delay(50ms);
      auto it = connections_.find(id);
      if (it != connections_.end()) queue_notification(*it->second, type, path);
    }));
    return;
  }
  queue_notification(conn, type, path);
}

void CoordServer::queue_notification(Connection& conn, EventType type, const std::string& path) {
  jute::WatcherEvent event;
  event.type = static_cast<jute::EventType>(static_cast<int32_t>(type));
  event.state = jute::KeeperState::kSyncConnected;
  event.path = path;
  if (conn.closed) return;
  const jute::ReplyHeader header{jute::kNotificationXid, Zxid(-1), JErr::kOk};
  ++stats_.packets_sent;
  ++conn.sent;
  // A full send queue closes the connection.
  (void)conn.link->send_encoded(
      [&](std::string& out) { jute::encode_reply(OpCode::kNotification, header, event, out); });
}

}  // namespace weir::coord::server
