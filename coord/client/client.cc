#include "coord/client/client.h"

#include <algorithm>
#include <deque>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/actor_collection.h"
#include "runtime/channel.h"
#include "runtime/process_context.h"
#include "runtime/sync.h"
#include "runtime/trace.h"
#include "runtime/wait_list.h"

namespace weir::coord::client {
namespace {

using jute::OpCode;

absl::string_view av(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

bool is_final(SessionState s) {
  return s == SessionState::kExpired || s == SessionState::kClosed;
}

bool transition_allowed(SessionState from, SessionState to) {
  if (is_final(from) || from == to) return false;
  if (is_final(to)) return true;
  switch (from) {
    case SessionState::kConnecting:
      return to == SessionState::kConnected;
    case SessionState::kConnected:
      return to == SessionState::kDisconnected;
    case SessionState::kDisconnected:
      return to == SessionState::kConnecting;
    default:
      return false;
  }
}

// Which watch a request leaves once its reply comes (ZooKeeper registers only then, and an
// exists on a missing node leaves an exists watch instead of a data watch).
enum class WatchKind { kNone, kData, kChild };

}  // namespace

std::string_view session_state_name(SessionState state) {
  switch (state) {
    case SessionState::kConnecting:
      return "Connecting";
    case SessionState::kConnected:
      return "Connected";
    case SessionState::kDisconnected:
      return "Disconnected";
    case SessionState::kExpired:
      return "Expired";
    case SessionState::kClosed:
      return "Closed";
  }
  return "unknown";
}
std::ostream& operator<<(std::ostream& os, SessionState state) {
  return os << session_state_name(state);
}
std::ostream& operator<<(std::ostream& os, const WatchEvent& e) {
  return os << "WatchEvent{" << e.type << ", " << e.state << ", " << e.path << "}";
}

Op op_create(std::string path, std::string data, std::vector<ACL> acl, CreateMode mode) {
  jute::CreateRequest r;
  r.path = std::move(path);
  r.data = std::move(data);
  r.acl = std::move(acl);
  r.flags = mode;
  return Op{OpCode::kCreate, std::move(r)};
}
Op op_remove(std::string path, int32_t version) {
  jute::DeleteRequest r;
  r.path = std::move(path);
  r.version = version;
  return Op{OpCode::kDelete, std::move(r)};
}
Op op_set_data(std::string path, std::string data, int32_t version) {
  jute::SetDataRequest r;
  r.path = std::move(path);
  r.data = std::move(data);
  r.version = version;
  return Op{OpCode::kSetData, std::move(r)};
}
Op op_check(std::string path, int32_t version) {
  jute::CheckVersionRequest r;
  r.path = std::move(path);
  r.version = version;
  return Op{OpCode::kCheck, std::move(r)};
}

std::vector<ACL> open_acl_unsafe() {
  ACL acl;
  acl.perms = jute::perms::kAll;
  acl.id.scheme = "world";
  acl.id.id = "anyone";
  return {acl};
}

// A request sent on a connection and not yet answered. Replies come in xid order, so the
// connection keeps these in a FIFO and only ever looks at its front.
struct Pending {
  int32_t xid = 0;
  OpCode op{};
  Promise<jute::Reply> reply;
  WatchKind watch_kind = WatchKind::kNone;
  std::string watch_path;  // client-side (chroot-relative)
  Watcher watcher;
};

// One TCP connection to one server, from handshake to drop. Requests are encoded into `out` in
// xid order at the moment their xid is assigned, so the wire order is the xid order.
struct Connection {
  Connection(std::shared_ptr<IConnection> c, std::string s, size_t frame_max)
      : io(std::move(c)), server(std::move(s)), decoder(frame_max) {}
  void close() {
    if (closed) return;
    closed = true;
    io->close();
    writer_waiters.fire_all();
  }
  std::shared_ptr<IConnection> io;
  std::string server;
  jute::FrameDecoder decoder;
  std::string out;
  WaitList writer_waiters;
  std::deque<Pending> pending;
  std::deque<std::optional<Promise<void>>> auth_pending;  // re-sent auths have no promise
  TimePoint last_send{};
  TimePoint last_receive{};
  bool closed = false;
};

// What the event actor delivers, in queue order: a state change, a watch event, or a reply
// that arrived while earlier events were still queued (ZooKeeper's guarantee: a client sees the
// watch event before the read that shows the change, so such a reply waits its turn).
struct QueuedEvent {
  std::optional<SessionState> state;
  WatchEvent event;
  std::vector<Watcher> watchers;
  std::optional<Promise<jute::Reply>> reply_promise;
  std::optional<jute::Reply> reply;
};

// The client's state, shared with its actors so that they can unwind after the CoordClient
// object is gone. Every session state change happens on the session actor (or in close()).
class ClientCore : public std::enable_shared_from_this<ClientCore> {
 public:
  ClientCore(INetwork& network, IRandom& random, IClock& clock, ConnectString servers,
             CoordClientOptions options);
  void start();
  void shutdown();

  Future<jute::Reply> submit(OpCode op, jute::RequestBody body, WatchKind kind = WatchKind::kNone,
                             std::string watch_path = {}, Watcher watcher = {});
  // Sends one request and turns its reply into a T with `convert(reply)`. A reply with an
  // error becomes that error unless `pass_errors` (exists: NoNode is an answer, not a failure).
  template <class T, class F>
  Future<T> call(OpCode op, jute::RequestBody body, std::string context, F convert,
                 WatchKind kind = WatchKind::kNone, std::string watch_path = {},
                 Watcher watcher = {}, bool pass_errors = false);
  Future<void> add_auth(std::string scheme, std::string credentials);
  Future<void> close();
  Future<void> await_state(SessionState target, Duration limit);
  void set_state_listener(std::function<void(SessionState)> l) { listener_ = std::move(l); }

