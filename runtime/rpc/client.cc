#include "runtime/rpc/client.h"

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/actor_collection.h"
#include "runtime/process_context.h"
#include "runtime/rpc/link.h"
#include "runtime/trace.h"

namespace weir::rpc {
namespace {
constexpr std::chrono::hours kLongestTimeout(24 * 365);
}  // namespace

// One live connection to a peer and the calls waiting on it.
struct ClientConnection {
  struct Pending {
    Promise<std::string> reply;  // the reply payload, or the error
    uint64_t token = 0;          // a reply must name the endpoint it answers
  };

  explicit ClientConnection(std::shared_ptr<Link> l) : link(std::move(l)) {}
  std::shared_ptr<Link> link;
  std::map<uint64_t, Pending> pending;  // by request id; failed in id order
  uint64_t replies = 0;
};

// Everything the client knows about one address.
struct ClientPeer {
  ClientPeer(std::string a, size_t calls_max) : address(std::move(a)), slots(calls_max) {}
  std::string address;
  std::shared_ptr<ClientConnection> conn;  // null while not connected
  bool connecting = false;                 // a connector actor is running
  uint64_t attempts_finished = 0;
  absl::Status last_error;  // of the last connect attempt
  Duration backoff{0};      // 0: the last attempt succeeded
  TimePoint next_attempt_at{};
  WaitList connect_waiters;
  ActorSemaphore slots;  // outstanding calls
};

// The client's state, shared with its actors so that they can finish unwinding after the
// RpcClient object is gone.
class ClientCore : public std::enable_shared_from_this<ClientCore> {
 public:
  ClientCore(INetwork& network, IRandom& random, RpcClientOptions options)
      : network_(network), random_(random), options_(options) {
    WEIR_ASSERT(options_.outstanding_calls_max > 0);
    WEIR_ASSERT(options_.frame_bytes_max >= kFrameHeaderBytes);
  }

  absl::Status call(const std::string& address, std::string_view endpoint,
                    const google::protobuf::MessageLite& request,
                    std::shared_ptr<google::protobuf::MessageLite> reply, Duration limit);
  void shutdown();
  const RpcClientStats& stats() const { return stats_; }
  size_t pending_calls() const;
  bool connected(const std::string& address) const;

 private:
  std::shared_ptr<ClientPeer> peer_for(const std::string& address);
  absl::Status attempt(const std::shared_ptr<ClientPeer>& peer, uint64_t token,
                       const std::string& payload, google::protobuf::MessageLite& reply);
  absl::StatusOr<std::shared_ptr<ClientConnection>> connection_for(
      const std::shared_ptr<ClientPeer>& peer);
  void start_connector(const std::shared_ptr<ClientPeer>& peer);
  void run_connector(const std::shared_ptr<ClientPeer>& peer);
  void run_reader(const std::shared_ptr<ClientPeer>& peer,
                  const std::shared_ptr<ClientConnection>& conn);
  absl::Status deliver(ClientConnection& conn, Frame&& frame);
  void fail_pending(ClientConnection& conn, const absl::Status& why);
  absl::StatusOr<std::shared_ptr<IConnection>> connect_within(const std::string& address,
                                                              Duration limit);
  void bump_backoff(ClientPeer& peer);
  LinkOptions link_options() const {
    return LinkOptions{options_.frame_bytes_max, options_.send_buffer_bytes_max,
                       options_.read_chunk_bytes, "client"};
  }

