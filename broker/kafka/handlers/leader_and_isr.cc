// LeaderAndIsr (controller to broker): each partition becomes leader or follower at the
// controller's leader epoch; requests from an older controller epoch, for an earlier
// incarnation of this broker, or with a stale leader epoch are refused (ReplicaManager).
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {

Future<framed::Reply> handle_leader_and_isr(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<kafka::LeaderAndIsrRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(
      core, "kafka-leader-and-isr", [&core, request, req]() -> absl::StatusOr<framed::Reply> {
        return respond(*request, core.replicas.leader_and_isr(*req, request->version()));
      });
}

}  // namespace weir::broker
