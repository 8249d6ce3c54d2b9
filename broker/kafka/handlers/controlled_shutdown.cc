// ControlledShutdown (broker to controller): before a broker exits on SIGTERM, the controller
// moves the leadership of its partitions to other ISR members and answers with the partitions
// it could not move (the broker retries, controlled.shutdown.max.retries). NOT_CONTROLLER from
// any broker that is not the active controller.
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {

Future<framed::Reply> handle_controlled_shutdown(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<kafka::ControlledShutdownRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(
      core, "kafka-controlled-shutdown", [&core, request, req]() -> absl::StatusOr<framed::Reply> {
        kafka::ControlledShutdownResponse rsp;
        auto remaining =
            await(core.controller.controlled_shutdown(req->broker_id, req->broker_epoch));
        if (!remaining.ok()) {
          rsp.error_code =
              static_cast<int16_t>(remaining.status().code() == absl::StatusCode::kNotFound
                                       ? kafka::ErrorCode::kBrokerNotAvailable
                                       : kafka::ErrorCode::kNotController);
        } else {
          // The count is what the broker acts on; Kafka lists them, so list that many of ours.
          for (const auto& [tp, p] : core.replicas.partitions()) {
            if (static_cast<int32_t>(rsp.remaining_partitions.size()) >= *remaining) break;
            if (p->is_leader() && p->state().replicas.size() > 1)
              rsp.remaining_partitions.push_back(
                  {.topic_name = tp.topic, .partition_index = tp.partition});
          }
          while (static_cast<int32_t>(rsp.remaining_partitions.size()) < *remaining)
            rsp.remaining_partitions.push_back({.topic_name = "", .partition_index = -1});
        }
        return respond(*request, rsp);
      });
}

}  // namespace weir::broker
