#include "runtime/rpc/server.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/actor_collection.h"
#include "runtime/future.h"
#include "runtime/process_context.h"
#include "runtime/rpc/link.h"
#include "runtime/trace.h"

namespace weir::rpc {
namespace {

// An error message longer than this is cut, so an error reply always fits a frame.
constexpr size_t kErrorMessageBytesMax = 16 << 10;

}  // namespace

// One accepted connection.
struct ServerConnection {
  ServerConnection(uint64_t i, std::shared_ptr<Link> l, size_t in_flight_max)
      : id(i), link(std::move(l)), in_flight(in_flight_max) {}
  uint64_t id;
  std::shared_ptr<Link> link;
  ActorSemaphore in_flight;  // running handlers of this connection
};

// The server's state, shared with its actors so that they can finish unwinding after the
// RpcServer object is gone.
class ServerCore : public std::enable_shared_from_this<ServerCore> {
 public:
  ServerCore(INetwork& network, RpcServerOptions options) : network_(network), options_(options) {
    WEIR_ASSERT(options_.in_flight_requests_max > 0);
    WEIR_ASSERT(options_.frame_bytes_max >= kFrameHeaderBytes);
  }

  void add_handler(EndpointHandler handler);
  absl::Status start(const std::string& address);
  void wait_stopped();
  void stop();
  const std::string& address() const { return address_; }
  const RpcServerStats& stats() const { return stats_; }
  size_t connections() const { return connections_.size(); }

 private:
  void accept_loop();
  void admit(std::shared_ptr<IConnection> connection);
  void serve_connection(const std::shared_ptr<ServerConnection>& sc);
  absl::Status on_request(const std::shared_ptr<ServerConnection>& sc, Frame&& frame);
  void run_handler(ServerConnection& sc, const EndpointHandler& handler,
                   const google::protobuf::MessageLite& request, uint64_t request_id,
                   uint64_t token);
  absl::Status send_error(ServerConnection& sc, uint64_t token, uint64_t request_id,
                          const absl::Status& error);
  LinkOptions link_options() const {
    return LinkOptions{options_.frame_bytes_max, options_.send_buffer_bytes_max,
                       options_.read_chunk_bytes, "server"};
  }

