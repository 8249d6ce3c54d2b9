// CoordClient: Weir's asynchronous ZooKeeper client, on the runtime, speaking the jute wire
// protocol. Brokers (and workloads) reach coord only through it, exactly as Kafka reaches
// ZooKeeper, so it has to give them ZooKeeper's session semantics: one session that survives
// moving between servers of the ensemble within its timeout, one-shot watches that survive a
// reconnect, and an unambiguous answer for every request (its result, ConnectionLoss when it
// may or may not have been applied, SessionExpired when the session and its ephemerals are gone).
//
// See coord/client/README.md for the state machine and the guarantees.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "coord/client/connect_string.h"
#include "coord/client/errors.h"
#include "coord/ids.h"
#include "coord/jute/jute.h"
#include "runtime/clock.h"
#include "runtime/future.h"
#include "runtime/network.h"
#include "runtime/random.h"
#include "runtime/time.h"

namespace weir::coord::client {

using jute::ACL;
using jute::CreateMode;
using jute::EventType;
using jute::KeeperState;
using jute::Stat;

// The client's session, as it sees it. Connecting and Disconnected are transient (the client
// keeps trying servers); Expired and Closed are final.
enum class SessionState { kConnecting, kConnected, kDisconnected, kExpired, kClosed };
std::string_view session_state_name(SessionState state);
std::ostream& operator<<(std::ostream& os, SessionState state);

struct CoordClientOptions {
  // Asked of the server; it negotiates within its bounds (negotiated_timeout()).
  Duration session_timeout = 10s;
  // One attempt to open a TCP connection and complete the handshake with one server.
  Duration connect_timeout = 2s;
  // How long a request may take in all, waiting for a connection and for its reply.
  Duration request_timeout = 30s;
  // Requests sent and not yet answered; more wait (within their timeout) for a slot, so a slow
  // server cannot make the client buffer without bound.
  size_t outstanding_requests_max = 1024;
  // Watch events and state changes not yet delivered to callbacks (the reader waits beyond).
  size_t pending_events_max = 4096;
  size_t frame_bytes_max = jute::kDefaultMaxFrameBytes;
  size_t read_chunk_bytes = 64 << 10;
  // After a failed pass over every server, wait uniformly in [0, reconnect_backoff_max].
  Duration reconnect_backoff_max = 1s;
  // Resume this session instead of creating one (ZooKeeper's constructor with sessionId and
  // sessionPasswd): the first handshake presents it, and an expired one ends the client Expired.
  SessionId resume_session_id;
  std::string resume_password;
};

// What a watch callback (or the state listener) receives. Watches are one-shot; a session
// event (type kNone) carries the new KeeperState, e.g. kExpired when the session is gone.
struct WatchEvent {
  EventType type = EventType::kNone;
  KeeperState state = KeeperState::kSyncConnected;
  std::string path;  // relative to the chroot
  friend bool operator==(const WatchEvent&, const WatchEvent&) = default;
};
std::ostream& operator<<(std::ostream& os, const WatchEvent& event);

// Runs on the client's event actor, in the order the server sent events. May suspend, but
// every later event waits for it.
using Watcher = std::function<void(const WatchEvent&)>;

struct CreateResult {
  std::string path;  // the created path (with a sequence suffix for sequential modes)
  Stat stat;
};
struct DataResult {
  std::string data;
  Stat stat;
};
struct ChildrenResult {
  std::vector<std::string> children;
  Stat stat;
};
struct AclResult {
  std::vector<ACL> acl;
  Stat stat;
};

// One op of a multi; build them with the op_* helpers.
using Op = jute::MultiOp;
Op op_create(std::string path, std::string data, std::vector<ACL> acl,
             CreateMode mode = CreateMode::kPersistent);
Op op_remove(std::string path, int32_t version = -1);
Op op_set_data(std::string path, std::string data, int32_t version = -1);
Op op_check(std::string path, int32_t version);

// One op's result: ok or the op's ZooKeeper error (a failed multi fails every op: the one that
// failed has its error, the others RuntimeInconsistency, as ZooKeeper reports them).
struct OpResult {
  jute::OpCode type{};
  ErrorCode error = ErrorCode::kOk;
  std::string path;  // create: the created path
  Stat stat;         // setData (and create2-style results)
};

// The ACL most callers want: everyone may do everything.
std::vector<ACL> open_acl_unsafe();

class ClientCore;

class CoordClient {
 public:
  // Uses `network`, `random` and `clock` (which must outlive the client).
  CoordClient(INetwork& network, IRandom& random, IClock& clock, ConnectString servers,
              CoordClientOptions options = {});
  // Uses the calling process's context (current_context()).
  explicit CoordClient(ConnectString servers, CoordClientOptions options = {});
  // Parses `connect_string` first; InvalidArgument if it is malformed.
  static absl::StatusOr<std::unique_ptr<CoordClient>> create(std::string_view connect_string,
                                                             CoordClientOptions options = {});
  // Stops every actor without telling the server (the session then expires on its own);
  // call close() first for a clean end.
  ~CoordClient();
  CoordClient(const CoordClient&) = delete;
  CoordClient& operator=(const CoordClient&) = delete;

