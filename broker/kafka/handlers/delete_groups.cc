// DeleteGroups: an empty group and its offsets, removed by tombstones in its offsets partition
// (NON_EMPTY_GROUP while it has members, GROUP_ID_NOT_FOUND for none).
#include "broker/group/group_coordinator.h"
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {

Future<framed::Reply> handle_delete_groups(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<kafka::DeleteGroupsRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(
      core, "kafka-delete-groups", [&core, request, req]() -> absl::StatusOr<framed::Reply> {
        kafka::DeleteGroupsResponse rsp;
        for (const std::string& id : req->groups_names) {
          rsp.results.push_back(
              {.group_id = id, .error_code = static_cast<int16_t>(core.groups.delete_group(id))});
        }
        return respond(*request, rsp);
      });
}

}  // namespace weir::broker