  INetwork& network_;
  IRandom& random_;
  RpcClientOptions options_;
  RpcClientStats stats_;
  std::map<std::string, std::shared_ptr<ClientPeer>> peers_;
  ActorCollection actors_;  // connectors, readers, writers
  uint64_t next_request_id_ = 1;
  bool shut_down_ = false;
};

namespace {

// A call's registration for its reply. Unregisters when the call ends for any reason
// (reply, error, timeout, cancellation), so no slot can leak.
class PendingCall {
 public:
  PendingCall(std::shared_ptr<ClientConnection> conn, uint64_t id, uint64_t token)
      : conn_(std::move(conn)), id_(id) {
    ClientConnection::Pending p{Promise<std::string>(), token};
    future_ = p.reply.future();
    const bool inserted = conn_->pending.emplace(id, std::move(p)).second;
    WEIR_ASSERT_MSG(inserted, "rpc request id reused");
  }
  ~PendingCall() { conn_->pending.erase(id_); }
  PendingCall(const PendingCall&) = delete;
  PendingCall& operator=(const PendingCall&) = delete;

  absl::StatusOr<std::string> wait() { return await(std::move(future_)); }

 private:
  std::shared_ptr<ClientConnection> conn_;
  uint64_t id_;
  Future<std::string> future_;
};

}  // namespace

absl::Status ClientCore::call(const std::string& address, std::string_view endpoint,
                              const google::protobuf::MessageLite& request,
                              std::shared_ptr<google::protobuf::MessageLite> reply,
                              Duration limit) {
  if (shut_down_) return absl::UnavailableError("rpc client is shut down");
  std::string payload;
  if (!request.SerializeToString(&payload)) {
    return absl::InvalidArgumentError(
        absl::StrCat("rpc '", av(endpoint), "': request not serializable"));
  }
  if (!frame_fits(payload.size(), options_.frame_bytes_max)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "rpc '", av(endpoint), "': request of ", payload.size(), " bytes exceeds the frame limit"));
  }
  // Far beyond any sensible timeout, and keeps now + limit from overflowing.
  limit = std::min(limit, Duration(kLongestTimeout));
  ++stats_.calls;
  std::shared_ptr<ClientPeer> peer = peer_for(address);
  const uint64_t token = endpoint_token(endpoint);
  // The attempt runs as its own actor so that the timeout can cancel it wherever it waits
  // (for a slot, a connection, send buffer space or the reply); unwinding releases all four.
  Future<void> attempt =
      spawn("rpc-call", [self = shared_from_this(), peer, token, payload = std::move(payload),
                         reply] { return self->attempt(peer, token, payload, *reply); });
  (void)await(weir::timeout(attempt, limit));
  if (attempt.is_ready()) return attempt.get();
  attempt.reset();
  ++stats_.timeouts;
  return absl::DeadlineExceededError(absl::StrCat("rpc '", av(endpoint), "' to ", address,
                                                  ": no reply within ", to_ms(limit), " ms"));
}

absl::Status ClientCore::attempt(const std::shared_ptr<ClientPeer>& peer, uint64_t token,
                                 const std::string& payload, google::protobuf::MessageLite& reply) {
  ActorSemaphore::Lease slot(peer->slots);
  auto conn = connection_for(peer);
  if (!conn.ok()) return conn.status();
  const uint64_t id = next_request_id_++;
  PendingCall pending(*conn, id, token);
  if (absl::Status s = (*conn)->link->send(FrameKind::kRequest, token, id, payload); !s.ok()) {
    return s;
  }
  auto bytes = pending.wait();
  if (!bytes.ok()) return bytes.status();
  if (!reply.ParseFromString(*bytes)) {
    ++stats_.malformed;
    (*conn)->link->close(absl::DataLossError(
        absl::StrCat("unparsable reply payload (", bytes->size(), " bytes) for request ", id)));
    return absl::DataLossError(absl::StrCat("rpc to ", peer->address, ": unparsable reply"));
  }
  return absl::OkStatus();
}

std::shared_ptr<ClientPeer> ClientCore::peer_for(const std::string& address) {
  auto it = peers_.find(address);
  if (it == peers_.end()) {
    it =
        peers_
            .emplace(address, std::make_shared<ClientPeer>(address, options_.outstanding_calls_max))
            .first;
  }
  return it->second;
}

