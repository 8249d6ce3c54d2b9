// LeaveGroup: one member (v0-2) or several, by member id or group.instance.id (v3+, KIP-345).
#include "broker/group/group_coordinator.h"
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {

Future<framed::Reply> handle_leave_group(BrokerCore& core, RequestPtr request) {
  kafka::LeaveGroupRequest req;
  if (auto s = decode_body(*request, req); !s.ok()) return Future<framed::Reply>::ready(s);
  const bool batch = request->version() >= 3;
  std::vector<group::MemberIdentity> members;
  if (batch) {
    for (const auto& m : req.members) members.push_back({m.member_id, m.group_instance_id});
  } else {
    members.push_back({req.member_id, std::nullopt});
  }
  kafka::ErrorCode group_error = kafka::ErrorCode::kNone;
  const auto errors = core.groups.leave(req.group_id, members, group_error);
  kafka::LeaveGroupResponse rsp;
  rsp.error_code = static_cast<int16_t>(group_error);
  if (!batch && group_error == kafka::ErrorCode::kNone)
    rsp.error_code = static_cast<int16_t>(errors.front());
  if (batch && group_error == kafka::ErrorCode::kNone) {
    for (size_t i = 0; i < members.size(); ++i)
      rsp.members.push_back({.member_id = members[i].member_id,
                             .group_instance_id = members[i].group_instance_id,
                             .error_code = static_cast<int16_t>(errors[i])});
  }
  return respond_now(*request, rsp);
}

}  // namespace weir::broker
