// Heartbeat: keeps a member's session; REBALANCE_IN_PROGRESS tells it to rejoin.
#include "broker/group/group_coordinator.h"
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {

Future<framed::Reply> handle_heartbeat(BrokerCore& core, RequestPtr request) {
  kafka::HeartbeatRequest req;
  if (auto s = decode_body(*request, req); !s.ok()) return Future<framed::Reply>::ready(s);
  kafka::HeartbeatResponse rsp;
  rsp.error_code = static_cast<int16_t>(core.groups.heartbeat(
      req.group_id, req.member_id, req.group_instance_id, req.generation_id, request->peer));
  return respond_now(*request, rsp);
}

}  // namespace weir::broker
