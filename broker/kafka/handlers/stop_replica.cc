// StopReplica (controller to broker): stop fetching a partition, and with delete remove its
// log (topic deletion).
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {

Future<framed::Reply> handle_stop_replica(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<kafka::StopReplicaRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(
      core, "kafka-stop-replica", [&core, request, req]() -> absl::StatusOr<framed::Reply> {
        return respond(*request, core.replicas.stop_replica(*req, request->version()));
      });
}

}  // namespace weir::broker