  std::string to_server(std::string_view path) const;
  std::string to_client(std::string_view path) const;

  SessionState state_ = SessionState::kConnecting;
  SessionId session_id_;
  std::string passwd_;
  Duration negotiated_{0};
  Zxid last_zxid_;
  std::string server_;
  CoordClient::Stats stats_;

 private:
  void run_session();
  absl::StatusOr<std::shared_ptr<Connection>> open(const std::string& server);
  absl::StatusOr<std::shared_ptr<Connection>> handshake(const std::string& server);
  absl::Status serve(const std::shared_ptr<Connection>& conn);
  void resend_session_setup(Connection& conn);
  absl::Status read_loop(Connection& conn);
  absl::Status handle_frame(Connection& conn, std::string_view frame);
  absl::Status handle_reply(Connection& conn, const jute::ReplyHeader& header,
                            std::string_view frame);
  absl::Status handle_notification(std::string_view frame);
  void handle_auth_reply(Connection& conn, const jute::ReplyHeader& header);
  void register_watch(Pending& p, jute::ErrorCode err);
  void run_writer(std::shared_ptr<Connection> conn);
  void run_heartbeat(std::shared_ptr<Connection> conn);
  void run_events();
  absl::StatusOr<Future<jute::Reply>> enqueue(OpCode op, const jute::RequestBody& body,
                                              WatchKind kind, std::string watch_path,
                                              Watcher watcher);
  absl::Status wait_until_sendable(std::string_view what);
  void send_frame(Connection& conn, int32_t xid, OpCode op, const jute::RequestBody& body);
  void fail_pending(Connection& conn, const absl::Status& why);
  void release_slot();
  void set_state(SessionState next);
  void expire();
  absl::Status protocol_error(Connection& conn, std::string message);
  void queue_event(QueuedEvent event);

