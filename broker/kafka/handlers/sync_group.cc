// SyncGroup: the leader's assignment, written to the group's offsets partition; every member
// is answered with its own part once it is committed.
#include "broker/group/group_coordinator.h"
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {

Future<framed::Reply> handle_sync_group(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<kafka::SyncGroupRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(core, "kafka-sync-group",
                     [&core, request, req]() -> absl::StatusOr<framed::Reply> {
                       group::SyncRequest s{.group_id = req->group_id,
                                            .member_id = req->member_id,
                                            .group_instance_id = req->group_instance_id,
                                            .generation = req->generation_id,
                                            .protocol_type = req->protocol_type,
                                            .protocol_name = req->protocol_name,
                                            .connection = request->peer};
                       for (const auto& a : req->assignments)
                         s.assignments.emplace_back(a.member_id, a.assignment);
                       const group::SyncResult r = core.groups.sync(s);
                       kafka::SyncGroupResponse rsp;
                       rsp.error_code = static_cast<int16_t>(r.error);
                       rsp.protocol_type = r.protocol_type;
                       rsp.protocol_name = r.protocol_name;
                       rsp.assignment = r.assignment;
                       return respond(*request, rsp);
                     });
}

}  // namespace weir::broker