  // --- session ------------------------------------------------------------------------------
  SessionState state() const;
  SessionId session_id() const;
  // The session's password, for resuming it from another client (resume_session_id).
  const std::string& session_password() const;
  Duration negotiated_timeout() const;
  // The highest zxid seen in any reply (sent on reconnect so no server moves us back in time).
  Zxid last_zxid_seen() const;
  // The server of the current (or last) connection.
  const std::string& connected_server() const;
  // Ready when the state is `target` (at once if it already is); DeadlineExceeded after `limit`;
  // FailedPrecondition if the session reaches a final state other than `target`.
  Future<void> await_state(SessionState target, Duration limit);
  // Called (on the event actor, in order with watch events) with every state change.
  void set_state_listener(std::function<void(SessionState)> listener);

  // --- requests: each fails with the ZooKeeper error (see errors.h), ConnectionLoss if the
  // connection dropped after sending it, SessionExpired, or DeadlineExceeded after
  // request_timeout. Paths are relative to the chroot. ------------------------------------
  Future<std::string> create(std::string path, std::string data, std::vector<ACL> acl,
                             CreateMode mode = CreateMode::kPersistent);
  Future<CreateResult> create2(std::string path, std::string data, std::vector<ACL> acl,
                               CreateMode mode = CreateMode::kPersistent);
  // A node the leader deletes once it has had no children and no write for `ttl_ms` (mode
  // kPersistentWithTtl or kPersistentSequentialWithTtl). Containers need no TTL: create them
  // with mode kContainer; the leader deletes them once their last child is gone.
  Future<CreateResult> create_ttl(std::string path, std::string data, std::vector<ACL> acl,
                                  CreateMode mode, int64_t ttl_ms);
  Future<void> remove(std::string path, int32_t version = -1);
  // nullopt when the node does not exist; `watch` (if set) then fires on its creation.
  Future<std::optional<Stat>> exists(std::string path, Watcher watch = {});
  Future<DataResult> get_data(std::string path, Watcher watch = {});
  Future<Stat> set_data(std::string path, std::string data, int32_t version = -1);
  Future<std::vector<std::string>> get_children(std::string path, Watcher watch = {});
  Future<ChildrenResult> get_children2(std::string path, Watcher watch = {});
  Future<AclResult> get_acl(std::string path);
  Future<Stat> set_acl(std::string path, std::vector<ACL> acl, int32_t version = -1);
  Future<void> sync(std::string path);
  // Per-op results; OK even when the multi failed (check each OpResult::error).
  Future<std::vector<OpResult>> multi(std::vector<Op> ops);
  // Credentials for this session, re-sent after every reconnect. AuthFailed ends the session.
  Future<void> add_auth(std::string scheme, std::string credentials);
  // Ends the session on the server (its ephemerals go at once), then the state is Closed.
  // OK only if the server acknowledged; otherwise (ConnectionLoss) the session is left to
  // expire on its own, ephemerals included, and the state is Closed all the same.
  Future<void> close();

  // Counters for tests and reports.
  struct Stats {
    uint64_t connects = 0;  // handshakes completed
    uint64_t connect_failures = 0;
    uint64_t disconnects = 0;      // established connections lost
    uint64_t protocol_errors = 0;  // malformed or out-of-order server frames
    uint64_t pings = 0;
    uint64_t watch_events = 0;
  };
  const Stats& stats() const;

 private:
  std::shared_ptr<ClientCore> core_;
};

}  // namespace weir::coord::client
