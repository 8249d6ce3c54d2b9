// The client side of Weir's server-to-server RPC: typed Protobuf calls to endpoints served by
// RpcServer on other processes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message_lite.h"
#include "runtime/future.h"
#include "runtime/network.h"
#include "runtime/random.h"
#include "runtime/rpc/frame.h"
#include "runtime/time.h"

namespace weir::rpc {

// Limits and timings of an RpcClient; sizes and durations come in here (runtime/ does not
// read knobs), so layers above can feed them from knobs.
struct RpcClientOptions {
  // Largest frame accepted from or sent to a server; both sides must agree.
  size_t frame_bytes_max = kDefaultFrameBytesMax;
  // Calls to one peer that may be outstanding at once; further calls wait (within their
  // timeout) for a slot, so a stuck peer cannot make a caller pile up unbounded state.
  size_t outstanding_calls_max = 1024;
  // Encoded requests queued for a connection's writer before senders suspend.
  size_t send_buffer_bytes_max = 4 << 20;
  size_t read_chunk_bytes = 32 << 10;
  // A connect attempt that has not succeeded by then fails (the OS may take minutes).
  Duration connect_timeout = 5s;
  // Reconnection backoff: doubles per consecutive failure up to backoff_max; each wait is
  // drawn uniformly from [backoff / 2, backoff] (jitter, so peers do not reconnect in step).
  Duration backoff_initial = 50ms;
  Duration backoff_max = 5s;
};

// Counters for tests, metrics and workloads' reports.
struct RpcClientStats {
  uint64_t calls = 0;
  uint64_t timeouts = 0;
  uint64_t replies = 0;
  uint64_t late_replies = 0;  // arrived after their call had timed out or been cancelled
  uint64_t connects = 0;
  uint64_t connect_failures = 0;
  uint64_t disconnects = 0;
  uint64_t malformed = 0;
};

class ClientCore;

// One per process: it keeps one connection per peer address, shared by every concurrent call
// to that peer, so that servers see few connections and replies are matched to calls by
// request id. A broken connection is re-established on the next call, after an exponential
// backoff with jitter drawn from the process's IRandom (deterministic in simulation).
//
// Errors a call returns (the code is the contract; messages are for people):
//   Unavailable       connect failed, or the connection broke before the reply came
//   DeadlineExceeded  no reply within the timeout (a late reply is dropped quietly)
//   DataLoss          the server sent a malformed frame or an unparsable reply
//   InvalidArgument   the request does not fit in a frame
//   anything else     exactly the code and message the server's handler returned
//                     (Unimplemented if the server has no such endpoint)
class RpcClient {
 public:
  RpcClient(INetwork& network, IRandom& random, RpcClientOptions options = {});
  // Uses the calling actor's process context (current_context()).
  explicit RpcClient(RpcClientOptions options = {});
  // Closes every connection; calls still waiting fail with Unavailable.
  ~RpcClient();
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // Calls `endpoint` at `address` ("host:port") and suspends the calling actor until the
  // reply, an error, or `timeout` (on the process's clock). Throws Cancelled; a cancelled or
  // timed-out call leaves nothing behind.
  template <class Req, class Rep>
  absl::StatusOr<Rep> call(const std::string& address, std::string_view endpoint, const Req& req,
                           Duration timeout) {
    return call_on<Req, Rep>(core_, address, endpoint, req, timeout);
  }

  // The same call running as its own actor; dropping the future cancels it.
  template <class Req, class Rep>
  Future<Rep> call_future(const std::string& address, std::string_view endpoint, const Req& req,
                          Duration timeout) {
    return spawn("rpc-call-future",
                 [core = core_, address, endpoint = std::string(endpoint), req, timeout] {
                   return call_on<Req, Rep>(core, address, endpoint, req, timeout);
                 });
  }

  const RpcClientStats& stats() const;
  // Calls registered and waiting for a reply, over all peers (zero when nothing leaked).
  size_t pending_calls() const;
  bool connected(const std::string& address) const;

 private:
  // Takes `core` by value: a caller unwinding after its process was killed may outlive the
  // RpcClient object, and must still find the core it is suspended in.
  template <class Req, class Rep>
  static absl::StatusOr<Rep> call_on(std::shared_ptr<ClientCore> core, const std::string& address,
                                     std::string_view endpoint, const Req& req, Duration timeout) {
    static_assert(std::is_base_of_v<google::protobuf::MessageLite, Req>);
    static_assert(std::is_base_of_v<google::protobuf::MessageLite, Rep>);
    auto reply = std::make_shared<Rep>();
    absl::Status status = call_erased(core, address, endpoint, req, reply, timeout);
    if (!status.ok()) return status;
    return std::move(*reply);
  }
  // The untyped call; fills `reply` on success.
  static absl::Status call_erased(const std::shared_ptr<ClientCore>& core,
                                  const std::string& address, std::string_view endpoint,
                                  const google::protobuf::MessageLite& request,
                                  std::shared_ptr<google::protobuf::MessageLite> reply,
                                  Duration timeout);

  std::shared_ptr<ClientCore> core_;
};

}  // namespace weir::rpc
