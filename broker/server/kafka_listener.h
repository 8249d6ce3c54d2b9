// The Kafka protocol on a FramedServer: each request frame's header is decoded, the api and
// version checked against what this broker serves, and the frame handed to its handler
// (broker/kafka/handlers). Kafka's rules for what is not served: an ApiVersions request of a
// newer version is answered (v0, UNSUPPORTED_VERSION, with our versions) so the client can
// retry; any other unknown api, unsupported version or undecodable request closes the
// connection, as Kafka's SocketServer does, so a client never waits for an answer that will
// not come. Frames over socket.request.max.bytes close the connection in the framework.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "broker/server/broker_core.h"
#include "runtime/framed/framed_server.h"

namespace weir::broker {

class KafkaListener final : public framed::FramedHandler {
 public:
  explicit KafkaListener(BrokerCore& core) : core_(core) {}
  Future<framed::Reply> on_frame(framed::FramedConnection& connection,
                                 std::string_view frame) override;
  // A closed client connection: group members that spoke over it lose their session sooner.
  void on_close(framed::FramedConnection& connection) override;

  static framed::FramedServerOptions server_options(const BrokerConfig& config);

 private:
  BrokerCore& core_;
};

}  // namespace weir::broker
