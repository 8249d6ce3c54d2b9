// ListPartitionReassignments (kafka-reassign-partitions.sh --verify / --list): the partitions
// being reassigned, with their full replica set and the replicas being added and removed, as
// the topic znodes record them. A request recorded in /admin/reassign_partitions that the
// controller has not started yet is shown as it will start, so that a list right after an
// AlterPartitionReassignments shows it. Any broker answers (it reads coord, as the controller
// does); null topics lists every topic.
#include <set>

#include "broker/controller/reassignment.h"
#include "broker/kafka/handlers/handler.h"
#include "coord/client/errors.h"

namespace weir::broker {
namespace {

using controller::PartitionAssignment;
using kafka::ListPartitionReassignmentsRequest;
using kafka::ListPartitionReassignmentsResponse;
using Ongoing = ListPartitionReassignmentsResponse::OngoingTopicReassignment;

// The ongoing reassignments of one topic among `partitions` (all when null).
absl::StatusOr<std::optional<Ongoing>> list_topic(ClusterStore& store, const std::string& name,
                                                  const std::set<int32_t>* partitions,
                                                  const controller::PendingReassignments& pending) {
  auto topic = store.get_topic(name);
  if (!topic.ok()) {
    if (coord::client::zk_error(topic.status()) == coord::client::ErrorCode::kNoNode)
      return std::optional<Ongoing>();
    return topic.status();
  }
  Ongoing out;
  out.name = name;
  for (const auto& [p, replicas] : topic->replicas) {
    if (partitions != nullptr && partitions->count(p) == 0) continue;
    PartitionAssignment a = controller::assignment_of(*topic, p);
    if (auto it = pending.find({name, p}); it != pending.end())
      a = controller::reassign_to(a, it->second);
    if (!a.reassigning()) continue;
    out.partitions.push_back({.partition_index = p,
                              .replicas = a.replicas,
                              .adding_replicas = a.adding,
                              .removing_replicas = a.removing});
  }
  if (out.partitions.empty()) return std::optional<Ongoing>();
  return std::optional<Ongoing>(std::move(out));
}

absl::StatusOr<ListPartitionReassignmentsResponse> list(
    ClusterStore& store, const ListPartitionReassignmentsRequest& req) {
  auto pending = controller::read_pending_reassignments(store);
  if (!pending.ok()) return pending.status();
  std::map<std::string, std::optional<std::set<int32_t>>> wanted;
  if (req.topics.has_value()) {
    for (const auto& t : *req.topics)
      wanted[t.name].emplace(t.partition_indexes.begin(), t.partition_indexes.end());
  } else {
    auto names = store.list_topics();
    if (!names.ok()) return names.status();
    for (const std::string& n : *names) wanted[n] = std::nullopt;
  }
  ListPartitionReassignmentsResponse rsp;
  rsp.error_message = std::nullopt;
  for (const auto& [name, partitions] : wanted) {
    auto t =
        list_topic(store, name, partitions.has_value() ? &*partitions : nullptr, pending->entries);
    if (!t.ok()) return t.status();
    if (t->has_value()) rsp.topics.push_back(**std::move(t));
  }
  return rsp;
}

}  // namespace

Future<framed::Reply> handle_list_partition_reassignments(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<ListPartitionReassignmentsRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(
      core, "kafka-list-reassignments", [&core, request, req]() -> absl::StatusOr<framed::Reply> {
        auto rsp = list(core.store, *req);
        if (!rsp.ok()) {
          ListPartitionReassignmentsResponse failed;
          failed.error_code = static_cast<int16_t>(kafka::ErrorCode::kUnknownServerError);
          failed.error_message = std::string(rsp.status().message());
          return respond(*request, failed);
        }
        return respond(*request, *rsp);
      });
}

}  // namespace weir::broker
