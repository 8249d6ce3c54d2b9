// OffsetFetch: a group's committed offsets (-1 where none), for the partitions asked or, with
// null topics (v2+), all of them; one group (v0-7) or several (v8, KIP-709). Before v2 a group
// error has no field of its own and is repeated in every partition.
#include "broker/group/group_coordinator.h"
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {
namespace {

using kafka::ErrorCode;
using kafka::OffsetFetchRequest;
using kafka::OffsetFetchResponse;

using Wanted = std::optional<std::vector<group::TopicPartition>>;

template <class Topics>
Wanted wanted(const std::optional<Topics>& topics) {
  if (!topics.has_value()) return std::nullopt;
  std::vector<group::TopicPartition> out;
  for (const auto& t : *topics)
    for (int32_t p : t.partition_indexes) out.push_back({t.name, p});
  return out;
}

// Offsets grouped by topic in the order the partitions came.
template <class TopicOut>
std::vector<TopicOut> by_topic(const std::vector<group::CommittedOffsetOut>& offsets,
                               ErrorCode partition_error) {
  std::vector<TopicOut> out;
  for (const auto& o : offsets) {
    if (out.empty() || out.back().name != o.partition.topic) {
      out.emplace_back();
      out.back().name = o.partition.topic;
    }
    auto& p = out.back().partitions.emplace_back();
    p.partition_index = o.partition.partition;
    p.committed_offset = o.offset;
    p.committed_leader_epoch = o.leader_epoch;
    p.metadata = o.metadata;
    p.error_code =
        static_cast<int16_t>(partition_error != ErrorCode::kNone ? partition_error : o.error);
  }
  return out;
}

OffsetFetchResponse answer(BrokerCore& core, const OffsetFetchRequest& req, int16_t version) {
  OffsetFetchResponse rsp;
  if (version >= 8) {
    for (const auto& g : req.groups) {
      ErrorCode e = ErrorCode::kNone;
      const auto offsets = core.groups.fetch_offsets(g.group_id, wanted(g.topics), e);
      auto& out = rsp.groups.emplace_back();
      out.group_id = g.group_id;
      out.error_code = static_cast<int16_t>(e);
      out.topics = by_topic<OffsetFetchResponse::OffsetFetchResponseTopics>(offsets, e);
    }
    return rsp;
  }
  ErrorCode e = ErrorCode::kNone;
  const Wanted w = wanted(req.topics);
  auto offsets = core.groups.fetch_offsets(req.group_id, w, e);
  if (e != ErrorCode::kNone && w.has_value()) {
    // No offsets came back: answer each partition asked with the group's error.
    offsets.clear();
    for (const auto& tp : *w) offsets.push_back({.partition = tp});
  }
  rsp.error_code = static_cast<int16_t>(e);
  rsp.topics = by_topic<OffsetFetchResponse::OffsetFetchResponseTopic>(
      offsets, version < 2 ? e : ErrorCode::kNone);
  return rsp;
}

}  // namespace

Future<framed::Reply> handle_offset_fetch(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<OffsetFetchRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(core, "kafka-offset-fetch",
                     [&core, request, req]() -> absl::StatusOr<framed::Reply> {
                       return respond(*request, answer(core, *req, request->version()));
                     });
}

}  // namespace weir::broker