  INetwork& network_;
  IRandom& random_;
  IClock& clock_;
  ConnectString servers_;
  CoordClientOptions options_;
  std::vector<size_t> order_;  // servers in the random order we try them
  size_t next_server_ = 0;
  std::shared_ptr<Connection> conn_;  // null while not connected
  int32_t next_xid_ = 1;
  size_t outstanding_ = 0;
  bool expired_seen_ = false;  // the server said the session is gone
  bool closing_ = false;
  WaitList state_waiters_;  // requests waiting for a connection or a slot
  std::vector<std::pair<SessionState, Promise<void>>> state_promises_;
  std::function<void(SessionState)> listener_;
  // Watches by client path; ordered maps so that expiry notifies them in a stable order.
  std::map<std::string, std::vector<Watcher>> data_watches_;
  std::map<std::string, std::vector<Watcher>> exist_watches_;
  std::map<std::string, std::vector<Watcher>> child_watches_;
  std::vector<std::pair<std::string, std::string>> auths_;  // re-sent after each reconnect
  Channel<QueuedEvent> events_;
  uint64_t events_queued_ = 0;     // sent to events_
  uint64_t events_delivered_ = 0;  // their callbacks returned
  Future<void> session_;
  ActorCollection actors_;  // the session and event actors
};

ClientCore::ClientCore(INetwork& network, IRandom& random, IClock& clock, ConnectString servers,
                       CoordClientOptions options)
    : network_(network),
      random_(random),
      clock_(clock),
      servers_(std::move(servers)),
      options_(options),
      events_(options.pending_events_max) {
  session_id_ = options_.resume_session_id;
  passwd_ = options_.resume_password;
  WEIR_ASSERT(!servers_.servers.empty());
  WEIR_ASSERT(options_.outstanding_requests_max > 0);
  WEIR_ASSERT(options_.session_timeout > Duration(0));
  // ZooKeeper's StaticHostProvider: shuffle once, then go round the ring, so that the clients
  // of an ensemble spread over its servers and a failover always moves to another server.
  for (size_t i = 0; i < servers_.servers.size(); ++i) order_.push_back(i);
  for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[random_.below(i)]);
}

void ClientCore::start() {
  auto self = shared_from_this();
  session_ = spawn("coord-client-session", [self] { self->run_session(); });
  actors_.add(session_);
  actors_.add(spawn("coord-client-events", [self] { self->run_events(); }));
}

void ClientCore::shutdown() {
  closing_ = true;
  if (conn_) {
    conn_->close();
    fail_pending(*conn_, absl::FailedPreconditionError("coord client destroyed"));
  }
  if (!is_final(state_)) state_ = SessionState::kClosed;  // no events: nobody is listening
  events_.close();
  session_.reset();
  actors_.clear();
  state_waiters_.fire_all();
  for (auto& [target, promise] : state_promises_) {
    promise.try_set(absl::FailedPreconditionError("coord client destroyed"));
  }
  state_promises_.clear();
}

std::string ClientCore::to_server(std::string_view path) const {
  if (servers_.chroot.empty()) return std::string(path);
  if (path == "/") return servers_.chroot;
  return absl::StrCat(servers_.chroot, av(path));
}

std::string ClientCore::to_client(std::string_view path) const {
  const std::string& root = servers_.chroot;
  if (root.empty() || path.substr(0, root.size()) != root) return std::string(path);
  if (path.size() == root.size()) return "/";
  return std::string(path.substr(root.size()));
}

// ---- session ------------------------------------------------------------------------------

void ClientCore::run_session() {
  size_t failures = 0;  // consecutive failed attempts
  while (!is_final(state_) && !closing_) {
    if (failures > 0 && failures % order_.size() == 0) {
      // A whole pass failed: back off with jitter so that an ensemble coming back is not hit
      // by every client at once.
      delay(random_.uniform_duration(Duration(0), options_.reconnect_backoff_max));
    }
    const std::string& server = servers_.servers[order_[next_server_]];
    next_server_ = (next_server_ + 1) % order_.size();
    auto conn = open(server);
    if (!conn.ok()) {
      if (expired_seen_) break;
      ++failures;
      ++stats_.connect_failures;
      TraceEvent(Severity::kInfo, "CoordClientConnectFailed")
          .detail("Server", server)
          .detail("Error", conn.status().ToString());
      continue;
    }
    failures = 0;
    if (closing_) {  // close() ran while we were connecting
      (*conn)->close();
      break;
    }
    const absl::Status why = serve(*conn);
    ++stats_.disconnects;
    TraceEvent(Severity::kInfo, "CoordClientDisconnected")
        .detail("Server", server)
        .detail("SessionId", session_id_)
        .detail("Reason", why.ToString());
    if (expired_seen_ || closing_) break;
    set_state(SessionState::kDisconnected);
    set_state(SessionState::kConnecting);
  }
  if (expired_seen_ && !closing_) expire();
}

absl::StatusOr<std::shared_ptr<Connection>> ClientCore::open(const std::string& server) {
  auto self = shared_from_this();
  Future<std::shared_ptr<Connection>> attempt =
      spawn("coord-client-connect", [self, server] { return self->handshake(server); });
  auto result = await(weir::timeout(std::move(attempt), options_.connect_timeout));
  if (absl::IsDeadlineExceeded(result.status())) {
    return absl::UnavailableError(absl::StrCat("connect to ", server, " timed out"));
  }
  return result;
}

absl::StatusOr<std::shared_ptr<Connection>> ClientCore::handshake(const std::string& server) {
  auto io = network_.connect(server);
  if (!io.ok()) return io.status();
  auto conn = std::make_shared<Connection>(*io, server, options_.frame_bytes_max);
  struct CloseOnError {  // a cancelled or failed handshake must not leak the socket
    std::shared_ptr<Connection> c;
    ~CloseOnError() {
      if (c) c->close();
    }
  } guard{conn};
  jute::ConnectRequest req;
  req.lastZxidSeen = last_zxid_;
  req.timeOut = static_cast<int32_t>(to_ms(options_.session_timeout));
  req.sessionId = session_id_;
  req.passwd = passwd_.empty() ? std::string(16, '\0') : passwd_;
  req.readOnly = false;
  std::string out;
  jute::append_frame(out, req);
  auto bytes = absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(out.data()), out.size());
  if (absl::Status s = conn->io->write(bytes); !s.ok()) return s;
  std::vector<uint8_t> buf(options_.read_chunk_bytes);
  std::optional<std::string_view> frame;
  while (!(frame = conn->decoder.pop())) {
    auto n = conn->io->read(absl::MakeSpan(buf));
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::UnavailableError("server closed the connection in the handshake");
    if (absl::Status s = conn->decoder.feed(absl::MakeConstSpan(buf.data(), *n)); !s.ok()) return s;
  }
  auto resp = jute::decode_prefix<jute::ConnectResponse>(*frame);
  if (!resp.ok()) return resp.status();
  if (resp->timeOut <= 0) {
    expired_seen_ = true;
    return zk_status(ErrorCode::kSessionExpired, absl::StrCat("server ", server));
  }
  if (session_id_.value() != 0 && resp->sessionId != session_id_) {
    TraceEvent(Severity::kWarn, "CoordClientSessionChanged")
        .detail("Old", session_id_)
        .detail("New", resp->sessionId);
  }
  session_id_ = resp->sessionId;
  passwd_ = resp->passwd;
  negotiated_ = std::chrono::milliseconds(resp->timeOut);
  guard.c = nullptr;
  return conn;
}

absl::Status ClientCore::serve(const std::shared_ptr<Connection>& conn) {
  conn->last_send = conn->last_receive = clock_.now();
  server_ = conn->server;
  conn_ = conn;
  ++stats_.connects;
  TraceEvent(Severity::kInfo, "CoordClientConnected")
      .detail("Server", conn->server)
      .detail("SessionId", session_id_)
      .detail("TimeoutMs", to_ms(negotiated_));
  resend_session_setup(*conn);
  ActorCollection helpers;  // die with this connection
  auto self = shared_from_this();
  helpers.add(spawn("coord-client-writer", [self, conn] { self->run_writer(conn); }));
  helpers.add(spawn("coord-client-heartbeat", [self, conn] { self->run_heartbeat(conn); }));
  set_state(SessionState::kConnected);
  absl::Status why = read_loop(*conn);
  conn->close();
  conn_ = nullptr;
  fail_pending(*conn, zk_status(ErrorCode::kConnectionLoss,
                                absl::StrCat("connection to ", conn->server, " lost")));
  return why;
}

