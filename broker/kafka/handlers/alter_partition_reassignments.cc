// AlterPartitionReassignments (kafka-reassign-partitions.sh --bootstrap-server, KIP-455): each
// partition's target replicas, or null to cancel its reassignment. As with CreateTopics, any
// broker takes the request and records it where Kafka's ZooKeeper-mode controller reads
// requests, /admin/reassign_partitions; the controller carries it out (controller_reassign.cc).
// A cancellation is recorded as a move back to the original replicas, which is what Kafka's
// controller does with one. The answer says the request was recorded, not that it finished
// (Kafka's answers once its controller has started it): ListPartitionReassignments shows
// progress.
#include <map>
#include <set>

#include "broker/controller/reassignment.h"
#include "broker/kafka/handlers/handler.h"
#include "coord/client/errors.h"

namespace weir::broker {
namespace {

using controller::assignment_of;
using controller::kReassignPartitionsPath;
using controller::PartitionAssignment;
using controller::PendingReassignments;
using coord::client::ErrorCode;
using kafka::AlterPartitionReassignmentsRequest;
using kafka::AlterPartitionReassignmentsResponse;
using ReassignPartition = AlterPartitionReassignmentsRequest::ReassignablePartition;

constexpr int kConflictRetriesMax = 8;

struct Outcome {
  kafka::ErrorCode code = kafka::ErrorCode::kNone;
  std::string message;
};

// One partition's request applied to `pending` (or its error).
Outcome apply(const TopicAssignment& topic, const log::TopicPartition& tp,
              const ReassignPartition& p, const std::set<int32_t>& brokers,
              PendingReassignments& pending) {
  if (topic.replicas.count(tp.partition) == 0)
    return {kafka::ErrorCode::kUnknownTopicOrPartition, "no such partition"};
  const PartitionAssignment a = assignment_of(topic, tp.partition);
  if (!p.replicas.has_value()) {
    if (a.reassigning()) {
      pending[tp] = a.original();
    } else if (pending.erase(tp) == 0) {
      return {kafka::ErrorCode::kNoReassignmentInProgress,
              "no reassignment of this partition is in progress"};
    }
    return {};
  }
  if (auto why = controller::invalid_target(*p.replicas, brokers); why.has_value())
    return {kafka::ErrorCode::kInvalidReplicaAssignment, *why};
  pending[tp] = *p.replicas;
  return {};
}

// Validates every partition against the topics and brokers as read, and records the accepted
// ones in one multi that also checks the topics' versions (a cancellation's original replicas
// are read from them). Run again when anything it read moved.
absl::StatusOr<std::map<log::TopicPartition, Outcome>> record(
    ClusterStore& store, const AlterPartitionReassignmentsRequest& req) {
  auto ids = store.list_brokers();
  if (!ids.ok()) return ids.status();
  const std::set<int32_t> brokers(ids->begin(), ids->end());
  for (int attempt = 0;; ++attempt) {
    auto pending = controller::read_pending_reassignments(store);
    if (!pending.ok()) return pending.status();
    std::map<log::TopicPartition, Outcome> out;
    std::vector<coord::client::Op> ops;
    bool any = false;
    for (const auto& t : req.topics) {
      auto topic = store.get_topic_versioned(t.name);
      if (!topic.ok() && coord::client::zk_error(topic.status()) != ErrorCode::kNoNode)
        return topic.status();
      if (topic.ok())
        ops.push_back(coord::client::op_check(ClusterStore::topic_path(t.name), topic->second));
      for (const ReassignPartition& p : t.partitions) {
        const log::TopicPartition tp{t.name, p.partition_index};
        out[tp] = topic.ok() ? apply(topic->first, tp, p, brokers, pending->entries)
                             : Outcome{kafka::ErrorCode::kUnknownTopicOrPartition, "no such topic"};
        any |= out[tp].code == kafka::ErrorCode::kNone;
      }
    }
    if (!any) return out;
    const std::string json = controller::reassignments_json(pending->entries);
    if (pending->entries.empty()) {
      ops.push_back(coord::client::op_remove(kReassignPartitionsPath, pending->version));
    } else if (pending->version < 0) {
      ops.push_back(coord::client::op_create(kReassignPartitionsPath, json,
                                             coord::client::open_acl_unsafe()));
    } else {
      ops.push_back(coord::client::op_set_data(kReassignPartitionsPath, json, pending->version));
    }
    absl::Status s = multi_status(await(store.coord().multi(std::move(ops))));
    if (s.ok()) return out;
    const ErrorCode e = coord::client::zk_error(s);
    const bool moved =
        e == ErrorCode::kBadVersion || e == ErrorCode::kNoNode || e == ErrorCode::kNodeExists;
    if (!moved || attempt + 1 >= kConflictRetriesMax) return s;
  }
}

}  // namespace

Future<framed::Reply> handle_alter_partition_reassignments(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<AlterPartitionReassignmentsRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(
      core, "kafka-alter-reassignments", [&core, request, req]() -> absl::StatusOr<framed::Reply> {
        AlterPartitionReassignmentsResponse rsp;
        auto fail = [&](kafka::ErrorCode code, const absl::Status& s) {
          rsp.error_code = static_cast<int16_t>(code);
          rsp.error_message = std::string(s.message());
          return respond(*request, rsp);
        };
        // Without a controller nothing would carry the request out.
        auto controller = core.store.get_controller();
        if (!controller.ok())
          return fail(kafka::ErrorCode::kUnknownServerError, controller.status());
        if (*controller < 0)
          return fail(kafka::ErrorCode::kNotController, absl::UnavailableError("no controller"));
        auto outcomes = record(core.store, *req);
        if (!outcomes.ok()) return fail(kafka::ErrorCode::kUnknownServerError, outcomes.status());
        rsp.error_message = std::nullopt;
        for (const auto& t : req->topics) {
          auto& r = rsp.responses.emplace_back();
          r.name = t.name;
          for (const ReassignPartition& p : t.partitions) {
            const Outcome& o = (*outcomes)[{t.name, p.partition_index}];
            r.partitions.push_back({.partition_index = p.partition_index,
                                    .error_code = static_cast<int16_t>(o.code),
                                    .error_message = o.code == kafka::ErrorCode::kNone
                                                         ? std::nullopt
                                                         : std::optional(o.message)});
          }
        }
        return respond(*request, rsp);
      });
}

}  // namespace weir::broker
