// UpdateMetadata (controller to broker): the cluster's brokers and partition states, which
// Metadata answers from. An older controller epoch is refused.
#include "broker/kafka/handlers/handler.h"

namespace weir::broker {

Future<framed::Reply> handle_update_metadata(BrokerCore& core, RequestPtr request) {
  kafka::UpdateMetadataRequest req;
  if (auto s = decode_body(*request, req); !s.ok()) return Future<framed::Reply>::ready(s);
  kafka::UpdateMetadataResponse rsp;
  rsp.error_code = static_cast<int16_t>(core.replicas.update_metadata(req, request->version()));
  return respond_now(*request, rsp);
}

}  // namespace weir::broker