// Auth and watches belong to the session, but a server only knows what this connection told
// it: send them again, before any request, as ZooKeeper clients do.
void ClientCore::resend_session_setup(Connection& conn) {
  for (const auto& [scheme, credentials] : auths_) {
    jute::AuthPacket auth;
    auth.scheme = scheme;
    auth.auth = credentials;
    send_frame(conn, jute::kAuthXid, OpCode::kAuth, auth);
    conn.auth_pending.emplace_back(std::nullopt);
  }
  if (data_watches_.empty() && exist_watches_.empty() && child_watches_.empty()) return;
  jute::SetWatches sw;
  sw.relativeZxid = last_zxid_;
  for (const auto& [path, w] : data_watches_) sw.dataWatches.push_back(to_server(path));
  for (const auto& [path, w] : exist_watches_) sw.existWatches.push_back(to_server(path));
  for (const auto& [path, w] : child_watches_) sw.childWatches.push_back(to_server(path));
  send_frame(conn, jute::kSetWatchesXid, OpCode::kSetWatches, sw);
}

void ClientCore::set_state(SessionState next) {
  WEIR_ASSERT_MSG(transition_allowed(state_, next), "coord client: bad session transition");
  TraceEvent(Severity::kInfo, "CoordClientState")
      .detail("From", session_state_name(state_))
      .detail("To", session_state_name(next))
      .detail("SessionId", session_id_);
  state_ = next;
  state_waiters_.fire_all();
  auto promises = std::move(state_promises_);
  state_promises_.clear();
  for (auto& entry : promises) {
    if (!entry.second.has_listeners()) continue;  // timed out
    if (entry.first == next) {
      entry.second.set(absl::OkStatus());
    } else if (is_final(next)) {
      entry.second.set(
          absl::FailedPreconditionError(absl::StrCat("session is ", av(session_state_name(next)))));
    } else {
      state_promises_.push_back(std::move(entry));
    }
  }
  QueuedEvent event;
  event.state = next;
  queue_event(std::move(event));
}

// The session is gone on the server: every watch gets a final Expired event (ZooKeeper tells
// the default watcher only; telling each watcher lets a broker's callbacks clean up).
void ClientCore::expire() {
  set_state(SessionState::kExpired);
  for (auto* table : {&data_watches_, &exist_watches_, &child_watches_}) {
    auto watches = std::move(*table);
    table->clear();
    for (auto& [path, watchers] : watches) {
      QueuedEvent event;
      event.event = WatchEvent{EventType::kNone, KeeperState::kExpired, path};
      event.watchers = std::move(watchers);
      queue_event(std::move(event));
    }
  }
}

void ClientCore::queue_event(QueuedEvent event) {
  ++events_queued_;
  (void)events_.send(std::move(event));  // fails only once the client is being destroyed
}

void ClientCore::run_events() {
  while (true) {
    auto event = events_.receive();
    if (!event.ok()) return;
    if (event->state) {
      if (listener_) listener_(*event->state);
    } else if (event->reply_promise) {
      event->reply_promise->try_set(std::move(*event->reply));
    } else {
      ++stats_.watch_events;
      for (auto& watcher : event->watchers) watcher(event->event);
    }
    ++events_delivered_;
  }
}

Future<void> ClientCore::await_state(SessionState target, Duration limit) {
  if (state_ == target) return Future<void>::ready(absl::OkStatus());
  if (is_final(state_)) {
    return Future<void>::ready(
        absl::FailedPreconditionError(absl::StrCat("session is ", av(session_state_name(state_)))));
  }
  Promise<void> promise;
  Future<void> f = promise.future();
  state_promises_.emplace_back(target, std::move(promise));
  return weir::timeout(std::move(f), limit);
}

// ---- connection actors ----------------------------------------------------------------------

