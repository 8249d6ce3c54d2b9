// OffsetsForLeaderEpoch: where a leader epoch ends in the leader's log (the start of the next
// epoch it knows, or its log end for its current one), which a follower truncates to (KIP-101,
// KIP-279) and a consumer uses to detect truncation (KIP-320). Only the leader answers.
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {
namespace {

using kafka::ErrorCode;
using kafka::OffsetForLeaderEpochRequest;
using kafka::OffsetForLeaderEpochResponse;

OffsetForLeaderEpochResponse::EpochEndOffset end_offset(
    BrokerCore& core, const std::string& topic,
    const OffsetForLeaderEpochRequest::OffsetForLeaderPartition& p) {
  OffsetForLeaderEpochResponse::EpochEndOffset out;
  out.partition = p.partition;
  ErrorCode error = ErrorCode::kNone;
  std::shared_ptr<Partition> part = leader_partition(core, topic, p.partition, error);
  if (part == nullptr) {
    out.error_code = static_cast<int16_t>(error);
    return out;
  }
  if (ErrorCode e = check_leader_epoch(*part, p.current_leader_epoch); e != ErrorCode::kNone) {
    out.error_code = static_cast<int16_t>(e);
    return out;
  }
  auto found = part->log().end_offset_for_epoch(LeaderEpoch(p.leader_epoch));
  if (found.has_value()) {
    out.leader_epoch = found->first.value();
    out.end_offset = found->second.value();
  }
  return out;
}

}  // namespace

Future<framed::Reply> handle_offset_for_leader_epoch(BrokerCore& core, RequestPtr request) {
  OffsetForLeaderEpochRequest req;
  if (auto s = decode_body(*request, req); !s.ok()) return Future<framed::Reply>::ready(s);
  OffsetForLeaderEpochResponse rsp;
  for (const auto& t : req.topics) {
    auto& out = rsp.topics.emplace_back();
    out.topic = t.topic;
    for (const auto& p : t.partitions) out.partitions.push_back(end_offset(core, t.topic, p));
  }
  return respond_now(*request, rsp);
}

}  // namespace weir::broker
