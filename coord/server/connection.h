// The ZooKeeper protocol's per-connection state and request FIFO. Internal to coord/server.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "coord/ids.h"
#include "coord/jute/messages.h"
#include "coord/tree/types.h"
#include "runtime/actor_collection.h"
#include "runtime/framed/framed_server.h"
#include "runtime/future.h"
#include "runtime/scheduler.h"
#include "runtime/sync.h"
#include "runtime/time.h"
#include "runtime/wait_list.h"

namespace weir::coord::server {

// Request latency in ms (frame received to reply queued), as srvr, mntr and cons report it.
struct LatencyStats {
  int64_t min_ms = 0;
  int64_t max_ms = 0;
  int64_t total_ms = 0;
  uint64_t count = 0;
  void add(int64_t ms) {
    min_ms = count == 0 ? ms : std::min(min_ms, ms);
    max_ms = std::max(max_ms, ms);
    total_ms += ms;
    ++count;
  }
  double avg_ms() const { return count == 0 ? 0 : static_cast<double>(total_ms) / count; }
};

// A request waiting in the connection's FIFO for its reply.
struct Pending {
  enum class Kind {
    kLocal,   // served from the local tree when it reaches the head
    kWrite,   // submitted to ZAB (`submitted`); answered once applied here
    kReply,   // an answer known at read time (`err`, e.g. Unimplemented, addAuth)
    kFailed,  // the submit failed: the connection closes when this reaches the head
  };
  Kind kind = Kind::kLocal;
  jute::Request request;
  // kWrite: the zxid ZAB gives it (a failure closes the connection). Not valid while the write
  // waits for the reads queued before it (it must not overtake them).
  Future<Zxid> submitted;
  bool submit_started = false;  // kWrite: handed to ZAB (`submitted` is set once that returns)
  std::string txn;              // kWrite: the encoded txn, kept until submitted
  Zxid zxid;                    // kWrite: once `submitted` is known, at the head of the FIFO
  jute::ErrorCode err = jute::ErrorCode::kOk;
  bool close_after = false;  // closeSession, failed addAuth
  TimePoint received;        // when its frame arrived (latency)
  // Resolved once the reply is queued: the framed server keeps its reply order by it.
  Promise<framed::Reply> done;
};

// One client connection's ZooKeeper state, shared by its handshake and responder actors and by
// the watch manager's delivery callback. The bytes (reading, framing, the send queue, the
// writer) belong to `link`, the framed server's connection.
struct Connection {
  uint64_t id = 0;
  // Random, never 0: stamped on this connection's txns so that once the session moves to
  // another connection, txns still in flight from this one cannot take effect (SessionMoved).
  int64_t owner = 0;
  std::shared_ptr<framed::FramedConnection> link;
  std::string peer;
  int64_t session_id = 0;
  int32_t timeout_ms = 0;
  std::vector<Id> auth;
  TimePoint established;

  bool handshake_started = false;
  bool attached = false;  // the handshake answered with a live session
  // Frames that arrived while the handshake ran (ZooKeeper reads none then), with the promise
  // of their reply; handled in order once the session is attached.
  std::deque<std::pair<std::string, Promise<framed::Reply>>> early;

  std::deque<Pending> pending;
  size_t unserved_reads = 0;
  size_t unsubmitted_writes = 0;  // writes waiting for the reads before them
  WaitList pending_changed;
  bool closed = false;
  bool client_closing = false;  // sent closeSession: its reply must go out before the close

  uint64_t received = 0;
  uint64_t sent = 0;
  // For cons: the last request answered, and this connection's latencies.
  jute::OpCode last_op = jute::OpCode::kNotification;
  int32_t last_xid = 0;
  Zxid last_zxid;
  int64_t last_response_wall_ms = 0;
  int64_t last_latency_ms = 0;
  int64_t established_wall_ms = 0;
  LatencyStats latency;
  ActorCollection actors;  // handshake and responder; cancelled when the connection ends

  void close() {
    if (closed) return;
    closed = true;
    link->close();
    pending_changed.fire_all();
  }
};

}  // namespace weir::coord::server