void ClientCore::run_writer(std::shared_ptr<Connection> conn) {
  while (!conn->closed) {
    if (conn->out.empty()) {
      wait_on(conn->writer_waiters);
      continue;
    }
    std::string batch;
    batch.swap(conn->out);
    auto bytes = absl::MakeConstSpan(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
    if (!conn->io->write(bytes).ok()) {
      conn->close();
      return;
    }
  }
}

// Pings keep the session alive while idle (every timeout/3, like ZooKeeper); a server silent
// for 2/3 of the timeout is presumed dead, leaving a third of it to find another server before
// the session expires.
void ClientCore::run_heartbeat(std::shared_ptr<Connection> conn) {
  const Duration ping_every = negotiated_ / 3;
  const Duration read_timeout = negotiated_ * 2 / 3;
  while (!conn->closed) {
    const TimePoint now = clock_.now();
    if (now - conn->last_receive >= read_timeout) {
      TraceEvent(Severity::kWarn, "CoordClientReadTimeout")
          .detail("Server", conn->server)
          .detail("SilentMs", to_ms(now - conn->last_receive));
      conn->close();
      return;
    }
    if (now - conn->last_send >= ping_every) {
      send_frame(*conn, jute::kPingXid, OpCode::kPing, jute::EmptyBody{});
      ++stats_.pings;
    }
    const TimePoint wake =
        std::min(conn->last_send + ping_every, conn->last_receive + read_timeout);
    delay(std::max(wake - now, Duration(1ms)));
  }
}

absl::Status ClientCore::read_loop(Connection& conn) {
  std::vector<uint8_t> buf(options_.read_chunk_bytes);
  while (true) {
    // Frames left over from the handshake's read come first.
    while (auto frame = conn.decoder.pop()) {
      if (absl::Status s = handle_frame(conn, *frame); !s.ok()) return s;
    }
    if (conn.closed) return absl::UnavailableError("connection closed");
    auto n = conn.io->read(absl::MakeSpan(buf));
    if (!n.ok()) return n.status();
    if (*n == 0) return absl::UnavailableError("server closed the connection");
    conn.last_receive = clock_.now();
    if (absl::Status s = conn.decoder.feed(absl::MakeConstSpan(buf.data(), *n)); !s.ok()) {
      return protocol_error(conn, std::string(s.message()));
    }
  }
}

absl::Status ClientCore::protocol_error(Connection& conn, std::string message) {
  ++stats_.protocol_errors;
  TraceEvent(Severity::kWarn, "CoordClientProtocolError")
      .detail("Server", conn.server)
      .detail("Error", message);
  return absl::DataLossError(std::move(message));
}

absl::Status ClientCore::handle_frame(Connection& conn, std::string_view frame) {
  auto header = jute::decode_prefix<jute::ReplyHeader>(frame);
  if (!header.ok()) return protocol_error(conn, std::string(header.status().message()));
  switch (header->xid) {
    case jute::kPingXid:
      return absl::OkStatus();
    case jute::kAuthXid:
      handle_auth_reply(conn, *header);
      return absl::OkStatus();
    case jute::kSetWatchesXid:
      if (header->err != ErrorCode::kOk) {
        TraceEvent(Severity::kWarn, "CoordClientSetWatchesFailed")
            .detail("Error", jute::error_code_name(header->err));
      }
      return absl::OkStatus();
    case jute::kNotificationXid:
      if (absl::Status s = handle_notification(frame); !s.ok()) {
        return protocol_error(conn, std::string(s.message()));
      }
      return absl::OkStatus();
    default:
      return handle_reply(conn, *header, frame);
  }
}

absl::Status ClientCore::handle_reply(Connection& conn, const jute::ReplyHeader& header,
                                      std::string_view frame) {
  if (conn.pending.empty() || conn.pending.front().xid != header.xid) {
    return protocol_error(
        conn, absl::StrCat("reply xid ", header.xid, " but expected ",
                           conn.pending.empty() ? std::string("none")
                                                : std::to_string(conn.pending.front().xid)));
  }
  auto reply = jute::decode_reply(frame, conn.pending.front().op);
  if (!reply.ok()) return protocol_error(conn, std::string(reply.status().message()));
  if (header.zxid > last_zxid_) last_zxid_ = header.zxid;
  Pending done = std::move(conn.pending.front());
  conn.pending.pop_front();
  release_slot();
  register_watch(done, header.err);
  if (events_queued_ == events_delivered_) {
    done.reply.try_set(std::move(*reply));
  } else {
    QueuedEvent deferred;
    deferred.reply_promise = std::move(done.reply);
    deferred.reply = std::move(*reply);
    queue_event(std::move(deferred));
  }
  if (header.err == ErrorCode::kSessionExpired) {
    expired_seen_ = true;
    return zk_status(ErrorCode::kSessionExpired, "in a reply");
  }
  return absl::OkStatus();
}

void ClientCore::handle_auth_reply(Connection& conn, const jute::ReplyHeader& header) {
  std::optional<Promise<void>> promise;
  if (!conn.auth_pending.empty()) {
    promise = std::move(conn.auth_pending.front());
    conn.auth_pending.pop_front();
  }
  if (header.err != ErrorCode::kOk) {
    TraceEvent(Severity::kWarn, "CoordClientAuthFailed")
        .detail("Error", jute::error_code_name(header.err));
  }
  if (promise) promise->try_set(zk_status(header.err, "addAuth"));
}

void ClientCore::register_watch(Pending& p, jute::ErrorCode err) {
  if (!p.watcher) return;
  if (p.watch_kind == WatchKind::kData) {
    if (err == ErrorCode::kOk) {
      data_watches_[p.watch_path].push_back(std::move(p.watcher));
    } else if (err == ErrorCode::kNoNode && p.op == OpCode::kExists) {
      exist_watches_[p.watch_path].push_back(std::move(p.watcher));
    }
  } else if (p.watch_kind == WatchKind::kChild && err == ErrorCode::kOk) {
    child_watches_[p.watch_path].push_back(std::move(p.watcher));
  }
}

absl::Status ClientCore::handle_notification(std::string_view frame) {
  auto reply = jute::decode_reply(frame, OpCode::kNotification);
  if (!reply.ok()) return reply.status();
  const auto& ev = std::get<jute::WatcherEvent>(reply->body);
  QueuedEvent event;
  event.event = WatchEvent{ev.type, ev.state, to_client(ev.path)};
  auto take = [&](std::map<std::string, std::vector<Watcher>>& table) {
    auto it = table.find(event.event.path);
    if (it == table.end()) return;
    for (auto& w : it->second) event.watchers.push_back(std::move(w));
    table.erase(it);
  };
  switch (ev.type) {
    case EventType::kNodeCreated:
    case EventType::kNodeDataChanged:
      take(data_watches_);
      take(exist_watches_);
      break;
    case EventType::kNodeDeleted:
      take(data_watches_);
      take(exist_watches_);
      take(child_watches_);
      break;
    case EventType::kNodeChildrenChanged:
      take(child_watches_);
      break;
    default:
      break;
  }
  if (!event.watchers.empty()) queue_event(std::move(event));
  return absl::OkStatus();
}

void ClientCore::fail_pending(Connection& conn, const absl::Status& why) {
  auto pending = std::move(conn.pending);
  conn.pending.clear();
  for (auto& p : pending) {
    p.reply.try_set(why);
    release_slot();
  }
  auto auths = std::move(conn.auth_pending);
  conn.auth_pending.clear();
  for (auto& a : auths) {
    if (a) a->try_set(why);
  }
}

void ClientCore::release_slot() {
  WEIR_ASSERT(outstanding_ > 0);
  --outstanding_;
  state_waiters_.fire_one();
}

// ---- requests -------------------------------------------------------------------------------

void ClientCore::send_frame(Connection& conn, int32_t xid, OpCode op,
                            const jute::RequestBody& body) {
  jute::encode_request(jute::RequestHeader{xid, op}, body, conn.out);
  conn.last_send = clock_.now();
  conn.writer_waiters.fire_all();
}

absl::Status ClientCore::wait_until_sendable(std::string_view what) {
  while (true) {
    if (state_ == SessionState::kExpired) return zk_status(ErrorCode::kSessionExpired, what);
    if (state_ == SessionState::kClosed || closing_) {
      return absl::FailedPreconditionError(absl::StrCat("coord client closed: ", av(what)));
    }
    if (state_ == SessionState::kConnected && conn_ != nullptr && !conn_->closed &&
        outstanding_ < options_.outstanding_requests_max) {
      return absl::OkStatus();
    }
    wait_on(state_waiters_);
  }
}

absl::StatusOr<Future<jute::Reply>> ClientCore::enqueue(OpCode op, const jute::RequestBody& body,
                                                        WatchKind kind, std::string watch_path,
                                                        Watcher watcher) {
  const std::string what(jute::op_code_name(op));
  if (absl::Status s = wait_until_sendable(what); !s.ok()) return s;
  const int32_t xid = next_xid_;
  // Wraps after 2^31 requests; negative xids are reserved.
  next_xid_ = next_xid_ == INT32_MAX ? 1 : next_xid_ + 1;
  Pending p;
  p.xid = xid;
  p.op = op;
  p.watch_kind = kind;
  p.watch_path = std::move(watch_path);
  p.watcher = std::move(watcher);
  Future<jute::Reply> reply = p.reply.future();
  const size_t before = conn_->out.size();
  send_frame(*conn_, xid, op, body);
  if (conn_->out.size() - before > options_.frame_bytes_max) {
    conn_->out.resize(before);
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": request exceeds ", options_.frame_bytes_max, " bytes"));
  }
  conn_->pending.push_back(std::move(p));
  ++outstanding_;
  return reply;
}

