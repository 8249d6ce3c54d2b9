// The server side of Weir's server-to-server RPC: typed Protobuf handlers behind endpoint
// names, served over the process's INetwork.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "google/protobuf/message_lite.h"
#include "runtime/network.h"
#include "runtime/rpc/frame.h"

namespace weir::rpc {

// Limits of an RpcServer; sizes come in here (runtime/ does not read knobs), so layers
// above can feed them from knobs.
struct RpcServerOptions {
  // Largest frame accepted from or sent to a client; both sides must agree.
  size_t frame_bytes_max = kDefaultFrameBytesMax;
  // Requests of one connection whose handlers run at once. When full, the connection's
  // reader stops reading, which pushes back on the client through the transport.
  size_t in_flight_requests_max = 64;
  // Encoded replies queued for a connection's writer before handlers suspend.
  size_t send_buffer_bytes_max = 4 << 20;
  size_t read_chunk_bytes = 32 << 10;
  // Connections beyond this are closed as soon as they are accepted (with a warning).
  size_t connections_max = 4096;
};

// Counters for tests, metrics and workloads' reports.
struct RpcServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_rejected = 0;
  uint64_t requests = 0;
  uint64_t error_replies = 0;  // handler errors and unknown endpoints
  uint64_t unknown_endpoint = 0;
  uint64_t replies_dropped = 0;  // the connection closed before the reply could be queued
};

// What a handler may want to know about the call it serves.
struct RpcCallInfo {
  std::string peer;
  uint64_t request_id = 0;
  std::string_view endpoint;
};

// A registered endpoint with its types erased, so that the connection code is not a template.
struct EndpointHandler {
  std::string name;
  std::function<std::unique_ptr<google::protobuf::MessageLite>()> new_request;
  // Runs the typed handler; returns the serialized reply or the handler's error.
  std::function<absl::StatusOr<std::string>(const google::protobuf::MessageLite&,
                                            const RpcCallInfo&)>
      invoke;
};

class ServerCore;

// Serves registered endpoints on one address. It exists so that every server-to-server
// protocol in Weir (ZAB, replication, controller requests) gets framing, dispatch, bounded
// concurrency and error transport once, identically in the real build and the simulator.
//
// Each request runs as its own actor, so handlers may suspend; at most
// in_flight_requests_max run per connection. A handler whose connection closes keeps running
// to completion (its side effects are not torn by a client's disconnect) and its reply is
// dropped. Stopping the server (or destroying it) cancels every handler.
//
//   RpcServer server(*ctx.network);
//   server.handle<EchoRequest, EchoReply>("echo", [](const EchoRequest& r)
//       -> absl::StatusOr<EchoReply> { ... });
//   absl::Status s = server.serve(ctx.address);  // returns after stop()
class RpcServer {
 public:
  explicit RpcServer(INetwork& network, RpcServerOptions options = {});
  // Uses the calling actor's process context (current_context()).
  explicit RpcServer(RpcServerOptions options = {});
  ~RpcServer();
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // Registers `handler` for `endpoint`. F is callable as (const Req&) or
  // (const Req&, const RpcCallInfo&) and returns absl::StatusOr<Rep> (or Rep). An error
  // reaches the caller with the same code and message. Endpoint names must be unique.
  template <class Req, class Rep, class F>
  void handle(std::string_view endpoint, F handler) {
    static_assert(std::is_base_of_v<google::protobuf::MessageLite, Req>);
    static_assert(std::is_base_of_v<google::protobuf::MessageLite, Rep>);
    EndpointHandler h;
    h.name = std::string(endpoint);
    h.new_request = [] { return std::make_unique<Req>(); };
    h.invoke = [handler = std::move(handler)](
                   const google::protobuf::MessageLite& message,
                   const RpcCallInfo& info) mutable -> absl::StatusOr<std::string> {
      const Req& request = static_cast<const Req&>(message);
      absl::StatusOr<Rep> reply = [&]() -> absl::StatusOr<Rep> {
        if constexpr (std::is_invocable_v<F&, const Req&, const RpcCallInfo&>) {
          return handler(request, info);
        } else {
          return handler(request);
        }
      }();
      if (!reply.ok()) return reply.status();
      std::string bytes;
      if (!reply->SerializeToString(&bytes)) return absl::InternalError("reply not serializable");
      return bytes;
    };
    add_handler(std::move(h));
  }

  // Binds `address` and accepts connections in the background.
  absl::Status start(const std::string& address);
  // start(), then suspends the calling actor until stop(). Throws Cancelled.
  absl::Status serve(const std::string& address);
  // Closes the listener and every connection and cancels running handlers. Idempotent.
  void stop();

  // The bound address (with the real port if 0 was asked for); empty before start().
  const std::string& address() const;
  const RpcServerStats& stats() const;
  size_t connections() const;

 private:
  void add_handler(EndpointHandler handler);

  std::shared_ptr<ServerCore> core_;
};

}  // namespace weir::rpc
