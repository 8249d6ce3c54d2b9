// OffsetDelete (KIP-496): removes a group's committed offsets of some partitions, except those
// of topics a live consumer group reads (GROUP_SUBSCRIBED_TO_TOPIC).
#include "broker/group/group_coordinator.h"
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {
namespace {

kafka::OffsetDeleteResponse answer(BrokerCore& core, const kafka::OffsetDeleteRequest& req) {
  std::vector<group::TopicPartition> partitions;
  for (const auto& t : req.topics)
    for (const auto& p : t.partitions) partitions.push_back({t.name, p.partition_index});
  kafka::ErrorCode group_error = kafka::ErrorCode::kNone;
  const auto errors = core.groups.delete_offsets(req.group_id, partitions, group_error);
  kafka::OffsetDeleteResponse rsp;
  rsp.error_code = static_cast<int16_t>(group_error);
  if (group_error != kafka::ErrorCode::kNone) return rsp;
  size_t i = 0;
  for (const auto& t : req.topics) {
    auto& out = rsp.topics.emplace_back();
    out.name = t.name;
    for (const auto& p : t.partitions)
      out.partitions.push_back(
          {.partition_index = p.partition_index, .error_code = static_cast<int16_t>(errors[i++])});
  }
  return rsp;
}

}  // namespace

Future<framed::Reply> handle_offset_delete(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<kafka::OffsetDeleteRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(core, "kafka-offset-delete",
                     [&core, request, req]() -> absl::StatusOr<framed::Reply> {
                       return respond(*request, answer(core, *req));
                     });
}

}  // namespace weir::broker
