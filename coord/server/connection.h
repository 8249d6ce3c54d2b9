// One client connection's state, shared by its reader, responder and writer actors and by the
// watch manager's delivery callback. Internal to coord/server.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "coord/ids.h"
#include "coord/jute/messages.h"
#include "coord/tree/types.h"
#include "runtime/future.h"
#include "runtime/network.h"
#include "runtime/scheduler.h"
#include "runtime/sync.h"
#include "runtime/time.h"
#include "runtime/wait_list.h"

namespace weir::coord::server {

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
  Future<Zxid> submitted;  // kWrite: the zxid ZAB gives it (a failure closes the connection)
  Zxid zxid;               // kWrite: once `submitted` is known, at the head of the FIFO
  jute::ErrorCode err = jute::ErrorCode::kOk;
  bool close_after = false;  // closeSession, failed addAuth
};

struct Connection {
  uint64_t id = 0;
  // Random, never 0: stamped on this connection's txns so that once the session moves to
  // another connection, txns still in flight from this one cannot take effect (SessionMoved).
  int64_t owner = 0;
  std::shared_ptr<IConnection> io;
  std::string peer;
  int64_t session_id = 0;
  int32_t timeout_ms = 0;
  std::vector<Id> auth;
  TimePoint established;

  std::deque<Pending> pending;
  size_t unserved_reads = 0;
  WaitList pending_changed;

  std::string send_buf;
  WaitList send_changed;
  bool flush_then_close = false;
  bool closed = false;
  bool client_closing = false;  // sent closeSession: its reply must go out before the close

  uint64_t received = 0;
  uint64_t sent = 0;

  void close() {
    if (closed) return;
    closed = true;
    io->close();
    pending_changed.fire_all();
    send_changed.fire_all();
  }
};

}  // namespace weir::coord::server
