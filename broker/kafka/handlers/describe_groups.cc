// DescribeGroups: state, protocol and members of each group; the members' subscriptions and
// assignments only while the group is Stable (as Kafka). An unknown group is "Dead".
#include "broker/group/group_coordinator.h"
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {
namespace {

// Kafka's AclOperation codes a group has (READ 3, DELETE 6, DESCRIBE 8): with no authorizer,
// a client may do all of them.
constexpr int32_t kGroupOperations = (1 << 3) | (1 << 6) | (1 << 8);

}  // namespace

Future<framed::Reply> handle_describe_groups(BrokerCore& core, RequestPtr request) {
  kafka::DescribeGroupsRequest req;
  if (auto s = decode_body(*request, req); !s.ok()) return Future<framed::Reply>::ready(s);
  kafka::DescribeGroupsResponse rsp;
  for (const std::string& id : req.groups) {
    const group::GroupDescription d = core.groups.describe(id);
    auto& out = rsp.groups.emplace_back();
    out.error_code = static_cast<int16_t>(d.error);
    out.group_id = id;
    out.group_state = std::string(group::state_name(d.state));
    out.protocol_type = d.protocol_type;
    out.protocol_data = d.protocol_name;
    if (req.include_authorized_operations) out.authorized_operations = kGroupOperations;
    for (const auto& m : d.members)
      out.members.push_back({.member_id = m.member_id,
                             .group_instance_id = m.group_instance_id,
                             .client_id = m.client_id,
                             .client_host = m.client_host,
                             .member_metadata = m.metadata,
                             .member_assignment = m.assignment});
  }
  return respond_now(*request, rsp);
}

}  // namespace weir::broker