absl::StatusOr<std::shared_ptr<ClientConnection>> ClientCore::connection_for(
    const std::shared_ptr<ClientPeer>& peer) {
  while (true) {
    if (shut_down_) return absl::UnavailableError("rpc client is shut down");
    if (peer->conn != nullptr && !peer->conn->link->closed()) return peer->conn;
    if (!peer->connecting) start_connector(peer);
    const uint64_t attempts = peer->attempts_finished;
    while (peer->connecting) wait_on(peer->connect_waiters);
    if (peer->conn != nullptr && !peer->conn->link->closed()) return peer->conn;
    // Each call waits for at most one failed attempt: the caller decides whether to retry.
    if (peer->attempts_finished != attempts && !peer->last_error.ok()) {
      return absl::UnavailableError(
          absl::StrCat("rpc connect to ", peer->address, " failed: ", peer->last_error.message()));
    }
  }
}

void ClientCore::start_connector(const std::shared_ptr<ClientPeer>& peer) {
  WEIR_ASSERT(!peer->connecting);
  peer->connecting = true;
  actors_.add(
      spawn("rpc-connect", [self = shared_from_this(), peer] { self->run_connector(peer); }));
}

void ClientCore::run_connector(const std::shared_ptr<ClientPeer>& peer) {
  // Runs however the attempt ends (including cancellation), so waiters always learn of it.
  struct Finish {
    ClientPeer& p;
    ~Finish() {
      p.connecting = false;
      ++p.attempts_finished;
      p.connect_waiters.fire_all();
    }
  } finish{*peer};
  WEIR_ASSERT(peer->connecting);
  Scheduler& s = Scheduler::current();
  if (peer->next_attempt_at > s.now()) delay(peer->next_attempt_at - s.now());
  auto connection = connect_within(peer->address, options_.connect_timeout);
  if (!connection.ok()) {
    ++stats_.connect_failures;
    peer->last_error = connection.status();
    bump_backoff(*peer);
    TraceEvent(Severity::kInfo, "RpcClientConnectFailed")
        .detail("Peer", peer->address)
        .detail("Error", connection.status().ToString())
        .detail("Backoff", peer->backoff);
    return;
  }
  WEIR_ASSERT_MSG(peer->conn == nullptr || peer->conn->link->closed(),
                  "two live connections to one peer");
  auto conn =
      std::make_shared<ClientConnection>(std::make_shared<Link>(*connection, link_options()));
  peer->conn = conn;
  peer->last_error = absl::OkStatus();
  ++stats_.connects;
  TraceEvent(Severity::kInfo, "RpcClientConnected")
      .detail("Peer", peer->address)
      .detail("Local", (*connection)->local_address());
  actors_.add(spawn("rpc-client-reader",
                    [self = shared_from_this(), peer, conn] { self->run_reader(peer, conn); }));
  actors_.add(spawn("rpc-client-writer", [conn] { conn->link->run_writer(); }));
}

absl::StatusOr<std::shared_ptr<IConnection>> ClientCore::connect_within(const std::string& address,
                                                                        Duration limit) {
  INetwork* network = &network_;
  auto attempt =
      spawn("rpc-connect-attempt", [network, address] { return network->connect(address); });
  (void)await(weir::timeout(attempt, limit));
  if (attempt.is_ready()) return attempt.get();
  return absl::UnavailableError(
      absl::StrCat("connect to ", address, " timed out after ", to_ms(limit), " ms"));
}

void ClientCore::bump_backoff(ClientPeer& peer) {
  peer.backoff = peer.backoff == Duration(0) ? options_.backoff_initial : peer.backoff * 2;
  peer.backoff = std::min(peer.backoff, options_.backoff_max);
  const Duration wait = random_.uniform_duration(peer.backoff / 2, peer.backoff);
  peer.next_attempt_at = Scheduler::current().now() + wait;
}

