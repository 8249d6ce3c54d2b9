// InitProducerId for idempotent producers: a new producer id (from this broker's block, see
// ProducerIdManager) with epoch 0, each time. As Kafka does for a producer without a
// transactional id, an id and epoch the request names (v3+) are not resumed: the producer gets
// a fresh id. Transactions are not served, so a transactional id is refused as Produce refuses
// transactional batches.
#include "broker/kafka/handlers/handler.h"
#include "broker/server/producer_id_manager.h"
#include "runtime/trace.h"

namespace weir::broker {
namespace {

using kafka::ErrorCode;
using kafka::InitProducerIdRequest;
using kafka::InitProducerIdResponse;

InitProducerIdResponse error_response(ErrorCode error) {
  InitProducerIdResponse rsp;
  rsp.error_code = static_cast<int16_t>(error);
  rsp.producer_id = -1;     // Kafka's NO_PRODUCER_ID
  rsp.producer_epoch = -1;  // and NO_PRODUCER_EPOCH
  return rsp;
}

// Kafka's answer to a coord failure while claiming a block is an exception; clients retry
// COORDINATOR_NOT_AVAILABLE, which is what a claim that failed on coord deserves. Ids used up
// or a znode nobody can parse will not heal by retrying: UNKNOWN_SERVER_ERROR.
ErrorCode error_for(const absl::Status& status) {
  if (absl::IsUnavailable(status)) return ErrorCode::kCoordinatorNotAvailable;
  return ErrorCode::kUnknownServerError;
}

InitProducerIdResponse answer(BrokerCore& core, const InitProducerIdRequest& req) {
  if (req.transactional_id.has_value())
    return error_response(ErrorCode::kTransactionalIdAuthorizationFailed);
  // Kafka's check (KafkaApis): an id without an epoch, or an epoch without an id, is malformed.
  if ((req.producer_id == -1) != (req.producer_epoch == -1))
    return error_response(ErrorCode::kInvalidRequest);
  auto id = core.producer_ids.next();
  if (!id.ok()) {
    TraceEvent(Severity::kWarn, "InitProducerIdFailed").detail("Error", id.status().ToString());
    return error_response(error_for(id.status()));
  }
  InitProducerIdResponse rsp;
  rsp.producer_id = id->value();
  rsp.producer_epoch = 0;
  return rsp;
}

}  // namespace

Future<framed::Reply> handle_init_producer_id(BrokerCore& core, RequestPtr request) {
  auto req = std::make_shared<InitProducerIdRequest>();
  if (auto s = decode_body(*request, *req); !s.ok()) return Future<framed::Reply>::ready(s);
  return run_request(core, "kafka-init-producer-id",
                     [&core, request, req]() -> absl::StatusOr<framed::Reply> {
                       return respond(*request, answer(core, *req));
                     });
}

}  // namespace weir::broker