Future<jute::Reply> ClientCore::submit(OpCode op, jute::RequestBody body, WatchKind kind,
                                       std::string watch_path, Watcher watcher) {
  auto self = shared_from_this();
  Future<jute::Reply> attempt =
      spawn("coord-client-request",
            [self, op, body = std::move(body), kind, watch_path = std::move(watch_path),
             watcher = std::move(watcher)]() mutable -> absl::StatusOr<jute::Reply> {
              auto reply = self->enqueue(op, body, kind, std::move(watch_path), std::move(watcher));
              if (!reply.ok()) return reply.status();
              return await(std::move(*reply));
            });
  return weir::timeout(std::move(attempt), options_.request_timeout);
}

template <class T, class F>
Future<T> ClientCore::call(OpCode op, jute::RequestBody body, std::string context, F convert,
                           WatchKind kind, std::string watch_path, Watcher watcher,
                           bool pass_errors) {
  auto self = shared_from_this();
  Future<T> attempt = spawn("coord-client-request",
                            [self, op, body = std::move(body), context = std::move(context),
                             convert = std::move(convert), kind, watch_path = std::move(watch_path),
                             watcher = std::move(watcher), pass_errors]() mutable -> Result<T> {
                              auto queued = self->enqueue(op, body, kind, std::move(watch_path),
                                                          std::move(watcher));
                              if (!queued.ok()) return queued.status();
                              absl::StatusOr<jute::Reply> reply = await(std::move(*queued));
                              if (!reply.ok()) return reply.status();
                              if (reply->header.err != ErrorCode::kOk && !pass_errors) {
                                return zk_status(reply->header.err, context);
                              }
                              return convert(*reply);
                            });
  return weir::timeout(std::move(attempt), options_.request_timeout);
}

Future<void> ClientCore::add_auth(std::string scheme, std::string credentials) {
  auto self = shared_from_this();
  Future<void> attempt = spawn("coord-client-auth", [self, scheme, credentials]() -> absl::Status {
    if (absl::Status s = self->wait_until_sendable("addAuth"); !s.ok()) return s;
    jute::AuthPacket auth;
    auth.scheme = scheme;
    auth.auth = credentials;
    Promise<void> promise;
    Future<void> done = promise.future();
    self->send_frame(*self->conn_, jute::kAuthXid, OpCode::kAuth, auth);
    self->conn_->auth_pending.emplace_back(std::move(promise));
    absl::Status s = await(std::move(done));
    if (s.ok()) self->auths_.emplace_back(scheme, credentials);
    return s;
  });
  return weir::timeout(std::move(attempt), options_.request_timeout);
}

Future<void> ClientCore::close() {
  auto self = shared_from_this();
  return spawn("coord-client-close", [self]() -> absl::Status {
    if (is_final(self->state_)) return absl::OkStatus();
    // Best effort: a server that does not answer lets the session expire instead, and the
    // caller hears so (its ephemerals live on until then).
    absl::Status said_bye = zk_status(ErrorCode::kConnectionLoss, "closeSession not acknowledged");
    if (self->state_ == SessionState::kConnected) {
      Future<jute::Reply> bye = self->submit(OpCode::kCloseSession, jute::EmptyBody{});
      auto reply = await(weir::timeout(std::move(bye), self->options_.connect_timeout));
      if (reply.ok()) said_bye = zk_status(reply->header.err, "closeSession");
    }
    if (is_final(self->state_)) return said_bye;
    self->closing_ = true;
    if (self->conn_) {
      self->conn_->close();
      self->fail_pending(*self->conn_, absl::FailedPreconditionError("coord client closed"));
    }
    self->session_.reset();
    self->set_state(SessionState::kClosed);
    return said_bye;
  });
}

