// OffsetCommit: written to the group's offsets partition and answered once committed, with an
// error per partition (UNKNOWN_TOPIC_OR_PARTITION for a partition the cluster does not have).
#include "broker/group/group_coordinator.h"
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {
namespace {

using kafka::ErrorCode;
using kafka::OffsetCommitRequest;
using kafka::OffsetCommitResponse;

bool partition_exists(BrokerCore& core, const std::string& topic, int32_t partition) {
  const TopicMetadata* t = core.metadata().find(topic);
  return t != nullptr && partition >= 0 && static_cast<size_t>(partition) < t->partitions.size();
}

OffsetCommitResponse answer(BrokerCore& core, const OffsetCommitRequest& req) {
  OffsetCommitResponse rsp;
  std::vector<group::OffsetCommit> commits;
  std::vector<std::pair<size_t, size_t>> where;  // (topic, partition) in rsp of each commit
  for (const auto& topic : req.topics) {
    auto& t = rsp.topics.emplace_back();
    t.name = topic.name;
    for (const auto& p : topic.partitions) {
      auto& out = t.partitions.emplace_back();
      out.partition_index = p.partition_index;
      if (!partition_exists(core, topic.name, p.partition_index)) {
        out.error_code = static_cast<int16_t>(ErrorCode::kUnknownTopicOrPartition);
        continue;
      }
      commits.push_back({.partition = {topic.name, p.partition_index},
                         .offset = p.committed_offset,
                         .leader_epoch = p.committed_leader_epoch,
                         .metadata = p.committed_metadata});
      where.emplace_back(rsp.topics.size() - 1, t.partitions.size() - 1);
    }
  }
  if (commits.empty()) return rsp;
  const auto errors = core.groups.commit_offsets(req.group_id, req.member_id, req.group_instance_id,
                                                 req.generation_id_or_member_epoch, commits);
  for (size_t i = 0; i < errors.size(); ++i)
    rsp.topics[where[i].first].partitions[where[i].second].error_code =
        static_cast<int16_t>(errors[i]);
  return rsp;
}

}  // namespace

Future<framed::Reply> handle_offset_commit(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<OffsetCommitRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(core, "kafka-offset-commit",
                     [&core, request, req]() -> absl::StatusOr<framed::Reply> {
                       return respond(*request, answer(core, *req));
                     });
}

}  // namespace weir::broker
