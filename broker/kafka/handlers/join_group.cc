// JoinGroup: parked by the coordinator until the group's rebalance completes (or refused at
// once: MEMBER_ID_REQUIRED for a v4+ newcomer, KIP-394, and the group errors).
#include "broker/group/group_coordinator.h"
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {
namespace {

using kafka::JoinGroupRequest;
using kafka::JoinGroupResponse;

// Kafka reports a client's host as "/<address>".
std::string client_host(const std::string& peer) {
  const size_t colon = peer.rfind(':');
  return "/" + (colon == std::string::npos ? peer : peer.substr(0, colon));
}

JoinGroupResponse answer(BrokerCore& core, const Request& request, const JoinGroupRequest& req) {
  const int16_t version = request.version();
  group::JoinRequest j{
      .group_id = req.group_id,
      .member_id = req.member_id,
      .group_instance_id = req.group_instance_id,
      .client_id = request.header.client_id.value_or(""),
      .client_host = client_host(request.peer),
      .session_timeout_ms = req.session_timeout_ms,
      .rebalance_timeout_ms = version >= 1 ? req.rebalance_timeout_ms : req.session_timeout_ms,
      .protocol_type = req.protocol_type,
      .require_known_member_id = version >= 4,
      .connection = request.peer};
  for (const auto& p : req.protocols) j.protocols.emplace_back(p.name, p.metadata);
  const group::JoinResult r = core.groups.join(j);
  JoinGroupResponse rsp;
  rsp.error_code = static_cast<int16_t>(r.error);
  rsp.generation_id = r.generation;
  rsp.protocol_type = r.protocol_type;
  rsp.protocol_name = version >= 7 ? r.protocol_name : r.protocol_name.value_or("");
  rsp.leader = r.leader;
  rsp.member_id = r.member_id;
  for (const auto& m : r.members)
    rsp.members.push_back({.member_id = m.member_id,
                           .group_instance_id = m.group_instance_id,
                           .metadata = m.metadata});
  return rsp;
}

}  // namespace

Future<framed::Reply> handle_join_group(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<JoinGroupRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(core, "kafka-join-group",
                     [&core, request, req]() -> absl::StatusOr<framed::Reply> {
                       return respond(*request, answer(core, *request, *req));
                     });
}

}  // namespace weir::broker