// ---- CoordClient --------------------------------------------------------------------------

CoordClient::CoordClient(INetwork& network, IRandom& random, IClock& clock, ConnectString servers,
                         CoordClientOptions options)
    : core_(std::make_shared<ClientCore>(network, random, clock, std::move(servers), options)) {
  core_->start();
}

CoordClient::CoordClient(ConnectString servers, CoordClientOptions options)
    : CoordClient(*current_context().network, *current_context().random, *current_context().clock,
                  std::move(servers), options) {}

absl::StatusOr<std::unique_ptr<CoordClient>> CoordClient::create(std::string_view connect_string,
                                                                 CoordClientOptions options) {
  auto parsed = parse_connect_string(connect_string);
  if (!parsed.ok()) return parsed.status();
  return std::make_unique<CoordClient>(std::move(*parsed), options);
}

CoordClient::~CoordClient() {
  core_->shutdown();
}

SessionState CoordClient::state() const {
  return core_->state_;
}
SessionId CoordClient::session_id() const {
  return core_->session_id_;
}
const std::string& CoordClient::session_password() const {
  return core_->passwd_;
}
Duration CoordClient::negotiated_timeout() const {
  return core_->negotiated_;
}
Zxid CoordClient::last_zxid_seen() const {
  return core_->last_zxid_;
}
const std::string& CoordClient::connected_server() const {
  return core_->server_;
}
const CoordClient::Stats& CoordClient::stats() const {
  return core_->stats_;
}
Future<void> CoordClient::await_state(SessionState target, Duration limit) {
  return core_->await_state(target, limit);
}
void CoordClient::set_state_listener(std::function<void(SessionState)> listener) {
  core_->set_state_listener(std::move(listener));
}
Future<void> CoordClient::add_auth(std::string scheme, std::string credentials) {
  return core_->add_auth(std::move(scheme), std::move(credentials));
}
Future<void> CoordClient::close() {
  return core_->close();
}

}  // namespace weir::coord::client

// ---- CoordClient requests -------------------------------------------------------------------

