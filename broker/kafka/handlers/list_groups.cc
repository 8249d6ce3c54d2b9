// ListGroups: the groups this broker coordinates, optionally only those in the named states
// (v4, KIP-518).
#include "broker/group/group_coordinator.h"
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {

Future<framed::Reply> handle_list_groups(BrokerCore& core, RequestPtr request) {
  kafka::ListGroupsRequest req;
  if (auto s = decode_body(*request, req); !s.ok()) return Future<framed::Reply>::ready(s);
  std::set<group::GroupState> states;
  for (const std::string& name : req.states_filter)
    if (auto s = group::parse_state_name(name)) states.insert(*s);
  kafka::ErrorCode e = kafka::ErrorCode::kNone;
  kafka::ListGroupsResponse rsp;
  for (const auto& g : core.groups.list_groups(e)) {
    if (!req.states_filter.empty() && states.count(g.state) == 0) continue;
    rsp.groups.push_back({.group_id = g.group_id,
                          .protocol_type = g.protocol_type,
                          .group_state = std::string(group::state_name(g.state))});
  }
  rsp.error_code = static_cast<int16_t>(e);
  return respond_now(*request, rsp);
}

}  // namespace weir::broker