  INetwork& network_;
  RpcServerOptions options_;
  RpcServerStats stats_;
  std::map<uint64_t, std::shared_ptr<const EndpointHandler>> handlers_;  // by token
  std::unique_ptr<IListener> listener_;
  std::string address_;
  std::map<uint64_t, std::shared_ptr<ServerConnection>> connections_;  // by accept order
  ActorCollection actors_;  // accept loop, readers, writers, handlers
  WaitList stop_waiters_;
  uint64_t next_connection_id_ = 1;
  bool started_ = false;
  bool stopped_ = false;
};

namespace {

// One handler's claim on its connection's in-flight budget, released when the handler actor
// is done with it in any way (even cancelled before it ever ran).
struct InFlight {
  explicit InFlight(std::shared_ptr<ServerConnection> c) : sc(std::move(c)) {
    sc->in_flight.acquire();
  }
  ~InFlight() { sc->in_flight.release(); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;
  std::shared_ptr<ServerConnection> sc;
};

}  // namespace

void ServerCore::add_handler(EndpointHandler handler) {
  const uint64_t token = endpoint_token(handler.name);
  WEIR_ASSERT_MSG(!handlers_.contains(token), "rpc endpoint registered twice (or token clash)");
  handlers_.emplace(token, std::make_shared<const EndpointHandler>(std::move(handler)));
}

absl::Status ServerCore::start(const std::string& address) {
  WEIR_ASSERT_MSG(!started_, "RpcServer started twice");
  WEIR_ASSERT_MSG(!stopped_, "RpcServer started after stop()");
  auto listener = network_.listen(address);
  if (!listener.ok()) return listener.status();
  listener_ = std::move(*listener);
  address_ = listener_->address();
  started_ = true;
  TraceEvent(Severity::kInfo, "RpcServerListening")
      .detail("Address", address_)
      .detail("Endpoints", handlers_.size());
  actors_.add(spawn("rpc-accept", [self = shared_from_this()] { self->accept_loop(); }));
  return absl::OkStatus();
}

void ServerCore::wait_stopped() {
  while (!stopped_) wait_on(stop_waiters_);
}

void ServerCore::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (listener_ != nullptr) listener_->close();
  auto connections = std::move(connections_);
  connections_.clear();
  for (auto& [id, sc] : connections) sc->link->close(absl::UnavailableError("rpc server stopped"));
  actors_.clear();
  stop_waiters_.fire_all();
  if (started_) TraceEvent(Severity::kInfo, "RpcServerStopped").detail("Address", address_);
}

void ServerCore::accept_loop() {
  while (!stopped_) {
    auto connection = listener_->accept();
    if (connection.ok()) {
      admit(std::move(*connection));
      continue;
    }
    // FailedPrecondition: the listener is closed for good. Anything else (out of file
    // descriptors, say) may pass: keep accepting, slowly.
    TraceEvent(Severity::kInfo, "RpcServerAcceptFailed")
        .detail("Address", address_)
        .detail("Error", connection.status().ToString());
    if (absl::IsFailedPrecondition(connection.status())) return;
    delay(100ms);
  }
}

void ServerCore::admit(std::shared_ptr<IConnection> connection) {
  if (connections_.size() >= options_.connections_max) {
    ++stats_.connections_rejected;
    TraceEvent(Severity::kWarn, "RpcServerConnectionRejected")
        .detail("Address", address_)
        .detail("Peer", connection->peer_address())
        .detail("Connections", connections_.size());
    connection->close();
    return;
  }
  auto sc = std::make_shared<ServerConnection>(
      next_connection_id_++, std::make_shared<Link>(std::move(connection), link_options()),
      options_.in_flight_requests_max);
  connections_.emplace(sc->id, sc);
  ++stats_.connections_accepted;
  TraceEvent(Severity::kDebug, "RpcServerAccepted").detail("Peer", sc->link->peer());
  actors_.add(
      spawn("rpc-server-reader", [self = shared_from_this(), sc] { self->serve_connection(sc); }));
  actors_.add(spawn("rpc-server-writer", [sc] { sc->link->run_writer(); }));
}

void ServerCore::serve_connection(const std::shared_ptr<ServerConnection>& sc) {
  struct Forget {
    ServerCore& core;
    uint64_t id;
    ~Forget() { core.connections_.erase(id); }
  } forget{*this, sc->id};
  const absl::Status why =
      sc->link->run_reader([this, &sc](Frame&& frame) { return on_request(sc, std::move(frame)); });
  TraceEvent(Severity::kDebug, "RpcServerConnectionClosed")
      .detail("Peer", sc->link->peer())
      .detail("Reason", why.ToString());
}

absl::Status ServerCore::on_request(const std::shared_ptr<ServerConnection>& sc, Frame&& frame) {
  if (frame.kind != FrameKind::kRequest) {
    return absl::DataLossError(
        absl::StrCat("client sent a frame of kind ", av(frame_kind_name(frame.kind))));
  }
  ++stats_.requests;
  auto it = handlers_.find(frame.token);
  if (it == handlers_.end()) {
    ++stats_.unknown_endpoint;
    // A send failure means the link closed; the read loop notices on its own.
    (void)send_error(*sc, frame.token, frame.request_id,
                     absl::UnimplementedError(absl::StrCat("no rpc endpoint with token ",
                                                           frame.token, " at ", address_)));
    return absl::OkStatus();
  }
  std::shared_ptr<const EndpointHandler> handler = it->second;
  std::shared_ptr<google::protobuf::MessageLite> request = handler->new_request();
  if (!request->ParseFromString(frame.payload)) {
    return absl::DataLossError(
        absl::StrCat("unparsable request for endpoint '", handler->name, "'"));
  }
  // Backpressure: with the connection's budget used up, the reader waits here instead of
  // reading on, and the client's writes back up behind it.
  auto claim = std::make_shared<InFlight>(sc);
  actors_.add(spawn("rpc-handler", [self = shared_from_this(), claim, handler, request,
                                    id = frame.request_id, token = frame.token] {
    self->run_handler(*claim->sc, *handler, *request, id, token);
  }));
  return absl::OkStatus();
}

void ServerCore::run_handler(ServerConnection& sc, const EndpointHandler& handler,
                             const google::protobuf::MessageLite& request, uint64_t request_id,
                             uint64_t token) {
  const RpcCallInfo info{sc.link->peer(), request_id, handler.name};
  absl::StatusOr<std::string> reply = handler.invoke(request, info);
  if (reply.ok() && !frame_fits(reply->size(), options_.frame_bytes_max)) {
    reply = absl::ResourceExhaustedError(absl::StrCat("reply of ", reply->size(), " bytes from '",
                                                      handler.name, "' exceeds the frame limit"));
  }
  const absl::Status sent = reply.ok() ? sc.link->send(FrameKind::kReply, token, request_id, *reply)
                                       : send_error(sc, token, request_id, reply.status());
  if (!sent.ok()) {
    ++stats_.replies_dropped;
    TraceEvent(Severity::kDebug, "RpcServerReplyDropped")
        .detail("Peer", sc.link->peer())
        .detail("Endpoint", handler.name)
        .detail("Reason", sent.ToString());
  }
}

absl::Status ServerCore::send_error(ServerConnection& sc, uint64_t token, uint64_t request_id,
                                    const absl::Status& error) {
  ++stats_.error_replies;
  RpcError wire = to_rpc_error(error);
  if (wire.message().size() > kErrorMessageBytesMax) {
    wire.mutable_message()->resize(kErrorMessageBytesMax);
  }
  return sc.link->send(FrameKind::kError, token, request_id, wire.SerializeAsString());
}

RpcServer::RpcServer(INetwork& network, RpcServerOptions options)
    : core_(std::make_shared<ServerCore>(network, options)) {}

RpcServer::RpcServer(RpcServerOptions options) : RpcServer(*current_context().network, options) {}

RpcServer::~RpcServer() {
  core_->stop();
}

void RpcServer::add_handler(EndpointHandler handler) {
  core_->add_handler(std::move(handler));
}

absl::Status RpcServer::start(const std::string& address) {
  return core_->start(address);
}

absl::Status RpcServer::serve(const std::string& address) {
  if (absl::Status s = core_->start(address); !s.ok()) return s;
  core_->wait_stopped();
  return absl::OkStatus();
}

void RpcServer::stop() {
  core_->stop();
}
const std::string& RpcServer::address() const {
  return core_->address();
}
const RpcServerStats& RpcServer::stats() const {
  return core_->stats();
}
size_t RpcServer::connections() const {
  return core_->connections();
}

}  // namespace weir::rpc