namespace weir::coord::client {
namespace {

template <class T>
const T& body_of(const jute::Reply& reply) {
  return std::get<T>(reply.body);
}

jute::CreateRequest create_request(std::string path, std::string data, std::vector<ACL> acl,
                                   CreateMode mode) {
  jute::CreateRequest req;
  req.path = std::move(path);
  req.data = std::move(data);
  req.acl = std::move(acl);
  req.flags = mode;
  return req;
}

std::string describe(std::string_view op, std::string_view path) {
  return absl::StrCat(av(op), " ", av(path));
}

}  // namespace

Future<std::string> CoordClient::create(std::string path, std::string data, std::vector<ACL> acl,
                                        CreateMode mode) {
  auto core = core_;
  jute::CreateRequest req =
      create_request(core->to_server(path), std::move(data), std::move(acl), mode);
  if (mode == CreateMode::kContainer) {
    // ZooKeeper has a distinct opcode for containers; its reply carries a Stat too.
    return core->call<std::string>(OpCode::kCreateContainer, std::move(req),
                                   describe("create", path),
                                   [core](const jute::Reply& r) -> absl::StatusOr<std::string> {
                                     return core->to_client(body_of<jute::Create2Response>(r).path);
                                   });
  }
  return core->call<std::string>(OpCode::kCreate, std::move(req), describe("create", path),
                                 [core](const jute::Reply& r) -> absl::StatusOr<std::string> {
                                   return core->to_client(body_of<jute::CreateResponse>(r).path);
                                 });
}

Future<CreateResult> CoordClient::create2(std::string path, std::string data, std::vector<ACL> acl,
                                          CreateMode mode) {
  auto core = core_;
  jute::CreateRequest req =
      create_request(core->to_server(path), std::move(data), std::move(acl), mode);
  const OpCode op = mode == CreateMode::kContainer ? OpCode::kCreateContainer : OpCode::kCreate2;
  return core->call<CreateResult>(op, std::move(req), describe("create2", path),
                                  [core](const jute::Reply& r) -> absl::StatusOr<CreateResult> {
                                    const auto& body = body_of<jute::Create2Response>(r);
                                    return CreateResult{core->to_client(body.path), body.stat};
                                  });
}

Future<CreateResult> CoordClient::create_ttl(std::string path, std::string data,
                                             std::vector<ACL> acl, CreateMode mode,
                                             int64_t ttl_ms) {
  auto core = core_;
  jute::CreateTTLRequest req;
  req.path = core->to_server(path);
  req.data = std::move(data);
  req.acl = std::move(acl);
  req.flags = mode;
  req.ttl = ttl_ms;
  return core->call<CreateResult>(OpCode::kCreateTTL, std::move(req), describe("createTTL", path),
                                  [core](const jute::Reply& r) -> absl::StatusOr<CreateResult> {
                                    const auto& body = body_of<jute::Create2Response>(r);
                                    return CreateResult{core->to_client(body.path), body.stat};
                                  });
}

Future<void> CoordClient::remove(std::string path, int32_t version) {
  jute::DeleteRequest req;
  req.path = core_->to_server(path);
  req.version = version;
  return core_->call<void>(OpCode::kDelete, std::move(req), describe("delete", path),
                           [](const jute::Reply&) { return absl::OkStatus(); });
}

Future<std::optional<Stat>> CoordClient::exists(std::string path, Watcher watch) {
  jute::ExistsRequest req;
  req.path = core_->to_server(path);
  req.watch = static_cast<bool>(watch);
  std::string context = describe("exists", path);
  return core_->call<std::optional<Stat>>(
      OpCode::kExists, std::move(req), context,
      [context](const jute::Reply& r) -> absl::StatusOr<std::optional<Stat>> {
        if (r.header.err == ErrorCode::kNoNode) return std::optional<Stat>();
        if (r.header.err != ErrorCode::kOk) return zk_status(r.header.err, context);
        return std::optional<Stat>(body_of<jute::ExistsResponse>(r).stat);
      },
      WatchKind::kData, std::move(path), std::move(watch), /*pass_errors=*/true);
}

Future<DataResult> CoordClient::get_data(std::string path, Watcher watch) {
  jute::GetDataRequest req;
  req.path = core_->to_server(path);
  req.watch = static_cast<bool>(watch);
  return core_->call<DataResult>(
      OpCode::kGetData, std::move(req), describe("getData", path),
      [](const jute::Reply& r) -> absl::StatusOr<DataResult> {
        const auto& body = body_of<jute::GetDataResponse>(r);
        return DataResult{body.data, body.stat};
      },
      WatchKind::kData, path, std::move(watch));
}

Future<Stat> CoordClient::set_data(std::string path, std::string data, int32_t version) {
  jute::SetDataRequest req;
  req.path = core_->to_server(path);
  req.data = std::move(data);
  req.version = version;
  return core_->call<Stat>(OpCode::kSetData, std::move(req), describe("setData", path),
                           [](const jute::Reply& r) -> absl::StatusOr<Stat> {
                             return body_of<jute::SetDataResponse>(r).stat;
                           });
}

Future<std::vector<std::string>> CoordClient::get_children(std::string path, Watcher watch) {
  jute::GetChildrenRequest req;
  req.path = core_->to_server(path);
  req.watch = static_cast<bool>(watch);
  return core_->call<std::vector<std::string>>(
      OpCode::kGetChildren, std::move(req), describe("getChildren", path),
      [](const jute::Reply& r) -> absl::StatusOr<std::vector<std::string>> {
        return body_of<jute::GetChildrenResponse>(r).children;
      },
      WatchKind::kChild, path, std::move(watch));
}

Future<ChildrenResult> CoordClient::get_children2(std::string path, Watcher watch) {
  jute::GetChildren2Request req;
  req.path = core_->to_server(path);
  req.watch = static_cast<bool>(watch);
  return core_->call<ChildrenResult>(
      OpCode::kGetChildren2, std::move(req), describe("getChildren2", path),
      [](const jute::Reply& r) -> absl::StatusOr<ChildrenResult> {
        const auto& body = body_of<jute::GetChildren2Response>(r);
        return ChildrenResult{body.children, body.stat};
      },
      WatchKind::kChild, path, std::move(watch));
}

Future<AclResult> CoordClient::get_acl(std::string path) {
  jute::GetACLRequest req;
  req.path = core_->to_server(path);
  return core_->call<AclResult>(OpCode::kGetACL, std::move(req), describe("getACL", path),
                                [](const jute::Reply& r) -> absl::StatusOr<AclResult> {
                                  const auto& body = body_of<jute::GetACLResponse>(r);
                                  return AclResult{body.acl, body.stat};
                                });
}

Future<Stat> CoordClient::set_acl(std::string path, std::vector<ACL> acl, int32_t version) {
  jute::SetACLRequest req;
  req.path = core_->to_server(path);
  req.acl = std::move(acl);
  req.version = version;
  return core_->call<Stat>(OpCode::kSetACL, std::move(req), describe("setACL", path),
                           [](const jute::Reply& r) -> absl::StatusOr<Stat> {
                             return body_of<jute::SetACLResponse>(r).stat;
                           });
}

Future<void> CoordClient::sync(std::string path) {
  jute::SyncRequest req;
  req.path = core_->to_server(path);
  return core_->call<void>(OpCode::kSync, std::move(req), describe("sync", path),
                           [](const jute::Reply&) { return absl::OkStatus(); });
}

namespace {

OpResult to_op_result(const jute::MultiResult& result, const ClientCore& core) {
  OpResult out;
  out.type = result.type;
  std::visit(
      [&](const auto& body) {
        using B = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<B, jute::CreateResponse>) {
          out.path = core.to_client(body.path);
        } else if constexpr (std::is_same_v<B, jute::Create2Response>) {
          out.path = core.to_client(body.path);
          out.stat = body.stat;
        } else if constexpr (std::is_same_v<B, jute::SetDataResponse>) {
          out.stat = body.stat;
        } else if constexpr (std::is_same_v<B, jute::ErrorResponse>) {
          out.error = body.err;
        }
      },
      result.body);
  return out;
}

}  // namespace

Future<std::vector<OpResult>> CoordClient::multi(std::vector<Op> ops) {
  auto core = core_;
  jute::MultiRequest req;
  for (Op& op : ops) {
    std::visit([&](auto& body) { body.path = core->to_server(body.path); }, op.body);
    req.ops.push_back(std::move(op));
  }
  return core->call<std::vector<OpResult>>(
      OpCode::kMulti, std::move(req), "multi",
      [core](const jute::Reply& r) -> absl::StatusOr<std::vector<OpResult>> {
        std::vector<OpResult> results;
        for (const auto& result : body_of<jute::MultiResponse>(r).results) {
          results.push_back(to_op_result(result, *core));
        }
        return results;
      });
}

}  // namespace weir::coord::client
