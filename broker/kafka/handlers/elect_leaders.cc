// ElectLeaders (kafka-leader-election.sh): a preferred-leader election for the listed
// partitions (all when null), run by the controller. Unclean elections through this API are
// refused: Weir's controller elects uncleanly only where the topic allows it, on its own.
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {

using kafka::ElectLeadersRequest;
using kafka::ElectLeadersResponse;
using kafka::ErrorCode;

Future<framed::Reply> handle_elect_leaders(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<ElectLeadersRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(
      core, "kafka-elect-leaders", [&core, request, req]() -> absl::StatusOr<framed::Reply> {
        ElectLeadersResponse rsp;
        auto answer_all = [&](ErrorCode code, std::string message) {
          if (!req->topic_partitions.has_value()) {
            rsp.error_code = static_cast<int16_t>(code);
            return;
          }
          for (const auto& t : *req->topic_partitions) {
            auto& r = rsp.replica_election_results.emplace_back();
            r.topic = t.topic;
            for (int32_t p : t.partitions)
              r.partition_result.push_back({.partition_id = p,
                                            .error_code = static_cast<int16_t>(code),
                                            .error_message = message});
          }
        };
        if (req->election_type != 0) {
          answer_all(ErrorCode::kInvalidRequest, "only preferred elections (type 0) are served");
          return respond(*request, rsp);
        }
        std::vector<log::TopicPartition> wanted;
        if (req->topic_partitions.has_value()) {
          for (const auto& t : *req->topic_partitions) {
            for (int32_t p : t.partitions) wanted.push_back({t.topic, p});
          }
        }
        auto moved = await(core.controller.elect_preferred(wanted));
        if (!moved.ok()) {
          answer_all(ErrorCode::kNotController, std::string(moved.status().message()));
        } else {
          answer_all(ErrorCode::kNone, "");
          for (auto& r : rsp.replica_election_results) {
            for (auto& p : r.partition_result) p.error_message = std::nullopt;
          }
        }
        return respond(*request, rsp);
      });
}

}  // namespace weir::broker
