// CreatePartitions: a topic grows to `count` partitions (never shrinks: INVALID_PARTITIONS),
// recorded in its /brokers/topics znode (new replicas assigned as Kafka does); the controller
// then creates their states and elects their leaders.
#include <map>

#include "broker/kafka/handlers/handler.h"

namespace weir::broker {

Future<framed::Reply> handle_create_partitions(BrokerCore& core, RequestPtr request) {
  using kafka::ErrorCode;
  auto req = std::make_shared<kafka::CreatePartitionsRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(core, "kafka-create-partitions",
                     [&core, request, req]() -> absl::StatusOr<framed::Reply> {
                       std::map<std::string, int> seen;
                       for (const auto& t : req->topics) ++seen[t.name];
                       kafka::CreatePartitionsResponse rsp;
                       for (const auto& t : req->topics) {
                         auto& r = rsp.results.emplace_back();
                         r.name = t.name;
                         TopicError e;
                         if (seen[t.name] > 1) {
                           e = {ErrorCode::kInvalidRequest, "topic appears more than once"};
                         } else if (t.assignments.has_value() && !t.assignments->empty()) {
                           e = {ErrorCode::kInvalidReplicaAssignment,
                                "explicit assignments are not served yet: Weir assigns the new "
                                "partitions' replicas"};
                         }
                         if (e.ok())
                           e = core.admin.add_partitions(t.name, t.count, req->validate_only);
                         r.error_code = static_cast<int16_t>(e.code);
                         if (!e.ok()) r.error_message = e.message;
                       }
                       return respond(*request, rsp);
                     });
}

}  // namespace weir::broker