void ClientCore::run_reader(const std::shared_ptr<ClientPeer>& peer,
                            const std::shared_ptr<ClientConnection>& conn) {
  const absl::Status why = conn->link->run_reader(
      [this, &conn](Frame&& frame) { return deliver(*conn, std::move(frame)); });
  ++stats_.disconnects;
  TraceEvent(Severity::kInfo, "RpcClientDisconnected")
      .detail("Peer", peer->address)
      .detail("Reason", why.ToString())
      .detail("Pending", conn->pending.size());
  fail_pending(*conn, why);
  if (peer->conn == conn) peer->conn = nullptr;
  // A connection that never answered anything counts as a failed attempt, so a peer that
  // accepts and drops connections is retried with backoff, not in a tight loop.
  if (conn->replies == 0) bump_backoff(*peer);
}

absl::Status ClientCore::deliver(ClientConnection& conn, Frame&& frame) {
  if (frame.kind == FrameKind::kRequest) {
    return absl::DataLossError("server sent a request frame");
  }
  auto it = conn.pending.find(frame.request_id);
  if (it == conn.pending.end()) {
    // Its call timed out or was cancelled: the answer has nobody to go to.
    ++stats_.late_replies;
    TraceEvent(Severity::kDebug, "RpcLateReply")
        .detail("Peer", conn.link->peer())
        .detail("RequestId", frame.request_id);
    return absl::OkStatus();
  }
  if (it->second.token != frame.token) {
    return absl::DataLossError(
        absl::StrCat("reply to request ", frame.request_id, " names another endpoint"));
  }
  Promise<std::string> promise = std::move(it->second.reply);
  conn.pending.erase(it);
  ++conn.replies;
  ++stats_.replies;
  if (frame.kind == FrameKind::kReply) {
    promise.set_value(std::move(frame.payload));
    return absl::OkStatus();
  }
  RpcError error;
  if (!error.ParseFromString(frame.payload)) {
    promise.set_error(absl::DataLossError("rpc error reply not parsable"));
    return absl::DataLossError("unparsable error payload");
  }
  promise.set_error(from_rpc_error(error));
  return absl::OkStatus();
}

void ClientCore::fail_pending(ClientConnection& conn, const absl::Status& why) {
  if (conn.pending.empty()) return;
  const absl::Status error = connection_error("rpc connection to", conn.link->peer(), why);
  auto pending = std::move(conn.pending);
  conn.pending.clear();
  for (auto& [id, p] : pending) p.reply.set_error(error);
}

void ClientCore::shutdown() {
  shut_down_ = true;
  const absl::Status why = absl::UnavailableError("rpc client shut down");
  for (auto& [address, peer] : peers_) {
    if (peer->conn == nullptr) continue;
    peer->conn->link->close(why);
    fail_pending(*peer->conn, why);
  }
  actors_.clear();
}

size_t ClientCore::pending_calls() const {
  size_t n = 0;
  for (const auto& [address, peer] : peers_) {
    if (peer->conn != nullptr) n += peer->conn->pending.size();
  }
  return n;
}

bool ClientCore::connected(const std::string& address) const {
  auto it = peers_.find(address);
  return it != peers_.end() && it->second->conn != nullptr && !it->second->conn->link->closed();
}

RpcClient::RpcClient(INetwork& network, IRandom& random, RpcClientOptions options)
    : core_(std::make_shared<ClientCore>(network, random, options)) {}

RpcClient::RpcClient(RpcClientOptions options)
    : RpcClient(*current_context().network, *current_context().random, options) {}

RpcClient::~RpcClient() {
  core_->shutdown();
}

const RpcClientStats& RpcClient::stats() const {
  return core_->stats();
}
size_t RpcClient::pending_calls() const {
  return core_->pending_calls();
}
bool RpcClient::connected(const std::string& address) const {
  return core_->connected(address);
}

absl::Status RpcClient::call_erased(const std::shared_ptr<ClientCore>& core,
                                    const std::string& address, std::string_view endpoint,
                                    const google::protobuf::MessageLite& request,
                                    std::shared_ptr<google::protobuf::MessageLite> reply,
                                    Duration timeout) {
  return core->call(address, endpoint, request, std::move(reply), timeout);
}

}  // namespace weir::rpc
